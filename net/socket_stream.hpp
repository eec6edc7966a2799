#pragma once

#include <cstddef>
#include <vector>

#include <caf/intrusive_ptr.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/event_handler.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/operation.hpp>
#include <caf/io/network/stream_manager.hpp>

namespace sheetsync {

class eager_scribe;

/// The socket I/O of an eager scribe, in place of CAF 0.17's stream, which
/// keeps a read buffer of the configured size (8 KiB for the facade) and two
/// write buffers at their largest size for the life of every connection:
/// 10 KiB per idle keep-alive connection. Here a connection holds no buffer
/// while it is idle, as nginx's do:
///
/// - reads go to one buffer per multiplexer thread and are handed on at
///   once (the scribe copies exactly what arrived for the broker);
/// - an answer is written straight to the socket when nothing of the
///   connection waits (see eager_scribe::flush); only what the socket does
///   not take is kept, and given back once it is out.
///
/// A read that returns less than was asked for ends the turn: the socket is
/// drained, and level-triggered epoll reports it again if more came (CAF reads
/// until EAGAIN, one more system call per request).
class socket_stream : public caf::io::network::event_handler {
public:
  using manager_ptr = caf::intrusive_ptr<caf::io::network::stream_manager>;

  socket_stream(caf::io::network::default_multiplexer& mpx,
                caf::io::network::native_socket fd, eager_scribe* owner);

  /// Starts reading for `mgr` (kept alive while registered).
  void activate(caf::io::network::stream_manager* mgr);

  /// Stops reading (until activate).
  void passivate();

  /// At most this many bytes are handed over per read.
  void read_limit(size_t n) {
    read_limit_ = n;
  }

  /// Where the broker's writes go until the next flush.
  std::vector<char>& wr_buf() {
    return wr_buf_;
  }

  /// Sends what wr_buf() holds: straight away if `direct` and nothing waits
  /// (true when all of it went), else from the write events. While earlier
  /// bytes are still going out, it stays in wr_buf() (whose size is what
  /// the broker sees waiting, as with CAF's stream) and follows them.
  bool flush(caf::io::network::stream_manager* mgr, bool direct);

  /// Bytes flushed and not yet sent.
  size_t unsent() const {
    return out_.size() - sent_ + wr_buf_.size();
  }

  void handle_event(caf::io::network::operation op) override;

  void removed_from_loop(caf::io::network::operation op) override;

  /// Sends the FIN once everything handed over is out.
  void graceful_shutdown() override;

private:
  void read_some();
  void write_some();
  void stop_writing();

  eager_scribe* owner_;
  manager_ptr reader_;
  manager_ptr writer_;
  /// Registered for reading (CAF's event_handler does not track it).
  bool reading_ = false;
  size_t read_limit_ = 8192;
  std::vector<char> wr_buf_;
  /// Being written; `sent_` bytes of it are out.
  std::vector<char> out_;
  size_t sent_ = 0;
};

} // namespace sheetsync
