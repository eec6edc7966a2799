#define CAF_SUITE csv_parser
#include <caf/test/unit_test.hpp>

#include "parse/csv_parser.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>
#include <new>

#include <rapidjson/document.h>

#include "parse/column_names.hpp"
#include "store/content_hasher.hpp"
#include "tests/batch_rows.hpp"
#include "tests/csv_writer.hpp"

// CMake defines it; a build by hand runs the tests from the repo root.
#ifndef SHEETSYNC_SOURCE_DIR
#  define SHEETSYNC_SOURCE_DIR "."
#endif

using namespace sheetsync;
using namespace sheetsync::test;

namespace {

using row = std::vector<std::string>;
using table = std::vector<row>;

/// Everything one parse produced.
struct result {
  bool ok = false;
  failure error;
  std::vector<std::string> columns;
  std::vector<row_batch> batches;
  /// All rows of all batches, each as wide as its batch's header.
  table rows;
  uint64_t row_count = 0;
  uint64_t bytes = 0;
};

/// Checks what every batch must satisfy, whatever the input.
void check_batch_shape(const row_batch& b, size_t batch_rows) {
  CAF_REQUIRE(!b.columns.empty());
  CAF_CHECK_EQUAL(b.ends.size() % b.columns.size(), 0u);
  CAF_CHECK_GREATER(b.rows(), 0u);
  CAF_CHECK_LESS_OR_EQUAL(b.rows(), batch_rows);
  uint32_t prev = 0;
  for (auto end : b.ends) {
    CAF_REQUIRE_LESS_OR_EQUAL(prev, end);
    prev = end;
  }
  CAF_CHECK_EQUAL(prev, b.data.size());
}

/// Feeds `chunks` one after the other, then finishes, collecting batches after
/// every call (as the parse actor does).
result parse_chunks(const std::vector<std::string_view>& chunks,
                    size_t batch_rows = 4096,
                    size_t batch_bytes = csv_parser::default_batch_bytes) {
  result res;
  csv_parser parser{batch_rows, batch_bytes};
  auto collect = [&] {
    for (auto& b : parser.take_batches())
      res.batches.push_back(std::move(b));
  };
  res.ok = true;
  for (auto chunk : chunks) {
    if (!parser.feed(chunk)) {
      res.ok = false;
      break;
    }
    collect();
  }
  if (res.ok)
    res.ok = parser.finish();
  collect();
  res.error = parser.error();
  res.columns = parser.columns();
  res.row_count = parser.rows();
  res.bytes = parser.bytes_consumed();
  uint64_t next_row = 1;
  for (auto& b : res.batches) {
    check_batch_shape(b, batch_rows);
    CAF_CHECK_EQUAL(b.first_row, next_row);
    next_row += b.rows();
    append_rows(b, res.rows);
  }
  return res;
}

result parse(std::string_view input, size_t batch_rows = 4096) {
  return parse_chunks({input}, batch_rows);
}

result parse_bytewise(std::string_view input) {
  std::vector<std::string_view> chunks;
  for (size_t i = 0; i < input.size(); ++i)
    chunks.push_back(input.substr(i, 1));
  return parse_chunks(chunks);
}

std::string code_of(const result& res) {
  return to_string(res.error.code);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

/// Writes a table the way RFC 4180 asks (quotes only where needed), as an
/// independent source of inputs with known contents.
std::string write_csv(const table& rows, const std::string& line_end) {
  std::string out;
  for (auto& cells : rows)
    out += csv_line(cells) + line_end;
  return out;
}

} // namespace

// -- csv-spectrum (npm) -------------------------------------------------------

namespace {

/// A cell whose expected value in csv-spectrum's JSON is wrong.
struct erratum {
  const char* test_case;
  size_t row;
  const char* column;
  const char* json_says;
  const char* csv_has;
};

/// csv-spectrum 2.0.0 bugs, each checked to still apply (so that a fixed
/// release makes the test fail until the entry goes).
const erratum spectrum_errata[] = {
  // github.com/max-mapper/csv-spectrum/issues/20: the JSON's phone number is
  // not the one in the CSV.
  {"location_coordinates", 0, "Contact Phone Number", "1234567890",
   "2095257564"},
};

} // namespace

CAF_TEST(csv_spectrum) {
  namespace fs = std::filesystem;
  auto dir = fs::path{SHEETSYNC_SOURCE_DIR} / "node_modules" / "csv-spectrum";
  if (!fs::is_directory(dir / "csvs") || !fs::is_directory(dir / "json"))
    CAF_FAIL("node_modules/csv-spectrum is missing: run `npm ci` in "
             SHEETSYNC_SOURCE_DIR " (scripts/install-deps does)");
  size_t cases = 0;
  for (auto& entry : fs::directory_iterator{dir / "csvs"}) {
    if (entry.path().extension() != ".csv")
      continue;
    auto name = entry.path().stem().string();
    CAF_MESSAGE("csv-spectrum case " + name);
    auto json_path = dir / "json" / (name + ".json");
    CAF_REQUIRE(fs::exists(json_path));
    rapidjson::Document doc;
    auto json = read_file(json_path);
    doc.Parse(json.data(), json.size());
    CAF_REQUIRE(!doc.HasParseError());
    // Most cases hold an array of row objects; one holds a single object.
    std::vector<const rapidjson::Value*> objects;
    if (doc.IsArray()) {
      for (auto& x : doc.GetArray())
        objects.push_back(&x);
    } else {
      CAF_REQUIRE(doc.IsObject());
      objects.push_back(&doc);
    }
    CAF_REQUIRE(!objects.empty());
    std::vector<std::string> columns;
    for (auto& member : objects.front()->GetObject())
      columns.emplace_back(member.name.GetString(),
                           member.name.GetStringLength());
    table expected;
    for (auto obj : objects) {
      CAF_REQUIRE(obj->IsObject());
      CAF_REQUIRE_EQUAL(obj->MemberCount(), columns.size());
      row cells;
      for (auto& column : columns) {
        auto i = obj->FindMember(column.c_str());
        CAF_REQUIRE(i != obj->MemberEnd());
        CAF_REQUIRE(i->value.IsString());
        cells.emplace_back(i->value.GetString(), i->value.GetStringLength());
      }
      expected.push_back(std::move(cells));
    }
    for (auto& fix : spectrum_errata) {
      if (name != fix.test_case)
        continue;
      auto i = std::find(columns.begin(), columns.end(), fix.column);
      CAF_REQUIRE(i != columns.end());
      CAF_REQUIRE_LESS(fix.row, expected.size());
      auto& cell = expected[fix.row][static_cast<size_t>(i - columns.begin())];
      CAF_REQUIRE_EQUAL(cell, fix.json_says);
      cell = fix.csv_has;
    }
    auto csv = read_file(entry.path());
    auto res = parse(csv);
    CAF_REQUIRE(res.ok);
    CAF_CHECK_EQUAL(res.columns, columns);
    CAF_CHECK_EQUAL(res.rows, expected);
    CAF_CHECK_EQUAL(res.row_count, expected.size());
    auto bytewise = parse_bytewise(csv);
    CAF_CHECK(bytewise.ok);
    CAF_CHECK_EQUAL(bytewise.columns, columns);
    CAF_CHECK_EQUAL(bytewise.rows, expected);
    ++cases;
  }
  // The package ships a dozen cases; none found means a broken install.
  CAF_CHECK_GREATER_OR_EQUAL(cases, 10u);
}

// -- encoding and line ends ---------------------------------------------------

CAF_TEST(bom is stripped) {
  std::string input = "\xEF\xBB\xBF" "id,name\n1,x\n";
  for (size_t split = 0; split <= input.size(); ++split) {
    auto res = parse_chunks({std::string_view{input}.substr(0, split),
                             std::string_view{input}.substr(split)});
    CAF_REQUIRE(res.ok);
    CAF_CHECK_EQUAL(res.columns, (std::vector<std::string>{"id", "name"}));
    CAF_CHECK_EQUAL(res.rows, (table{{"1", "x"}}));
    CAF_CHECK_EQUAL(res.bytes, input.size());
  }
  auto bytewise = parse_bytewise(input);
  CAF_REQUIRE(bytewise.ok);
  CAF_CHECK_EQUAL(bytewise.columns, (std::vector<std::string>{"id", "name"}));
  // Only at the very start: later it is an ordinary (valid) character.
  auto later = parse("a\n\xEF\xBB\xBFx\n");
  CAF_REQUIRE(later.ok);
  CAF_CHECK_EQUAL(later.rows, (table{{"\xEF\xBB\xBFx"}}));
  // A broken BOM prefix is data: here invalid UTF-8 in the header.
  auto broken = parse("\xEF\xBBx,y\n1,2\n");
  CAF_CHECK(!broken.ok);
  CAF_CHECK_EQUAL(code_of(broken), "invalid_utf8");
  CAF_CHECK(contains(broken.error.text, "row 1"));
  // Input shorter than a BOM that looked like one is data too.
  auto short_input = parse("\xEF\xBB");
  CAF_CHECK(!short_input.ok);
  CAF_CHECK_EQUAL(code_of(short_input), "invalid_utf8");
}

CAF_TEST(crlf and lf give the same rows) {
  table expected{{"1", "2"}, {"", ""}, {"3", "4"}};
  auto lf = parse("a,b\n1,2\n\n3,4\n");
  auto crlf = parse("a,b\r\n1,2\r\n\r\n3,4\r\n");
  auto mixed = parse("a,b\r\n1,2\n\r\n3,4\n");
  for (auto* res : {&lf, &crlf, &mixed}) {
    CAF_REQUIRE(res->ok);
    CAF_CHECK_EQUAL(res->columns, (std::vector<std::string>{"a", "b"}));
    CAF_CHECK_EQUAL(res->rows, expected);
    CAF_CHECK_EQUAL(res->row_count, 3u);
  }
  // A lone CR (old Mac files) ends a row too.
  auto cr = parse("a\r1\r2\r");
  CAF_REQUIRE(cr.ok);
  CAF_CHECK_EQUAL(cr.rows, (table{{"1"}, {"2"}}));
  // CRLF split between CR and LF still is one line end.
  auto split = parse_chunks({"a\r", "\n1\r", "\n2\r", "\n"});
  CAF_REQUIRE(split.ok);
  CAF_CHECK_EQUAL(split.rows, (table{{"1"}, {"2"}}));
  // CR and LF inside quotes are data, whichever line ends the file uses.
  auto quoted = parse("a\r\n\"x\r\ny\"\r\n\"p\nq\"\r\n");
  CAF_REQUIRE(quoted.ok);
  CAF_CHECK_EQUAL(quoted.rows, (table{{"x\r\ny"}, {"p\nq"}}));
}

CAF_TEST(the final line end adds no row) {
  for (auto input : {"a,b\n1,2\n", "a,b\n1,2", "a,b\r\n1,2\r\n", "a,b\r\n1,2"}) {
    auto res = parse(input);
    CAF_REQUIRE(res.ok);
    CAF_CHECK_EQUAL(res.rows, (table{{"1", "2"}}));
    CAF_CHECK_EQUAL(res.row_count, 1u);
  }
  // A blank line before the final line end is a (blank) row.
  auto blank_last = parse("a,b\r\n1,2\r\n\r\n");
  CAF_REQUIRE(blank_last.ok);
  CAF_CHECK_EQUAL(blank_last.rows, (table{{"1", "2"}, {"", ""}}));
}

CAF_TEST(blank rows in the middle are kept) {
  auto res = parse("a,b,c\n1,2,3\n\n\n4,5,6\n,,\n7,8,9\n");
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.rows, (table{{"1", "2", "3"},
                                   {"", "", ""},
                                   {"", "", ""},
                                   {"4", "5", "6"},
                                   {"", "", ""},
                                   {"7", "8", "9"}}));
  CAF_CHECK_EQUAL(res.row_count, 6u);
  // Blank lines before the header are skipped but keep sheet row numbers.
  auto lead = parse("\n\r\nid,v\n1,\xFF\n");
  CAF_CHECK(!lead.ok);
  CAF_CHECK_EQUAL(code_of(lead), "invalid_utf8");
  CAF_CHECK_EQUAL(lead.error.text,
                  "invalid UTF-8 in row 4, column \"v\": save the sheet as "
                  "UTF-8");
  CAF_CHECK_EQUAL(lead.columns, (std::vector<std::string>{"id", "v"}));
}

CAF_TEST(cells keep their spaces and stray quotes) {
  auto res = parse("a,b,c\n x , y ,\t\n5\" screen,x\"y\",\"ab\"c\n"
                   "\"\",\"\"\"\",\"a,b\"\n1,\n");
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.rows, (table{{" x ", " y ", "\t"},
                                   {"5\" screen", "x\"y\"", "ab\"c"},
                                   {"", "\"", "a,b"},
                                   {"1", "", ""}}));
  // A trailing comma at the end of input still ends an empty cell.
  auto trailing = parse("a,b,c\n1,");
  CAF_REQUIRE(trailing.ok);
  CAF_CHECK_EQUAL(trailing.rows, (table{{"1", "", ""}}));
  auto header_comma = parse("a,b,");
  CAF_REQUIRE(header_comma.ok);
  CAF_CHECK_EQUAL(header_comma.columns,
                  (std::vector<std::string>{"a", "b", "column_3"}));
  auto long_comma = parse("a\n1,");
  CAF_REQUIRE(long_comma.ok);
  CAF_CHECK_EQUAL(long_comma.rows, (table{{"1", ""}}));
  CAF_CHECK_EQUAL(long_comma.columns,
                  (std::vector<std::string>{"a", "column_2"}));
  // Text after a closing quote does not swallow the rows that follow.
  auto junk = parse("a,b\n\"x\"y,z\n1,2\n");
  CAF_REQUIRE(junk.ok);
  CAF_CHECK_EQUAL(junk.rows, (table{{"x\"y", "z"}, {"1", "2"}}));
}

// -- header -------------------------------------------------------------------

CAF_TEST(header names are made distinct) {
  auto res = parse(",a,A,_row,a,,column_1,a_2\n");
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.columns,
                  (std::vector<std::string>{"column_1", "a", "A_2", "_row_2",
                                            "a_3", "column_6", "column_1_2",
                                            "a_2_2"}));
  auto dups = parse("x,x,x,X\n");
  CAF_REQUIRE(dups.ok);
  CAF_CHECK_EQUAL(dups.columns,
                  (std::vector<std::string>{"x", "x_2", "x_3", "X_4"}));
  auto reserved = parse("_ROW,_row,name\n");
  CAF_REQUIRE(reserved.ok);
  CAF_CHECK_EQUAL(reserved.columns,
                  (std::vector<std::string>{"_ROW_2", "_row_3", "name"}));
  auto empties = parse(",,\n1,2,3\n");
  CAF_REQUIRE(empties.ok);
  CAF_CHECK_EQUAL(empties.columns, (std::vector<std::string>{
                                     "column_1", "column_2", "column_3"}));
  CAF_CHECK_EQUAL(empties.rows, (table{{"1", "2", "3"}}));
  // Non-ASCII names are kept as they are.
  auto utf8 = parse("Straße,Stadt\n");
  CAF_REQUIRE(utf8.ok);
  CAF_CHECK_EQUAL(utf8.columns,
                  (std::vector<std::string>{"Straße", "Stadt"}));
}

CAF_TEST(header only and empty input) {
  for (auto input : {"a,b\n", "a,b", "a,b\r\n", "\xEF\xBB\xBF" "a,b"}) {
    auto res = parse(input);
    CAF_REQUIRE(res.ok);
    CAF_CHECK_EQUAL(res.columns, (std::vector<std::string>{"a", "b"}));
    CAF_CHECK_EQUAL(res.row_count, 0u);
    CAF_CHECK(res.batches.empty());
  }
  for (auto input : {"", "\xEF\xBB\xBF", "\n", "\r\n\r\n", "\n\n\n",
                     "\xEF\xBB\xBF\r\n"}) {
    auto res = parse(input);
    CAF_CHECK(!res.ok);
    CAF_CHECK_EQUAL(code_of(res), "empty_sheet");
    CAF_CHECK_EQUAL(res.error.text, "the sheet is empty: no header row");
    CAF_CHECK(res.batches.empty());
  }
  // No feed at all.
  csv_parser parser;
  CAF_CHECK(!parser.finish());
  CAF_CHECK_EQUAL(to_string(parser.error().code), std::string{"empty_sheet"});
}

// -- ragged rows --------------------------------------------------------------

CAF_TEST(short rows are padded and long rows add columns) {
  auto res = parse("a,b,c\n1\n1,2\n1,2,3,4,5\n9\n");
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.columns, (std::vector<std::string>{
                                 "a", "b", "c", "column_4", "column_5"}));
  CAF_CHECK_EQUAL(res.row_count, 4u);
  // Rows before the growth get the wider header in the same batch.
  CAF_REQUIRE_EQUAL(res.batches.size(), 1u);
  CAF_CHECK_EQUAL(res.batches[0].columns, res.columns);
  CAF_CHECK_EQUAL(res.rows, (table{{"1", "", "", "", ""},
                                   {"1", "2", "", "", ""},
                                   {"1", "2", "3", "4", "5"},
                                   {"9", "", "", "", ""}}));
  // Added names follow the same collision rules.
  auto clash = parse("a,column_3\n1,2,3\n");
  CAF_REQUIRE(clash.ok);
  CAF_CHECK_EQUAL(clash.columns,
                  (std::vector<std::string>{"a", "column_3", "column_3_2"}));
  CAF_CHECK_EQUAL(clash.rows, (table{{"1", "2", "3"}}));
  // A long first data row: no split, no empty batch.
  auto first = parse("a\n1,\"2,x\",3\n4\n");
  CAF_REQUIRE(first.ok);
  CAF_REQUIRE_EQUAL(first.batches.size(), 1u);
  CAF_CHECK_EQUAL(first.columns, (std::vector<std::string>{
                                   "a", "column_2", "column_3"}));
  CAF_CHECK_EQUAL(first.rows, (table{{"1", "2,x", "3"}, {"4", "", ""}}));
}

// -- UTF-8 --------------------------------------------------------------------

CAF_TEST(utf8 validation) {
  // Valid: boundaries of each sequence length.
  for (std::string_view x : {"", "plain ascii text, longer than eight bytes",
                             "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80",
                             "\xED\x9F\xBF", "\xEE\x80\x80", "\xEF\xBF\xBF",
                             "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF",
                             "Zürich €100 😀 ok"})
    CAF_CHECK(valid_utf8(x));
  // Invalid: overlongs, surrogates, above U+10FFFF, truncation, strays.
  for (std::string_view x : {"\x80", "\xBF", "\xC0\x80", "\xC1\xBF",
                             "\xE0\x80\x80", "\xE0\x9F\xBF", "\xED\xA0\x80",
                             "\xED\xBF\xBF", "\xF0\x80\x80\x80",
                             "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80",
                             "\xF5\x80\x80\x80", "\xFF", "\xFE", "\xE2\x82",
                             "\xC3", "\xF0\x9F\x98", "\xC3\x28",
                             "\xE2\x28\xAC", "\xF0\x9F\x28\x80"})
    CAF_CHECK(!valid_utf8(x));
  // A bad byte at every position around the eight-byte fast path.
  for (size_t i = 0; i < 24; ++i) {
    std::string x(24, 'a');
    x[i] = '\xFF';
    CAF_CHECK(!valid_utf8(x));
    x[i] = 'b';
    CAF_CHECK(valid_utf8(x));
  }
}

CAF_TEST(invalid utf8 names row and column) {
  auto res = parse("id,City\n1,Berlin\n2,M\xFCnchen\n3,Paris\n");
  CAF_CHECK(!res.ok);
  CAF_CHECK_EQUAL(code_of(res), "invalid_utf8");
  CAF_CHECK_EQUAL(res.error.text, "invalid UTF-8 in row 3, column \"City\": "
                                  "save the sheet as UTF-8");
  // Sheet rows count rows, not lines: a quoted line break stays in its row.
  auto multiline = parse("a,b\n\"x\ny\",1\n\"q\",\"\xC3\x28\"\n");
  CAF_CHECK(!multiline.ok);
  CAF_CHECK_EQUAL(code_of(multiline), "invalid_utf8");
  CAF_CHECK_EQUAL(multiline.error.text, "invalid UTF-8 in row 3, column "
                                        "\"b\": save the sheet as UTF-8");
  // Each cell must be valid on its own, even if their bytes join up.
  auto joined = parse("a,b\n\xC3,\xA9\n");
  CAF_CHECK(!joined.ok);
  CAF_CHECK(contains(joined.error.text, "row 2, column \"a\""));
  // In a column added by a long row, in the header, in the last cell.
  auto added = parse("a\n1,\xED\xA0\x80\n");
  CAF_CHECK(!added.ok);
  CAF_CHECK(contains(added.error.text, "row 2, column \"column_2\""));
  auto header = parse("a,\xC0\xAF\n1,2\n");
  CAF_CHECK(!header.ok);
  CAF_CHECK_EQUAL(code_of(header), "invalid_utf8");
  CAF_CHECK(contains(header.error.text, "row 1"));
  auto last = parse("a\n\xF4\x90\x80\x80");
  CAF_CHECK(!last.ok);
  CAF_CHECK_EQUAL(code_of(last), "invalid_utf8");
  // Every position in unquoted and quoted cells of many lengths (the
  // parser skips the check for cells it saw to be ASCII, eight bytes at a
  // time).
  size_t missed = 0;
  for (size_t len = 1; len <= 20; ++len) {
    for (size_t i = 0; i < len; ++i) {
      std::string cell(len, 'v');
      cell[i] = '\xE9'; // Latin-1 "é": a lead byte without continuation
      for (auto quote : {"", "\""}) {
        auto bad = parse("k,v\nkey," + std::string{quote} + cell + quote
                         + ",tail\nok,ok\n");
        if (bad.ok || bad.error.text.find("row 2, column \"v\"")
                        == std::string::npos)
          ++missed;
      }
    }
  }
  CAF_CHECK_EQUAL(missed, 0u);
  // A multi-byte character split across feeds is fine.
  auto split = parse_chunks({"a\nZ\xC3", "\xBCrich \xF0\x9F", "\x98\x80\n"});
  CAF_REQUIRE(split.ok);
  CAF_CHECK_EQUAL(split.rows, (table{{"Zürich 😀"}}));
}

CAF_TEST(after an error nothing more happens) {
  csv_parser parser;
  CAF_CHECK(parser.feed("a\n1\n"));
  CAF_CHECK(!parser.feed("\xFF\n2\n"));
  auto error = parser.error();
  CAF_CHECK_EQUAL(to_string(error.code), std::string{"invalid_utf8"});
  CAF_CHECK(!parser.feed("3\n"));
  CAF_CHECK(!parser.finish());
  CAF_CHECK_EQUAL(parser.error().text, error.text);
  CAF_CHECK_EQUAL(parser.rows(), 1u);
  // feed() after finish() is a caller's mistake, reported as such.
  csv_parser done;
  CAF_CHECK(done.feed("a\n1\n"));
  CAF_CHECK(done.finish());
  CAF_CHECK(done.finish());
  CAF_CHECK(!done.feed("2\n"));
  CAF_CHECK_EQUAL(to_string(done.error().code),
                  std::string{"invalid_argument"});
}

// -- quotes -------------------------------------------------------------------

CAF_TEST(unterminated quote names the row where it began) {
  csv_parser parser;
  CAF_CHECK(parser.feed("a,b\n1,2\n3,\"abc\n4,5\n"));
  CAF_CHECK(!parser.finish());
  CAF_CHECK_EQUAL(to_string(parser.error().code), std::string{"invalid_csv"});
  CAF_CHECK_EQUAL(parser.error().text, "unterminated quoted cell in row 3: a "
                                       "quote opens a cell that never closes");
  // In the header, and after a doubled quote (which does not close).
  auto header = parse("\"a,b\n");
  CAF_CHECK(!header.ok);
  CAF_CHECK_EQUAL(code_of(header), "invalid_csv");
  CAF_CHECK(contains(header.error.text, "row 1"));
  auto doubled = parse("a\n1\n\"x\"\"");
  CAF_CHECK(!doubled.ok);
  CAF_CHECK_EQUAL(code_of(doubled), "invalid_csv");
  CAF_CHECK(contains(doubled.error.text, "row 3"));
  // A closed quote right at the end is fine.
  auto closed = parse("a\n\"x\"\"\"");
  CAF_REQUIRE(closed.ok);
  CAF_CHECK_EQUAL(closed.rows, (table{{"x\""}}));
}

CAF_TEST(any split gives the same result as one feed) {
  std::string input = "name,note,city\r\n"
                      "\"Smith, J\",\"said \"\"hi\"\",\r\nthen left\",Zürich\r\n"
                      "plain,,\"\"\r\n"
                      "\r\n"
                      "\"\"\"\",x\r\n";
  table expected{{"Smith, J", "said \"hi\",\r\nthen left", "Zürich"},
                 {"plain", "", ""},
                 {"", "", ""},
                 {"\"", "x", ""}};
  std::vector<std::string> columns{"name", "note", "city"};
  auto whole = parse(input);
  CAF_REQUIRE(whole.ok);
  CAF_CHECK_EQUAL(whole.columns, columns);
  CAF_CHECK_EQUAL(whole.rows, expected);
  std::string_view in{input};
  size_t mismatches = 0;
  for (size_t i = 0; i <= in.size(); ++i) {
    for (size_t j = i; j <= in.size(); ++j) {
      auto res = parse_chunks({in.substr(0, i), in.substr(i, j - i),
                               in.substr(j)});
      if (!res.ok || res.columns != columns || res.batches != whole.batches) {
        ++mismatches;
        CAF_MESSAGE("split at " + std::to_string(i) + " and "
                    + std::to_string(j) + " differs");
      }
    }
  }
  CAF_CHECK_EQUAL(mismatches, 0u);
  auto bytewise = parse_bytewise(input);
  CAF_REQUIRE(bytewise.ok);
  CAF_CHECK_EQUAL(bytewise.rows, expected);
  CAF_CHECK(bytewise.batches == whole.batches);
  CAF_CHECK_EQUAL(bytewise.bytes, input.size());
}

CAF_TEST(long cells across feeds) {
  // Longer than the parser's internal copy step (64 KiB), quoted and not.
  std::string big(200000, 'x');
  for (size_t i = 0; i < big.size(); i += 1000)
    big[i] = 'y';
  std::string quoted_big = big;
  quoted_big[5000] = ',';
  quoted_big[70000] = '\n';
  auto input = "a,b\n" + big + ",\"" + quoted_big + "\"\n1,2\n";
  table expected{{big, quoted_big}, {"1", "2"}};
  for (size_t chunk : {size_t{1000}, size_t{65536}, size_t{99999}, input.size()}) {
    std::vector<std::string_view> chunks;
    for (size_t off = 0; off < input.size(); off += chunk)
      chunks.push_back(std::string_view{input}.substr(off, chunk));
    auto res = parse_chunks(chunks);
    CAF_REQUIRE(res.ok);
    CAF_CHECK(res.rows == expected);
  }
}

CAF_TEST(random tables round trip) {
  // Tables from an alphabet full of special bytes, written by write_csv(),
  // parsed in random chunks: what comes out must be what went in.
  std::mt19937 rng{20240601};
  const std::vector<std::string> pieces{"a", "Z", " ", ",", "\"", "\r", "\n",
                                        "\r\n", "é", "€", "😀", "\t", "x\"y"};
  for (int round = 0; round < 200; ++round) {
    auto width = 1 + rng() % 5;
    table rows;
    row header;
    for (size_t c = 0; c < width; ++c)
      header.push_back("col" + std::to_string(c));
    rows.push_back(header);
    auto height = rng() % 30;
    for (size_t r = 0; r < height; ++r) {
      row cells;
      for (size_t c = 0; c < width; ++c) {
        std::string cell;
        for (auto n = rng() % 5; n > 0; --n)
          cell += pieces[rng() % pieces.size()];
        cells.push_back(std::move(cell));
      }
      rows.push_back(std::move(cells));
    }
    auto input = write_csv(rows, rng() % 2 ? "\r\n" : "\n");
    std::vector<std::string_view> chunks;
    for (size_t off = 0; off < input.size();) {
      auto len = 1 + rng() % 16;
      chunks.push_back(std::string_view{input}.substr(off, len));
      off += len;
    }
    auto batch_rows = 1 + rng() % 8;
    auto res = parse_chunks(chunks, batch_rows);
    CAF_REQUIRE(res.ok);
    CAF_CHECK_EQUAL(res.columns, header);
    CAF_CHECK_EQUAL(res.rows, table(rows.begin() + 1, rows.end()));
    CAF_CHECK_EQUAL(res.bytes, input.size());
  }
}

// -- batches ------------------------------------------------------------------

CAF_TEST(batches respect batch_rows and first_row) {
  std::string input = "n\n";
  for (int i = 1; i <= 7; ++i)
    input += std::to_string(i) + "\n";
  auto res = parse(input, 3);
  CAF_REQUIRE(res.ok);
  CAF_REQUIRE_EQUAL(res.batches.size(), 3u);
  CAF_CHECK_EQUAL(res.batches[0].rows(), 3u);
  CAF_CHECK_EQUAL(res.batches[1].rows(), 3u);
  CAF_CHECK_EQUAL(res.batches[2].rows(), 1u);
  CAF_CHECK_EQUAL(res.batches[0].first_row, 1u);
  CAF_CHECK_EQUAL(res.batches[1].first_row, 4u);
  CAF_CHECK_EQUAL(res.batches[2].first_row, 7u);
  CAF_CHECK_EQUAL(std::string{res.batches[2].cell(0, 0)}, "7");
  // While feeding, only full batches come out; the rest after finish().
  csv_parser parser{3};
  CAF_CHECK(parser.feed("n\n1\n2\n"));
  CAF_CHECK(parser.take_batches().empty());
  CAF_CHECK(parser.feed("3\n4"));
  auto full = parser.take_batches();
  CAF_REQUIRE_EQUAL(full.size(), 1u);
  CAF_CHECK_EQUAL(full[0].rows(), 3u);
  CAF_CHECK_EQUAL(parser.rows(), 3u);
  CAF_CHECK(parser.take_batches().empty());
  CAF_CHECK(parser.finish());
  CAF_CHECK_EQUAL(parser.rows(), 4u);
  auto rest = parser.take_batches();
  CAF_REQUIRE_EQUAL(rest.size(), 1u);
  CAF_CHECK_EQUAL(rest[0].first_row, 4u);
  CAF_CHECK_EQUAL(std::string{rest[0].cell(0, 0)}, "4");
  CAF_CHECK(parser.take_batches().empty());
}

CAF_TEST(header growth widens the batch or starts one past the budget) {
  std::string input = "a,b\n1,2\n3,4\n5,6,\"7,x\"\n8\n9,9,9,9\n10\n";
  auto res = parse(input, 4);
  CAF_REQUIRE(res.ok);
  CAF_REQUIRE_EQUAL(res.batches.size(), 2u);
  auto& b0 = res.batches[0];
  auto& b1 = res.batches[1];
  // The rows before the growth are padded to the header the batch closed
  // with.
  CAF_CHECK_EQUAL(b0.columns,
                  (std::vector<std::string>{"a", "b", "column_3"}));
  CAF_CHECK_EQUAL(b0.first_row, 1u);
  CAF_CHECK_EQUAL(b0.rows(), 4u);
  CAF_CHECK_EQUAL(b1.columns, (std::vector<std::string>{
                                "a", "b", "column_3", "column_4"}));
  CAF_CHECK_EQUAL(b1.first_row, 5u);
  CAF_CHECK_EQUAL(b1.rows(), 2u);
  CAF_CHECK_EQUAL(res.rows, (table{{"1", "2", ""},
                                   {"3", "4", ""},
                                   {"5", "6", "7,x"},
                                   {"8", "", ""},
                                   {"9", "9", "9", "9"},
                                   {"10", "", "", ""}}));
  // Several growths in one batch, at several rows.
  auto steps = parse("a\n1\n2,2\n3\n4,4,4\n5,5,5,5\n");
  CAF_REQUIRE(steps.ok);
  CAF_REQUIRE_EQUAL(steps.batches.size(), 1u);
  CAF_CHECK_EQUAL(steps.rows, (table{{"1", "", "", ""},
                                     {"2", "2", "", ""},
                                     {"3", "", "", ""},
                                     {"4", "4", "4", ""},
                                     {"5", "5", "5", "5"}}));
  // Widening three one-cell rows would take the batch past a budget of 24
  // bytes (3 rows * 2 cells * 4 bytes, plus their data): the growing row
  // starts a new batch and the rows before keep the narrower header.
  std::string tight = "a\n1\n2\n3\n4,5\n6\n";
  auto split = parse_chunks({tight}, 4096, 24);
  CAF_REQUIRE(split.ok);
  CAF_REQUIRE_EQUAL(split.batches.size(), 2u);
  CAF_CHECK_EQUAL(split.batches[0].columns, (std::vector<std::string>{"a"}));
  CAF_CHECK_EQUAL(split.batches[0].rows(), 3u);
  CAF_CHECK_EQUAL(split.batches[1].columns,
                  (std::vector<std::string>{"a", "column_2"}));
  CAF_CHECK_EQUAL(split.batches[1].first_row, 4u);
  CAF_CHECK_EQUAL(split.rows, (table{{"1"}, {"2"}, {"3"}, {"4", "5"},
                                     {"6", ""}}));
  // Any split of the input gives the same batches.
  for (size_t i = 0; i <= input.size(); ++i) {
    auto two = parse_chunks({std::string_view{input}.substr(0, i),
                             std::string_view{input}.substr(i)},
                            4);
    CAF_REQUIRE(two.ok);
    CAF_CHECK(two.batches == res.batches);
  }
  for (size_t i = 0; i <= tight.size(); ++i) {
    auto two = parse_chunks({std::string_view{tight}.substr(0, i),
                             std::string_view{tight}.substr(i)},
                            4096, 24);
    CAF_REQUIRE(two.ok);
    CAF_CHECK(two.batches == split.batches);
  }
}

// -- work and memory on hostile sheets ------------------------------------------

// Work is asserted as bytes allocated, not as time (meaningless on a loaded
// machine): these replacements count every allocation of the test binary, and
// parse_cost() reads the count around one parse. All forms that pair with
// free() are replaced, so that sanitizers see malloc/free throughout.
namespace {

std::atomic<uint64_t> allocated_bytes{0};

void* counted_malloc(std::size_t n) noexcept {
  allocated_bytes.fetch_add(n, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}

void* counted_new(std::size_t n) {
  if (auto p = counted_malloc(n))
    return p;
  throw std::bad_alloc{};
}

} // namespace

void* operator new(std::size_t n) {
  return counted_new(n);
}

void* operator new[](std::size_t n) {
  return counted_new(n);
}

void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return counted_malloc(n);
}

void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return counted_malloc(n);
}

void operator delete(void* p) noexcept {
  std::free(p);
}

void operator delete[](void* p) noexcept {
  std::free(p);
}

void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace {

/// What one parse cost and made; the batches themselves are dropped at once.
struct cost {
  bool ok = false;
  failure error;
  /// Bytes the parser allocated, its batches included.
  uint64_t allocated = 0;
  /// Cells the batches hold, padding included.
  uint64_t cells = 0;
  uint64_t rows = 0;
  size_t batches = 0;
  /// Most bytes a batch held: its data and 4-byte cell ends.
  size_t max_batch_bytes = 0;
  /// Most bytes a batch held before its last row (which closes it).
  size_t max_before_last_row = 0;
};

/// Parses `input` fed in 256 KiB chunks (as downloaded) and counts.
cost parse_cost(std::string_view input, size_t batch_rows = 4096,
                size_t batch_bytes = csv_parser::default_batch_bytes) {
  cost res;
  auto before = allocated_bytes.load();
  {
    csv_parser parser{batch_rows, batch_bytes};
    auto collect = [&] {
      for (auto& b : parser.take_batches()) {
        res.cells += b.ends.size();
        res.rows += b.rows();
        ++res.batches;
        auto bytes = b.data.size() + sizeof(uint32_t) * b.ends.size();
        res.max_batch_bytes = std::max(res.max_batch_bytes, bytes);
        auto width = b.columns.size();
        auto last_begin = b.ends.size() > width ? b.ends[b.ends.size() - width - 1]
                                                : 0u;
        auto last_row = b.data.size() - last_begin + sizeof(uint32_t) * width;
        res.max_before_last_row = std::max(res.max_before_last_row,
                                           bytes - last_row);
      }
    };
    constexpr size_t chunk = 256 * 1024;
    res.ok = true;
    for (size_t i = 0; i < input.size() && res.ok; i += chunk) {
      res.ok = parser.feed(input.substr(i, chunk));
      collect();
    }
    if (res.ok)
      res.ok = parser.finish();
    collect();
    res.error = parser.error();
  }
  res.allocated = allocated_bytes.load() - before;
  return res;
}

/// `a,b`, one row of `commas` commas, then `tail` rows `1,2`: with 300,000
/// commas, the sheet that wedged a sync for minutes (issue 10).
std::string wide_row_sheet(size_t commas, size_t tail) {
  std::string out = "a,b\n" + std::string(commas, ',') + "\n";
  for (size_t i = 0; i < tail; ++i)
    out += "1,2\n";
  return out;
}

/// `a,b,c`, then `rows` rows, each three cells longer than the one before.
std::string growing_sheet(size_t rows) {
  std::string out = "a,b,c\n";
  for (size_t r = 1; r <= rows; ++r) {
    out += 'x';
    for (size_t c = 1; c < 3 * (r + 1); ++c)
      out += ",x";
    out += '\n';
  }
  return out;
}

constexpr uint64_t mib = uint64_t{1} << 20;

} // namespace

CAF_TEST(a row past the column limit fails at once naming row and limit) {
  constexpr auto n = csv_parser::max_columns;
  CAF_REQUIRE_EQUAL(n, 1999u);
  // At the limit: fine.
  auto at = parse_cost(std::string(n - 1, ',') + "\n" + std::string(n - 1, ',')
                       + "\n");
  CAF_CHECK(at.ok);
  CAF_CHECK_EQUAL(at.rows, 1u);
  CAF_CHECK_EQUAL(at.cells, n);
  // A header one cell over.
  auto header = parse(std::string(n, ',') + "\n1\n");
  CAF_CHECK(!header.ok);
  CAF_CHECK_EQUAL(code_of(header), "too_large");
  CAF_CHECK_EQUAL(header.error.text,
                  "row 1 (the header) has more than 1999 cells: a sheet may "
                  "have at most 1999 columns");
  // A data row after blank lines and rows: its sheet row is named.
  auto data = parse("\n\na,b\n1,2\n" + std::string(n, ',') + "\n3,4\n");
  CAF_CHECK(!data.ok);
  CAF_CHECK_EQUAL(code_of(data), "too_large");
  CAF_CHECK_EQUAL(data.error.text,
                  "row 5 has more than 1999 cells: a sheet may have at most "
                  "1999 columns");
  // The sheets of issue 10 fail within the offending row, before the rest
  // costs anything: 300,000 commas in row 2; rows growing by three cells
  // cross the limit in sheet row 667 (3 * 667 = 2001 cells).
  auto wide = parse_cost(wide_row_sheet(300000, 4000));
  CAF_CHECK(!wide.ok);
  CAF_CHECK(contains(wide.error.text, "row 2 has more than 1999 cells"));
  CAF_CHECK_EQUAL(wide.rows, 0u);
  CAF_CHECK_LESS(wide.allocated, 4 * mib);
  auto growing = parse_cost(growing_sheet(1000));
  CAF_CHECK(!growing.ok);
  CAF_CHECK(contains(growing.error.text, "row 667 has more than 1999 cells"));
}

CAF_TEST(wide and growing rows cost work linear in their cells) {
  // Allowed per cell a batch holds: its name in the batch's one copy of the
  // header (32 bytes), its 4-byte end and buffer growth. A copy of the header
  // per added column (the old grow_row) costs 16 * width^2 bytes: ~60 MiB
  // for the wide row, ~2.5 GiB with the per-batch reserve for the growing.
  constexpr uint64_t per_cell = 96;
  auto wide = parse_cost(wide_row_sheet(1990, 100));
  CAF_REQUIRE(wide.ok);
  CAF_CHECK_EQUAL(wide.rows, 101u);
  CAF_CHECK_EQUAL(wide.cells, 101u * 1991);
  CAF_MESSAGE("wide row: " << wide.allocated << " bytes allocated for "
                           << wide.cells << " cells");
  CAF_CHECK_LESS(wide.allocated, mib + per_cell * wide.cells);
  auto growing = parse_cost(growing_sheet(600));
  CAF_REQUIRE(growing.ok);
  CAF_CHECK_EQUAL(growing.rows, 600u);
  CAF_MESSAGE("growing rows: " << growing.allocated << " bytes allocated for "
                               << growing.cells << " cells");
  CAF_CHECK_LESS(growing.allocated, mib + per_cell * growing.cells);
}

CAF_TEST(batches close at a byte budget that counts padding) {
  // 1999 columns, then rows of one cell: each row is padded to 8 KB of ends.
  std::string input = "c1";
  for (size_t c = 2; c <= csv_parser::max_columns; ++c)
    input += ",c" + std::to_string(c);
  input += '\n';
  for (int r = 0; r < 5000; ++r)
    input += "1\n";
  // A batch closes with the row that reaches the budget.
  auto padded = parse_cost(input);
  CAF_REQUIRE(padded.ok);
  CAF_CHECK_EQUAL(padded.rows, 5000u);
  CAF_CHECK_LESS(padded.max_before_last_row, csv_parser::default_batch_bytes);
  CAF_CHECK_GREATER(padded.batches, 1u);
  // A small budget: 17 bytes a row (9 of data, 2 ends), a batch every 61
  // rows; a row larger than the budget still fits in one, as its last.
  std::string rows = "a,b\n";
  for (int r = 0; r < 200; ++r)
    rows += "12345678,x\n";
  rows += "1," + std::string(100000, 'y') + "\n3,4\n";
  auto small = parse_cost(rows, 4096, 1024);
  CAF_REQUIRE(small.ok);
  CAF_CHECK_EQUAL(small.rows, 202u);
  CAF_CHECK_LESS(small.max_before_last_row, 1024u);
  CAF_CHECK_GREATER(small.max_batch_bytes, 100000u);
  CAF_CHECK_EQUAL(small.batches, 5u);
}

CAF_TEST(feed_some stops after each batch and resumes where it stopped) {
  std::string input = "a,b\n1,2\n3,4\n5,6,\"7,x\"\n8\n9,9,9,9\n10\n";
  auto whole = parse(input, 2);
  CAF_REQUIRE(whole.ok);
  csv_parser parser{2};
  std::vector<row_batch> got;
  std::string_view rest{input};
  while (!rest.empty()) {
    auto n = parser.feed_some(rest);
    CAF_REQUIRE(!parser.error());
    auto batches = parser.take_batches();
    CAF_CHECK_LESS_OR_EQUAL(batches.size(), 1u);
    // Consumed all, or stopped because a batch closed.
    CAF_CHECK(n == rest.size() || batches.size() == 1);
    rest.remove_prefix(n);
    for (auto& b : batches)
      got.push_back(std::move(b));
  }
  CAF_CHECK(parser.finish());
  for (auto& b : parser.take_batches())
    got.push_back(std::move(b));
  CAF_CHECK(got == whole.batches);
  CAF_CHECK_EQUAL(parser.bytes_consumed(), input.size());
}

CAF_TEST(parser store and hash share one column naming rule) {
  // NUL bytes would cut the SQL text: the parser's names already have '_',
  // so the header it reports is the table's.
  const char nul_sheet[] = "a\0b,a_b,\0\n1\n";
  auto nul = parse(std::string(nul_sheet, sizeof nul_sheet - 1));
  CAF_REQUIRE(nul.ok);
  CAF_CHECK_EQUAL(nul.columns,
                  (std::vector<std::string>{"a_b", "a_b_2", "_"}));
  // Random headers from colliding pieces: the parser names them as
  // column_names() does, and names the rule made come out unchanged (the
  // store and the hash apply it again to the parser's header).
  const std::vector<std::string> pieces{"a", "A", "a_2", "_row", "_ROW", "",
                                        "column_1", "column_3", "x", "x_2_2",
                                        std::string("a\0", 2), "a_"};
  std::minstd_rand rng{20261202};
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> header;
    auto width = 1 + rng() % 12;
    std::string line;
    for (size_t c = 0; c < width; ++c) {
      header.push_back(pieces[rng() % pieces.size()]);
      line += (c > 0 ? "," : "") + header.back();
    }
    if (line.empty())
      continue; // a blank line, not a header
    auto res = parse(line + "\n");
    CAF_REQUIRE(res.ok);
    auto names = column_names(header);
    CAF_CHECK_EQUAL(res.columns, names);
    CAF_CHECK_EQUAL(column_names(names), names);
    // The hash covers the table's names, whatever names it is given.
    content_hasher hasher;
    CAF_CHECK_EQUAL(hasher.digest(header), hasher.digest(names));
  }
}
