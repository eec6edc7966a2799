#include "actors/credentials_loader.hpp"

#include <functional>
#include <utility>

#include <caf/all.hpp>

#include "actors/token_provider.hpp"
#include "messages/error.hpp"
#include "sources/credentials.hpp"

namespace sheetsync {

credentials_loader_actor::behavior_type
credentials_loader(credentials_loader_actor::pointer self, std::string path,
                   std::string token_url) {
  return {
    [=](caf::get_atom, atom::token)
      -> caf::result<token_provider_actor, std::string> {
      // One answer per loader: the coordinator spawns one per file.
      self->quit();
      google_credentials creds;
      failure err;
      if (!load_credentials(path, creds, err))
        return make_error(err);
      if (!token_url.empty())
        creds.set_token_uri(token_url);
      auto email = creds.is_service_account() ? creds.client_email()
                                              : std::string{};
      auto provider = self->system().spawn<caf::detached>(
        token_provider, std::move(creds), std::function<int64_t()>{});
      return caf::result<token_provider_actor, std::string>{std::move(provider),
                                                           std::move(email)};
    },
  };
}

} // namespace sheetsync
