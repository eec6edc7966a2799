#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/data_page.hpp"
#include "messages/source_info.hpp"
#include "messages/sync_status.hpp"

namespace sheetsync {

/// "2026-11-28T17:04:05.123Z": Unix milliseconds as ISO 8601 UTC.
std::string iso8601(int64_t unix_ms);

/// The status object of the HTTP API (docs/http-api.md), on one line.
std::string to_json(const sync_status& st);

/// The /api/data answer.
std::string to_json(const data_page& page);

/// The answer to a start: `{"success", "syncId", "message"}` (202 with the
/// new id, 409 with the running one), plus `"source"` when `source` is not
/// empty.
std::string start_json(bool success, const std::string& sync_id,
                       const std::string& message,
                       const std::string& source = "");

/// The answer within the cooldown: `{"success": false, "retryAfter", "message"}`.
std::string cooldown_json(uint32_t seconds, const std::string& message);

/// `{"success": false, "error": code, "message": message}`.
std::string error_json(const std::string& code, const std::string& message);

/// The readiness answer when not ready: `{"status": "not ready", "reason"}`.
std::string not_ready_json(const std::string& reason);

/// The answer for a source name that is not configured: `{"success": false,
/// "error": "unknown_source", "message", "sources": [known names...]}`.
std::string unknown_source_json(const std::string& name,
                                const std::vector<std::string>& known);

/// The GET /api/sources answer: `{"sources": [{"name", "location", "access",
/// "intervalSeconds", "default", "running", "queued", "last"}, ...]}`; the
/// first source is the default one.
std::string to_json(const std::vector<source_info>& sources);

/// The GET /api/sync-history answer: `{"syncs": [status objects...]}`.
std::string history_json(const std::vector<sync_status>& syncs);

} // namespace sheetsync
