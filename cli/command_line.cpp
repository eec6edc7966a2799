#include "cli/command_line.hpp"

#include "net/cors.hpp"

#include <cstdlib>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <iostream>
#include <sstream>

#include <caf/all.hpp>
#include <openssl/crypto.h>
#include <caf/io/middleman.hpp>
#include <caf/make_config_option.hpp>
#include <caf/message.hpp>
#include <caf/pec.hpp>
#include <caf/settings.hpp>

#include "actors/credentials_loader.hpp"
#include "actors/token_provider.hpp"
#include "cli/args.hpp"
#include "cli/config_file.hpp"
#include "cli/time_span.hpp"
#include "cli/webhook_options.hpp"
#include "net/webhook_signature.hpp"
#include "sources/fetch_plan.hpp"

namespace sheetsync {

command_config::command_config(std::string cmd) : command(std::move(cmd)) {
  if (serve()) {
    load<caf::io::middleman>();
    // One read per readiness event: epoll reports leftover bytes again, and
    // a second read that only returns EAGAIN costs a system call per request.
    set("middleman.max-consecutive-reads", 1);
  }
  opts.add_to(custom_options_, serve());
  // CAF declares --config-file for its own caf-application.ini; sheetsync
  // reads the file itself (see parse_command_line): say so in --help.
  for (auto& opt : custom_options_)
    if (opt.category() == caf::string_view{"global"}
        && opt.long_name() == caf::string_view{"config-file"})
      opt = caf::make_config_option<std::string>(
        opts.config_file, "global", "config-file",
        "sheetsync's config file: sources and settings; flags win over it "
        "(see config/sheetsync.conf.example)");
}

namespace {

/// What CAF's parser refused, without the value (it may be a secret).
std::string parse_error_text(const caf::error& err,
                             const caf::config_option_set& options) {
  std::string arg;
  auto& ctx = err.context();
  // CAF 0.17.6 puts the argument into a settings dictionary.
  if (ctx.size() == 1 && ctx.match_element<caf::settings>(0))
    arg = caf::get_or(ctx.get_as<caf::settings>(0), "argument", std::string{});
  else if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    arg = ctx.get_as<std::string>(0);
  auto flag = arg.substr(0, arg.find('='));
  if (err.category() != caf::atom("parser"))
    return "cannot parse the command line";
  switch (static_cast<caf::pec>(err.code())) {
    case caf::pec::not_an_option:
      return flag.empty() ? "unknown flag" : "unknown flag " + flag;
    case caf::pec::missing_argument:
      return flag + " needs a value";
    case caf::pec::success:
    case caf::pec::trailing_character:
      break;
    default:
      if (flag.size() > 2)
        if (auto opt = options.cli_long_name_lookup(flag.substr(2)))
          return "invalid value for " + flag + ": expected "
                 + std::string{opt->type_name().begin(), opt->type_name().end()}
                 + (opt->type_name() == caf::string_view{"timespan"}
                      ? " (e.g. 500ms, 90s, 5min)"
                      : "");
  }
  return (flag.empty() ? std::string{"invalid flag"} : "invalid flag " + flag)
         + " (" + caf::to_string(static_cast<caf::pec>(err.code())) + ")";
}

} // namespace

void spawn_token_providers(caf::actor_system& sys,
                           const std::map<std::string, google_credentials>& accounts,
                           coordinator_config& ccfg) {
  for (auto& [path, creds] : accounts) {
    ccfg.tokens[path] = sys.spawn<caf::detached>(token_provider, creds,
                                                 std::function<int64_t()>{});
    if (creds.is_service_account())
      ccfg.client_emails[path] = creds.client_email();
  }
}

void set_token_factory(coordinator_config& ccfg, std::string token_url) {
  ccfg.spawn_credentials_loader = [token_url](caf::local_actor* self,
                                              const std::string& path) {
    return self->system().spawn<caf::detached>(credentials_loader, path,
                                               token_url);
  };
}

void load_stored_credentials(const std::vector<source_spec>& stored,
                             std::map<std::string, google_credentials>& accounts,
                             const std::string& token_url) {
  for (auto& src : stored) {
    if (src.credentials.empty() || accounts.count(src.credentials))
      continue;
    google_credentials creds;
    failure err;
    if (!load_credentials(src.credentials, creds, err)) {
      std::cerr << "sheetsync serve: warning: the stored source '" << src.name
                << "' cannot sync until its credentials file can be read: "
                << err.text << "\n";
      continue;
    }
    if (!token_url.empty())
      creds.set_token_uri(token_url);
    accounts.emplace(src.credentials, std::move(creds));
  }
}

std::string check_sources(const std::vector<source_spec>& sources,
                          const google_endpoints& endpoints,
                          std::map<std::string, google_credentials>& accounts,
                          const std::string& prefix,
                          const std::string& token_url) {
  for (auto& src : sources) {
    fetch_plan plan;
    failure fail;
    if (!plan_fetch(src, endpoints, plan, fail))
      return prefix + "source '" + src.name + "': " + fail.text;
    if (src.credentials.empty() || accounts.count(src.credentials))
      continue;
    google_credentials creds;
    if (!load_credentials(src.credentials, creds, fail))
      return prefix + "source '" + src.name + "': " + fail.text;
    if (!token_url.empty())
      creds.set_token_uri(token_url);
    accounts.emplace(src.credentials, std::move(creds));
  }
  return {};
}

std::string parse_host_port(const std::string& text, const std::string& flag,
                            std::string& host, uint16_t& port) {
  auto example = flag + "=127.0.0.1:4242 (the node's --node-port)";
  if (text.empty())
    return flag + " needs HOST:PORT, e.g. " + example;
  std::string port_text;
  if (text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size()
        || text[close + 1] != ':')
      return flag + " '" + text + "' is not HOST:PORT: write an IPv6 "
             "address as [::1]:4242";
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos)
      return flag + " '" + text + "' has no port: give HOST:PORT, e.g. "
             + example;
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string::npos)
      return flag + " '" + text + "' is not HOST:PORT: write an IPv6 "
             "address as [::1]:4242";
  }
  if (host.empty())
    return flag + " '" + text + "' has no host: give HOST:PORT, e.g. "
           + example;
  auto bad_port = [&] {
    return flag + " '" + text + "': the port must be a number from 1 to "
           + "65535";
  };
  if (port_text.empty() || port_text.size() > 5
      || port_text.find_first_not_of("0123456789") != std::string::npos)
    return bad_port();
  auto n = std::stoul(port_text);
  if (n < 1 || n > 65535)
    return bad_port();
  port = static_cast<uint16_t>(n);
  return {};
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost")
    return true;
  // Addresses only: a name such as 127.example.com may resolve anywhere.
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6))
      return true;
    if (IN6_IS_ADDR_V4MAPPED(&v6))
      return v6.s6_addr[12] == 127;
  }
  return false;
}

const std::set<std::string>& facade_flags() {
  static const std::set<std::string> flags{
    "coordinator",     "host", "port", "api-token", "insecure-public",
    "max-connections", "rate-limit", "help", "long-help", "cors-origin",
    "cors-origins"};
  return flags;
}

namespace {

/// Reads serve's --rate-limit (or the config file's rate-limit) into
/// opts.rate_limit_policy; "" or what is wrong, naming where it was given.
std::string read_rate_limit(command_config& cfg) {
  if (!cfg.serve())
    return {};
  auto msg = parse_rate_policy(cfg.opts.rate_limit, cfg.opts.rate_limit_policy);
  if (msg.empty())
    return {};
  return cfg.given.count("rate-limit")
           ? "invalid value for --rate-limit: " + msg
           : "config file " + cfg.opts.config_file
               + ": [sheetsync] rate-limit: " + msg;
}

/// Checks and normalizes serve's CORS origins; "" or what is wrong, naming
/// the flag or the config file.
std::string check_cors_origins(command_config& cfg) {
  if (!cfg.serve())
    return {};
  auto where = cfg.given.count("cors-origins") || cfg.opts.config_file.empty()
                 ? std::string{"--cors-origin"}
                 : "cors-origins in " + cfg.opts.config_file;
  for (auto& origin : cfg.opts.cors_origins) {
    std::string normalized;
    if (auto msg = normalize_origin(origin, normalized); !msg.empty())
      return where + ": " + msg;
    origin = normalized;
  }
  return {};
}

/// Decodes the webhook secret (the flag's, else SHEETSYNC_WEBHOOK_SECRET)
/// into cfg.opts.webhook_key; receivers need one. "" or what is wrong (never
/// the secret).
std::string webhook_secret_check(command_config& cfg, std::string& secret) {
  if (secret.empty())
    if (auto env = std::getenv("SHEETSYNC_WEBHOOK_SECRET"))
      secret = env;
  std::string msg;
  if (!secret.empty()) {
    msg = parse_webhook_secret(secret, cfg.opts.webhook_key);
    if (!msg.empty())
      msg += cfg.given.count("webhook-secret")
               ? " (--webhook-secret)"
               : " (SHEETSYNC_WEBHOOK_SECRET)";
  } else if (!cfg.opts.webhooks.empty()) {
    msg = "webhooks are signed: give a secret with --webhook-secret=whsec_... "
          "or SHEETSYNC_WEBHOOK_SECRET (whsec_ and the base64 of 32 random "
          "bytes, e.g. echo whsec_$(openssl rand -base64 32))";
  }
  OPENSSL_cleanse(secret.data(), secret.size());
  return msg;
}

} // namespace

std::optional<int> parse_command_line(command_config& cfg,
                                      const std::vector<std::string>& raw_args,
                                      const char* usage, std::ostream& err) {
  auto prog = "sheetsync " + cfg.command;
  auto fail = [&](const std::string& msg) {
    err << prog << ": " << msg << "\n";
    return 2;
  };
  // --config-file is ours: CAF would read its own format into its settings
  // (sorted, duplicates merged) and else look for caf-application.ini.
  std::vector<std::string> args;
  std::string webhook_secret;
  auto normalized = normalize_args(raw_args, switch_flags());
  // The command's own help (`usage`): CAF's lists its framework options
  // first. --help-all adds every option CAF knows.
  for (auto& arg : normalized) {
    if (arg == "--")
      break;
    if (arg == "--help" || arg == "-h" || arg == "-?") {
      std::cout << usage;
      return 0;
    }
    if (arg == "--help-all" || arg == "--long-help") {
      std::cout << usage << "\nEvery option, the actor framework's (CAF) "
                            "included:\n";
      std::istringstream no_file;
      cfg.parse(std::vector<std::string>{"--long-help"}, no_file);
      return 0;
    }
  }
  for (size_t i = 0; i < normalized.size(); ++i) {
    auto& arg = normalized[i];
    if (arg == "--") {
      args.insert(args.end(), normalized.begin() + i, normalized.end());
      break;
    }
    if (arg.compare(0, 2, "--") == 0) {
      auto name = arg.substr(2, arg.find('=') - 2);
      cfg.given.insert(name);
      if (auto eq = arg.find('='); eq != std::string::npos)
        if (auto opt = cfg.options().cli_long_name_lookup(name);
            opt && opt->type_name() == caf::string_view{"timespan"})
          if (auto why = too_long_time_span(arg.substr(eq + 1)); !why.empty())
            return fail("invalid value for --" + name + ": " + why);
    }
    // Repeatable (CAF keeps only the last value of a flag): collected here.
    if (cfg.serve() && arg.compare(0, 14, "--cors-origin=") == 0) {
      cfg.opts.cors_origins.push_back(arg.substr(14));
      cfg.given.insert("cors-origins");
      continue;
    }
    // The webhook flags are ours too: --webhook repeats (CAF keeps the last),
    // and a bad --webhook-secret must never be echoed by CAF's messages.
    if (arg == "--webhook" || arg == "--webhook-secret"
        || arg == "--webhook-backoff")
      return fail(arg + " needs a value");
    if (auto eq = arg.find('='); eq != std::string::npos
        && arg.compare(0, 9, "--webhook") == 0) {
      auto name = arg.substr(2, eq - 2);
      auto value = arg.substr(eq + 1);
      if (name == "webhook" || name == "webhook-secret"
          || name == "webhook-backoff") {
        if (!cfg.serve())
          return fail("--" + name + " is a flag of sheetsync serve");
        if (name == "webhook") {
          if (auto msg = check_webhook_url(value); !msg.empty())
            return fail("--webhook: " + msg);
          cfg.opts.webhooks.push_back(webhook_endpoint{value, {}, {}});
        } else if (name == "webhook-secret") {
          webhook_secret = std::move(value);
        } else if (auto msg = parse_webhook_backoff(value,
                                                    cfg.opts.webhook_backoff);
                   !msg.empty()) {
          return fail(msg);
        }
        continue;
      }
    }
    if (arg == "--config-file")
      return fail("--config-file needs a value (the config file's path)");
    if (arg.compare(0, 14, "--config-file=") == 0) {
      cfg.opts.config_file = arg.substr(14);
      if (cfg.opts.config_file.empty())
        return fail("--config-file needs a value (the config file's path)");
      continue;
    }
    args.push_back(arg);
  }
  std::istringstream no_file;
  if (auto e = cfg.parse(std::move(args), no_file))
    return fail(parse_error_text(e, cfg.options()) + "\n(see " + prog
                + " --help)");
  if (cfg.cli_helptext_printed)
    return 0;
  // Not echoed: a stray value may be a secret that lost its flag.
  if (!cfg.remainder.empty())
    return fail(std::to_string(cfg.remainder.size())
                + " unexpected argument(s) without a flag: flags are written "
                  "--flag=value or --flag value\n(see "
                + prog + " --help)");
  // An IPv6 address may come bracketed as in URLs ([::1]); binding wants it
  // bare.
  for (auto host : {&cfg.opts.host, &cfg.opts.node_host})
    if (host->size() > 2 && host->front() == '[' && host->back() == ']')
      *host = host->substr(1, host->size() - 2);
  if (cfg.serve() && cfg.given.count("coordinator")) {
    // The facade alone: the other node has the sources, cache and schedule.
    if (auto msg = parse_host_port(cfg.opts.coordinator, "--coordinator",
                                   cfg.opts.coordinator_host,
                                   cfg.opts.coordinator_port);
        !msg.empty())
      return fail(msg);
    for (auto& flag : cfg.given)
      // Dotted names are CAF's own (--middleman.*, --scheduler.*): allowed.
      if (facade_flags().count(flag) == 0
          && flag.find('.') == std::string::npos)
        return fail("--" + flag + " cannot be used with --coordinator: this "
                    "node serves only the API and pages, and the coordinator "
                    "node at " + cfg.opts.coordinator + " has the sources, the "
                    "cache, the schedule and the node port (give --" + flag
                    + " to its serve)");
    if (auto msg = read_rate_limit(cfg); !msg.empty())
      return fail(msg);
    if (auto msg = check_cors_origins(cfg); !msg.empty())
      return fail(msg);
    return std::nullopt;
  }
  if (cfg.given.count("node-host") && !cfg.given.count("node-port"))
    return fail("--node-host needs --node-port (the port to publish the "
                "coordinator on)");
  std::vector<source_spec> file_sources;
  if (!cfg.opts.config_file.empty()) {
    config_node root;
    if (auto msg = read_config_file(cfg.opts.config_file, root); !msg.empty())
      return fail(msg);
    if (auto msg = apply_config_file(root, cfg.opts.config_file,
                                     cfg.options(), cfg.given,
                                     file_sources);
        !msg.empty())
      return fail(msg);
    if (cfg.serve())
      if (auto msg = read_webhook_config(root, cfg.opts.config_file,
                                         cfg.opts.webhooks);
          !msg.empty())
        return fail(msg);
  }
  if (auto msg = read_rate_limit(cfg); !msg.empty())
    return fail(msg);
  if (cfg.serve())
    if (auto msg = webhook_secret_check(cfg, webhook_secret); !msg.empty())
      return fail(msg);
  // Where the sources come from, for messages.
  auto prefix = file_sources.empty()
                  ? std::string{}
                  : "config file " + cfg.opts.config_file + ": ";
  if (auto msg = resolve(cfg.opts, cfg.given, std::move(file_sources),
                         cfg.serve(),
                         std::getenv("SHEETSYNC_GOOGLE_API_KEY"));
      !msg.empty())
    return fail(msg);
  cfg.credentials_note = apply_default_credentials(
    cfg.opts, std::getenv("GOOGLE_APPLICATION_CREDENTIALS"));
  if (auto msg = check_sources(cfg.opts.sources, cfg.opts.endpoints,
                               cfg.accounts, prefix,
                               cfg.opts.google_token_url);
      !msg.empty()) {
    auto& adc = cfg.opts.default_credentials;
    if (!adc.empty() && msg.find("credentials file " + adc + ": ") != std::string::npos)
      msg += " (the file GOOGLE_APPLICATION_CREDENTIALS names)";
    return fail(msg);
  }
  if (cfg.serve() && cfg.opts.node_host.empty())
    return fail("--node-host needs an address, e.g. --node-host=127.0.0.1");
  // The node port has no authentication at all (an --api-token guards only
  // HTTP): another address must be asked for explicitly.
  if (cfg.serve() && cfg.given.count("node-port")
      && !is_loopback_host(cfg.opts.node_host) && !cfg.opts.insecure_public)
    return fail("refusing to publish the coordinator on " + cfg.opts.node_host
                + ": the node port is unauthenticated (--api-token does not "
                  "guard it), so anyone who reaches it can start and cancel "
                  "syncs and read the cached sheets. Keep it on loopback, or "
                  "pass --insecure-public if the network is trusted.");
  if (auto msg = check_cors_origins(cfg); !msg.empty())
    return fail(msg);
  return std::nullopt;
}

} // namespace sheetsync
