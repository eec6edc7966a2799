#pragma once

#include <atomic>
#include <memory>

#include "messages/actors.hpp"
#include "net/http_post.hpp"

namespace sheetsync {

struct webhook_poster_state {
  static inline const char* name = "webhook_poster";

  post_options options;

  /// Set at shutdown: aborts the attempt in progress at once.
  std::shared_ptr<std::atomic<bool>> stop;
};

/// Makes webhook delivery attempts, one at a time, with http_post. Blocks in
/// libcurl for up to the time-out: spawn it detached.
/// @param self The poster.
/// @param options The time-out and the answer bytes read at most.
/// @param stop Aborts an attempt in progress when set (may be null).
webhook_poster_actor::behavior_type
webhook_poster(webhook_poster_actor::stateful_pointer<webhook_poster_state> self,
               post_options options, std::shared_ptr<std::atomic<bool>> stop);

} // namespace sheetsync
