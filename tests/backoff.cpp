#define CAF_SUITE backoff
#include <caf/test/unit_test.hpp>

#include "sources/backoff.hpp"

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

using namespace sheetsync;
using namespace std::chrono_literals;

namespace {

using ts = caf::timespan;

ts secs(int64_t n) {
  return std::chrono::seconds{n};
}

} // namespace

CAF_TEST(doubles from one second up to the cap) {
  auto cap = secs(32);
  ts expected = secs(1);
  for (unsigned failures = 1; failures <= 10; ++failures) {
    CAF_MESSAGE("after " << failures << " failures");
    CAF_CHECK_EQUAL(backoff_delay(failures, ts{0}, 0, cap), expected);
    expected = std::min(expected * 2, cap);
  }
  // Zero failures counts as one.
  CAF_CHECK_EQUAL(backoff_delay(0, ts{0}, 0, cap), secs(1));
}

CAF_TEST(jitter adds below one second and is clamped) {
  auto cap = secs(64);
  CAF_CHECK_EQUAL(backoff_delay(1, 250ms, 0, cap), 1250ms);
  CAF_CHECK_EQUAL(backoff_delay(3, 999ms, 0, cap), 4999ms);
  // Out-of-range jitter is clamped into [0, 1 s).
  auto big = backoff_delay(2, secs(5), 0, cap);
  CAF_CHECK_GREATER_OR_EQUAL(big, secs(2));
  CAF_CHECK_LESS(big, secs(3));
  CAF_CHECK_EQUAL(backoff_delay(2, -300ms, 0, cap), secs(2));
}

CAF_TEST(the cap truncates base plus jitter) {
  auto cap = secs(10);
  CAF_CHECK_EQUAL(backoff_delay(4, 500ms, 0, cap), 8500ms);
  CAF_CHECK_EQUAL(backoff_delay(5, 500ms, 0, cap), cap);
  CAF_CHECK_EQUAL(backoff_delay(4, 0ms, 0, 7500ms), 7500ms);
  // No overflow for absurd counts.
  CAF_CHECK_EQUAL(backoff_delay(1000, 999ms, 0, cap), cap);
  CAF_CHECK_EQUAL(backoff_delay(~0u, 0ms, 0, secs(64)), secs(64));
}

CAF_TEST(retry after is a floor that may exceed the cap up to five minutes) {
  auto cap = secs(32);
  CAF_CHECK_EQUAL(backoff_delay(1, 100ms, 20, cap), secs(20));
  CAF_CHECK_EQUAL(backoff_delay(3, 100ms, 1, cap), 4100ms);
  CAF_CHECK_EQUAL(backoff_delay(1, 0ms, 100, cap), secs(100));
  CAF_CHECK_EQUAL(backoff_delay(1, 0ms, 300, cap), secs(300));
  CAF_CHECK_EQUAL(backoff_delay(1, 0ms, 301, cap), secs(300));
  CAF_CHECK_EQUAL(backoff_delay(1, 0ms, 86400, cap), secs(300));
  CAF_CHECK_EQUAL(backoff_delay(9, 0ms, 0xFFFFFFFFu, cap), secs(300));
}

CAF_TEST(which failures are retried) {
  const std::set<uint16_t> transient{429, 500, 502, 503, 504};
  const uint16_t statuses[] = {0,   200, 301, 400, 401, 403, 404, 408,
                               409, 429, 499, 500, 501, 502, 503, 504,
                               505, 599};
  for (auto i = static_cast<int>(ec::none);
       i <= static_cast<int>(ec::unfetchable); ++i) {
    auto code = static_cast<ec>(i);
    for (auto status : statuses) {
      bool expected = false;
      if (code == ec::download_failed || code == ec::fetch_timeout)
        expected = true;
      else if (code == ec::http_status || code == ec::auth_failed)
        expected = transient.count(status) > 0;
      CAF_MESSAGE(to_string(code) << " with HTTP " << status);
      CAF_CHECK_EQUAL(retryable(code, status), expected);
    }
  }
  failure f;
  f.code = ec::http_status;
  f.http_status = 503;
  CAF_CHECK(retryable(f));
  f.http_status = 403;
  CAF_CHECK(!retryable(f));
  // Named cases, so a change in the table above cannot hide them.
  CAF_CHECK(retryable(ec::http_status, 429));
  CAF_CHECK(!retryable(ec::http_status, 404));
  CAF_CHECK(!retryable(ec::not_csv, 0));
  CAF_CHECK(!retryable(ec::invalid_csv, 500));
  CAF_CHECK(!retryable(ec::cache_failed, 0));
  CAF_CHECK(!retryable(ec::cancelled, 0));
  CAF_CHECK(!retryable(ec::sync_timeout, 0));
  CAF_CHECK(!retryable(ec::unfetchable, 0));
  CAF_CHECK(!retryable(ec::unfetchable, 503));
}
