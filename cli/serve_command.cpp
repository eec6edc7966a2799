#include <atomic>
#include <csignal>
#include <cstdlib>
#include <future>
#include <iostream>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/cache_reader.hpp"
#include "actors/coordinator.hpp"
#include "actors/history.hpp"
#include "actors/http_facade.hpp"
#include "actors/remote_coordinator.hpp"
#include "actors/source_store.hpp"
#include "actors/webhook_poster.hpp"
#include "actors/webhook_sender.hpp"
#include "actors/webhook_store.hpp"
#include "cli/cache_check.hpp"
#include "cli/command_line.hpp"
#include "cli/commands.hpp"
#include "cli/fd_limit.hpp"
#include "cli/help.hpp"
#include "cli/listen_failure.hpp"
#include "net/join.hpp"
#include "store/source_table.hpp"

namespace sheetsync {

namespace {

std::atomic<int> stop_signal{0};

extern "C" void on_stop_signal(int sig) {
  stop_signal = sig;
}


std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

facade_config make_facade_config(const pipeline_options& opts) {
  facade_config fcfg;
  fcfg.host = opts.host;
  fcfg.port = opts.port;
  fcfg.api_token = opts.api_token;
  fcfg.cors_origins = opts.cors_origins;
  fcfg.max_connections = opts.max_connections;
  fcfg.rate_limit = opts.rate_limit_policy;
  return fcfg;
}

/// Spawns the facade and waits until it listens; returns its port (0 after
/// printing why it cannot listen).
uint16_t start_facade(caf::actor_system& sys, facade_config fcfg,
                      caf::actor& facade) {
  std::promise<std::pair<uint16_t, std::string>> listening;
  fcfg.on_listening = [&](uint16_t port, const std::string& err) {
    listening.set_value({port, err});
  };
  auto host = fcfg.host;
  auto wanted = fcfg.port;
  facade = sys.middleman().spawn_broker(http_facade, std::move(fcfg));
  auto [port, err] = listening.get_future().get();
  if (port == 0)
    std::cerr << "sheetsync serve: "
              << listen_failure(host, wanted, "--port", err) << "\n";
  return port;
}

/// Raises the descriptor limit and sets opts.max_connections by the rule of
/// cli/fd_limit.hpp, warning when the figure asked for does not fit.
connection_budget size_connections(pipeline_options& opts) {
  std::string note;
  auto limit = raise_fd_limit(note);
  if (!note.empty())
    std::cerr << "sheetsync serve: warning: " << note << "\n";
  auto budget = plan_connections(limit, opts.max_connections);
  if (!budget.warning.empty())
    std::cerr << "sheetsync serve: warning: " << budget.warning << "\n";
  opts.max_connections = budget.max_connections;
  return budget;
}

/// After the "listening on" line, which scripts wait for first.
void print_budget(const connection_budget& b) {
  std::cout << "sheetsync: accepting up to " << b.max_connections
            << " connections (file descriptor limit " << b.fd_limit << ")"
            << std::endl;
}

void wait_for_stop_signal() {
  while (stop_signal == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::cout << "sheetsync: stopping" << std::endl;
}

/// The webhook sender and what it needs (all null without receivers).
struct webhook_actors {
  webhook_sender_actor sender;
  webhook_store_actor store;
  std::vector<webhook_poster_actor> posters;
  /// Aborts the posters' attempts in progress at shutdown.
  std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
};

/// Posters this many: one slow receiver holds up only its own attempt.
constexpr size_t webhook_posters = 2;

webhook_actors start_webhooks(caf::actor_system& sys,
                              const pipeline_options& opts,
                              const coordinator_actor& coord) {
  webhook_actors w;
  if (opts.webhooks.empty())
    return w;
  webhook_options wopts;
  wopts.endpoints = opts.webhooks;
  wopts.key = opts.webhook_key;
  wopts.backoff = opts.webhook_backoff;
  w.store = sys.spawn<caf::detached>(webhook_store, opts.db,
                                     static_cast<uint64_t>(wopts.keep_finished));
  for (size_t i = 0; i < webhook_posters; ++i)
    w.posters.push_back(
      sys.spawn<caf::detached>(webhook_poster, post_options{}, w.stop));
  w.sender = sys.spawn(webhook_sender, std::move(wopts), coordinator_api{coord},
                       w.posters, w.store);
  std::cout << "sheetsync: webhooks to " << opts.webhooks.size()
            << (opts.webhooks.size() == 1 ? " receiver" : " receivers")
            << std::endl;
  return w;
}

/// Stops the sender first (nothing new is attempted), then aborts attempts
/// in progress, and lets the store write what it was sent before it goes.
void stop_webhooks(caf::scoped_actor& self, webhook_actors& w) {
  if (!w.sender)
    return;
  self->monitor(w.sender);
  self->send_exit(w.sender, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {},
                caf::after(std::chrono::seconds(5)) >> [] {});
  *w.stop = true;
  for (auto& p : w.posters)
    self->send_exit(p, caf::exit_reason::user_shutdown);
  self->request(w.store, std::chrono::seconds(5), caf::get_atom_v,
                atom::webhooks_v, uint64_t{0})
    .receive([](const std::vector<webhook_delivery>&) {}, [](caf::error&) {});
  self->send_exit(w.store, caf::exit_reason::user_shutdown);
}

/// `serve --coordinator=HOST:PORT`: the facade alone, talking to a local
/// stand-in for the other node's coordinator. Nothing here is linked to the
/// other node (the stand-in only monitors it), so this process dying
/// disturbs neither the coordinator nor its syncs.
int run_facade_only(command_config& cfg, const connection_budget& budget) {
  auto& opts = cfg.opts;
  // Read and checked by parse_command_line.
  const auto& host = opts.coordinator_host;
  auto node_port = opts.coordinator_port;
  caf::actor_system sys{cfg};
  auto remote = sys.spawn(remote_coordinator, host, node_port);
  auto fcfg = make_facade_config(opts);
  fcfg.coordinator = remote;
  // While the coordinator is unreachable reads answer 503, not stale progress.
  fcfg.answer_pushed = false;
  caf::actor facade;
  auto port = start_facade(sys, std::move(fcfg), facade);
  caf::scoped_actor self{sys};
  if (port != 0) {
    std::cout << "sheetsync: listening on http://" << bracketed(opts.host)
              << ":" << port << " (facade of the coordinator at "
              << bracketed(host) << ":" << node_port << ")" << std::endl;
    print_budget(budget);
    wait_for_stop_signal();
  }
  self->send_exit(facade, caf::exit_reason::user_shutdown);
  self->send_exit(remote, caf::exit_reason::user_shutdown);
  return port == 0 ? 1 : 0;
}

} // namespace

int run_serve_command(const std::vector<std::string>& raw_args) {
  command_config cfg{"serve"};
  if (auto rc = parse_command_line(cfg, raw_args, command_help("serve").c_str(),
                                   std::cerr))
    return *rc;
  auto& opts = cfg.opts;
  if (opts.api_token.empty())
    if (auto env = std::getenv("SHEETSYNC_API_TOKEN"))
      opts.api_token = env;
  if (!is_loopback_host(opts.host) && opts.api_token.empty()
      && !opts.insecure_public) {
    std::cerr << "sheetsync serve: refusing to listen on " << opts.host
              << " without an API token: anyone who can reach it could start "
                 "and cancel syncs and read the cached sheet. Set --api-token "
                 "(or SHEETSYNC_API_TOKEN), or pass --insecure-public if the "
                 "network is trusted.\n";
    return 2;
  }
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  auto budget = size_connections(opts);
  if (cfg.given.count("coordinator"))
    return run_facade_only(cfg, budget);
  std::string note;
  if (auto msg = check_cache(opts, cfg.given, note); !msg.empty()) {
    std::cerr << "sheetsync serve: " << msg << "\n";
    return 2;
  }
  if (!note.empty())
    std::cerr << "sheetsync serve: " << note << "\n";
  if (!cfg.credentials_note.empty())
    std::cerr << "sheetsync serve: " << cfg.credentials_note << "\n";
  bool publish = cfg.given.count("node-port") > 0;
  if (publish && !is_loopback_host(opts.node_host))
    std::cerr << "sheetsync serve: warning: the node port on "
              << opts.node_host << " is unauthenticated: anyone who reaches "
                 "it can start and cancel syncs and read the cached sheets. "
                 "Keep it inside a trusted network (firewall it).\n";
  // Sources added at run time before: back as they were.
  std::vector<source_spec> stored;
  {
    failure err;
    std::vector<stored_source> rows;
    auto db = database::open(opts.db, err);
    if (!db || !source_table{db}.load(rows, err))
      std::cerr << "sheetsync serve: warning: the sources added at run time "
                   "are not served: "
                << err.text << "\n";
    for (auto& row : rows)
      stored.push_back(std::move(row.spec));
  }
  caf::actor_system sys{cfg};
  auto ccfg = opts.to_coordinator_config();
  if (ccfg.defaults.api_key.empty())
    if (auto env = std::getenv("SHEETSYNC_GOOGLE_API_KEY"))
      ccfg.defaults.api_key = env;
  load_stored_credentials(stored, cfg.accounts, opts.google_token_url);
  ccfg.stored_sources = std::move(stored);
  ccfg.run_scheduler = true;
  spawn_token_providers(sys, cfg.accounts, ccfg);
  set_token_factory(ccfg, opts.google_token_url);
  auto store = sys.spawn<caf::detached>(source_store, opts.db,
                                        ccfg.wall_clock_ms);
  ccfg.store = store;
  auto hist = sys.spawn<caf::detached>(
    history, opts.db,
    history_options{static_cast<uint64_t>(opts.history_limit),
                    ccfg.wall_clock_ms});
  auto reader = spawn_cache_reader(sys, opts.db);
  ccfg.history = hist;
  ccfg.reader = reader;
  // The coordinator runs the scheduler: it tells it as sources change.
  auto coord = sys.spawn(coordinator, ccfg);
  auto hooks = start_webhooks(sys, opts, coord);
  // Other nodes see the coordinator's typed interface, nothing else. They
  // only monitor it (and it monitors their listeners): no links cross nodes.
  uint16_t node_port = 0;
  std::string node_error;
  if (publish) {
    auto res = sys.middleman().publish(coordinator_api{coord}, opts.node_port,
                                       opts.node_host.c_str(), true);
    if (res)
      node_port = *res;
    else
      node_error = sys.render(res.error());
  }
  caf::actor facade;
  uint16_t port = 0;
  if (publish && node_port == 0) {
    std::cerr << "sheetsync serve: cannot publish the coordinator: "
              << listen_failure(opts.node_host, opts.node_port, "--node-port",
                                node_error)
              << "\n";
  } else {
    if (publish)
      std::cout << "sheetsync: coordinator node on " << bracketed(opts.node_host)
                << ":" << node_port << " (sheetsync remote --node="
                << bracketed(opts.node_host) << ":" << node_port
                << "; unauthenticated: keep it inside a trusted network)"
                << std::endl;
    auto fcfg = make_facade_config(opts);
    fcfg.coordinator = coord;
    fcfg.webhooks = caf::actor_cast<webhook_api>(hooks.sender);
    port = start_facade(sys, std::move(fcfg), facade);
  }
  caf::scoped_actor self{sys};
  int rc = 0;
  if (port == 0) {
    rc = 1;
  } else {
    std::cout << "sheetsync: listening on http://" << bracketed(opts.host)
              << ":" << port << " ("
              << (opts.sources.size() == 1 ? "source " : "sources ")
              << join(names_of(opts.sources)) << ", cache " << opts.db << ")"
              << std::endl;
    print_budget(budget);
    wait_for_stop_signal();
    // Cancel running and queued syncs of every source (also those added at
    // run time): their writers drop what they wrote aside, so the cache keeps
    // the last complete data.
    std::vector<std::string> running;
    self->request(coord, std::chrono::seconds(5), caf::get_atom_v,
                  atom::sources_v)
      .receive(
        [&](const std::vector<source_info>& xs) {
          for (auto& x : xs)
            if (!x.running_id.empty())
              running.push_back(x.running_id);
        },
        [](caf::error&) {});
    for (auto& id : running)
      self->request(coord, std::chrono::seconds(5), atom::cancel_v, id)
        .receive([](const sync_status&) {}, [](caf::error&) {});
  }
  if (facade)
    self->send_exit(facade, caf::exit_reason::user_shutdown);
  if (publish && node_port != 0)
    sys.middleman().unpublish(coord, node_port);
  // The sender hears the cancels' final statuses before it stops: a
  // round trip through its mailbox, where they were queued first.
  if (hooks.sender)
    self->request(hooks.sender, std::chrono::seconds(5), caf::get_atom_v,
                  atom::metrics_v)
      .receive([](const std::string&) {}, [](caf::error&) {});
  self->send_exit(coord, caf::exit_reason::user_shutdown);
  stop_webhooks(self, hooks);
  // The history and the reader go last: they may still record the cancel.
  self->request(hist, std::chrono::seconds(5), atom::last_v, std::string{})
    .receive([](const sync_status&) {}, [](caf::error&) {});
  self->send_exit(hist, caf::exit_reason::user_shutdown);
  self->send_exit(store, caf::exit_reason::user_shutdown);
  self->send_exit(reader, caf::exit_reason::user_shutdown);
  for (auto& [path, provider] : ccfg.tokens)
    self->send_exit(provider, caf::exit_reason::user_shutdown);
  return rc;
}

} // namespace sheetsync
