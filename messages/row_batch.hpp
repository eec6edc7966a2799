#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace sheetsync {

/// A run of parsed rows, flat so that a batch of thousands of rows costs three
/// allocations instead of one per cell.
struct row_batch {
  /// The header as of this batch; it only grows (extra cells add columns).
  std::vector<std::string> columns;
  /// All cells of all rows back to back.
  std::string data;
  /// End offset in `data` of every cell, row-major, columns.size() per row
  /// (short rows are padded with empty cells).
  std::vector<uint32_t> ends;
  /// 1-based row number (in data rows, header excluded) of the first row.
  uint64_t first_row = 1;

  size_t rows() const {
    return columns.empty() ? 0 : ends.size() / columns.size();
  }

  std::string_view cell(size_t row, size_t col) const {
    auto i = row * columns.size() + col;
    auto begin = i == 0 ? 0u : ends[i - 1];
    return std::string_view{data}.substr(begin, ends[i] - begin);
  }

  friend bool operator==(const row_batch& x, const row_batch& y) {
    return x.columns == y.columns && x.data == y.data && x.ends == y.ends
           && x.first_row == y.first_row;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, row_batch& x) {
  return f(caf::meta::type_name("row_batch"), x.columns, x.data, x.ends,
           x.first_row);
}

} // namespace sheetsync
