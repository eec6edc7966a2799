#pragma once

#include <string>
#include <variant>

#include "messages/ec.hpp"
#include "sources/service_account.hpp"

namespace sheetsync {

/// A user's OAuth credentials: what `gcloud auth application-default login`
/// writes ("type": "authorized_user"). `client_secret` and `refresh_token` are
/// secrets: never log them or put them in an error text.
struct authorized_user {
  std::string client_id;
  std::string client_secret;
  std::string refresh_token;
  /// Where the refresh token is exchanged for an access token.
  std::string token_uri;
};

/// A Google credentials file of either kind sheetsync reads.
struct google_credentials {
  std::variant<service_account, authorized_user> account;
  /// The file it came from ("" when built in code), for messages.
  std::string path;

  bool is_service_account() const {
    return std::holds_alternative<service_account>(account);
  }

  /// The service account's e-mail: the address a sheet must be shared with;
  /// "" for an authorized user (the file does not say which account it is).
  std::string client_email() const;

  /// Where tokens are obtained.
  const std::string& token_uri() const;
  void set_token_uri(std::string uri);

  /// Who these credentials are, for messages: "service account E-MAIL" or
  /// "the Google account of the authorized_user credentials file PATH".
  std::string who() const;
};

/// Reads and validates a credentials file, at start-up; one set of rules for
/// both kinds:
/// - the file is readable, at most 1 MiB, and holds a JSON object;
/// - "type" is "service_account" or "authorized_user"; a file without "type"
///   is a service account unless it has a "refresh_token";
/// - a service account has non-empty string client_email and private_key, the
///   key a PEM RSA private key (not encrypted), and optionally private_key_id;
/// - an authorized user has non-empty string client_id, client_secret and
///   refresh_token;
/// - token_uri, if present, is a non-empty http(s) URL; without it,
///   default_token_uri.
///
/// On failure returns false with ec::bad_credentials and a text that names the
/// path and the field, e.g. "credentials file /x.json: no client_email field";
/// it never holds a key, a secret or a token. `out` is left unchanged then.
bool load_credentials(const std::string& path, google_credentials& out,
                      failure& err);

/// Validates credentials given as JSON text (what load_credentials does after
/// reading the file); `path` names them in error texts and in `out.path`.
bool parse_credentials(const std::string& json, const std::string& path,
                       google_credentials& out, failure& err);

} // namespace sheetsync
