#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "cli/commands.hpp"
#include "cli/progress_view.hpp"
#include "cli/remote_options.hpp"
#include "messages/actors.hpp"
#include "messages/error.hpp"
#include "messages/system_config.hpp"
#include "messages/vocabulary.hpp"

namespace sheetsync {

namespace {

using namespace std::chrono_literals;

std::atomic<int> interrupted{0};

extern "C" void on_remote_signal(int sig) {
  interrupted = sig;
}

/// How long a single request to the other node may take.
constexpr auto request_timeout = 15s;

class remote_config : public system_config {
public:
  remote_config() {
    load<caf::io::middleman>();
  }
};

/// 10 s, 1.5 s, 0.25 s.
std::string seconds_text(std::chrono::milliseconds x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x.count() / 1000.0);
  return buf;
}

/// What a failed connect means for people.
std::string connect_failure(const remote_options& opts, const caf::error& err,
                            caf::actor_system& sys) {
  auto where = opts.node;
  if (err == caf::sec::incompatible_application_ids)
    return "the node at " + where
           + " runs another sheetsync message vocabulary (ours: "
           + vocabulary_id() + "); run the same sheetsync build on both nodes";
  if (err == caf::sec::unexpected_actor_messaging_interface)
    return "the actor published at " + where
           + " is not a sheetsync coordinator of this version; run the same "
             "sheetsync build on both nodes";
  if (err == caf::sec::no_actor_published_at_port)
    return "nothing is published at " + where
           + " (is it the coordinator's serve --node-port?)";
  if (err == caf::sec::request_timeout)
    return "cannot connect to " + where + ": no answer within "
           + seconds_text(opts.connect_timeout) + " s (--connect-timeout); is it the coordinator's serve "
             "--node-port, and does no firewall drop the packets?";
  if (err == caf::sec::cannot_connect_to_node)
    return "cannot connect to " + where
           + ": connection refused or host unreachable (is `sheetsync serve "
             "--node-port` running there, and is the port reachable?)";
  return "cannot connect to " + where + ": " + sys.render(err);
}

/// `middleman().remote_actor`, with a time-out: CAF 0.17's own waits for the
/// operating system's (minutes, when packets are dropped) and forever for a
/// peer that accepts but never answers the handshake.
caf::expected<coordinator_api>
connect_to_coordinator(caf::actor_system& sys, const remote_options& opts) {
  caf::scoped_actor self{sys};
  caf::expected<coordinator_api> result{caf::sec::request_timeout};
  self
    ->request(sys.middleman().actor_handle(), opts.connect_timeout,
              caf::connect_atom::value, opts.host, opts.port)
    .receive(
      [&](const caf::node_id&, caf::strong_actor_ptr& ptr,
          const std::set<std::string>& ifs) {
        if (!ptr)
          result = caf::sec::no_actor_published_at_port;
        else if (ifs != sys.message_types<coordinator_api>())
          result = caf::sec::unexpected_actor_messaging_interface;
        else
          result = caf::actor_cast<coordinator_api>(std::move(ptr));
      },
      [&](caf::error& err) { result = std::move(err); });
  return result;
}

/// One line for a status: its id, then the same columns as `sheetsync sync`.
std::string id_line(const sync_status& st) {
  auto line = (st.id.empty() ? std::string{"-"} : st.id) + "  "
              + (st.source.empty() ? std::string{"-"} : st.source) + "  "
              + status_line(st);
  if (st.state == sync_state::error && !st.error.empty())
    line += ": " + st.error;
  return line;
}

std::string went_away(const remote_options& opts, const caf::error& reason,
                      caf::actor_system& sys) {
  return "the coordinator node at " + opts.node + " went away ("
         + sys.render(reason) + ")";
}

int run_sync(caf::actor_system& sys, const remote_options& opts,
             const coordinator_api& coord) {
  caf::scoped_actor self{sys};
  self->monitor(coord);
  std::string id;
  int rc = 1;
  self->request(coord, request_timeout, atom::start_v, opts.source)
    .receive([&](std::string& x) { id = std::move(x); },
             [&](caf::error& err) {
               if (code_of(err) == ec::busy)
                 std::cerr << "sheetsync remote: busy: " << error_text(err)
                           << "\n";
               else
                 std::cerr << "sheetsync remote: " << error_text(err) << "\n";
             });
  if (id.empty())
    return rc;
  // The coordinator sends the current status at once: nothing is missed
  // between the start and this subscription.
  self->send(coord, atom::subscribe_v,
             caf::actor_cast<status_listener_actor>(self), id);
  progress_view view{stdout};
  bool cancel_sent = false;
  for (bool done = false; !done;) {
    self->receive(
      [&](sync_status& st) {
        if (st.id != id)
          return;
        view.show(st);
        if (finished(st.state)) {
          done = true;
          rc = report_final(view, st, "sheetsync remote");
        }
      },
      [&](caf::down_msg& dm) {
        if (dm.source != coord.address())
          return;
        view.close();
        std::cerr << "sheetsync remote: " << went_away(opts, dm.reason, sys)
                  << "; sync " << id << " may still be running there\n";
        done = true;
        rc = 1;
      },
      caf::after(100ms) >> [&] {
        if (interrupted == 0 || cancel_sent)
          return;
        // Cancel rather than leave it running: the writer rolls back there.
        cancel_sent = true;
        self->request(coord, request_timeout, atom::cancel_v, id)
          .receive(
            [&](sync_status& st) {
              view.show(st);
              if (finished(st.state)) {
                done = true;
                rc = report_final(view, st, "sheetsync remote");
              }
            },
            [&](caf::error& err) {
              // Already finished: its final status is on its way.
              if (code_of(err) != ec::not_running) {
                view.close();
                std::cerr << "sheetsync remote: cannot cancel " << id << ": "
                          << error_text(err) << "\n";
                done = true;
                rc = 130;
              }
            });
      });
  }
  return rc;
}

/// `status ID` and `cancel ID`: one request, answered by one line.
template <class Atom>
int run_one_request(caf::actor_system& sys, const remote_options& opts,
                    const coordinator_api& coord, Atom what) {
  caf::scoped_actor self{sys};
  int rc = 1;
  self->request(coord, request_timeout, what, opts.id)
    .receive(
      [&](sync_status& st) {
        std::cout << id_line(st) << std::endl;
        rc = 0;
      },
      [&](caf::error& err) {
        std::cerr << "sheetsync remote: " << error_text(err) << "\n";
      });
  return rc;
}

int run_watch(caf::actor_system& sys, const remote_options& opts,
              const coordinator_api& coord) {
  caf::scoped_actor self{sys};
  self->monitor(coord);
  self->send(coord, atom::subscribe_v,
             caf::actor_cast<status_listener_actor>(self));
  // A round trip after the subscription (messages between two actors keep
  // their order): once it is answered, no later change can be missed.
  bool subscribed = false;
  self->request(coord, request_timeout, atom::status_v, std::string{})
    .receive([&](const sync_status&) { subscribed = true; },
             [&](caf::error& err) {
               std::cerr << "sheetsync remote: cannot watch: "
                         << error_text(err) << "\n";
             });
  if (!subscribed)
    return 1;
  std::cout << "watching the coordinator at " << opts.node
            << " (Ctrl-C stops)" << std::endl;
  int rc = 0;
  for (bool done = false; !done;) {
    self->receive(
      [&](sync_status& st) { std::cout << id_line(st) << std::endl; },
      [&](caf::down_msg& dm) {
        if (dm.source != coord.address())
          return;
        std::cerr << "sheetsync remote: " << went_away(opts, dm.reason, sys)
                  << "\n";
        done = true;
        rc = 1;
      },
      caf::after(100ms) >> [&] {
        if (interrupted != 0)
          done = true;
      });
  }
  return rc;
}

} // namespace

int run_remote_command(const std::vector<std::string>& args) {
  remote_options opts;
  if (auto rc = parse_remote_args(args, opts, std::cout, std::cerr))
    return *rc;
  remote_config cfg;
  caf::actor_system sys{cfg};
  auto coord = connect_to_coordinator(sys, opts);
  if (!coord) {
    std::cerr << "sheetsync remote: "
              << connect_failure(opts, coord.error(), sys) << "\n";
    if (coord.error() == caf::sec::request_timeout) {
      // The middleman may still be stuck in the operating system's connect,
      // and the actor system would wait for it on the way out.
      std::cout.flush();
      std::_Exit(2);
    }
    return 2;
  }
  // Only now: Ctrl-C must still end a connect that hangs, and from here on it
  // cancels or stops cleanly.
  std::signal(SIGINT, on_remote_signal);
  std::signal(SIGTERM, on_remote_signal);
  if (opts.action == "sync")
    return run_sync(sys, opts, *coord);
  if (opts.action == "status")
    return run_one_request(sys, opts, *coord, atom::status_v);
  if (opts.action == "cancel")
    return run_one_request(sys, opts, *coord, atom::cancel_v);
  return run_watch(sys, opts, *coord);
}

} // namespace sheetsync
