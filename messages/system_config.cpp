#include "messages/system_config.hpp"

#include "messages/actors.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "messages/vocabulary.hpp"

namespace sheetsync {

system_config::system_config() {
  add_message_types<caf::id_block::sheetsync>();
  add_message_types<caf::id_block::sheetsync_actors>();
  add_error_category(caf::atom("sheetsync"), render_error);
  // Nodes of another vocabulary fail the handshake with
  // sec::incompatible_application_ids instead of dropping messages.
  set("middleman.app-identifiers", std::vector<std::string>{vocabulary_id()});
  // Idle work-stealing workers poll and sleep in 50 us steps: a 1M-row sync
  // made ~100k context switches and spent about half of its CPU there (more
  // than the parser). Work-sharing workers wait on a condition variable
  // (~2.5k switches, half the CPU). --scheduler.policy=stealing restores it.
  set("scheduler.policy", caf::atom("sharing"));
}

} // namespace sheetsync
