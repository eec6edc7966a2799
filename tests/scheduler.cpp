// Deterministic tests of the scheduler: ticks at a fixed rate on the actor
// clock, busy ticks skipped, no catch-up, unscheduled sources left alone.

#define CAF_SUITE scheduler
// caf/test/dsl.hpp 0.17.6 uses FAIL in request<T>() without defining it.
#define FAIL(msg) CAF_FAIL(msg)

#include <caf/test/dsl.hpp>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "actors/scheduler.hpp"
#include "messages/error.hpp"
#include "messages/system_config.hpp"

using namespace std::chrono_literals;
using namespace sheetsync;

namespace {

/// What the fake coordinator saw and how it answers.
struct script {
  /// When the clock started (the scheduler's start-up).
  caf::actor_clock::time_point t0;
  /// Every start, as "SOURCE@SECONDSs" since t0, e.g. "sales@10s".
  std::vector<std::string> starts;
  /// Every other message: nothing else is expected.
  std::vector<std::string> unexpected;
  /// Sources whose starts are answered busy.
  std::set<std::string> busy;
  /// Sources whose starts are answered cooldown.
  std::set<std::string> cooling;
  int next_id = 1;
};

using script_ptr = std::shared_ptr<script>;

struct fake_state {
  static inline const char* name = "fake_coordinator";
};

/// A coordinator that records starts; every other handler records itself as
/// unexpected.
coordinator_api::behavior_type
fake_coordinator(coordinator_api::stateful_pointer<fake_state> self,
                 script_ptr sc) {
  auto unexpected = [=](std::string what) {
    sc->unexpected.push_back(std::move(what));
    return sheetsync::make_error(ec::unspecified, "unexpected");
  };
  return {
    [=](atom::start, const std::string& source) -> caf::result<std::string> {
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(
        self->clock().now() - sc->t0);
      sc->starts.push_back(source + "@" + std::to_string(secs.count()) + "s");
      if (sc->busy.count(source))
        return make_busy_error("sync-running");
      if (sc->cooling.count(source))
        return make_cooldown_error(2);
      return "sync-" + std::to_string(sc->next_id++);
    },
    [=](atom::status, const std::string&) -> caf::result<sync_status> {
      return unexpected("status");
    },
    [=](atom::cancel, const std::string&) -> caf::result<sync_status> {
      return unexpected("cancel");
    },
    [=](atom::last, const std::string&) -> caf::result<sync_status> {
      return unexpected("last");
    },
    [=](atom::subscribe, status_listener_actor) {
      unexpected("subscribe");
    },
    [=](atom::subscribe, status_listener_actor, const std::string&) {
      unexpected("subscribe to one sync");
    },
    [=](caf::get_atom, atom::sources) -> caf::result<std::vector<source_info>> {
      return unexpected("sources");
    },
    [=](caf::get_atom, atom::history, const std::string&,
        uint64_t) -> caf::result<std::vector<sync_status>> {
      return unexpected("history");
    },
    [=](caf::get_atom, atom::data, const std::string&, const std::string&,
        uint64_t, uint64_t) -> caf::result<data_page> {
      return unexpected("data");
    },
    [=](caf::get_atom, atom::ready) -> caf::result<caf::ok_atom> {
      return unexpected("ready");
    },
    [=](caf::get_atom, atom::sources,
        const std::string&) -> caf::result<source_info> {
      return unexpected("one source");
    },
    [=](caf::put_atom, atom::sources,
        const source_spec&) -> caf::result<source_info> {
      return unexpected("add source");
    },
    [=](atom::update, const source_spec&,
        const std::vector<std::string>&) -> caf::result<source_info> {
      return unexpected("update source");
    },
    [=](caf::delete_atom, atom::sources,
        const std::string&) -> caf::result<caf::ok_atom> {
      return unexpected("delete source");
    },
    [=](atom::check, const source_spec&) -> caf::result<source_check> {
      return unexpected("check");
    },
  };
}

using strings = std::vector<std::string>;

struct fixture : test_coordinator_fixture<sheetsync::system_config> {
  script_ptr sc = std::make_shared<script>();
  coordinator_api coord;
  scheduler_actor sched_actor;

  fixture() {
    coord = sys.spawn(fake_coordinator, sc);
    sched.run();
  }

  ~fixture() override {
    CAF_CHECK_EQUAL(sc->unexpected, strings{});
    if (sched_actor)
      caf::anon_send_exit(sched_actor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void start(std::vector<std::pair<std::string, caf::timespan>> schedules) {
    sc->t0 = sched.clock().now();
    sched_actor = sys.spawn(scheduler, coord, std::move(schedules));
    sched.run();
  }

  /// Advances the clock, fires the timers due and runs every actor; returns
  /// the timers fired.
  size_t advance(caf::timespan d) {
    auto fired = sched.clock().advance_time(d);
    sched.run();
    return fired;
  }

  /// The starts of one source, in order.
  strings starts_of(const std::string& source) {
    strings result;
    for (auto& s : sc->starts)
      if (s.rfind(source + "@", 0) == 0)
        result.push_back(s);
    return result;
  }

  scheduler_state& state() {
    return deref<scheduler_actor::stateful_base<scheduler_state>>(sched_actor)
      .state;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(scheduler_tests, fixture)

CAF_TEST(the first tick comes one interval after start up and then every
           interval) {
  start({{"sales", 10s}});
  CAF_CHECK_EQUAL(sc->starts, strings{});
  advance(9s);
  CAF_CHECK_EQUAL(sc->starts, strings{});
  advance(1s);
  CAF_CHECK_EQUAL(sc->starts, strings{"sales@10s"});
  advance(9s);
  CAF_CHECK_EQUAL(sc->starts, strings{"sales@10s"});
  advance(1s);
  advance(10s);
  CAF_CHECK_EQUAL(sc->starts, (strings{"sales@10s", "sales@20s", "sales@30s"}));
  CAF_CHECK_EQUAL(state().skipped, 0u);
}

CAF_TEST(a busy tick is skipped and the next comes one interval later) {
  start({{"sales", 10s}});
  sc->busy.insert("sales");
  advance(10s);
  CAF_CHECK_EQUAL(sc->starts, strings{"sales@10s"});
  CAF_CHECK_EQUAL(state().skipped, 1u);
  // No retry before the next interval, no back-to-back run once free.
  sc->busy.clear();
  advance(9s);
  CAF_CHECK_EQUAL(sc->starts, strings{"sales@10s"});
  advance(1s);
  CAF_CHECK_EQUAL(sc->starts, (strings{"sales@10s", "sales@20s"}));
  CAF_CHECK_EQUAL(state().skipped, 1u);
  // A cooldown answer is skipped the same way.
  sc->cooling.insert("sales");
  advance(10s);
  CAF_CHECK_EQUAL(state().skipped, 2u);
  sc->cooling.clear();
  advance(10s);
  CAF_CHECK_EQUAL(sc->starts,
                  (strings{"sales@10s", "sales@20s", "sales@30s", "sales@40s"}));
}

CAF_TEST(two sources tick at their own intervals) {
  start({{"sales", 10s}, {"stock", 15s}});
  for (int i = 0; i < 30; ++i)
    advance(1s);
  CAF_CHECK_EQUAL(starts_of("sales"),
                  (strings{"sales@10s", "sales@20s", "sales@30s"}));
  CAF_CHECK_EQUAL(starts_of("stock"), (strings{"stock@15s", "stock@30s"}));
  CAF_CHECK_EQUAL(sc->starts.size(), 5u);
}

CAF_TEST(sources without interval get no tick) {
  start({{"sales", 0s}, {"stock", 1min}});
  CAF_CHECK_EQUAL(state().entries.size(), 1u);
  CAF_CHECK_EQUAL(state().entries.count("sales"), 0u);
  for (int i = 0; i < 3; ++i)
    advance(1min);
  CAF_CHECK_EQUAL(starts_of("sales"), strings{});
  CAF_CHECK_EQUAL(starts_of("stock"),
                  (strings{"stock@60s", "stock@120s", "stock@180s"}));
}

CAF_TEST(a clock that jumps ahead gets one tick and no catch up burst) {
  start({{"sales", 10s}});
  // All missed intervals at once: one start, then the fixed rate resumes.
  CAF_CHECK_EQUAL(advance(35s), 1u);
  CAF_CHECK_EQUAL(sc->starts, strings{"sales@35s"});
  advance(4s);
  CAF_CHECK_EQUAL(sc->starts, strings{"sales@35s"});
  advance(1s);
  CAF_CHECK_EQUAL(sc->starts, (strings{"sales@35s", "sales@40s"}));
}

CAF_TEST(a source scheduled at run time ticks one interval later) {
  start({});
  advance(5s);
  self->send(sched_actor, caf::put_atom::value, std::string{"added"},
             caf::timespan{10s});
  sched.run();
  advance(9s);
  CAF_CHECK_EQUAL(sc->starts, strings{});
  advance(1s);
  CAF_CHECK_EQUAL(sc->starts, strings{"added@15s"});
  advance(10s);
  CAF_CHECK_EQUAL(sc->starts, (strings{"added@15s", "added@25s"}));
}

CAF_TEST(a retimed schedule drops the old timer) {
  start({{"sales", 10s}});
  advance(4s);
  // Every 3 s from now: ticks at 7, 10, 13 s; the old timer (due at 10 s)
  // must not add a start of its own.
  self->send(sched_actor, caf::put_atom::value, std::string{"sales"},
             caf::timespan{3s});
  sched.run();
  for (int i = 0; i < 10; ++i)
    advance(1s);
  CAF_CHECK_EQUAL(sc->starts,
                  (strings{"sales@7s", "sales@10s", "sales@13s"}));
}

CAF_TEST(a removed schedule ticks no more) {
  start({{"sales", 10s}, {"stock", 10s}});
  advance(5s);
  self->send(sched_actor, caf::put_atom::value, std::string{"sales"},
             caf::timespan{0});
  sched.run();
  CAF_CHECK_EQUAL(state().entries.count("sales"), 0u);
  for (int i = 0; i < 20; ++i)
    advance(1s);
  CAF_CHECK_EQUAL(starts_of("sales"), strings{});
  CAF_CHECK_EQUAL(starts_of("stock"), (strings{"stock@10s", "stock@20s"}));
}

CAF_TEST(the scheduler stops with the coordinator) {
  start({{"sales", 10s}});
  self->monitor(sched_actor);
  caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
  sched.run();
  bool down = false;
  self->receive([&](const caf::down_msg& msg) { down = true; },
                caf::after(std::chrono::seconds(0)) >> [] {});
  CAF_CHECK(down);
  sched_actor = scheduler_actor{};
}

CAF_TEST_FIXTURE_SCOPE_END()
