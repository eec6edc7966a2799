#include "net/status_cache.hpp"

#include "net/http_response.hpp"

namespace sheetsync {

bool status_cache::update(const sync_status& st, const std::string& json,
                          time_point now) {
  auto& k = known_[st.id];
  if (k.finished_at && !finished(st.state))
    return false;
  k.json = json;
  k.updated_at = now;
  k.response = serialize(json_response(200, json), true);
  if (finished(st.state)) {
    k.finished_at = now;
    if (auto i = running_.find(st.source);
        i != running_.end() && i->second == st.id)
      running_.erase(i);
  } else {
    // Running, or waiting in the queue (idle, "queued").
    running_[st.source] = st.id;
  }
  return true;
}

const status_cache::entry* status_cache::read(const std::string& id,
                                              time_point now) {
  auto i = known_.find(id);
  if (id.empty() || i == known_.end())
    return nullptr;
  if (i->second.finished_at)
    i->second.finished_at = now; // still read: keep it
  return &i->second;
}

const std::string* status_cache::running(const std::string& source) const {
  auto i = running_.find(source);
  return i == running_.end() ? nullptr : &i->second;
}

void status_cache::expire(time_point now) {
  for (auto i = known_.begin(); i != known_.end();) {
    auto& k = i->second;
    if (k.finished_at ? now - *k.finished_at >= finished_ttl
                      : now - k.updated_at >= unfinished_ttl)
      i = known_.erase(i);
    else
      ++i;
  }
  for (auto i = running_.begin(); i != running_.end();)
    if (known_.count(i->second) == 0)
      i = running_.erase(i);
    else
      ++i;
}

} // namespace sheetsync
