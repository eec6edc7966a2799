#pragma once

#include <caf/actor_system_config.hpp>

namespace sheetsync {

/// The one place that registers sheetsync's vocabulary (type IDs, error
/// category) with CAF. Every command's configuration and the tests' derive
/// from it, so all nodes agree on the message types.
class system_config : public caf::actor_system_config {
public:
  system_config();
};

} // namespace sheetsync
