#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "messages/ec.hpp"

// sheetsync's errors are CAF errors of category "sheetsync": code from
// sheetsync::ec, context = (text) or (text, detail) where detail is the busy
// sync's id (std::string) or the cooldown's seconds left (uint32_t), or
// (text, status, retry-after) as two uint32_t for failures an HTTP answer caused.
CAF_ERROR_CODE_ENUM(sheetsync::ec, "sheetsync")

namespace sheetsync {

/// Turns a building block's failure into a CAF error with the same code and text.
caf::error make_error(ec code, std::string text);
caf::error make_error(const failure& f);

/// `busy`, carrying the running sync's id.
caf::error make_busy_error(const std::string& running_id);

/// `cooldown`, carrying the whole seconds left (rounded up).
caf::error make_cooldown_error(uint32_t seconds_left);

/// `http_status`, carrying the status code and the Retry-After seconds (0 =
/// none), so the coordinator can decide whether and when to retry.
caf::error make_http_error(uint16_t status, uint32_t retry_after,
                           std::string text);

/// The HTTP status carried by an error that an HTTP answer caused (ec::http_status,
/// or e.g. ec::auth_failed from the token endpoint); 0 otherwise.
uint16_t http_status_of(const caf::error& err);

/// The Retry-After seconds carried with that status (0 otherwise).
uint32_t retry_after_of(const caf::error& err);

/// The sheetsync code of `err`, or ec::unspecified for errors of other categories.
ec code_of(const caf::error& err);

/// What a person reads: the context's text for sheetsync errors, CAF's
/// rendering for others. Never includes secrets (texts are built redacted).
std::string error_text(const caf::error& err);

/// The running sync's id carried by a `busy` error ("" otherwise).
std::string busy_id(const caf::error& err);

/// The seconds left carried by a `cooldown` error (0 otherwise).
uint32_t cooldown_seconds(const caf::error& err);

/// Renders sheetsync errors for CAF (registered by the system config).
std::string render_error(uint8_t code, caf::atom_value category,
                         const caf::message& context);

} // namespace sheetsync
