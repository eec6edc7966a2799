#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "messages/ec.hpp"
#include "net/base64.hpp"
#include "sources/service_account.hpp"

namespace sheetsync {

/// The scope a JWT asks for when none is given: read-only Sheets access.
inline constexpr const char* default_sheets_scope
  = "https://www.googleapis.com/auth/spreadsheets.readonly";

/// Lifetime of the assertion (Google's maximum): exp = iat + this.
inline constexpr int64_t jwt_lifetime_s = 3600;

/// Builds the signed JWT of Google's service-account flow (the "assertion"):
/// header {"alg":"RS256","typ":"JWT"} plus "kid" when the key has an id;
/// claims iss = client_email, scope (default_sheets_scope when empty), aud =
/// token_uri, iat = now_s, exp = now_s + 3600; signed RS256 (RSASSA-PKCS1-v1_5
/// with SHA-256). The result is a secret: never log it or put it in a text.
///
/// Returns "" on failure: ec::bad_credentials when the key does not parse,
/// ec::auth_failed when signing fails; the text holds no key material.
std::string make_jwt(const service_account& sa, int64_t now_s,
                     const std::string& scope, failure& err);

} // namespace sheetsync
