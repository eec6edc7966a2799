#pragma once

#include <cstdint>
#include <string>

namespace sheetsync {

/// File descriptors kept for the service's own files: the SQLite connections
/// of the store, history, reader, source and webhook stores (each the
/// database, its WAL and shared memory), curl's transfers (--max-parallel
/// syncs, token requests, webhook posts), the node port and its peers, epoll
/// and CAF's wake-up pipes, stdio. That is about 60 today; 256 leaves room for
/// more parallel syncs and nodes. A quarter of a small limit at most, so a
/// limit of 1024 still gives 768 connections.
constexpr uint64_t fd_reserve_max = 256;

/// Never fewer connections than this, however low the limit (below about 20
/// descriptors the service cannot run anyway).
constexpr uint64_t min_connections = 16;

/// How many connections the facade accepts, by the one rule: the descriptor
/// limit minus the reserve. Pure, for the tests.
struct connection_budget {
  /// The limit the rule was applied to (the soft limit after raising it).
  uint64_t fd_limit = 0;
  /// What the facade is given: the rule's figure, or the one asked for when
  /// it fits.
  uint64_t max_connections = 0;
  /// "" or, when the figure asked for is more than the limit allows, why it
  /// was lowered (names --max-connections and both figures).
  std::string warning;
};

/// @param fd_limit The soft RLIMIT_NOFILE the process runs with.
/// @param asked --max-connections (flag or config file); 0 = not given.
connection_budget plan_connections(uint64_t fd_limit, uint64_t asked);

/// Raises the soft RLIMIT_NOFILE to the hard one, as servers commonly do (the
/// soft default of 1024 is for select(), which CAF does not use). An
/// unlimited hard limit is capped at /proc/sys/fs/nr_open, which the kernel
/// enforces anyway. Returns the soft limit now in force; `note` says why it
/// could not be raised ("" when it was, or needed not be).
uint64_t raise_fd_limit(std::string& note);

} // namespace sheetsync
