#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <caf/expected.hpp>
#include <caf/io/abstract_broker.hpp>
#include <caf/io/accept_handle.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/network/scribe_impl.hpp>

namespace sheetsync {

/// A scribe that sends a flushed answer straight away when nothing of the
/// connection is still waiting to go out.
///
/// CAF 0.17's stream registers the socket for write events on every flush and
/// removes it once the buffer is out: two `epoll_ctl` calls and one more loop
/// turn per answer, a third of the syscalls of a status poll. A short answer
/// to a socket with room in its send buffer needs none of that. Whatever does
/// not fit (a large page, a slow reader) goes to the stream as before, and
/// everything after it waits behind it, so bytes never overtake each other.
///
/// Only while the broker does not ask for write receipts: those would have to
/// be delivered from inside its own `flush` call.
class eager_scribe : public caf::io::network::scribe_impl {
public:
  eager_scribe(caf::io::network::default_multiplexer& mpx,
               caf::io::network::native_socket fd);

  void ack_writes(bool enable) override;

  void flush() override;

  void data_transferred(caf::execution_unit* ctx, size_t written,
                        size_t remaining) override;

  /// Flushes sent whole without the stream, by every eager scribe of the
  /// process: what shows that the short path is taken.
  static uint64_t direct_sends();

private:
  /// What the broker asked for; the stream always reports, so that the scribe
  /// knows when it is empty again.
  bool acks_wanted_ = false;
  /// Bytes were handed to the stream and it has not reported them all sent.
  bool stream_busy_ = false;
};

/// Accepts connections as eager scribes.
class eager_doorman : public caf::io::network::doorman_impl {
public:
  using doorman_impl::doorman_impl;

  bool new_connection() override;
};

/// Like `abstract_broker::add_tcp_doorman`, with eager scribes for the
/// accepted connections on CAF's default multiplexer (other multiplexers, the
/// test multiplexer among them, get their usual doorman).
caf::expected<std::pair<caf::io::accept_handle, uint16_t>>
add_eager_tcp_doorman(caf::io::abstract_broker* self, uint16_t port,
                      const std::string& host, bool reuse_addr);

} // namespace sheetsync
