#pragma once

// Blocking client sockets on 127.0.0.1 for the suites that talk to a broker
// over CAF's real multiplexer (eager_scribe, facade_sockets). Every socket
// gives up reading after 10 s, so a missing byte fails a test instead of
// hanging it.

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <caf/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace sheetsync::test {

/// A TCP socket with the read timeout, not connected yet; -1 if there is
/// none (connecting it then fails).
inline int timed_socket() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

/// A TCP socket, not connected yet (a check that there is one).
inline int new_socket() {
  int fd = timed_socket();
  CAF_REQUIRE(fd >= 0);
  return fd;
}

/// Connects `fd` to 127.0.0.1:`port`; fails the test if it cannot.
inline void connect_to(int fd, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    CAF_FAIL("cannot connect to 127.0.0.1:" << port << ": "
                                            << strerror(errno));
}

/// A new socket connected to 127.0.0.1:`port`.
inline int connect_to(uint16_t port) {
  int fd = timed_socket();
  connect_to(fd, port);
  return fd;
}

/// Sends all of `x` in one call; fails the test if it cannot.
inline void send_all(int fd, const std::string& x) {
  CAF_REQUIRE_EQUAL(::send(fd, x.data(), x.size(), MSG_NOSIGNAL),
                    static_cast<ssize_t>(x.size()));
}

/// `n` bytes, or fewer if the connection ends or the read times out first.
inline std::string read_exactly(int fd, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    auto r = ::recv(fd, &out[got], n - got, 0);
    if (r <= 0)
      break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

/// The bytes up to the next '\n' (without it), or to the end.
inline std::string read_line(int fd) {
  std::string out;
  char c;
  while (::recv(fd, &c, 1, 0) == 1 && c != '\n')
    out += c;
  return out;
}

} // namespace sheetsync::test
