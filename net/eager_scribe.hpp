#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <caf/expected.hpp>
#include <caf/io/abstract_broker.hpp>
#include <caf/io/accept_handle.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/scribe.hpp>

#include "net/socket_stream.hpp"

namespace sheetsync {

/// The scribe of the HTTP facade's connections. Its socket I/O is a
/// socket_stream (no buffers while idle); its differences from CAF 0.17's own
/// scribe:
///
/// - A flushed answer goes straight to the socket when nothing of the
///   connection still waits to go out. CAF's stream registers the socket for
///   write events on every flush and removes it once the buffer is out: two
///   `epoll_ctl` calls and one more loop turn per answer, a third of the
///   syscalls of a status poll. Whatever does not fit (a large page, a slow
///   reader) goes to the stream as before, and everything after it waits
///   behind it, so bytes never overtake each other. Only while the broker
///   does not ask for write receipts: those would have to be delivered from
///   inside its own `flush` call.
///
/// - A client that half-closes (sends its requests, then FIN) is still
///   answered. CAF treats the end of input as a broken connection and drops
///   it with the answers still owed; this scribe stops reading, keeps the
///   sending side, and tells the broker `(atom::eof, handle)`. The broker
///   closes the connection once it has answered.
///
/// - Closing lingers, as nginx's lingering close does: the FIN goes out after
///   the queued answer, then what the client still sends is read and
///   discarded until it closes too. Closing a socket with unread input makes
///   the kernel send a reset, which can destroy our answer (a 503 at the
///   connection cap, say) before the client reads it. The lingering ends at
///   the client's FIN or reset, after `max_drain` bytes, or when the broker
///   closes the handle a second time (its time bound).
class eager_scribe : public caf::io::scribe {
public:
  eager_scribe(caf::io::network::default_multiplexer& mpx,
               caf::io::network::native_socket fd);

  // -- caf::io::scribe (as scribe_impl, with the differences above) ---------

  void configure_read(caf::io::receive_policy::config config) override;

  void ack_writes(bool enable) override;

  std::vector<char>& wr_buf() override;

  std::vector<char>& rd_buf() override;

  void graceful_shutdown() override;

  void flush() override;

  std::string addr() const override;

  uint16_t port() const override;

  void launch();

  void add_to_loop() override;

  void remove_from_loop() override;

  void data_transferred(caf::execution_unit* ctx, size_t written,
                        size_t remaining) override;

  bool consume(caf::execution_unit* ctx, const void* buf,
               size_t num_bytes) override;

  /// Bytes read and discarded while lingering at most.
  static constexpr size_t max_drain = 256 * 1024;

  /// Called by the stream when the peer has sent all it will send.
  void end_of_input();

  /// Flushes sent whole without the stream, by every eager scribe of the
  /// process: what shows that the short path is taken.
  static uint64_t direct_sends();

private:
  bool launched_ = false;
  /// What the broker asked for; the stream always reports.
  bool acks_wanted_ = false;
  /// The peer sent its FIN: nothing is read any more.
  bool input_ended_ = false;
  /// Closed by the broker; still reading (and discarding) until the peer
  /// closes.
  bool lingering_ = false;
  size_t drained_ = 0;
  /// What was read, for the broker's new_data_msg: filled per read and given
  /// back after it (an idle connection holds no read buffer).
  std::vector<char> rd_buf_;
  socket_stream stream_;
};

/// Accepts connections as eager scribes, all that wait at a readiness event
/// (up to max_accepts) instead of CAF's one.
class eager_doorman : public caf::io::network::doorman_impl {
public:
  using doorman_impl::doorman_impl;

  bool new_connection() override;

  /// Connections taken at one readiness event at most.
  static constexpr size_t max_accepts = 64;

  /// Connections taken after the first of their event, by every eager
  /// doorman of the process: what shows that waiting ones are taken at once.
  static uint64_t batched_accepts();

private:
  bool take(caf::io::network::native_socket fd);
};

/// Like `abstract_broker::add_tcp_doorman`, with eager scribes for the
/// accepted connections on CAF's default multiplexer (other multiplexers, the
/// test multiplexer among them, get their usual doorman).
caf::expected<std::pair<caf::io::accept_handle, uint16_t>>
add_eager_tcp_doorman(caf::io::abstract_broker* self, uint16_t port,
                      const std::string& host, bool reuse_addr);

} // namespace sheetsync
