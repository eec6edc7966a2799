#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/ec.hpp"
#include "sources/fetch_plan.hpp"

namespace sheetsync {

/// Turns a Sheets API values.get answer (`{"range", "majorDimension": "ROWS",
/// "values": [[...], ...]}`) into the CSV the export would give: RFC 4180,
/// quoted only when needed, "\r\n" line ends, every row padded with empty cells
/// to the widest row. No "values" member (an empty tab), or only empty rows,
/// gives "" (the parser then reports an empty sheet). Strings are copied as
/// they are, numbers as their JSON text, true/false as TRUE/FALSE (as Sheets
/// shows them), null as an empty cell.
///
/// Streams the JSON twice (SAX: widths and size, then the text) and builds no
/// DOM, so memory is the input plus the output, allocated once.
///
/// Malformed JSON, a non-array row, a nested cell or a majorDimension other
/// than ROWS fail with ec::invalid_csv ("the Sheets API answer was not
/// understood: ...").
/// `rows`, when given, receives the rows of the answer (empty ones
/// included). `blank_before` empty rows are written ahead of the answer's
/// rows, as an empty row inside it would be (a row range that followed blank
/// rows the API left out); not when the answer itself is empty ("").
bool values_to_csv(const std::string& json, std::string& csv, failure& err,
                   size_t* rows = nullptr, size_t blank_before = 0);

/// Whether a tab read in ranges of `batch` rows goes on after the range
/// starting at row `first` answered `rows` rows: while the next range starts
/// within the tab's `row_count` (the API leaves out a range's trailing blank
/// rows, so a short answer does not mean the end); with no row count (0),
/// while answers are full. Never with `batch` 0 (the tab read whole).
bool more_row_ranges(uint64_t first, uint64_t batch, uint64_t rows,
                     uint64_t row_count);

/// A tab of a spreadsheet as spreadsheets.get lists it.
struct sheet_tab {
  std::string gid;
  std::string title;
  /// gridProperties.rowCount; 0 when the answer has none.
  uint64_t row_count = 0;
};

/// Lists the tabs in a spreadsheets.get answer (`{"sheets": [{"properties":
/// {"sheetId": 0, "title": "Sheet1", "gridProperties": {"rowCount": 1000}}},
/// ...]}`), in the spreadsheet's order.
/// A malformed answer, or one without tabs, fails with ec::invalid_csv.
bool sheet_tabs(const std::string& json, std::vector<sheet_tab>& out,
                failure& err, const std::string& spreadsheet_id = "");

/// The titles to sync among `tabs`: all of them with `all`, else `wanted`
/// in its order (exact titles, each once). A title that is not there fails
/// with ec::invalid_argument naming it and listing the tabs there are.
bool select_tabs(const std::vector<sheet_tab>& tabs, bool all,
                 const std::vector<std::string>& wanted,
                 std::vector<std::string>& titles, failure& err,
                 const std::string& spreadsheet_id = "");

/// Finds, in a spreadsheets.get answer (`{"sheets": [{"properties":
/// {"sheetId": 0, "title": "Sheet1"}}, ...]}`), the title of the tab whose
/// sheetId is `gid` ("" = the first tab). An unknown gid fails with
/// ec::invalid_argument "no tab with gid G in spreadsheet ID; check the gid"
/// and lists the tabs there are; a malformed answer with ec::invalid_csv.
/// `spreadsheet_id` only serves the messages.
/// `row_count`, when given, receives the tab's rowCount (0 when absent).
bool tab_title_for_gid(const std::string& json, const std::string& gid,
                       std::string& title, failure& err,
                       const std::string& spreadsheet_id = "",
                       uint64_t* row_count = nullptr);

/// Google's JSON error body `{"error": {"code": 403, "message": "...",
/// "status": "PERMISSION_DENIED"}}` -> "PERMISSION_DENIED: ..." (or just one
/// of the two when only one is there); an OAuth error body `{"error":
/// "invalid_grant", "error_description": "..."}` -> "invalid_grant: ...";
/// anything else -> "". On one line, at most 300 characters.
std::string google_error_detail(const std::string& body);

/// The actionable message for a failed request of `plan` with HTTP `status`:
/// 403 says to share the sheet with `client_email` (when given), with the
/// signed-in user's account (a token without an e-mail), or to make it
/// viewable by anyone with the link; 404 says to check the spreadsheet id and
/// gid (naming them); 401 that the credentials or API key were rejected; 429
/// that Google rate-limits; 5xx that Google failed. Always names the status
/// and the (redacted) source, and appends google_error_detail(body) when
/// there is one. Never holds the API key or a token.
std::string http_failure_message(uint16_t status, const fetch_plan& plan,
                                 const std::string& client_email,
                                 const std::string& body);

} // namespace sheetsync
