#pragma once

#include <optional>
#include <string>
#include <vector>

#include "messages/system_config.hpp"

namespace sheetsync {

/// Parses a command's flags into `cfg` (both `--flag value` and
/// `--flag=value`). Returns an exit code when the command should stop here:
/// 0 after printing --help (followed by `usage`), 2 after a parse error.
std::optional<int> parse_command_line(system_config& cfg,
                                      const std::string& command,
                                      const std::vector<std::string>& args,
                                      const char* usage);

} // namespace sheetsync
