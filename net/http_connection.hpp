#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/io/abstract_broker.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/timespan.hpp>

#include "net/http_request.hpp"
#include "net/http_request_parser.hpp"

namespace sheetsync {

/// Where an answer goes: one request of one connection. The handle is a
/// socket number the kernel reuses once the socket is closed; `conn` is never
/// reused, so an answer that arrives after its client has gone can never
/// reach the next client on the same socket number.
struct reply_slot {
  caf::io::connection_handle hdl;
  /// The connection's identity (http_connection::id).
  uint64_t conn = 0;
  /// The request's place in the connection's answer order.
  uint64_t seq = 0;
  /// The request was a HEAD: headers only, whatever the status.
  bool head = false;
  /// The connection stays open after this answer.
  bool keep_alive = true;
  /// What the rate limit left the request's client, for the RateLimit
  /// fields of the answer (net/rate_limiter): requests it may still send, and
  /// seconds until one more. -1: no fields (limit off, path exempt).
  int64_t rate_remaining = -1;
  uint32_t rate_next_in = 0;
  /// Header fields every answer to this request carries, errors and event
  /// streams included (the CORS fields for an allowed Origin).
  std::vector<std::pair<std::string, std::string>> headers;
};

/// A response waiting for its turn: HTTP/1.1 answers in request order.
struct pending_reply {
  std::optional<std::string> bytes;
  bool close = false;
  /// The response opens an event stream on this connection.
  bool stream = false;
};

/// One client connection: its parser, the requests it sent and the answers it
/// is owed, in order.
struct http_connection {
  /// Never reused in the life of the process (see reply_slot).
  uint64_t id = 0;
  http_request_parser parser;
  /// Parsed requests waiting until the connection may have more in flight.
  /// Vectors, not deques: at most max_in_flight and a few, and empty ones
  /// hold no memory (a deque holds 576 bytes from the start: half of what an
  /// idle connection may cost).
  std::vector<http_request> queued;
  std::vector<pending_reply> replies;
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

  /// Waiting for a next request after at least one answer, with nothing owed
  /// and nothing half-received: what may be closed to make room.
  bool idle_keep_alive() const {
    return next_seq > 0 && replies.empty() && queued.empty() && !stream
           && !closing && !partial_since && !peer_done;
  }
};

/// The limits of http_connections.
struct connection_limits {
  size_t max_connections = 1024;
  caf::timespan idle_timeout = std::chrono::seconds{60};
  /// A request must arrive whole within this.
  caf::timespan request_deadline = std::chrono::seconds{30};
  /// An event stream whose unsent bytes exceed this is dropped.
  size_t max_stream_backlog = 1 << 20;
  /// How long a closed connection's late bytes are still read and discarded,
  /// so that its client gets our last answer instead of a reset.
  caf::timespan linger = std::chrono::seconds{5};
};

/// The connection engine of the HTTP facade, a plain class driven by its
/// broker: pipelining (answers in request order), backpressure (stop reading
/// a client that does not read or pipelines without end), half-close, idle
/// and deadline sweeps, event streams and the connection cap. What a request
/// means is the broker's business: the engine hands each one to `on_request`
/// with the reply_slot its answer goes to.
class http_connections {
public:
  /// A parsed request to answer through `fill` (or `open_stream`).
  using request_handler = std::function<void(const reply_slot&, http_request&)>;

  /// A malformed request (the parser's HTTP status: 400, 413, 431, ...): the
  /// answer closes the connection.
  using error_handler = std::function<void(const reply_slot&, int status)>;

  /// Requests of one connection being answered at once; beyond it, reading
  /// stops, so a client pipelining without end cannot starve the others.
  static constexpr size_t max_in_flight = 32;

  /// Unsent answer bytes of one connection beyond which reading stops until
  /// the client reads: memory stays bounded for clients that never read.
  static constexpr size_t max_unsent = 256 * 1024;

  /// @param io The broker whose connections these are (its clock tells the
  ///           time).
  http_connections(caf::io::abstract_broker* io, connection_limits limits,
                   request_handler on_request, error_handler on_error);

  // -- events from the broker ------------------------------------------------

  /// A new connection. At the cap, the oldest idle keep-alive connection is
  /// closed to make room (as nginx does); if none is idle, `refusal` is sent
  /// and the new connection closed. Answers whether it was taken.
  bool accept(caf::io::connection_handle hdl, const std::string& refusal);

  void on_data(caf::io::connection_handle hdl, const std::vector<char>& buf);

  /// The client half-closed (sends nothing more).
  void on_eof(caf::io::connection_handle hdl);

  void on_transferred(caf::io::connection_handle hdl, size_t remaining);

  void on_closed(caf::io::connection_handle hdl);

  /// Closes connections quiet too long or whose request is past its
  /// deadline, and ends the lingering of closed ones past theirs.
  void sweep();

  // -- answers ---------------------------------------------------------------

  /// Fills a reply slot and writes what is ready, in request order. False
  /// when the slot's connection is gone (an answer for nobody).
  bool fill(const reply_slot& slot, std::string bytes, bool close);

  /// Fills a reply slot with the head of an event stream: the connection
  /// reads no more requests and gets every later broadcast.
  bool open_stream(const reply_slot& slot, std::string bytes);

  /// Sends bytes to every event stream; drops streams that cannot keep up.
  void broadcast(const std::string& bytes);

  // -- inspection ------------------------------------------------------------

  size_t size() const {
    return conns_.size();
  }

  /// Closed connections still lingering (bounded by `linger`).
  size_t lingering() const {
    return lingering_.size();
  }

  const http_connection* find(caf::io::connection_handle hdl) const {
    auto i = conns_.find(hdl);
    return i == conns_.end() ? nullptr : &i->second;
  }

private:
  http_connection* live(const reply_slot& slot);
  void drop(caf::io::connection_handle hdl);
  void close(caf::io::connection_handle hdl);
  void flush_replies(caf::io::connection_handle hdl);
  void pump(caf::io::connection_handle hdl);
  bool expired(const http_connection& c, caf::actor_clock::time_point now) const;
  caf::actor_clock::time_point now() const {
    return io_->clock().now();
  }

  caf::io::abstract_broker* io_;
  connection_limits limits_;
  request_handler on_request_;
  error_handler on_error_;
  std::unordered_map<caf::io::connection_handle, http_connection> conns_;
  /// Closed connections that may still be reading, until when. A handle
  /// accepted again is a new socket: its entry goes.
  std::unordered_map<caf::io::connection_handle, caf::actor_clock::time_point>
    lingering_;
  uint64_t next_id_ = 1;
  /// Scratch for the requests of one read (keeps its capacity).
  std::vector<http_request> parsed_;
};

} // namespace sheetsync
