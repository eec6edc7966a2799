#include "net/http_connection.hpp"

#include <string_view>

#include <caf/io/doorman.hpp>
#include <caf/io/receive_policy.hpp>
#include <caf/io/scribe.hpp>

namespace sheetsync {

using caf::io::connection_handle;

namespace {

/// Takes the first element; an emptied queue gives its memory back (idle
/// connections are most of them).
template <class T>
T take_front(std::vector<T>& xs) {
  auto x = std::move(xs.front());
  xs.erase(xs.begin());
  if (xs.empty())
    std::vector<T>{}.swap(xs);
  return x;
}

} // namespace

http_connections::http_connections(caf::io::abstract_broker* io,
                                   connection_limits limits,
                                   request_handler on_request,
                                   error_handler on_error)
  : io_(io),
    limits_(limits),
    on_request_(std::move(on_request)),
    on_error_(std::move(on_error)) {
  // nop
}

// -- events from the broker ---------------------------------------------------

bool http_connections::accept(connection_handle hdl,
                              const std::string& refusal) {
  lingering_.erase(hdl); // The number was free again: a new socket.
  if (conns_.size() >= limits_.max_connections) {
    // At the cap: an idle keep-alive connection makes room (its client may
    // come back later; this one asks now).
    auto oldest = conns_.end();
    for (auto i = conns_.begin(); i != conns_.end(); ++i)
      if (i->second.idle_keep_alive()
          && (oldest == conns_.end()
              || i->second.last_active < oldest->second.last_active))
        oldest = i;
    if (oldest != conns_.end()) {
      drop(oldest->first);
    } else {
      // Over the cap: answer, then close. It still reads (and discards), so
      // that its unread request does not turn our close into a reset.
      io_->configure_read(hdl, caf::io::receive_policy::at_most(8192));
      io_->write(hdl, refusal.size(), refusal.data());
      io_->flush(hdl);
      close(hdl);
      return false;
    }
  }
  auto& c = conns_[hdl];
  c.id = next_id_++;
  c.last_active = now();
  io_->configure_read(hdl, caf::io::receive_policy::at_most(8192));
  return true;
}

void http_connections::on_data(connection_handle hdl,
                               const std::vector<char>& buf) {
  auto i = conns_.find(hdl);
  if (i == conns_.end())
    return;
  auto& c = i->second;
  c.last_active = now();
  if (c.closing)
    return; // Streams and closing connections read nothing more.
  auto status = c.parser.feed(std::string_view{buf.data(), buf.size()},
                              parsed_);
  bool completed = !parsed_.empty();
  for (auto& req : parsed_)
    c.queued.push_back(std::move(req));
  parsed_.clear();
  // A request that trickles in byte by byte must still end in time. Its
  // clock starts with its own first byte: after a request completed in this
  // read, the unfinished one began here.
  if (c.parser.pending_bytes() == 0)
    c.partial_since.reset();
  else if (completed || !c.partial_since)
    c.partial_since = c.last_active;
  if (status != 0) {
    // Answered after the requests before it, then the connection closes.
    http_request bad;
    bad.method = "!"; // Marks the parse error; no method has this name.
    bad.target = std::to_string(status);
    bad.keep_alive = false;
    c.queued.push_back(std::move(bad));
  }
  pump(hdl);
}

void http_connections::on_eof(connection_handle hdl) {
  auto i = conns_.find(hdl);
  if (i == conns_.end() || i->second.peer_done)
    return;
  if (i->second.stream) {
    // An event stream's reader that stops sending has gone.
    drop(hdl);
    return;
  }
  i->second.peer_done = true;
  pump(hdl);
}

void http_connections::on_transferred(connection_handle hdl,
                                      size_t remaining) {
  auto i = conns_.find(hdl);
  if (i == conns_.end())
    return;
  i->second.backlog = remaining;
  i->second.last_active = now(); // The client reads.
  if (!i->second.stream)
    pump(hdl);
}

void http_connections::on_closed(connection_handle hdl) {
  conns_.erase(hdl);
  lingering_.erase(hdl);
}

void http_connections::sweep() {
  auto t = now();
  std::vector<connection_handle> idle;
  for (auto& [hdl, c] : conns_)
    if (expired(c, t))
      idle.push_back(hdl);
  for (auto hdl : idle)
    drop(hdl);
  for (auto i = lingering_.begin(); i != lingering_.end();)
    if (t >= i->second) {
      io_->close(i->first); // The second close ends the lingering.
      i = lingering_.erase(i);
    } else {
      ++i;
    }
}

// -- answers ------------------------------------------------------------------

http_connection* http_connections::live(const reply_slot& slot) {
  auto i = conns_.find(slot.hdl);
  // Another connection on the same socket number is not the one asked.
  if (i == conns_.end() || i->second.id != slot.conn)
    return nullptr;
  auto& c = i->second;
  if (slot.seq < c.first_seq || slot.seq - c.first_seq >= c.replies.size())
    return nullptr;
  return &c;
}

bool http_connections::fill(const reply_slot& slot, std::string bytes,
                            bool close) {
  auto c = live(slot);
  if (c == nullptr)
    return false;
  auto& reply = c->replies[slot.seq - c->first_seq];
  reply.bytes = std::move(bytes);
  reply.close = close;
  flush_replies(slot.hdl);
  return true;
}

bool http_connections::open_stream(const reply_slot& slot, std::string bytes) {
  auto c = live(slot);
  if (c == nullptr)
    return false;
  auto& reply = c->replies[slot.seq - c->first_seq];
  reply.bytes = std::move(bytes);
  reply.stream = true;
  c->closing = true; // A stream reads no more requests.
  flush_replies(slot.hdl);
  return true;
}

void http_connections::broadcast(const std::string& bytes) {
  std::vector<connection_handle> slow;
  for (auto& [hdl, c] : conns_) {
    if (!c.stream) {
      // A stream whose head still waits behind earlier answers (always the
      // connection's last slot): the event joins it, so nothing is missed.
      if (!c.replies.empty() && c.replies.back().stream
          && c.replies.back().bytes)
        *c.replies.back().bytes += bytes;
      continue;
    }
    if (c.backlog + bytes.size() > limits_.max_stream_backlog) {
      slow.push_back(hdl);
      continue;
    }
    c.backlog += bytes.size();
    io_->write(hdl, bytes.size(), bytes.data());
    io_->flush(hdl);
  }
  for (auto hdl : slow)
    drop(hdl);
}

// -- internals ----------------------------------------------------------------

/// Closes a connection (queued bytes are still sent) and forgets it.
void http_connections::drop(connection_handle hdl) {
  close(hdl);
  conns_.erase(hdl);
}

/// Closes gracefully: our FIN after the queued bytes, the client's late bytes
/// read until it closes too or `linger` has passed.
void http_connections::close(connection_handle hdl) {
  io_->close(hdl);
  lingering_[hdl] = now() + limits_.linger;
}

/// Writes the replies that are ready, in request order.
void http_connections::flush_replies(connection_handle hdl) {
  auto i = conns_.find(hdl);
  if (i == conns_.end())
    return;
  auto& c = i->second;
  bool wrote = false;
  while (!c.replies.empty() && c.replies.front().bytes) {
    auto reply = take_front(c.replies);
    ++c.first_seq;
    io_->write(hdl, reply.bytes->size(), reply.bytes->data());
    wrote = true;
    if (reply.stream) {
      c.stream = true;
      io_->ack_writes(hdl, true);
    }
    if (reply.close) {
      io_->flush(hdl);
      drop(hdl);
      return;
    }
  }
  if (wrote) {
    io_->flush(hdl);
    pump(hdl);
  }
}

/// Hands queued requests on while the connection has room, and suspends or
/// resumes reading from its socket accordingly.
void http_connections::pump(connection_handle hdl) {
  for (;;) {
    auto i = conns_.find(hdl);
    if (i == conns_.end())
      return; // A reply closed it.
    auto& c = i->second;
    if (c.stream)
      return;
    if (c.peer_done && c.queued.empty() && c.replies.empty()) {
      drop(hdl); // Everything it asked is answered.
      return;
    }
    bool has_room = c.replies.size() < max_in_flight
                    && io_->wr_buf(hdl).size() < max_unsent;
    if (c.queued.empty() || c.closing || !has_room) {
      bool blocked = !c.queued.empty() && !c.closing;
      if (blocked && !c.halted) {
        c.halted = true;
        io_->halt(hdl);
        // Tell us when the client has read, to resume.
        io_->ack_writes(hdl, true);
      } else if (!blocked && c.halted && !c.closing && !c.peer_done) {
        c.halted = false;
        // The client could not send while we did not read.
        if (c.partial_since)
          c.partial_since = now();
        io_->trigger(hdl);
      }
      return;
    }
    auto req = take_front(c.queued);
    reply_slot slot;
    slot.hdl = hdl;
    slot.conn = c.id;
    slot.seq = c.next_seq++;
    slot.head = req.method == "HEAD";
    slot.keep_alive = req.keep_alive;
    c.replies.emplace_back();
    if (!req.keep_alive)
      c.closing = true;
    if (req.method == "!") {
      c.closing = true;
      slot.keep_alive = false;
      on_error_(slot, std::stoi(req.target));
    } else {
      on_request_(slot, req);
    }
  }
}

/// Whether a connection has been quiet too long: no request for the idle
/// time, or an unfinished request past its deadline. Not while it still has
/// answers to give or requests to answer (a client that pipelined a lot and
/// reads slowly is busy, not idle), unless it has read nothing of them for
/// the idle time.
bool http_connections::expired(const http_connection& c,
                               caf::actor_clock::time_point now) const {
  if (c.stream)
    return false; // Streams end when their reader falls behind.
  auto quiet = now - c.last_active;
  if (c.halted || !c.replies.empty() || !c.queued.empty())
    return c.halted && quiet >= limits_.idle_timeout;
  return quiet >= limits_.idle_timeout
         || (c.partial_since
             && now - *c.partial_since >= limits_.request_deadline);
}

} // namespace sheetsync
