#pragma once

// The answers the HTTP facade's pieces share (the broker, its filters and its
// routes): internal to the facade.

#include <cstdint>
#include <string>

#include <caf/error.hpp>

#include "actors/http_facade.hpp"
#include "net/http_response.hpp"
#include "net/status_json.hpp"

namespace sheetsync {

using self_ptr = http_facade_actor*;

// -- responses ----------------------------------------------------------------

/// Every error answer: `{"success": false, "error": code, "message"}` plus
/// `fields`; a `retryAfter` goes out as the Retry-After header too.
http_response error_response(int status, const std::string& code,
                             const std::string& message,
                             const error_fields& fields = {});

/// The fields of an error answer that says when to ask again.
error_fields retry_in(uint32_t seconds);

/// Adds the RateLimit fields of the request's client (if it was counted)
/// to the head of a serialized answer, after the status line.
void add_rate_fields(self_ptr self, const reply_slot& slot, std::string& bytes);

/// Answers a request (if its client is still there).
void respond(self_ptr self, const reply_slot& slot, const char* route,
             const http_response& r);

/// Answers with a ready keep-alive answer (the hot path).
void respond_bytes(self_ptr self, const reply_slot& slot, const char* route,
                   int status, const std::string& bytes);

// -- coordinator errors -------------------------------------------------------

/// The answer to an error the coordinator gave (or a request to it that
/// failed).
http_response from_error(const caf::error& err);

/// Asks the coordinator and answers with `render(answer)`, or with the error
/// the coordinator gave.
template <class Answer, class Render, class... Ts>
void ask_and_answer(self_ptr self, const reply_slot& slot, const char* route,
                    Render render, Ts... xs) {
  auto& s = self->state;
  self->request(s.cfg.coordinator, s.cfg.request_timeout, xs...)
    .then(
      [=](const Answer& x) { respond(self, slot, route, render(x)); },
      [=](caf::error& err) { respond(self, slot, route, from_error(err)); });
}

} // namespace sheetsync
