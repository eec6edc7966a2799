#pragma once

#include <cstdint>
#include <string>

#include "messages/data_page.hpp"
#include "messages/sync_status.hpp"

namespace sheetsync {

/// "2026-11-28T17:04:05.123Z": Unix milliseconds as ISO 8601 UTC.
std::string iso8601(int64_t unix_ms);

/// The status object of the HTTP API (docs/http-api.md), on one line.
std::string to_json(const sync_status& st);

/// The /api/data answer.
std::string to_json(const data_page& page);

/// `{"success": false, "error": code, "message": message}`.
std::string error_json(const std::string& code, const std::string& message);

} // namespace sheetsync
