#pragma once

#include <cstdint>
#include <string>

namespace sheetsync {

/// One row of the sync history (table sync_runs).
struct sync_record {
  /// Unique id of the sync; the primary key.
  std::string id;
  /// The source (and cache table) name.
  std::string source;
  /// The state's name (messages/sync_status.hpp: "idle", "downloading",
  /// "processing", "saving", "complete", "error", "cancelled"); last_complete()
  /// looks for "complete", recover_interrupted() for the first four.
  std::string status;
  /// 0-100 as the status showed it.
  uint8_t progress = 0;
  /// Human-readable progress or result.
  std::string message;
  /// The failure text when the sync failed, else empty.
  std::string error;
  /// Unix time in ms; 0 = unset.
  int64_t started_ms = 0;
  int64_t updated_ms = 0;
  int64_t finished_ms = 0;
  /// Bytes downloaded and rows written so far.
  uint64_t bytes = 0;
  uint64_t rows = 0;

  friend bool operator==(const sync_record& x, const sync_record& y) {
    return x.id == y.id && x.source == y.source && x.status == y.status
           && x.message == y.message && x.error == y.error
           && x.started_ms == y.started_ms && x.updated_ms == y.updated_ms
           && x.finished_ms == y.finished_ms && x.bytes == y.bytes
           && x.rows == y.rows && x.progress == y.progress;
  }

  friend bool operator!=(const sync_record& x, const sync_record& y) {
    return !(x == y);
  }
};

} // namespace sheetsync
