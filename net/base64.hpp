#pragma once

#include <string>
#include <string_view>

namespace sheetsync {

// Base64 of RFC 4648, both alphabets, one implementation: the webhook
// secrets and signatures use the standard one, JWTs the URL-safe one.

/// Standard base64 (section 4) with padding.
std::string base64_encode(std::string_view bytes);

/// Decodes standard base64; padding optional, no whitespace. False (and
/// `out` untouched) on any other character, an impossible length or
/// non-zero leftover bits.
bool base64_decode(std::string_view text, std::string& out);

/// base64url (section 5) without padding.
std::string base64url_encode(std::string_view bytes);

/// Decodes base64url with or without padding; false as base64_decode.
bool base64url_decode(std::string_view text, std::string& out);

} // namespace sheetsync
