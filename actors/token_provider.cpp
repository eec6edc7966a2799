#include "actors/token_provider.hpp"

#include <ctime>

#include <caf/all.hpp>

#include "messages/error.hpp"
#include "sources/jwt.hpp"
#include "sources/token_exchange.hpp"

namespace sheetsync {

caf::actor_clock::time_point token_renew_at(caf::actor_clock::time_point obtained,
                                            int64_t expires_in_s) {
  if (expires_in_s <= 0)
    return obtained;
  // Saturated before any multiplication: expires_in comes from a server and
  // may be any number; in nanoseconds a large one would overflow.
  caf::timespan lifetime = std::chrono::seconds{
    std::min<int64_t>(expires_in_s, token_provider_state::max_lifetime.count())};
  auto margin = std::min<caf::timespan>(token_provider_state::max_refresh_margin,
                                        lifetime / 10);
  return obtained + (lifetime - margin);
}

token_provider_actor::behavior_type
token_provider(token_provider_actor::stateful_pointer<token_provider_state> self,
               google_credentials creds, std::function<int64_t()> wall_clock_s) {
  self->state.creds = std::move(creds);
  if (wall_clock_s)
    self->state.wall_clock_s = std::move(wall_clock_s);
  else
    self->state.wall_clock_s = [] { return static_cast<int64_t>(std::time(nullptr)); };
  return {
    [=](caf::get_atom, atom::token) -> caf::result<std::string> {
      auto& st = self->state;
      // Taken before the exchange: the token's lifetime starts at Google
      // during it, so this errs on the early side.
      auto now = self->clock().now();
      if (!st.token.empty() && now < st.renew_at)
        return st.token;
      st.token.clear();
      ++st.exchanges;
      failure err;
      access_token tok;
      auto exchanged = false;
      if (auto* sa = std::get_if<service_account>(&st.creds.account)) {
        auto assertion = make_jwt(*sa, st.wall_clock_s(), default_sheets_scope, err);
        if (assertion.empty())
          return make_error(err);
        exchanged = exchange_jwt(sa->token_uri, assertion,
                                 token_provider_state::exchange_timeout, tok, err);
      } else {
        exchanged = exchange_refresh_token(std::get<authorized_user>(st.creds.account),
                                           token_provider_state::exchange_timeout,
                                           tok, err);
      }
      if (!exchanged) {
        // Keeps the HTTP status: a 429 or 5xx of the token endpoint is retried.
        err.text = st.creds.who() + ": " + err.text;
        return make_error(err);
      }
      st.token = std::move(tok.value);
      st.renew_at = token_renew_at(now, tok.expires_in_s);
      return st.token;
    },
  };
}

} // namespace sheetsync
