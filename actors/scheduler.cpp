#include "actors/scheduler.hpp"

#include <iostream>

#include <caf/all.hpp>

#include "messages/error.hpp"

namespace sheetsync {

namespace {

using self_ptr = scheduler_actor::stateful_pointer<scheduler_state>;

/// Schedules `source` every `interval` from now, replacing its schedule; a
/// zero or negative interval removes it.
void set_schedule(self_ptr self, const std::string& source,
                  caf::timespan interval) {
  auto& s = self->state;
  if (interval <= caf::timespan{0}) {
    s.entries.erase(source);
    return;
  }
  auto generation = ++s.generations;
  s.entries[source]
    = schedule_entry{interval, self->clock().now() + interval, generation};
  self->delayed_send(self, interval, atom::tick_v, source, generation);
}

} // namespace

scheduler_actor::behavior_type
scheduler(scheduler_actor::stateful_pointer<scheduler_state> self,
          coordinator_api coordinator,
          std::vector<std::pair<std::string, caf::timespan>> schedules) {
  self->state.coordinator = coordinator;
  self->monitor(coordinator);
  self->set_down_handler([=](const caf::down_msg& msg) {
    if (msg.source == self->state.coordinator.address())
      self->quit(msg.reason);
  });
  for (auto& [source, interval] : schedules)
    set_schedule(self, source, interval);
  return {
    [=](caf::put_atom, const std::string& source, caf::timespan interval) {
      set_schedule(self, source, interval);
    },
    [=](atom::tick, const std::string& source, uint64_t generation) {
      auto i = self->state.entries.find(source);
      if (i == self->state.entries.end() || i->second.generation != generation)
        return; // a removed or replaced schedule's timer
      auto& entry = i->second;
      auto now = self->clock().now();
      if (now < entry.due)
        return; // not ours: the timer for `due` is still pending
      // Re-arm first: the next tick is one interval after this one's due
      // time (fixed rate); ticks the clock already passed are dropped.
      do
        entry.due += entry.interval;
      while (entry.due <= now);
      self->delayed_send(self, entry.due - now, atom::tick_v, source,
                         generation);
      self->request(self->state.coordinator, caf::infinite, atom::start_v,
                    source)
        .then(
          [](const std::string&) {
            // nop: the coordinator publishes the sync's statuses
          },
          [=](const caf::error& err) {
            ++self->state.skipped;
            std::cerr << "sheetsync: scheduled sync of " << source
                      << " skipped: " << error_text(err) << std::endl;
          });
    },
  };
}

} // namespace sheetsync
