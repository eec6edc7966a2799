#pragma once

#include <cstdint>

#include <caf/timespan.hpp>

#include "messages/ec.hpp"

namespace sheetsync {

/// The longest Retry-After honoured, in seconds (5 min).
constexpr uint32_t max_retry_after_s = 300;

/// Google's truncated exponential backoff: the delay before the next attempt
/// after `failures` failed attempts (1 = after the first, 0 counts as 1) is
/// min(2^(failures-1) s + jitter, cap), `jitter` clamped to [0, 1 s). A
/// Retry-After of `retry_after_s` seconds (0 = none) is honoured: the delay is
/// at least that long, even beyond `cap`, but at most max_retry_after_s.
caf::timespan backoff_delay(unsigned failures, caf::timespan jitter,
                            uint32_t retry_after_s, caf::timespan cap);

/// Whether a failure is worth another attempt: ec::http_status (or
/// ec::auth_failed, from the token endpoint) with HTTP 429, 500, 502, 503 or
/// 504; ec::download_failed (connect, reset, truncated: classify_curl_code
/// decides); ec::fetch_timeout. Not other 4xx, not ec::unfetchable (a missing
/// file, too many redirects, a bad URL, a refused certificate), not not_csv,
/// not parse, cache, cancel or time-limit errors.
bool retryable(ec code, uint16_t http_status);

inline bool retryable(const failure& f) {
  return retryable(f.code, f.http_status);
}

} // namespace sheetsync
