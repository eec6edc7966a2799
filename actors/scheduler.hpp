#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/timespan.hpp>

#include "messages/actors.hpp"

namespace sheetsync {

/// One scheduled source: when it is due next, on the actor clock.
struct schedule_entry {
  caf::timespan interval;
  caf::actor_clock::time_point due;
  /// Tells this schedule's ticks from those of the one it replaced.
  uint64_t generation = 0;
};

struct scheduler_state {
  static inline const char* name = "scheduler";

  coordinator_api coordinator;
  /// The scheduled sources by name.
  std::map<std::string, schedule_entry> entries;
  /// Ticks whose start the coordinator refused (busy, cooldown, ...).
  uint64_t skipped = 0;
  /// The last generation handed out.
  uint64_t generations = 0;
};

/// Starts each scheduled source's sync every interval, at a fixed rate on the
/// actor clock: a source's first tick is one interval after start-up, each
/// next tick one interval after the previous one. A tick the coordinator
/// answers with busy or cooldown (or any error) is skipped with one line on
/// stderr; ticks missed while the clock jumped ahead are dropped, not caught
/// up, so two runs never follow each other just because time passed. Sources
/// with a zero (or negative) interval are not scheduled. A source's schedule
/// can be set, replaced (its first tick one interval after that) or removed at
/// any time. Quits when the coordinator goes down.
/// @param self The scheduler.
/// @param coordinator Who starts the syncs.
/// @param schedules (source name, interval) pairs.
scheduler_actor::behavior_type
scheduler(scheduler_actor::stateful_pointer<scheduler_state> self,
          coordinator_api coordinator,
          std::vector<std::pair<std::string, caf::timespan>> schedules);

} // namespace sheetsync
