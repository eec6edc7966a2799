#include "actors/http_answers.hpp"

#include <caf/sec.hpp>

#include "messages/ec.hpp"
#include "messages/error.hpp"

namespace sheetsync {

// -- responses ----------------------------------------------------------------

http_response error_response(int status, const std::string& code,
                             const std::string& message,
                             const error_fields& fields) {
  auto r = json_response(status, error_json(code, message, fields));
  if (fields.retry_after > 0)
    r.headers.emplace_back("Retry-After", std::to_string(fields.retry_after));
  return r;
}

error_fields retry_in(uint32_t seconds) {
  error_fields fields;
  fields.retry_after = seconds;
  return fields;
}

void add_rate_fields(self_ptr self, const reply_slot& slot, std::string& bytes) {
  auto& limiter = self->state.limiter;
  auto eol = bytes.find("\r\n");
  if (slot.rate_remaining < 0 || !limiter || eol == std::string::npos)
    return;
  rate_decision d;
  d.remaining = static_cast<uint32_t>(slot.rate_remaining);
  d.next_in = slot.rate_next_in;
  bytes.insert(eol + 2, limiter->header_lines(d));
}

void respond(self_ptr self, const reply_slot& slot, const char* route,
             const http_response& r) {
  self->state.metrics.count_request(route, r.status);
  std::string bytes;
  if (slot.headers.empty()) {
    bytes = serialize(r, slot.keep_alive, slot.head);
  } else {
    auto with = r;
    with.headers.insert(with.headers.end(), slot.headers.begin(),
                        slot.headers.end());
    bytes = serialize(with, slot.keep_alive, slot.head);
  }
  add_rate_fields(self, slot, bytes);
  self->state.conns->fill(slot, std::move(bytes), !slot.keep_alive);
}

void respond_bytes(self_ptr self, const reply_slot& slot, const char* route,
                   int status, const std::string& bytes) {
  self->state.metrics.count_request(route, status);
  auto out = bytes;
  if (!slot.headers.empty()) {
    // The slot's fields go right after the status line.
    std::string fields;
    for (auto& [name, value] : slot.headers)
      fields += name + ": " + value + "\r\n";
    out.insert(out.find("\r\n") + 2, fields);
  }
  add_rate_fields(self, slot, out);
  self->state.conns->fill(slot, std::move(out), false);
}

// -- coordinator errors -------------------------------------------------------

http_response from_error(const caf::error& err) {
  switch (code_of(err)) {
    case ec::busy: {
      error_fields fields;
      fields.sync_id = busy_id(err);
      return error_response(409, "busy", error_text(err), fields);
    }
    case ec::cooldown:
      return error_response(429, "cooldown", error_text(err),
                            retry_in(cooldown_seconds(err)));
    case ec::unknown_sync:
      return error_response(404, "unknown_sync", error_text(err));
    case ec::unknown_source:
      return error_response(404, "unknown_source", error_text(err));
    case ec::source_exists:
      return error_response(409, "source_exists", error_text(err));
    case ec::fixed_source:
      return error_response(409, "fixed_source", error_text(err));
    case ec::not_running:
      return error_response(409, "not_running", error_text(err));
    case ec::invalid_argument:
      return error_response(400, "invalid_argument", error_text(err));
    case ec::unavailable:
      return error_response(503, "unavailable", error_text(err), retry_in(1));
    case ec::cache_busy:
      // Passes when the other process lets go of the cache.
      return error_response(503, "cache_busy", error_text(err),
                            retry_in(cache_busy_retry_seconds));
    case ec::unspecified:
      if (err == caf::sec::request_timeout || err == caf::sec::request_receiver_down)
        return error_response(503, "unavailable",
                              "the sync coordinator did not answer; try again "
                              "in a moment",
                              retry_in(1));
      [[fallthrough]];
    default:
      return error_response(500, to_string(code_of(err)), error_text(err));
  }
}

} // namespace sheetsync
