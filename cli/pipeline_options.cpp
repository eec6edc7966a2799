#include "cli/pipeline_options.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <caf/atom.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/config_value.hpp>
#include <caf/deep_to_string.hpp>

#include "actors/pipeline.hpp"
#include "cli/time_span.hpp"
#include "net/join.hpp"
#include "net/text.hpp"
#include "sources/fetch_plan.hpp"
#include "store/sheet_store.hpp"
#include "net/source_json.hpp"

namespace sheetsync {

namespace {

// -- helpers --------------------------------------------------------------------

bool has_prefix(const std::string& str, const std::string& prefix) {
  return str.compare(0, prefix.size(), prefix) == 0;
}

const char* valid_name_rule = source_name_rule;

const char* string_of(const caf::config_value& x) {
  if (auto str = caf::get_if<std::string>(&x))
    return str->c_str();
  return nullptr;
}

/// Settings of the [sheetsync] section that map to a flag of the same name;
/// the serve-only ones are checked by serve and ignored by sync.
const std::set<std::string>& shared_settings() {
  static const std::set<std::string> keys{
    "db",           "fetch-timeout",       "max-duration", "cooldown",
    "evict-after",  "max-bytes",           "docs-base-url",
    "sheets-api-base-url", "max-parallel", "max-attempts", "history-limit",
    "google-token-url", "api-batch-rows"};
  return keys;
}

const std::set<std::string>& serve_settings() {
  static const std::set<std::string> keys{"host", "port", "api-token",
                                          "insecure-public", "max-connections",
                                          "rate-limit", "cors-origins"};
  return keys;
}

const std::vector<std::string>& source_keys() {
  static const std::vector<std::string> keys{"url",         "id",    "gid",
                                             "access",      "api-key",
                                             "credentials", "range", "interval",
                                             "tabs"};
  return keys;
}

/// A path given in config file `config`: a relative one is relative to the
/// file's folder, so that the file means the same from any working
/// directory.
std::string beside(const std::string& config, const std::string& path) {
  auto slash = config.rfind('/');
  if (path.empty() || path[0] == '/' || slash == std::string::npos)
    return path;
  return config.substr(0, slash + 1) + path;
}

/// Reads one source of config file `path`; `where` is "config file F:
/// source 'NAME'".
std::string read_source(const std::string& name, const config_node& node,
                        const std::string& path, const std::string& where,
                        source_spec& out) {
  out = source_spec{};
  out.name = name;
  if (node.kind != config_node::map)
    return where + ": expected a map like " + name
           + " = { url = \"https://docs.google.com/spreadsheets/d/ID/edit\" }";
  std::set<std::string> seen;
  for (auto& [key, value] : node.entries) {
    if (!seen.insert(key).second)
      return where + ": " + key + " is given twice";
    auto& keys = source_keys();
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      return where + ": unknown key '" + key + "' (a source takes "
             + join(keys) + ")";
    auto str = value.kind == config_node::scalar ? string_of(value.value)
                                                 : nullptr;
    auto want_string = [&, key = key]() {
      return where + ": " + key + " must be a string in double quotes, e.g. "
             + key + " = \"...\"";
    };
    if (key == "url" || key == "id") {
      if (str == nullptr || *str == '\0')
        return want_string();
      out.location = str;
      if (key == "url" && out.location.find("://") == std::string::npos)
        return where + ": url \"" + shown_location(out.location)
               + "\" is not a URL (give a bare spreadsheet id as id = \"...\")";
      if (key == "id" && out.location.find("://") != std::string::npos)
        return where + ": id must be a spreadsheet id, not a URL (give URLs "
                       "as url = \"...\")";
    } else if (key == "gid") {
      if (value.kind == config_node::scalar) {
        if (auto i = caf::get_if<int64_t>(&value.value); i && *i >= 0) {
          out.gid = std::to_string(*i);
          continue;
        }
        if (str != nullptr && all_digits(str)) {
          out.gid = str;
          continue;
        }
      }
      return where + ": gid must be the tab's number (the digits after "
                     "#gid= in the sheet's URL), e.g. gid = 123";
    } else if (key == "access") {
      std::string text;
      if (str != nullptr)
        text = str;
      else if (value.kind == config_node::scalar)
        if (auto a = caf::get_if<caf::atom_value>(&value.value))
          text = caf::to_string(*a);
      if (!from_string(text, out.access))
        return where + ": access must be \"export\", \"api\" or \"auto\"";
    } else if (key == "api-key") {
      if (str == nullptr || *str == '\0')
        return where + ": api-key must be a non-empty string in double quotes";
      out.api_key = str;
    } else if (key == "credentials") {
      if (str == nullptr || *str == '\0')
        return want_string();
      out.credentials = beside(path, str);
    } else if (key == "range") {
      if (str == nullptr || *str == '\0')
        return want_string();
      out.range = str;
    } else if (key == "tabs") {
      auto bad = where + ": tabs must be \"all\" or a list of tab titles, "
                         "e.g. tabs = [\"Sales\", \"Costs\"]";
      if (str != nullptr) {
        if (std::string{str} != "all")
          return bad;
        out.all_tabs = true;
        continue;
      }
      if (value.kind != config_node::list || value.items.empty())
        return bad;
      for (auto& item : value.items) {
        auto title = item.kind == config_node::scalar ? string_of(item.value)
                                                      : nullptr;
        if (title == nullptr || *title == '\0')
          return bad;
        out.tabs.emplace_back(title);
      }
    } else if (key == "interval") {
      caf::timespan interval{0};
      bool ok = false;
      if (value.kind == config_node::scalar) {
        if (auto t = caf::get_if<caf::timespan>(&value.value)) {
          interval = *t;
          ok = true;
        } else if (auto i = caf::get_if<int64_t>(&value.value); i && *i == 0) {
          ok = true;
        } else if (str != nullptr) {
          if (auto why = too_long_time_span(str); !why.empty())
            return where + ": interval: " + why;
          if (auto parsed = caf::config_value::parse(caf::string_view{str, std::strlen(str)});
              parsed && caf::holds_alternative<caf::timespan>(*parsed)) {
            interval = caf::get<caf::timespan>(*parsed);
            ok = true;
          }
        }
      }
      if (!ok)
        return where + ": interval must be a time span, e.g. interval = 15min "
                       "(units: ms, s, min, h)";
      if (interval < caf::timespan{0})
        return where + ": interval must not be negative";
      if (interval > caf::timespan{0} && interval < std::chrono::seconds{1})
        return where + ": interval " + caf::deep_to_string(interval)
               + " is too short: at least 1s (0 = only on demand)";
      out.interval = interval;
    }
  }
  if (seen.count("url") && seen.count("id"))
    return where + ": give either url or id, not both";
  if (out.location.empty())
    return where + ": url or id is missing, e.g. url = "
                   "\"https://docs.google.com/spreadsheets/d/ID/edit#gid=0\"";
  return {};
}

} // namespace

std::vector<std::string> names_of(const std::vector<source_spec>& sources) {
  std::vector<std::string> result;
  for (auto& src : sources)
    result.push_back(src.name);
  return result;
}

// -- flags ----------------------------------------------------------------------

void pipeline_options::add_to(caf::config_option_set& opts, bool serve) {
  caf::config_option_adder{opts, "global"}
    .add(source, "source",
         "the sheet: its browser URL, a spreadsheet id, a published-to-web "
         "URL or any http(s)/file CSV URL; with --config-file, a source's "
         "name")
    .add(db, "db", "SQLite cache file (created if missing)")
    .add(name, "name",
         "name of the --source URL's source = cache table (default: sheet)")
    .add(gid, "gid", "the tab: the number after #gid= (default: the URL's, "
                     "else the first tab)")
    .add(access, "access",
         "export | api | auto (default: auto = api when an API key is given)")
    .add(api_key, "api-key",
         "Sheets API key (or set SHEETSYNC_GOOGLE_API_KEY, which keeps it out "
         "of ps)")
    .add(credentials, "credentials",
         "Google credentials JSON: a service account's key or an "
         "authorized_user file (default: GOOGLE_APPLICATION_CREDENTIALS)")
    .add(range, "range", "Sheets API range in A1 notation (default: the tab)")
    .add(tabs, "tabs",
         "all, or comma-separated tab titles: each tab into its own table "
         "NAME__TAB (Sheets API; default: one tab)")
    .add(api_batch_rows, "api-batch-rows",
         "rows per Sheets API request when a whole tab is read (default: "
         "50000)")
    .add(docs_base_url, "docs-base-url",
         "where Google Docs lives (default: https://docs.google.com)")
    .add(sheets_api_base_url, "sheets-api-base-url",
         "where the Sheets API lives (default: https://sheets.googleapis.com)")
    .add(google_token_url, "google-token-url",
         "where credentials get access tokens (default: the credentials "
         "file's token_uri, else https://oauth2.googleapis.com/token)")
    .add(max_parallel, "max-parallel",
         "syncs of different sources at once; the rest queue (default: 2)")
    .add(max_attempts, "max-attempts",
         "attempts per sync on 429, 5xx and connection failures (default: 5)")
    .add(fetch_timeout, "fetch-timeout",
         "fail when no byte arrives for this long (default: 90s)")
    .add(max_duration, "max-duration", "whole-sync limit (default: 5min)")
    .add(cooldown, "cooldown", "minimum time between two starts (default: 3s)")
    .add(evict_after, "evict-after",
         "forget finished syncs from memory after (default: 5min)")
    .add(max_bytes, "max-bytes", "cap on downloaded bytes (default: 1 GiB)")
    .add(history_limit, "history-limit",
         "finished syncs kept in the history per source; older ones are "
         "deleted as syncs finish (default: 1000)");
  if (!serve)
    return;
  caf::config_option_adder{opts, "global"}
    .add(interval, "interval",
         "sync the --source URL's source every interval (default: only on "
         "demand)")
    .add(host, "host", "address to listen on (default: 127.0.0.1)")
    .add(port, "port", "port to listen on; 0 picks a free one (default: 8080)")
    .add(api_token, "api-token",
         "require 'Authorization: Bearer TOKEN' on /api/ (or set "
         "SHEETSYNC_API_TOKEN)")
    .add(insecure_public, "insecure-public",
         "allow a non-loopback --host without an API token")
    .add(max_connections, "max-connections",
         "open connections beyond this get 503 (default: the file "
         "descriptor limit, raised to the hard one, less up to 256 for the "
         "service's own files)")
    .add(rate_limit, "rate-limit",
         "N/s or N/min: requests per client (its API token, else its "
         "address) on /api/, in bursts of up to N; beyond: 429 (default: "
         "off)")
    .add(node_port, "node-port",
         "publish the coordinator to other sheetsync nodes (remote, serve "
         "--coordinator) on this port; 0 picks a free one. Unauthenticated: "
         "keep it inside a trusted network")
    .add(node_host, "node-host",
         "address of the node port (default: 127.0.0.1; another needs "
         "--insecure-public)")
    .add(coordinator, "coordinator",
         "HOST:PORT of a coordinator node (its --node-port): serve only the "
         "API and pages, forwarding to it");
  // Lists of the config file; their flags (--cors-origin, repeatable) are
  // read by parse_command_line, so --help names those instead.
  caf::config_option_adder{opts, "lists"}.add(
    cors_origins, "cors-origins",
    "origins whose pages may call the API (config file: cors-origins = [...])");
}

const std::set<std::string>& switch_flags() {
  static const std::set<std::string> flags{"help", "help-all", "long-help",
                                           "insecure-public", "dump-config"};
  return flags;
}

const std::set<std::string>& per_source_flags() {
  static const std::set<std::string> flags{"gid",   "access",   "api-key",
                                           "credentials", "range",
                                           "interval", "tabs"};
  return flags;
}

coordinator_config pipeline_options::to_coordinator_config() const {
  coordinator_config cfg;
  cfg.sources = sources;
  cfg.endpoints = endpoints;
  cfg.max_parallel = max_parallel;
  cfg.max_attempts = max_attempts;
  cfg.db_path = db;
  cfg.cooldown = cooldown;
  cfg.max_duration = max_duration;
  cfg.evict_after = evict_after;
  cfg.fetch_timeout = fetch_timeout;
  cfg.max_bytes = max_bytes;
  cfg.api_batch_rows = api_batch_rows;
  cfg.make_pipeline = make_pipeline;
  for (auto& src : sources)
    cfg.defined_in[src.name] = sources_defined_in;
  // Sources added at run time take the service's own settings.
  cfg.defaults.api_key = api_key;
  cfg.defaults.credentials = credentials;
  if (!from_string(access, cfg.defaults.access))
    cfg.defaults.access = access_mode::automatic;
  cfg.defaults.default_credentials = default_credentials;
  return cfg;
}

// -- the config file ------------------------------------------------------------

std::string apply_config_file(const config_node& root, const std::string& path,
                              caf::config_option_set& options,
                              const std::set<std::string>& given,
                              std::vector<source_spec>& file_sources) {
  file_sources.clear();
  auto prefix = "config file " + path + ": ";
  const config_node* section = nullptr;
  for (auto& [name, node] : root.entries) {
    if (name == "sheetsync") {
      if (section != nullptr)
        return prefix + "[sheetsync] appears twice: give every setting in one "
                        "[sheetsync] section";
      section = &node;
    } else if (name == "global") {
      auto first = node.entries.empty() ? std::string{"a setting"}
                                        : "'" + node.entries.front().first + "'";
      return prefix + first
             + " comes before any section: put settings under [sheetsync]";
    } else {
      return prefix + "unknown section [" + name
             + "]: sheetsync reads only [sheetsync]";
    }
  }
  if (section == nullptr)
    return prefix + "no [sheetsync] section";
  std::string default_source;
  const config_node* sources = nullptr;
  std::set<std::string> seen;
  for (auto& [key, value] : section->entries) {
    auto where = prefix + "[sheetsync] " + key;
    if (!seen.insert(key).second)
      return where + " is given twice";
    if (key == "sources") {
      sources = &value;
      continue;
    }
    if (key == "cors-origins") {
      // A list: the flag (--cors-origin, repeatable) replaces it.
      if (value.kind != config_node::list)
        return where + ": expected a list of origins like [\"https://app.example.com\"]";
      caf::config_value::list origins;
      for (auto& item : value.items) {
        auto str = item.kind == config_node::scalar ? string_of(item.value)
                                                    : nullptr;
        if (str == nullptr)
          return where + ": expected origins in double quotes, e.g. "
                         "[\"https://app.example.com\"]";
        origins.emplace_back(std::string{str});
      }
      if (given.count("cors-origins") == 0)
        if (auto opt = options.qualified_name_lookup("lists", key))
          opt->store(caf::config_value{std::move(origins)});
      continue;
    }
    if (key == "webhooks")
      continue; // serve's, read by read_webhook_config
    if (key == "default-source") {
      auto str = value.kind == config_node::scalar ? string_of(value.value)
                                                   : nullptr;
      if (str == nullptr)
        return where + ": expected a source's name in double quotes";
      default_source = str;
      continue;
    }
    if (shared_settings().count(key) == 0 && serve_settings().count(key) == 0) {
      auto hint = per_source_flags().count(key) || key == "url" || key == "id"
                      || key == "source" || key == "name"
                    ? std::string{": sources are configured as sources = { "
                                  "NAME = { url = \"...\", "}
                        + (key == "source" || key == "name" ? "gid" : key)
                        + " = ... } }"
                    : std::string{": settings are "}
                        + join({shared_settings().begin(),
                                shared_settings().end()})
                        + ", " + join({serve_settings().begin(),
                                       serve_settings().end()})
                        + ", sources, default-source, webhooks";
      return prefix + "[sheetsync]: unknown key '" + key + "'" + hint;
    }
    auto opt = options.qualified_name_lookup("global", key);
    if (opt == nullptr)
      continue; // a setting of the other command
    std::string type{opt->type_name().begin(), opt->type_name().end()};
    if (value.kind != config_node::scalar || opt->check(value.value))
      return where + ": expected " + type
             + (type == "timespan" ? " (e.g. 90s, 5min)" : "")
             + (type == "string" ? " in double quotes" : "");
    if (given.count(key) != 0)
      continue;
    if (key == "db")
      opt->store(caf::config_value{beside(path, string_of(value.value))});
    else
      opt->store(value.value);
  }
  if (sources == nullptr) {
    if (!default_source.empty())
      return prefix + "[sheetsync] default-source: there is no sources map";
    return {};
  }
  if (sources->kind != config_node::map || sources->entries.empty())
    return prefix + "[sheetsync] sources: expected a map of sources like "
                    "sources = { sales = { url = \"...\" } }";
  std::map<std::string, std::string> by_lower;
  for (auto& [name, node] : sources->entries) {
    auto where = prefix + "source '" + name + "'";
    if (!valid_source_name(name))
      return where + ": not a valid source name: " + valid_name_rule;
    auto [i, added] = by_lower.emplace(lower(name), name);
    if (!added) {
      if (i->second == name)
        return where + " is defined twice";
      return where + " and source '" + i->second
             + "' would share one cache table (names ignore case): rename one";
    }
    source_spec spec;
    if (auto err = read_source(name, node, path, where, spec); !err.empty())
      return err;
    file_sources.push_back(std::move(spec));
  }
  if (!default_source.empty()) {
    auto i = std::find_if(file_sources.begin(), file_sources.end(),
                          [&](auto& x) { return x.name == default_source; });
    if (i == file_sources.end())
      return prefix + "[sheetsync] default-source: '" + default_source
             + "' is not one of the sources (" + join(names_of(file_sources))
             + ")";
    std::rotate(file_sources.begin(), i, i + 1);
  }
  return {};
}

// -- resolving ------------------------------------------------------------------

std::string resolve(pipeline_options& opts, const std::set<std::string>& given,
                    std::vector<source_spec> file_sources, bool serve,
                    const char* env_api_key) {
  auto flag_given = [&](const char* name) { return given.count(name) > 0; };
  // Where a setting came from, for messages.
  auto where = [&](const std::string& key) {
    if (given.count(key) || opts.config_file.empty())
      return "--" + key;
    return "--" + key + " (or " + key + " in " + opts.config_file + ")";
  };
  if (opts.db.empty())
    return "--db is missing: give the SQLite cache file, e.g. --db=sheets.db"
           + std::string{opts.config_file.empty()
                           ? ""
                           : ", or db = \"...\" in the config file's "
                             "[sheetsync]"};
  if (opts.fetch_timeout <= caf::timespan{0})
    return where("fetch-timeout") + " must be positive";
  if (opts.max_duration <= caf::timespan{0})
    return where("max-duration") + " must be positive";
  if (opts.cooldown < caf::timespan{0})
    return where("cooldown") + " must not be negative";
  if (opts.evict_after < caf::timespan{0})
    return where("evict-after") + " must not be negative";
  if (opts.max_parallel < 1)
    return where("max-parallel") + " must be at least 1";
  if (opts.max_attempts < 1)
    return where("max-attempts") + " must be at least 1";
  if (opts.api_batch_rows < 1)
    return where("api-batch-rows") + " must be at least 1";
  if (opts.history_limit < 1)
    return where("history-limit")
           + " must be at least 1 (finished syncs kept per source)";
  for (auto [key, value] :
       {std::pair{"docs-base-url", &opts.docs_base_url},
        std::pair{"sheets-api-base-url", &opts.sheets_api_base_url}}) {
    if (!has_prefix(*value, "http://") && !has_prefix(*value, "https://"))
      return where(key) + " must be an http:// or https:// URL";
    while (value->size() > 8 && value->back() == '/')
      value->pop_back();
  }
  if (!opts.google_token_url.empty()
      && !has_prefix(opts.google_token_url, "http://")
      && !has_prefix(opts.google_token_url, "https://"))
    return where("google-token-url") + " must be an http:// or https:// URL";
  opts.endpoints.docs_base = opts.docs_base_url;
  opts.endpoints.sheets_api_base = opts.sheets_api_base_url;
  // The access mode of the command line, if any.
  access_mode cli_access = access_mode::automatic;
  if (flag_given("access") && !from_string(opts.access, cli_access))
    return "--access must be export, api or auto";
  if (flag_given("gid") && !all_digits(opts.gid))
    return "--gid must be the tab's number (the digits after #gid= in the "
           "sheet's URL)";
  if (flag_given("interval") && opts.interval < caf::timespan{0})
    return "--interval must not be negative";
  if (opts.interval > caf::timespan{0}
      && opts.interval < std::chrono::seconds{1})
    return "--interval is too short: at least 1s (0 = only on demand)";
  std::vector<std::string> cli_tabs;
  if (flag_given("tabs") && opts.tabs != "all") {
    for (size_t pos = 0; pos <= opts.tabs.size();) {
      auto comma = std::min(opts.tabs.find(',', pos), opts.tabs.size());
      auto title = opts.tabs.substr(pos, comma - pos);
      if (title.empty())
        return "--tabs must be all or tab titles separated by commas, e.g. "
               "--tabs=Sales,Costs";
      cli_tabs.push_back(std::move(title));
      pos = comma + 1;
    }
  }
  for (auto flag : {"credentials", "range", "api-key"})
    if (flag_given(flag)
        && (flag == std::string{"credentials"} ? opts.credentials
            : flag == std::string{"range"}     ? opts.range
                                               : opts.api_key)
             .empty())
      return std::string{"--"} + flag + " needs a value";
  // Applies the per-source flags to the source they name.
  auto apply_flags = [&](source_spec& src, bool named_on_command_line) {
    if (flag_given("gid"))
      src.gid = opts.gid;
    if (flag_given("access"))
      src.access = cli_access;
    if (flag_given("api-key"))
      src.api_key = opts.api_key;
    else if (named_on_command_line && src.api_key.empty()
             && env_api_key != nullptr && *env_api_key)
      src.api_key = env_api_key;
    if (flag_given("credentials"))
      src.credentials = opts.credentials;
    if (flag_given("range"))
      src.range = opts.range;
    if (flag_given("interval"))
      src.interval = opts.interval;
    if (flag_given("tabs")) {
      src.all_tabs = opts.tabs == "all";
      src.tabs = cli_tabs;
    }
  };
  opts.sources.clear();
  if (file_sources.empty()) {
    if (opts.source.empty())
      return "--source is missing: give the sheet's URL or id, e.g. "
             "--source=https://docs.google.com/spreadsheets/d/ID/edit#gid=0 "
             "(or sources in a --config-file)";
    if (!valid_source_name(opts.name))
      return "--name '" + opts.name + "' is not a valid source name: "
             + valid_name_rule;
    source_spec src;
    src.name = opts.name;
    src.location = opts.source;
    apply_flags(src, true);
    opts.sources.push_back(std::move(src));
    opts.sources_defined_in = "the --source flag";
    return {};
  }
  auto file = opts.config_file;
  if (flag_given("name"))
    return "--name names the --source URL's source, but the sources come from "
           "config file "
           + file + ": pick one of them with --source=NAME";
  auto selected = file_sources.begin();
  if (flag_given("source")) {
    selected = std::find_if(file_sources.begin(), file_sources.end(),
                            [&](auto& x) { return x.name == opts.source; });
    if (selected == file_sources.end())
      return "--source '" + shown_location(opts.source)
             + "' is not a source of config file " + file + " (its sources: "
             + join(names_of(file_sources))
             + "); without --config-file, --source takes a URL or id";
  } else {
    for (auto& flag : per_source_flags())
      if (given.count(flag))
        return "--" + flag + " configures one source: name it with "
               + "--source=NAME (config file " + file + " has "
               + join(names_of(file_sources)) + ")";
  }
  apply_flags(*selected, flag_given("source"));
  opts.sources_defined_in = "config file " + file;
  if (serve) {
    std::rotate(file_sources.begin(), selected, selected + 1);
    opts.sources = std::move(file_sources);
  } else {
    opts.sources.push_back(std::move(*selected));
  }
  return {};
}

std::string apply_default_credentials(pipeline_options& opts,
                                      const char* env_credentials) {
  opts.default_credentials
    = env_credentials != nullptr ? std::string{env_credentials} : std::string{};
  if (opts.default_credentials.empty())
    return {};
  std::vector<std::string> served;
  for (auto& src : opts.sources) {
    if (!src.credentials.empty() || !src.api_key.empty())
      continue;
    // Planned as it would be with them: --access=api alone plans only so.
    auto with = src;
    with.credentials = opts.default_credentials;
    fetch_plan plan;
    failure err;
    if (!plan_fetch(with, opts.endpoints, plan, err)
        || plan.kind != source_kind::spreadsheet)
      continue;
    src.credentials = opts.default_credentials;
    served.push_back(src.name);
  }
  if (served.empty())
    return {};
  return "credentials " + opts.default_credentials
         + " (GOOGLE_APPLICATION_CREDENTIALS) for "
         + (served.size() == 1 ? "source " : "sources ") + join(served);
}

} // namespace sheetsync
