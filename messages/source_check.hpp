#pragma once

#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace sheetsync {

/// One tab of a spreadsheet, as Google lists it.
struct tab_info {
  std::string gid;
  std::string title;
};

inline bool operator==(const tab_info& x, const tab_info& y) {
  return x.gid == y.gid && x.title == y.title;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tab_info& x) {
  return f(caf::meta::type_name("tab_info"), x.gid, x.title);
}

/// What trying a source (without saving anything) found: its header and first
/// rows, or in words what is wrong and what to do.
struct source_check {
  bool ok = false;
  /// Set when !ok: what is wrong and what to do about it.
  std::string message;
  /// The header row.
  std::vector<std::string> columns;
  /// The first rows (at most 5).
  std::vector<std::vector<std::string>> rows;
  /// The spreadsheet's tabs, when Google tells them (API access).
  std::vector<tab_info> tabs;
  /// The access used: "export" or "api".
  std::string access;
  /// A proposed source name, valid per the --name rules.
  std::string name;
};

inline bool operator==(const source_check& x, const source_check& y) {
  return x.ok == y.ok && x.message == y.message && x.columns == y.columns
         && x.rows == y.rows && x.tabs == y.tabs && x.access == y.access
         && x.name == y.name;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, source_check& x) {
  return f(caf::meta::type_name("source_check"), x.ok, x.message, x.columns,
           x.rows, x.tabs, x.access, x.name);
}

} // namespace sheetsync
