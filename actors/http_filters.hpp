#pragma once

// The filters a request passes before its route: the token, the rate limit,
// and the OPTIONS preflight before both (internal to the HTTP facade).

#include "actors/http_answers.hpp"

namespace sheetsync {

/// The token filter: with a token configured, /api/ needs
/// `Authorization: Bearer <token>`. Answers 401 and false without it.
bool authorized(self_ptr self, const reply_slot& slot, const http_request& req);

/// The rate limit (after the token filter): each /api/ request, an event
/// stream's opening included, counts against its client's bucket (the
/// checked token, else the peer address); the pages, /healthz, /readyz and
/// /metrics never do. Over it: 429 rate_limited and false. What is left goes
/// into `slot`, for the RateLimit fields of the answer.
bool within_rate_limit(self_ptr self, reply_slot& slot, const http_request& req);

/// OPTIONS: a CORS preflight from an allowed origin gets the preflight's
/// fields; any other (no Origin, another one) the same 204 with Allow alone.
/// Before the token filter: browsers send preflights without Authorization.
void answer_options(self_ptr self, const reply_slot& slot,
                    const http_request& req);

} // namespace sheetsync
