#pragma once

#include <cstdint>
#include <string>

namespace sheetsync {

/// Every failure kind of sheetsync. CAF-free so the building blocks (CSV
/// parser, SQLite store, curl transfer) compile without CAF; messages/error.hpp
/// makes it a CAF error category.
enum class ec : uint8_t {
  /// Not an error.
  none = 0,
  /// An error without a more specific code.
  unspecified,
  /// A sync of this source is running; context: the running sync's id.
  busy,
  /// Started too soon after the previous start; context: seconds left.
  cooldown,
  /// No sync with this id (never started, or evicted from memory).
  unknown_sync,
  /// The sync already finished and can no longer be cancelled.
  not_running,
  /// A flag, setting or request argument is invalid.
  invalid_argument,
  /// The transfer failed in a way that may pass (so it is retried): DNS,
  /// connect, TLS handshake, reset, truncated body.
  download_failed,
  /// The server answered with a non-success HTTP status.
  http_status,
  /// The server sent an HTML page (e.g. Google's sign-in page), not CSV.
  not_csv,
  /// No byte arrived for the fetch time-out.
  fetch_timeout,
  /// A size limit was passed: the download's byte cap, or the parser's
  /// column limit; the message names the limit and, for columns, the row.
  too_large,
  /// The CSV is malformed (e.g. a quote that never closes).
  invalid_csv,
  /// A cell is not valid UTF-8.
  invalid_utf8,
  /// The sheet has no header row.
  empty_sheet,
  /// Reading or writing the SQLite cache failed.
  cache_failed,
  /// Another process holds the SQLite cache locked for longer than the busy
  /// time-out; it passes when that process lets go (retry after
  /// cache_busy_retry_seconds).
  cache_busy,
  /// The whole sync took longer than its limit.
  sync_timeout,
  /// A user cancelled the sync.
  cancelled,
  /// A pipeline stage terminated without reporting a result.
  stage_failed,
  /// The source has no cached data yet (never synced).
  no_data,
  /// A service account's credentials file is unreadable or incomplete.
  bad_credentials,
  /// Getting an access token failed, or Google refused the credentials.
  auth_failed,
  /// The coordinator runs on another node that cannot be reached right now.
  unavailable,
  /// The transfer cannot succeed as asked, so it is not retried: a missing
  /// local file, too many redirects, a malformed URL, a refused TLS
  /// certificate, a redirect to a scheme other than http(s).
  unfetchable,
  /// No source of this name (HTTP 404).
  unknown_source,
  /// A source of this name exists already (HTTP 409).
  source_exists,
  /// The source is defined by a flag or the config file and cannot be changed
  /// or removed at run time; the message says where it is defined (HTTP 409).
  fixed_source,
};

/// How long a client should wait before asking again after ec::cache_busy
/// (the HTTP answer's Retry-After).
constexpr uint32_t cache_busy_retry_seconds = 2;

/// Returns the code's name, e.g. "fetch_timeout".
const char* to_string(ec code);

/// A failure as plain data, for the CAF-free building blocks; the actors turn
/// it into a caf::error with the same code and text.
struct failure {
  ec code = ec::none;
  std::string text;
  /// ec::http_status: the server's status code.
  uint16_t http_status = 0;
  /// ec::http_status: the server's Retry-After in seconds, 0 if none.
  uint32_t retry_after = 0;

  explicit operator bool() const {
    return code != ec::none;
  }
};

} // namespace sheetsync
