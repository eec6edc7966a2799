// Deterministic tests of sources at run time in the coordinator: add, get,
// update and delete, fixed sources, the store answering before the client
// does, the scheduler following changes, and a delete that cancels a running
// sync and keeps its history.

#define CAF_SUITE source_slots
// caf/test/dsl.hpp 0.17.6 uses FAIL in request<T>() without defining it.
#define FAIL(msg) CAF_FAIL(msg)

#include <caf/test/dsl.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "actors/coordinator.hpp"
#include "messages/error.hpp"
#include "messages/system_config.hpp"
#include "tests/answer_of.hpp"
#include "tests/fake_stages.hpp"

using namespace std::chrono_literals;
using namespace sheetsync;
using namespace sheetsync::test;

namespace {

using strings = std::vector<std::string>;

const std::string sheet_id = "1aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdef";

/// What the fake store was asked, and how it answers.
struct store_log {
  /// "put NAME" / "delete NAME", in order.
  strings calls;
  /// The specs stored, as given.
  std::vector<source_spec> stored;
  /// Answer with this error instead of ok.
  caf::error fail;
  /// Hold the answers until the test releases them.
  bool hold = false;
  std::vector<caf::typed_response_promise<caf::ok_atom>> held;
};

using release_atom = caf::atom_constant<caf::atom("release")>;

/// The store's interface, plus: answer the held requests.
using fake_store_actor
  = source_store_actor::extend<caf::reacts_to<release_atom>>;

fake_store_actor::behavior_type fake_store(fake_store_actor::pointer self,
                                           std::shared_ptr<store_log> log) {
  auto answer = [=]() -> caf::result<caf::ok_atom> {
    if (log->fail)
      return log->fail;
    if (log->hold) {
      auto rp = self->make_response_promise<caf::ok_atom>();
      log->held.push_back(rp);
      return rp;
    }
    return caf::ok_atom::value;
  };
  return {
    [=](caf::put_atom, const source_spec& spec) -> caf::result<caf::ok_atom> {
      log->calls.push_back("put " + spec.name);
      log->stored.push_back(spec);
      return answer();
    },
    [=](caf::delete_atom, const std::string& name) -> caf::result<caf::ok_atom> {
      log->calls.push_back("delete " + name);
      return answer();
    },
    [=](release_atom) {
      for (auto& rp : log->held)
        rp.deliver(caf::ok_atom::value);
      log->held.clear();
    },
  };
}

/// What the fake credentials loaders were asked, and how they answer.
/// The loader's interface, plus: answer the held requests.
using fake_loader_actor
  = credentials_loader_actor::extend<caf::reacts_to<release_atom>>;

struct loader_log {
  /// The file of each loader spawned, in order.
  strings paths;
  /// Answer ec::bad_credentials with this text instead of a provider.
  std::string fail;
  /// Hold the answers until the test delivers them.
  bool hold = false;
  std::vector<caf::typed_response_promise<token_provider_actor, std::string>>
    held;
  /// What the loaders answer.
  token_provider_actor provider;
  /// The loaders spawned (to release their held answers).
  std::vector<fake_loader_actor> spawned;
  /// The e-mail answered.
  std::string email = "sa@project.iam.gserviceaccount.com";
};

fake_loader_actor::behavior_type
fake_loader(fake_loader_actor::pointer self, std::shared_ptr<loader_log> log) {
  return {
    [=](caf::get_atom, atom::token)
      -> caf::result<token_provider_actor, std::string> {
      if (!log->fail.empty())
        return make_error(ec::bad_credentials, log->fail);
      if (log->hold) {
        auto rp = self->make_response_promise<token_provider_actor,
                                              std::string>();
        log->held.push_back(rp);
        return rp;
      }
      return caf::result<token_provider_actor, std::string>{log->provider,
                                                           log->email};
    },
    [=](release_atom) {
      for (auto& rp : log->held)
        rp.deliver(log->provider, log->email);
      log->held.clear();
    },
  };
}

token_provider_actor::behavior_type fake_provider() {
  return {
    [](caf::get_atom, atom::token) { return std::string{"access-token"}; },
  };
}

source_spec csv_source(const std::string& name) {
  source_spec x;
  x.name = name;
  x.location = "https://sheets.example/" + name + ".csv";
  return x;
}

source_spec sheet_source(const std::string& name) {
  source_spec x;
  x.name = name;
  x.location = sheet_id;
  return x;
}

struct fixture : test_coordinator_fixture<sheetsync::system_config> {
  std::shared_ptr<std::vector<fake_pipeline_ptr>> pipelines
    = std::make_shared<std::vector<fake_pipeline_ptr>>();
  std::shared_ptr<store_log> stored = std::make_shared<store_log>();
  std::shared_ptr<recorded_map> recorded = std::make_shared<recorded_map>();
  std::shared_ptr<loader_log> loaders = std::make_shared<loader_log>();
  coordinator_actor coord;
  fake_store_actor store;
  history_actor history;

  /// Spawns the coordinator with the fixed sources "sheet" (the --source
  /// flag) and "other", the stored ones in `stored_sources`, the scheduler,
  /// and `defaults` for run-time sources.
  void spawn(std::vector<source_spec> stored_sources = {},
             source_defaults defaults = {}, size_t max_parallel = 2,
             size_t max_runtime_sources = 1000) {
    coordinator_config conf;
    conf.max_runtime_sources = max_runtime_sources;
    conf.sources = {csv_source("sheet"), csv_source("other")};
    conf.defined_in["sheet"] = "the --source flag";
    conf.defined_in["other"] = "the --source flag";
    conf.stored_sources = std::move(stored_sources);
    conf.defaults = std::move(defaults);
    conf.max_parallel = max_parallel;
    conf.jitter = [] { return caf::timespan{0}; };
    conf.db_path = "/nonexistent/cache.db"; // the fakes never open it
    conf.cooldown = 3s;
    conf.make_pipeline = make_fake_pipelines(pipelines);
    conf.wall_clock_ms = [] { return int64_t{1'700'000'000'000}; };
    store = sys.spawn(fake_store, stored);
    conf.store = caf::actor_cast<source_store_actor>(store);
    history = sys.spawn(fake_history, recorded);
    conf.history = history;
    conf.run_scheduler = true;
    loaders->provider = sys.spawn(fake_provider);
    conf.spawn_credentials_loader = [log = loaders](caf::local_actor* self,
                                                    const std::string& path) {
      log->paths.push_back(path);
      log->spawned.push_back(self->spawn(fake_loader, log));
      return caf::actor_cast<credentials_loader_actor>(log->spawned.back());
    };
    coord = sys.spawn(coordinator, std::move(conf));
    sched.run();
  }

  ~fixture() override {
    stop_stages(*pipelines);
    caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(history, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(loaders->provider, caf::exit_reason::user_shutdown);
    for (auto& x : loaders->spawned)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    sched.run();
  }

  template <class T, class... Ts>
  caf::expected<T> ask(Ts... xs) {
    auto answer = self->request(coord, caf::infinite, std::move(xs)...);
    sched.run();
    return answer_of<T>(self, answer, "the coordinator did not answer");
  }

  caf::expected<source_info> add(const source_spec& x) {
    return ask<source_info>(caf::put_atom::value, atom::sources::value, x);
  }

  caf::expected<source_info> update(const source_spec& x, strings fields) {
    return ask<source_info>(atom::update::value, x, std::move(fields));
  }

  caf::expected<caf::ok_atom> remove(const std::string& name) {
    return ask<caf::ok_atom>(caf::delete_atom::value, atom::sources::value,
                             name);
  }

  caf::expected<source_info> get(const std::string& name) {
    return ask<source_info>(caf::get_atom::value, atom::sources::value, name);
  }

  strings names() {
    strings result;
    auto xs = ask<std::vector<source_info>>(caf::get_atom::value,
                                            atom::sources::value);
    if (!xs)
      CAF_FAIL("listing failed: " << error_text(error_of(xs)));
    for (auto& x : *xs)
      result.push_back(x.name);
    return result;
  }

  caf::expected<std::string> start(const std::string& source) {
    return ask<std::string>(atom::start::value, source);
  }

  sync_status status(const std::string& id) {
    auto st = ask<sync_status>(atom::status::value, id);
    if (!st)
      CAF_FAIL("status failed: " << error_text(error_of(st)));
    return *st;
  }

  /// The sources whose syncs were started (one pipeline each), in order.
  strings synced() {
    strings result;
    for (auto& p : *pipelines)
      result.push_back(p->job.source);
    return result;
  }

  /// Cancels every running or queued sync, so the next start is not busy.
  void complete_all() {
    auto xs = ask<std::vector<source_info>>(caf::get_atom::value,
                                            atom::sources::value);
    CAF_REQUIRE(xs);
    for (auto& x : *xs)
      if (!x.running_id.empty())
        CAF_REQUIRE(ask<sync_status>(atom::cancel::value, x.running_id));
  }

  size_t advance(caf::timespan d) {
    auto fired = sched.clock().advance_time(d);
    sched.run();
    return fired;
  }
};

ec code(const caf::error& err) {
  return code_of(err);
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(source_slots_tests, fixture)

CAF_TEST(an added source is stored first then listed served and synced) {
  spawn();
  stored->hold = true;
  auto answer = self->request(coord, caf::infinite, caf::put_atom::value,
                              atom::sources::value, csv_source("added"));
  sched.run();
  // Not yet stored: not answered, not listed, not startable.
  CAF_CHECK_EQUAL(stored->calls, strings{"put added"});
  CAF_CHECK_EQUAL(names(), (strings{"sheet", "other"}));
  CAF_CHECK_EQUAL(code(error_of(start("added"))), ec::invalid_argument);
  self->send(store, release_atom::value);
  sched.run();
  auto info = answer_of<source_info>(self, answer, "no answer");
  CAF_REQUIRE(info);
  CAF_CHECK_EQUAL(info->name, "added");
  CAF_CHECK(!info->fixed);
  CAF_CHECK_EQUAL(info->defined_in, "");
  CAF_CHECK_EQUAL(info->access, "export");
  CAF_CHECK_EQUAL(names(), (strings{"sheet", "other", "added"}));
  auto one = get("added");
  CAF_REQUIRE(one);
  CAF_CHECK_EQUAL(one->location, info->location);
  auto id = start("added");
  CAF_REQUIRE(id);
  CAF_CHECK_EQUAL(synced(), strings{"added"});
  CAF_CHECK_EQUAL(pipelines->back()->job.url, "https://sheets.example/added.csv");
}

CAF_TEST(fixed sources say where they are defined and refuse changes) {
  spawn();
  auto sheet = get("sheet");
  CAF_REQUIRE(sheet);
  CAF_CHECK(sheet->fixed);
  CAF_CHECK_EQUAL(sheet->defined_in, "the --source flag");
  auto patch = csv_source("sheet");
  patch.interval = 1min;
  auto changed = update(patch, {"interval"});
  CAF_CHECK_EQUAL(code(error_of(changed)), ec::fixed_source);
  CAF_CHECK(contains(error_text(error_of(changed)), "the --source flag"));
  auto removed = remove("sheet");
  CAF_CHECK_EQUAL(code(error_of(removed)), ec::fixed_source);
  CAF_CHECK(contains(error_text(error_of(removed)), "the --source flag"));
  CAF_CHECK_EQUAL(stored->calls, strings{});
  CAF_CHECK_EQUAL(names(), (strings{"sheet", "other"}));
}

CAF_TEST(unknown sources answer unknown_source) {
  spawn();
  CAF_CHECK_EQUAL(code(error_of(get("nope"))), ec::unknown_source);
  CAF_CHECK_EQUAL(code(error_of(update(csv_source("nope"), {"url"}))),
                  ec::unknown_source);
  CAF_CHECK_EQUAL(code(error_of(remove("nope"))), ec::unknown_source);
}

CAF_TEST(adds are checked field by field) {
  spawn();
  auto refused = [&](source_spec x, const std::string& field) {
    auto res = add(x);
    CAF_CHECK_EQUAL(code(error_of(res)), ec::invalid_argument);
    auto text = error_text(error_of(res));
    if (!starts_with(text, field + ":"))
      CAF_FAIL("expected an error naming " << field << ", got: " << text);
  };
  refused(csv_source("a__b"), "name");
  refused(csv_source("sources"), "name");
  refused(csv_source("../etc"), "name");
  auto no_url = csv_source("nourl");
  no_url.location.clear();
  refused(no_url, "url");
  auto local = csv_source("local");
  local.location = "file:///etc/passwd";
  refused(local, "url");
  auto bad_url = csv_source("bad");
  bad_url.location = "not a url";
  refused(bad_url, "url");
  auto tabs = sheet_source("tabs");
  tabs.all_tabs = true;
  refused(tabs, "tabs");
  auto short_interval = csv_source("fast");
  short_interval.interval = 10ms;
  refused(short_interval, "interval");
  // Names are taken ignoring case, fixed ones too.
  CAF_CHECK_EQUAL(code(error_of(add(csv_source("Sheet")))),
                  ec::source_exists);
  CAF_REQUIRE(add(csv_source("added")));
  CAF_CHECK_EQUAL(code(error_of(add(csv_source("added")))), ec::source_exists);
  CAF_CHECK_EQUAL(stored->calls, strings{"put added"});
}

CAF_TEST(a source the store refuses is not added) {
  spawn();
  stored->fail = make_error(ec::cache_busy, "the cache is locked");
  CAF_CHECK_EQUAL(code(error_of(add(csv_source("added")))), ec::cache_busy);
  CAF_CHECK_EQUAL(names(), (strings{"sheet", "other"}));
  stored->fail = caf::error{};
  CAF_CHECK(add(csv_source("added")));
}

CAF_TEST(empty fields take the service settings but are stored as given) {
  source_defaults d;
  d.api_key = "AIza-default";
  spawn({}, d);
  auto info = add(sheet_source("sheet2"));
  CAF_REQUIRE(info);
  CAF_CHECK(info->has_api_key);
  CAF_CHECK_EQUAL(info->access, "api");
  CAF_REQUIRE_EQUAL(stored->stored.size(), 1u);
  CAF_CHECK_EQUAL(stored->stored[0].api_key, "");
  // An API key (from the settings) is API access: tabs are allowed.
  auto tabs = sheet_source("tabbed");
  tabs.tabs = {"North", "South"};
  auto with_tabs = add(tabs);
  CAF_REQUIRE(with_tabs);
  CAF_CHECK_EQUAL(with_tabs->tabs, (strings{"North", "South"}));
  // A CSV URL takes no key.
  auto csv = add(csv_source("csv"));
  CAF_REQUIRE(csv);
  CAF_CHECK(!csv->has_api_key);
}

CAF_TEST(an update changes the listed fields only and is stored) {
  spawn();
  auto x = sheet_source("added");
  x.gid = "7";
  CAF_REQUIRE(add(x));
  source_spec patch;
  patch.name = "added";
  patch.interval = 1h;
  patch.gid = "999"; // not listed: stays 7
  auto info = update(patch, {"interval"});
  CAF_REQUIRE(info);
  CAF_CHECK_EQUAL(info->interval_ms, 3'600'000);
  CAF_CHECK_EQUAL(info->gid, "7");
  CAF_CHECK_EQUAL(stored->calls, (strings{"put added", "put added"}));
  CAF_CHECK_EQUAL(stored->stored.back().gid, "7");
  CAF_CHECK_EQUAL(stored->stored.back().location, sheet_id);
  // A field that is not one.
  CAF_CHECK_EQUAL(code(error_of(update(patch, {"colour"}))),
                  ec::invalid_argument);
  CAF_CHECK_EQUAL(code(error_of(update(patch, {"name"}))),
                  ec::invalid_argument);
  // An update that makes it invalid changes nothing.
  patch.location.clear();
  CAF_CHECK_EQUAL(code(error_of(update(patch, {"url"}))), ec::invalid_argument);
  CAF_CHECK_EQUAL(stored->calls.size(), 2u);
  auto again = get("added");
  CAF_REQUIRE(again);
  CAF_CHECK_EQUAL(again->interval_ms, 3'600'000);
}

CAF_TEST(the scheduler follows added changed and removed sources) {
  spawn();
  auto x = csv_source("timed");
  x.interval = 10s;
  CAF_REQUIRE(add(x));
  advance(9s);
  CAF_CHECK_EQUAL(synced(), strings{});
  advance(1s);
  CAF_CHECK_EQUAL(synced(), strings{"timed"});
  complete_all();
  // Every 20 s from now on (t = 10 s): next at 30 s, not 20 s.
  auto patch = csv_source("timed");
  patch.interval = 20s;
  CAF_REQUIRE(update(patch, {"interval"}));
  advance(10s);
  CAF_CHECK_EQUAL(synced(), strings{"timed"});
  advance(10s);
  CAF_CHECK_EQUAL(synced(), (strings{"timed", "timed"}));
  complete_all();
  CAF_REQUIRE(remove("timed"));
  for (int i = 0; i < 6; ++i)
    advance(10s);
  CAF_CHECK_EQUAL(synced(), (strings{"timed", "timed"}));
}

CAF_TEST(added sources share the parallel limit and the queue) {
  spawn({}, {}, 1);
  CAF_REQUIRE(add(csv_source("added")));
  auto a = start("sheet");
  auto b = start("added");
  CAF_REQUIRE(a);
  CAF_REQUIRE(b);
  CAF_CHECK_EQUAL(synced(), strings{"sheet"});
  auto info = get("added");
  CAF_REQUIRE(info);
  CAF_CHECK(info->queued);
  // A queued sync of a removed source is cancelled and never runs.
  CAF_REQUIRE(remove("added"));
  CAF_CHECK_EQUAL(status(*b).state, sync_state::cancelled);
  CAF_CHECK_EQUAL(stored->calls, (strings{"put added", "delete added"}));
  // The queue applies to added sources too.
  CAF_REQUIRE(add(csv_source("again")));
  CAF_REQUIRE(start("again"));
  CAF_CHECK_EQUAL(code(error_of(start("again"))), ec::busy);
}

CAF_TEST(a delete cancels the running sync then drops the tables) {
  spawn();
  CAF_REQUIRE(add(csv_source("added")));
  auto id = start("added");
  CAF_REQUIRE(id);
  auto& p = *pipelines->back();
  auto answer = self->request(coord, caf::infinite, caf::delete_atom::value,
                              atom::sources::value, std::string{"added"});
  sched.run();
  // The stages were stopped (and are down): only then the tables went.
  CAF_CHECK(p.downloader.down);
  CAF_CHECK(p.writer.down);
  CAF_CHECK_EQUAL(stored->calls, (strings{"put added", "delete added"}));
  auto ok = answer_of<caf::ok_atom>(self, answer, "no answer");
  CAF_CHECK(ok);
  auto st = status(*id);
  CAF_CHECK_EQUAL(st.state, sync_state::cancelled);
  // Its history stays.
  CAF_REQUIRE_EQUAL(recorded->count(*id), 1u);
  CAF_CHECK_EQUAL(recorded->at(*id).state, sync_state::cancelled);
  CAF_CHECK_EQUAL(code(error_of(get("added"))), ec::unknown_source);
  CAF_CHECK_EQUAL(names(), (strings{"sheet", "other"}));
  // The name is free again.
  CAF_CHECK(add(csv_source("added")));
}

CAF_TEST(a delete waits for stages that are slow to stop) {
  spawn();
  CAF_REQUIRE(add(csv_source("added")));
  CAF_REQUIRE(start("added"));
  auto& p = *pipelines->back();
  // Until every stage is down, nothing is dropped.
  auto answer = self->request(coord, caf::infinite, caf::delete_atom::value,
                              atom::sources::value, std::string{"added"});
  // Run all but the writer's exit: the coordinator sent it, deliver it last.
  sched.run_once();
  sched.run_once();
  CAF_CHECK_EQUAL(stored->calls, strings{"put added"});
  sched.run();
  CAF_CHECK(p.writer.down);
  CAF_CHECK_EQUAL(stored->calls, (strings{"put added", "delete added"}));
  CAF_CHECK(answer_of<caf::ok_atom>(self, answer, "no answer"));
}

CAF_TEST(stored sources come back and a fixed one of the same name wins) {
  auto clash = csv_source("Other");
  clash.location = "https://elsewhere.example/x.csv";
  auto timed = csv_source("stored");
  timed.interval = 5s;
  spawn({clash, timed});
  CAF_CHECK_EQUAL(names(), (strings{"sheet", "other", "stored"}));
  auto other = get("other");
  CAF_REQUIRE(other);
  CAF_CHECK(other->fixed);
  auto info = get("stored");
  CAF_REQUIRE(info);
  CAF_CHECK(!info->fixed);
  // Scheduled as it was.
  advance(5s);
  CAF_CHECK_EQUAL(synced(), strings{"stored"});
  // And removable (it is a run-time source).
  CAF_CHECK(remove("stored"));
}

// The coordinator never reads a file itself: a loader does, once per file
// however many sources name it, while the coordinator goes on answering.
CAF_TEST(credentials named at run time are read once and off the coordinator) {
  spawn();
  loaders->hold = true;
  auto keyed = [](const std::string& name) {
    auto x = sheet_source(name);
    x.credentials = "/keys/sa.json";
    return x;
  };
  auto a = self->request(coord, caf::infinite, caf::put_atom::value,
                         atom::sources::value, keyed("a"));
  auto b = self->request(coord, caf::infinite, caf::put_atom::value,
                         atom::sources::value, keyed("b"));
  sched.run();
  CAF_CHECK_EQUAL(loaders->paths, strings{"/keys/sa.json"});
  CAF_CHECK_EQUAL(names(), (strings{"sheet", "other"}));
  CAF_CHECK_EQUAL(stored->calls, strings{});
  CAF_REQUIRE_EQUAL(loaders->held.size(), 1u);
  self->send(loaders->spawned.front(), release_atom::value);
  sched.run();
  auto added_a = answer_of<source_info>(self, a, "a: no answer");
  auto added_b = answer_of<source_info>(self, b, "b: no answer");
  CAF_REQUIRE(added_a);
  CAF_REQUIRE(added_b);
  CAF_CHECK_EQUAL(stored->calls, (strings{"put a", "put b"}));
  // Known now: a third source with that file needs no loader.
  CAF_CHECK(add(keyed("c")));
  CAF_CHECK_EQUAL(loaders->paths.size(), 1u);
  CAF_REQUIRE(start("a"));
  CAF_REQUIRE_EQUAL(pipelines->size(), 1u);
  CAF_CHECK(pipelines->back()->job.plan.needs_token);
  CAF_CHECK_EQUAL(pipelines->back()->job.token, loaders->provider);
  CAF_CHECK_EQUAL(pipelines->back()->job.client_email,
                  "sa@project.iam.gserviceaccount.com");
}

CAF_TEST(a credentials file that cannot be read is named in the answer) {
  spawn();
  loaders->fail = "credentials file /keys/bad.json: no private_key field";
  auto x = sheet_source("bad");
  x.credentials = "/keys/bad.json";
  auto added = add(x);
  CAF_CHECK_EQUAL(code(error_of(added)), ec::invalid_argument);
  CAF_CHECK_EQUAL(error_text(error_of(added)),
                  "credentials: credentials file /keys/bad.json: no "
                  "private_key field");
  CAF_CHECK_EQUAL(names(), (strings{"sheet", "other"}));
  CAF_CHECK_EQUAL(stored->calls, strings{});
  // A failed read is not remembered: the file may be fixed meanwhile.
  loaders->fail.clear();
  CAF_CHECK(add(x));
  CAF_CHECK_EQUAL(loaders->paths,
                  (strings{"/keys/bad.json", "/keys/bad.json"}));
}

CAF_TEST(a stored source syncs once its credentials file is read) {
  auto x = sheet_source("kept");
  x.credentials = "/keys/sa.json";
  loaders->hold = true;
  spawn({x});
  CAF_CHECK_EQUAL(loaders->paths, strings{"/keys/sa.json"});
  auto early = start("kept");
  CAF_CHECK_EQUAL(code(error_of(early)), ec::bad_credentials);
  CAF_CHECK(contains(error_text(error_of(early)), "is being read"));
  CAF_REQUIRE_EQUAL(loaders->held.size(), 1u);
  self->send(loaders->spawned.front(), release_atom::value);
  sched.run();
  CAF_REQUIRE(start("kept"));
  CAF_CHECK_EQUAL(pipelines->back()->job.token, loaders->provider);
}

CAF_TEST(sources added at run time are bounded) {
  spawn({}, {}, 2, 2);
  CAF_REQUIRE(add(csv_source("one")));
  CAF_REQUIRE(add(csv_source("two")));
  auto third = add(csv_source("three"));
  CAF_CHECK_EQUAL(code(error_of(third)), ec::invalid_argument);
  CAF_CHECK(contains(error_text(error_of(third)), "its limit; remove one first"));
  CAF_CHECK_EQUAL(names(), (strings{"sheet", "other", "one", "two"}));
  // Fixed sources do not count; a removed one frees its place.
  CAF_REQUIRE(remove("one"));
  CAF_CHECK(add(csv_source("three")));
}

CAF_TEST_FIXTURE_SCOPE_END()
