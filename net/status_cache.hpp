#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include <caf/actor_clock.hpp>

#include "messages/sync_status.hpp"

namespace sheetsync {

/// The statuses of syncs by id, so that status reads are answered without a
/// round trip: the ones the coordinator pushed, and finished ones a read had
/// to ask for (from the history, after a restart or once the coordinator
/// forgot the sync). A finished status never changes again, so finished ones
/// stay while clients read them and expire `finished_ttl` after the last
/// read; at most `max_finished` of them, the least recently read going first.
/// An unfinished one that hears nothing for `unfinished_ttl` is forgotten
/// too (its final status was missed, e.g. by a facade node while
/// disconnected from its coordinator): a read then asks the coordinator.
class status_cache {
public:
  using time_point = caf::actor_clock::time_point;

  struct entry {
    std::string json;
    /// The whole keep-alive 200 answer, ready to write.
    std::string response;
    /// When it was last read (or finished): set once finished.
    std::optional<time_point> finished_at;
    /// When the coordinator last told us about it.
    time_point updated_at;
    /// Its place in finished_ or unfinished_.
    std::list<std::string>::iterator place;
  };

  static constexpr auto finished_ttl = std::chrono::seconds{30};

  /// Longer than any sync may run or wait without a status change.
  static constexpr auto unfinished_ttl = std::chrono::minutes{10};

  /// Finished statuses kept at most. An entry holds its JSON twice (~1 KiB
  /// with the id and list node), so the bound costs ~4 MiB at worst: far
  /// more ids than clients poll at once (their own latest syncs), and a
  /// client enumerating ids cannot grow the facade past it. Unfinished ones
  /// are not counted: only the coordinator adds them, one per source at a
  /// time (and the sources are bounded).
  static constexpr size_t max_finished = 4096;

  /// Takes a pushed status (and its JSON). False, and nothing changes, for an
  /// unfinished status of a sync known finished: an older status that
  /// arrived late (a reconnect's snapshot racing the final push).
  bool update(const sync_status& st, const std::string& json, time_point now);

  /// Takes a finished status that a read had to ask the coordinator for, so
  /// the next reads of its id need no round trip. False, and nothing
  /// changes, for an unfinished one (pushes own those: a read's answer may
  /// be older than the latest push) or an id already kept (pushed meanwhile).
  bool fill(const sync_status& st, const std::string& json, time_point now);

  /// The status of a sync id, or nullptr; a read keeps a finished one.
  const entry* read(const std::string& id, time_point now);

  /// The id of the running (or queued) sync of a source, or nullptr.
  const std::string* running(const std::string& source) const;

  /// Forgets finished statuses nobody read for finished_ttl and unfinished
  /// ones not updated for unfinished_ttl.
  void expire(time_point now);

  /// Statuses kept.
  size_t size() const {
    return known_.size();
  }

  /// Finished statuses kept (at most max_finished).
  size_t finished_size() const {
    return finished_.size();
  }

private:
  /// Sync ids in recency order, most recent first: an erase, a move to the
  /// front and the oldest are O(1), so neither the bound nor the expiry
  /// scans.
  using order = std::list<std::string>;

  /// Makes `k` (of sync `id`) a finished entry read at `now`, first in
  /// finished_; evicts the least recently read ones over the bound.
  void keep_finished(const std::string& id, entry& k, bool added,
                     time_point now);

  std::unordered_map<std::string, entry> known_;
  /// The finished ones, by last read.
  order finished_;
  /// The unfinished ones, by last update.
  order unfinished_;
  /// By source name: the id of its latest pushed sync while it is running or
  /// queued (not finished).
  std::unordered_map<std::string, std::string> running_;
};

} // namespace sheetsync
