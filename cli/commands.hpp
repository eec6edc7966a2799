#pragma once

#include <string>
#include <vector>

namespace sheetsync {

/// `sheetsync sync`: runs one sync in the foreground with a progress view.
/// @param args The arguments after the command name.
/// @returns the process exit code.
int run_sync_command(const std::vector<std::string>& args);

} // namespace sheetsync
