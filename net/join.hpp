#pragma once

#include <string>
#include <vector>

namespace sheetsync {

/// The elements of `xs` separated by `sep` ("a, b, c"; "" for none). No
/// separator follows an empty start: {"", "b"} gives "b".
inline std::string join(const std::vector<std::string>& xs,
                        const char* sep = ", ") {
  std::string result;
  for (auto& x : xs) {
    if (!result.empty())
      result += sep;
    result += x;
  }
  return result;
}

} // namespace sheetsync
