#pragma once

#include <string>
#include <vector>

namespace sheetsync {

/// `sheetsync sync`: runs one sync in the foreground with a progress view.
/// @param args The arguments after the command name.
/// @returns the process exit code.
int run_sync_command(const std::vector<std::string>& args);

/// `sheetsync serve`: the HTTP API, event stream and pages, until SIGINT or
/// SIGTERM (which cancel a running sync and stop cleanly).
int run_serve_command(const std::vector<std::string>& args);

/// `sheetsync remote --node=HOST:PORT ACTION`: sync, status, watch or cancel
/// on the coordinator of another node (see cli/remote_options.hpp).
int run_remote_command(const std::vector<std::string>& args);

} // namespace sheetsync
