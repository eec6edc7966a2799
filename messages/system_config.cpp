#include "messages/system_config.hpp"

#include "messages/error.hpp"
#include "messages/type_ids.hpp"

namespace sheetsync {

system_config::system_config() {
  add_message_types<caf::id_block::sheetsync>();
  add_error_category(caf::atom("sheetsync"), render_error);
}

} // namespace sheetsync
