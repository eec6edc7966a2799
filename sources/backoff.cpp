#include "sources/backoff.hpp"

#include <algorithm>
#include <chrono>

namespace sheetsync {

caf::timespan backoff_delay(unsigned failures, caf::timespan jitter,
                            uint32_t retry_after_s, caf::timespan cap) {
  using std::chrono::seconds;
  auto n = failures == 0 ? 0u : failures - 1;
  // 2^30 s is decades: beyond that the cap applies anyway, and a bigger shift
  // would overflow the nanosecond count.
  n = std::min(n, 30u);
  caf::timespan base = seconds{int64_t{1} << n};
  jitter = std::clamp(jitter, caf::timespan{0},
                      caf::timespan{seconds{1}} - caf::timespan{1});
  auto delay = std::min(base + jitter, std::max(cap, caf::timespan{0}));
  caf::timespan floor
    = seconds{std::min(retry_after_s, max_retry_after_s)};
  return std::max(delay, floor);
}

bool retryable(ec code, uint16_t http_status) {
  switch (code) {
    case ec::download_failed:
    case ec::fetch_timeout:
      return true;
    case ec::http_status:
    case ec::auth_failed:
      switch (http_status) {
        case 429:
        case 500:
        case 502:
        case 503:
        case 504:
          return true;
        default:
          return false;
      }
    default:
      return false;
  }
}

} // namespace sheetsync
