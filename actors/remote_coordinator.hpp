#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/timespan.hpp>

#include "messages/actors.hpp"

namespace sheetsync {

struct remote_coordinator_state {
  static inline const char* name = "remote_coordinator";

  std::string host;
  uint16_t port = 0;
  /// The coordinator on the other node; null while disconnected.
  coordinator_api remote;
  /// Local listeners, subscribed again after every reconnect.
  std::vector<status_listener_actor> subscribers;
  /// Failed connection attempts in a row (for the backoff).
  unsigned failures = 0;
  /// A connect request to the middleman is under way.
  bool connecting = false;
  /// Why the coordinator is unreachable, for people.
  std::string last_error = "not connected yet";
};

/// How long one connection attempt (TCP and CAF's handshake) may take: a peer
/// that accepts but never answers would otherwise hold the stand-in forever.
constexpr caf::timespan connect_timeout = std::chrono::seconds{10};

/// Longest wait between two connection attempts.
constexpr caf::timespan max_reconnect_delay = std::chrono::seconds{5};

/// The wait before reconnect attempt n + 1 after n failures: 250 ms doubling
/// up to max_reconnect_delay.
caf::timespan reconnect_delay(unsigned failures);

/// A local stand-in for the coordinator of another node (`serve
/// --coordinator=HOST:PORT`): forwards every request while connected, answers
/// ec::unavailable while not, and reconnects with backoff on the actor clock.
/// The facade talks to it as to a local coordinator.
/// @param self The stand-in.
/// @param host The coordinator node's host.
/// @param port Its node port (`serve --node-port`).
remote_coordinator_actor::behavior_type
remote_coordinator(
  remote_coordinator_actor::stateful_pointer<remote_coordinator_state> self,
  std::string host, uint16_t port);

} // namespace sheetsync
