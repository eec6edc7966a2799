#include "actors/coordinator.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <random>

#include <caf/all.hpp>

#include "actors/evictor.hpp"
#include "actors/scheduler.hpp"
#include "actors/source_checker.hpp"
#include "net/redact.hpp"
#include "net/text.hpp"
#include "sources/backoff.hpp"
#include "sources/fetch_plan.hpp"
#include "net/source_json.hpp"
#include "store/source_table.hpp"

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
  if (!download_done && tab_count > 0 && expected_bytes == 0)
    // Tab by tab: how many tabs are done says more than the previous size.
    return static_cast<uint8_t>(
      std::max(band(tab_index, tab_count, 0, 60),
               estimate_bytes == 0
                 ? 0
                 : band(downloaded_bytes, estimate_bytes, 0, 60)));
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

constexpr const char* queued_message = "queued";

int64_t now_ms(self_ptr self) {
  return self->state.cfg.wall_clock_ms();
}

/// A timestamp of a sync started at `started_at` (actor clock) and
/// `st.started_ms` (wall clock): the start plus the monotonic time since, so
/// finished_ms - started_ms is the real duration even if the wall clock steps.
int64_t stamp(self_ptr self, const sync_status& st,
              caf::actor_clock::time_point started_at) {
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
    self->clock().now() - started_at);
  return st.started_ms + elapsed.count();
}

/// The source of this name ("" = the default), or null.
source_slot* find_source(self_ptr self, const std::string& name) {
  auto& s = self->state;
  if (name.empty())
    return s.order.empty() ? nullptr : &s.slots.at(s.order.front());
  auto i = s.slots.find(name);
  if (i == s.slots.end() || i->second.state != source_slot::phase::live)
    return nullptr;
  return &i->second;
}

caf::error unknown_source(self_ptr self, const std::string& name,
                          ec code = ec::invalid_argument) {
  std::string known;
  for (auto& x : self->state.order)
    known += (known.empty() ? "" : ", ") + x;
  return make_error(code,
                    "unknown source '" + name + "' (known: " + known + ")");
}

/// The slot of the source a running or queued sync belongs to, or null.
source_slot* slot_of_sync(self_ptr self, const std::string& id) {
  auto& s = self->state;
  auto i = s.syncs.find(id);
  if (i == s.syncs.end())
    return nullptr;
  auto j = s.slots.find(i->second.source);
  return j == s.slots.end() ? nullptr : &j->second;
}

/// The sync whose id this is, if it is running or between attempts.
active_sync* find_active(self_ptr self, const std::string& id) {
  auto slot = slot_of_sync(self, id);
  if (!slot || !slot->active || slot->active->id != id)
    return nullptr;
  return &*slot->active;
}

bool is_queued(self_ptr self, const std::string& id) {
  auto slot = slot_of_sync(self, id);
  return slot && slot->queued_id == id;
}

/// The slot of a running sync (its source's, which exists while it runs).
source_slot& slot_of(self_ptr self, const active_sync& act) {
  return self->state.slots.at(act.source);
}

/// Ends the subscriptions to one sync after its final status went out, and
/// the monitor of a listener left without any.
void unsubscribe_ended(self_ptr self, const std::string& id) {
  auto& subs = self->state.subscribers;
  auto ended = std::stable_partition(subs.begin(), subs.end(),
                                     [&](auto& x) { return x.second != id; });
  std::vector<status_listener_actor> dropped;
  for (auto i = ended; i != subs.end(); ++i)
    dropped.push_back(std::move(i->first));
  subs.erase(ended, subs.end());
  for (auto& listener : dropped)
    if (std::none_of(subs.begin(), subs.end(),
                     [&](auto& x) { return x.first == listener; }))
      self->demonitor(listener.address());
}

/// Tells the history and the subscribers about a changed status. The history
/// first: whoever saw a status can rely on it being recorded next.
void publish(self_ptr self, const sync_status& st) {
  if (self->state.cfg.history)
    self->send(self->state.cfg.history, caf::put_atom::value, st);
  for (auto& [listener, id] : self->state.subscribers)
    if (id.empty() || id == st.id)
      self->send(listener, st);
}

std::string attempt_suffix(const active_sync& act, unsigned max_attempts) {
  if (act.attempt <= 1)
    return {};
  return " (attempt " + std::to_string(act.attempt) + " of "
         + std::to_string(max_attempts) + ")";
}

/// Recomputes a running sync's status from its tracker; publishes it when
/// something a client reads (state, percent, message) changed.
void refresh(self_ptr self, active_sync& act) {
  auto& st = self->state.syncs[act.id];
  auto& tr = act.progress;
  auto state = tr.state();
  auto percent = std::max(st.progress, tr.percent());
  auto message = phase_message(state)
                 + attempt_suffix(act, self->state.cfg.max_attempts);
  if (tr.tab_count > 0 && state == sync_state::downloading)
    message += ": tab " + std::to_string(tr.tab_index + 1) + " of "
               + std::to_string(tr.tab_count) + " '" + tr.tab + "'";
  st.bytes = tr.downloaded_bytes;
  st.rows = tr.parsed_rows; // Rows known so far; the percentage shows saving.
  // The counts move on even where the percentage cannot (a sheet that grew
  // past the previous size): publish them too, every MiB or half second.
  auto now = self->clock().now();
  auto counts_moved
    = st.bytes != act.published_bytes
      && (st.bytes >= act.published_bytes + (uint64_t{1} << 20)
          || now - act.published_at >= std::chrono::milliseconds{500});
  if (state == st.state && percent == st.progress && message == st.message
      && !counts_moved)
    return;
  act.published_bytes = st.bytes;
  act.published_at = now;
  st.state = state;
  st.progress = percent;
  st.message = std::move(message);
  st.updated_ms = stamp(self, st, act.started_at);
  publish(self, st);
}

/// Stops an attempt's stages; the writer drops what it wrote aside when it
/// terminates. The source's next attempt or sync waits until they are gone.
void stop_stages(self_ptr self, active_sync& act, bool kill) {
  act.cancel->store(true);
  auto& draining = slot_of(self, act).draining;
  for (auto& addr : {act.stages.downloader.address(),
                     act.stages.parser.address(), act.stages.writer.address()})
    if (addr)
      draining.push_back(addr);
  if (kill) {
    auto reason = caf::exit_reason::user_shutdown;
    if (act.stages.downloader)
      self->send_exit(act.stages.downloader, reason);
    if (act.stages.parser)
      self->send_exit(act.stages.parser, reason);
    if (act.stages.writer)
      self->send_exit(act.stages.writer, reason);
  }
  act.stages = {};
}

void pump(self_ptr self);

void continue_removal(self_ptr self, const std::string& name);

/// Ends a running sync with a final state; stops whatever still runs.
void finish(self_ptr self, active_sync& act, sync_state final_state,
            std::string message, std::string error = {}) {
  auto& st = self->state.syncs[act.id];
  auto& slot = slot_of(self, act);
  stop_stages(self, act, final_state != sync_state::complete);
  if (final_state == sync_state::complete) {
    st.progress = 100;
    if (!act.unchanged)
      slot.last_size = act.progress.downloaded_bytes;
  }
  st.state = final_state;
  st.message = std::move(message);
  st.error = std::move(error);
  st.updated_ms = st.finished_ms = stamp(self, st, act.started_at);
  if (final_state == sync_state::complete && !act.unchanged)
    slot.synced_ms = st.finished_ms;
  auto id = act.id;
  auto source = act.source;
  slot.active.reset(); // invalidates act
  --self->state.running;
  publish(self, st);
  unsubscribe_ended(self, id);
  if (self->state.evictor)
    self->send(self->state.evictor, atom::evict::value, id);
  pump(self);
  continue_removal(self, source);
}

void fail(self_ptr self, active_sync& act, const caf::error& err) {
  auto text = error_text(err);
  if (act.attempt > 1)
    text += " (gave up after " + std::to_string(act.attempt) + " attempts)";
  finish(self, act, sync_state::error, "Sync failed: " + text, text);
}

/// Spawns the stages of the current attempt.
void spawn_stages(self_ptr self, active_sync& act) {
  auto& s = self->state;
  auto& slot = slot_of(self, act);
  auto src = &slot.spec;
  sync_job job;
  job.id = act.id;
  job.source = act.source;
  job.db_path = s.cfg.db_path;
  job.fetch_timeout = s.cfg.fetch_timeout;
  job.max_bytes = s.cfg.max_bytes;
  job.api_batch_rows = s.cfg.api_batch_rows;
  // start() refused sources without a plan.
  if (slot.plan)
    job.plan = *slot.plan;
  job.url = job.plan.url;
  if (!src->credentials.empty()) {
    if (auto i = s.cfg.tokens.find(src->credentials); i != s.cfg.tokens.end())
      job.token = i->second;
    if (auto i = s.cfg.client_emails.find(src->credentials);
        i != s.cfg.client_emails.end())
      job.client_email = i->second;
  }
  act.cancel = std::make_shared<std::atomic<bool>>(false);
  job.cancel = act.cancel;
  act.progress = progress_tracker{};
  act.published_bytes = 0;
  if (slot.last_size)
    act.progress.estimate_bytes = *slot.last_size;
  act.stages = s.cfg.make_pipeline(self, job, self);
  for (auto& addr : {act.stages.downloader.address(),
                     act.stages.parser.address(), act.stages.writer.address()})
    if (addr)
      self->monitor(addr);
}

/// Runs a queued sync: spawns its pipeline and arms its whole-sync limit.
void launch(self_ptr self, const queued_sync& q) {
  auto& s = self->state;
  auto id = q.id;
  auto& st = s.syncs[id];
  auto& slot = s.slots.at(st.source);
  auto& act = slot.active.emplace();
  ++s.running;
  act.id = id;
  act.source = st.source;
  act.started_at = q.started_at;
  act.deadline = self->clock().now() + s.cfg.max_duration;
  spawn_stages(self, act);
  self->delayed_send(self, s.cfg.max_duration, atom::deadline::value, id);
  st.state = sync_state::downloading;
  st.message = phase_message(sync_state::downloading);
  st.updated_ms = stamp(self, st, act.started_at);
  publish(self, st);
  auto source = st.source;
  if (s.cfg.history && !slot.last_size) {
    // The estimate for a percentage when the server sends no Content-Length.
    self->request(s.cfg.history, caf::infinite, atom::last::value, source)
      .then(
        [=](const sync_status& last) {
          if (last.id.empty())
            return;
          if (auto i = self->state.slots.find(last.source);
              i != self->state.slots.end() && !i->second.last_size)
            i->second.last_size = last.bytes;
          if (auto act = find_active(self, id))
            act->progress.estimate_bytes = last.bytes;
        },
        [](caf::error&) {
          // No estimate: the percentage approaches 60 % asymptotically.
        });
  }
}

/// Starts queued syncs, in order, while slots are free and their source's
/// previous stages are gone.
void pump(self_ptr self) {
  auto& s = self->state;
  for (auto i = s.queue.begin();
       i != s.queue.end() && s.running < std::max<size_t>(s.cfg.max_parallel, 1);) {
    auto& slot = *slot_of_sync(self, i->id);
    if (!slot.draining.empty()) {
      ++i;
      continue;
    }
    auto next = std::move(*i);
    i = s.queue.erase(i);
    slot.queued_id.clear();
    launch(self, next);
  }
}

/// A failed attempt: retried after a backoff when the failure is worth it
/// and the whole-sync limit leaves room, else the sync fails.
void fail_or_retry(self_ptr self, active_sync& act, const caf::error& err) {
  auto& cfg = self->state.cfg;
  auto code = code_of(err);
  if (!retryable(code, http_status_of(err)) || act.attempt >= cfg.max_attempts) {
    fail(self, act, err);
    return;
  }
  auto jitter = cfg.jitter ? cfg.jitter() : caf::timespan{0};
  auto delay = backoff_delay(act.attempt, jitter, retry_after_of(err),
                             cfg.backoff_cap);
  if (self->clock().now() + delay >= act.deadline) {
    auto e = make_error(code, error_text(err)
                                + "; no time left for another attempt within "
                                  "the whole-sync limit (--max-duration)");
    fail(self, act, e);
    return;
  }
  stop_stages(self, act, true);
  act.backing_off = true;
  act.committing = false;
  act.unchanged = false;
  auto& st = self->state.syncs[act.id];
  auto secs = std::chrono::ceil<std::chrono::seconds>(delay).count();
  st.message = error_text(err) + "; retrying in " + std::to_string(secs)
               + " s (attempt " + std::to_string(act.attempt + 1) + " of "
               + std::to_string(cfg.max_attempts) + ")";
  st.updated_ms = stamp(self, st, act.started_at);
  publish(self, st);
  self->delayed_send(self, delay, atom::retry::value, act.id);
}

/// The next attempt of a sync whose backoff is over.
void retry(self_ptr self, active_sync& act) {
  if (!slot_of(self, act).draining.empty()) {
    act.retry_when_drained = true;
    return;
  }
  act.backing_off = false;
  act.retry_when_drained = false;
  ++act.attempt;
  spawn_stages(self, act);
  refresh(self, act);
}

/// Whether the current message comes from one of the current attempt's
/// stages (a stopped attempt's stages may still report).
bool from_stage(self_ptr self, const active_sync& act) {
  auto sender = self->current_sender();
  return sender
         && (sender == act.stages.downloader.address()
             || sender == act.stages.parser.address()
             || sender == act.stages.writer.address());
}

/// Asks the writer to swap the new rows in, once all were written aside.
void commit(self_ptr self, active_sync& act) {
  if (!act.stages.writer) {
    fail(self, act,
         make_error(ec::stage_failed, "the save stage stopped before the swap"));
    return;
  }
  act.committing = true;
  auto id = act.id;
  self->request(act.stages.writer, caf::infinite, atom::commit::value)
    .then(
      [=](uint64_t rows) {
        auto act = find_active(self, id);
        if (!act)
          return;
        auto& st = self->state.syncs[id];
        st.rows = rows;
        // From the actor clock: a wall clock that steps must not show here.
        auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                         self->clock().now() - act->started_at)
                         .count();
        char buf[160];
        if (act->unchanged)
          std::snprintf(buf, sizeof(buf),
                        "Synced: unchanged, the sheet equals the cached copy "
                        "(%" PRIu64 " rows), checked in %.1f s",
                        rows, elapsed / 1000.0);
        else
          std::snprintf(buf, sizeof(buf),
                        "Synced %" PRIu64 " rows (%s) in %.1f s", rows,
                        human_size(st.bytes).c_str(), elapsed / 1000.0);
        finish(self, *act, sync_state::complete, buf);
      },
      [=](caf::error& err) {
        if (auto act = find_active(self, id))
          fail(self, *act, err);
      });
}

/// Why a source cannot start now, if so.
caf::error check_start(self_ptr self, const source_slot& slot) {
  auto& s = self->state;
  if (slot.active)
    return make_busy_error(slot.active->id);
  if (!slot.queued_id.empty())
    return make_busy_error(slot.queued_id);
  auto now = self->clock().now();
  if (slot.last_start && now - *slot.last_start < s.cfg.cooldown) {
    auto left = s.cfg.cooldown - (now - *slot.last_start);
    auto secs = std::chrono::ceil<std::chrono::seconds>(left).count();
    return make_cooldown_error(static_cast<uint32_t>(std::max<int64_t>(secs, 1)));
  }
  return {};
}

/// Starts a sync of `src`: runs it now or queues it; answers the new id.
std::string enqueue(self_ptr self, source_slot& slot) {
  auto& s = self->state;
  auto& src = slot.spec;
  auto now = self->clock().now();
  slot.last_start = now;
  auto wall = now_ms(self);
  auto id = make_sync_id(wall);
  sync_status st;
  st.id = id;
  st.source = src.name;
  st.state = sync_state::idle;
  st.message = queued_message;
  st.started_ms = st.updated_ms = wall;
  s.syncs[id] = st;
  s.latest_id = id;
  slot.latest_id = id;
  slot.queued_id = id;
  s.queue.push_back(queued_sync{id, now});
  pump(self);
  if (is_queued(self, id))
    publish(self, st);
  return id;
}

void on_report(self_ptr self, const stage_report& r) {
  auto act = find_active(self, r.sync_id);
  if (!act || !from_stage(self, *act))
    return; // A late report from a sync or attempt that already ended.
  auto& tr = act->progress;
  switch (r.from) {
    case stage::download:
      tr.downloaded_bytes = r.bytes;
      tr.expected_bytes = r.expected_bytes;
      if (r.tab_count > 0) {
        tr.tab = r.tab;
        tr.tab_index = r.tab_index;
        tr.tab_count = r.tab_count;
      }
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
        act->unchanged = r.unchanged;
        refresh(self, *act);
        commit(self, *act);
        return;
      }
      break;
  }
  refresh(self, *act);
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& s = self->state;
  for (auto& [name, slot] : s.slots) {
    auto& addrs = slot.draining;
    auto i = std::find(addrs.begin(), addrs.end(), dm.source);
    if (i == addrs.end())
      continue;
    addrs.erase(i);
    if (addrs.empty()) {
      auto source = name; // continue_removal may erase the slot
      if (slot.active && slot.active->retry_when_drained)
        retry(self, *slot.active);
      pump(self);
      continue_removal(self, source);
    }
    return;
  }
  s.subscribers.erase(std::remove_if(s.subscribers.begin(), s.subscribers.end(),
                                     [&](auto& x) {
                                       return x.first.address() == dm.source;
                                     }),
                      s.subscribers.end());
  for (auto& [name, slot] : s.slots) {
    if (!slot.active)
      continue;
    auto& act = *slot.active;
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
    } else {
      continue;
    }
    if (which == nullptr)
      return; // A stage that did its part.
    auto text = std::string{"the "} + which + " stage stopped unexpectedly";
    if (dm.reason)
      text += " (" + error_text(dm.reason) + ")";
    fail(self, act, make_error(ec::stage_failed, text));
    return;
  }
}

/// Adds a subscription, once: a remote node that reconnects after a
/// connection loss only it noticed subscribes the same listener again.
void subscribe(self_ptr self, status_listener_actor listener, std::string id) {
  auto& subs = self->state.subscribers;
  auto entry = std::make_pair(std::move(listener), std::move(id));
  if (std::find(subs.begin(), subs.end(), entry) != subs.end())
    return;
  // One monitor per listener, however many syncs it follows.
  if (std::none_of(subs.begin(), subs.end(),
                   [&](auto& x) { return x.first == entry.first; }))
    self->monitor(entry.first);
  subs.push_back(std::move(entry));
}

/// The source's running, queued or latest known sync, or an idle status.
caf::result<sync_status> last_of(self_ptr self, const source_slot& slot) {
  auto& s = self->state;
  auto& src = slot.spec;
  if (auto j = s.syncs.find(slot.latest_id); j != s.syncs.end())
    return j->second;
  sync_status idle;
  idle.source = src.name;
  idle.message = "No sync has run yet";
  if (!s.cfg.history)
    return idle;
  auto rp = self->make_response_promise<sync_status>();
  self->request(s.cfg.history, caf::infinite, atom::history::value, src.name,
                uint64_t{1})
    .then(
      [=](const std::vector<sync_status>& xs) mutable {
        rp.deliver(xs.empty() ? idle : xs.front());
      },
      [=](caf::error&) mutable { rp.deliver(idle); });
  return rp;
}

source_info info_of(self_ptr self, const source_slot& slot) {
  auto& s = self->state;
  auto& src = slot.spec;
  source_info info;
  info.name = src.name;
  if (slot.plan) {
    info.location = slot.plan->description;
    info.access
      = slot.plan->format == body_format::sheet_values ? "api" : "export";
  } else {
    info.location = redact_url(src.location);
    info.access = to_string(src.access);
  }
  info.interval_ms
    = std::chrono::duration_cast<std::chrono::milliseconds>(src.interval).count();
  if (slot.active)
    info.running_id = slot.active->id;
  if (!slot.queued_id.empty()) {
    info.running_id = slot.queued_id;
    info.queued = true;
  }
  if (auto j = s.syncs.find(slot.latest_id); j != s.syncs.end())
    info.last = j->second;
  info.fixed = slot.fixed;
  info.defined_in = slot.defined_in;
  info.gid = src.gid;
  info.tabs = src.tabs;
  info.all_tabs = src.all_tabs;
  info.has_api_key = !src.api_key.empty();
  info.credentials = src.credentials;
  return info;
}

// -- sources at run time ------------------------------------------------------

/// A run-time source as it runs: fields left empty take the service's
/// settings, as the config file's sources do; credentials and API keys only
/// for spreadsheets (a CSV URL gets no token).
source_spec with_defaults(self_ptr self, const source_spec& given) {
  auto& cfg = self->state.cfg;
  auto& d = cfg.defaults;
  auto x = given;
  if (x.access == access_mode::automatic)
    x.access = d.access;
  auto spreadsheet_with = [&](const source_spec& y) {
    fetch_plan plan;
    failure err;
    return plan_fetch(y, cfg.endpoints, plan, err)
           && plan.kind == source_kind::spreadsheet;
  };
  if (x.api_key.empty() && !d.api_key.empty()) {
    auto y = x;
    y.api_key = d.api_key;
    if (spreadsheet_with(y))
      x = std::move(y);
  }
  if (x.credentials.empty() && !d.credentials.empty()) {
    auto y = x;
    y.credentials = d.credentials;
    if (spreadsheet_with(y))
      x = std::move(y);
  }
  if (x.credentials.empty() && x.api_key.empty()
      && !d.default_credentials.empty()) {
    auto y = x;
    y.credentials = d.default_credentials;
    if (spreadsheet_with(y))
      x = std::move(y);
  }
  return x;
}

/// The loads of `path` ended: runs what waited for it.
void loaded(self_ptr self, const std::string& path, const failure& err) {
  auto& s = self->state;
  auto i = s.loading.find(path);
  if (i == s.loading.end())
    return;
  auto waiting = std::move(i->second);
  s.loading.erase(i);
  for (auto& f : waiting)
    f(err);
}

/// Runs `then` once the credentials at `path` have a token provider (with
/// an empty failure) or cannot have one (saying why): at once when they have
/// one or need none, else after a detached loader read the file (a blocking
/// read never runs on this thread).
void with_token(self_ptr self, const std::string& path,
                std::function<void(const failure&)> then) {
  auto& s = self->state;
  if (path.empty() || s.cfg.tokens.count(path) != 0
      || !s.cfg.spawn_credentials_loader) {
    then(failure{});
    return;
  }
  auto& waiting = s.loading[path];
  waiting.push_back(std::move(then));
  if (waiting.size() > 1)
    return; // Read once for everyone.
  auto loader = s.cfg.spawn_credentials_loader(self, path);
  self->request(loader, s.cfg.fetch_timeout, caf::get_atom::value,
                atom::token::value)
    .then(
      [=](token_provider_actor& provider, std::string& email) {
        auto& s = self->state;
        s.cfg.tokens.emplace(path, provider);
        if (!email.empty())
          s.cfg.client_emails.emplace(path, std::move(email));
        s.spawned_tokens.push_back(std::move(provider));
        loaded(self, path, failure{});
      },
      [=](caf::error& err) {
        failure f;
        f.code = ec::bad_credentials;
        f.text = code_of(err) == ec::bad_credentials
                   ? error_text(err)
                   : "credentials file " + path + ": could not be read ("
                       + error_text(err) + ")";
        loaded(self, path, f);
      });
}

/// Plans a slot's spec: its plan, or why it has none. A credentials file
/// not read yet is read first; meanwhile a start is refused in words.
void plan_slot(self_ptr self, source_slot& slot) {
  fetch_plan plan;
  slot.plan.reset();
  slot.plan_error = failure{};
  if (!plan_fetch(slot.spec, self->state.cfg.endpoints, plan, slot.plan_error))
    return;
  auto name = slot.spec.name;
  auto path = slot.spec.credentials;
  slot.plan_error.code = ec::bad_credentials;
  slot.plan_error.text = "the credentials file " + path
                         + " is being read; try again in a moment";
  with_token(self, path, [=](const failure& err) {
    auto i = self->state.slots.find(name);
    if (i == self->state.slots.end() || i->second.spec.credentials != path
        || i->second.plan)
      return; // Gone or changed since.
    i->second.plan_error = err;
    if (!err)
      i->second.plan = plan;
  });
}

caf::error invalid(const std::string& field, const std::string& text) {
  return make_error(ec::invalid_argument, field + ": " + text);
}

/// Checks a run-time source as given (`given`) and as it would run (`spec`);
/// on success `plan` is how it is fetched. Errors name the API field.
caf::error check_runtime_source(self_ptr self, const source_spec& given,
                                const source_spec& spec, fetch_plan& plan) {
  if (!valid_source_name(given.name))
    return invalid("name", "'" + given.name
                             + "' is not a valid source name: "
                             + source_name_rule);
  if (given.location.empty())
    return invalid("url", "a source needs the sheet's URL (url) or id (id)");
  if (given.location.compare(0, 7, "file://") == 0)
    return invalid("url", "a source added at run time cannot read local files "
                          "(file://); define it in the config file instead");
  if (given.interval < caf::timespan{0}
      || (given.interval > caf::timespan{0}
          && given.interval < std::chrono::seconds{1}))
    return invalid("interval", "at least 1s (or none: only on demand)");
  auto tabbed = spec.all_tabs || !spec.tabs.empty();
  if (tabbed && spec.api_key.empty() && spec.credentials.empty())
    return invalid("tabs", "Google lists a spreadsheet's tabs only through the "
                           "Sheets API: give an API key (apiKey) or "
                           "credentials, or sync one tab");
  failure err;
  if (!plan_fetch(spec, self->state.cfg.endpoints, plan, err)) {
    // The tabs are the problem when the same source plans without them.
    auto one_tab = spec;
    one_tab.tabs.clear();
    one_tab.all_tabs = false;
    fetch_plan ignored;
    failure unused;
    if (tabbed
        && plan_fetch(one_tab, self->state.cfg.endpoints, ignored, unused))
      return invalid("tabs", err.text);
    return invalid(given.gid.empty() || !all_digits(given.gid) ? "url" : "gid",
                   err.text);
  }
  if ((spec.all_tabs || !spec.tabs.empty())
      && plan.kind != source_kind::spreadsheet)
    return invalid("tabs", "only a spreadsheet (its URL or id) has tabs");
  return {};
}

/// Tells the scheduler a source's schedule (0 = none).
void reschedule(self_ptr self, const std::string& name,
                caf::timespan interval) {
  if (self->state.scheduler)
    self->send(self->state.scheduler, caf::put_atom::value, name, interval);
}

/// The slot whose name equals `name` ignoring case (SQLite's table names do),
/// in any phase, or null.
source_slot* find_taken(self_ptr self, const std::string& name) {
  auto low = lower(name);
  for (auto& [key, slot] : self->state.slots)
    if (lower(key) == low)
      return &slot;
  return nullptr;
}

caf::error fixed_error(const source_slot& slot, const char* what) {
  return make_error(ec::fixed_source,
                    "source '" + slot.spec.name + "' is defined in "
                      + (slot.defined_in.empty() ? std::string{"the command line"}
                                                 : slot.defined_in)
                      + " and cannot be " + what + " at run time; change it "
                      + "there");
}

/// A live source of this exact name, or the error to answer.
caf::expected<source_slot*> runtime_slot(self_ptr self, const std::string& name,
                                         const char* what) {
  auto i = self->state.slots.find(name);
  if (i == self->state.slots.end()
      || i->second.state != source_slot::phase::live)
    return unknown_source(self, name, ec::unknown_source);
  if (i->second.fixed)
    return fixed_error(i->second, what);
  return &i->second;
}

/// Finishes a delete once the source's sync has stopped and its stages are
/// gone: its row and tables go (in the store), then the slot.
void continue_removal(self_ptr self, const std::string& name) {
  auto& s = self->state;
  auto i = s.slots.find(name);
  if (i == s.slots.end() || i->second.state != source_slot::phase::removing)
    return;
  auto& slot = i->second;
  if (slot.active || !slot.draining.empty() || !slot.queued_id.empty())
    return; // Called again when they are gone.
  if (!slot.removed.pending())
    return; // Asked the store already.
  if (!s.cfg.store) {
    auto rp = slot.removed;
    s.slots.erase(i);
    rp.deliver(caf::ok_atom::value);
    return;
  }
  auto rp = slot.removed;
  slot.removed = {}; // Not pending: asked.
  self->request(s.cfg.store, caf::infinite, caf::delete_atom::value, name)
    .then(
      [=](caf::ok_atom) mutable {
        self->state.slots.erase(name);
        rp.deliver(caf::ok_atom::value);
      },
      [=](caf::error& err) mutable {
        // Still stored: it stays (and comes back after a restart anyway).
        auto& s = self->state;
        if (auto j = s.slots.find(name); j != s.slots.end()) {
          j->second.state = source_slot::phase::live;
          s.order.push_back(name);
          reschedule(self, name, j->second.spec.interval);
        }
        rp.deliver(std::move(err));
      });
}

/// Tries a source without saving anything: planned as an added source would
/// be (the service's settings for fields left empty, a token provider for its
/// credentials), then a detached source_checker fetches its first rows. A
/// source that does not plan, or whose credentials do not load, is answered
/// at once; every problem is ok = false with a message.
caf::result<source_check> check_source(self_ptr self, const source_spec& given) {
  auto& s = self->state;
  auto refused = [](std::string message) {
    source_check result;
    result.message = std::move(message);
    return result;
  };
  if (given.location.compare(0, 7, "file://") == 0)
    return refused("a source added at run time cannot read local files "
                   "(file://); define it in the config file instead");
  auto spec = with_defaults(self, given);
  fetch_plan plan;
  failure err;
  if (!plan_fetch(spec, s.cfg.endpoints, plan, err))
    return refused(err.text);
  auto rp = self->make_response_promise<source_check>();
  with_token(self, spec.credentials, [=](const failure& err) mutable {
    if (err) {
      rp.deliver(refused(err.text));
      return;
    }
    auto& s = self->state;
    token_provider_actor token;
    std::string email;
    if (plan.needs_token) {
      auto i = s.cfg.tokens.find(spec.credentials);
      if (i == s.cfg.tokens.end()) {
        rp.deliver(refused("the credentials file " + spec.credentials
                           + " is not one this service has loaded"));
        return;
      }
      token = i->second;
      if (auto j = s.cfg.client_emails.find(spec.credentials);
          j != s.cfg.client_emails.end())
        email = j->second;
    }
    auto checker = self->spawn<caf::detached>(source_checker, plan, token,
                                              std::move(email),
                                              s.cfg.fetch_timeout);
    self->request(checker, caf::infinite, atom::check::value)
      .then([=](source_check& x) mutable { rp.deliver(std::move(x)); },
            [=](caf::error& e) mutable { rp.deliver(refused(error_text(e))); });
  });
  return rp;
}

/// Whether `given` can be added now: its name free, its fields valid. On
/// success `spec` is how it runs and `plan` how it is fetched.
caf::error check_new_source(self_ptr self, const source_spec& given,
                            source_spec& spec, fetch_plan& plan) {
  if (auto taken = find_taken(self, given.name))
    return make_error(ec::source_exists,
                      "a source named '" + taken->spec.name
                        + "' exists already (names ignore case)"
                        + (taken->state == source_slot::phase::live
                             ? ""
                             : "; it is being added or removed"));
  auto& slots = self->state.slots;
  auto added = std::count_if(slots.begin(), slots.end(),
                             [](auto& kv) { return !kv.second.fixed; });
  if (static_cast<size_t>(added) >= self->state.cfg.max_runtime_sources)
    return invalid("name", "this service holds "
                             + std::to_string(added)
                             + " sources added at run time, its limit; "
                               "remove one first");
  spec = with_defaults(self, given);
  return check_runtime_source(self, given, spec, plan);
}

/// Adds a source whose credentials (if any) are read: checked again (the
/// sources may have changed meanwhile), stored, then served and scheduled.
void add_now(self_ptr self, const source_spec& given,
             caf::typed_response_promise<source_info> rp) {
  auto& s = self->state;
  source_spec spec;
  fetch_plan plan;
  if (auto err = check_new_source(self, given, spec, plan)) {
    rp.deliver(std::move(err));
    return;
  }
  auto name = given.name;
  auto& slot = s.slots[name];
  slot.state = source_slot::phase::adding;
  slot.given = given;
  slot.spec = std::move(spec);
  slot.plan = std::move(plan);
  auto go_live = [=]() mutable {
    auto& s = self->state;
    auto i = s.slots.find(name);
    if (i == s.slots.end())
      return;
    i->second.state = source_slot::phase::live;
    s.order.push_back(name);
    reschedule(self, name, i->second.spec.interval);
    rp.deliver(info_of(self, i->second));
  };
  if (!s.cfg.store) {
    go_live();
    return;
  }
  self->request(s.cfg.store, caf::infinite, caf::put_atom::value, given)
    .then([=](caf::ok_atom) mutable { go_live(); },
          [=](caf::error& err) mutable {
            self->state.slots.erase(name);
            rp.deliver(std::move(err));
          });
}

/// Runs `then(rp)` once `spec`'s credentials file is read, or answers why it
/// cannot be (naming the API field).
template <class F>
void after_credentials(self_ptr self, const source_spec& spec,
                       caf::typed_response_promise<source_info> rp, F then) {
  with_token(self, spec.credentials, [=](const failure& err) mutable {
    if (err)
      rp.deliver(invalid("credentials", err.text));
    else
      then(rp);
  });
}

/// Adds a source at run time: the cheap checks at once, then the credentials
/// file is read (off this thread), then add_now checks again and adds.
caf::result<source_info> add_source(self_ptr self, source_spec given) {
  source_spec spec;
  fetch_plan plan;
  if (auto err = check_new_source(self, given, spec, plan))
    return err;
  auto rp = self->make_response_promise<source_info>();
  after_credentials(self, spec, rp, [=](auto rp) { add_now(self, given, rp); });
  return rp;
}

/// Applies the listed API fields of `patch` to `x`.
caf::error apply_fields(source_spec& x, const source_spec& patch,
                        const std::vector<std::string>& fields) {
  for (auto& f : fields) {
    if (f == "url" || f == "id")
      x.location = patch.location;
    else if (f == "gid")
      x.gid = patch.gid;
    else if (f == "access")
      x.access = patch.access;
    else if (f == "apiKey")
      x.api_key = patch.api_key;
    else if (f == "credentials")
      x.credentials = patch.credentials;
    else if (f == "interval")
      x.interval = patch.interval;
    else if (f == "tabs") {
      x.tabs = patch.tabs;
      x.all_tabs = patch.all_tabs;
    } else if (f == "name")
      return invalid("name", "a source cannot be renamed: add it under the "
                             "new name and remove the old one");
    else
      return invalid(f, "not a field of a source (url, id, gid, access, "
                        "apiKey, credentials, interval, tabs)");
  }
  return {};
}

/// Whether `patch`'s `fields` can be applied to its run-time source now. On
/// success `given` is the source as it will be stored, `spec` how it runs and
/// `plan` how it is fetched.
caf::error check_update(self_ptr self, const source_spec& patch,
                        const std::vector<std::string>& fields,
                        source_spec& given, source_spec& spec,
                        fetch_plan& plan) {
  auto found = runtime_slot(self, patch.name, "changed");
  if (!found)
    return std::move(found.error());
  given = (*found)->given;
  if (auto err = apply_fields(given, patch, fields))
    return err;
  spec = with_defaults(self, given);
  return check_runtime_source(self, given, spec, plan);
}

/// Changes fields of a run-time source whose credentials (if any) are read:
/// checked, stored, then applied.
void update_now(self_ptr self, const source_spec& patch,
                const std::vector<std::string>& fields,
                caf::typed_response_promise<source_info> rp) {
  auto& s = self->state;
  source_spec given;
  source_spec spec;
  fetch_plan plan;
  if (auto err = check_update(self, patch, fields, given, spec, plan)) {
    rp.deliver(std::move(err));
    return;
  }
  auto name = patch.name;
  auto apply = [=]() mutable {
    auto& s = self->state;
    auto i = s.slots.find(name);
    if (i == s.slots.end() || i->second.state != source_slot::phase::live) {
      rp.deliver(unknown_source(self, name, ec::unknown_source));
      return;
    }
    auto& slot = i->second;
    auto old_interval = slot.spec.interval;
    slot.given = given;
    slot.spec = spec;
    // A running sync keeps the plan it started with; the next one uses this.
    slot.plan = plan;
    slot.plan_error = failure{};
    if (slot.spec.interval != old_interval)
      reschedule(self, name, slot.spec.interval);
    rp.deliver(info_of(self, slot));
  };
  if (!s.cfg.store) {
    apply();
    return;
  }
  self->request(s.cfg.store, caf::infinite, caf::put_atom::value, given)
    .then([=](caf::ok_atom) mutable { apply(); },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

/// Changes fields of a run-time source: the cheap checks at once, then the
/// credentials file is read, then update_now checks again and applies.
caf::result<source_info> update_source(self_ptr self, const source_spec& patch,
                                       const std::vector<std::string>& fields) {
  source_spec given;
  source_spec spec;
  fetch_plan plan;
  if (auto err = check_update(self, patch, fields, given, spec, plan))
    return err;
  auto rp = self->make_response_promise<source_info>();
  after_credentials(self, spec, rp, [=](auto rp) {
    update_now(self, patch, fields, rp);
  });
  return rp;
}

/// Removes a run-time source: its schedule at once, its queued or running
/// sync cancelled, then (once its stages are gone) its row and tables.
caf::result<caf::ok_atom> remove_source(self_ptr self, const std::string& name) {
  auto& s = self->state;
  auto found = runtime_slot(self, name, "removed");
  if (!found)
    return std::move(found.error());
  auto& slot = **found;
  slot.state = source_slot::phase::removing;
  s.order.erase(std::remove(s.order.begin(), s.order.end(), name),
                s.order.end());
  reschedule(self, name, caf::timespan{0});
  auto rp = self->make_response_promise<caf::ok_atom>();
  slot.removed = rp;
  const char* message = "Cancelled: the source was removed";
  if (!slot.queued_id.empty()) {
    auto id = slot.queued_id;
    auto q = std::find_if(s.queue.begin(), s.queue.end(),
                          [&](auto& x) { return x.id == id; });
    auto& st = s.syncs[id];
    st.state = sync_state::cancelled;
    st.message = message;
    st.updated_ms = st.finished_ms = stamp(self, st, q->started_at);
    slot.queued_id.clear();
    s.queue.erase(q);
    publish(self, st);
    unsubscribe_ended(self, id);
    if (s.evictor)
      self->send(s.evictor, atom::evict::value, id);
  }
  if (slot.active && !slot.active->committing)
    finish(self, *slot.active, sync_state::cancelled, message);
  // A sync that is swapping its data in ends by itself; then the tables go.
  continue_removal(self, name);
  return rp;
}

} // namespace

coordinator_actor::behavior_type
coordinator(coordinator_actor::stateful_pointer<coordinator_state> self,
            coordinator_config cfg) {
  if (!cfg.wall_clock_ms)
    cfg.wall_clock_ms = system_wall_clock_ms;
  if (!cfg.jitter)
    cfg.jitter = [] {
      static thread_local std::mt19937 rng{std::random_device{}()};
      return caf::timespan{std::chrono::milliseconds{rng() % 1000}};
    };
  self->state.cfg = std::move(cfg);
  // Plans depend only on the source's spec: made once, not per request.
  auto& s = self->state;
  for (auto& src : s.cfg.sources) {
    if (find_taken(self, src.name))
      continue; // Command lines reject duplicates; the first one counts.
    auto& slot = s.slots[src.name];
    slot.spec = src;
    slot.fixed = true;
    if (auto i = s.cfg.defined_in.find(src.name); i != s.cfg.defined_in.end())
      slot.defined_in = i->second;
    plan_slot(self, slot);
    s.order.push_back(src.name);
  }
  for (auto& given : s.cfg.stored_sources) {
    if (auto taken = find_taken(self, given.name)) {
      std::fprintf(stderr,
                   "sheetsync: warning: the stored source '%s' is ignored: "
                   "source '%s' of %s has that name\n",
                   given.name.c_str(), taken->spec.name.c_str(),
                   taken->defined_in.empty() ? "the command line"
                                             : taken->defined_in.c_str());
      continue;
    }
    auto& slot = s.slots[given.name];
    slot.given = given;
    slot.spec = with_defaults(self, given);
    plan_slot(self, slot);
    s.order.push_back(given.name);
  }
  if (s.cfg.run_scheduler) {
    std::vector<std::pair<std::string, caf::timespan>> schedules;
    for (auto& name : s.order)
      schedules.emplace_back(name, s.slots.at(name).spec.interval);
    s.scheduler = self->spawn(scheduler, coordinator_api{self}, schedules);
  }
  self->state.evictor = self->spawn<caf::linked>(
    evictor, self->state.cfg.evict_after, coordinator_actor{self});
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  self->set_exit_handler([=](caf::exit_msg& msg) {
    // Nothing of a sync may outlive the coordinator. (Here, not in an
    // attached functor: the state is gone by the time those run.)
    for (auto& [name, slot] : self->state.slots) {
      if (!slot.active)
        continue;
      auto& act = *slot.active;
      if (act.cancel)
        act.cancel->store(true);
      auto& p = act.stages;
      for (auto addr : {p.downloader.address(), p.parser.address(),
                        p.writer.address()})
        if (auto hdl = caf::actor_cast<caf::actor>(addr))
          self->send_exit(hdl, msg.reason);
    }
    if (self->state.scheduler)
      self->send_exit(self->state.scheduler, msg.reason);
    for (auto& provider : self->state.spawned_tokens)
      self->send_exit(provider, msg.reason);
    self->quit(msg.reason);
  });
  return {
    [=](atom::start, const std::string& source) -> caf::result<std::string> {
      auto src = find_source(self, source);
      if (!src)
        return unknown_source(self, source);
      if (auto err = check_start(self, *src))
        return err;
      if (!src->plan)
        return make_error(src->plan_error);
      return enqueue(self, *src);
    },
    [=](atom::status, const std::string& id) -> caf::result<sync_status> {
      auto& s = self->state;
      if (id.empty()) {
        if (auto i = s.syncs.find(s.latest_id); i != s.syncs.end())
          return i->second;
        sync_status idle;
        idle.source = s.order.empty() ? "" : s.order.front();
        idle.message = s.latest_id.empty() ? "No sync has run yet"
                                           : "No sync is running";
        return idle;
      }
      if (auto i = s.syncs.find(id); i != s.syncs.end())
        return i->second;
      auto unknown = make_error(ec::unknown_sync, "no sync with id '" + id + "'");
      if (!s.cfg.history)
        return unknown;
      // Forgotten from memory (or from before a restart): ask the history.
      auto rp = self->make_response_promise<sync_status>();
      self->request(s.cfg.history, caf::infinite, atom::status::value, id)
        .then([=](sync_status& st) mutable { rp.deliver(std::move(st)); },
              [=](caf::error&) mutable { rp.deliver(unknown); });
      return rp;
    },
    [=](atom::cancel, const std::string& id) -> caf::result<sync_status> {
      auto& s = self->state;
      auto i = s.syncs.find(id);
      if (i == s.syncs.end())
        return make_error(ec::unknown_sync, "no sync with id '" + id + "'");
      if (is_queued(self, id)) {
        auto q = std::find_if(s.queue.begin(), s.queue.end(),
                              [&](auto& x) { return x.id == id; });
        auto& st = i->second;
        st.state = sync_state::cancelled;
        st.message = "Cancelled before it started: the previous data is kept";
        st.updated_ms = st.finished_ms = stamp(self, st, q->started_at);
        slot_of_sync(self, id)->queued_id.clear();
        s.queue.erase(q);
        publish(self, st);
        unsubscribe_ended(self, id);
        if (s.evictor)
          self->send(s.evictor, atom::evict::value, id);
        return st;
      }
      auto act = find_active(self, id);
      if (!act)
        return make_error(ec::not_running,
                          "sync " + id + " already ended ("
                            + to_string(i->second.state) + ")");
      if (act->committing)
        return make_error(ec::not_running,
                          "sync " + id
                            + " is swapping in the new data; too late to cancel");
      finish(self, *act, sync_state::cancelled,
             "Cancelled: the previous data is kept");
      return s.syncs[id];
    },
    [=](atom::last, const std::string& source) -> caf::result<sync_status> {
      auto src = find_source(self, source);
      if (!src)
        return unknown_source(self, source);
      return last_of(self, *src);
    },
    [=](atom::subscribe, status_listener_actor& listener) {
      subscribe(self, std::move(listener), std::string{});
    },
    [=](atom::subscribe, status_listener_actor& listener,
        const std::string& id) {
      auto i = self->state.syncs.find(id);
      if (i == self->state.syncs.end())
        return; // Unknown or forgotten: nothing will ever be published.
      self->send(listener, i->second);
      // An ended sync publishes nothing more: its final status was all.
      if (!finished(i->second.state))
        subscribe(self, std::move(listener), id);
    },
    [=](caf::get_atom, atom::sources) -> caf::result<std::vector<source_info>> {
      auto& s = self->state;
      auto infos = std::make_shared<std::vector<source_info>>();
      for (auto& name : s.order)
        infos->push_back(info_of(self, s.slots.at(name)));
      auto missing = std::count_if(infos->begin(), infos->end(),
                                   [](auto& x) { return x.last.id.empty(); });
      if (missing == 0 || !s.cfg.history)
        return *infos;
      // Sources not synced since start-up: their last sync is in the history.
      auto rp = self->make_response_promise<std::vector<source_info>>();
      auto pending = std::make_shared<size_t>(missing);
      for (size_t i = 0; i < infos->size(); ++i) {
        if (!(*infos)[i].last.id.empty())
          continue;
        auto done = [=]() mutable {
          if (--*pending == 0)
            rp.deliver(std::move(*infos));
        };
        self->request(s.cfg.history, caf::infinite, atom::history::value,
                      (*infos)[i].name, uint64_t{1})
          .then(
            [=](const std::vector<sync_status>& xs) mutable {
              if (!xs.empty())
                (*infos)[i].last = xs.front();
              done();
            },
            [=](caf::error&) mutable { done(); });
      }
      return rp;
    },
    [=](caf::get_atom, atom::history, const std::string& source,
        uint64_t limit) -> caf::result<std::vector<sync_status>> {
      auto& s = self->state;
      if (!source.empty() && !find_source(self, source))
        return unknown_source(self, source);
      if (!s.cfg.history)
        return make_error(ec::cache_failed, "no sync history is kept");
      return self->delegate(s.cfg.history, atom::history::value, source, limit);
    },
    [=](caf::get_atom, atom::data, const std::string& source,
        const std::string& tab, uint64_t limit,
        uint64_t offset) -> caf::result<data_page> {
      auto& s = self->state;
      auto src = find_source(self, source);
      if (!src)
        return unknown_source(self, source);
      auto name = src->spec.name;
      if (!s.cfg.reader)
        return make_error(ec::cache_failed, "no cache reader configured");
      auto rp = self->make_response_promise<data_page>();
      self->request(s.cfg.reader, caf::infinite, caf::get_atom::value,
                    atom::data::value, name, tab, limit, offset)
        .then(
          [=](data_page& page) mutable {
            // The history may not have recorded the last sync yet.
            auto& slots = self->state.slots;
            if (auto i = slots.find(name);
                i != slots.end() && i->second.synced_ms)
              page.synced_ms = *i->second.synced_ms;
            rp.deliver(std::move(page));
          },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](caf::get_atom, atom::ready) -> caf::result<caf::ok_atom> {
      // Ready when the cache can be read: what the API serves.
      auto& s = self->state;
      if (!s.cfg.reader)
        return make_error(ec::cache_failed, "no cache reader configured");
      return self->delegate(s.cfg.reader, caf::get_atom::value,
                            atom::ready::value);
    },
    [=](caf::get_atom, atom::sources,
        const std::string& name) -> caf::result<source_info> {
      auto i = self->state.slots.find(name);
      if (i == self->state.slots.end()
          || i->second.state != source_slot::phase::live)
        return unknown_source(self, name, ec::unknown_source);
      auto info = info_of(self, i->second);
      if (!info.last.id.empty() || !self->state.cfg.history)
        return info;
      // Not synced since start-up: its last sync is in the history.
      auto rp = self->make_response_promise<source_info>();
      self->request(self->state.cfg.history, caf::infinite,
                    atom::history::value, name, uint64_t{1})
        .then(
          [=](const std::vector<sync_status>& xs) mutable {
            auto result = info;
            if (!xs.empty())
              result.last = xs.front();
            rp.deliver(std::move(result));
          },
          [=](caf::error&) mutable { rp.deliver(info); });
      return rp;
    },
    [=](caf::put_atom, atom::sources,
        const source_spec& spec) -> caf::result<source_info> {
      return add_source(self, spec);
    },
    [=](atom::update, const source_spec& patch,
        const std::vector<std::string>& fields) -> caf::result<source_info> {
      return update_source(self, patch, fields);
    },
    [=](caf::delete_atom, atom::sources,
        const std::string& name) -> caf::result<caf::ok_atom> {
      return remove_source(self, name);
    },
    [=](atom::check, const source_spec& spec) -> caf::result<source_check> {
      return check_source(self, spec);
    },
    [=](atom::progress, const stage_report& r) { on_report(self, r); },
    [=](atom::failed, const std::string& id, stage, const caf::error& err) {
      auto act = find_active(self, id);
      if (act && !act->committing && from_stage(self, *act))
        fail_or_retry(self, *act, err);
    },
    [=](atom::retry, const std::string& id) {
      auto act = find_active(self, id);
      if (act && act->backing_off)
        retry(self, *act);
    },
    [=](atom::forget, const std::string& id) {
      if (!find_active(self, id) && !is_queued(self, id))
        self->state.syncs.erase(id);
    },
    [=](atom::deadline, const std::string& id) {
      auto act = find_active(self, id);
      if (!act || act->committing)
        return;
      auto limit = std::chrono::duration_cast<std::chrono::seconds>(
                     self->state.cfg.max_duration)
                     .count();
      fail(self, *act,
           make_error(ec::sync_timeout,
                      "the sync did not finish within " + std::to_string(limit)
                        + " s (--max-duration); the sheet may be too large or "
                          "the server too slow"));
    },
  };
}

} // namespace sheetsync
