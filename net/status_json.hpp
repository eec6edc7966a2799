#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/data_page.hpp"
#include "messages/sync_status.hpp"

namespace sheetsync {

/// "2026-11-28T17:04:05.123Z": Unix milliseconds as ISO 8601 UTC.
std::string iso8601(int64_t unix_ms);

/// The status object of the HTTP API (docs/http-api.md), on one line.
std::string to_json(const sync_status& st);

/// The /api/data answer.
std::string to_json(const data_page& page);

/// The answer to a start: `{"success": true, "syncId", "source",
/// "message"}` (202 with the new id).
std::string start_json(const std::string& sync_id, const std::string& message,
                       const std::string& source);

/// What an error answer carries besides `success`, `error` and `message`
/// (each only when set).
struct error_fields {
  /// "retryAfter": seconds until asking again is worth it (0 = none).
  uint32_t retry_after = 0;
  /// "syncId": the sync in the way (409 busy).
  std::string sync_id;
  /// "sources": the known source names (404 unknown_source).
  std::vector<std::string> sources;
  bool list_sources = false;
  /// "status": "not ready" and "reason" (503 from /readyz, for probes that
  /// read those).
  bool not_ready = false;
};

/// Every error answer of the HTTP API: `{"success": false, "error": code,
/// "message": message}` followed by `fields`.
std::string error_json(const std::string& code, const std::string& message,
                       const error_fields& fields = {});

/// The message of a 404 unknown_source: "no source named 'x'; the sources
/// are: a, b".
std::string unknown_source_message(const std::string& name,
                                   const std::vector<std::string>& known);

/// The GET /api/sync-history answer: `{"syncs": [status objects...]}`.
std::string history_json(const std::vector<sync_status>& syncs);

} // namespace sheetsync
