#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/actors.hpp"
#include "net/facade_metrics.hpp"
#include "net/http_request_parser.hpp"

namespace sheetsync {

/// How the HTTP facade serves.
struct facade_config {
  /// Where every request goes: the only actor the facade talks to.
  coordinator_actor coordinator;
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  /// Open the listening socket (tests assign connections themselves).
  bool listen = true;
  /// Answer status reads from the statuses the coordinator pushed, without a
  /// round trip. Off when the coordinator is on another node, so that while
  /// it is unreachable reads answer 503 instead of stale progress.
  bool answer_pushed = true;
  /// When set, /api/ needs `Authorization: Bearer <token>`.
  std::string api_token;
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

/// A response waiting for its turn: HTTP/1.1 answers in request order.
struct pending_reply {
  std::optional<std::string> bytes;
  bool close = false;
  /// The response opens an event stream on this connection.
  bool stream = false;
  /// Answers a HEAD request: headers only, whatever the status.
  bool head = false;
};

struct http_connection {
  http_request_parser parser;
  /// Parsed requests waiting until the connection may have more in flight.
  std::deque<http_request> queued;
  std::deque<pending_reply> replies;
  /// Sequence number of replies.front().
  uint64_t first_seq = 0;
  uint64_t next_seq = 0;
  /// No more requests are read (close requested or error answered).
  bool closing = false;
  /// The connection is an event stream.
  bool stream = false;
  /// Unsent bytes, from write acknowledgements (streams, and connections
  /// whose client stopped reading).
  size_t backlog = 0;
  /// Reading from the socket is suspended (backpressure).
  bool halted = false;
  /// The client has sent all it will send (half-close): what it asked is
  /// answered, then the connection closes.
  bool peer_done = false;
  caf::actor_clock::time_point last_active;
  /// When the first byte of a still unfinished request arrived.
  std::optional<caf::actor_clock::time_point> partial_since;
};

struct http_facade_state {
  static inline const char* name = "http_facade";

  /// Events kept for Last-Event-ID replays.
  static constexpr size_t replay_events = 256;

  /// Requests of one connection being answered at once; beyond it, reading
  /// stops, so a client pipelining without end cannot starve the others.
  static constexpr size_t max_in_flight = 32;

  /// Unsent answer bytes of one connection beyond which reading stops until
  /// the client reads: memory stays bounded for clients that never read.
  static constexpr size_t max_unsent = 256 * 1024;

  facade_config cfg;
  std::unordered_map<caf::io::connection_handle, http_connection> conns;
  /// Recent status events as (id, JSON).
  std::deque<std::pair<uint64_t, std::string>> events;
  uint64_t next_event_id = 1;
  /// The configured source names, the default one first; empty until the
  /// coordinator told us (at start-up, or on the first request naming one).
  std::vector<std::string> sources;
  /// The latest status JSON of every source, by source name: a new event
  /// stream starts with one event per source.
  std::unordered_map<std::string, std::string> latest;
  /// Statuses pushed by the coordinator, as JSON, by sync id: status reads
  /// are answered from here without a round trip. A finished status never
  /// changes again (the history keeps it after the coordinator's memory
  /// forgets it), so finished ones stay while clients read them and expire
  /// `known_ttl` after the last read.
  struct known_status {
    std::string json;
    /// The whole keep-alive 200 answer, ready to write.
    std::string response;
    std::optional<caf::actor_clock::time_point> finished_at;
  };
  std::unordered_map<std::string, known_status> known;
  static constexpr auto known_ttl = std::chrono::seconds{30};
  /// By source name: the id of its latest pushed sync while it is running or
  /// queued (not finished).
  std::unordered_map<std::string, std::string> running;
  facade_metrics metrics;

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
