#pragma once

#include <string>

namespace sheetsync {

/// Returns `url` fit for logs and error texts: without userinfo (`user:password@`), and with the
/// value of every query and fragment parameter replaced by `***`, except the harmless `gid`,
/// `format`, `single` and `output` that Google's export and publish URLs use. A parameter
/// without a value (`?secret`) becomes `***`. Dropping all other values rather than listing the
/// secret names (key, access_token, X-Goog-Signature, ...) keeps the rule safe for names nobody
/// thought of. The scheme, host, port and path stay, so the text still says where it went.
std::string redact_url(const std::string& url);

} // namespace sheetsync
