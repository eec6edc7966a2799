#pragma once

#include <string>
#include <vector>

#include <caf/timespan.hpp>

#include "actors/webhook_sender.hpp"
#include "cli/config_file.hpp"

namespace sheetsync {

/// Checks a receiver's URL (http:// or https:// with a host). Returns "" or
/// what is wrong; the URL appears redacted.
std::string check_webhook_url(const std::string& url);

/// Reads `webhooks = [{ url = "...", events = [...], sources = [...] }]`
/// from the [sheetsync] section of a config file into `out` (appended);
/// events default to all three, sources to all. Returns "" or what is wrong
/// and where.
std::string read_webhook_config(const config_node& root, const std::string& path,
                                std::vector<webhook_endpoint>& out);

/// Parses --webhook-backoff: comma-separated delays such as "5s,30s,2min"
/// (units ms, s, min, h; 1 to 20 of them). Returns "" or what is wrong.
std::string parse_webhook_backoff(const std::string& text,
                                  std::vector<caf::timespan>& out);

} // namespace sheetsync
