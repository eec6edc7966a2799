// Fuzz target: the streaming CSV parser (parse/csv_parser).
//
// Parses the input twice, in one piece with feed() and in small uneven pieces
// with feed_some() and tiny batches, and checks: every batch is rectangular (its row width is its
// column count) and consistent (ends ascending up to the data's size, rows
// numbered on from the previous batch, its columns a prefix of the final
// header); the final header's names are non-empty and distinct ignoring case;
// every cell is valid UTF-8; the row count adds up; and both parses agree on
// the outcome, the error and every cell.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "fuzz/check.hpp"
#include "parse/csv_parser.hpp"

using namespace sheetsync;

namespace {

struct outcome {
  bool ok = false;
  failure error;
  std::vector<std::string> columns;
  uint64_t rows = 0;
  /// Every row's cells, padded to the final header's width.
  std::vector<std::vector<std::string>> table;
};

std::string lower(std::string_view str) {
  std::string out{str};
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

void check_batch(const row_batch& b, uint64_t expected_first_row,
                 const std::vector<std::string>& final_columns) {
  FUZZ_CHECK(!b.columns.empty(), "a batch without columns");
  FUZZ_CHECK(b.ends.size() % b.columns.size() == 0,
             std::to_string(b.ends.size()) + " cells for "
               + std::to_string(b.columns.size()) + " columns");
  FUZZ_CHECK(b.rows() > 0, "an empty batch");
  FUZZ_CHECK(b.first_row == expected_first_row,
             std::to_string(b.first_row) + " instead of "
               + std::to_string(expected_first_row));
  FUZZ_CHECK(b.columns.size() <= final_columns.size(), "");
  for (size_t i = 0; i < b.columns.size(); ++i)
    FUZZ_CHECK(b.columns[i] == final_columns[i], b.columns[i]);
  uint32_t prev = 0;
  for (auto end : b.ends) {
    FUZZ_CHECK(prev <= end, "cell ends go backwards");
    prev = end;
  }
  FUZZ_CHECK(prev == b.data.size(), "data past the last cell");
}

outcome parse(std::string_view input, bool split) {
  outcome out;
  // In pieces: batches of at most 2 rows or 64 bytes.
  csv_parser parser{split ? size_t{2} : size_t{4096},
                    split ? size_t{64} : csv_parser::default_batch_bytes};
  std::vector<row_batch> batches;
  auto collect = [&] {
    for (auto& b : parser.take_batches())
      batches.push_back(std::move(b));
  };
  out.ok = true;
  if (!split) {
    out.ok = parser.feed(input);
    collect();
  } else {
    // feed_some() as the parse actor calls it: at most one batch per call.
    fuzz::splitter pieces{input.size()};
    for (size_t pos = 0; pos < input.size() && out.ok;) {
      auto chunk = input.substr(pos, std::min(pieces.next(), input.size() - pos));
      bool stalled = false;
      while (!chunk.empty() && out.ok) {
        auto used = parser.feed_some(chunk);
        FUZZ_CHECK(used <= chunk.size(), "feed_some() used more than given");
        out.ok = !parser.error();
        auto had = batches.size();
        collect();
        // A call may stop before its first byte when that byte's row moved
        // to a new batch (closing one), but the next call must move on.
        if (out.ok && used == 0) {
          FUZZ_CHECK(batches.size() > had, "feed_some() used nothing, closed nothing");
          FUZZ_CHECK(!stalled, "feed_some() used nothing twice in a row");
        }
        stalled = used == 0;
        chunk.remove_prefix(used);
        pos += used;
      }
    }
  }
  if (out.ok)
    out.ok = parser.finish();
  else
    FUZZ_CHECK(!parser.finish(), "finish() succeeded after a failed feed()");
  collect();
  out.error = parser.error();
  out.columns = parser.columns();
  out.rows = parser.rows();
  FUZZ_CHECK(out.ok == !out.error, out.error.text);
  if (!out.ok) {
    FUZZ_CHECK(!out.error.text.empty(), "a failure without a message");
    return out;
  }
  // The header: non-empty names, distinct ignoring case, never "_row".
  std::unordered_set<std::string> seen{"_row"};
  for (auto& name : out.columns) {
    FUZZ_CHECK(!name.empty(), "an empty column name");
    FUZZ_CHECK(seen.insert(lower(name)).second, "column name twice: " + name);
    FUZZ_CHECK(valid_utf8(name), "column name not UTF-8");
  }
  uint64_t next_row = 1;
  for (auto& b : batches) {
    check_batch(b, next_row, out.columns);
    next_row += b.rows();
    for (size_t r = 0; r < b.rows(); ++r) {
      auto& row = out.table.emplace_back();
      for (size_t c = 0; c < out.columns.size(); ++c) {
        auto cell = c < b.columns.size() ? b.cell(r, c) : std::string_view{};
        FUZZ_CHECK(valid_utf8(cell), "a cell is not UTF-8");
        row.emplace_back(cell);
      }
    }
  }
  FUZZ_CHECK(next_row - 1 == out.rows,
             std::to_string(next_row - 1) + " rows in batches, rows() says "
               + std::to_string(out.rows));
  FUZZ_CHECK(parser.bytes_consumed() == input.size(), "bytes_consumed()");
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::guarded(data, size, [](std::string_view input) {
    auto whole = parse(input, false);
    auto pieces = parse(input, true);
    FUZZ_CHECK(whole.ok == pieces.ok, "one piece: " + whole.error.text
                                        + "; in pieces: " + pieces.error.text);
    FUZZ_CHECK(whole.error.code == pieces.error.code
                 && whole.error.text == pieces.error.text,
               "one piece: " + whole.error.text + "; in pieces: "
                 + pieces.error.text);
    FUZZ_CHECK(whole.columns == pieces.columns, "headers differ");
    FUZZ_CHECK(whole.rows == pieces.rows, "row counts differ");
    FUZZ_CHECK(whole.table == pieces.table, "cells differ");
  });
}
