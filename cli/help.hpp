#pragma once

#include <string>

namespace sheetsync {

/// `sheetsync COMMAND --help` for "sync" or "serve": the usage, a sentence,
/// the command's flags grouped (source, cache, limits, Google, and for serve
/// serving and nodes) with their defaults, and two examples. CAF's own
/// options (scheduler, logger, middleman) are left to --help-all.
std::string command_help(const std::string& command);

} // namespace sheetsync
