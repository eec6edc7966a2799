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
  /// libcurl's result (0: CURLE_OK) and its text, for callers that word
  /// their own errors.
  int curl_code = 0;
  std::string curl_error;
  /// The answer's bytes, with post_options::keep_answer.
  std::string answer;
  /// The answer was longer than post_options::max_answer_bytes.
  bool cut_off = false;

  bool ok() const {
    return error.empty();
  }
};

/// The limits of one POST.
struct post_options {
  /// Connecting and the whole exchange together.
  std::chrono::milliseconds timeout{10'000};
  /// Connecting alone; 0: as `timeout`.
  std::chrono::milliseconds connect_timeout{0};
  /// Answer bytes read at most; a longer answer is cut off there, its status
  /// still counts.
  size_t max_answer_bytes = 64 * 1024;
  /// Keep the answer's bytes (else they are discarded).
  bool keep_answer = false;
  /// The User-Agent header; "": none.
  std::string user_agent;
};

/// POSTs `body` to an http(s) URL with the extra `headers` ("Name: value")
/// and waits for the answer (blocking: call it from a detached actor or a
/// blocking step). Redirects are not followed (a 3xx is a failure): what is
/// posted may be a credential or a signed event, for this URL alone.
/// `cancel` (may be null) aborts it at once when set. The one POST of the
/// service: webhooks and token requests.
post_outcome http_post(const std::string& url,
                       const std::vector<std::string>& headers,
                       const std::string& body, const post_options& opts,
                       const std::shared_ptr<std::atomic<bool>>& cancel);

} // namespace sheetsync
