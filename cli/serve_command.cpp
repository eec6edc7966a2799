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
#include "actors/scheduler.hpp"
#include "cli/command_line.hpp"
#include "cli/commands.hpp"

namespace sheetsync {

namespace {

std::atomic<int> stop_signal{0};

extern "C" void on_stop_signal(int sig) {
  stop_signal = sig;
}

const char* serve_usage
  = "Usage: sheetsync serve --source=URL|ID --db=FILE [--interval=15min]"
    " [--host=127.0.0.1]\n"
    "                       [--port=8080] [--api-token=T]\n"
    "       sheetsync serve --config-file=FILE [--source=NAME]\n"
    "Serves the sync API, the event stream and the pages; syncs each source"
    " with an\ninterval every interval. With --config-file, --source=NAME picks"
    " the default\nsource; flags win over the file's settings.\n";

std::string source_names(const std::vector<source_spec>& sources) {
  std::string result;
  for (auto& src : sources)
    result += (result.empty() ? "" : ", ") + src.name;
  return result;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

} // namespace

int run_serve_command(const std::vector<std::string>& raw_args) {
  command_config cfg{"serve"};
  if (auto rc = parse_command_line(cfg, raw_args, serve_usage, std::cerr))
    return *rc;
  auto& opts = cfg.opts;
  if (opts.api_token.empty())
    if (auto env = std::getenv("SHEETSYNC_API_TOKEN"))
      opts.api_token = env;
  if (!is_loopback(opts.host) && opts.api_token.empty() && !opts.insecure_public) {
    std::cerr << "sheetsync serve: refusing to listen on " << opts.host
              << " without an API token: anyone who can reach it could start "
                 "and cancel syncs and read the cached sheet. Set --api-token "
                 "(or SHEETSYNC_API_TOKEN), or pass --insecure-public if the "
                 "network is trusted.\n";
    return 2;
  }
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  caf::actor_system sys{cfg};
  auto ccfg = opts.to_coordinator_config();
  spawn_token_providers(sys, cfg.accounts, ccfg);
  auto hist = sys.spawn<caf::detached>(history, opts.db);
  auto reader = sys.spawn<caf::detached>(cache_reader, opts.db);
  ccfg.history = hist;
  ccfg.reader = reader;
  auto coord = sys.spawn(coordinator, ccfg);
  std::vector<std::pair<std::string, caf::timespan>> schedules;
  for (auto& src : opts.sources)
    if (src.interval > caf::timespan{0})
      schedules.emplace_back(src.name, src.interval);
  scheduler_actor sched;
  if (!schedules.empty())
    sched = sys.spawn(scheduler, coord, schedules);
  facade_config fcfg;
  fcfg.coordinator = coord;
  fcfg.host = opts.host;
  fcfg.port = opts.port;
  fcfg.api_token = opts.api_token;
  fcfg.max_connections = opts.max_connections;
  std::promise<std::pair<uint16_t, std::string>> listening;
  fcfg.on_listening = [&](uint16_t port, const std::string& err) {
    listening.set_value({port, err});
  };
  auto facade = sys.middleman().spawn_broker(http_facade, fcfg);
  auto [port, err] = listening.get_future().get();
  caf::scoped_actor self{sys};
  int rc = 0;
  if (port == 0) {
    std::cerr << "sheetsync serve: cannot listen on " << opts.host << ":"
              << opts.port << ": " << err << "\n";
    rc = 1;
  } else {
    auto shown = opts.host.find(':') != std::string::npos ? "[" + opts.host + "]"
                                                          : opts.host;
    std::cout << "sheetsync: listening on http://" << shown << ":" << port
              << " (" << (opts.sources.size() == 1 ? "source " : "sources ")
              << source_names(opts.sources) << ", cache " << opts.db << ")"
              << std::endl;
    while (stop_signal == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::cout << "sheetsync: stopping" << std::endl;
    // No new scheduled starts from here on.
    if (sched)
      self->send_exit(sched, caf::exit_reason::user_shutdown);
    // Cancel running syncs: their writers drop what they wrote aside, so the
    // cache keeps the last complete data.
    for (auto& src : opts.sources)
      self->request(coord, std::chrono::seconds(5), atom::last_v, src.name)
        .receive(
          [&](const sync_status& st) {
            if (st.id.empty() || finished(st.state))
              return;
            self->request(coord, std::chrono::seconds(5), atom::cancel_v, st.id)
              .receive([](const sync_status&) {}, [](caf::error&) {});
          },
          [](caf::error&) {});
  }
  if (sched && port == 0)
    self->send_exit(sched, caf::exit_reason::user_shutdown);
  self->send_exit(facade, caf::exit_reason::user_shutdown);
  self->send_exit(coord, caf::exit_reason::user_shutdown);
  // The history and the reader go last: they may still record the cancel.
  self->request(hist, std::chrono::seconds(5), atom::last_v, std::string{})
    .receive([](const sync_status&) {}, [](caf::error&) {});
  self->send_exit(hist, caf::exit_reason::user_shutdown);
  self->send_exit(reader, caf::exit_reason::user_shutdown);
  for (auto& [path, provider] : ccfg.tokens)
    self->send_exit(provider, caf::exit_reason::user_shutdown);
  return rc;
}

} // namespace sheetsync
