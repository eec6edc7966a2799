#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/sync_status.hpp"
#include "messages/webhook_delivery.hpp"

namespace sheetsync {

/// The webhook event of a final state: "sync.completed", "sync.failed",
/// "sync.cancelled"; "" for a running or idle state (no event).
const char* webhook_event_of(sync_state x);

/// A webhook's body: `{"type", "timestamp" (ISO 8601 of `now_ms`), "data":
/// the status exactly as the HTTP API renders it (to_json)}`.
std::string webhook_body(const std::string& type, int64_t now_ms,
                         const sync_status& st);

/// The GET /api/webhooks/deliveries answer: `{"deliveries": [...]}` in the
/// given order, each URL redacted (redact_url), without bodies.
std::string deliveries_json(const std::vector<webhook_delivery>& xs);

} // namespace sheetsync
