#include "net/socket_stream.hpp"

#include <algorithm>
#include <cerrno>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "net/eager_scribe.hpp"

namespace sheetsync {

using caf::io::network::operation;

namespace {

/// Reads per readiness event at most, as CAF's default
/// (middleman.max-consecutive-reads): a client that sends without pause does
/// not hold the thread.
constexpr size_t max_reads = 50;

/// The buffer every connection of a multiplexer thread reads into: 64 KiB
/// once per thread instead of 8 KiB per connection.
std::vector<char>& read_buffer() {
  static thread_local std::vector<char> buf(64 * 1024);
  return buf;
}

bool would_block() {
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/// Gives a buffer's memory back (clear() keeps it).
void release(std::vector<char>& buf) {
  std::vector<char>{}.swap(buf);
}

} // namespace

socket_stream::socket_stream(caf::io::network::default_multiplexer& mpx,
                             caf::io::network::native_socket fd,
                             eager_scribe* owner)
  : event_handler(mpx, fd), owner_(owner) {
  // nop
}

void socket_stream::activate(caf::io::network::stream_manager* mgr) {
  reader_.reset(mgr);
  if (!reading_) {
    reading_ = true;
    event_handler::activate();
  }
}

void socket_stream::passivate() {
  if (reading_) {
    reading_ = false;
    event_handler::passivate();
  }
}

bool socket_stream::flush(caf::io::network::stream_manager* mgr, bool direct) {
  if (wr_buf_.empty())
    return false;
  if (state_.writing)
    return false; // Waits in wr_buf_ until out_ is out.
  if (direct) {
    auto n = ::send(fd(), wr_buf_.data(), wr_buf_.size(), MSG_NOSIGNAL);
    if (n > 0 && static_cast<size_t>(n) == wr_buf_.size()) {
      release(wr_buf_);
      return true;
    }
    // A full send buffer or an error: the write events take over and report
    // an error the usual way.
    if (n > 0)
      wr_buf_.erase(wr_buf_.begin(), wr_buf_.begin() + n);
  }
  out_.swap(wr_buf_); // wr_buf_ gets the empty out_: nothing to free.
  sent_ = 0;
  writer_.reset(mgr);
  state_.writing = true;
  backend().add(operation::write, fd(), this);
  return false;
}

void socket_stream::handle_event(operation op) {
  switch (op) {
    case operation::read:
      read_some();
      break;
    case operation::write:
      write_some();
      break;
    case operation::propagate_error:
      if (reader_)
        reader_->io_failure(&backend(), operation::read);
      if (writer_)
        writer_->io_failure(&backend(), operation::write);
      break;
  }
}

void socket_stream::removed_from_loop(operation op) {
  switch (op) {
    case operation::read:
      reader_.reset();
      break;
    case operation::write:
      writer_.reset();
      break;
    case operation::propagate_error:
      break;
  }
}

void socket_stream::graceful_shutdown() {
  if (state_.shutting_down)
    return;
  state_.shutting_down = true;
  // Otherwise the FIN goes once the last byte is out (stop_writing).
  if (!state_.writing)
    caf::io::network::shutdown_write(fd());
}

void socket_stream::read_some() {
  auto& buf = read_buffer();
  auto limit = std::min(read_limit_, buf.size());
  for (size_t i = 0; i < max_reads && reader_ && reading_; ++i) {
    auto n = ::recv(fd(), buf.data(), limit, 0);
    if (n > 0) {
      if (!reader_->consume(&backend(), buf.data(), static_cast<size_t>(n))) {
        passivate();
        return;
      }
      if (static_cast<size_t>(n) < limit)
        return; // Drained.
      continue;
    }
    if (n < 0 && would_block())
      return;
    if (n == 0) {
      // After a reset whose error an earlier send already took, recv also
      // returns 0: only CLOSE_WAIT (the peer's FIN, nothing else) is a
      // half-close.
      tcp_info info{};
      socklen_t info_len = sizeof(info);
      if (::getsockopt(fd(), IPPROTO_TCP, TCP_INFO, &info, &info_len) == 0
          && info.tcpi_state == TCP_CLOSE_WAIT) {
        owner_->end_of_input();
        return;
      }
    }
    reader_->io_failure(&backend(), operation::read);
    passivate();
    return;
  }
}

void socket_stream::write_some() {
  if (!writer_ || !state_.writing)
    return;
  auto n = ::send(fd(), out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
  if (n < 0) {
    if (would_block())
      return;
    writer_->io_failure(&backend(), operation::write);
    stop_writing();
    return;
  }
  sent_ += static_cast<size_t>(n);
  // The receipt may write more: into wr_buf_, behind what waits.
  writer_->data_transferred(&backend(), static_cast<size_t>(n), unsent());
  if (!state_.writing || sent_ < out_.size())
    return;
  if (wr_buf_.empty()) {
    stop_writing();
    return;
  }
  release(out_);
  out_.swap(wr_buf_);
  sent_ = 0;
}

void socket_stream::stop_writing() {
  release(out_);
  sent_ = 0;
  state_.writing = false;
  backend().del(operation::write, fd(), this);
  if (state_.shutting_down)
    caf::io::network::shutdown_write(fd());
}

} // namespace sheetsync
