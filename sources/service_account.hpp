#pragma once

#include <string>

struct evp_pkey_st; // OpenSSL's EVP_PKEY

namespace sheetsync {

/// Google's token endpoint: a credentials file without "token_uri" uses it.
inline constexpr const char* default_token_uri = "https://oauth2.googleapis.com/token";

/// What sheetsync needs from a service account's credentials JSON (the file
/// Google's console downloads; read by load_credentials). `private_key_pem` is
/// a secret: never log it or put it in an error text.
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

/// Reads a PEM RSA private key that needs no password; the caller frees it
/// with EVP_PKEY_free. Null on failure, with a short reason (OpenSSL's, never
/// key material). Never prompts for a password.
evp_pkey_st* read_rsa_private_key(const std::string& pem, std::string& reason);

/// True if `pem` is a PEM RSA private key that OpenSSL can read without a
/// password; else false with a short reason (OpenSSL's, never key material).
bool check_rsa_private_key(const std::string& pem, std::string& reason);

} // namespace sheetsync
