#define CAF_SUITE sheet_values
#include <caf/test/unit_test.hpp>

#include "sources/sheet_values.hpp"

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "parse/csv_parser.hpp"
#include "sources/fetch_plan.hpp"
#include "tests/batch_rows.hpp"
#include "tests/csv_writer.hpp"

using namespace sheetsync;
using namespace sheetsync::test;

namespace {

using row = std::vector<std::string>;
using table = std::vector<row>;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// What the project's CSV parser makes of a text.
struct parsed {
  bool ok = false;
  failure error;
  std::vector<std::string> columns;
  table rows;
};

parsed parse_csv(std::string_view text) {
  parsed res;
  csv_parser parser;
  res.ok = parser.feed(text) && parser.finish();
  res.error = parser.error();
  res.columns = parser.columns();
  for (auto& b : parser.take_batches())
    append_rows(b, res.rows);
  return res;
}

/// The values.get answer for `rows`, written by RapidJSON's own writer.
std::string to_values_json(const table& rows, const char* range = "Sheet1!A1:Z1000") {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  w.StartObject();
  w.Key("range");
  w.String(range);
  w.Key("majorDimension");
  w.String("ROWS");
  w.Key("values");
  w.StartArray();
  for (auto& r : rows) {
    w.StartArray();
    for (auto& cell : r)
      w.String(cell.data(), static_cast<rapidjson::SizeType>(cell.size()));
    w.EndArray();
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

/// The CSV export's text for the same sheet: every row padded to the widest,
/// quoted only where needed (an independent writer).
std::string export_csv(const table& rows) {
  size_t width = 0;
  for (auto& r : rows)
    width = std::max(width, r.size());
  std::string out;
  for (auto r : rows) {
    r.resize(width);
    out += csv_line(r) + "\r\n";
  }
  return out;
}

std::string convert(const std::string& json) {
  std::string csv;
  failure err;
  if (!values_to_csv(json, csv, err))
    CAF_FAIL("values_to_csv failed: " << err.text);
  return csv;
}

/// Checks that the API path and the export path give the same rows.
void check_same_as_export(const table& rows) {
  auto csv = convert(to_values_json(rows));
  auto expected_text = export_csv(rows);
  CAF_CHECK_EQUAL(csv, expected_text);
  auto got = parse_csv(csv);
  auto expected = parse_csv(expected_text);
  CAF_CHECK_EQUAL(got.ok, expected.ok);
  CAF_CHECK_EQUAL(got.columns, expected.columns);
  CAF_CHECK_EQUAL(got.rows, expected.rows);
}

void check_not_understood(const std::string& json, const std::string& says = "") {
  std::string csv = "left over";
  failure err;
  CAF_CHECK(!values_to_csv(json, csv, err));
  CAF_CHECK_EQUAL(err.code, ec::invalid_csv);
  CAF_CHECK(contains(err.text, "Sheets API answer was not understood"));
  if (!says.empty() && !contains(err.text, says))
    CAF_FAIL("error \"" << err.text << "\" lacks \"" << says << "\"");
  CAF_CHECK_EQUAL(csv, "");
}

const std::string sheet_id = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms";
const std::string secret_key = "AIzaSyTOPSECRET-key_0123456789";

fetch_plan make_plan(const std::string& location, const std::string& gid,
                     const std::string& api_key, const std::string& creds = "") {
  source_spec src;
  src.location = location;
  src.gid = gid;
  src.api_key = api_key;
  src.credentials = creds;
  fetch_plan plan;
  failure err;
  if (!plan_fetch(src, google_endpoints{}, plan, err))
    CAF_FAIL("plan_fetch failed: " << err.text);
  return plan;
}

} // namespace

// -- values_to_csv ------------------------------------------------------------

CAF_TEST(ragged rows are padded like the export) {
  // Trailing empty cells and rows are what the API leaves out.
  table rows{{"name", "qty", "note"}, {"apple", "3"}, {}, {"", "", "x"}, {"pear"}};
  auto csv = convert(to_values_json(rows));
  CAF_CHECK_EQUAL(csv, "name,qty,note\r\napple,3,\r\n,,\r\n,,x\r\npear,,\r\n");
  check_same_as_export(rows);
  auto res = parse_csv(csv);
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.columns, (row{"name", "qty", "note"}));
  CAF_CHECK_EQUAL(res.rows.size(), 4u);
  CAF_CHECK_EQUAL(res.rows[2], (row{"", "", "x"}));
  // A data row wider than the header widens every row.
  check_same_as_export({{"a"}, {"1", "2", "3"}, {"4"}});
  // One column with an empty cell: a blank line, still a row.
  check_same_as_export({{"a"}, {}, {"b"}});
  // Leading empty rows.
  check_same_as_export({{}, {"h1", "h2"}, {"1"}});
}

CAF_TEST(special cells round trip) {
  table rows{
    {"plain", "with,comma", "with \"quotes\"", "multi\nline", "cr\r\nlf"},
    {"\"", ",", "\n", "  spaced  ", "trailing\r"},
    {"é", "日本語", "emoji \xF0\x9F\x98\x80", "tab\there", "back\\slash"},
    {"=SUM(A1:A2)", "'quoted'", "null", "true", "1.50"},
  };
  check_same_as_export(rows);
  auto res = parse_csv(convert(to_values_json(rows)));
  CAF_REQUIRE(res.ok);
  for (size_t r = 1; r < rows.size(); ++r)
    CAF_CHECK_EQUAL(res.rows[r - 1], rows[r]);
}

CAF_TEST(json escapes decode to utf8) {
  auto csv = convert(R"({"values":[["h\u00e9","\ud83d\ude00","a\"b","x\/y"]]})");
  CAF_CHECK_EQUAL(csv, "h\xC3\xA9,\xF0\x9F\x98\x80,\"a\"\"b\",x/y\r\n");
  // A NUL escape is kept, not a cut.
  csv = convert(R"({"values":[["a\u0000b","c"]]})");
  CAF_CHECK_EQUAL(csv, std::string("a\0b,c\r\n", 7));
}

CAF_TEST(random ragged sheets round trip) {
  std::mt19937 rng{4711};
  const std::vector<std::string> pool{"", "x", "1", "a,b", "q\"q", "l1\nl2",
                                      "\r\n", "ü", "€ 3,50", " ", "\"\"",
                                      "long cell with words"};
  for (int round = 0; round < 200; ++round) {
    table rows;
    auto n = std::uniform_int_distribution<size_t>{1, 30}(rng);
    for (size_t r = 0; r < n; ++r) {
      row cells;
      auto w = std::uniform_int_distribution<size_t>{0, 8}(rng);
      for (size_t c = 0; c < w; ++c)
        cells.push_back(pool[rng() % pool.size()]);
      // The API omits trailing empty cells.
      while (!cells.empty() && cells.back().empty())
        cells.pop_back();
      rows.push_back(std::move(cells));
    }
    // ... and trailing empty rows.
    while (!rows.empty() && rows.back().empty())
      rows.pop_back();
    if (rows.empty())
      continue;
    check_same_as_export(rows);
  }
}

CAF_TEST(an empty tab is an empty sheet) {
  for (std::string json :
       {R"({"range":"Sheet1!A1:Z1000","majorDimension":"ROWS"})",
        R"({"range":"Sheet1!A1:Z1000","majorDimension":"ROWS","values":[]})",
        R"({"values":[[],[]]})", R"({})"}) {
    CAF_MESSAGE("answer " << json);
    CAF_CHECK_EQUAL(convert(json), "");
    auto res = parse_csv(convert(json));
    CAF_CHECK(!res.ok);
    CAF_CHECK_EQUAL(res.error.code, ec::empty_sheet);
  }
}

CAF_TEST(numbers bools and nulls) {
  auto csv = convert(R"({"values":[["n","f","b","z","s"],[1,2.50,true,null,"x"],[-3e2,0,false]]})");
  CAF_CHECK_EQUAL(csv, "n,f,b,z,s\r\n1,2.50,TRUE,,x\r\n-3e2,0,FALSE,,\r\n");
}

CAF_TEST(other members are ignored) {
  auto csv = convert(
    R"({"range":"'My Tab'!A1:B2","extra":{"a":[1,{"b":[2,[3]]}],"c":null},)"
    R"("values":[["a","b"]],"more":[["not","rows"]]})");
  CAF_CHECK_EQUAL(csv, "a,b\r\n");
}

CAF_TEST(malformed answers are not understood) {
  check_not_understood("");
  check_not_understood("{");
  check_not_understood("<html><body>Sign in</body></html>");
  check_not_understood("[]", "not an object");
  check_not_understood("\"values\"", "not a JSON object");
  check_not_understood(R"({"values":3})", "not an array");
  check_not_understood(R"({"values":{"a":1}})");
  check_not_understood(R"({"values":[["a"],"b"]})", "row 2 is not an array");
  check_not_understood(R"({"values":[["a"],{"b":1}]})", "row 2");
  check_not_understood(R"({"values":[["a",["b"]]]})", "row 1");
  check_not_understood(R"({"values":[["a",{"b":1}]]})", "row 1");
  check_not_understood(R"({"majorDimension":"COLUMNS","values":[["a"]]})",
                       "COLUMNS");
  check_not_understood(R"({"values":[["a"]],"values":[["b"]]})", "twice");
  check_not_understood(R"({"values":[["a"]]} trailing)");
  check_not_understood(R"({"values":[["a"]])");
  // Deep nesting in a skipped member fails cleanly, not by stack overflow.
  check_not_understood("{\"x\":" + std::string(100000, '['));
}

CAF_TEST(a big sheet converts in one allocation) {
  table rows;
  for (int r = 0; r < 20000; ++r) {
    row cells;
    for (int c = 0; c < (r % 7) + 1; ++c)
      cells.push_back("r" + std::to_string(r) + (c % 3 == 0 ? ",c" : "c")
                      + std::to_string(c));
    rows.push_back(std::move(cells));
  }
  auto json = to_values_json(rows);
  std::string csv;
  failure err;
  CAF_REQUIRE(values_to_csv(json, csv, err));
  CAF_CHECK_EQUAL(csv, export_csv(rows));
  // The measuring pass sized the output exactly.
  CAF_CHECK_EQUAL(csv.capacity() >= csv.size(), true);
  CAF_CHECK_LESS_OR_EQUAL(csv.capacity(), csv.size() + 32);
}

CAF_TEST(blank rows ahead of a range are written as empty rows) {
  // As an empty row inside one answer: padded to the answer's width.
  std::string csv;
  failure err;
  size_t rows = 0;
  CAF_REQUIRE(values_to_csv(R"({"values":[["a","b"],[],["c"]]})", csv, err,
                            &rows, 2));
  CAF_CHECK_EQUAL(csv, ",\r\n,\r\na,b\r\n,\r\nc,\r\n");
  CAF_CHECK_EQUAL(rows, 3u);
  CAF_CHECK_EQUAL(csv, convert(R"({"values":[[],[],["a","b"],[],["c"]]})"));
  // An answer without cells stays empty: blank rows at a tab's end are not
  // written.
  CAF_REQUIRE(values_to_csv(R"({"range":"'T'!3:4"})", csv, err, &rows, 2));
  CAF_CHECK_EQUAL(csv, "");
  CAF_CHECK_EQUAL(rows, 0u);
}

CAF_TEST(row ranges go on to the row count of the tab) {
  // Rows 3-4 of a 6-row grid are blank: the API answers 3:4 with no rows,
  // yet rows 5-6 hold data.
  CAF_CHECK(more_row_ranges(1, 2, 2, 6));
  CAF_CHECK(more_row_ranges(3, 2, 0, 6));
  CAF_CHECK(!more_row_ranges(5, 2, 2, 6));
  // A short answer within the row count is not the end either.
  CAF_CHECK(more_row_ranges(1, 2, 1, 7));
  CAF_CHECK(more_row_ranges(5, 2, 2, 7));
  CAF_CHECK(!more_row_ranges(7, 2, 1, 7));
  // Without a row count, a short answer ends the tab.
  CAF_CHECK(more_row_ranges(1, 2, 2, 0));
  CAF_CHECK(!more_row_ranges(3, 2, 1, 0));
  CAF_CHECK(!more_row_ranges(3, 2, 0, 0));
  // No ranges: the tab was read whole.
  CAF_CHECK(!more_row_ranges(1, 0, 5, 10));
}

CAF_TEST(tabs list their row counts) {
  std::vector<sheet_tab> tabs;
  failure err;
  CAF_REQUIRE(sheet_tabs(R"({"sheets":[
    {"properties":{"sheetId":0,"title":"A","gridProperties":{"rowCount":1000}}},
    {"properties":{"sheetId":7,"title":"B"}}]})",
                         tabs, err));
  CAF_REQUIRE_EQUAL(tabs.size(), 2u);
  CAF_CHECK_EQUAL(tabs[0].row_count, 1000u);
  CAF_CHECK_EQUAL(tabs[1].row_count, 0u);
  std::string title;
  uint64_t row_count = 1;
  CAF_REQUIRE(tab_title_for_gid(R"({"sheets":[{"properties":{"sheetId":7,"title":"B","gridProperties":{"rowCount":6}}}]})",
                                "7", title, err, "", &row_count));
  CAF_CHECK_EQUAL(title, "B");
  CAF_CHECK_EQUAL(row_count, 6u);
}

// -- tab_title_for_gid --------------------------------------------------------

namespace {

const std::string metadata = R"({"sheets":[
  {"properties":{"sheetId":0,"title":"Sheet1"}},
  {"properties":{"sheetId":123,"title":"My 'Tab'"}},
  {"properties":{"sheetId":2147483647,"title":"Last"}}]})";

std::string title_of(const std::string& json, const std::string& gid) {
  std::string title;
  failure err;
  if (!tab_title_for_gid(json, gid, title, err, sheet_id))
    CAF_FAIL("tab_title_for_gid failed: " << err.text);
  return title;
}

} // namespace

CAF_TEST(tab titles by gid) {
  CAF_CHECK_EQUAL(title_of(metadata, ""), "Sheet1");
  CAF_CHECK_EQUAL(title_of(metadata, "0"), "Sheet1");
  CAF_CHECK_EQUAL(title_of(metadata, "123"), "My 'Tab'");
  CAF_CHECK_EQUAL(title_of(metadata, "0123"), "My 'Tab'");
  CAF_CHECK_EQUAL(title_of(metadata, "2147483647"), "Last");
  // The first tab need not be gid 0; Google may leave out a zero sheetId.
  CAF_CHECK_EQUAL(title_of(R"({"sheets":[{"properties":{"sheetId":55,"title":"A"}},{"properties":{"title":"B"}}]})", ""),
                  "A");
  CAF_CHECK_EQUAL(title_of(R"({"sheets":[{"properties":{"sheetId":55,"title":"A"}},{"properties":{"title":"B"}}]})", "0"),
                  "B");
}

CAF_TEST(an unknown gid names the gid the id and the tabs) {
  std::string title;
  failure err;
  CAF_CHECK(!tab_title_for_gid(metadata, "999", title, err, sheet_id));
  CAF_CHECK_EQUAL(err.code, ec::invalid_argument);
  CAF_MESSAGE(err.text);
  CAF_CHECK(contains(err.text, "no tab with gid 999 in spreadsheet " + sheet_id));
  CAF_CHECK(contains(err.text, "check the gid"));
  CAF_CHECK(contains(err.text, "0 'Sheet1'"));
  CAF_CHECK(contains(err.text, "123 'My 'Tab''"));
  err = failure{};
  CAF_CHECK(!tab_title_for_gid(metadata, "x1", title, err, sheet_id));
  CAF_CHECK_EQUAL(err.code, ec::invalid_argument);
  for (std::string bad : {"", "[]", "{}", R"({"sheets":[]})",
                          R"({"sheets":[1]})", R"({"sheets":[{}]})",
                          R"({"sheets":[{"properties":{"sheetId":1}}]})",
                          R"({"sheets":[{"properties":{"sheetId":"1","title":"a"}}]})"}) {
    CAF_MESSAGE("metadata " << bad);
    err = failure{};
    CAF_CHECK(!tab_title_for_gid(bad, "", title, err, sheet_id));
    CAF_CHECK_EQUAL(err.code, ec::invalid_csv);
    CAF_CHECK(contains(err.text, "Sheets API answer was not understood"));
  }
}

// -- errors -----------------------------------------------------------------

namespace {

std::string google_body(int code, const std::string& message,
                        const std::string& status) {
  return R"({"error":{"code":)" + std::to_string(code) + R"(,"message":")"
         + message + R"(","status":")" + status + R"("}})";
}

} // namespace

CAF_TEST(google error details) {
  CAF_CHECK_EQUAL(google_error_detail(google_body(403, "The caller does not have permission", "PERMISSION_DENIED")),
                  "PERMISSION_DENIED: The caller does not have permission");
  CAF_CHECK_EQUAL(google_error_detail(R"( {"error":{"code":404,"message":"Requested entity was not found."}})"),
                  "Requested entity was not found.");
  CAF_CHECK_EQUAL(google_error_detail(R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})"),
                  "invalid_grant: Invalid JWT Signature.");
  CAF_CHECK_EQUAL(google_error_detail(google_body(429, "Quota exceeded\\nfor reads", "RESOURCE_EXHAUSTED")),
                  "RESOURCE_EXHAUSTED: Quota exceeded for reads");
  CAF_CHECK_EQUAL(google_error_detail("<!DOCTYPE html><html>Sign in</html>"), "");
  CAF_CHECK_EQUAL(google_error_detail(""), "");
  CAF_CHECK_EQUAL(google_error_detail("{}"), "");
  CAF_CHECK_EQUAL(google_error_detail(R"({"error":{"code":500}})"), "");
  CAF_CHECK_EQUAL(google_error_detail(R"({"error":42})"), "");
  CAF_CHECK_EQUAL(google_error_detail("{\"error\":"), "");
  auto long_detail = google_error_detail(google_body(400, std::string(1000, 'm'), "INVALID_ARGUMENT"));
  CAF_CHECK_LESS_OR_EQUAL(long_detail.size(), 300u);
}

// Found by fuzz/sheet_values: a body nested a million levels deep (any
// server a source names can send one as an error body, up to the 1 MiB cap)
// overflowed the stack of the recursive JSON parser and killed the process.
CAF_TEST(deeply nested answers are refused without exhausting the stack) {
  std::string deep(1 << 20, '[');
  deep.replace(0, 9, "{\"error\":");
  CAF_CHECK_EQUAL(google_error_detail(deep), "");
  deep.replace(0, 10, "{\"sheets\":");
  std::string title;
  failure err;
  CAF_CHECK(!tab_title_for_gid(deep, "", title, err, sheet_id));
  CAF_CHECK_EQUAL(err.code, ec::invalid_csv);
}

CAF_TEST(failure messages are actionable and keep secrets) {
  auto url = "https://docs.google.com/spreadsheets/d/" + sheet_id + "/edit#gid=123";
  auto api_plan = make_plan(url, "", secret_key);
  auto sa_plan = make_plan(url, "", "", "/etc/sa.json");
  auto export_plan = make_plan(url, "", "");
  auto first_tab = make_plan(sheet_id, "", "");
  std::string email = "sync@my-project.iam.gserviceaccount.com";
  auto check = [&](uint16_t status, const fetch_plan& plan,
                   const std::string& client_email, const std::string& body,
                   std::vector<std::string> must_say) {
    auto text = http_failure_message(status, plan, client_email, body);
    CAF_MESSAGE(text);
    CAF_CHECK(contains(text, std::to_string(status)));
    CAF_CHECK(!contains(text, secret_key));
    for (auto& part : must_say)
      if (!contains(text, part))
        CAF_FAIL("message \"" << text << "\" lacks \"" << part << "\"");
  };
  auto denied = google_body(403, "The caller does not have permission",
                            "PERMISSION_DENIED");
  check(403, sa_plan, email, denied,
        {"share the sheet", email, sheet_id,
         "PERMISSION_DENIED: The caller does not have permission"});
  check(403, export_plan, "", "<html>", {"anyone with the link"});
  check(403, api_plan, "", denied, {"API key", "anyone with the link"});
  check(404, export_plan, "", google_body(404, "Requested entity was not found.", "NOT_FOUND"),
        {"check the spreadsheet id " + sheet_id, "gid 123", "NOT_FOUND"});
  check(404, first_tab, "", "", {sheet_id, "first tab"});
  check(401, api_plan, "", "", {"API key"});
  check(401, sa_plan, email, "", {"credentials"});
  check(429, api_plan, "", google_body(429, "Quota exceeded", "RESOURCE_EXHAUSTED"),
        {"rate", "RESOURCE_EXHAUSTED"});
  for (uint16_t s : {500, 502, 503, 504})
    check(s, export_plan, "", "", {"Google failed", "retry"});
  // Google's text quoting the key is scrubbed.
  check(400, api_plan, "",
        google_body(400, "API key " + secret_key + " not valid. Please pass a valid API key.",
                    "INVALID_ARGUMENT"),
        {"INVALID_ARGUMENT", "***"});
  // Published sheets and plain URLs.
  auto pub = make_plan("https://docs.google.com/spreadsheets/d/e/2PACX-abc/pubhtml", "4", "");
  check(404, pub, "", "", {"2PACX-abc", "gid 4", "published"});
  auto plain = make_plan("https://example.com/data.csv?token=s3cr3t", "", "");
  auto text = http_failure_message(404, plain, "", "");
  CAF_CHECK(!contains(text, "s3cr3t"));
  CAF_CHECK(contains(text, "example.com/data.csv"));
  CAF_CHECK(contains(text, "404"));
}
