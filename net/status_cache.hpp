#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

#include <caf/actor_clock.hpp>

#include "messages/sync_status.hpp"

namespace sheetsync {

/// The statuses the coordinator pushed, by sync id, so that status reads are
/// answered without a round trip. A finished status never changes again (the
/// history keeps it after the coordinator's memory forgets it), so finished
/// ones stay while clients read them and expire `finished_ttl` after the last
/// read. An unfinished one that hears nothing for `unfinished_ttl` is
/// forgotten too (its final status was missed, e.g. by a facade node while
/// disconnected from its coordinator): a read then asks the coordinator.
class status_cache {
public:
  using time_point = caf::actor_clock::time_point;

  struct entry {
    std::string json;
    /// The whole keep-alive 200 answer, ready to write.
    std::string response;
    std::optional<time_point> finished_at;
    /// When the coordinator last told us about it.
    time_point updated_at;
  };

  static constexpr auto finished_ttl = std::chrono::seconds{30};

  /// Longer than any sync may run or wait without a status change.
  static constexpr auto unfinished_ttl = std::chrono::minutes{10};

  /// Takes a pushed status (and its JSON). False, and nothing changes, for an
  /// unfinished status of a sync known finished: an older status that
  /// arrived late (a reconnect's snapshot racing the final push).
  bool update(const sync_status& st, const std::string& json, time_point now);

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

private:
  std::unordered_map<std::string, entry> known_;
  /// By source name: the id of its latest pushed sync while it is running or
  /// queued (not finished).
  std::unordered_map<std::string, std::string> running_;
};

} // namespace sheetsync
