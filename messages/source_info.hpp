#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

#include "messages/sync_status.hpp"

namespace sheetsync {

/// A configured source as clients see it (GET /api/sources): never a secret.
struct source_info {
  std::string name;
  /// Where it comes from, redacted (no API key, no credentials).
  std::string location;
  /// "export" or "api".
  std::string access;
  /// The schedule in ms; 0 = only on demand.
  int64_t interval_ms = 0;
  /// The running sync's id, "" if none.
  std::string running_id;
  /// A start waits for a free slot (parallel limit).
  bool queued = false;
  /// The latest sync of this source (empty id if never synced).
  sync_status last;
};

inline bool operator==(const source_info& x, const source_info& y) {
  return x.name == y.name && x.location == y.location && x.access == y.access
         && x.interval_ms == y.interval_ms && x.running_id == y.running_id
         && x.queued == y.queued && x.last == y.last;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, source_info& x) {
  return f(caf::meta::type_name("source_info"), x.name, x.location, x.access,
           x.interval_ms, x.running_id, x.queued, x.last);
}

} // namespace sheetsync
