#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>

#include <caf/all.hpp>

#include "actors/coordinator.hpp"
#include "actors/history.hpp"
#include "cli/cache_check.hpp"
#include "cli/command_line.hpp"
#include "cli/commands.hpp"
#include "cli/help.hpp"
#include "cli/progress_view.hpp"

namespace sheetsync {

namespace {

std::atomic<int> interrupted{0};

extern "C" void on_signal(int sig) {
  interrupted = sig;
}


} // namespace

int run_sync_command(const std::vector<std::string>& raw_args) {
  command_config cfg{"sync"};
  if (auto rc = parse_command_line(cfg, raw_args, command_help("sync").c_str(),
                                   std::cerr))
    return *rc;
  std::string note;
  if (auto msg = check_cache(cfg.opts, cfg.given, note); !msg.empty()) {
    std::cerr << "sheetsync sync: " << msg << "\n";
    return 2;
  }
  if (!note.empty())
    std::cerr << "sheetsync sync: " << note << "\n";
  if (!cfg.credentials_note.empty())
    std::cerr << "sheetsync sync: " << cfg.credentials_note << "\n";
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  caf::actor_system sys{cfg};
  auto ccfg = cfg.opts.to_coordinator_config();
  auto source = ccfg.sources.front().name;
  spawn_token_providers(sys, cfg.accounts, ccfg);
  ccfg.history = sys.spawn<caf::detached>(
    history, cfg.opts.db,
    history_options{static_cast<uint64_t>(cfg.opts.history_limit),
                    ccfg.wall_clock_ms});
  auto coord = sys.spawn(coordinator, ccfg);
  caf::scoped_actor self{sys};
  self->send(coord, atom::subscribe_v,
             caf::actor_cast<status_listener_actor>(self));
  int rc = 1;
  std::string id;
  self->request(coord, caf::infinite, atom::start_v, source)
    .receive([&](std::string& x) { id = std::move(x); },
             [&](caf::error& err) {
               std::cerr << "sheetsync sync: " << error_text(err) << "\n";
             });
  progress_view view{stdout};
  bool cancel_sent = false;
  for (bool done = id.empty(); !done;) {
    self->receive(
      [&](sync_status& st) {
        if (st.id != id)
          return;
        view.show(st);
        if (!finished(st.state))
          return;
        done = true;
        rc = report_final(view, st, "sheetsync sync", source, cfg.opts.db);
      },
      caf::after(std::chrono::milliseconds(100)) >> [&] {
        if (interrupted != 0 && !cancel_sent) {
          // Cancel rather than die: the writer rolls back, the cache stays.
          cancel_sent = true;
          self->send(coord, atom::cancel_v, id);
        }
      });
  }
  // The history got every status before we did; this answer comes after
  // it recorded them.
  self->request(ccfg.history, caf::infinite, atom::last_v, std::string{})
    .receive([](const sync_status&) {}, [](caf::error&) {});
  self->send_exit(coord, caf::exit_reason::user_shutdown);
  self->send_exit(ccfg.history, caf::exit_reason::user_shutdown);
  for (auto& [path, provider] : ccfg.tokens)
    self->send_exit(provider, caf::exit_reason::user_shutdown);
  return rc;
}

} // namespace sheetsync
