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
#include "cli/command_line.hpp"
#include "cli/commands.hpp"
#include "cli/pipeline_options.hpp"
#include "messages/system_config.hpp"

namespace sheetsync {

namespace {

std::atomic<int> stop_signal{0};

extern "C" void on_stop_signal(int sig) {
  stop_signal = sig;
}

class serve_config : public system_config {
public:
  pipeline_options pipeline;
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string api_token;
  bool insecure_public = false;
  size_t max_connections = 1024;

  serve_config() {
    load<caf::io::middleman>();
    // One read per readiness event: epoll reports leftover bytes again, and
    // a second read that only returns EAGAIN costs a system call per request.
    set("middleman.max-consecutive-reads", 1);
    pipeline.add_to(custom_options_);
    caf::config_option_adder{custom_options_, "global"}
      .add(host, "host", "address to listen on (default: 127.0.0.1)")
      .add(port, "port", "port to listen on; 0 picks a free one (default: 8080)")
      .add(api_token, "api-token",
           "require 'Authorization: Bearer TOKEN' on /api/ (or set "
           "SHEETSYNC_API_TOKEN)")
      .add(insecure_public, "insecure-public",
           "allow a non-loopback --host without an API token")
      .add(max_connections, "max-connections",
           "open connections beyond this get 503 (default: 1024)");
  }
};

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

} // namespace

int run_serve_command(const std::vector<std::string>& raw_args) {
  serve_config cfg;
  if (auto rc = parse_command_line(
        cfg, "serve", raw_args,
        "Usage: sheetsync serve --source=URL --db=FILE [--host=127.0.0.1]"
        " [--port=8080] [--api-token=T]\n"
        "Serves the sync API, the event stream and the pages.\n"))
    return *rc;
  if (auto msg = cfg.pipeline.validate(); !msg.empty()) {
    std::cerr << "sheetsync serve: " << msg << "\n";
    return 2;
  }
  if (cfg.api_token.empty())
    if (auto env = std::getenv("SHEETSYNC_API_TOKEN"))
      cfg.api_token = env;
  if (!is_loopback(cfg.host) && cfg.api_token.empty() && !cfg.insecure_public) {
    std::cerr << "sheetsync serve: refusing to listen on " << cfg.host
              << " without an API token: anyone who can reach it could start "
                 "and cancel syncs and read the cached sheet. Set --api-token "
                 "(or SHEETSYNC_API_TOKEN), or pass --insecure-public if the "
                 "network is trusted.\n";
    return 2;
  }
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  caf::actor_system sys{cfg};
  auto ccfg = cfg.pipeline.to_coordinator_config();
  auto hist = sys.spawn<caf::detached>(history, cfg.pipeline.db);
  auto reader = sys.spawn<caf::detached>(cache_reader, cfg.pipeline.db);
  ccfg.history = hist;
  ccfg.reader = reader;
  auto coord = sys.spawn(coordinator, ccfg);
  facade_config fcfg;
  fcfg.coordinator = coord;
  fcfg.host = cfg.host;
  fcfg.port = cfg.port;
  fcfg.api_token = cfg.api_token;
  fcfg.max_connections = cfg.max_connections;
  std::promise<std::pair<uint16_t, std::string>> listening;
  fcfg.on_listening = [&](uint16_t port, const std::string& err) {
    listening.set_value({port, err});
  };
  auto facade = sys.middleman().spawn_broker(http_facade, fcfg);
  auto [port, err] = listening.get_future().get();
  caf::scoped_actor self{sys};
  int rc = 0;
  if (port == 0) {
    std::cerr << "sheetsync serve: cannot listen on " << cfg.host << ":"
              << cfg.port << ": " << err << "\n";
    rc = 1;
  } else {
    auto shown = cfg.host.find(':') != std::string::npos ? "[" + cfg.host + "]"
                                                          : cfg.host;
    std::cout << "sheetsync: listening on http://" << shown << ":" << port
              << " (source " << cfg.pipeline.name << ", cache "
              << cfg.pipeline.db << ")" << std::endl;
    while (stop_signal == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::cout << "sheetsync: stopping" << std::endl;
    // Cancel a running sync: its writer drops what it wrote aside, so the
    // cache keeps the last complete data.
    self->request(coord, std::chrono::seconds(5), atom::status_v, std::string{})
      .receive(
        [&](const sync_status& st) {
          if (st.id.empty() || finished(st.state))
            return;
          self->request(coord, std::chrono::seconds(5), atom::cancel_v, st.id)
            .receive([](const sync_status&) {}, [](caf::error&) {});
        },
        [](caf::error&) {});
  }
  self->send_exit(facade, caf::exit_reason::user_shutdown);
  self->send_exit(coord, caf::exit_reason::user_shutdown);
  // The history and the reader go last: they may still record the cancel.
  self->request(hist, std::chrono::seconds(5), atom::last_v, std::string{})
    .receive([](const sync_status&) {}, [](caf::error&) {});
  self->send_exit(hist, caf::exit_reason::user_shutdown);
  self->send_exit(reader, caf::exit_reason::user_shutdown);
  return rc;
}

} // namespace sheetsync
