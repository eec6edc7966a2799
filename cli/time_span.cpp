#include "cli/time_span.hpp"

#include <cctype>
#include <cstdint>
#include <limits>

namespace sheetsync {

namespace {

struct unit {
  std::string_view name;
  uint64_t nanoseconds;
};

// The units of caf::detail::parser::read_timespan.
constexpr unit units[] = {
  {"ns", 1},
  {"us", 1'000},
  {"ms", 1'000'000},
  {"min", 60'000'000'000},
  {"s", 1'000'000'000},
  {"h", 3'600'000'000'000},
};

struct span {
  /// Where the token ends.
  size_t end = 0;
  /// The integer's magnitude, saturated.
  uint64_t magnitude = 0;
  /// Null when no unit follows the integer.
  const unit* u = nullptr;
};

int digit_value(char c, int base) {
  int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
          : std::isxdigit(static_cast<unsigned char>(c))
            ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
            : 99;
  return d < base ? d : -1;
}

/// Reads an integer as CAF's read_number does (sign; 0x hex, 0b binary,
/// leading 0 octal, else decimal) at text[i], then a unit if one follows.
span read_span(std::string_view text, size_t i) {
  span result;
  if (i < text.size() && (text[i] == '+' || text[i] == '-'))
    ++i;
  int base = 10;
  if (i + 1 < text.size() && text[i] == '0') {
    auto c = std::tolower(static_cast<unsigned char>(text[i + 1]));
    if (c == 'x' || c == 'b') {
      base = c == 'x' ? 16 : 2;
      i += 2;
    } else {
      base = 8;
    }
  }
  constexpr auto max = std::numeric_limits<uint64_t>::max();
  for (int d; i < text.size() && (d = digit_value(text[i], base)) >= 0; ++i)
    result.magnitude = result.magnitude > (max - d) / base
                         ? max
                         : result.magnitude * base + d;
  result.end = i;
  for (auto& u : units)
    if (text.substr(i, u.name.size()) == u.name) {
      result.u = &u;
      result.end = i + u.name.size();
      break;
    }
  return result;
}

std::string why_too_long(const span& s) {
  constexpr auto limit =
    static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (s.u == nullptr || s.magnitude <= limit / s.u->nanoseconds)
    return {};
  return "a time span must be at most " + std::to_string(limit / s.u->nanoseconds)
         + std::string{s.u->name} + " (about 292 years)";
}

bool starts_number(std::string_view text, size_t i) {
  auto digit = [&](size_t j) {
    return j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]));
  };
  return digit(i) || ((text[i] == '+' || text[i] == '-') && digit(i + 1));
}

/// Whether text[i] continues a word or a number (a key, "1.5", "a-1h").
bool inside_word(std::string_view text, size_t i) {
  if (i == 0)
    return false;
  auto c = static_cast<unsigned char>(text[i - 1]);
  return std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '+';
}

} // namespace

std::string too_long_time_span(std::string_view value) {
  if (value.empty() || !starts_number(value, 0))
    return {};
  auto s = read_span(value, 0);
  return s.end == value.size() ? why_too_long(s) : std::string{};
}

size_t find_too_long_time_span(std::string_view text, std::string& why) {
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = text[i];
    if (c == '"') {
      // A string: CAF reads none of it as a number.
      for (++i; i < text.size() && text[i] != '"' && text[i] != '\n'; ++i)
        if (text[i] == '\\')
          ++i;
    } else if (c == ';') {
      while (i < text.size() && text[i] != '\n')
        ++i;
    } else if (starts_number(text, i) && !inside_word(text, i)) {
      auto s = read_span(text, i);
      if (why = why_too_long(s); !why.empty())
        return i;
      i = s.end - 1;
    }
  }
  return std::string_view::npos;
}

} // namespace sheetsync
