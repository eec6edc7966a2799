#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
  /// Defined by a flag or the config file: cannot be changed or removed at
  /// run time.
  bool fixed = false;
  /// Where a fixed source is defined, e.g. "the --sheet flag" or "config
  /// file /etc/x.conf"; "" for sources added at run time.
  std::string defined_in;
  /// The tab ("" = the one in the URL, else the first).
  std::string gid;
  /// Tab titles synced into their own tables; empty = one tab.
  std::vector<std::string> tabs;
  /// Every tab is synced.
  bool all_tabs = false;
  /// An API key is set (the key itself is never shown).
  bool has_api_key = false;
  /// Path of the credentials file; "" = none.
  std::string credentials;
};

inline bool operator==(const source_info& x, const source_info& y) {
  return x.name == y.name && x.location == y.location && x.access == y.access
         && x.interval_ms == y.interval_ms && x.running_id == y.running_id
         && x.queued == y.queued && x.last == y.last && x.fixed == y.fixed
         && x.defined_in == y.defined_in && x.gid == y.gid && x.tabs == y.tabs
         && x.all_tabs == y.all_tabs && x.has_api_key == y.has_api_key
         && x.credentials == y.credentials;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, source_info& x) {
  return f(caf::meta::type_name("source_info"), x.name, x.location, x.access,
           x.interval_ms, x.running_id, x.queued, x.last, x.fixed,
           x.defined_in, x.gid, x.tabs, x.all_tabs, x.has_api_key,
           x.credentials);
}

} // namespace sheetsync
