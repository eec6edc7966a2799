#include "actors/evictor.hpp"

#include <caf/all.hpp>

namespace sheetsync {

evictor_actor::behavior_type
evictor(evictor_actor::stateful_pointer<evictor_state> self,
        caf::timespan delay, coordinator_actor coordinator) {
  return {
    [=](atom::evict, const std::string& id) {
      self->delayed_send(self, delay, atom::forget::value, id);
    },
    [=](atom::forget, const std::string& id) {
      self->send(coordinator, atom::forget::value, id);
    },
  };
}

} // namespace sheetsync
