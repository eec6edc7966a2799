#pragma once

// A status as the coordinator would tell it, for the suites that feed the
// facade's side statuses (the broker, its status cache).

#include <cstdint>
#include <string>
#include <utility>

#include "messages/sync_status.hpp"

namespace sheetsync::test {

/// A status of the default source; its times, bytes and rows follow
/// `progress`, so two statuses of one sync differ in their JSON.
inline sync_status make_status(std::string id, sync_state state,
                               uint8_t progress) {
  sync_status st;
  st.id = std::move(id);
  st.source = "default";
  st.state = state;
  st.progress = progress;
  st.message = std::string{"now "} + to_string(state);
  st.started_ms = 1'700'000'000'000;
  st.updated_ms = st.started_ms + progress;
  if (finished(state))
    st.finished_ms = st.updated_ms;
  st.bytes = 1000u * progress;
  st.rows = 10u * progress;
  return st;
}

} // namespace sheetsync::test
