#pragma once

#include <string>

#include "messages/actors.hpp"

namespace sheetsync {

/// Loads the credentials file `path` when asked and answers a token provider
/// for it (spawned detached: it blocks in libcurl), then quits. Reads the file:
/// spawn it detached.
/// @param self The loader.
/// @param path The credentials file.
/// @param token_url Overrides the file's token_uri when not empty (tests).
credentials_loader_actor::behavior_type
credentials_loader(credentials_loader_actor::pointer self, std::string path,
                   std::string token_url);

} // namespace sheetsync
