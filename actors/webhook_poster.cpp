#include "actors/webhook_poster.hpp"

#include <caf/all.hpp>

namespace sheetsync {

webhook_poster_actor::behavior_type
webhook_poster(webhook_poster_actor::stateful_pointer<webhook_poster_state> self,
               post_options options, std::shared_ptr<std::atomic<bool>> stop) {
  self->state.options = options;
  self->state.stop = std::move(stop);
  return {
    [=](atom::post, const std::string& url,
        const std::vector<std::string>& headers,
        const std::string& body) -> std::tuple<uint16_t, std::string> {
      auto out = http_post(url, headers, body, self->state.options,
                           self->state.stop);
      return {out.status, out.error};
    },
  };
}

} // namespace sheetsync
