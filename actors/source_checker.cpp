#include "actors/source_checker.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "messages/error.hpp"

namespace sheetsync {

source_checker_actor::behavior_type
source_checker(source_checker_actor::stateful_pointer<source_checker_state> self,
               fetch_plan plan, token_provider_actor token, std::string client_email,
               caf::timespan fetch_timeout) {
  preview_limits limits;
  limits.fetch_timeout = std::min<std::chrono::milliseconds>(
    limits.fetch_timeout,
    std::chrono::duration_cast<std::chrono::milliseconds>(fetch_timeout));
  auto run = [=](const std::string& bearer) {
    auto result = preview_source(plan, bearer, client_email, limits);
    self->quit();
    return result;
  };
  return {
    [=](atom::check) -> caf::result<source_check> {
      if (!plan.needs_token)
        return run("");
      if (!token) {
        self->quit();
        source_check result;
        result.message = "no token provider for this source's credentials";
        return result;
      }
      auto rp = self->make_response_promise<source_check>();
      // The provider has its own time-out (30 s).
      self->request(token, caf::infinite, caf::get_atom::value, atom::token::value)
        .then([=](const std::string& bearer) mutable { rp.deliver(run(bearer)); },
              [=](caf::error& err) mutable {
                source_check result;
                result.message = error_text(err);
                rp.deliver(std::move(result));
                self->quit();
              });
      return rp;
    },
  };
}

} // namespace sheetsync
