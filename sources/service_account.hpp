#pragma once

#include <string>

#include "messages/ec.hpp"

struct evp_pkey_st; // OpenSSL's EVP_PKEY

namespace sheetsync {

/// Google's token endpoint: a credentials file without "token_uri" uses it.
inline constexpr const char* default_token_uri = "https://oauth2.googleapis.com/token";

/// What sheetsync needs from a service account's credentials JSON (the file
/// Google's console downloads). `private_key_pem` is a secret: never log it or
/// put it in an error text.
struct service_account {
  /// The account's e-mail address: the JWT's issuer, and the address a sheet
  /// must be shared with.
  std::string client_email;
  /// The RSA private key, PEM ("-----BEGIN PRIVATE KEY-----...").
  std::string private_key_pem;
  /// The key's id; goes into the JWT header as "kid" when not empty.
  std::string private_key_id;
  /// Where the signed JWT is exchanged for an access token.
  std::string token_uri;
};

/// Reads and validates a credentials file, at start-up: the file is readable,
/// holds a JSON object, "type" (if present) is "service_account", client_email
/// and private_key are non-empty strings, private_key is a PEM RSA private key
/// (not encrypted), and token_uri is an http(s) URL. A file without
/// "token_uri" gets default_token_uri (files from Google always have it; older
/// or hand-written ones may not); a token_uri that is present must be a
/// non-empty string. "private_key_id" is optional.
///
/// On failure returns false with ec::bad_credentials and a text that names the
/// path and what is wrong, e.g. "credentials file /x.json: no client_email
/// field"; it never holds key material. `out` is left unchanged then.
bool load_service_account(const std::string& path, service_account& out,
                          failure& err);

/// Validates credentials given as JSON text (what load_service_account does
/// after reading the file); `path` only names them in error texts.
bool parse_service_account(const std::string& json, const std::string& path,
                           service_account& out, failure& err);

/// Reads a PEM RSA private key that needs no password; the caller frees it
/// with EVP_PKEY_free. Null on failure, with a short reason (OpenSSL's, never
/// key material). Never prompts for a password.
evp_pkey_st* read_rsa_private_key(const std::string& pem, std::string& reason);

/// True if `pem` is a PEM RSA private key that OpenSSL can read without a
/// password; else false with a short reason (OpenSSL's, never key material).
bool check_rsa_private_key(const std::string& pem, std::string& reason);

} // namespace sheetsync
