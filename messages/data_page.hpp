#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace sheetsync {

/// A page of a source's cached rows, as the dashboard shows them.
struct data_page {
  std::string source;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  /// Rows in the cache in all.
  uint64_t total = 0;
  /// When the cached data was synced (Unix ms), 0 if never.
  int64_t synced_ms = 0;
  /// When the page ended early at the byte cap: the offset that continues
  /// it; else 0.
  uint64_t next = 0;
  /// A source synced tab by tab: the tab of this page and the titles of all
  /// its tabs, in order; empty otherwise.
  std::string tab;
  std::vector<std::string> tabs;
};

inline bool operator==(const data_page& x, const data_page& y) {
  return x.source == y.source && x.columns == y.columns && x.rows == y.rows
         && x.total == y.total && x.synced_ms == y.synced_ms
         && x.next == y.next && x.tab == y.tab && x.tabs == y.tabs;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, data_page& x) {
  return f(caf::meta::type_name("data_page"), x.source, x.columns, x.rows,
           x.total, x.synced_ms, x.next, x.tab, x.tabs);
}

} // namespace sheetsync
