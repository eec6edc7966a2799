#include "actors/scheduler.hpp"

#include <iostream>

#include <caf/all.hpp>

#include "messages/error.hpp"

namespace sheetsync {

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
  auto now = self->clock().now();
  for (auto& [source, interval] : schedules) {
    if (interval <= caf::timespan{0})
      continue;
    self->state.entries[source] = schedule_entry{interval, now + interval};
    self->delayed_send(self, interval, atom::tick_v, source);
  }
  return {
    [=](atom::tick, const std::string& source) {
      auto i = self->state.entries.find(source);
      if (i == self->state.entries.end())
        return;
      auto& entry = i->second;
      auto now = self->clock().now();
      if (now < entry.due)
        return; // not ours: the timer for `due` is still pending
      // Re-arm first: the next tick is one interval after this one's due
      // time (fixed rate); ticks the clock already passed are dropped.
      do
        entry.due += entry.interval;
      while (entry.due <= now);
      self->delayed_send(self, entry.due - now, atom::tick_v, source);
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
