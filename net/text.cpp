#include "net/text.hpp"

#include <limits>

#include "net/redact.hpp"

namespace sheetsync {

namespace {

char lower_char(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Longest location shown; a longer one is cut (an id or URL that long is
/// garbage, and a message must stay readable).
constexpr size_t max_shown = 120;

} // namespace

std::string lower(std::string_view str) {
  std::string out{str};
  for (auto& c : out)
    c = lower_char(c);
  return out;
}

bool equals_ignore_case(std::string_view x, std::string_view y) {
  return x.size() == y.size() && starts_with_ignore_case(x, y);
}

bool starts_with_ignore_case(std::string_view str, std::string_view prefix) {
  if (str.size() < prefix.size())
    return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (lower_char(str[i]) != lower_char(prefix[i]))
      return false;
  return true;
}

bool all_digits(std::string_view str) {
  if (str.empty())
    return false;
  for (auto c : str)
    if (c < '0' || c > '9')
      return false;
  return true;
}

bool parse_saturated(std::string_view str, uint64_t& out) {
  if (!all_digits(str))
    return false;
  constexpr auto max = std::numeric_limits<uint64_t>::max();
  uint64_t result = 0;
  for (auto c : str) {
    auto digit = static_cast<uint64_t>(c - '0');
    if (result > (max - digit) / 10) {
      out = max;
      return true;
    }
    result = result * 10 + digit;
  }
  out = result;
  return true;
}

std::string shown_location(std::string_view location) {
  // redact_url also drops a "user:password@" without a scheme.
  auto str = redact_url(std::string{location});
  if (location.find("://") == std::string_view::npos) {
    if (auto cut = str.find_first_of("?#&="); cut != std::string::npos)
      str = str.substr(0, cut) + "***";
  }
  if (str.size() > max_shown)
    str = str.substr(0, max_shown - 3) + "...";
  return str;
}

} // namespace sheetsync
