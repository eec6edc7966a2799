#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace sheetsync {

/// Where a sync stands. The first four are running states.
enum class sync_state : uint8_t {
  idle,
  downloading,
  processing,
  saving,
  complete,
  error,
  cancelled,
};

/// Returns the state's name as clients read it, e.g. "downloading".
const char* to_string(sync_state x);

/// Parses a name produced by to_string; false if unknown.
bool from_string(const std::string& str, sync_state& x);

/// Sizes for people, as status messages show them: "512 B", "12.3 MiB".
std::string human_size(uint64_t bytes);

/// Whether the sync has ended (complete, error or cancelled).
inline bool finished(sync_state x) {
  return x == sync_state::complete || x == sync_state::error
         || x == sync_state::cancelled;
}

/// Everything a client can know about one sync. Computed only by the
/// coordinator, so every view of it (HTTP, events, remote nodes) agrees.
struct sync_status {
  /// Unique id, "sync-" prefix.
  std::string id;
  /// The source (and cache table) name.
  std::string source;
  sync_state state = sync_state::idle;
  /// 0-100, monotonic: downloading 0-60, processing 60-80, saving 80-100.
  uint8_t progress = 0;
  /// What is happening, for people.
  std::string message;
  /// Set when state is error: what went wrong and what to do about it.
  std::string error;
  /// Unix milliseconds; finished_ms is 0 while running.
  int64_t started_ms = 0;
  int64_t updated_ms = 0;
  int64_t finished_ms = 0;
  /// Bytes downloaded and rows parsed/saved so far.
  uint64_t bytes = 0;
  uint64_t rows = 0;
};

bool operator==(const sync_status& x, const sync_status& y);

inline bool operator!=(const sync_status& x, const sync_status& y) {
  return !(x == y);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sync_status& x) {
  return f(caf::meta::type_name("sync_status"), x.id, x.source, x.state,
           x.progress, x.message, x.error, x.started_ms, x.updated_ms,
           x.finished_ms, x.bytes, x.rows);
}

} // namespace sheetsync
