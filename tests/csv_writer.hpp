#pragma once

// An independent CSV writer for the suites that check a parser or an export
// against known contents (csv_parser, sheet_values): RFC 4180, quoting only
// the cells that need it.

#include <string>
#include <vector>

namespace sheetsync::test {

/// `cells` as one CSV line, without its line end.
inline std::string csv_line(const std::vector<std::string>& cells) {
  std::string out;
  for (size_t c = 0; c < cells.size(); ++c) {
    if (c > 0)
      out += ',';
    auto& cell = cells[c];
    if (cell.find_first_of(",\"\r\n") == std::string::npos) {
      out += cell;
      continue;
    }
    out += '"';
    for (auto ch : cell) {
      if (ch == '"')
        out += '"';
      out += ch;
    }
    out += '"';
  }
  return out;
}

} // namespace sheetsync::test
