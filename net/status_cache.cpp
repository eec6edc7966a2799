#include "net/status_cache.hpp"

#include "net/http_response.hpp"

namespace sheetsync {

namespace {

/// The keep-alive 200 answer of a status.
std::string ready_answer(const std::string& json) {
  return serialize(json_response(200, json), true);
}

} // namespace

bool status_cache::update(const sync_status& st, const std::string& json,
                          time_point now) {
  auto [i, added] = known_.try_emplace(st.id);
  auto& k = i->second;
  if (k.finished_at && !finished(st.state))
    return false;
  k.json = json;
  k.updated_at = now;
  k.response = ready_answer(json);
  if (finished(st.state)) {
    if (auto r = running_.find(st.source);
        r != running_.end() && r->second == st.id)
      running_.erase(r);
    keep_finished(st.id, k, added, now);
  } else {
    // Running, or waiting in the queue (idle, "queued").
    if (added)
      k.place = unfinished_.insert(unfinished_.begin(), st.id);
    else
      unfinished_.splice(unfinished_.begin(), unfinished_, k.place);
    running_[st.source] = st.id;
  }
  return true;
}

bool status_cache::fill(const sync_status& st, const std::string& json,
                        time_point now) {
  if (!finished(st.state) || st.id.empty() || known_.count(st.id) != 0)
    return false;
  auto& k = known_[st.id];
  k.json = json;
  k.updated_at = now;
  k.response = ready_answer(json);
  keep_finished(st.id, k, true, now);
  return true;
}

void status_cache::keep_finished(const std::string& id, entry& k, bool added,
                                 time_point now) {
  if (added) {
    k.place = finished_.insert(finished_.begin(), id);
  } else if (k.finished_at) {
    finished_.splice(finished_.begin(), finished_, k.place);
  } else {
    // It ran until now.
    unfinished_.erase(k.place);
    k.place = finished_.insert(finished_.begin(), id);
  }
  k.finished_at = now;
  while (finished_.size() > max_finished) {
    known_.erase(finished_.back());
    finished_.pop_back();
  }
}

const status_cache::entry* status_cache::read(const std::string& id,
                                              time_point now) {
  auto i = known_.find(id);
  if (id.empty() || i == known_.end())
    return nullptr;
  auto& k = i->second;
  if (k.finished_at) {
    // Still read: keep it, last to go.
    k.finished_at = now;
    finished_.splice(finished_.begin(), finished_, k.place);
  }
  return &k;
}

const std::string* status_cache::running(const std::string& source) const {
  auto i = running_.find(source);
  return i == running_.end() ? nullptr : &i->second;
}

void status_cache::expire(time_point now) {
  // The oldest come last in each order.
  while (!finished_.empty()) {
    auto i = known_.find(finished_.back());
    if (now - *i->second.finished_at < finished_ttl)
      break;
    known_.erase(i);
    finished_.pop_back();
  }
  while (!unfinished_.empty()) {
    auto i = known_.find(unfinished_.back());
    if (now - i->second.updated_at < unfinished_ttl)
      break;
    known_.erase(i);
    unfinished_.pop_back();
  }
  for (auto i = running_.begin(); i != running_.end();)
    if (known_.count(i->second) == 0)
      i = running_.erase(i);
    else
      ++i;
}

} // namespace sheetsync
