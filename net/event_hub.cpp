#include "net/event_hub.hpp"

#include <algorithm>
#include <cstdlib>

#include "messages/sync_status.hpp"
#include "net/status_json.hpp"

namespace sheetsync {

namespace {

std::string sse_event(uint64_t id, const std::string& json) {
  return "id: " + std::to_string(id) + "\nevent: status\ndata: " + json
         + "\n\n";
}

} // namespace

std::string event_hub::publish(const std::string& source,
                               const std::string& json) {
  latest_[source] = json;
  auto id = next_event_id_++;
  events_.emplace_back(id, json);
  if (events_.size() > replay_events)
    events_.pop_front();
  return sse_event(id, json);
}

void event_hub::learn(const std::string& source, std::string json) {
  latest_.emplace(source, std::move(json));
}

const std::string& event_hub::latest(const std::string& source) const {
  static const std::string none;
  auto i = latest_.find(source);
  return i == latest_.end() ? none : i->second;
}

const std::string& event_hub::keep_alive() {
  static const std::string bytes = ": keep-alive\n\n";
  return bytes;
}

std::string event_hub::opening(const std::string& last_event_id,
                               const std::vector<std::string>& sources,
                               const std::string& default_source) const {
  std::string bytes;
  // Replay what a reconnecting client missed, if we still have it; else
  // start with the current status.
  char* end = nullptr;
  uint64_t last_seen = 0;
  if (!last_event_id.empty()
      && (last_seen = std::strtoull(last_event_id.c_str(), &end, 10),
          *end == '\0')
      && !events_.empty() && last_seen + 1 >= events_.front().first
      && last_seen < next_event_id_) {
    for (auto& [id, json] : events_)
      if (id > last_seen)
        bytes += sse_event(id, json);
    return bytes;
  }
  // Every stream starts with the latest status of every source (idle before
  // any sync), the configured sources in their order first.
  auto current_id = next_event_id_ - 1;
  if (latest_.empty()) {
    sync_status idle;
    idle.source = default_source;
    idle.message = "No sync has run yet";
    bytes += sse_event(current_id, to_json(idle));
  }
  for (auto& name : sources)
    if (auto i = latest_.find(name); i != latest_.end())
      bytes += sse_event(current_id, i->second);
  std::vector<const std::pair<const std::string, std::string>*> others;
  for (auto& kv : latest_)
    if (std::find(sources.begin(), sources.end(), kv.first) == sources.end())
      others.push_back(&kv);
  std::sort(others.begin(), others.end(),
            [](auto x, auto y) { return x->first < y->first; });
  for (auto kv : others)
    bytes += sse_event(current_id, kv->second);
  return bytes;
}

} // namespace sheetsync
