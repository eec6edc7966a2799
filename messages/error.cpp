#include "messages/error.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>
#include <caf/to_string.hpp>

namespace sheetsync {

namespace {

const caf::atom_value category = caf::atom("sheetsync");

} // namespace

caf::error make_error(ec code, std::string text) {
  return caf::make_error(code, std::move(text));
}

caf::error make_error(const failure& f) {
  // Any failure caused by an HTTP answer (the sheet or the token endpoint)
  // keeps its status, so the coordinator can tell whether to retry.
  if (f.http_status != 0)
    return caf::make_error(f.code, f.text, static_cast<uint32_t>(f.http_status),
                           f.retry_after);
  return make_error(f.code, f.text);
}

caf::error make_http_error(uint16_t status, uint32_t retry_after,
                           std::string text) {
  return caf::make_error(ec::http_status, std::move(text),
                         static_cast<uint32_t>(status), retry_after);
}

uint16_t http_status_of(const caf::error& err) {
  auto code = code_of(err);
  if (code == ec::none || code == ec::unspecified || code == ec::busy
      || code == ec::cooldown)
    return 0;
  auto& ctx = err.context();
  if (ctx.size() >= 3 && ctx.match_element<uint32_t>(1))
    return static_cast<uint16_t>(ctx.get_as<uint32_t>(1));
  return 0;
}

uint32_t retry_after_of(const caf::error& err) {
  if (http_status_of(err) == 0)
    return 0;
  auto& ctx = err.context();
  if (ctx.size() >= 3 && ctx.match_element<uint32_t>(2))
    return ctx.get_as<uint32_t>(2);
  return 0;
}

caf::error make_busy_error(const std::string& running_id) {
  return caf::make_error(ec::busy,
                         "a sync is already running (" + running_id + ")",
                         running_id);
}

caf::error make_cooldown_error(uint32_t seconds_left) {
  return caf::make_error(ec::cooldown,
                         "a sync was started moments ago; try again in "
                           + std::to_string(seconds_left) + " s",
                         seconds_left);
}

ec code_of(const caf::error& err) {
  if (!err)
    return ec::none;
  if (err.category() != category)
    return ec::unspecified;
  return static_cast<ec>(err.code());
}

std::string error_text(const caf::error& err) {
  if (!err)
    return {};
  if (err.category() == category) {
    auto& ctx = err.context();
    if (ctx.size() >= 1 && ctx.match_element<std::string>(0))
      return ctx.get_as<std::string>(0);
    return to_string(static_cast<ec>(err.code()));
  }
  if (err == caf::sec::request_timeout)
    return "the request timed out";
  return caf::to_string(err);
}

std::string busy_id(const caf::error& err) {
  if (code_of(err) != ec::busy)
    return {};
  auto& ctx = err.context();
  if (ctx.size() >= 2 && ctx.match_element<std::string>(1))
    return ctx.get_as<std::string>(1);
  return {};
}

uint32_t cooldown_seconds(const caf::error& err) {
  if (code_of(err) != ec::cooldown)
    return 0;
  auto& ctx = err.context();
  if (ctx.size() >= 2 && ctx.match_element<uint32_t>(1))
    return ctx.get_as<uint32_t>(1);
  return 0;
}

std::string render_error(uint8_t code, caf::atom_value,
                         const caf::message& context) {
  std::string result = "sheetsync: ";
  result += to_string(static_cast<ec>(code));
  if (context.size() >= 1 && context.match_element<std::string>(0)) {
    result += ": ";
    result += context.get_as<std::string>(0);
  }
  return result;
}

} // namespace sheetsync
