// Deterministic two-node tests (caf/test/io_dsl.hpp): "earth" runs the
// coordinator with scheduled fake stages and publishes it; "mars" talks to it
// through its middleman, directly and through the remote_coordinator stand-in.
// Bytes cross a simulated network (test_multiplexer), so every message is
// serialized and deserialized with its registered type id.

#define CAF_SUITE nodes
// caf/test/dsl.hpp 0.17.6 uses FAIL in request<T>() without defining it.
#define FAIL(msg) CAF_FAIL(msg)

#include <caf/test/io_dsl.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <caf/io/basp_broker.hpp>

#include "actors/coordinator.hpp"
#include "actors/remote_coordinator.hpp"
#include "cli/command_line.hpp"
#include "messages/error.hpp"
#include "messages/system_config.hpp"
#include "messages/vocabulary.hpp"
#include "tests/answer_of.hpp"
#include "tests/fake_stages.hpp"

using namespace std::chrono_literals;
using namespace sheetsync;
using namespace sheetsync::test;

namespace {

// -- helpers ------------------------------------------------------------------

stage_report report_of(const std::string& id, stage from, uint64_t bytes,
                       uint64_t rows, bool finished,
                       uint64_t expected_bytes = 0) {
  stage_report r;
  r.sync_id = id;
  r.from = from;
  r.bytes = bytes;
  r.rows = rows;
  r.finished = finished;
  r.expected_bytes = expected_bytes;
  return r;
}

// -- fakes on earth --------------------------------------------------------------

/// A page that shows what was asked: the arguments cross the wire too.
data_page page_for(const std::string& source, uint64_t limit, uint64_t offset) {
  data_page page;
  page.source = source;
  page.columns = {"name", "städte"};
  page.rows = {{"row " + std::to_string(offset), "Zürich"},
               {"limit " + std::to_string(limit), ""}};
  page.total = 1234;
  return page;
}

cache_reader_actor::behavior_type fake_reader() {
  return {
    [](caf::get_atom, atom::data, const std::string& source,
       const std::string&, uint64_t limit,
       uint64_t offset) { return page_for(source, limit, offset); },
    [](caf::get_atom, atom::ready) { return caf::ok_atom::value; },
  };
}

// -- the two nodes ------------------------------------------------------------

/// What every sheetsync node loads (the vocabulary, the node message types
/// the commands add), plus the middleman. The test fixture swaps in the
/// deterministic scheduler and the simulated network.
struct node_config : sheetsync::system_config {
  node_config() {
    load<caf::io::middleman>();
  }
};

using node_fixture = test_coordinator_fixture<node_config>;

constexpr int64_t start_wall_ms = 1'700'000'000'000;

constexpr uint16_t node_port = 4242;

const std::string earth_host = "earth";

struct fixture : point_to_point_fixture<node_fixture> {
  // -- earth: the coordinator node -------------------------------------------

  /// Every pipeline the factory made on earth, in order.
  std::shared_ptr<std::vector<fake_pipeline_ptr>> pipelines
    = std::make_shared<std::vector<fake_pipeline_ptr>>();
  std::shared_ptr<recorded_map> recorded = std::make_shared<recorded_map>();
  std::shared_ptr<int64_t> wall = std::make_shared<int64_t>(start_wall_ms);
  coordinator_actor coord;
  history_actor history;
  cache_reader_actor reader;
  /// Every status published, as a listener on earth itself heard it.
  seen_ptr earth_seen = std::make_shared<std::vector<sync_status>>();
  status_listener_actor earth_listener;

  // -- the simulated network -------------------------------------------------

  /// Earth's acceptor for the node port (reused for every reconnect).
  caf::io::accept_handle earth_acc;
  /// The current connection, as each side names it.
  caf::io::connection_handle earth_conn;
  caf::io::connection_handle mars_conn;

  // -- mars: the client node -------------------------------------------------

  /// Actors spawned on mars, stopped at the end.
  std::vector<caf::actor> mars_actors;

  fixture() {
    coordinator_config conf;
    for (auto name : {"sheet", "other"}) {
      source_spec src;
      src.name = name;
      src.location = std::string{"https://sheets.example/"} + name + ".csv";
      conf.sources.push_back(std::move(src));
    }
    conf.jitter = [] { return caf::timespan{0}; };
    conf.db_path = "/nonexistent/cache.db"; // the fakes never open it
    conf.cooldown = 3s;
    // Writers answer a commit with 10 rows unless complete() says otherwise.
    conf.make_pipeline = make_fake_pipelines(pipelines, 10);
    conf.wall_clock_ms = [w = wall] { return *w; };
    history = earth.sys.spawn(fake_history, recorded);
    conf.history = history;
    reader = earth.sys.spawn(fake_reader);
    conf.reader = reader;
    coord = earth.sys.spawn(coordinator, std::move(conf));
    earth_listener = earth.sys.spawn(status_listener, earth_seen);
    earth.self->send(coord, atom::subscribe::value, earth_listener);
    settle();
    earth_acc = next_accept_handle();
    offer_connection();
    CAF_REQUIRE_EQUAL(earth.publish(coordinator_api{coord}, node_port),
                      node_port);
    settle();
  }

  ~fixture() {
    // Stop everything that could still schedule timers (a stand-in keeps
    // reconnecting), so the base fixtures' run() ends.
    for (auto& x : mars_actors)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    stop_stages(*pipelines);
    caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(earth_listener, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(history, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(reader, caf::exit_reason::user_shutdown);
    settle();
  }

  // -- driving both nodes --------------------------------------------------------

  /// Runs both nodes (actors, brokers, network) until nothing moves. Unlike
  /// exec_all(), it never fires timers: the coordinator's deadline and the
  /// stand-in's reconnect tick fire only when a test advances a clock.
  size_t settle() {
    auto step = [](planet_type& x) {
      return x.sched.try_run_once() || x.mpx.try_exec_runnable()
             || x.mpx.read_data() || x.mpx.try_accept_connection();
    };
    size_t steps = 0;
    while (step(earth) || step(mars))
      ++steps;
    return steps;
  }

  /// Lets earth's acceptor take one (more) connection from mars to
  /// earth:node_port: what a listening socket does.
  void offer_connection() {
    std::tie(earth_conn, mars_conn)
      = prepare_connection(earth, mars, earth_host, node_port, earth_acc);
  }

  /// The connection between the nodes breaks: both BASP brokers see it close.
  void break_connection() {
    auto earth_bb = earth.mm.named_broker<caf::io::basp_broker>(caf::atom("BASP"));
    auto mars_bb = mars.mm.named_broker<caf::io::basp_broker>(caf::atom("BASP"));
    caf::anon_send(earth_bb, caf::io::connection_closed_msg{earth_conn});
    caf::anon_send(mars_bb, caf::io::connection_closed_msg{mars_conn});
    settle();
  }

  /// Advances mars's actor clock; answers the number of timers that fired.
  size_t advance_mars(caf::timespan d) {
    auto fired = mars.sched.clock().advance_time(d);
    settle();
    return fired;
  }

  size_t advance_earth(caf::timespan d) {
    auto fired = earth.sched.clock().advance_time(d);
    settle();
    return fired;
  }

  /// Mars asks its middleman for the actor at earth:node_port, as
  /// remote_actor() does: (node, actor, interface) or an error.
  caf::expected<std::tuple<caf::node_id, caf::strong_actor_ptr,
                           std::set<std::string>>>
  mars_connect() {
    auto answer = mars.self->request(mars.mm.actor_handle(), caf::infinite,
                                     caf::connect_atom::value, earth_host,
                                     node_port);
    settle();
    if (mars.self->mailbox().empty())
      CAF_FAIL("the middleman on mars did not answer the connect");
    caf::expected<std::tuple<caf::node_id, caf::strong_actor_ptr,
                             std::set<std::string>>>
      result = caf::make_error(caf::sec::unexpected_response);
    answer.receive(
      [&](caf::node_id& nid, caf::strong_actor_ptr& ptr,
          std::set<std::string>& ifs) {
        result = std::make_tuple(std::move(nid), std::move(ptr),
                                 std::move(ifs));
      },
      [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// Earth's coordinator as mars sees it: a proxy of the typed handle.
  coordinator_api remote_coordinator_handle() {
    auto res = mars_connect();
    if (!res)
      CAF_FAIL("connect failed: " << mars.sys.render(res.error()));
    auto& [nid, ptr, ifs] = *res;
    CAF_REQUIRE(ptr != nullptr);
    CAF_CHECK_EQUAL(nid, earth.sys.node());
    CAF_CHECK_EQUAL(ifs, mars.sys.message_types<coordinator_api>());
    auto hdl = caf::actor_cast<coordinator_api>(ptr);
    CAF_CHECK(hdl->node() != mars.sys.node());
    CAF_CHECK_EQUAL(hdl.address(), coord.address());
    return hdl;
  }

  /// A listener on mars.
  status_listener_actor mars_listener(seen_ptr seen) {
    auto hdl = mars.sys.spawn(status_listener, seen);
    mars_actors.push_back(caf::actor_cast<caf::actor>(hdl));
    return hdl;
  }

  /// The stand-in on mars for earth's coordinator.
  remote_coordinator_actor spawn_stand_in() {
    auto hdl = mars.sys.spawn(remote_coordinator, earth_host, node_port);
    mars_actors.push_back(caf::actor_cast<caf::actor>(hdl));
    settle();
    return hdl;
  }

  /// Listeners earth's coordinator pushes to (earth_listener is one).
  size_t coordinator_subscribers() {
    using impl = coordinator_actor::stateful_base<coordinator_state>;
    return earth.deref<impl>(coord).state.subscribers.size();
  }

  remote_coordinator_state& stand_in_state(const remote_coordinator_actor& hdl) {
    using impl = remote_coordinator_actor::stateful_base<remote_coordinator_state>;
    return mars.deref<impl>(hdl).state;
  }

  // -- asking from a node ----------------------------------------------------------

  /// Sends a request from `who`, runs both nodes (no timers) and returns the
  /// answer.
  template <class T, class Handle, class... Ts>
  caf::expected<T> ask_from(planet_type& who, const Handle& dest, Ts... xs) {
    auto answer = who.self->request(dest, caf::infinite, std::move(xs)...);
    settle();
    return answer_of<T>(who.self, answer, "no answer arrived");
  }

  template <class T, class Handle, class... Ts>
  caf::expected<T> ask_mars(const Handle& dest, Ts... xs) {
    return ask_from<T>(mars, dest, std::move(xs)...);
  }

  template <class T, class... Ts>
  caf::expected<T> ask_earth(Ts... xs) {
    return ask_from<T>(earth, coord, std::move(xs)...);
  }

  /// A status straight from earth's coordinator.
  sync_status local_status(const std::string& id) {
    auto st = ask_earth<sync_status>(atom::status::value, id);
    if (!st)
      CAF_FAIL("status failed on earth: " << error_text(error_of(st)));
    return *st;
  }

  // -- acting as the stages on earth -------------------------------------------------

  fake_pipeline& pipeline_of(const std::string& id) {
    return latest_pipeline(*pipelines, id);
  }

  /// The stage named in the report tells the coordinator (on earth).
  void report(const stage_report& r) {
    caf::send_as(stage_actor(pipeline_of(r.sync_id), r.from), coord,
                 atom::progress::value, r);
    settle();
  }

  /// A stage ends by itself once its part is done.
  template <class Handle>
  void end(const Handle& stage_hdl) {
    caf::anon_send_exit(stage_hdl, caf::exit_reason::normal);
    settle();
  }

  /// Runs a sync to its end as the real stages would.
  void complete(const std::string& id, uint64_t bytes = 1000,
                uint64_t rows = 10) {
    auto& p = pipeline_of(id);
    p.commit_answer = rows;
    report(report_of(id, stage::download, bytes, 0, true, bytes));
    end(p.stages.downloader);
    report(report_of(id, stage::parse, bytes, rows, true));
    end(p.stages.parser);
    report(report_of(id, stage::save, 0, rows, true));
    CAF_REQUIRE_EQUAL(local_status(id).state, sync_state::complete);
  }

  /// Statuses earth published for one sync id.
  std::vector<sync_status> published_for(const std::string& id) {
    return statuses_for(*earth_seen, id);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(nodes_tests, fixture)

// -- the published coordinator ---------------------------------------------------

CAF_TEST(mars connects to the published coordinator with its typed interface) {
  auto remote = remote_coordinator_handle();
  // The vocabulary fingerprint is every node's application identifier.
  auto ids = caf::get_or(mars.sys.config(), "middleman.app-identifiers",
                         std::vector<std::string>{});
  CAF_CHECK_EQUAL(ids, std::vector<std::string>{vocabulary_id()});
  CAF_CHECK(starts_with(vocabulary_id(), "sheetsync-"));
  // A second connect is answered from the middleman's cache: same actor.
  auto again = remote_coordinator_handle();
  CAF_CHECK_EQUAL(again, remote);
}

CAF_TEST(a remote start answers an id and pushed progress reaches mars) {
  auto remote = remote_coordinator_handle();
  auto all_seen = std::make_shared<std::vector<sync_status>>();
  auto all = mars_listener(all_seen);
  mars.self->send(remote, atom::subscribe::value, all);
  settle();
  // Start from mars.
  auto id = ask_mars<std::string>(remote, atom::start::value, std::string{});
  CAF_REQUIRE(id);
  CAF_CHECK(starts_with(*id, "sync-"));
  CAF_REQUIRE_EQUAL(pipelines->size(), 1u);
  CAF_CHECK_EQUAL(pipeline_of(*id).job.source, "sheet");
  // Mars heard of the start with earth's very status.
  CAF_REQUIRE_EQUAL(all_seen->size(), 1u);
  CAF_CHECK_EQUAL(all_seen->back(), local_status(*id));
  CAF_CHECK_EQUAL(all_seen->back().state, sync_state::downloading);
  // Step by step: the coordinator publishes on earth, the bytes cross, the
  // listener on mars receives a sync_status equal to earth's.
  caf::send_as(stage_actor(pipeline_of(*id), stage::download), coord,
               atom::progress::value,
               report_of(*id, stage::download, 500, 0, false, 1000));
  earth.sched.run();
  network_traffic();
  // The status is in the listener's mailbox on mars, not handled yet.
  CAF_CHECK_EQUAL(all_seen->size(), 1u);
  CAF_REQUIRE_EQUAL(mars.sched.jobs.size(), 1u);
  CAF_CHECK_EQUAL(mars.sched.next_job<caf::abstract_actor>().id(), all.id());
  mars.sched.run();
  CAF_REQUIRE_EQUAL(all_seen->size(), 2u);
  auto expected = local_status(*id);
  CAF_CHECK_EQUAL(int{expected.progress}, 30);
  CAF_CHECK_EQUAL(all_seen->back(), expected);
  // A listener for this one sync, subscribed mid-sync, gets the current
  // status at once, then every change of this sync and of no other.
  auto one_seen = std::make_shared<std::vector<sync_status>>();
  auto one = mars_listener(one_seen);
  mars.self->send(remote, atom::subscribe::value, one, *id);
  settle();
  CAF_REQUIRE_EQUAL(one_seen->size(), 1u);
  CAF_CHECK_EQUAL(one_seen->front(), expected);
  auto before = earth_seen->size();
  auto other = ask_mars<std::string>(remote, atom::start::value,
                                     std::string{"other"});
  CAF_REQUIRE(other);
  complete(*id, 1000, 10);
  // Every phase crossed, in order, with the same values.
  std::vector<sync_status> later(earth_seen->begin() + before,
                                 earth_seen->end());
  CAF_CHECK_EQUAL(*all_seen, *earth_seen);
  std::vector<sync_status> mine{expected};
  for (auto& st : later)
    if (st.id == *id)
      mine.push_back(st);
  CAF_CHECK_EQUAL(*one_seen, mine);
  std::set<sync_state> states;
  for (auto& st : *all_seen)
    if (st.id == *id)
      states.insert(st.state);
  CAF_CHECK_EQUAL(states, (std::set<sync_state>{sync_state::downloading,
                                                sync_state::processing,
                                                sync_state::saving,
                                                sync_state::complete}));
  CAF_CHECK_EQUAL(all_seen->back().state, sync_state::complete);
  CAF_CHECK_EQUAL(int{all_seen->back().progress}, 100);
  CAF_CHECK_EQUAL(all_seen->back().rows, 10u);
  CAF_CHECK(contains(all_seen->back().message, "Synced 10 rows"));
  CAF_CHECK_EQUAL(one_seen->back(), all_seen->back());
  // The other sync's start reached the all-listener, not the one-listener.
  CAF_CHECK(std::any_of(all_seen->begin(), all_seen->end(),
                        [&](auto& st) { return st.id == *other; }));
  CAF_CHECK(std::none_of(one_seen->begin(), one_seen->end(),
                         [&](auto& st) { return st.id == *other; }));
  // The status, cancel, last, history, sources and data answers cross too.
  auto st = ask_mars<sync_status>(remote, atom::status::value, *id);
  CAF_REQUIRE(st);
  CAF_CHECK_EQUAL(*st, local_status(*id));
  auto cancelled = ask_mars<sync_status>(remote, atom::cancel::value, *other);
  CAF_REQUIRE(cancelled);
  CAF_CHECK_EQUAL(cancelled->state, sync_state::cancelled);
  CAF_CHECK_EQUAL(*cancelled, local_status(*other));
  CAF_CHECK_EQUAL(all_seen->back(), *cancelled);
  auto last = ask_mars<sync_status>(remote, atom::last::value,
                                    std::string{"sheet"});
  CAF_REQUIRE(last);
  CAF_CHECK_EQUAL(last->id, *id);
  auto hist = ask_mars<std::vector<sync_status>>(
    remote, caf::get_atom::value, atom::history::value, std::string{},
    uint64_t{10});
  CAF_REQUIRE(hist);
  CAF_CHECK_EQUAL(hist->size(), 2u);
  auto local_hist = ask_earth<std::vector<sync_status>>(
    caf::get_atom::value, atom::history::value, std::string{}, uint64_t{10});
  CAF_REQUIRE(local_hist);
  CAF_CHECK_EQUAL(*hist, *local_hist);
  auto sources = ask_mars<std::vector<source_info>>(remote, caf::get_atom::value,
                                                    atom::sources::value);
  CAF_REQUIRE(sources);
  CAF_REQUIRE_EQUAL(sources->size(), 2u);
  CAF_CHECK_EQUAL((*sources)[0].name, "sheet");
  CAF_CHECK_EQUAL((*sources)[0].last, local_status(*id));
  CAF_CHECK_EQUAL((*sources)[1].name, "other");
  auto page = ask_mars<data_page>(remote, caf::get_atom::value,
                                  atom::data::value, std::string{"sheet"},
                                  std::string{}, uint64_t{50}, uint64_t{100});
  CAF_REQUIRE(page);
  auto want = page_for("sheet", 50, 100);
  want.synced_ms = start_wall_ms;
  CAF_CHECK_EQUAL(*page, want);
  // Readiness is the coordinator's (its cache reader's) answer.
  auto ready = ask_mars<caf::ok_atom>(remote, caf::get_atom::value,
                                      atom::ready::value);
  CAF_CHECK(ready);
}

CAF_TEST(busy cooldown and unknown_sync cross the wire with their details) {
  auto remote = remote_coordinator_handle();
  auto id = ask_mars<std::string>(remote, atom::start::value, std::string{});
  CAF_REQUIRE(id);
  // busy, with the running sync's id.
  auto busy = ask_mars<std::string>(remote, atom::start::value,
                                    std::string{"sheet"});
  CAF_REQUIRE(!busy);
  auto local_busy = ask_earth<std::string>(atom::start::value,
                                           std::string{"sheet"});
  CAF_REQUIRE(!local_busy);
  CAF_CHECK_EQUAL(code_of(busy.error()), ec::busy);
  CAF_CHECK_EQUAL(busy_id(busy.error()), *id);
  CAF_CHECK_EQUAL(error_text(busy.error()), error_text(local_busy.error()));
  CAF_CHECK(contains(error_text(busy.error()), *id));
  CAF_CHECK_EQUAL(busy.error().context().size(),
                  local_busy.error().context().size());
  CAF_CHECK_EQUAL(mars.sys.render(busy.error()),
                  earth.sys.render(local_busy.error()));
  complete(*id);
  // cooldown, with the whole seconds left (3 s cooldown, none passed yet).
  auto cool = ask_mars<std::string>(remote, atom::start::value, std::string{});
  CAF_REQUIRE(!cool);
  CAF_CHECK_EQUAL(code_of(cool.error()), ec::cooldown);
  CAF_CHECK_EQUAL(cooldown_seconds(cool.error()), 3u);
  CAF_CHECK_EQUAL(busy_id(cool.error()), "");
  CAF_CHECK(contains(error_text(cool.error()), "try again in 3 s"));
  advance_earth(1500ms);
  cool = ask_mars<std::string>(remote, atom::start::value, std::string{});
  CAF_REQUIRE(!cool);
  CAF_CHECK_EQUAL(code_of(cool.error()), ec::cooldown);
  CAF_CHECK_EQUAL(cooldown_seconds(cool.error()), 2u);
  // unknown_sync for status and cancel of an id earth never saw.
  auto unknown = ask_mars<sync_status>(remote, atom::status::value,
                                       std::string{"sync-nope"});
  CAF_REQUIRE(!unknown);
  CAF_CHECK_EQUAL(code_of(unknown.error()), ec::unknown_sync);
  CAF_CHECK(contains(error_text(unknown.error()), "sync-nope"));
  auto unknown_cancel = ask_mars<sync_status>(remote, atom::cancel::value,
                                              std::string{"sync-nope"});
  CAF_REQUIRE(!unknown_cancel);
  CAF_CHECK_EQUAL(code_of(unknown_cancel.error()), ec::unknown_sync);
  // not_running and invalid_argument keep their texts as well.
  auto late = ask_mars<sync_status>(remote, atom::cancel::value, *id);
  CAF_REQUIRE(!late);
  CAF_CHECK_EQUAL(code_of(late.error()), ec::not_running);
  CAF_CHECK(contains(error_text(late.error()), "complete"));
  auto nope = ask_mars<std::string>(remote, atom::start::value,
                                    std::string{"nope"});
  CAF_REQUIRE(!nope);
  CAF_CHECK_EQUAL(code_of(nope.error()), ec::invalid_argument);
  CAF_CHECK(contains(error_text(nope.error()), "nope"));
}

// -- the stand-in (serve --coordinator) ---------------------------------------------

CAF_TEST(the stand-in forwards every request and pushes statuses) {
  auto rc = spawn_stand_in();
  CAF_CHECK(stand_in_state(rc).remote != nullptr);
  auto seen = std::make_shared<std::vector<sync_status>>();
  auto listener = mars_listener(seen);
  mars.self->send(rc, atom::subscribe::value, listener);
  settle();
  auto id = ask_mars<std::string>(rc, atom::start::value, std::string{});
  CAF_REQUIRE(id);
  CAF_CHECK(starts_with(*id, "sync-"));
  auto busy = ask_mars<std::string>(rc, atom::start::value, std::string{});
  CAF_REQUIRE(!busy);
  CAF_CHECK_EQUAL(busy_id(busy.error()), *id);
  report(report_of(*id, stage::download, 500, 0, false, 1000));
  auto st = ask_mars<sync_status>(rc, atom::status::value, *id);
  CAF_REQUIRE(st);
  CAF_CHECK_EQUAL(*st, local_status(*id));
  CAF_CHECK_EQUAL(int{st->progress}, 30);
  CAF_CHECK_EQUAL(*seen, *earth_seen);
  CAF_CHECK_EQUAL(seen->back(), *st);
  auto sources = ask_mars<std::vector<source_info>>(rc, caf::get_atom::value,
                                                    atom::sources::value);
  CAF_REQUIRE(sources);
  CAF_REQUIRE_EQUAL(sources->size(), 2u);
  CAF_CHECK_EQUAL((*sources)[0].running_id, *id);
  auto page = ask_mars<data_page>(rc, caf::get_atom::value, atom::data::value,
                                  std::string{"other"}, std::string{},
                                  uint64_t{5}, uint64_t{7});
  CAF_REQUIRE(page);
  CAF_CHECK_EQUAL(*page, page_for("other", 5, 7));
  auto hist = ask_mars<std::vector<sync_status>>(
    rc, caf::get_atom::value, atom::history::value, std::string{"sheet"},
    uint64_t{5});
  CAF_REQUIRE(hist);
  CAF_REQUIRE_EQUAL(hist->size(), 1u);
  CAF_CHECK_EQUAL(hist->front().id, *id);
  auto last = ask_mars<sync_status>(rc, atom::last::value, std::string{});
  CAF_REQUIRE(last);
  CAF_CHECK_EQUAL(last->id, *id);
  auto cancelled = ask_mars<sync_status>(rc, atom::cancel::value, *id);
  CAF_REQUIRE(cancelled);
  CAF_CHECK_EQUAL(cancelled->state, sync_state::cancelled);
  CAF_CHECK_EQUAL(seen->back(), *cancelled);
  CAF_CHECK_EQUAL(*seen, *earth_seen);
  // A per-id subscription through the stand-in reaches earth too.
  advance_earth(3s);
  auto next = ask_mars<std::string>(rc, atom::start::value, std::string{});
  CAF_REQUIRE(next);
  auto one_seen = std::make_shared<std::vector<sync_status>>();
  auto one = mars_listener(one_seen);
  mars.self->send(rc, atom::subscribe::value, one, *next);
  settle();
  CAF_REQUIRE_EQUAL(one_seen->size(), 1u);
  CAF_CHECK_EQUAL(one_seen->front(), local_status(*next));
  complete(*next);
  CAF_CHECK_EQUAL(one_seen->back().state, sync_state::complete);
  CAF_CHECK_EQUAL(*seen, *earth_seen);
}

CAF_TEST(the stand-in answers unavailable while earth is gone and recovers) {
  auto rc = spawn_stand_in();
  auto seen = std::make_shared<std::vector<sync_status>>();
  auto listener = mars_listener(seen);
  mars.self->send(rc, atom::subscribe::value, listener);
  settle();
  auto id = ask_mars<std::string>(rc, atom::start::value, std::string{});
  CAF_REQUIRE(id);
  CAF_REQUIRE_EQUAL(seen->size(), 1u);
  CAF_CHECK_EQUAL(coordinator_subscribers(), 2u);
  // The connection breaks. Earth's coordinator drops the listener on mars.
  break_connection();
  CAF_CHECK(stand_in_state(rc).remote == nullptr);
  CAF_CHECK_EQUAL(coordinator_subscribers(), 1u);
  auto down = ask_mars<sync_status>(rc, atom::status::value, *id);
  CAF_REQUIRE(!down);
  CAF_CHECK_EQUAL(code_of(down.error()), ec::unavailable);
  auto text = error_text(down.error());
  CAF_MESSAGE("while disconnected: " << text);
  CAF_CHECK(contains(text, "earth:4242"));
  CAF_CHECK(contains(text, "connection was lost"));
  // Every request, not only status.
  auto code = ec::unavailable;
  auto start = ask_mars<std::string>(rc, atom::start::value, std::string{});
  CAF_REQUIRE(!start);
  CAF_CHECK_EQUAL(code_of(start.error()), code);
  auto cancel = ask_mars<sync_status>(rc, atom::cancel::value, *id);
  CAF_REQUIRE(!cancel);
  CAF_CHECK_EQUAL(code_of(cancel.error()), code);
  auto last = ask_mars<sync_status>(rc, atom::last::value, std::string{});
  CAF_REQUIRE(!last);
  CAF_CHECK_EQUAL(code_of(last.error()), code);
  auto sources = ask_mars<std::vector<source_info>>(rc, caf::get_atom::value,
                                                    atom::sources::value);
  CAF_REQUIRE(!sources);
  CAF_CHECK_EQUAL(code_of(sources.error()), code);
  auto page = ask_mars<data_page>(rc, caf::get_atom::value, atom::data::value,
                                  std::string{}, std::string{}, uint64_t{5},
                                  uint64_t{0});
  CAF_REQUIRE(!page);
  CAF_CHECK_EQUAL(code_of(page.error()), code);
  auto hist = ask_mars<std::vector<sync_status>>(
    rc, caf::get_atom::value, atom::history::value, std::string{},
    uint64_t{5});
  CAF_REQUIRE(!hist);
  CAF_CHECK_EQUAL(code_of(hist.error()), code);
  // Not ready while the coordinator is out of reach, and it says so.
  auto ready = ask_mars<caf::ok_atom>(rc, caf::get_atom::value,
                                      atom::ready::value);
  CAF_REQUIRE(!ready);
  CAF_CHECK_EQUAL(code_of(ready.error()), code);
  CAF_CHECK(contains(error_text(ready.error()), "earth:4242"));
  // The coordinator and its sync on earth do not notice the facade's loss.
  report(report_of(*id, stage::download, 500, 0, false, 1000));
  CAF_CHECK_EQUAL(local_status(*id).state, sync_state::downloading);
  CAF_CHECK_EQUAL(int{local_status(*id).progress}, 30);
  CAF_CHECK_EQUAL(seen->size(), 1u);
  // Earth is still unreachable at the first reconnect tick (250 ms).
  CAF_CHECK_EQUAL(advance_mars(249ms), 0u);
  CAF_CHECK_EQUAL(advance_mars(1ms), 1u);
  CAF_CHECK(stand_in_state(rc).remote == nullptr);
  CAF_CHECK_EQUAL(stand_in_state(rc).failures, 2u);
  auto still = ask_mars<sync_status>(rc, atom::status::value, *id);
  CAF_REQUIRE(!still);
  CAF_CHECK_EQUAL(code_of(still.error()), ec::unavailable);
  CAF_MESSAGE("after a failed attempt: " << error_text(still.error()));
  CAF_CHECK(contains(error_text(still.error()), "cannot connect to earth:4242"));
  // Earth listens again; the next tick (500 ms later) connects.
  offer_connection();
  CAF_CHECK_EQUAL(advance_mars(499ms), 0u);
  CAF_CHECK(stand_in_state(rc).remote == nullptr);
  CAF_CHECK_EQUAL(advance_mars(1ms), 1u);
  CAF_REQUIRE(stand_in_state(rc).remote != nullptr);
  CAF_CHECK_EQUAL(stand_in_state(rc).failures, 0u);
  CAF_CHECK_EQUAL(coordinator_subscribers(), 2u);
  auto back = ask_mars<sync_status>(rc, atom::status::value, *id);
  CAF_REQUIRE(back);
  CAF_CHECK_EQUAL(*back, local_status(*id));
  CAF_CHECK_EQUAL(int{back->progress}, 30);
  // The listener heard the progress it missed (the reconnect's snapshot of
  // the sheet; "other" never synced), then, subscribed again, the rest of the
  // sync, once.
  CAF_REQUIRE_EQUAL(seen->size(), 2u);
  CAF_CHECK_EQUAL(seen->back(), *back);
  auto before = earth_seen->size();
  complete(*id);
  std::vector<sync_status> after(earth_seen->begin() + before,
                                 earth_seen->end());
  CAF_REQUIRE(!after.empty());
  CAF_CHECK_EQUAL(std::vector<sync_status>(seen->begin() + 2, seen->end()),
                  after);
  CAF_CHECK_EQUAL(seen->back().state, sync_state::complete);
  // Requests are forwarded again.
  advance_earth(3s);
  auto next = ask_mars<std::string>(rc, atom::start::value, std::string{});
  CAF_REQUIRE(next);
  CAF_CHECK_NOT_EQUAL(*next, *id);
  CAF_CHECK_EQUAL(seen->back(), local_status(*next));
}

CAF_TEST(a request in flight when the connection breaks ends by its timeout) {
  auto rc = spawn_stand_in();
  auto id = ask_mars<std::string>(rc, atom::start::value, std::string{});
  CAF_REQUIRE(id);
  // The stand-in forwards a status request; the connection breaks before
  // earth has read it.
  auto answer = mars.self->request(rc, std::chrono::seconds{10},
                                   atom::status::value, *id);
  mars.sched.run();
  mars.mpx.flush_runnables();
  break_connection();
  CAF_CHECK(stand_in_state(rc).remote == nullptr);
  CAF_CHECK(mars.self->mailbox().empty());
  // Nobody answers it (the stand-in delegated it): only the requester's own
  // timeout ends it, which is why the facade asks with a timeout.
  CAF_CHECK_EQUAL(advance_mars(249ms), 0u);
  CAF_CHECK(mars.self->mailbox().empty());
  mars.sched.clock().advance_time(10s);
  settle();
  CAF_REQUIRE(!mars.self->mailbox().empty());
  caf::error err;
  answer.receive([&](sync_status&) { CAF_FAIL("answered after the break"); },
                 [&](caf::error& x) { err = std::move(x); });
  CAF_CHECK_EQUAL(err, caf::sec::request_timeout);
}

CAF_TEST(the stand-in backs off up to five seconds between attempts) {
  auto rc = mars.sys.spawn(remote_coordinator, std::string{"pluto"}, node_port);
  mars_actors.push_back(caf::actor_cast<caf::actor>(rc));
  settle();
  CAF_CHECK(stand_in_state(rc).remote == nullptr);
  CAF_CHECK_EQUAL(stand_in_state(rc).failures, 1u);
  auto err = ask_mars<std::string>(rc, atom::start::value, std::string{});
  CAF_REQUIRE(!err);
  CAF_CHECK_EQUAL(code_of(err.error()), ec::unavailable);
  CAF_CHECK(contains(error_text(err.error()), "pluto:4242"));
  // 250 ms, 500 ms, 1 s, 2 s, 4 s, then 5 s at most. (Counting attempts, not
  // timers: each attempt's own 10 s time-out is a timer too.)
  unsigned attempts = 1;
  for (auto delay : {250ms, 500ms, 1000ms, 2000ms, 4000ms, 5000ms, 5000ms}) {
    advance_mars(delay - 1ms);
    CAF_CHECK_EQUAL(stand_in_state(rc).failures, attempts);
    advance_mars(1ms);
    CAF_CHECK_EQUAL(stand_in_state(rc).failures, ++attempts);
  }
  CAF_CHECK_EQUAL(reconnect_delay(1), caf::timespan{250ms});
  CAF_CHECK_EQUAL(reconnect_delay(100), caf::timespan{5s});
}

// Defect 6: a sync that ended while mars was disconnected stayed
// "downloading" on mars, since pushes during the gap are lost and nothing
// asked again after the reconnect.
CAF_TEST(after a reconnect listeners hear what changed while disconnected) {
  auto rc = spawn_stand_in();
  auto seen = std::make_shared<std::vector<sync_status>>();
  auto listener = mars_listener(seen);
  mars.self->send(rc, atom::subscribe::value, listener);
  settle();
  auto id = ask_mars<std::string>(rc, atom::start::value, std::string{});
  CAF_REQUIRE(id);
  report(report_of(*id, stage::download, 500, 0, false, 1000));
  CAF_REQUIRE_EQUAL(seen->back().state, sync_state::downloading);
  break_connection();
  // The sync ends on earth while mars cannot hear it.
  complete(*id);
  CAF_CHECK_EQUAL(seen->back().state, sync_state::downloading);
  offer_connection();
  CAF_CHECK_EQUAL(advance_mars(250ms), 1u);
  CAF_REQUIRE(stand_in_state(rc).remote != nullptr);
  CAF_CHECK_EQUAL(seen->back(), local_status(*id));
  CAF_CHECK_EQUAL(seen->back().state, sync_state::complete);
  // Each source with a sync, once ("other" has none).
  // A local copy: CAF_CHECK_EQUAL binds its arguments by reference, and a
  // member of a temporary vector would dangle.
  auto for_id = statuses_for(*seen, *id);
  CAF_REQUIRE(!for_id.empty());
  CAF_CHECK_EQUAL(for_id.back().state, sync_state::complete);
}

// Only mars sees the connection close (a half-open TCP connection: earth's
// side has not noticed yet); the stand-in reconnects and subscribes its
// listener again while the coordinator still holds the old subscription of
// the same listener (the same proxy): it must not be added twice.
CAF_TEST(a half-open reconnect pushes each status once) {
  auto rc = spawn_stand_in();
  auto seen = std::make_shared<std::vector<sync_status>>();
  auto listener = mars_listener(seen);
  mars.self->send(rc, atom::subscribe::value, listener);
  settle();
  auto id = ask_mars<std::string>(rc, atom::start::value, std::string{});
  CAF_REQUIRE(id);
  // Only mars's broker sees the connection close.
  auto mars_bb = mars.mm.named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  caf::anon_send(mars_bb, caf::io::connection_closed_msg{mars_conn});
  settle();
  CAF_CHECK(stand_in_state(rc).remote == nullptr);
  offer_connection();
  CAF_CHECK_EQUAL(advance_mars(250ms), 1u);
  CAF_REQUIRE(stand_in_state(rc).remote != nullptr);
  auto st = ask_mars<sync_status>(rc, atom::status::value, *id);
  CAF_REQUIRE(st);
  auto before = seen->size();
  report(report_of(*id, stage::download, 500, 0, false, 1000));
  CAF_CHECK_EQUAL(seen->size() - before, 1u);
  CAF_CHECK_EQUAL(seen->back(), local_status(*id));
}

// -- the version check ------------------------------------------------------------

CAF_TEST(a node of another vocabulary is refused at connect time) {
  // Mars was built from another vocabulary: another fingerprint.
  mars.cfg.set("middleman.app-identifiers",
               std::vector<std::string>{"sheetsync-000000000000"});
  auto res = mars_connect();
  CAF_REQUIRE(!res);
  CAF_MESSAGE("refused with: " << mars.sys.render(res.error()));
  CAF_CHECK_EQUAL(res.error(), caf::sec::incompatible_application_ids);
  // The stand-in says so in its unavailable answer.
  offer_connection();
  auto rc = spawn_stand_in();
  CAF_CHECK(stand_in_state(rc).remote == nullptr);
  auto err = ask_mars<std::string>(rc, atom::start::value, std::string{});
  CAF_REQUIRE(!err);
  CAF_CHECK_EQUAL(code_of(err.error()), ec::unavailable);
  auto text = error_text(err.error());
  CAF_MESSAGE("stand-in: " << text);
  CAF_CHECK(contains(text, "another sheetsync message vocabulary"));
  CAF_CHECK(contains(text, vocabulary_id()));
  CAF_CHECK(contains(text, "earth:4242"));
  CAF_CHECK(pipelines->empty());
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- the vocabulary alone -------------------------------------------------------

// Actor handles that cross nodes need a registered name from the vocabulary
// itself (messages/actors.hpp), not from each command.
CAF_TEST(the vocabulary alone registers every type a subscribe carries) {
  sheetsync::system_config cfg;
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  // Without a name, BASP logs "cannot serialize message because a type was
  // not added to the types list" and the subscribe arrives empty.
  CAF_CHECK_EQUAL(sys.types().portable_name(0, &typeid(status_listener_actor)),
                  "sheetsync::status_listener_actor");
}
