#include "actors/webhook_sender.hpp"

#include <algorithm>
#include <cstdio>

#include <caf/all.hpp>

#include "actors/coordinator.hpp"
#include "net/redact.hpp"
#include "net/webhook_json.hpp"
#include "net/webhook_signature.hpp"

namespace sheetsync {

std::vector<caf::timespan> default_webhook_backoff() {
  using namespace std::chrono;
  return {seconds{5}, seconds{30}, minutes{2}, minutes{10}, minutes{30}};
}

std::optional<caf::timespan>
webhook_retry_delay(uint32_t attempts, const std::vector<caf::timespan>& backoff) {
  if (attempts == 0 || attempts > backoff.size())
    return std::nullopt;
  return backoff[attempts - 1];
}

size_t webhook_sender_state::pending() const {
  return static_cast<size_t>(std::count_if(
    deliveries.begin(), deliveries.end(), [](auto& kv) {
      return kv.second.delivery.state == webhook_state::pending;
    }));
}

namespace {

using self_ptr = webhook_sender_actor::stateful_pointer<webhook_sender_state>;

int64_t now_ms(self_ptr self) {
  return self->state.opts.wall_clock_ms();
}

bool wants(const webhook_endpoint& ep, const std::string& event,
           const std::string& source) {
  auto has = [](const std::vector<std::string>& xs, const std::string& x) {
    return xs.empty() || std::find(xs.begin(), xs.end(), x) != xs.end();
  };
  return has(ep.events, event) && has(ep.sources, source);
}

void persist(self_ptr self, const webhook_delivery& d) {
  if (self->state.store)
    self->send(self->state.store, caf::put_atom_v, d);
}

/// Whether the final status of sync `id` was seen before; remembers it
/// (bounded: the oldest is forgotten).
bool seen_before(self_ptr self, const std::string& id) {
  auto& s = self->state;
  if (!s.seen.insert(id).second)
    return true;
  s.seen_order.push_back(id);
  while (s.seen_order.size() > s.opts.remembered_syncs) {
    s.seen.erase(s.seen_order.front());
    s.seen_order.pop_front();
  }
  return false;
}

/// A delivery ended (delivered or failed): it joins the finished ones, the
/// oldest finished beyond keep_finished is forgotten (the store keeps its
/// own newest rows).
void finish(self_ptr self, const std::string& id) {
  auto& s = self->state;
  s.finished_order.push_back(id);
  while (s.finished_order.size() > s.opts.keep_finished) {
    s.deliveries.erase(s.finished_order.front());
    s.finished_order.pop_front();
  }
}

/// Drops the oldest pending deliveries until one more fits under
/// max_pending: a receiver that never answers cannot grow memory.
void make_room(self_ptr self) {
  auto& s = self->state;
  while (s.pending() >= s.opts.max_pending && s.opts.max_pending > 0) {
    webhook_slot* oldest = nullptr;
    for (auto& [id, slot] : s.deliveries)
      if (slot.delivery.state == webhook_state::pending
          && (oldest == nullptr || slot.seq < oldest->seq))
        oldest = &slot;
    if (oldest == nullptr)
      return;
    auto& d = oldest->delivery;
    d.state = webhook_state::failed;
    d.next_attempt_ms = 0;
    d.last_error = "dropped: more than " + std::to_string(s.opts.max_pending)
                   + " deliveries were pending";
    ++s.failed;
    std::fprintf(stderr,
                 "sheetsync: webhook delivery %s (%s) to %s dropped: more "
                 "than %zu deliveries pending\n",
                 d.id.c_str(), d.event.c_str(), redact_url(d.url).c_str(),
                 s.opts.max_pending);
    persist(self, d);
    auto id = d.id;
    s.due.erase(std::remove(s.due.begin(), s.due.end(), id), s.due.end());
    finish(self, id);
  }
}

void pump(self_ptr self);

/// The answer of one attempt: delivered, retried later, or failed.
void attempted(self_ptr self, size_t poster, const std::string& id,
               uint16_t status, std::string error) {
  auto& s = self->state;
  s.poster_busy[poster] = false;
  auto i = s.deliveries.find(id);
  if (i != s.deliveries.end() && i->second.in_flight) {
    auto& slot = i->second;
    slot.in_flight = false;
    auto& d = slot.delivery;
    // Dropped while in flight: its outcome no longer counts.
    if (d.state == webhook_state::pending) {
      ++d.attempts;
      d.last_status = status;
      d.last_error = std::move(error);
      if (d.last_error.empty()) {
        d.state = webhook_state::delivered;
        d.next_attempt_ms = 0;
        ++s.delivered;
      } else if (auto delay = webhook_retry_delay(d.attempts, s.opts.backoff)) {
        d.next_attempt_ms
          = now_ms(self)
            + std::chrono::duration_cast<std::chrono::milliseconds>(*delay)
                .count();
        ++s.retried;
        self->delayed_send(self, *delay, atom::retry_v, d.id, d.attempts);
      } else {
        d.state = webhook_state::failed;
        d.next_attempt_ms = 0;
        ++s.failed;
        std::fprintf(stderr,
                     "sheetsync: webhook delivery %s (%s) to %s failed after "
                     "%u attempts: %s\n",
                     d.id.c_str(), d.event.c_str(), redact_url(d.url).c_str(),
                     d.attempts, d.last_error.c_str());
      }
      persist(self, d);
      if (d.state != webhook_state::pending)
        finish(self, id);
    }
  }
  pump(self);
}

/// Hands due deliveries to idle posters.
void pump(self_ptr self) {
  auto& s = self->state;
  for (size_t p = 0; p < s.posters.size() && !s.due.empty(); ++p) {
    if (s.poster_busy[p])
      continue;
    webhook_slot* slot = nullptr;
    while (slot == nullptr && !s.due.empty()) {
      auto i = s.deliveries.find(s.due.front());
      s.due.pop_front();
      if (i != s.deliveries.end()
          && i->second.delivery.state == webhook_state::pending
          && !i->second.in_flight)
        slot = &i->second;
    }
    if (slot == nullptr)
      return;
    slot->in_flight = true;
    s.poster_busy[p] = true;
    auto& d = slot->delivery;
    auto ts = now_ms(self) / 1000;
    std::vector<std::string> headers{
      "Content-Type: application/json",
      "User-Agent: sheetsync-webhooks/1",
      "webhook-id: " + d.id,
      "webhook-timestamp: " + std::to_string(ts),
      "webhook-signature: " + webhook_signature(s.opts.key, d.id, ts, d.body)};
    auto id = d.id;
    self->request(s.posters[p], s.opts.post_timeout, atom::post_v, d.url,
                  std::move(headers), d.body)
      .then(
        [=](uint16_t status, std::string& error) {
          attempted(self, p, id, status, std::move(error));
        },
        [=](caf::error& err) {
          attempted(self, p, id, 0,
                    "the attempt did not end in time ("
                      + self->system().render(err) + ")");
        });
  }
}

/// Turns a final status into deliveries (once per sync).
void on_status(self_ptr self, const sync_status& st) {
  auto& s = self->state;
  std::string event = webhook_event_of(st.state);
  if (event.empty() || st.id.empty() || seen_before(self, st.id))
    return;
  auto now = now_ms(self);
  std::string body;
  for (auto& ep : s.opts.endpoints) {
    if (!wants(ep, event, st.source))
      continue;
    if (body.empty())
      body = webhook_body(event, now, st);
    make_room(self);
    webhook_slot slot;
    auto& d = slot.delivery;
    d.id = new_webhook_id();
    d.event = event;
    d.url = ep.url;
    d.source = st.source;
    d.sync_id = st.id;
    d.body = body;
    d.created_ms = now;
    d.next_attempt_ms = now;
    slot.seq = s.next_seq++;
    // Kept before the first attempt: a crash during it resumes it.
    persist(self, d);
    s.due.push_back(d.id);
    auto id = d.id;
    s.deliveries.emplace(std::move(id), std::move(slot));
  }
  pump(self);
}

/// The store's deliveries at start-up: finished ones are listed, pending ones
/// resumed at their next attempt time (at once when it passed).
void resume(self_ptr self, std::vector<webhook_delivery>& xs) {
  auto& s = self->state;
  size_t resumed = 0;
  auto now = now_ms(self);
  // Oldest first, so that ties and the caps keep their order.
  for (auto i = xs.rbegin(); i != xs.rend(); ++i) {
    auto& d = *i;
    if (s.deliveries.count(d.id) != 0)
      continue;
    seen_before(self, d.sync_id);
    if (d.state == webhook_state::pending)
      make_room(self);
    webhook_slot slot;
    slot.delivery = std::move(d);
    slot.seq = s.next_seq++;
    auto& x = slot.delivery;
    auto id = x.id;
    if (x.state == webhook_state::pending) {
      ++resumed;
      auto wait = std::max<int64_t>(0, x.next_attempt_ms - now);
      if (wait == 0)
        s.due.push_back(id);
      else
        self->delayed_send(self, std::chrono::milliseconds{wait},
                           atom::retry_v, id, x.attempts);
      s.deliveries.emplace(id, std::move(slot));
    } else {
      s.deliveries.emplace(id, std::move(slot));
      finish(self, id);
    }
  }
  if (resumed > 0)
    std::fprintf(stderr, "sheetsync: resuming %zu pending webhook "
                         "deliver%s\n",
                 resumed, resumed == 1 ? "y" : "ies");
  pump(self);
}

std::string metrics_text(const webhook_sender_state& s) {
  std::string out
    = "# HELP sheetsync_webhook_deliveries_total Webhook delivery attempts "
      "by outcome (retried: failed, another attempt follows; failed: given "
      "up or dropped).\n"
      "# TYPE sheetsync_webhook_deliveries_total counter\n";
  auto line = [&](const char* outcome, uint64_t n) {
    out += "sheetsync_webhook_deliveries_total{outcome=\"";
    out += outcome;
    out += "\"} " + std::to_string(n) + "\n";
  };
  line("delivered", s.delivered);
  line("retried", s.retried);
  line("failed", s.failed);
  out += "# HELP sheetsync_webhook_deliveries_pending Webhook deliveries "
         "waiting for an attempt.\n"
         "# TYPE sheetsync_webhook_deliveries_pending gauge\n"
         "sheetsync_webhook_deliveries_pending "
         + std::to_string(s.pending()) + "\n";
  return out;
}

} // namespace

webhook_sender_actor::behavior_type
webhook_sender(webhook_sender_actor::stateful_pointer<webhook_sender_state> self,
               webhook_options opts, coordinator_api coordinator,
               std::vector<webhook_poster_actor> posters,
               webhook_store_actor store) {
  auto& s = self->state;
  if (!opts.wall_clock_ms)
    opts.wall_clock_ms = system_wall_clock_ms;
  s.opts = std::move(opts);
  s.posters = std::move(posters);
  s.poster_busy.assign(s.posters.size(), false);
  s.store = std::move(store);
  if (coordinator)
    self->send(coordinator, atom::subscribe_v,
               caf::actor_cast<status_listener_actor>(self));
  if (s.store)
    self->request(s.store, caf::infinite, caf::get_atom_v, atom::webhooks_v,
                  static_cast<uint64_t>(s.opts.keep_finished))
      .then([=](std::vector<webhook_delivery>& xs) { resume(self, xs); },
            [=](caf::error& err) {
              std::fprintf(stderr,
                           "sheetsync: cannot resume webhook deliveries: %s\n",
                           self->system().render(err).c_str());
            });
  return {
    [=](const sync_status& st) { on_status(self, st); },
    [=](atom::retry, const std::string& id, uint32_t attempts) {
      auto& s = self->state;
      auto i = s.deliveries.find(id);
      // Stale: answered, dropped or rescheduled since.
      if (i == s.deliveries.end() || i->second.in_flight
          || i->second.delivery.state != webhook_state::pending
          || i->second.delivery.attempts != attempts)
        return;
      s.due.push_back(id);
      pump(self);
    },
    [=](caf::get_atom, atom::webhooks,
        uint64_t limit) -> std::vector<webhook_delivery> {
      std::vector<const webhook_slot*> slots;
      for (auto& [id, slot] : self->state.deliveries)
        slots.push_back(&slot);
      std::sort(slots.begin(), slots.end(), [](auto* x, auto* y) {
        if (x->delivery.created_ms != y->delivery.created_ms)
          return x->delivery.created_ms > y->delivery.created_ms;
        return x->seq > y->seq;
      });
      std::vector<webhook_delivery> out;
      for (size_t i = 0; i < slots.size() && i < limit; ++i) {
        out.push_back(slots[i]->delivery);
        // The body stays here: the list shows outcomes, not payloads.
        out.back().body.clear();
      }
      return out;
    },
    [=](caf::get_atom, atom::metrics) -> std::string {
      return metrics_text(self->state);
    },
  };
}

} // namespace sheetsync
