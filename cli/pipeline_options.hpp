#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <caf/config_option_set.hpp>
#include <caf/timespan.hpp>

#include "actors/coordinator.hpp"
#include "actors/webhook_sender.hpp"
#include "cli/config_file.hpp"
#include "net/rate_limiter.hpp"
#include "sources/source_spec.hpp"
#include "store/default_table.hpp"

namespace sheetsync {

/// The flags of the commands that run syncs, and what they resolve to once
/// the config file is read and everything is checked.
struct pipeline_options {
  // -- flags of both commands ---------------------------------------------------

  /// A sheet's URL or id; with a config file's sources, a source's name.
  std::string source;
  std::string db;
  std::string name = default_table;
  std::string gid;
  std::string access;
  std::string api_key;
  std::string credentials;
  std::string range;
  /// "all" or comma-separated tab titles; "" = one tab.
  std::string tabs;
  /// Rows per Sheets API request when a whole tab is read.
  uint64_t api_batch_rows = 50000;
  std::string docs_base_url = "https://docs.google.com";
  std::string sheets_api_base_url = "https://sheets.googleapis.com";
  /// Where credentials get access tokens; "" = each file's token_uri.
  std::string google_token_url;
  size_t max_parallel = 2;
  uint32_t max_attempts = 5;
  caf::timespan fetch_timeout = std::chrono::seconds{90};
  caf::timespan max_duration = std::chrono::minutes{5};
  caf::timespan cooldown = std::chrono::seconds{3};
  caf::timespan evict_after = std::chrono::minutes{5};
  uint64_t max_bytes = uint64_t{1} << 30;
  /// Finished syncs kept in the history per source.
  int64_t history_limit = 1000;

  // -- flags of serve only ------------------------------------------------------

  /// Sync the command-line source every interval; 0 = only on demand.
  caf::timespan interval{0};
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string api_token;
  /// Origins whose pages may call the API (--cors-origin, repeatable;
  /// cors-origins = [...] in the config file), normalized by
  /// check_cors_origins().
  std::vector<std::string> cors_origins;
  bool insecure_public = false;
  /// 0 (the default) = sized from the file descriptor limit (cli/fd_limit.hpp).
  size_t max_connections = 0;
  /// --rate-limit as given ("10/s", "600/min"; "" = off).
  std::string rate_limit;
  /// `rate_limit` read by parse_command_line.
  rate_policy rate_limit_policy;
  /// Publish the coordinator to other nodes on this port (0 = any free one);
  /// only when the flag is given.
  uint16_t node_port = 0;
  /// Where the node port listens.
  std::string node_host = "127.0.0.1";
  /// HOST:PORT of another node's coordinator: serve runs only the facade.
  std::string coordinator;
  /// `coordinator` read by parse_command_line: the host (unbracketed) and
  /// the node port.
  std::string coordinator_host;
  uint16_t coordinator_port = 0;
  /// Webhook receivers: --webhook (repeatable, every event and source) and
  /// the config file's webhooks; read by parse_command_line.
  std::vector<webhook_endpoint> webhooks;
  /// The decoded key of --webhook-secret or SHEETSYNC_WEBHOOK_SECRET (a
  /// secret: never logged or shown).
  std::string webhook_key;
  /// --webhook-backoff: the delays before the second and later attempts.
  std::vector<caf::timespan> webhook_backoff = default_webhook_backoff();

  // -- resolved -----------------------------------------------------------------

  /// The config file ("" = none), from --config-file.
  std::string config_file;
  /// The sources to run; the first is the default. Set by resolve().
  std::vector<source_spec> sources;
  /// Where `sources` are defined, for people: "the --source flag" or "config
  /// file PATH". Set by resolve().
  std::string sources_defined_in;
  /// Set by resolve().
  google_endpoints endpoints;
  /// Application Default Credentials: the file GOOGLE_APPLICATION_CREDENTIALS
  /// names, "" when unset; see apply_default_credentials().
  std::string default_credentials;

  /// Declares the flags, bound to the members; `serve` adds serve's own.
  void add_to(caf::config_option_set& opts, bool serve);

  /// The coordinator's configuration for the resolved options (no history,
  /// reader or token providers yet: the command spawns them).
  coordinator_config to_coordinator_config() const;
};

/// The names of `sources`, in order.
std::vector<std::string> names_of(const std::vector<source_spec>& sources);

/// Flags that take no value (for normalize_args).
const std::set<std::string>& switch_flags();

/// Flags that configure the one source named on the command line.
const std::set<std::string>& per_source_flags();

/// Reads the [sheetsync] section of a config file: settings that map to a
/// flag are stored through the bound option in `options` unless the flag is
/// in `given` (the command line wins); settings of the other command are
/// checked and ignored; `sources` becomes `file_sources` in file order with
/// the default (`default-source`, else the first in the file) first.
/// @returns "" or what is wrong and where; never a secret.
std::string apply_config_file(const config_node& root, const std::string& path,
                              caf::config_option_set& options,
                              const std::set<std::string>& given,
                              std::vector<source_spec>& file_sources);

/// Builds `opts.sources` and `opts.endpoints` from the flags and the config
/// file's sources, and checks everything that needs no file or network.
/// `env_api_key` (SHEETSYNC_GOOGLE_API_KEY, may be null) is the API key of
/// the command-line source when --api-key is not given.
/// @param serve Whether the command is serve (all sources, schedules) or sync
///        (the one source named by --source, else the default).
/// @returns "" or what is wrong and where; never a secret.
std::string resolve(pipeline_options& opts, const std::set<std::string>& given,
                    std::vector<source_spec> file_sources, bool serve,
                    const char* env_api_key);

/// Application Default Credentials, as Google's client libraries do them:
/// when `env_credentials` (GOOGLE_APPLICATION_CREDENTIALS, may be null) names
/// a file, it becomes `opts.default_credentials` and the credentials of every
/// resolved source that is a Google spreadsheet and has neither credentials
/// (--credentials or the config file's) nor an API key. Plain CSV URLs and
/// published sheets never get a token.
/// @returns a line for the start-up output naming the file and the sources
///          it serves, or "" when it serves none.
std::string apply_default_credentials(pipeline_options& opts,
                                      const char* env_credentials);

} // namespace sheetsync
