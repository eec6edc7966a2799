#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "messages/ec.hpp"
#include "net/local_file.hpp"

namespace sheetsync {

/// The one classification of libcurl's result codes (CURLcode): ec::download_failed when another
/// attempt may succeed (a connection failure or time-out, a reset or cut-off body),
/// ec::unfetchable when it fails the same way again (a missing or unreadable file, too many
/// redirects, a malformed URL or refused scheme, a refused TLS certificate, a local error);
/// ec::none for CURLE_OK.
ec classify_curl_code(int curl_code);

/// What to download and the limits that apply.
struct transfer_options {
  /// http://, https:// or file://. Redirects may only go to http:// or https://.
  std::string url;
  std::chrono::milliseconds connect_timeout{10'000};
  /// Longest silence (no byte of headers or body) tolerated while not paused.
  std::chrono::milliseconds fetch_timeout{90'000};
  /// Cap on decoded body bytes.
  uint64_t max_bytes = uint64_t{1} << 30;
  /// Extra request headers, "Name: value". May hold secrets: never logged or put in a text.
  std::vector<std::string> headers;
  /// Fail with ec::not_csv on an HTML page (Google's sign-in page for an unshared sheet).
  bool expect_csv = true;
  /// step() returns early once this many bytes are buffered, so that the owner can hand them on
  /// (or pause) before a fast server fills memory within one slice.
  size_t step_return_bytes = size_t{1} << 20;
};

/// One HTTP(S)/file download driven in short steps (libcurl multi), so the actor that owns it can
/// read its mailbox between steps; cancellable at any moment through a shared token.
///
/// Not thread-safe: one thread calls every member function. Only the cancel token is shared.
/// Needs curl_global_init() before the first instance.
class curl_transfer {
public:
  enum class state { running, done, failed };

  /// Starts nothing yet: the first step() connects. A bad URL or option makes the transfer fail
  /// at once (state failed, see error()); the constructor never throws for them. `cancel` may be
  /// null (not cancellable).
  curl_transfer(transfer_options opts, std::shared_ptr<std::atomic<bool>> cancel);
  ~curl_transfer();

  curl_transfer(const curl_transfer&) = delete;
  curl_transfer& operator=(const curl_transfer&) = delete;

  /// Drives the transfer for at most about `slice` (also while paused or when nothing arrives);
  /// returns earlier when it ends or when `step_return_bytes` are buffered. Body bytes are
  /// buffered inside; take() them. A file:// URL naming a regular file is read here, not by
  /// libcurl (which would read it whole within one step), step_return_bytes per step, and not
  /// at all while paused.
  state step(std::chrono::milliseconds slice);

  /// The state after the last step().
  state current_state() const {
    return state_;
  }

  /// Moves the buffered body bytes (decoded) into `out` (appends) and returns how many. Bytes
  /// taken after a failure are a partial body: do not use them as a complete sheet.
  size_t take(std::string& out);

  /// Body bytes ready for take().
  size_t buffered() const {
    return buffer_.size();
  }

  /// Flow control: stop/restart reading from the socket (curl_easy_pause). Silence while paused
  /// never counts toward the fetch time-out. Resuming may deliver buffered data right away.
  void pause();
  void resume();
  bool paused() const {
    return paused_;
  }

  /// Decoded body bytes received so far (including bytes not yet taken).
  uint64_t bytes_received() const {
    return bytes_received_;
  }

  /// The decoded size if known: Content-Length of an un-encoded final response, or the file size.
  std::optional<uint64_t> expected_bytes() const {
    return expected_bytes_;
  }

  /// Status of the last HTTP response (0 before any, and for file://).
  long http_status() const {
    return status_;
  }

  /// Content-Type of the last HTTP response as sent, e.g. "text/csv; charset=utf-8"; empty if none.
  const std::string& content_type() const {
    return content_type_;
  }

  /// Seconds from the Retry-After header of the last response (429 / 503), if it sent one in
  /// seconds (an HTTP date is not parsed); saturated at 2^32 - 1 however large the number.
  std::optional<std::chrono::seconds> retry_after() const {
    return retry_after_;
  }

  /// Why the transfer failed; set when the state is failed (code ec::none otherwise).
  const failure& error() const {
    return error_;
  }

private:
  struct curl_handles;
  /// libcurl's C callbacks, which forward to the members below.
  struct callbacks;
  friend struct callbacks;

  size_t write(const char* data, size_t n);
  size_t header(const char* data, size_t n);
  bool cancelled() const;
  /// Records the first failure; later ones are consequences.
  void fail(ec code, std::string text);
  /// Ends the transfer (removes the handle from the multi so the connection closes now).
  void finish(state result);
  /// Maps curl's result of a completed transfer to done or a failure.
  void complete(int curl_code);
  /// Looks at the first body bytes for an HTML page; false on HTML (failure recorded).
  bool sniff(bool at_end);
  void http_failure();
  /// step() for a file read by local_file.
  void step_file(std::chrono::milliseconds slice);

  transfer_options opts_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  std::unique_ptr<curl_handles> curl_;
  /// A file:// URL's regular file, read in pieces; null for everything libcurl reads.
  std::unique_ptr<local_file> file_;
  std::string redacted_url_;
  bool is_file_ = false;

  state state_ = state::running;
  failure error_;
  std::string buffer_;
  /// The first body bytes, held back until sniff() decided they are no HTML page.
  std::string sniffed_;
  bool sniffing_ = true;
  bool paused_ = false;
  bool started_ = false;
  uint64_t bytes_received_ = 0;
  std::chrono::steady_clock::time_point last_activity_;

  // The current (after redirects: final) response.
  long status_ = 0;
  /// The blank line after the header block passed; later lines are trailers.
  bool headers_done_ = false;
  std::string content_type_;
  std::optional<uint64_t> content_length_;
  bool encoded_ = false;
  bool chunked_ = false;
  std::optional<std::chrono::seconds> retry_after_;
  std::optional<uint64_t> expected_bytes_;
};

} // namespace sheetsync
