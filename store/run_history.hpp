#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "messages/ec.hpp"
#include "store/database.hpp"
#include "store/sync_record.hpp"

namespace sheetsync {

/// The sync history: one sync_records per sync in table sync_runs.
class run_history {
public:
  explicit run_history(std::shared_ptr<database> db);

  /// Inserts `r`, or replaces the record with the same id. The record is
  /// marked as written by this process (columns owner_pid, owner_start).
  bool put_run(const sync_record& r, failure& err);

  /// Marks every record in a running state (idle, downloading, processing,
  /// saving) whose writing process is gone (no such pid, or the pid now
  /// belongs to another process) as status "error", error "interrupted by
  /// restart", message "Sync failed: interrupted by restart", finished_ms =
  /// updated_ms = now_ms. Records of live processes (this one included) stay.
  /// Returns how many it marked; on failure 0 with `err` set.
  size_t recover_interrupted(int64_t now_ms, failure& err);

  /// The record with this id, if any (also none if reading fails).
  std::optional<sync_record> get_run(const std::string& id);

  /// The `limit` newest records of `source` (all sources if empty), newest
  /// (highest started_ms) first.
  std::vector<sync_record> runs(const std::string& source, size_t limit);

  /// The newest record of `source` with status "complete".
  std::optional<sync_record> last_complete(const std::string& source);

  /// Deletes the finished records (complete, error, cancelled) of `source`
  /// but the `keep` newest. One DELETE along the index on (source,
  /// started_ms): its cost grows with `keep`, not with the table.
  /// Returns how many it deleted; on failure 0 with `err` set.
  size_t prune(const std::string& source, uint64_t keep, failure& err);

private:
  std::shared_ptr<database> db_;
};

} // namespace sheetsync
