#include "actors/checkpointer.hpp"

#include <caf/all.hpp>

#include "messages/error.hpp"

namespace sheetsync {

checkpointer_actor::behavior_type
checkpointer(checkpointer_actor::stateful_pointer<checkpointer_state> self,
             std::string db_path) {
  // A short wait: the writer checkpoints itself rather than wait for this.
  self->state.db = database::open(db_path, self->state.open_error, 100);
  return {
    [=](atom::checkpoint) -> caf::result<caf::ok_atom> {
      auto& s = self->state;
      if (!s.db)
        return make_error(s.open_error);
      failure err;
      if (!s.db->checkpoint(err))
        return make_error(err);
      return caf::ok_atom::value;
    },
  };
}

} // namespace sheetsync
