#include "net/eager_scribe.hpp"

#include <atomic>
#include <cerrno>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <caf/actor_cast.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/policy/tcp.hpp>
#include <caf/send.hpp>

#include "messages/type_ids.hpp"

namespace sheetsync {

namespace {

std::atomic<uint64_t> direct_sends_total;

} // namespace

// -- half_close_tcp -----------------------------------------------------------

caf::io::network::rw_state
half_close_tcp::read_some(size_t& result, caf::io::network::native_socket fd,
                          void* buf, size_t len) {
  using caf::io::network::rw_state;
  result = 0;
  auto n = ::recv(fd, buf, len, 0);
  if (n > 0) {
    result = static_cast<size_t>(n);
    return rw_state::success;
  }
  if (n == 0) {
    // After a reset whose error an earlier send already took, recv also
    // returns 0: only CLOSE_WAIT (the peer's FIN, nothing else) is a
    // half-close.
    tcp_info info{};
    socklen_t info_len = sizeof(info);
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &info_len) != 0
        || info.tcpi_state != TCP_CLOSE_WAIT)
      return rw_state::failure;
    owner->end_of_input();
    return rw_state::indeterminate; // Nothing read; stop this round.
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    return rw_state::success; // Nothing to read now, as CAF's policy says.
  return rw_state::failure;
}

caf::io::network::rw_state
half_close_tcp::write_some(size_t& result, caf::io::network::native_socket fd,
                           const void* buf, size_t len) {
  return caf::policy::tcp::write_some(result, fd, buf, len);
}

// -- eager_scribe -------------------------------------------------------------

uint64_t eager_scribe::direct_sends() {
  return direct_sends_total.load(std::memory_order_relaxed);
}

eager_scribe::eager_scribe(caf::io::network::default_multiplexer& mpx,
                           caf::io::network::native_socket fd)
  : scribe(caf::io::network::conn_hdl_from_socket(fd)),
    stream_(mpx, fd, this) {
  stream_.ack_writes(true);
}

void eager_scribe::configure_read(caf::io::receive_policy::config config) {
  stream_.configure_read(config);
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
  return stream_.rd_buf();
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
  if (!lingering_)
    return scribe::consume(ctx, buf, num_bytes);
  drained_ += num_bytes;
  if (drained_ <= max_drain)
    return true; // Discarded.
  // Returning false stops the reading; the socket closes.
  detach(ctx, false);
  return false;
}

void eager_scribe::flush() {
  auto& buf = stream_.wr_buf();
  if (buf.empty())
    return;
  if (!stream_busy_ && !acks_wanted_) {
    auto sent = ::send(stream_.fd(), buf.data(), buf.size(), MSG_NOSIGNAL);
    // A full send buffer or an error: the stream takes over and, on an error,
    // reports it the usual way.
    if (sent > 0) {
      buf.erase(buf.begin(), buf.begin() + sent);
      if (buf.empty()) {
        direct_sends_total.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
  }
  stream_busy_ = true;
  stream_.flush(this);
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
  stream_.start(this);
}

void eager_scribe::add_to_loop() {
  stream_.activate(this);
}

void eager_scribe::remove_from_loop() {
  stream_.passivate();
}

void eager_scribe::data_transferred(caf::execution_unit* ctx, size_t written,
                                    size_t remaining) {
  if (remaining == 0)
    stream_busy_ = false;
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

bool eager_doorman::new_connection() {
  // As doorman_impl::new_connection, with an eager scribe.
  if (detached())
    return false;
  auto& mpx = acceptor_.backend();
  auto ptr = caf::make_counted<eager_scribe>(mpx, acceptor_.accepted_socket());
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
