#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/timespan.hpp>

namespace sheetsync {

/// A rate limit: `requests` per `period` per client (--rate-limit=N/s|N/min).
struct rate_policy {
  /// 0 = off (the default).
  uint32_t requests = 0;
  caf::timespan period = std::chrono::seconds{1};
  /// Clients tracked at once; beyond it the fullest bucket is forgotten.
  size_t max_clients = 10000;

  bool enabled() const {
    return requests > 0;
  }
};

/// The largest N of `N/s` or `N/min`.
constexpr uint32_t max_rate_requests = 1000000;

/// Reads `N/s` or `N/min` (N from 1 to max_rate_requests) into `out`'s
/// requests and period; "" leaves the limit off.
/// @returns "" or what is wrong with `text`, without naming where it came from.
std::string parse_rate_policy(const std::string& text, rate_policy& out);

/// The bucket of one client key: whether a request passes, and what the
/// RateLimit header fields tell the client.
struct rate_decision {
  bool allowed = true;
  /// Requests the client may still send now (after this one, if it passed).
  uint32_t remaining = 0;
  /// Seconds (rounded up, at least 1) until one more request is allowed: the
  /// Retry-After of a refused request.
  uint32_t next_in = 0;
};

/// Which bucket a request counts against: the API token when the service has
/// one (the token filter checked it before, so it is the caller's identity;
/// only a SHA-256 prefix of it is kept), else the peer address (IPv6 by its
/// /64, which one host usually owns whole; IPv4-mapped IPv6 as IPv4).
/// A bearer token the service does not check never picks a bucket: a client
/// could send a new one with every request and never be limited.
/// @param verified_token The service's API token, "" when it has none.
/// @param address The peer address as CAF gives it (remote_addr).
std::string rate_client_key(std::string_view verified_token,
                            std::string_view address);

/// Token buckets per client key, a plain class driven by the facade, which
/// passes the time in (its actor clock: the tests move it).
///
/// Each client may send `requests` at once (the burst) and one more every
/// `period / requests`. A refused request costs nothing. The level is kept
/// exactly in integer units (a token is `period` in nanoseconds, the bucket
/// refills `requests` units per nanosecond), so no rounding drifts.
///
/// Memory stays bounded: a bucket full again holds no information and goes
/// at the next `expire`; at `max_clients` the fullest bucket (the earliest to
/// be full again; of equal ones the oldest) makes room. Forgetting the
/// fullest gives its client back the least. A client rotating addresses
/// creates buckets one request below full, so it evicts its own buckets
/// first, never the emptied bucket of a throttled client, and cannot grow
/// the table past the cap.
class rate_limiter {
public:
  using time_point = caf::actor_clock::time_point;

  explicit rate_limiter(rate_policy policy);

  // `by_full_` points at the keys of `buckets_`: a copy would point into the
  // original.
  rate_limiter(const rate_limiter&) = delete;
  rate_limiter& operator=(const rate_limiter&) = delete;

  /// Counts one request of `key` at `now` if its bucket has a token left.
  rate_decision take(const std::string& key, time_point now);

  /// Forgets the buckets full again at `now`.
  void expire(time_point now);

  /// Clients tracked.
  size_t size() const {
    return buckets_.size();
  }

  const rate_policy& policy() const {
    return policy_;
  }

  /// The `RateLimit-Policy` field value, e.g. `"default";q=10;w=1`.
  const std::string& policy_field() const {
    return policy_field_;
  }

  /// The `RateLimit` field value of a decision, e.g. `"default";r=9;t=1`.
  static std::string limit_field(const rate_decision& d);

  /// Both fields as header lines, each ending in CRLF.
  std::string header_lines(const rate_decision& d) const;

  /// The message of a refused request's 429: the limit and when to retry.
  std::string refusal(const rate_decision& d) const;

private:
  using by_full_map = std::multimap<time_point, const std::string*>;

  struct bucket {
    /// Units taken and not refilled yet, as of `since` (0 = full).
    int64_t debt = 0;
    time_point since;
    /// The bucket's place in `by_full_`.
    by_full_map::iterator pos;
  };

  /// The bucket's debt at `now`.
  int64_t debt_at(const bucket& b, time_point now) const;

  /// When a bucket with `debt` at `now` is full again.
  time_point full_at(int64_t debt, time_point now) const;

  /// Nanoseconds until `units` are refilled, rounded up.
  int64_t refill_ns(int64_t units) const;

  rate_policy policy_;
  /// One token, in units: the period in nanoseconds.
  int64_t token_;
  /// A full bucket: `requests` tokens.
  int64_t capacity_;
  std::string policy_field_;
  std::unordered_map<std::string, bucket> buckets_;
  /// Every bucket by when it is full again, earliest first.
  by_full_map by_full_;
};

} // namespace sheetsync
