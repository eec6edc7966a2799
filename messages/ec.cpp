#include "messages/ec.hpp"

namespace sheetsync {

const char* to_string(ec code) {
  switch (code) {
    case ec::none: return "none";
    case ec::unspecified: return "unspecified";
    case ec::busy: return "busy";
    case ec::cooldown: return "cooldown";
    case ec::unknown_sync: return "unknown_sync";
    case ec::not_running: return "not_running";
    case ec::invalid_argument: return "invalid_argument";
    case ec::download_failed: return "download_failed";
    case ec::http_status: return "http_status";
    case ec::not_csv: return "not_csv";
    case ec::fetch_timeout: return "fetch_timeout";
    case ec::too_large: return "too_large";
    case ec::invalid_csv: return "invalid_csv";
    case ec::invalid_utf8: return "invalid_utf8";
    case ec::empty_sheet: return "empty_sheet";
    case ec::cache_failed: return "cache_failed";
    case ec::cache_busy: return "cache_busy";
    case ec::sync_timeout: return "sync_timeout";
    case ec::cancelled: return "cancelled";
    case ec::stage_failed: return "stage_failed";
    case ec::no_data: return "no_data";
    case ec::bad_credentials: return "bad_credentials";
    case ec::auth_failed: return "auth_failed";
    case ec::unavailable: return "unavailable";
    case ec::unfetchable: return "unfetchable";
    case ec::unknown_source: return "unknown_source";
    case ec::source_exists: return "source_exists";
    case ec::fixed_source: return "fixed_source";
  }
  return "unknown";
}

} // namespace sheetsync
