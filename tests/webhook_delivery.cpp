// Webhooks: the Standard Webhooks signature against the specification's own
// example, the secret's checks, the retry schedule as a pure function and on
// the test clock (a failing receiver gets exactly the scheduled attempts,
// with one webhook-id, then the delivery fails), one event per sync, the
// bound on pending deliveries, resuming stored deliveries, and the
// deliveries table on a real SQLite file.

#define CAF_SUITE webhook_delivery
// caf/test/dsl.hpp 0.17.6 uses FAIL in request<T>() without defining it.
#define FAIL(msg) CAF_FAIL(msg)

#include <caf/test/dsl.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "actors/webhook_sender.hpp"
#include "cli/config_file.hpp"
#include "cli/webhook_options.hpp"
#include "messages/error.hpp"
#include "messages/system_config.hpp"
#include "net/status_json.hpp"
#include "net/webhook_json.hpp"
#include "net/webhook_signature.hpp"
#include "store/webhook_deliveries.hpp"
#include "tests/answer_of.hpp"
#include "tests/store_fixture.hpp"

using namespace std::chrono_literals;
using namespace sheetsync;

namespace {

using strings = std::vector<std::string>;

/// One attempt as the receiver saw it.
struct attempt {
  /// Seconds since the test's start on the actor clock.
  int64_t at_s = 0;
  std::string url;
  std::string id;
  std::string timestamp;
  std::string signature;
  std::string content_type;
  std::string body;
};

/// What the fake poster answers (the last entry repeats) and what it saw.
struct receiver_script {
  caf::actor_clock::time_point t0;
  /// HTTP statuses to answer in order; 0 = no answer (a connection failure).
  std::vector<uint16_t> answers{200};
  std::vector<attempt> attempts;
};

using script_ptr = std::shared_ptr<receiver_script>;

struct fake_poster_state {
  static inline const char* name = "fake_poster";
};

std::string header_value(const strings& headers, const std::string& name) {
  for (auto& h : headers)
    if (h.compare(0, name.size() + 2, name + ": ") == 0)
      return h.substr(name.size() + 2);
  return {};
}

webhook_poster_actor::behavior_type
fake_poster(webhook_poster_actor::stateful_pointer<fake_poster_state> self,
            script_ptr sc) {
  return {
    [=](atom::post, const std::string& url, const strings& headers,
        const std::string& body) -> std::tuple<uint16_t, std::string> {
      attempt a;
      a.at_s = std::chrono::duration_cast<std::chrono::seconds>(
                 self->clock().now() - sc->t0)
                 .count();
      a.url = url;
      a.id = header_value(headers, "webhook-id");
      a.timestamp = header_value(headers, "webhook-timestamp");
      a.signature = header_value(headers, "webhook-signature");
      a.content_type = header_value(headers, "Content-Type");
      a.body = body;
      auto n = sc->attempts.size();
      sc->attempts.push_back(std::move(a));
      auto status = sc->answers[std::min(n, sc->answers.size() - 1)];
      if (status == 0)
        return {uint16_t{0}, "Failed to connect to receiver: refused"};
      if (status >= 200 && status < 300)
        return {status, ""};
      return {status, "HTTP " + std::to_string(status)};
    },
  };
}

/// What the fake store was sent, and what it answers at start-up.
struct store_script {
  std::vector<webhook_delivery> stored;
  std::vector<webhook_delivery> puts;
};

using store_ptr = std::shared_ptr<store_script>;

struct fake_store_state {
  static inline const char* name = "fake_store";
};

webhook_store_actor::behavior_type
fake_store(webhook_store_actor::stateful_pointer<fake_store_state>,
           store_ptr st) {
  return {
    [=](caf::put_atom, const webhook_delivery& x) { st->puts.push_back(x); },
    [=](caf::get_atom, atom::webhooks,
        uint64_t) -> std::vector<webhook_delivery> { return st->stored; },
  };
}

/// 32 bytes, base64: a valid secret for the tests.
const std::string test_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// 2026-12-04T00:00:00Z in Unix milliseconds.
constexpr int64_t wall0_ms = 1796342400000;

sync_status final_status(std::string id, std::string source, sync_state state) {
  sync_status st;
  st.id = std::move(id);
  st.source = std::move(source);
  st.state = state;
  st.progress = state == sync_state::complete ? 100 : 40;
  st.message = "done";
  st.started_ms = wall0_ms - 2000;
  st.updated_ms = wall0_ms;
  st.finished_ms = wall0_ms;
  st.rows = 3;
  return st;
}

struct fixture : test_coordinator_fixture<sheetsync::system_config> {
  script_ptr sc = std::make_shared<receiver_script>();
  store_ptr st = std::make_shared<store_script>();
  webhook_sender_actor sender;
  std::vector<webhook_poster_actor> posters;
  webhook_store_actor store;
  std::string key;

  fixture() {
    sc->t0 = sched.clock().now();
    CAF_REQUIRE_EQUAL(parse_webhook_secret(test_secret, key), "");
  }

  ~fixture() override {
    for (auto& p : posters)
      caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    if (sender)
      caf::anon_send_exit(sender, caf::exit_reason::user_shutdown);
    if (store)
      caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    sched.run();
  }

  webhook_options options(std::vector<webhook_endpoint> eps) {
    webhook_options opts;
    opts.endpoints = std::move(eps);
    opts.key = key;
    auto t0 = sc->t0;
    auto* clock = &sched.clock();
    // Wall time follows the test clock, so webhook-timestamp is checkable.
    opts.wall_clock_ms = [=] {
      return wall0_ms
             + std::chrono::duration_cast<std::chrono::milliseconds>(
                 clock->now() - t0)
                 .count();
    };
    return opts;
  }

  void start(webhook_options opts, size_t n_posters = 1, bool with_store = false) {
    for (size_t i = 0; i < n_posters; ++i)
      posters.push_back(sys.spawn(fake_poster, sc));
    if (with_store)
      store = sys.spawn(fake_store, st);
    sender = sys.spawn(webhook_sender, std::move(opts), coordinator_api{},
                       posters, store);
    sched.run();
  }

  void tell(const sync_status& status) {
    caf::anon_send(sender, status);
    sched.run();
  }

  /// Advances the clock, fires the timers due and runs every actor.
  void advance(caf::timespan d) {
    sched.clock().advance_time(d);
    sched.run();
  }

  webhook_sender_state& state() {
    return deref<webhook_sender_actor::stateful_base<webhook_sender_state>>(
             sender)
      .state;
  }

  std::vector<webhook_delivery> listed(uint64_t limit = 50) {
    auto answer = self->request(sender, caf::infinite, caf::get_atom_v,
                                atom::webhooks_v, limit);
    sched.run();
    auto xs = sheetsync::test::answer_of<std::vector<webhook_delivery>>(
      self, answer, "the sender did not list its deliveries");
    if (!xs)
      CAF_FAIL("list failed: " << to_string(xs.error()));
    return std::move(*xs);
  }

  std::vector<int64_t> attempt_times() {
    std::vector<int64_t> out;
    for (auto& a : sc->attempts)
      out.push_back(a.at_s);
    return out;
  }
};

} // namespace

// -- pure parts ---------------------------------------------------------------

CAF_TEST(the signature matches the Standard Webhooks example) {
  std::string k;
  CAF_REQUIRE_EQUAL(parse_webhook_secret(test_secret, k), "");
  CAF_CHECK_EQUAL(webhook_signature(k, "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                    1614265330, R"({"test": 2432232314})"),
                  "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

CAF_TEST(base64 round trips and refuses what is not base64) {
  std::string out;
  for (std::string x : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    CAF_CHECK(base64_decode(base64_encode(x), out));
    CAF_CHECK_EQUAL(out, x);
  }
  CAF_CHECK_EQUAL(base64_encode("foobar"), "Zm9vYmFy");
  CAF_CHECK_EQUAL(base64_encode("fo"), "Zm8=");
  CAF_CHECK(base64_decode("Zm8", out)); // padding optional
  CAF_CHECK_EQUAL(out, "fo");
  CAF_CHECK(!base64_decode("Zm9v!", out));
  CAF_CHECK(!base64_decode("Z", out));
  CAF_CHECK(!base64_decode("Zm9=", out)); // non-zero padding bits
  CAF_CHECK(!base64_decode("Zm8===", out));
}

CAF_TEST(a bad secret is refused without being repeated) {
  std::string k;
  for (std::string bad : {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                          "whsec_not*base64*at*all*secretpart",
                          "whsec_c2hvcnQ=" /* 5 bytes */}) {
    auto msg = parse_webhook_secret(bad, k);
    CAF_CHECK_NOT_EQUAL(msg, "");
    CAF_CHECK_EQUAL(k, "");
    auto body = bad.substr(bad.find('_') + 1);
    CAF_CHECK_EQUAL(msg.find(body), std::string::npos);
  }
}

CAF_TEST(the retry schedule is 5 s 30 s 2 min 10 min 30 min then none) {
  auto b = default_webhook_backoff();
  CAF_CHECK(webhook_retry_delay(1, b) == caf::timespan{5s});
  CAF_CHECK(webhook_retry_delay(2, b) == caf::timespan{30s});
  CAF_CHECK(webhook_retry_delay(3, b) == caf::timespan{2min});
  CAF_CHECK(webhook_retry_delay(4, b) == caf::timespan{10min});
  CAF_CHECK(webhook_retry_delay(5, b) == caf::timespan{30min});
  CAF_CHECK(!webhook_retry_delay(6, b));
  CAF_CHECK(!webhook_retry_delay(0, b));
  std::vector<caf::timespan> parsed;
  CAF_CHECK_EQUAL(parse_webhook_backoff("1s,250ms,2min,1h", parsed), "");
  CAF_CHECK(parsed == (std::vector<caf::timespan>{1s, 250ms, 2min, 1h}));
  CAF_CHECK_NOT_EQUAL(parse_webhook_backoff("1s,,2s", parsed), "");
  CAF_CHECK_NOT_EQUAL(parse_webhook_backoff("5 s", parsed), "");
  CAF_CHECK_NOT_EQUAL(parse_webhook_backoff("5d", parsed), "");
}

CAF_TEST(the config file lists receivers with their events and sources) {
  config_node root;
  CAF_REQUIRE_EQUAL(
    parse_config_text("[sheetsync]\n"
                      "webhooks = [{ url = \"https://a.example/in\", events = "
                      "[\"sync.failed\"], sources = [\"sales\", \"crm\"] },\n"
                      "  { url = \"http://b.example/all\" }]\n",
                      "t.conf", root),
    "");
  std::vector<webhook_endpoint> eps;
  CAF_REQUIRE_EQUAL(read_webhook_config(root, "t.conf", eps), "");
  CAF_REQUIRE_EQUAL(eps.size(), 2u);
  CAF_CHECK_EQUAL(eps[0].url, "https://a.example/in");
  CAF_CHECK_EQUAL(eps[0].events, strings{"sync.failed"});
  CAF_CHECK_EQUAL(eps[0].sources, (strings{"sales", "crm"}));
  CAF_CHECK_EQUAL(eps[1].url, "http://b.example/all");
  CAF_CHECK(eps[1].events.empty());
  CAF_CHECK(eps[1].sources.empty());
  auto refused = [](const std::string& text) {
    config_node root;
    std::vector<webhook_endpoint> eps;
    auto msg = parse_config_text("[sheetsync]\nwebhooks = " + text + "\n",
                                 "t.conf", root);
    return msg.empty() ? read_webhook_config(root, "t.conf", eps) : msg;
  };
  CAF_CHECK_NOT_EQUAL(refused(R"([{ url = "ftp://x.example/" }])"), "");
  CAF_CHECK_NOT_EQUAL(refused(R"([{ events = ["sync.completed"] }])"), "");
  CAF_CHECK_NOT_EQUAL(refused(R"([{ url = "http://x.example/", events = ["sync.done"] }])"),
                      "");
  CAF_CHECK_NOT_EQUAL(refused(R"([{ url = "http://x.example/", secret = "x" }])"), "");
  CAF_CHECK_NOT_EQUAL(refused(R"("http://x.example/")"), "");
  auto msg = refused(R"([{ url = "https://x.example/?key=hidden123" , events = 3 }])");
  CAF_CHECK_NOT_EQUAL(msg, "");
  CAF_CHECK_EQUAL(msg.find("hidden123"), std::string::npos);
  CAF_CHECK_EQUAL(check_webhook_url("https://x.example/?key=hidden123"), "");
  CAF_CHECK_NOT_EQUAL(check_webhook_url("https:///path"), "");
}

CAF_TEST(the body carries the status exactly as the API renders it) {
  auto status = final_status("sync-1", "sales", sync_state::complete);
  auto body = webhook_body("sync.completed", wall0_ms, status);
  CAF_CHECK_EQUAL(body, R"({"type":"sync.completed","timestamp":")"
                          + iso8601(wall0_ms) + R"(","data":)"
                          + to_json(status) + "}");
  CAF_CHECK_EQUAL(std::string{webhook_event_of(sync_state::error)},
                  "sync.failed");
  CAF_CHECK_EQUAL(std::string{webhook_event_of(sync_state::cancelled)},
                  "sync.cancelled");
  CAF_CHECK_EQUAL(std::string{webhook_event_of(sync_state::saving)}, "");
}

CAF_TEST(the deliveries list redacts URLs and says null where nothing is known) {
  webhook_delivery d;
  d.id = "msg_1";
  d.event = "sync.failed";
  d.url = "https://user:pw@hooks.example.com/in?token=s3cret";
  d.source = "sales";
  d.sync_id = "sync-1";
  d.created_ms = wall0_ms;
  d.next_attempt_ms = wall0_ms;
  auto json = deliveries_json({d});
  CAF_CHECK_EQUAL(json.find("s3cret"), std::string::npos);
  CAF_CHECK_EQUAL(json.find("pw@"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(json.find(R"("lastStatus":null,"lastError":null)"),
                      std::string::npos);
  CAF_CHECK_NOT_EQUAL(json.find(R"("state":"pending")"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(json.find(R"("nextAttemptAt":")" + iso8601(wall0_ms)),
                      std::string::npos);
}

CAF_TEST(the deliveries table keeps pending rows and the newest finished) {
  auto dir = sheetsync::test::make_temp_dir("webhooks");
  failure err;
  auto db = database::open(dir + "/cache.db", err);
  CAF_REQUIRE(db != nullptr);
  webhook_deliveries table{db};
  REQUIRE_OK(table.create(err));
  for (int i = 0; i < 5; ++i) {
    webhook_delivery d;
    d.id = "msg_" + std::to_string(i);
    d.event = "sync.completed";
    d.url = "http://127.0.0.1:1/hook";
    d.source = "sales";
    d.sync_id = "sync-" + std::to_string(i);
    d.body = "{\"n\":" + std::to_string(i) + "}";
    d.created_ms = wall0_ms + i;
    d.next_attempt_ms = wall0_ms + i;
    // msg_0 stays pending; the others finish.
    if (i > 0) {
      d.attempts = 1;
      d.state = i % 2 ? webhook_state::delivered : webhook_state::failed;
      d.last_status = i % 2 ? 204 : 500;
      d.last_error = i % 2 ? "" : "HTTP 500";
      d.next_attempt_ms = 0;
    }
    REQUIRE_OK(table.put(d, err));
  }
  // An update keeps the row (by id) and its body.
  webhook_delivery again;
  again.id = "msg_0";
  again.attempts = 2;
  again.last_status = 503;
  again.last_error = "HTTP 503";
  again.next_attempt_ms = wall0_ms + 5000;
  again.created_ms = 1; // ignored: the row keeps its creation
  REQUIRE_OK(table.put(again, err));
  REQUIRE_OK(table.prune(2, err));
  std::vector<webhook_delivery> rows;
  REQUIRE_OK(table.load(100, rows, err));
  strings ids;
  for (auto& r : rows)
    ids.push_back(r.id);
  // Newest first: the two newest finished, and the pending one.
  CAF_CHECK_EQUAL(ids, (strings{"msg_4", "msg_3", "msg_0"}));
  CAF_REQUIRE_EQUAL(rows.size(), 3u);
  CAF_CHECK_EQUAL(rows[2].attempts, 2u);
  CAF_CHECK_EQUAL(rows[2].body, "{\"n\":0}");
  CAF_CHECK_EQUAL(rows[2].created_ms, wall0_ms);
  CAF_CHECK_EQUAL(rows[2].last_status, 503u);
  CAF_CHECK(rows[2].state == webhook_state::pending);
  CAF_CHECK(rows[1].state == webhook_state::delivered);
  CAF_CHECK(rows[0].state == webhook_state::failed);
  REQUIRE_OK(table.load(1, rows, err));
  CAF_CHECK_EQUAL(rows.size(), 2u);
  // The name is reserved: no source's table can take it.
  CAF_CHECK(!database::valid_table_name("Webhook_Deliveries"));
  db.reset();
  std::filesystem::remove_all(dir);
}

// -- the sender on the test clock ---------------------------------------------

CAF_TEST_FIXTURE_SCOPE(webhook_sender_tests, fixture)

CAF_TEST(a failing receiver gets exactly the scheduled attempts then the
           delivery fails) {
  sc->answers = {500};
  start(options({{"http://127.0.0.1:9/hook", {}, {}}}));
  tell(final_status("sync-1", "sales", sync_state::complete));
  CAF_CHECK_EQUAL(attempt_times(), (std::vector<int64_t>{0}));
  // Nothing before each delay is over, the attempt right when it is.
  advance(4s);
  CAF_CHECK_EQUAL(attempt_times().size(), 1u);
  advance(1s);
  CAF_CHECK_EQUAL(attempt_times(), (std::vector<int64_t>{0, 5}));
  advance(29s);
  CAF_CHECK_EQUAL(attempt_times().size(), 2u);
  advance(1s);
  advance(2min);
  advance(10min);
  advance(30min);
  CAF_CHECK_EQUAL(attempt_times(),
                  (std::vector<int64_t>{0, 5, 35, 155, 755, 2555}));
  advance(24h);
  CAF_CHECK_EQUAL(attempt_times().size(), 6u);
  // One webhook-id on every attempt; each signature verifies with its own
  // timestamp, which follows the wall clock.
  for (auto& a : sc->attempts) {
    CAF_CHECK_EQUAL(a.id, sc->attempts.front().id);
    CAF_CHECK_EQUAL(a.body, sc->attempts.front().body);
    CAF_CHECK_EQUAL(a.content_type, "application/json");
    CAF_CHECK_EQUAL(a.timestamp, std::to_string(wall0_ms / 1000 + a.at_s));
    CAF_CHECK_EQUAL(a.signature,
                    webhook_signature(key, a.id, std::stoll(a.timestamp), a.body));
  }
  CAF_CHECK_EQUAL(sc->attempts.front().id.compare(0, 4, "msg_"), 0);
  auto xs = listed();
  CAF_REQUIRE_EQUAL(xs.size(), 1u);
  CAF_CHECK(xs[0].state == webhook_state::failed);
  CAF_CHECK_EQUAL(xs[0].attempts, 6u);
  CAF_CHECK_EQUAL(xs[0].last_status, 500u);
  CAF_CHECK_EQUAL(xs[0].last_error, "HTTP 500");
  CAF_CHECK_EQUAL(xs[0].next_attempt_ms, 0);
  CAF_CHECK_EQUAL(state().retried, 5u);
  CAF_CHECK_EQUAL(state().failed, 1u);
  CAF_CHECK_EQUAL(state().delivered, 0u);
}

CAF_TEST(a 500 then a 2xx is delivered on the second attempt with the same id) {
  sc->answers = {500, 0, 204};
  start(options({{"http://127.0.0.1:9/hook", {}, {}}}));
  tell(final_status("sync-1", "sales", sync_state::error));
  auto xs = listed();
  CAF_REQUIRE_EQUAL(xs.size(), 1u);
  CAF_CHECK(xs[0].state == webhook_state::pending);
  CAF_CHECK_EQUAL(xs[0].next_attempt_ms, wall0_ms + 5000);
  CAF_CHECK_EQUAL(xs[0].event, "sync.failed");
  advance(5s);
  // No answer at all: no status, the connection's error.
  xs = listed();
  CAF_CHECK_EQUAL(xs[0].last_status, 0u);
  CAF_CHECK_NOT_EQUAL(xs[0].last_error, "");
  advance(30s);
  CAF_CHECK_EQUAL(attempt_times(), (std::vector<int64_t>{0, 5, 35}));
  xs = listed();
  CAF_CHECK(xs[0].state == webhook_state::delivered);
  CAF_CHECK_EQUAL(xs[0].attempts, 3u);
  CAF_CHECK_EQUAL(xs[0].last_status, 204u);
  CAF_CHECK_EQUAL(xs[0].last_error, "");
  CAF_CHECK_EQUAL(sc->attempts[2].id, sc->attempts[0].id);
  advance(1h);
  CAF_CHECK_EQUAL(sc->attempts.size(), 3u);
  CAF_CHECK_EQUAL(state().delivered, 1u);
  CAF_CHECK_EQUAL(state().retried, 2u);
}

CAF_TEST(one event per sync and matching receivers only) {
  start(options({{"http://a.example/all", {}, {}},
                 {"http://b.example/failures", {"sync.failed"}, {}},
                 {"http://c.example/sales", {}, {"sales"}}}));
  auto running = final_status("sync-1", "sales", sync_state::saving);
  running.finished_ms = 0;
  tell(running);
  CAF_CHECK_EQUAL(sc->attempts.size(), 0u);
  tell(final_status("sync-1", "sales", sync_state::complete));
  // The same final status again (a cancel's answer, a snapshot): no event.
  tell(final_status("sync-1", "sales", sync_state::complete));
  tell(final_status("sync-2", "crm", sync_state::error));
  strings urls;
  for (auto& a : sc->attempts)
    urls.push_back(a.url + " " + a.body.substr(9, a.body.find('"', 9) - 9));
  CAF_CHECK_EQUAL(urls, (strings{"http://a.example/all sync.completed",
                                 "http://c.example/sales sync.completed",
                                 "http://a.example/all sync.failed",
                                 "http://b.example/failures sync.failed"}));
  // Newest first.
  auto xs = listed();
  CAF_REQUIRE_EQUAL(xs.size(), 4u);
  CAF_CHECK_EQUAL(xs[0].sync_id, "sync-2");
  CAF_CHECK_EQUAL(xs[3].sync_id, "sync-1");
  CAF_CHECK_EQUAL(listed(2).size(), 2u);
  // The list shows outcomes, not bodies.
  CAF_CHECK_EQUAL(xs[0].body, "");
}

CAF_TEST(pending deliveries are bounded: the oldest is dropped as failed) {
  auto opts = options({{"http://127.0.0.1:9/hook", {}, {}}});
  opts.max_pending = 3;
  opts.keep_finished = 2;
  // No poster: nothing is ever attempted, as with a receiver that hangs.
  start(std::move(opts), 0);
  for (int i = 1; i <= 10; ++i)
    tell(final_status("sync-" + std::to_string(i), "sales",
                      sync_state::complete));
  CAF_CHECK_EQUAL(state().pending(), 3u);
  CAF_CHECK_EQUAL(state().deliveries.size(), 5u);
  CAF_CHECK_EQUAL(state().failed, 7u);
  auto xs = listed();
  CAF_REQUIRE_EQUAL(xs.size(), 5u);
  CAF_CHECK_EQUAL(xs[0].sync_id, "sync-10");
  CAF_CHECK(xs[2].state == webhook_state::pending);
  CAF_CHECK(xs[3].state == webhook_state::failed);
  CAF_CHECK_EQUAL(xs[3].sync_id, "sync-7");
  CAF_CHECK_NOT_EQUAL(xs[3].last_error.find("dropped"), std::string::npos);
  // Nor do the ids waiting for a poster pile up.
  CAF_CHECK_EQUAL(state().due.size(), 3u);
}

CAF_TEST(stored pending deliveries resume at their next attempt time) {
  webhook_delivery old;
  old.id = "msg_stored";
  old.event = "sync.completed";
  old.url = "http://127.0.0.1:9/hook";
  old.source = "sales";
  old.sync_id = "sync-0";
  old.body = R"({"type":"sync.completed"})";
  old.attempts = 1;
  old.last_status = 500;
  old.last_error = "HTTP 500";
  old.created_ms = wall0_ms - 60000;
  old.next_attempt_ms = wall0_ms + 20000;
  webhook_delivery done = old;
  done.id = "msg_done";
  done.sync_id = "sync-00";
  done.state = webhook_state::delivered;
  done.created_ms = wall0_ms - 90000;
  done.next_attempt_ms = 0;
  st->stored = {old, done};
  start(options({{"http://127.0.0.1:9/hook", {}, {}}}), 1, true);
  CAF_CHECK_EQUAL(sc->attempts.size(), 0u);
  advance(19s);
  CAF_CHECK_EQUAL(sc->attempts.size(), 0u);
  advance(1s);
  CAF_REQUIRE_EQUAL(sc->attempts.size(), 1u);
  CAF_CHECK_EQUAL(sc->attempts[0].id, "msg_stored");
  CAF_CHECK_EQUAL(sc->attempts[0].body, old.body);
  auto xs = listed();
  CAF_REQUIRE_EQUAL(xs.size(), 2u);
  CAF_CHECK_EQUAL(xs[0].id, "msg_stored");
  CAF_CHECK(xs[0].state == webhook_state::delivered);
  CAF_CHECK_EQUAL(xs[0].attempts, 2u);
  CAF_CHECK_EQUAL(xs[1].id, "msg_done");
  // The store heard the outcome.
  CAF_REQUIRE(!st->puts.empty());
  CAF_CHECK_EQUAL(st->puts.back().id, "msg_stored");
  CAF_CHECK(st->puts.back().state == webhook_state::delivered);
  // A new event is stored before its first attempt.
  tell(final_status("sync-9", "sales", sync_state::cancelled));
  CAF_REQUIRE(st->puts.size() >= 3u);
  CAF_CHECK_EQUAL(st->puts[st->puts.size() - 2].attempts, 0u);
  CAF_CHECK_EQUAL(st->puts[st->puts.size() - 2].event, "sync.cancelled");
}

CAF_TEST_FIXTURE_SCOPE_END()
