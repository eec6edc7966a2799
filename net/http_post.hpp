#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sheetsync {

/// What a POST got back.
struct post_outcome {
  /// The HTTP status of the answer; 0 when none came.
  uint16_t status = 0;
  /// Why it failed ("" when the receiver answered 2xx): a connection
  /// failure, a time-out, or "HTTP <status>". Names no URL parameter.
  std::string error;

  bool ok() const {
    return error.empty();
  }
};

/// The limits of one POST.
struct post_options {
  /// Connecting and the whole exchange together.
  std::chrono::milliseconds timeout{10'000};
  /// Answer bytes read at most (they are discarded anyway); a longer answer
  /// is cut off there, its status still counts.
  size_t max_answer_bytes = 64 * 1024;
};

/// POSTs `body` to an http(s) URL with the extra `headers` ("Name: value")
/// and waits for the answer (blocking: call it from a detached actor).
/// Redirects are not followed (a 3xx is a failure). `cancel` (may be null)
/// aborts it at once when set.
post_outcome http_post(const std::string& url,
                       const std::vector<std::string>& headers,
                       const std::string& body, const post_options& opts,
                       const std::shared_ptr<std::atomic<bool>>& cancel);

} // namespace sheetsync
