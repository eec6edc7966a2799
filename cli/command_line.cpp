#include "cli/command_line.hpp"

#include <iostream>

#include "cli/args.hpp"
#include "cli/pipeline_options.hpp"

namespace sheetsync {

std::optional<int> parse_command_line(system_config& cfg,
                                      const std::string& command,
                                      const std::vector<std::string>& raw_args,
                                      const char* usage) {
  auto args = normalize_args(raw_args, switch_flags());
  auto prog = "sheetsync " + command;
  std::vector<char*> argv{prog.data()};
  for (auto& a : args)
    argv.push_back(a.data());
  if (auto err = cfg.parse(static_cast<int>(argv.size()), argv.data())) {
    std::cerr << prog << ": " << cfg.render(err) << "\n(see " << prog
              << " --help)\n";
    return 2;
  }
  if (cfg.cli_helptext_printed) {
    std::cout << "\n" << usage;
    return 0;
  }
  return std::nullopt;
}

} // namespace sheetsync
