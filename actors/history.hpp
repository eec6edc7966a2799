#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "messages/actors.hpp"
#include "store/sheet_store.hpp"

namespace sheetsync {

/// How the history keeps its records.
struct history_options {
  /// Finished syncs kept per source; older ones are deleted as syncs finish.
  uint64_t keep_per_source = 1000;
  /// Unix milliseconds for the times it writes itself (tests pin it); null
  /// means system_wall_clock_ms.
  std::function<int64_t()> wall_clock_ms;
};

struct history_state {
  static inline const char* name = "history";

  /// Its own connection: history writes never wait for a sync's transaction.
  std::unique_ptr<sheet_store> store;

  /// Why the store could not be opened ("" if it is open).
  std::string open_error;

  history_options options;

  /// The most records one history request answers.
  static constexpr uint64_t max_limit = 1000;
};

/// Converts between the wire status and the sync_runs row:
/// to_status(to_record(st)) == st for every status (an unknown status name
/// reads as error; a complete record reads with progress 100).
sync_record to_record(const sync_status& st);
sync_status to_status(const sync_record& rec);

/// Persists every status change in sync_runs and answers from it: a sync's
/// recorded status, and the history newest first. When a sync finishes,
/// deletes the finished syncs of its source beyond `keep_per_source`. When
/// it starts, marks the syncs of processes that died mid-sync as
/// "interrupted by restart" (run_history::recover_interrupted). Blocks on
/// SQLite: spawn it detached.
/// @param self The history.
/// @param db_path The cache file.
/// @param options What it keeps, and its clock.
history_actor::behavior_type
history(history_actor::stateful_pointer<history_state> self,
        std::string db_path, history_options options);

} // namespace sheetsync
