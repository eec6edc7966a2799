#include "cli/listen_failure.hpp"

#include <cerrno>
#include <cstring>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sheetsync {

namespace {

/// The errno of binding `host`:`port` as CAF does (SO_REUSEADDR), or 0 when
/// the bind works (or the address cannot be resolved: nothing learnt).
int probe_bind(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  auto service = std::to_string(port);
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &res) != 0
      || res == nullptr)
    return 0;
  int result = 0;
  auto fd = ::socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (fd >= 0) {
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0)
      result = errno;
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return result;
}

} // namespace

std::string listen_failure(const std::string& host, uint16_t port,
                           const std::string& flag,
                           const std::string& caf_text) {
  auto shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  switch (auto err = probe_bind(host, port)) {
    case EADDRINUSE:
      return "port " + std::to_string(port) + " on " + shown
             + " is already in use; stop the other program or choose another "
               "with " + flag;
    case EACCES:
      return "port " + std::to_string(port) + " on " + shown
             + " needs root (ports below 1024 are privileged); choose another "
               "with " + flag;
    case EADDRNOTAVAIL:
      return "cannot listen on " + shown + ":" + std::to_string(port) + ": "
             + shown + " is not an address of this machine";
    case 0:
      return "cannot listen on " + shown + ":" + std::to_string(port) + ": "
             + caf_text;
    default:
      return "cannot listen on " + shown + ":" + std::to_string(port) + ": "
             + std::strerror(err);
  }
}

} // namespace sheetsync
