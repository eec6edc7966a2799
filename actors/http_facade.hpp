#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/io/broker.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/actors.hpp"
#include "net/cors.hpp"
#include "net/event_hub.hpp"
#include "net/facade_metrics.hpp"
#include "net/http_connection.hpp"
#include "net/rate_limiter.hpp"
#include "net/status_cache.hpp"

namespace sheetsync {

/// How the HTTP facade serves.
struct facade_config {
  /// Where every request goes: the only actor the facade talks to.
  coordinator_api coordinator;
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  /// Open the listening socket (tests assign connections themselves).
  bool listen = true;
  /// Answer status reads from the statuses the coordinator pushed, without a
  /// round trip. Off when the coordinator is on another node, so that while
  /// it is unreachable reads answer 503 instead of stale progress.
  bool answer_pushed = true;
  /// Answers GET /api/webhooks/deliveries and adds its /metrics lines; null
  /// without webhook receivers (the list is then empty).
  webhook_api webhooks;
  /// When set, /api/ needs `Authorization: Bearer <token>`.
  std::string api_token;
  /// Requests per client on /api/ (--rate-limit); off unless set.
  rate_policy rate_limit;
  /// Origins (as normalize_origin() writes them) whose pages may call the
  /// service (CORS); none by default.
  std::vector<std::string> cors_origins;
  size_t max_connections = 1024;
  caf::timespan idle_timeout = std::chrono::seconds{60};
  /// A request must arrive whole within this (slow senders cannot hold a
  /// connection slot for ever).
  caf::timespan request_deadline = std::chrono::seconds{30};
  caf::timespan keepalive_interval = std::chrono::seconds{15};
  /// How long the coordinator may take to answer before a 503.
  caf::timespan request_timeout = std::chrono::seconds{10};
  /// An event stream whose unsent bytes exceed this is dropped (the client
  /// reconnects with Last-Event-ID): a slow reader cannot grow our memory.
  size_t max_stream_backlog = 1 << 20;
  /// Called once the socket listens (with its port) or failed (0, reason).
  std::function<void(uint16_t, const std::string&)> on_listening;
};

struct http_facade_state {
  static inline const char* name = "http_facade";

  facade_config cfg;
  /// The connections (set up once the broker runs).
  std::optional<http_connections> conns;
  /// What event streams get.
  event_hub events;
  /// Statuses pushed by the coordinator, and finished ones reads asked for:
  /// answered without a round trip.
  status_cache statuses;
  /// Status reads by sync id waiting for the coordinator's answer, by id (one
  /// ask per id at a time; as many entries as asks on their way).
  std::unordered_map<std::string, std::vector<reply_slot>> status_asks;
  /// The configured source names, the default one first; empty until the
  /// coordinator told us (at start-up, or on the first request naming one).
  std::vector<std::string> sources;
  facade_metrics metrics;
  /// The clients' buckets, when cfg.rate_limit is on.
  std::optional<rate_limiter> limiter;
  /// Built from cfg.cors_origins.
  cors_policy cors;
  /// Checks of a sheet (POST /api/sources/check) waiting for their answer:
  /// each one fetches from the network, so only a few run at once.
  size_t checks_running = 0;

  /// The default source's name ("" while the sources are unknown).
  const std::string& default_source() const {
    static const std::string none;
    return sources.empty() ? none : sources.front();
  }
};

using http_facade_actor
  = caf::stateful_actor<http_facade_state, caf::io::broker>;

/// The HTTP/1.1 facade (a CAF io broker): parses requests, routes them to
/// the coordinator, answers JSON, serves the pages and fans status events out
/// to event streams.
/// @param self The broker.
/// @param cfg Where to listen, whom to ask, the limits.
caf::behavior http_facade(http_facade_actor* self, facade_config cfg);

} // namespace sheetsync
