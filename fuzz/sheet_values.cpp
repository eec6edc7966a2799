// Fuzz target: the Sheets API JSON answers (sources/sheet_values).
//
// values_to_csv: a failure is ec::invalid_csv with a message and no output; a
// success gives CSV that the CSV parser reads back to the same cells (each
// row padded to the widest; header names are the parser's to normalise, so
// only the data rows are compared). tab_title_for_gid and
// google_error_detail only have to come through (the detail on one line of at
// most 300 bytes), and http_failure_message never shows the API key, whatever
// the error body holds.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "fuzz/check.hpp"
#include "parse/csv_parser.hpp"
#include "sources/fetch_plan.hpp"
#include "sources/sheet_values.hpp"

using namespace sheetsync;

namespace {

using table = std::vector<std::vector<std::string>>;

constexpr const char* api_key = "AIzaFuzzSecretKey0123456789abcdefghij";

/// The rows of a values.get answer that values_to_csv accepted, as the
/// documented mapping says: strings and numbers as they are, TRUE/FALSE,
/// null as an empty cell.
table expected_rows(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag>(
    json.data(), json.size());
  FUZZ_CHECK(!doc.HasParseError() && doc.IsObject(),
             "values_to_csv accepted what a DOM parse rejects");
  table rows;
  auto values = doc.FindMember("values");
  if (values == doc.MemberEnd())
    return rows;
  for (auto& row : values->value.GetArray()) {
    auto& out = rows.emplace_back();
    for (auto& cell : row.GetArray()) {
      if (cell.IsString())
        out.emplace_back(cell.GetString(), cell.GetStringLength());
      else if (cell.IsBool())
        out.emplace_back(cell.GetBool() ? "TRUE" : "FALSE");
      else
        out.emplace_back(); // null
    }
  }
  return rows;
}

void check_values(const std::string& json) {
  std::string csv = "left over";
  failure err;
  if (!values_to_csv(json, csv, err)) {
    FUZZ_CHECK(err.code == ec::invalid_csv, err.text);
    FUZZ_CHECK(!err.text.empty(), "a failure without a message");
    FUZZ_CHECK(csv.empty(), "output after a failure");
    return;
  }
  auto rows = expected_rows(json);
  size_t width = 0;
  bool utf8 = true;
  for (auto& row : rows) {
    width = std::max(width, row.size());
    for (auto& cell : row)
      utf8 = utf8 && valid_utf8(cell);
  }
  if (width == 0) {
    FUZZ_CHECK(csv.empty(), "CSV for a sheet without cells");
    return;
  }
  FUZZ_CHECK(csv.size() >= 2 && csv.compare(csv.size() - 2, 2, "\r\n") == 0,
             "the CSV does not end with a line end");
  // A one-column empty row is a blank line, a header cell may start with a
  // BOM, and a cell may not be UTF-8: the parser rightly reads those
  // differently. Everything else must come back as it went in.
  if (width < 2 || width > 1000 || !utf8
      || (!rows[0].empty() && rows[0][0].rfind("\xEF\xBB\xBF", 0) == 0))
    return;
  csv_parser parser;
  table got;
  auto collect = [&] {
    for (auto& b : parser.take_batches())
      for (size_t r = 0; r < b.rows(); ++r) {
        auto& row = got.emplace_back();
        for (size_t c = 0; c < b.columns.size(); ++c)
          row.emplace_back(b.cell(r, c));
      }
  };
  auto ok = parser.feed(csv) && parser.finish();
  FUZZ_CHECK(ok, parser.error().text);
  collect();
  FUZZ_CHECK(parser.columns().size() == width,
             std::to_string(parser.columns().size()) + " columns read back, "
               + std::to_string(width) + " written");
  FUZZ_CHECK(got.size() + 1 == rows.size(),
             std::to_string(got.size()) + " data rows read back, "
               + std::to_string(rows.size() - 1) + " written");
  for (size_t r = 0; r < got.size(); ++r) {
    auto want = rows[r + 1];
    want.resize(width);
    FUZZ_CHECK(got[r] == want, "row " + std::to_string(r + 2) + " differs");
  }
}

void check_detail(const std::string& body) {
  auto detail = google_error_detail(body);
  FUZZ_CHECK(detail.size() <= 300, std::to_string(detail.size()) + " bytes");
  for (auto c : detail)
    FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f,
               "a control character in the detail");
}

void check_failure_message(const std::string& body) {
  source_spec src;
  src.location = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms";
  src.access = access_mode::api;
  src.api_key = api_key;
  fetch_plan plan;
  failure err;
  FUZZ_CHECK(plan_fetch(src, google_endpoints{}, plan, err), err.text);
  for (uint16_t status : {400, 401, 403, 404, 429, 503}) {
    auto text = http_failure_message(status, plan, "", body);
    FUZZ_CHECK(text.find(api_key) == std::string::npos, "the API key shows");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::guarded(data, size, [](std::string_view input) {
    std::string json{input};
    check_values(json);
    for (const char* gid : {"", "0", "123"}) {
      std::string title;
      failure err;
      if (!tab_title_for_gid(json, gid, title, err, "ID"))
        FUZZ_CHECK(!err.text.empty(), "a failure without a message");
    }
    check_detail(json);
    check_failure_message(json);
  });
}
