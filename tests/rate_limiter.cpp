// The token bucket of --rate-limit on a fake time: nothing here sleeps.

#define CAF_SUITE rate_limiter
#include <caf/test/unit_test.hpp>

#include "net/rate_limiter.hpp"

#include <chrono>
#include <string>

using namespace sheetsync;
using namespace std::chrono_literals;

namespace {

/// A fixed instant to count from.
const rate_limiter::time_point t0{std::chrono::hours{1000}};

rate_policy per_second(uint32_t n, size_t max_clients = 10000) {
  rate_policy p;
  p.requests = n;
  p.period = 1s;
  p.max_clients = max_clients;
  return p;
}

rate_policy per_minute(uint32_t n) {
  rate_policy p;
  p.requests = n;
  p.period = 1min;
  return p;
}

/// Sends `n` requests of `key` at `now`; returns how many passed.
int burst(rate_limiter& rl, const std::string& key, int n,
          rate_limiter::time_point now) {
  int passed = 0;
  for (int i = 0; i < n; ++i)
    passed += rl.take(key, now).allowed ? 1 : 0;
  return passed;
}

} // namespace

CAF_TEST(N and N per minute parse and anything else names what is expected) {
  rate_policy p;
  CAF_CHECK_EQUAL(parse_rate_policy("10/s", p), "");
  CAF_CHECK_EQUAL(p.requests, 10u);
  CAF_CHECK_EQUAL(p.period, caf::timespan{1s});
  CAF_CHECK_EQUAL(parse_rate_policy("600/min", p), "");
  CAF_CHECK_EQUAL(p.requests, 600u);
  CAF_CHECK_EQUAL(p.period, caf::timespan{1min});
  CAF_CHECK_EQUAL(parse_rate_policy("1000000/s", p), "");
  CAF_CHECK_EQUAL(p.requests, 1000000u);
  for (auto bad : {"0/s", "-1/s", "10", "10/", "/s", "10/h", "10/sec", "1.5/s",
                   "1000001/s", "99999999999/s", " 10/s", "10/s ", "ten/s",
                   "10/S", "+10/s"}) {
    rate_policy q;
    auto msg = parse_rate_policy(bad, q);
    CAF_MESSAGE(bad << ": " << msg);
    CAF_CHECK(msg.find("N/s or N/min") != std::string::npos);
    CAF_CHECK(msg.find(std::string{"'"} + bad + "'") != std::string::npos);
    CAF_CHECK(!q.enabled());
  }
  // Empty: off.
  p.requests = 5;
  CAF_CHECK_EQUAL(parse_rate_policy("", p), "");
  CAF_CHECK(!p.enabled());
}

CAF_TEST(a burst of N passes and the next is refused) {
  rate_limiter rl{per_second(5)};
  for (uint32_t i = 1; i <= 5; ++i) {
    auto d = rl.take("a", t0);
    CAF_CHECK(d.allowed);
    CAF_CHECK_EQUAL(d.remaining, 5 - i);
    // One token comes back every 200 ms: t rounds up to 1 s.
    CAF_CHECK_EQUAL(d.next_in, 1u);
  }
  auto d = rl.take("a", t0);
  CAF_CHECK(!d.allowed);
  CAF_CHECK_EQUAL(d.remaining, 0u);
  CAF_CHECK_EQUAL(d.next_in, 1u);
  CAF_CHECK_EQUAL(rl.refusal(d), "too many requests: at most 5 per second "
                                 "from one client; try again in 1 s");
  // Refused requests cost nothing: one token 200 ms later.
  CAF_CHECK_EQUAL(burst(rl, "a", 100, t0 + 199ms), 0);
  CAF_CHECK(rl.take("a", t0 + 200ms).allowed);
  CAF_CHECK(!rl.take("a", t0 + 200ms).allowed);
}

CAF_TEST(the bucket refills N per period and never beyond N) {
  rate_limiter rl{per_second(10)};
  CAF_CHECK_EQUAL(burst(rl, "a", 10, t0), 10);
  // 100 ms per token.
  CAF_CHECK_EQUAL(burst(rl, "a", 10, t0 + 350ms), 3);
  CAF_CHECK_EQUAL(burst(rl, "a", 10, t0 + 1350ms), 10);
  // An hour idle: still only a burst of 10.
  CAF_CHECK_EQUAL(burst(rl, "a", 20, t0 + 1h), 10);
}

CAF_TEST(uneven periods stay exact over many refills) {
  // 7 per minute: a token every 8.571428... s, which no nanosecond count
  // holds; integer units keep it exact.
  rate_limiter rl{per_minute(7)};
  CAF_CHECK_EQUAL(burst(rl, "a", 7, t0), 7);
  auto now = t0;
  for (int i = 1; i <= 700; ++i) {
    // 60/7 s after the previous token, each time.
    now = t0 + std::chrono::nanoseconds{(60'000'000'000LL * i + 6) / 7};
    if (!rl.take("a", now).allowed)
      CAF_FAIL("token " << i << " refused at its exact time");
    if (rl.take("a", now).allowed)
      CAF_FAIL("a second token " << i << " passed");
  }
}

CAF_TEST(Retry-After and t round up to whole seconds) {
  // 3 per minute: a token every 20 s.
  rate_limiter rl{per_minute(3)};
  CAF_CHECK_EQUAL(burst(rl, "a", 3, t0), 3);
  auto d = rl.take("a", t0);
  CAF_CHECK(!d.allowed);
  CAF_CHECK_EQUAL(d.next_in, 20u);
  CAF_CHECK_EQUAL(rl.refusal(d), "too many requests: at most 3 per minute "
                                 "from one client; try again in 20 s");
  d = rl.take("a", t0 + 500ms);
  CAF_CHECK_EQUAL(d.next_in, 20u); // 19.5 s -> 20
  d = rl.take("a", t0 + 19s);
  CAF_CHECK_EQUAL(d.next_in, 1u);
  d = rl.take("a", t0 + 19999ms);
  CAF_CHECK(!d.allowed);
  CAF_CHECK_EQUAL(d.next_in, 1u); // 1 ms -> 1 s, never 0
  d = rl.take("a", t0 + 20s);
  CAF_CHECK(d.allowed);
  CAF_CHECK_EQUAL(d.remaining, 0u);
  CAF_CHECK_EQUAL(d.next_in, 20u);
  // Allowed with tokens left: t is the time to the next token.
  rate_limiter two{per_minute(2)};
  d = two.take("b", t0);
  CAF_CHECK(d.allowed);
  CAF_CHECK_EQUAL(d.remaining, 1u);
  CAF_CHECK_EQUAL(d.next_in, 30u);
  CAF_CHECK_EQUAL(rate_limiter::limit_field(d), R"("default";r=1;t=30)");
  CAF_CHECK_EQUAL(two.policy_field(), R"("default";q=2;w=60)");
  CAF_CHECK_EQUAL(rl.policy_field(), R"("default";q=3;w=60)");
  rate_limiter ten{per_second(10)};
  CAF_CHECK_EQUAL(ten.policy_field(), R"("default";q=10;w=1)");
}

CAF_TEST(each key has its own bucket) {
  rate_limiter rl{per_second(2)};
  CAF_CHECK_EQUAL(burst(rl, "a", 5, t0), 2);
  CAF_CHECK_EQUAL(burst(rl, "b", 5, t0), 2);
  CAF_CHECK_EQUAL(rl.size(), 2u);
}

CAF_TEST(buckets full again expire and only those) {
  rate_limiter rl{per_second(4)};
  burst(rl, "a", 4, t0);          // full again at t0 + 1 s
  burst(rl, "b", 1, t0 + 500ms);  // full again at t0 + 750 ms
  CAF_CHECK_EQUAL(rl.size(), 2u);
  rl.expire(t0 + 749ms);
  CAF_CHECK_EQUAL(rl.size(), 2u);
  rl.expire(t0 + 750ms);
  CAF_CHECK_EQUAL(rl.size(), 1u);
  // a is not full yet (3 of 4 tokens back): expiring b did not reset it.
  CAF_CHECK_EQUAL(burst(rl, "a", 4, t0 + 750ms), 3);
  rl.expire(t0 + 10s);
  CAF_CHECK_EQUAL(rl.size(), 0u);
  // A forgotten full bucket is a fresh full bucket: nothing changes for it.
  CAF_CHECK_EQUAL(burst(rl, "b", 9, t0 + 10s), 4);
}

CAF_TEST(at the cap the fullest bucket goes and a throttled one stays) {
  rate_limiter rl{per_second(10, 3)};
  // A real client, throttled.
  CAF_CHECK_EQUAL(burst(rl, "real", 20, t0), 10);
  // An attacker on ever new addresses, one request each.
  for (int i = 0; i < 1000; ++i) {
    auto now = t0 + std::chrono::microseconds{i};
    CAF_CHECK(rl.take("rotating-" + std::to_string(i), now).allowed);
    CAF_CHECK_LESS_OR_EQUAL(rl.size(), 3u);
  }
  CAF_CHECK_EQUAL(rl.size(), 3u);
  // The throttled client is still throttled.
  CAF_CHECK(!rl.take("real", t0 + 1ms).allowed);
  // The newest attacker buckets are the ones kept besides it, the oldest went.
  CAF_CHECK_EQUAL(burst(rl, "rotating-999", 10, t0 + 1ms), 9);
  // Of equally full buckets the oldest goes first.
  rate_limiter eq{per_second(10, 2)};
  eq.take("x", t0);
  eq.take("y", t0);
  eq.take("z", t0); // evicts x
  CAF_CHECK_EQUAL(burst(eq, "y", 20, t0), 9);
  CAF_CHECK_EQUAL(eq.size(), 2u);
  CAF_CHECK_EQUAL(burst(eq, "z", 20, t0), 9);
}

CAF_TEST(keys by verified token or by address) {
  auto k1 = rate_client_key("s3cret-token", "10.0.0.1");
  auto k2 = rate_client_key("s3cret-token", "10.0.0.2");
  auto k3 = rate_client_key("other-token", "10.0.0.1");
  // The token decides, not the address.
  CAF_CHECK_EQUAL(k1, k2);
  CAF_CHECK_NOT_EQUAL(k1, k3);
  // Only a hash prefix is kept, never the token.
  CAF_CHECK(k1.find("s3cret") == std::string::npos);
  CAF_CHECK_EQUAL(k1.rfind("token:", 0), 0u);
  CAF_CHECK_EQUAL(k1.size(), 6u + 32u);
  // SHA-256("abc") starts ba7816bf8f01cfea414140de5dae2223.
  CAF_CHECK_EQUAL(rate_client_key("abc", ""),
                  "token:ba7816bf8f01cfea414140de5dae2223");
  // Without a token: the address.
  CAF_CHECK_EQUAL(rate_client_key("", "10.0.0.1"), "addr:10.0.0.1");
  CAF_CHECK_NOT_EQUAL(rate_client_key("", "10.0.0.1"),
                      rate_client_key("", "10.0.0.2"));
  CAF_CHECK_EQUAL(rate_client_key("", "::ffff:10.0.0.1"), "addr:10.0.0.1");
  // IPv6 by its /64.
  CAF_CHECK_EQUAL(rate_client_key("", "2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
                  "addr:2001:db8:1:2::/64");
  CAF_CHECK_EQUAL(rate_client_key("", "2001:db8:1:2::1"),
                  rate_client_key("", "2001:db8:1:2:ffff::9"));
  CAF_CHECK_NOT_EQUAL(rate_client_key("", "2001:db8:1:2::1"),
                      rate_client_key("", "2001:db8:1:3::1"));
  // Something else stays as it is.
  CAF_CHECK_EQUAL(rate_client_key("", ""), "addr:");
}
