#include "cli/args.hpp"

namespace sheetsync {

std::vector<std::string> normalize_args(const std::vector<std::string>& args,
                                        const std::set<std::string>& switches) {
  std::vector<std::string> result;
  for (size_t i = 0; i < args.size(); ++i) {
    auto& arg = args[i];
    if (arg == "--") {
      result.insert(result.end(), args.begin() + i, args.end());
      break;
    }
    bool long_option = arg.size() > 2 && arg.compare(0, 2, "--") == 0
                       && arg.find('=') == std::string::npos;
    if (long_option && switches.count(arg.substr(2)) == 0
        && i + 1 < args.size()) {
      // A value may itself start with '-' only when it is a number ("-1").
      auto& next = args[i + 1];
      bool next_is_option = !next.empty() && next[0] == '-'
                            && !(next.size() > 1 && isdigit(next[1]));
      if (!next_is_option) {
        result.push_back(arg + "=" + next);
        ++i;
        continue;
      }
    }
    result.push_back(arg);
  }
  return result;
}

} // namespace sheetsync
