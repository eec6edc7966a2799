#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <caf/expected.hpp>
#include <caf/io/abstract_broker.hpp>
#include <caf/io/accept_handle.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/network/rw_state.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/io/scribe.hpp>

namespace sheetsync {

class eager_scribe;

/// CAF's TCP policy, except that the peer's end of input (FIN: it sent all it
/// will send) is handed to the scribe instead of failing the connection.
struct half_close_tcp {
  eager_scribe* owner;

  explicit half_close_tcp(eager_scribe* owner) : owner(owner) {
    // nop
  }

  caf::io::network::rw_state read_some(size_t& result,
                                       caf::io::network::native_socket fd,
                                       void* buf, size_t len);

  static caf::io::network::rw_state
  write_some(size_t& result, caf::io::network::native_socket fd,
             const void* buf, size_t len);

  static constexpr bool must_read_more(caf::io::network::native_socket,
                                       size_t) {
    return false;
  }
};

/// The scribe of the HTTP facade's connections. Two differences from CAF
/// 0.17's own:
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

  /// Called by the policy when the peer has sent all it will send.
  void end_of_input();

  /// Flushes sent whole without the stream, by every eager scribe of the
  /// process: what shows that the short path is taken.
  static uint64_t direct_sends();

private:
  bool launched_ = false;
  /// What the broker asked for; the stream always reports, so that the scribe
  /// knows when it is empty again.
  bool acks_wanted_ = false;
  /// Bytes were handed to the stream and it has not reported them all sent.
  bool stream_busy_ = false;
  /// The peer sent its FIN: nothing is read any more.
  bool input_ended_ = false;
  /// Closed by the broker; still reading (and discarding) until the peer
  /// closes.
  bool lingering_ = false;
  size_t drained_ = 0;
  caf::io::network::stream_impl<half_close_tcp> stream_;
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
