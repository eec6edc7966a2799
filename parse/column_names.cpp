#include "parse/column_names.hpp"

#include <algorithm>
#include <utility>

#include "net/text.hpp"

namespace sheetsync {

column_namer::column_namer() {
  taken_.insert("_row");
}

const std::string& column_namer::add(std::string_view cell) {
  std::string name{cell};
  std::replace(name.begin(), name.end(), '\0', '_');
  if (name.empty())
    name = "column_" + std::to_string(names_.size() + 1);
  auto key = lower(name);
  if (taken_.count(key) > 0) {
    auto& next = next_suffix_[key];
    for (auto n = std::max(next, size_t{2});; ++n) {
      auto candidate = name + '_' + std::to_string(n);
      auto candidate_key = lower(candidate);
      if (taken_.count(candidate_key) == 0) {
        next = n + 1;
        name = std::move(candidate);
        key = std::move(candidate_key);
        break;
      }
    }
  }
  taken_.insert(std::move(key));
  names_.push_back(std::move(name));
  return names_.back();
}

std::vector<std::string> column_names(const std::vector<std::string>& header) {
  column_namer namer;
  for (auto& cell : header)
    namer.add(cell);
  return namer.names();
}

} // namespace sheetsync
