#include "net/rate_limiter.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include <openssl/evp.h>

namespace sheetsync {

namespace {

constexpr int64_t ns_per_second = 1000000000;

/// Whole seconds, rounded up, at least 1 (Retry-After 0 would invite a retry
/// that is refused again).
uint32_t ceil_seconds(int64_t ns) {
  auto s = (ns + ns_per_second - 1) / ns_per_second;
  return static_cast<uint32_t>(s < 1 ? 1 : s);
}

std::string sha256_hex_prefix(std::string_view x, size_t bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(x.data(), x.size(), md, &len, EVP_sha256(), nullptr);
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes && i < len; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 0xf];
  }
  return out;
}

} // namespace

std::string parse_rate_policy(const std::string& text, rate_policy& out) {
  if (text.empty()) {
    out.requests = 0;
    return {};
  }
  auto problem = "expected N/s or N/min with N a whole number from 1 to "
                 + std::to_string(max_rate_requests) + " (e.g. 10/s), got '"
                 + text + "'";
  auto slash = text.find('/');
  if (slash == 0 || slash == std::string::npos || slash > 7)
    return problem;
  uint32_t n = 0;
  for (size_t i = 0; i < slash; ++i) {
    if (text[i] < '0' || text[i] > '9')
      return problem;
    n = n * 10 + static_cast<uint32_t>(text[i] - '0');
  }
  if (n < 1 || n > max_rate_requests)
    return problem;
  auto unit = text.substr(slash + 1);
  if (unit == "s")
    out.period = std::chrono::seconds{1};
  else if (unit == "min")
    out.period = std::chrono::minutes{1};
  else
    return problem;
  out.requests = n;
  return {};
}

std::string rate_client_key(std::string_view verified_token,
                            std::string_view address) {
  if (!verified_token.empty())
    // 128 bits: no two tokens share a bucket by accident, and the table never
    // holds the token.
    return "token:" + sha256_hex_prefix(verified_token, 16);
  std::string text{address};
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      ::inet_ntop(AF_INET, v6.s6_addr + 12, buf, sizeof(buf));
      return "addr:" + std::string{buf};
    }
    // One host usually gets a whole /64: counting its addresses apart would
    // give it 2^64 buckets.
    std::memset(v6.s6_addr + 8, 0, 8);
    ::inet_ntop(AF_INET6, &v6, buf, sizeof(buf));
    return "addr:" + std::string{buf} + "/64";
  }
  return "addr:" + text;
}

rate_limiter::rate_limiter(rate_policy policy)
  : policy_(policy),
    token_(std::chrono::duration_cast<std::chrono::nanoseconds>(policy.period)
             .count()),
    capacity_(token_ * static_cast<int64_t>(policy.requests)) {
  // Draft -11's structured-field form (see limit_field).
  policy_field_ = "\"default\";q=" + std::to_string(policy.requests) + ";w="
                  + std::to_string(token_ / ns_per_second);
}

int64_t rate_limiter::refill_ns(int64_t units) const {
  auto n = static_cast<int64_t>(policy_.requests);
  return (units + n - 1) / n;
}

int64_t rate_limiter::debt_at(const bucket& b, time_point now) const {
  auto elapsed
    = std::chrono::duration_cast<std::chrono::nanoseconds>(now - b.since).count();
  if (elapsed <= 0)
    return b.debt;
  // A whole period refills any bucket (and keeps the product below 2^63).
  if (elapsed >= token_)
    return 0;
  auto refilled = elapsed * static_cast<int64_t>(policy_.requests);
  return refilled >= b.debt ? 0 : b.debt - refilled;
}

rate_limiter::time_point rate_limiter::full_at(int64_t debt,
                                               time_point now) const {
  return now + std::chrono::nanoseconds{refill_ns(debt)};
}

rate_decision rate_limiter::take(const std::string& key, time_point now) {
  auto i = buckets_.find(key);
  if (i == buckets_.end()) {
    if (!buckets_.empty() && buckets_.size() >= policy_.max_clients) {
      // The fullest bucket makes room (see the class comment).
      auto victim = by_full_.begin();
      buckets_.erase(buckets_.find(*victim->second));
      by_full_.erase(victim);
    }
    i = buckets_.emplace(key, bucket{}).first;
    i->second.since = now;
    i->second.pos = by_full_.end();
  }
  auto& b = i->second;
  auto debt = debt_at(b, now);
  rate_decision d;
  d.allowed = debt + token_ <= capacity_;
  if (d.allowed)
    debt += token_;
  b.debt = debt;
  b.since = now;
  if (b.pos != by_full_.end())
    by_full_.erase(b.pos);
  b.pos = by_full_.emplace(full_at(debt, now), &i->first);
  auto level = capacity_ - debt;
  d.remaining = static_cast<uint32_t>(level / token_);
  d.next_in = ceil_seconds(refill_ns(token_ - level % token_));
  return d;
}

void rate_limiter::expire(time_point now) {
  while (!by_full_.empty() && by_full_.begin()->first <= now) {
    buckets_.erase(buckets_.find(*by_full_.begin()->second));
    by_full_.erase(by_full_.begin());
  }
}

std::string rate_limiter::limit_field(const rate_decision& d) {
  // draft-ietf-httpapi-ratelimit-headers-11 (May 2026), section 4: r is the
  // available quota, t the effective window: the seconds within which no
  // more than r requests pass. For a token bucket that is the time until
  // the next token, so on a 429 (r=0) t equals Retry-After, as section 6
  // asks (Retry-After not earlier than the end of the effective window).
  return "\"default\";r=" + std::to_string(d.remaining)
         + ";t=" + std::to_string(d.next_in);
}

std::string rate_limiter::refusal(const rate_decision& d) const {
  return "too many requests: at most " + std::to_string(policy_.requests)
         + (token_ < 60 * ns_per_second ? " per second" : " per minute")
         + " from one client; try again in " + std::to_string(d.next_in)
         + " s";
}

std::string rate_limiter::header_lines(const rate_decision& d) const {
  return "RateLimit-Policy: " + policy_field_ + "\r\nRateLimit: "
         + limit_field(d) + "\r\n";
}

} // namespace sheetsync
