#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "messages/ec.hpp"
#include "sources/source_spec.hpp"

namespace sheetsync {

/// What the body of a download is.
enum class body_format : uint8_t {
  /// CSV bytes (the export, a published sheet, any CSV URL).
  csv,
  /// A Sheets API values.get JSON answer (see sources/sheet_values.hpp).
  sheet_values,
};

/// What a source_spec's location turned out to be.
enum class source_kind : uint8_t {
  /// Any other http(s):// or file:// URL of a CSV, used as is.
  url,
  /// A spreadsheet (browser URL or bare id): export or Sheets API.
  spreadsheet,
  /// A published-to-web sheet (`/spreadsheets/d/e/KEY/...`).
  published,
};

/// What to download for a source, and how.
struct fetch_plan {
  /// What to download. May carry `?key=`: never show it unredacted.
  std::string url;
  body_format format = body_format::csv;
  /// Send "Authorization: Bearer <token>" from the spec's credentials. Only
  /// ever set for Google URLs (rebuilt on the configured endpoints).
  bool needs_token = false;
  /// Sheets API without a tab title yet: GET this first
  /// (spreadsheets.get?fields=sheets.properties(sheetId,title)[&key=]), find
  /// the tab's title with tab_title_for_gid(), then download
  /// values_url(plan, title). Empty when `url` is final.
  std::string metadata_url;
  /// The spreadsheet id; "" for plain CSV URLs and published sheets.
  std::string spreadsheet_id;
  /// The publish key of a published sheet ("2PACX-..."); "" otherwise.
  std::string publish_key;
  /// The tab asked for ("" = the first), digits only.
  std::string gid;
  /// Sheets API: the spec's A1 range when it names no tab (e.g. "A1:D"); it is
  /// applied inside the tab found through metadata_url.
  std::string range;
  /// For messages and GET /api/sources, redacted: e.g. "spreadsheet ID tab
  /// gid 123 (export)" or the redacted URL.
  std::string description;
  /// For values_url(): the Sheets API base and key ("" = none: token).
  std::string api_base;
  std::string api_key;
  source_kind kind = source_kind::url;
  /// Sheets API, several tabs, each into its own table (see tab_tables()):
  /// every tab with `all_tabs`, else these titles. Then metadata_url lists
  /// the tabs, and each is read in row ranges (tab_rows_url()).
  std::vector<std::string> tabs;
  bool all_tabs = false;

  /// Whether the plan syncs several tabs, each into its own table.
  bool tabbed() const {
    return all_tabs || !tabs.empty();
  }
};

/// Turns a source into what to download. Accepts as `src.location`:
/// - a sheet's browser URL on docs.google.com (or on `ep.docs_base`):
///   `/spreadsheets/d/ID[/edit|/view|/htmlview|/export|...][?...][#gid=G]`,
///   also with `/u/N/` or `/a/DOMAIN/` segments; the gid comes from `#gid=`
///   or `?gid=` (the fragment wins);
/// - a bare spreadsheet id: 25 to 200 characters of `[A-Za-z0-9_-]`;
/// - a published-to-web URL `/spreadsheets/d/e/KEY/pub?...` or `/pubhtml`
///   (or a bare publish key starting with `2PACX-`);
/// - any other http://, https:// or file:// URL of a CSV (used as is).
/// `src.gid` overrides the URL's gid. Google URLs are rebuilt on `ep`.
/// Fails with ec::invalid_argument, saying what is accepted.
bool plan_fetch(const source_spec& src, const google_endpoints& ep,
                fetch_plan& out, failure& err);

/// The Sheets API values.get URL of `range_or_title` in the plan's
/// spreadsheet: `{api_base}/v4/spreadsheets/{ID}/values/{RANGE}?majorDimension=ROWS&valueRenderOption=FORMATTED_VALUE[&key=K]`.
/// With `is_title` (the default), `range_or_title` is a tab title: it is quoted
/// as A1 notation needs ('My Tab', doubling '), and plan.range, if any, is
/// appended after a '!'. Otherwise it is an A1 range used as is. Either way
/// it is percent-encoded.
std::string values_url(const fetch_plan& plan, const std::string& range_or_title,
                       bool is_title = true);

/// The Sheets API values.get URL of rows `first` to `last` (1-based, the
/// header is row 1) of the tab titled `title`: `'Title'!first:last`.
std::string tab_rows_url(const fetch_plan& plan, const std::string& title,
                         uint64_t first, uint64_t last);

/// A redacted one-line description of a source (the plan's description, or
/// the redacted location when it does not plan).
std::string describe(const source_spec& src);

/// Percent-encodes every byte but the unreserved ones (A-Z a-z 0-9 - . _ ~).
std::string percent_encode(const std::string& str);

/// Normalises a gid: digits only, without leading zeros ("007" -> "7",
/// "000" -> "0"), at most 18 digits after the zeros (26 with them). False,
/// `out` untouched, if `gid` is none.
bool normal_gid(std::string_view gid, std::string& out);

} // namespace sheetsync
