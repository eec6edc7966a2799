#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "messages/ec.hpp"
#include "sources/credentials.hpp"

namespace sheetsync {

/// An OAuth access token from the token endpoint. `value` is a secret: never
/// log it or put it in a text.
struct access_token {
  std::string value;
  /// Seconds the token is valid from when it was issued (Google: 3599).
  int64_t expires_in_s = 0;
};

/// Exchanges a signed JWT (see make_jwt) for an access token: POSTs
/// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT`
/// (form-encoded) to `token_uri` and reads {"access_token", "expires_in",
/// "token_type"}. Blocks for at most `timeout` (connecting: at most 10 s of it);
/// follows no redirect. Needs curl_global_init() first. Thread-safe (one easy
/// handle per call).
///
/// A response without "expires_in" counts as 3600 s (RFC 6749 makes it
/// optional; Google always sends it). "token_type", if present, must be
/// "Bearer" (any case).
///
/// On failure returns false with ec::auth_failed, `out` unchanged:
/// - connection failure or time-out: "cannot reach the token endpoint
///   <redacted uri>: <libcurl's reason>";
/// - a non-2xx status: "the token endpoint <redacted uri> answered HTTP 400:
///   invalid_grant: <error_description>" (Google's `error` and
///   `error_description` when the body has them), with `err.http_status` set;
/// - a 2xx answer without a usable token.
/// No text ever holds the assertion or the token.
bool exchange_jwt(const std::string& token_uri, const std::string& assertion,
                  std::chrono::milliseconds timeout, access_token& out,
                  failure& err);

/// Exchanges an authorized user's refresh token for an access token: POSTs
/// `grant_type=refresh_token&client_id=..&client_secret=..&refresh_token=..`
/// to `user.token_uri`; otherwise as exchange_jwt (time-out, answers,
/// failures). A refused refresh token (Google: 400 invalid_grant) or client
/// (401 invalid_client) gets advice on what to do. No text ever holds the
/// client secret, the refresh token or the access token.
bool exchange_refresh_token(const authorized_user& user,
                            std::chrono::milliseconds timeout,
                            access_token& out, failure& err);

} // namespace sheetsync
