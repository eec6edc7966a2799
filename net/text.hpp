#pragma once

#include <cstdint>
#include <string>
#include <string_view>

// The small text helpers every part needs, in one place (one copy of each
// rule). ASCII only: header names, schemes, hosts and table names are ASCII,
// and a locale must not change what they mean.

namespace sheetsync {

/// `str` with A-Z turned into a-z.
std::string lower(std::string_view str);

/// Whether `x` and `y` are equal ignoring ASCII case.
bool equals_ignore_case(std::string_view x, std::string_view y);

/// Whether `str` starts with `prefix`, ignoring ASCII case.
bool starts_with_ignore_case(std::string_view str, std::string_view prefix);

/// Whether `str` is non-empty and only 0-9.
bool all_digits(std::string_view str);

/// The decimal number `str` (only 0-9, at least one), saturated at UINT64_MAX
/// however many digits it has; false for anything else (sign, space, empty).
bool parse_saturated(std::string_view str, uint64_t& out);

/// A location (URL, spreadsheet id, file path) fit for a message: redacted
/// as redact_url() does (no "user:password@", no parameter values); in a
/// location without "://" also everything from the first '?', '#', '&' or
/// '=' on becomes "***" (without a URL's structure a key cannot be told from
/// a path); at most 120 characters. The one rule for every text a person reads.
std::string shown_location(std::string_view location);

} // namespace sheetsync
