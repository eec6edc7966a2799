#pragma once

#include <caf/timespan.hpp>

#include "messages/actors.hpp"

namespace sheetsync {

struct evictor_state {
  static inline const char* name = "evictor";
};

/// Forgets finished syncs: `evict(id)` arms a timer on the actor clock; when
/// it fires, the coordinator is told to forget the sync.
/// @param self The evictor.
/// @param delay How long a finished sync stays in memory.
/// @param coordinator Who forgets.
evictor_actor::behavior_type
evictor(evictor_actor::stateful_pointer<evictor_state> self,
        caf::timespan delay, coordinator_actor coordinator);

} // namespace sheetsync
