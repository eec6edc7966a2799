#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>

namespace sheetsync {

/// How a Google Sheet is read.
enum class access_mode : uint8_t {
  /// export for public sheets, api when an API key is given.
  automatic,
  /// The CSV export (or any CSV URL).
  export_csv,
  /// Sheets API v4 values.get.
  api,
};

/// Returns "auto", "export" or "api".
const char* to_string(access_mode x);

/// Parses "auto", "export" or "api"; false otherwise.
bool from_string(const std::string& str, access_mode& x);

/// Where Google lives; settings so tests and proxies can point elsewhere.
struct google_endpoints {
  std::string docs_base = "https://docs.google.com";
  std::string sheets_api_base = "https://sheets.googleapis.com";
};

/// A sheet to sync, as the user configured it.
struct source_spec {
  /// The source's name = its cache table.
  std::string name;
  /// A sheet's browser URL, a published-to-web URL, a bare spreadsheet id,
  /// or any http(s)/file URL of a CSV.
  std::string location;
  /// The tab; "" = the one in the URL, else the first.
  std::string gid;
  access_mode access = access_mode::automatic;
  /// Sheets API key (a secret: never shown).
  std::string api_key;
  /// Path of a service account's credentials JSON; "" = none.
  std::string credentials;
  /// Sheets API range in A1 notation; "" = the whole tab.
  std::string range;
  /// Sync every interval; 0 = only on demand.
  caf::timespan interval{0};
  /// Tab titles to sync, each into its own table; empty = one tab (gid).
  std::vector<std::string> tabs;
  /// Sync every tab of the spreadsheet (needs API access).
  bool all_tabs = false;
};

/// Lets a source_spec travel in messages. It carries api_key, a secret:
/// never log a spec (CAF's to_string would print it).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, source_spec& x) {
  return f(caf::meta::type_name("source_spec"), x.name, x.location, x.gid,
           x.access, x.api_key, x.credentials, x.range, x.interval, x.tabs,
           x.all_tabs);
}

} // namespace sheetsync
