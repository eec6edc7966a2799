#pragma once

// A row batch back as rows of cells, for the suites that compare what a
// parser or a pipeline made with the rows they expect.

#include <string>
#include <vector>

#include "messages/row_batch.hpp"

namespace sheetsync::test {

/// Appends the rows of `b`, each a vector of its cells, to `out`.
inline void append_rows(const row_batch& b,
                        std::vector<std::vector<std::string>>& out) {
  for (size_t r = 0; r < b.rows(); ++r) {
    std::vector<std::string> cells;
    for (size_t c = 0; c < b.columns.size(); ++c)
      cells.emplace_back(b.cell(r, c));
    out.push_back(std::move(cells));
  }
}

} // namespace sheetsync::test
