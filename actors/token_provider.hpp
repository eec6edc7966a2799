#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <caf/actor_clock.hpp>

#include "messages/actors.hpp"
#include "sources/credentials.hpp"

namespace sheetsync {

struct token_provider_state {
  static inline const char* name = "token_provider";

  /// Longest a token exchange may block the actor.
  static constexpr std::chrono::milliseconds exchange_timeout{30'000};

  /// The most a token is renewed before it expires (less for short-lived
  /// tokens: 10 % of their lifetime).
  static constexpr std::chrono::seconds max_refresh_margin{300};

  /// The longest lifetime believed (Google's tokens last an hour): a larger
  /// expires_in saturates here.
  static constexpr std::chrono::seconds max_lifetime{24 * 3600};

  // -- member variables -------------------------------------------------------

  google_credentials creds;

  /// Seconds since the epoch, for the JWT's iat/exp: Google checks them
  /// against its own clock, so this is wall time, not the actor clock.
  std::function<int64_t()> wall_clock_s;

  /// The cached access token (a secret: never logged); "" = none.
  std::string token;

  /// On the actor clock: the cached token is handed out before this point.
  caf::actor_clock::time_point renew_at;

  /// Exchanges made so far (successful or not); for tests and diagnostics.
  uint64_t exchanges = 0;
};

/// Until when (on the actor clock) a token obtained at `obtained` and valid for
/// `expires_in_s` (saturated at max_lifetime) is handed out: its expiry minus
/// min(5 min, 10 % of its lifetime).
caf::actor_clock::time_point token_renew_at(caf::actor_clock::time_point obtained,
                                            int64_t expires_in_s);

/// Hands out access tokens of one set of credentials: when it has no fresh
/// token, exchanges a signed JWT (service account) or the refresh token
/// (authorized user) at the credentials' token_uri; caches the token and
/// reuses it until min(5 min, 10 % of its lifetime) before it expires, judged
/// on the actor clock. A failed exchange answers ec::auth_failed (or
/// ec::bad_credentials) and caches nothing; the next request tries again.
///
/// Blocks in the exchange (at most 30 s): spawn it detached.
/// @param self The token provider.
/// @param creds Validated credentials (load_credentials).
/// @param wall_clock_s Seconds since the epoch for the JWT's iat; null = the
///        system clock.
token_provider_actor::behavior_type
token_provider(token_provider_actor::stateful_pointer<token_provider_state> self,
               google_credentials creds,
               std::function<int64_t()> wall_clock_s = nullptr);

} // namespace sheetsync
