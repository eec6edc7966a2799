#include "messages/webhook_delivery.hpp"

#include <tuple>

namespace sheetsync {

const char* to_string(webhook_state x) {
  switch (x) {
    case webhook_state::pending: return "pending";
    case webhook_state::delivered: return "delivered";
    case webhook_state::failed: return "failed";
  }
  return "failed";
}

bool from_string(const std::string& str, webhook_state& x) {
  for (auto s : {webhook_state::pending, webhook_state::delivered,
                 webhook_state::failed})
    if (str == to_string(s)) {
      x = s;
      return true;
    }
  return false;
}

bool operator==(const webhook_delivery& x, const webhook_delivery& y) {
  auto tie = [](const webhook_delivery& d) {
    return std::tie(d.id, d.event, d.url, d.source, d.sync_id, d.body,
                    d.attempts, d.state, d.last_status, d.last_error,
                    d.created_ms, d.next_attempt_ms);
  };
  return tie(x) == tie(y);
}

} // namespace sheetsync
