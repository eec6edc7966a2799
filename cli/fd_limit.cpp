#include "cli/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace sheetsync {

connection_budget plan_connections(uint64_t fd_limit, uint64_t asked) {
  connection_budget b;
  b.fd_limit = fd_limit;
  auto reserve = std::min(fd_reserve_max, fd_limit / 4);
  auto fits = std::max(fd_limit - reserve, min_connections);
  if (asked == 0) {
    b.max_connections = fits;
  } else if (asked <= fits) {
    b.max_connections = asked;
  } else {
    // Lowered rather than kept: beyond the limit accept() fails and clients
    // hang in the backlog; up to `fits` the facade still accepts and answers
    // the 503 the flag promises.
    b.max_connections = fits;
    b.warning = "--max-connections=" + std::to_string(asked)
                + " is more than the file descriptor limit allows ("
                + std::to_string(fd_limit) + ", less "
                + std::to_string(reserve)
                + " for the service's own files): accepting up to "
                + std::to_string(fits)
                + " (raise the hard limit: ulimit -Hn, or LimitNOFILE= in a "
                  "systemd unit)";
  }
  return b;
}

namespace {

uint64_t nr_open() {
  uint64_t n = 0;
  std::ifstream f{"/proc/sys/fs/nr_open"};
  if (f >> n && n > 0)
    return n;
  return 1u << 20; // the kernel's default
}

} // namespace

uint64_t raise_fd_limit(std::string& note) {
  note.clear();
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    note = std::string{"cannot read the file descriptor limit: "}
           + std::strerror(errno);
    return 1024;
  }
  auto want = lim.rlim_max == RLIM_INFINITY
                ? static_cast<rlim_t>(nr_open())
                : lim.rlim_max;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < want) {
    rlimit raised{want, lim.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      return want;
    note = "cannot raise the file descriptor limit from "
           + std::to_string(lim.rlim_cur) + " to " + std::to_string(want)
           + ": " + std::strerror(errno);
  }
  return lim.rlim_cur == RLIM_INFINITY ? nr_open() : lim.rlim_cur;
}

} // namespace sheetsync
