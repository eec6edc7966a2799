#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sheetsync {

// CAF 0.17 turns "<integer><unit>" into nanoseconds without a range check, so
// a span past about 292 years overflows (undefined behaviour: the fuzz target
// config_file found "999999999999999991h"). These find such spans before CAF
// reads a flag, a config file or a config string.

/// "" when `value` (a whole value, e.g. "15min") is not a time span or one
/// that fits; else what the longest span is, e.g. "at most 2562047h (about
/// 292 years)". The value itself is not repeated.
std::string too_long_time_span(std::string_view value);

/// The offset of the first time span in `text` (CAF's config format; strings
/// and comments skipped) that does not fit, or npos; `why` as above.
size_t find_too_long_time_span(std::string_view text, std::string& why);

} // namespace sheetsync
