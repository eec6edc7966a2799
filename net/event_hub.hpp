#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sheetsync {

/// The status events of the facade's event streams (Server-Sent Events): the
/// latest status of every source, for a new stream's start, and the recent
/// events, for a reconnecting client's replay (Last-Event-ID).
class event_hub {
public:
  /// Events kept for Last-Event-ID replays.
  static constexpr size_t replay_events = 256;

  /// Records a status (as JSON) of `source` as the next event; answers the
  /// event's bytes, for every open stream.
  std::string publish(const std::string& source, const std::string& json);

  /// Keeps `json` as the latest status of `source` unless one was published
  /// (a pushed status is never older than an answer to a question).
  void learn(const std::string& source, std::string json);

  /// What a new stream gets after its head: the events after `last_event_id`
  /// (the header's text, "" if none) if they are all still kept, else the
  /// latest status of every source (`sources` in their order, then the
  /// others by name; an idle status of `default_source` if none is known).
  std::string opening(const std::string& last_event_id,
                      const std::vector<std::string>& sources,
                      const std::string& default_source) const;

  /// The latest status of a source as JSON, "" if none.
  const std::string& latest(const std::string& source) const;

  /// Sources with a latest status (bounded by the configured sources and the
  /// names the coordinator pushed).
  size_t sources_known() const {
    return latest_.size();
  }

  /// The `: keep-alive` comment that keeps idle streams open through proxies.
  static const std::string& keep_alive();

private:
  /// Recent events as (id, JSON).
  std::deque<std::pair<uint64_t, std::string>> events_;
  uint64_t next_event_id_ = 1;
  std::unordered_map<std::string, std::string> latest_;
};

} // namespace sheetsync
