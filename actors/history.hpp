#pragma once

#include <memory>
#include <string>

#include "messages/actors.hpp"
#include "store/sheet_store.hpp"

namespace sheetsync {

struct history_state {
  static inline const char* name = "history";

  /// Its own connection: history writes never wait for a sync's transaction.
  std::unique_ptr<sheet_store> store;
};

/// Converts between the wire status and the sync_runs row.
sync_record to_record(const sync_status& st);
sync_status to_status(const sync_record& rec);

/// Persists every status change in sync_runs. Blocks on SQLite: spawn it
/// detached.
/// @param self The history.
/// @param db_path The cache file.
history_actor::behavior_type
history(history_actor::stateful_pointer<history_state> self,
        std::string db_path);

} // namespace sheetsync
