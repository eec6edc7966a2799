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

  /// Why the store could not be opened ("" if it is open).
  std::string open_error;

  /// The most records one history request answers.
  static constexpr uint64_t max_limit = 1000;
};

/// Converts between the wire status and the sync_runs row:
/// to_status(to_record(st)) == st for every status (an unknown status name
/// reads as error; a complete record reads with progress 100).
sync_record to_record(const sync_status& st);
sync_status to_status(const sync_record& rec);

/// Persists every status change in sync_runs and answers from it: a sync's
/// recorded status, and the history newest first. When it starts, marks the
/// syncs of processes that died mid-sync as "interrupted by restart"
/// (sheet_store::recover_interrupted). Blocks on SQLite: spawn it detached.
/// @param self The history.
/// @param db_path The cache file.
history_actor::behavior_type
history(history_actor::stateful_pointer<history_state> self,
        std::string db_path);

} // namespace sheetsync
