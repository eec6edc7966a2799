#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "net/base64.hpp"

namespace sheetsync {

// Standard Webhooks (https://www.standardwebhooks.com): the signing side.
// Pure functions over OpenSSL; no CAF.

/// Checks a `whsec_<base64>` secret and puts the decoded key into `key`.
/// Returns "" or what is wrong; the text never contains the secret.
std::string parse_webhook_secret(std::string_view secret, std::string& key);

/// The webhook-signature header's value: `v1,<base64 HMAC-SHA256 of
/// "{id}.{timestamp}.{body}">` keyed with `key` (the decoded secret).
std::string webhook_signature(std::string_view key, std::string_view id,
                              int64_t timestamp_s, std::string_view body);

/// A fresh webhook-id: "msg_" and 24 hex digits from the system's random
/// source.
std::string new_webhook_id();

} // namespace sheetsync
