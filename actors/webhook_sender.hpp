#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/timespan.hpp>

#include "messages/actors.hpp"

namespace sheetsync {

/// One receiver of webhooks.
struct webhook_endpoint {
  /// http:// or https://.
  std::string url;
  /// The events it gets ("sync.completed", "sync.failed", "sync.cancelled");
  /// empty = all three.
  std::vector<std::string> events;
  /// The sources whose syncs it hears about; empty = all.
  std::vector<std::string> sources;
};

/// The delays before the second and later attempts: 5 s, 30 s, 2 min,
/// 10 min, 30 min (then the delivery failed).
std::vector<caf::timespan> default_webhook_backoff();

/// How long to wait after `attempts` failed attempts (1 = the first one)
/// before the next: backoff[attempts - 1]; none once the schedule is used up
/// (the delivery failed). A pure function of the schedule.
std::optional<caf::timespan>
webhook_retry_delay(uint32_t attempts, const std::vector<caf::timespan>& backoff);

/// What the webhook sender sends where, and its bounds.
struct webhook_options {
  std::vector<webhook_endpoint> endpoints;
  /// The decoded key of the whsec_ secret (a secret: never logged or shown).
  std::string key;
  std::vector<caf::timespan> backoff = default_webhook_backoff();
  /// Pending deliveries at most; beyond, the oldest is dropped as failed.
  size_t max_pending = 1000;
  /// Finished deliveries remembered (listed, and kept in the cache).
  size_t keep_finished = 500;
  /// Final statuses remembered against sending one sync's event twice.
  size_t remembered_syncs = 1024;
  /// The poster's own time-out plus this: then the attempt counts as failed.
  caf::timespan post_timeout = std::chrono::seconds{15};
  /// Unix milliseconds for the body's timestamp, webhook-timestamp and the
  /// listed times (tests pin it); null = the system clock.
  std::function<int64_t()> wall_clock_ms;
};

/// A delivery and its place in time (ties of created_ms keep arrival order).
struct webhook_slot {
  webhook_delivery delivery;
  uint64_t seq = 0;
  bool in_flight = false;
};

struct webhook_sender_state {
  static inline const char* name = "webhook_sender";

  webhook_options opts;
  /// Attempts go out on these, at most one per poster at a time.
  std::vector<webhook_poster_actor> posters;
  std::vector<bool> poster_busy;
  /// Null: nothing is kept across restarts.
  webhook_store_actor store;

  // -- member variables -------------------------------------------------------

  /// Every pending delivery and the latest finished ones, by id (bounded:
  /// max_pending + keep_finished).
  std::map<std::string, webhook_slot> deliveries;
  /// Pending ids whose attempt is due, in order, waiting for a poster.
  std::deque<std::string> due;
  /// Finished ids, oldest first (for keep_finished).
  std::deque<std::string> finished_order;
  /// Sync ids whose final status was turned into deliveries, oldest first.
  std::deque<std::string> seen_order;
  std::set<std::string> seen;
  uint64_t next_seq = 0;

  /// Outcomes of attempts since start-up (for /metrics).
  uint64_t delivered = 0;
  uint64_t retried = 0;
  uint64_t failed = 0;

  size_t pending() const;
};

/// Turns each sync's final status (complete, error, cancelled) into one
/// delivery per matching receiver (Standard Webhooks: webhook-id,
/// webhook-timestamp, webhook-signature), posts it on a poster, retries a
/// non-2xx answer, time-out or connection failure on the actor clock after
/// each delay of `backoff`, then gives up (failed). Every change goes to the
/// store; at start-up the store's pending deliveries are resumed at their
/// next attempt time.
/// @param self The sender.
/// @param opts Receivers, key, schedule, bounds.
/// @param coordinator Subscribed to at start-up (may be null: tests send
///        statuses themselves).
/// @param posters One or more posters (detached in production).
/// @param store Where deliveries are kept (may be null).
webhook_sender_actor::behavior_type
webhook_sender(webhook_sender_actor::stateful_pointer<webhook_sender_state> self,
               webhook_options opts, coordinator_api coordinator,
               std::vector<webhook_poster_actor> posters,
               webhook_store_actor store);

} // namespace sheetsync
