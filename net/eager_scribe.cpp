#include "net/eager_scribe.hpp"

#include <atomic>

#include <caf/actor_cast.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/policy/tcp.hpp>
#include <caf/send.hpp>

#include "messages/type_ids.hpp"

namespace sheetsync {

namespace {

std::atomic<uint64_t> direct_sends_total;
std::atomic<uint64_t> batched_accepts_total;

} // namespace

// -- eager_scribe -------------------------------------------------------------

uint64_t eager_scribe::direct_sends() {
  return direct_sends_total.load(std::memory_order_relaxed);
}

eager_scribe::eager_scribe(caf::io::network::default_multiplexer& mpx,
                           caf::io::network::native_socket fd)
  : scribe(caf::io::network::conn_hdl_from_socket(fd)),
    stream_(mpx, fd, this) {
  // nop
}

void eager_scribe::configure_read(caf::io::receive_policy::config config) {
  // Only the size counts: the facade reads whatever arrives (at_most).
  stream_.read_limit(config.second);
  if (!launched_)
    launch();
}

void eager_scribe::ack_writes(bool enable) {
  acks_wanted_ = enable;
}

std::vector<char>& eager_scribe::wr_buf() {
  return stream_.wr_buf();
}

std::vector<char>& eager_scribe::rd_buf() {
  return rd_buf_;
}

void eager_scribe::graceful_shutdown() {
  if (lingering_) {
    // The broker's second close: the time is up.
    stream_.passivate();
    detach(&stream_.backend(), false);
    return;
  }
  stream_.graceful_shutdown();
  if (launched_ && !input_ended_) {
    // Stay attached (and reading) until the peer closes or the broker closes
    // again; the broker forgets the handle meanwhile.
    lingering_ = true;
    return;
  }
  detach(&stream_.backend(), false);
}

bool eager_scribe::consume(caf::execution_unit* ctx, const void* buf,
                           size_t num_bytes) {
  if (!lingering_) {
    // scribe::consume hands rd_buf() to the broker (swapped into its
    // message); `buf` is the thread's read buffer.
    auto bytes = static_cast<const char*>(buf);
    rd_buf_.assign(bytes, bytes + num_bytes);
    auto more = scribe::consume(ctx, rd_buf_.data(), num_bytes);
    std::vector<char>{}.swap(rd_buf_);
    return more;
  }
  drained_ += num_bytes;
  if (drained_ <= max_drain)
    return true; // Discarded.
  // Returning false stops the reading; the socket closes.
  detach(ctx, false);
  return false;
}

void eager_scribe::flush() {
  // Receipts would have to reach the broker from inside its own flush call:
  // with them, everything goes through the write events.
  if (stream_.flush(this, !acks_wanted_))
    direct_sends_total.fetch_add(1, std::memory_order_relaxed);
}

std::string eager_scribe::addr() const {
  auto x = caf::io::network::remote_addr_of_fd(stream_.fd());
  return x ? std::move(*x) : std::string{};
}

uint16_t eager_scribe::port() const {
  auto x = caf::io::network::remote_port_of_fd(stream_.fd());
  return x ? *x : 0;
}

void eager_scribe::launch() {
  launched_ = true;
  stream_.activate(this);
}

void eager_scribe::add_to_loop() {
  stream_.activate(this);
}

void eager_scribe::remove_from_loop() {
  stream_.passivate();
}

void eager_scribe::data_transferred(caf::execution_unit* ctx, size_t written,
                                    size_t remaining) {
  if (acks_wanted_)
    scribe::data_transferred(ctx, written, remaining);
}

void eager_scribe::end_of_input() {
  // Level-triggered epoll would report the end again and again: read no more.
  stream_.passivate();
  input_ended_ = true;
  if (lingering_) {
    // Both sides are done: the socket closes once our FIN is out.
    detach(&stream_.backend(), false);
    return;
  }
  if (detached())
    return;
  // Through the mailbox, not from inside the multiplexer's read: the broker
  // gets it after the data read before it.
  caf::anon_send(caf::actor_cast<caf::actor>(parent()), atom::eof_v, hdl());
}

// -- eager_doorman ------------------------------------------------------------

uint64_t eager_doorman::batched_accepts() {
  return batched_accepts_total.load(std::memory_order_relaxed);
}

bool eager_doorman::new_connection() {
  // CAF's acceptor takes one connection per readiness event, and the
  // multiplexer serves every other ready socket before the next: with 1,000
  // clients connecting at once, the last waited a thousand busy loop turns
  // (wrk counted requests over 2 s). Here what waits is taken at once, up to
  // max_accepts, as nginx's multi_accept does.
  if (!take(acceptor_.accepted_socket()))
    return false;
  for (size_t i = 1; i < max_accepts; ++i) {
    auto fd = caf::io::network::invalid_native_socket;
    if (!caf::policy::tcp::try_accept(fd, acceptor_.fd())
        || fd == caf::io::network::invalid_native_socket)
      break; // Nothing more waits (or an error the next event reports).
    batched_accepts_total.fetch_add(1, std::memory_order_relaxed);
    if (!take(fd))
      return false;
  }
  return true;
}

bool eager_doorman::take(caf::io::network::native_socket fd) {
  // As doorman_impl::new_connection, with an eager scribe.
  if (detached()) {
    caf::io::network::close_socket(fd);
    return false;
  }
  auto& mpx = acceptor_.backend();
  auto ptr = caf::make_counted<eager_scribe>(mpx, fd);
  auto hdl = ptr->hdl();
  parent()->add_scribe(std::move(ptr));
  return doorman::new_connection(&mpx, hdl);
}

caf::expected<std::pair<caf::io::accept_handle, uint16_t>>
add_eager_tcp_doorman(caf::io::abstract_broker* self, uint16_t port,
                      const std::string& host, bool reuse_addr) {
  using caf::io::network::default_multiplexer;
  auto mpx = dynamic_cast<default_multiplexer*>(&self->backend());
  if (mpx == nullptr)
    return self->add_tcp_doorman(port, host.c_str(), reuse_addr);
  auto fd = caf::io::network::new_tcp_acceptor_impl(port, host.c_str(),
                                                    reuse_addr);
  if (!fd)
    return std::move(fd.error());
  auto ptr = caf::make_counted<eager_doorman>(*mpx, *fd);
  auto hdl = ptr->hdl();
  auto bound = ptr->port();
  self->add_doorman(std::move(ptr));
  return std::make_pair(hdl, bound);
}

} // namespace sheetsync
