#include "actors/http_filters.hpp"

#include <string>
#include <strings.h>

#include <openssl/crypto.h>

#include "actors/http_routes.hpp"

namespace sheetsync {

namespace {

/// Compares in time independent of where the first difference is, so the
/// token cannot be guessed byte by byte from response times.
bool constant_time_equal(const std::string& x, const std::string& y) {
  return x.size() == y.size() && CRYPTO_memcmp(x.data(), y.data(), x.size()) == 0;
}

} // namespace

// -- filters ------------------------------------------------------------------

bool authorized(self_ptr self, const reply_slot& slot, const http_request& req) {
  auto& token = self->state.cfg.api_token;
  if (token.empty() || req.path.compare(0, 5, "/api/") != 0)
    return true;
  // The scheme is case-insensitive (RFC 7235); the token is not.
  auto auth = req.header("authorization");
  auto has_scheme = auth && auth->size() > 7
                    && strncasecmp(auth->c_str(), "bearer ", 7) == 0;
  // One or more spaces after the scheme (RFC 9110).
  auto token_at = has_scheme ? auth->find_first_not_of(' ', 7)
                             : std::string::npos;
  if (token_at != std::string::npos
      && constant_time_equal(auth->substr(token_at), token))
    return true;
  auto r = error_response(401, "unauthorized",
                          "this service needs an API token: send "
                          "'Authorization: Bearer <token>'");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  respond(self, slot, "unauthorized", r);
  return false;
}

bool within_rate_limit(self_ptr self, reply_slot& slot, const http_request& req) {
  auto& s = self->state;
  if (!s.limiter || req.path.compare(0, 5, "/api/") != 0)
    return true;
  auto& token = s.cfg.api_token;
  auto key = rate_client_key(token, token.empty() ? self->remote_addr(slot.hdl)
                                                  : std::string{});
  auto d = s.limiter->take(key, self->clock().now());
  slot.rate_remaining = d.remaining;
  slot.rate_next_in = d.next_in;
  if (d.allowed)
    return true;
  respond(self, slot, "rate_limited",
          error_response(429, "rate_limited", s.limiter->refusal(d),
                         retry_in(d.next_in)));
  return false;
}

// -- preflight ----------------------------------------------------------------

void answer_options(self_ptr self, const reply_slot& slot,
                    const http_request& req) {
  auto methods = methods_of(req.path);
  if (methods.empty()) {
    respond(self, slot, "not_found",
            error_response(404, "not_found", "no such resource: " + req.path));
    return;
  }
  http_response r;
  r.status = 204;
  auto origin = req.header("origin");
  r.headers = self->state.cors.preflight_headers(origin ? *origin : "", methods);
  r.headers.emplace_back("Allow", methods + ", OPTIONS");
  auto plain = slot;
  plain.headers.clear(); // in the preflight's fields already
  respond(self, plain, "preflight", r);
}

} // namespace sheetsync
