#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace sheetsync {

/// Where a webhook delivery stands.
enum class webhook_state : uint8_t {
  /// Waiting for its first attempt or for a retry.
  pending,
  /// A receiver answered 2xx.
  delivered,
  /// Every attempt failed (or it was dropped over the pending cap).
  failed,
};

/// "pending", "delivered", "failed".
const char* to_string(webhook_state x);

/// Parses a name produced by to_string; false if unknown.
bool from_string(const std::string& str, webhook_state& x);

/// One event for one receiver: what GET /api/webhooks/deliveries shows and
/// the cache's webhook_deliveries table keeps.
struct webhook_delivery {
  /// "msg_" + random: the webhook-id header, the same on every attempt.
  std::string id;
  /// "sync.completed", "sync.failed" or "sync.cancelled".
  std::string event;
  /// The receiver's URL as configured (may hold secrets: shown redacted).
  std::string url;
  std::string source;
  std::string sync_id;
  /// The JSON body, fixed at creation: every attempt sends the same bytes.
  std::string body;
  /// Attempts made so far.
  uint32_t attempts = 0;
  webhook_state state = webhook_state::pending;
  /// HTTP status of the last answer; 0 = none (no attempt, or no answer).
  uint16_t last_status = 0;
  /// Why the last attempt failed; "" when it did not.
  std::string last_error;
  /// Unix milliseconds.
  int64_t created_ms = 0;
  /// Unix milliseconds of the next attempt; 0 once finished.
  int64_t next_attempt_ms = 0;
};

bool operator==(const webhook_delivery& x, const webhook_delivery& y);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_delivery& x) {
  return f(caf::meta::type_name("webhook_delivery"), x.id, x.event, x.url,
           x.source, x.sync_id, x.body, x.attempts, x.state, x.last_status,
           x.last_error, x.created_ms, x.next_attempt_ms);
}

} // namespace sheetsync
