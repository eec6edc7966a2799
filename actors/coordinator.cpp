#include "actors/coordinator.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <random>

#include <caf/all.hpp>

#include "actors/evictor.hpp"

namespace sheetsync {

int64_t system_wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

std::string make_sync_id(int64_t wall_ms) {
  // Time first so ids sort by start; 32 random bits so that two processes
  // (or a restart within the same millisecond) never collide.
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[48];
  std::snprintf(buf, sizeof(buf), "sync-%" PRIx64 "-%08" PRIx32,
                static_cast<uint64_t>(wall_ms),
                static_cast<uint32_t>(rng()));
  return buf;
}

sync_state progress_tracker::state() const {
  if (!download_done)
    return sync_state::downloading;
  if (!parse_done)
    return sync_state::processing;
  return sync_state::saving;
}

uint8_t progress_tracker::percent() const {
  auto band = [](uint64_t done, uint64_t total, int lo, int hi) {
    // Within [lo, hi - 1]: a phase shows its upper bound only once it is done.
    if (total == 0)
      return lo;
    auto x = lo + static_cast<int>((hi - lo) * std::min(done, total) / total);
    return std::min(x, hi - 1);
  };
  if (!download_done) {
    auto total = expected_bytes != 0 ? expected_bytes : estimate_bytes;
    if (total != 0)
      return static_cast<uint8_t>(band(downloaded_bytes, total, 0, 60));
    // Nothing to compare with: approach 60 without reaching it.
    constexpr uint64_t half = uint64_t{16} << 20;
    return static_cast<uint8_t>(59 * downloaded_bytes
                                / (downloaded_bytes + half));
  }
  if (!parse_done)
    return static_cast<uint8_t>(band(parsed_bytes, downloaded_bytes, 60, 80));
  return static_cast<uint8_t>(band(saved_rows, parsed_rows, 80, 100));
}

namespace {

using self_ptr = coordinator_actor::stateful_pointer<coordinator_state>;

const char* phase_message(sync_state x) {
  switch (x) {
    case sync_state::downloading: return "Downloading the sheet";
    case sync_state::processing: return "Parsing and checking rows";
    case sync_state::saving: return "Saving rows to the cache";
    default: return "";
  }
}

int64_t now_ms(self_ptr self) {
  return self->state.cfg.wall_clock_ms();
}

/// Tells the history and the subscribers about a changed status. The history
/// first: whoever saw a status can rely on it being recorded next.
void publish(self_ptr self, const sync_status& st) {
  if (self->state.cfg.history)
    self->send(self->state.cfg.history, caf::put_atom::value, st);
  for (auto& s : self->state.subscribers)
    self->send(s, st);
}

/// Recomputes the running sync's status from its tracker; publishes it when
/// something a client reads (state, percent, message) changed.
void refresh(self_ptr self) {
  auto& act = *self->state.active;
  auto& st = self->state.syncs[act.id];
  auto& tr = act.progress;
  auto state = tr.state();
  auto percent = std::max(st.progress, tr.percent());
  std::string message = phase_message(state);
  st.bytes = tr.downloaded_bytes;
  st.rows = tr.parsed_rows; // Rows known so far; the percentage shows saving.
  if (state == st.state && percent == st.progress && message == st.message)
    return;
  st.state = state;
  st.progress = percent;
  st.message = std::move(message);
  st.updated_ms = now_ms(self);
  publish(self, st);
}

/// Ends the running sync with a final state; stops whatever still runs.
void finish(self_ptr self, sync_state final_state, std::string message,
            std::string error = {}) {
  auto& act = *self->state.active;
  auto& st = self->state.syncs[act.id];
  act.cancel->store(true);
  for (auto& addr : {act.stages.downloader.address(),
                     act.stages.parser.address(), act.stages.writer.address()})
    if (addr)
      self->state.draining.push_back(addr);
  if (final_state != sync_state::complete) {
    // The writer drops what it wrote aside when it terminates.
    auto reason = caf::exit_reason::user_shutdown;
    if (act.stages.downloader)
      self->send_exit(act.stages.downloader, reason);
    if (act.stages.parser)
      self->send_exit(act.stages.parser, reason);
    if (act.stages.writer)
      self->send_exit(act.stages.writer, reason);
  }
  if (final_state == sync_state::complete) {
    st.progress = 100;
    self->state.last_size[act.source] = act.progress.downloaded_bytes;
  }
  st.state = final_state;
  st.message = std::move(message);
  st.error = std::move(error);
  st.updated_ms = st.finished_ms = now_ms(self);
  if (final_state == sync_state::complete)
    self->state.synced_ms[act.source] = st.finished_ms;
  auto id = act.id;
  self->state.active.reset();
  publish(self, st);
  if (self->state.evictor)
    self->send(self->state.evictor, atom::evict::value, id);
}

void fail(self_ptr self, const caf::error& err) {
  auto text = error_text(err);
  finish(self, sync_state::error, "Sync failed: " + text, text);
}

bool is_active(self_ptr self, const std::string& id) {
  return self->state.active && self->state.active->id == id;
}

/// Asks the writer to swap the new rows in, once all were written aside.
void commit(self_ptr self) {
  auto& act = *self->state.active;
  if (!act.stages.writer) {
    fail(self, make_error(ec::stage_failed, "the save stage stopped before the swap"));
    return;
  }
  act.committing = true;
  auto id = act.id;
  self->request(act.stages.writer, caf::infinite, atom::commit::value)
    .then(
      [=](uint64_t rows) {
        if (!is_active(self, id))
          return;
        auto& st = self->state.syncs[id];
        st.rows = rows;
        auto elapsed = now_ms(self) - st.started_ms;
        char buf[128];
        std::snprintf(buf, sizeof(buf), "Synced %" PRIu64 " rows (%s) in %.1f s",
                      rows, human_size(st.bytes).c_str(), elapsed / 1000.0);
        finish(self, sync_state::complete, buf);
      },
      [=](caf::error& err) {
        if (is_active(self, id))
          fail(self, err);
      });
}

/// The source a start names, or why it cannot start now.
caf::expected<const source_spec*> check_start(self_ptr self,
                                              const std::string& name) {
  auto& s = self->state;
  auto src = s.cfg.sources.begin();
  if (!name.empty())
    src = std::find_if(s.cfg.sources.begin(), s.cfg.sources.end(),
                       [&](auto& x) { return x.name == name; });
  if (src == s.cfg.sources.end())
    return make_error(ec::invalid_argument, "unknown source '" + name + "'");
  if (s.active)
    return make_busy_error(s.active->id);
  auto now = self->clock().now();
  if (s.last_start && now - *s.last_start < s.cfg.cooldown) {
    auto left = s.cfg.cooldown - (now - *s.last_start);
    auto secs = std::chrono::ceil<std::chrono::seconds>(left).count();
    return make_cooldown_error(static_cast<uint32_t>(std::max<int64_t>(secs, 1)));
  }
  return &*src;
}

/// Starts a sync of `src`: spawns its pipeline; answers the new id.
std::string launch(self_ptr self, const source_spec& src) {
  auto& s = self->state;
  auto now = self->clock().now();
  s.last_start = now;
  auto wall = now_ms(self);
  auto id = make_sync_id(wall);
  sync_status st;
  st.id = id;
  st.source = src.name;
  st.state = sync_state::downloading;
  st.message = phase_message(sync_state::downloading);
  st.started_ms = st.updated_ms = wall;
  s.syncs[id] = st;
  s.latest_id = id;
  sync_job job;
  job.id = id;
  job.source = src.name;
  job.url = src.location;
  job.db_path = s.cfg.db_path;
  job.fetch_timeout = s.cfg.fetch_timeout;
  job.max_bytes = s.cfg.max_bytes;
  job.cancel = std::make_shared<std::atomic<bool>>(false);
  s.active = active_sync{id, src.name, {}, job.cancel, {}, false};
  if (auto i = s.last_size.find(src.name); i != s.last_size.end())
    s.active->progress.estimate_bytes = i->second;
  s.active->stages = s.cfg.make_pipeline(self, job, self);
  for (auto& addr : {s.active->stages.downloader.address(),
                     s.active->stages.parser.address(),
                     s.active->stages.writer.address()})
    if (addr)
      self->monitor(addr);
  self->delayed_send(self, s.cfg.max_duration, atom::deadline::value, id);
  publish(self, st);
  if (s.cfg.history && s.last_size.count(src.name) == 0) {
    // The estimate for a percentage when the server sends no Content-Length.
    self->request(s.cfg.history, caf::infinite, atom::last::value, src.name)
      .then(
        [=](const sync_status& last) {
          if (last.id.empty())
            return;
          self->state.last_size.emplace(last.source, last.bytes);
          if (is_active(self, id))
            self->state.active->progress.estimate_bytes = last.bytes;
        },
        [](caf::error&) {
          // No estimate: the percentage approaches 60 % asymptotically.
        });
  }
  return id;
}

void on_report(self_ptr self, const stage_report& r) {
  if (!is_active(self, r.sync_id))
    return; // A late report from a sync that already ended.
  auto& tr = self->state.active->progress;
  switch (r.from) {
    case stage::download:
      tr.downloaded_bytes = r.bytes;
      tr.expected_bytes = r.expected_bytes;
      tr.download_done |= r.finished;
      break;
    case stage::parse:
      tr.parsed_bytes = r.bytes;
      tr.parsed_rows = r.rows;
      if (r.finished)
        tr.download_done = tr.parse_done = true;
      break;
    case stage::save:
      tr.saved_rows = r.rows;
      if (r.finished && !tr.save_ready) {
        tr.download_done = tr.parse_done = tr.save_ready = true;
        refresh(self);
        commit(self);
        return;
      }
      break;
  }
  refresh(self);
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& s = self->state;
  s.draining.erase(std::remove(s.draining.begin(), s.draining.end(), dm.source),
                   s.draining.end());
  if (s.draining.empty() && !s.waiting_starts.empty()) {
    auto waiting = std::move(s.waiting_starts);
    s.waiting_starts.clear();
    for (auto& [rp, name] : waiting) {
      if (auto src = check_start(self, name))
        rp.deliver(launch(self, **src));
      else
        rp.deliver(std::move(src.error()));
    }
  }
  s.subscribers.erase(std::remove_if(s.subscribers.begin(), s.subscribers.end(),
                                     [&](auto& x) {
                                       return x.address() == dm.source;
                                     }),
                      s.subscribers.end());
  if (!s.active)
    return;
  auto& act = *s.active;
  auto& tr = act.progress;
  const char* which = nullptr;
  // A stage that is down leaves the pipeline, so finish() never waits for it.
  if (dm.source == act.stages.downloader.address()) {
    act.stages.downloader = nullptr;
    if (!tr.download_done)
      which = "download";
  } else if (dm.source == act.stages.parser.address()) {
    act.stages.parser = nullptr;
    if (!tr.parse_done)
      which = "parse";
  } else if (dm.source == act.stages.writer.address()) {
    act.stages.writer = nullptr;
    which = "save";
  }
  if (which == nullptr)
    return; // A stage that did its part.
  auto text = std::string{"the "} + which + " stage stopped unexpectedly";
  if (dm.reason)
    text += " (" + error_text(dm.reason) + ")";
  fail(self, make_error(ec::stage_failed, text));
}

} // namespace

coordinator_actor::behavior_type
coordinator(coordinator_actor::stateful_pointer<coordinator_state> self,
            coordinator_config cfg) {
  if (!cfg.wall_clock_ms)
    cfg.wall_clock_ms = system_wall_clock_ms;
  self->state.cfg = std::move(cfg);
  self->state.evictor = self->spawn<caf::linked>(
    evictor, self->state.cfg.evict_after, coordinator_actor{self});
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  self->attach_functor([=] {
    // Nothing of a sync may outlive the coordinator.
    if (self->state.active) {
      self->state.active->cancel->store(true);
      auto& p = self->state.active->stages;
      for (auto addr : {p.downloader.address(), p.parser.address(),
                        p.writer.address()})
        if (auto hdl = caf::actor_cast<caf::actor>(addr))
          caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    }
  });
  return {
    [=](atom::start, const std::string& source) -> caf::result<std::string> {
      auto src = check_start(self, source);
      if (!src)
        return std::move(src.error());
      if (!self->state.draining.empty()) {
        // The previous sync's stages are still terminating (a writer
        // dropping what it wrote aside): start once they are gone.
        auto rp = self->make_response_promise<std::string>();
        self->state.waiting_starts.emplace_back(rp, source);
        return rp;
      }
      return launch(self, **src);
    },
    [=](atom::status, const std::string& id) -> caf::result<sync_status> {
      auto& s = self->state;
      if (id.empty()) {
        if (auto i = s.syncs.find(s.latest_id); i != s.syncs.end())
          return i->second;
        sync_status idle;
        idle.source = s.cfg.sources.empty() ? "" : s.cfg.sources[0].name;
        idle.message = s.latest_id.empty() ? "No sync has run yet"
                                           : "No sync is running";
        return idle;
      }
      if (auto i = s.syncs.find(id); i != s.syncs.end())
        return i->second;
      return make_error(ec::unknown_sync,
                        "no sync with id '" + id
                          + "' (finished syncs are forgotten after a while)");
    },
    [=](atom::cancel, const std::string& id) -> caf::result<sync_status> {
      auto& s = self->state;
      auto i = s.syncs.find(id);
      if (i == s.syncs.end())
        return make_error(ec::unknown_sync, "no sync with id '" + id + "'");
      if (!is_active(self, id))
        return make_error(ec::not_running,
                          "sync " + id + " already ended ("
                            + to_string(i->second.state) + ")");
      if (s.active->committing)
        return make_error(ec::not_running,
                          "sync " + id
                            + " is swapping in the new data; too late to cancel");
      finish(self, sync_state::cancelled,
             "Cancelled: the previous data is kept");
      return s.syncs[id];
    },
    [=](atom::last, const std::string& source) -> caf::result<sync_status> {
      return make_error(ec::unspecified, "not yet");
    },
    [=](caf::get_atom, atom::sources) -> caf::result<std::vector<source_info>> {
      return make_error(ec::unspecified, "not yet");
    },
    [=](caf::get_atom, atom::history, const std::string&,
        uint64_t) -> caf::result<std::vector<sync_status>> {
      return make_error(ec::unspecified, "not yet");
    },
    [=](atom::retry, const std::string&) {},
    [=](atom::subscribe, status_listener_actor& listener) {
      self->monitor(listener);
      self->state.subscribers.push_back(std::move(listener));
    },
    [=](caf::get_atom, atom::data, const std::string& source, uint64_t limit,
        uint64_t offset) -> caf::result<data_page> {
      auto& s = self->state;
      auto name = source.empty() && !s.cfg.sources.empty()
                    ? s.cfg.sources[0].name
                    : source;
      auto known = std::any_of(s.cfg.sources.begin(), s.cfg.sources.end(),
                               [&](auto& x) { return x.name == name; });
      if (!known)
        return make_error(ec::invalid_argument,
                          "unknown source '" + source + "'");
      if (!s.cfg.reader)
        return make_error(ec::cache_failed, "no cache reader configured");
      auto rp = self->make_response_promise<data_page>();
      self->request(s.cfg.reader, caf::infinite, caf::get_atom::value,
                    atom::data::value, name, limit, offset)
        .then(
          [=](data_page& page) mutable {
            // The history may not have recorded the last sync yet.
            auto& synced = self->state.synced_ms;
            if (auto i = synced.find(name); i != synced.end())
              page.synced_ms = i->second;
            rp.deliver(std::move(page));
          },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](atom::progress, const stage_report& r) { on_report(self, r); },
    [=](atom::failed, const std::string& id, stage, const caf::error& err) {
      if (is_active(self, id) && !self->state.active->committing)
        fail(self, err);
    },
    [=](atom::forget, const std::string& id) {
      if (!is_active(self, id))
        self->state.syncs.erase(id);
    },
    [=](atom::deadline, const std::string& id) {
      if (!is_active(self, id) || self->state.active->committing)
        return;
      auto limit = std::chrono::duration_cast<std::chrono::seconds>(
                     self->state.cfg.max_duration)
                     .count();
      fail(self, make_error(ec::sync_timeout,
                            "the sync did not finish within "
                              + std::to_string(limit)
                              + " s (--max-duration); the sheet may be too "
                                "large or the server too slow"));
    },
  };
}

} // namespace sheetsync
