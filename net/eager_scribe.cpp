#include "net/eager_scribe.hpp"

#include <atomic>

#include <sys/socket.h>
#include <sys/types.h>

#include <caf/io/network/default_multiplexer.hpp>

namespace sheetsync {

namespace {

std::atomic<uint64_t> direct_sends_total;

} // namespace

uint64_t eager_scribe::direct_sends() {
  return direct_sends_total.load(std::memory_order_relaxed);
}

eager_scribe::eager_scribe(caf::io::network::default_multiplexer& mpx,
                           caf::io::network::native_socket fd)
  : scribe_impl(mpx, fd) {
  stream_.ack_writes(true);
}

void eager_scribe::ack_writes(bool enable) {
  acks_wanted_ = enable;
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
  scribe_impl::flush();
}

void eager_scribe::data_transferred(caf::execution_unit* ctx, size_t written,
                                    size_t remaining) {
  if (remaining == 0)
    stream_busy_ = false;
  if (acks_wanted_)
    scribe::data_transferred(ctx, written, remaining);
}

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
