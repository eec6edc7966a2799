#include "cli/remote_options.hpp"

#include <cstdint>
#include <string>

#include "cli/args.hpp"
#include "cli/command_line.hpp"

namespace sheetsync {

const char* remote_usage
  = "Usage: sheetsync remote --node=HOST:PORT sync [--source=NAME]\n"
    "       sheetsync remote --node=HOST:PORT status [ID]\n"
    "       sheetsync remote --node=HOST:PORT watch\n"
    "       sheetsync remote --node=HOST:PORT cancel ID\n"
    "Talks to the coordinator that `sheetsync serve --node-port=PORT` publishes"
    " at\nHOST:PORT (CAF's own network layer; both nodes must run the same"
    " sheetsync build).\n"
    "  sync    starts a sync of the source (default: the node's default"
    " source) and\n"
    "          shows its progress like `sheetsync sync`; Ctrl-C cancels it\n"
    "  status  prints a sync's status (without ID: the running or latest"
    " one)\n"
    "  watch   prints one line per status change of every sync until"
    " Ctrl-C\n"
    "  cancel  cancels a running sync and prints its final status\n"
    "Flags:\n"
    "  --node=HOST:PORT     the coordinator node (its --node-port); IPv6 as"
    " [::1]:4242\n"
    "  --source=NAME        the source to sync (sync only)\n"
    "  --connect-timeout=T  how long reaching the node may take (default: 10s;"
    " also\n                       500ms, 1.5s, 1min)\n"
    "Exit codes: 0 done (sync: complete), 1 the sync or the request failed or"
    " the node\nwent away, 2 bad arguments or no connection, 130 interrupted"
    " (sync: cancelled).\n"
    "The node port is unauthenticated: reach it only inside a trusted"
    " network.\n";

namespace {

/// "500ms", "10s", "1.5s", "1min" (the duration forms of serve's flags).
std::optional<std::chrono::milliseconds> parse_duration(const std::string& x) {
  size_t used = 0;
  double n = 0;
  try {
    n = std::stod(x, &used);
  } catch (...) {
    return std::nullopt;
  }
  auto unit = x.substr(used);
  double ms = 0;
  if (unit == "ms")
    ms = n;
  else if (unit == "s")
    ms = n * 1000;
  else if (unit == "min")
    ms = n * 60'000;
  else
    return std::nullopt;
  if (!(ms >= 1 && ms <= 3'600'000))
    return std::nullopt;
  return std::chrono::milliseconds{static_cast<int64_t>(ms)};
}

} // namespace

std::optional<int> parse_remote_args(const std::vector<std::string>& raw,
                                     remote_options& opts, std::ostream& out,
                                     std::ostream& err) {
  auto fail = [&](const std::string& msg) {
    err << "sheetsync remote: " << msg << "\n(see sheetsync remote --help)\n";
    return 2;
  };
  std::vector<std::string> positional;
  bool node_given = false;
  bool source_given = false;
  auto args = normalize_args(raw, {"help", "h"});
  for (size_t i = 0; i < args.size(); ++i) {
    auto& arg = args[i];
    if (arg == "--") {
      positional.insert(positional.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg == "--help" || arg == "-h" || arg == "help") {
      out << remote_usage;
      return 0;
    }
    if (arg.compare(0, 2, "--") != 0) {
      positional.push_back(arg);
      continue;
    }
    auto eq = arg.find('=');
    auto name = arg.substr(2, eq == std::string::npos ? std::string::npos
                                                      : eq - 2);
    if (name == "connect-timeout") {
      std::optional<std::chrono::milliseconds> value;
      if (eq != std::string::npos)
        value = parse_duration(arg.substr(eq + 1));
      if (!value)
        return fail("--connect-timeout needs a duration from 1ms to 1h, e.g. "
                    "--connect-timeout=5s");
      opts.connect_timeout = *value;
      continue;
    }
    if (name == "node" || name == "source") {
      if (eq == std::string::npos)
        return fail("--" + name + " needs a value");
      auto value = arg.substr(eq + 1);
      if (name == "node") {
        opts.node = value;
        node_given = true;
      } else {
        if (value.empty())
          return fail("--source needs a source's name");
        opts.source = value;
        source_given = true;
      }
      continue;
    }
    return fail("unknown flag --" + name);
  }
  if (!node_given)
    return fail("--node is missing: give the coordinator node as "
                "--node=HOST:PORT (its serve --node-port)");
  if (auto msg = parse_host_port(opts.node, "--node", opts.host, opts.port);
      !msg.empty())
    return fail(msg);
  if (positional.empty())
    return fail("what to do is missing: sync, status [ID], watch or cancel ID");
  opts.action = positional[0];
  auto extra = positional.size() - 1;
  if (opts.action == "sync" || opts.action == "watch") {
    if (extra > 0)
      return fail(opts.action + " takes no argument"
                  + (opts.action == "sync" ? " (name the source with "
                                             "--source=NAME)"
                                           : ""));
  } else if (opts.action == "status") {
    if (extra > 1)
      return fail("status takes at most one sync id");
    if (extra == 1)
      opts.id = positional[1];
  } else if (opts.action == "cancel") {
    if (extra != 1)
      return fail("cancel needs exactly one sync id, e.g. cancel sync-...");
    opts.id = positional[1];
  } else {
    return fail("unknown action '" + opts.action
                + "': use sync, status [ID], watch or cancel ID");
  }
  if (source_given && opts.action != "sync")
    return fail("--source is for sync only");
  return std::nullopt;
}

} // namespace sheetsync
