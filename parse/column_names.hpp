#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace sheetsync {

/// The cache's column-naming rule, the one implementation of it: the parser
/// names columns with it as the header grows, the store makes SQL column names
/// with it and the content hash hashes its names, so the three always agree.
///
/// A header cell becomes a name with NUL bytes made '_' (they would cut SQL
/// text); an empty cell becomes `column_<n>` (1-based position); a name that
/// collides with an earlier one or with the cache's `_row` (ignoring ASCII
/// case, as SQLite compares column names) gets the first free `_2`, `_3`, ...
/// Each name depends only on the cells before it, so a grown header keeps its
/// old names, and names the rule made come out of it unchanged.
class column_namer {
public:
  column_namer();

  /// Names the next column after its header cell; amortised O(1) per call
  /// besides the name's length.
  const std::string& add(std::string_view cell);

  /// The names so far, in header order.
  const std::vector<std::string>& names() const {
    return names_;
  }

private:
  std::vector<std::string> names_;
  /// Lower-cased names in use, plus `_row`.
  std::unordered_set<std::string> taken_;
  /// Per lower-cased name, the suffix to try first on its next rename: all
  /// lower ones are taken, and names are never released.
  std::unordered_map<std::string, size_t> next_suffix_;
};

/// The names column_namer gives `header`, cell by cell.
std::vector<std::string> column_names(const std::vector<std::string>& header);

} // namespace sheetsync
