#pragma once

#include <iosfwd>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "cli/pipeline_options.hpp"
#include "messages/system_config.hpp"
#include "sources/credentials.hpp"

namespace sheetsync {

/// The configuration of `sheetsync sync` or `sheetsync serve`: CAF's, plus
/// the flags of the command bound to `opts`.
class command_config : public system_config {
public:
  /// @param command "sync" or "serve".
  explicit command_config(std::string command);

  /// The declared flags (CAF keeps them protected).
  caf::config_option_set& options() {
    return custom_options_;
  }

  bool serve() const {
    return command == "serve";
  }

  std::string command;
  pipeline_options opts;
  /// Flags given on the command line (long names), e.g. "db", "source".
  std::set<std::string> given;
  /// Credentials read at start-up, by path.
  std::map<std::string, google_credentials> accounts;
  /// A line for the start-up output: which sources use the credentials of
  /// GOOGLE_APPLICATION_CREDENTIALS; "" when none.
  std::string credentials_note;
};

/// Parses a command's flags into `cfg` (both `--flag value` and
/// `--flag=value`), reads --config-file (flags win over its settings),
/// resolves the sources and checks them: names, access modes, intervals,
/// what plan_fetch says of each, and every credentials file (loaded into
/// cfg.accounts). For `serve --coordinator=HOST:PORT` (the facade alone) it
/// checks HOST:PORT and refuses flags of the local coordinator instead. A
/// non-loopback --node-host is refused without --insecure-public. Returns an exit code when the command should stop here: 0
/// after printing `usage` for --help (and CAF's options after it for
/// --help-all), 2 after printing what is wrong to `err` (never a secret).
std::optional<int> parse_command_line(command_config& cfg,
                                      const std::vector<std::string>& args,
                                      const char* usage, std::ostream& err);


/// Reads HOST:PORT (a host name, an IPv4 address or an [IPv6] address, and a
/// port 1-65535) as given to `flag` (e.g. "--coordinator"). Returns "" or what
/// is wrong, naming the flag.
std::string parse_host_port(const std::string& text, const std::string& flag,
                            std::string& host, uint16_t& port);

/// Whether `host` is a loopback address or name (127.x, ::1, localhost).
bool is_loopback_host(const std::string& host);

/// The flags `serve --coordinator` accepts (it runs only the HTTP facade);
/// every other sheetsync flag needs the local coordinator.
const std::set<std::string>& facade_flags();

/// Spawns one token provider per credentials file (detached: it blocks in
/// the token exchange) into `ccfg.tokens`, and notes each service account's
/// e-mail in `ccfg.client_emails`.
void spawn_token_providers(caf::actor_system& sys,
                           const std::map<std::string, google_credentials>& accounts,
                           coordinator_config& ccfg);

/// Sets `ccfg.spawn_credentials_loader`: a detached loader reads a
/// credentials file first named at run time (with `token_url`,
/// --google-token-url, as its token endpoint when set) and spawns its token
/// provider.
void set_token_factory(coordinator_config& ccfg, std::string token_url);

/// Reads the credentials files that sources added at run time name and
/// `accounts` has not (at start, before any actor runs, so that they sync at
/// once); a file that cannot be read is a warning (the coordinator tries
/// again and says why when such a source starts).
void load_stored_credentials(const std::vector<source_spec>& stored,
                             std::map<std::string, google_credentials>& accounts,
                             const std::string& token_url);

/// Checks every source: plan_fetch and each distinct credentials file (read
/// into `accounts`; a non-empty `token_url` (--google-token-url) replaces
/// their token_uri). Returns "" or what is wrong, naming the source after
/// `prefix` (e.g. "config file F: ").
std::string check_sources(const std::vector<source_spec>& sources,
                          const google_endpoints& endpoints,
                          std::map<std::string, google_credentials>& accounts,
                          const std::string& prefix = "",
                          const std::string& token_url = "");

} // namespace sheetsync
