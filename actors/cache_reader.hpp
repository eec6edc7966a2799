#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include <sys/types.h>

#include <caf/timespan.hpp>

#include "messages/actors.hpp"
#include "store/sheet_store.hpp"

namespace sheetsync {

/// How the cache reader bounds its work.
struct cache_reader_limits {
  /// Pages asked of the page reader and not yet read, at most; beyond, a
  /// request is refused at once (ec::unavailable: 503 with Retry-After).
  /// Each page holds up to table_reader::max_page_bytes (or one row) in
  /// memory, so this bounds the memory of concurrent pages.
  size_t max_pending = 2;
  /// How long a request may wait for its page; then it fails with
  /// ec::unavailable naming the cache reader. Shorter than the facade's
  /// request time-out, so that the facade reports the reader, not the
  /// coordinator.
  caf::timespan timeout = std::chrono::seconds{5};
};

struct cache_reader_state {
  static inline const char* name = "cache_reader";

  /// Reads the pages, one at a time, in its own thread.
  cache_reader_actor pages;
  /// Pages sent to `pages` and not yet read; the page reader counts down.
  std::shared_ptr<std::atomic<size_t>> pending;
  cache_reader_limits limits;
};

struct page_reader_state {
  static inline const char* name = "page_reader";

  /// How long a read waits for a lock that another process holds: well
  /// within cache_reader_limits::timeout, so that a locked cache is reported
  /// as such (ec::cache_busy) rather than as a reader that did not answer.
  static constexpr int busy_ms = 1000;

  /// Its own connection: reads see the last swapped-in data, never a
  /// half-written sheet, and never wait for a sync.
  std::unique_ptr<sheet_store> store;
  /// The file `store` has open (device and inode), to notice when the path
  /// names another file (the cache was replaced or restored).
  dev_t dev = 0;
  ino_t ino = 0;
};

/// Answers pages of cached rows and readiness for the API through a page
/// reader, refusing pages beyond `limits.max_pending` and answering a request
/// that takes longer than `limits.timeout` with an error that names the
/// cache reader.
/// Never blocks: spawn it scheduled.
/// @param self The cache reader.
/// @param pages The page reader (see page_reader), linked to this actor.
/// @param pending The page reader's count of pages to read.
/// @param limits The bounds.
cache_reader_actor::behavior_type
cache_reader(cache_reader_actor::stateful_pointer<cache_reader_state> self,
             cache_reader_actor pages,
             std::shared_ptr<std::atomic<size_t>> pending,
             cache_reader_limits limits);

/// Spawns a cache reader of `db_path` with its page reader (detached).
cache_reader_actor spawn_cache_reader(caf::actor_system& sys,
                                      const std::string& db_path,
                                      cache_reader_limits limits = {});

/// Reads pages of cached rows, one at a time, and counts `pending` down
/// after each; answers readiness by opening the cache and reading its
/// schema. Blocks on SQLite: spawn it detached.
/// @param self The page reader.
/// @param db_path The cache file.
/// @param pending Pages to read; counted up by the cache reader.
cache_reader_actor::behavior_type
page_reader(cache_reader_actor::stateful_pointer<page_reader_state> self,
            std::string db_path, std::shared_ptr<std::atomic<size_t>> pending);

} // namespace sheetsync
