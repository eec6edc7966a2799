// The whole pipeline for real: coordinator, detached libcurl downloader,
// parser, detached SQLite writer and history, against the fake server on
// loopback and a real SQLite file.
#define CAF_SUITE sync_pipeline
#include <caf/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <sqlite3.h>

#include "actors/coordinator.hpp"
#include "actors/history.hpp"
#include "actors/pipeline.hpp"
#include "messages/system_config.hpp"
#include "parse/csv_parser.hpp"
#include "store/sheet_store.hpp"
#include "tests/batch_rows.hpp"
#include "tests/check_msg.hpp"
#include "tests/fake_server.hpp"

using namespace sheetsync;
using namespace std::chrono_literals;
using caf::term; // for CHECK_MSG

namespace {

const std::string demo_csv = SHEETSYNC_SOURCE_DIR "/config/demo.csv";

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

/// Schema and every row of a table, as one string: equal dumps mean the
/// table is exactly as it was.
std::string dump(const std::string& db, const std::string& table) {
  sqlite3* conn = nullptr;
  std::string out;
  if (sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr)
      != SQLITE_OK) {
    sqlite3_close(conn);
    return "<cannot open>";
  }
  // A connection that closes checkpoints the WAL under a brief lock.
  sqlite3_busy_timeout(conn, 5000);
  auto run = [&](const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(conn, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      out += "<error: " + std::string{sqlite3_errmsg(conn)} + ">";
      return;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        auto txt = sqlite3_column_text(stmt, i);
        out += txt ? reinterpret_cast<const char*>(txt) : "<null>";
        out += '\x1f';
      }
      out += '\x1e';
    }
    sqlite3_finalize(stmt);
  };
  run("SELECT sql FROM sqlite_master WHERE name = '" + table + "'");
  run("SELECT * FROM \"" + table + "\" ORDER BY _row");
  sqlite3_close(conn);
  return out;
}

/// Rows of a CSV text as the parser sees them (header excluded).
std::vector<std::vector<std::string>> parse_all(const std::string& text) {
  csv_parser p;
  std::vector<std::vector<std::string>> rows;
  CAF_REQUIRE(p.feed(text));
  CAF_REQUIRE(p.finish());
  for (auto& b : p.take_batches())
    test::append_rows(b, rows);
  return rows;
}

struct fixture {
  system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::string dir;
  std::string db;
  coordinator_actor coord;
  history_actor hist;
  /// Every stage the coordinators spawned: stop() waits for them too.
  std::mutex stages_mtx;
  std::vector<caf::actor> stages;

  fixture() {
    char tmpl[] = "/tmp/sheetsync-pipeline-XXXXXX";
    dir = mkdtemp(tmpl);
    db = dir + "/cache.db";
  }

  ~fixture() {
    stop();
    std::string cmd = "rm -rf '" + dir + "'";
    CAF_CHECK_EQUAL(std::system(cmd.c_str()), 0);
  }

  void launch(const std::string& url, caf::timespan fetch_timeout = 10s,
              unsigned max_attempts = 1) {
    stop();
    coordinator_config cc;
    source_spec src;
    src.name = "sheet";
    src.location = url;
    cc.sources.push_back(std::move(src));
    cc.db_path = db;
    cc.cooldown = 0s; // Tests start syncs back to back.
    // One attempt unless a test is about retries: failures end at once.
    cc.max_attempts = max_attempts;
    cc.jitter = [] { return caf::timespan{0}; };
    cc.fetch_timeout = fetch_timeout;
    cc.make_pipeline = [this](caf::local_actor* spawner, const sync_job& job,
                              coordinator_actor coordinator) {
      auto p = make_pipeline(spawner, job, std::move(coordinator));
      std::lock_guard<std::mutex> guard{stages_mtx};
      for (auto& stage : {caf::actor_cast<caf::actor>(p.downloader),
                          caf::actor_cast<caf::actor>(p.parser),
                          caf::actor_cast<caf::actor>(p.writer)})
        stages.push_back(stage);
      return p;
    };
    hist = sys.spawn<caf::detached>(history, db, history_options{});
    cc.history = hist;
    coord = sys.spawn(coordinator, cc);
    self->send(coord, atom::subscribe_v,
               caf::actor_cast<status_listener_actor>(self));
  }

  /// Stops the coordinator, its history and every stage it spawned. A new
  /// coordinator knows nothing of the old one's stages: a detached writer
  /// still terminating holds its table, and the next sync's writer failed
  /// with "another sync is writing it" (seen under load).
  void stop() {
    if (coord) {
      self->send_exit(coord, caf::exit_reason::user_shutdown);
      self->send_exit(hist, caf::exit_reason::user_shutdown);
      self->wait_for(coord, hist);
      coord = nullptr;
      hist = nullptr;
    }
    std::vector<caf::actor> left;
    {
      std::lock_guard<std::mutex> guard{stages_mtx};
      left.swap(stages);
    }
    for (auto& stage : left)
      if (stage) {
        self->send_exit(stage, caf::exit_reason::user_shutdown);
        self->wait_for(stage);
      }
  }

  std::string start() {
    std::string id;
    // The previous sync's stages may still be terminating: retry busy briefly.
    for (int i = 0; i < 100 && id.empty(); ++i) {
      self->request(coord, caf::infinite, atom::start_v, std::string{})
        .receive([&](std::string& x) { id = std::move(x); },
                 [&](caf::error& err) {
                   if (code_of(err) != ec::busy)
                     CAF_FAIL("start failed: " << error_text(err));
                   std::this_thread::sleep_for(20ms);
                 });
    }
    CAF_REQUIRE(!id.empty());
    return id;
  }

  /// Every status of sync `id` until it ends (or 30 s pass).
  std::vector<sync_status> statuses_until_end(const std::string& id,
                                              std::function<void(const sync_status&)> on_status = {}) {
    std::vector<sync_status> seen;
    bool done = false;
    while (!done) {
      self->receive(
        [&](sync_status& st) {
          if (st.id != id)
            return;
          if (on_status)
            on_status(st);
          seen.push_back(st);
          done = finished(st.state);
        },
        caf::after(30s) >> [&] {
          CAF_FAIL("sync " << id << " did not end within 30 s");
        });
    }
    return seen;
  }

  sync_status run_sync() {
    auto id = start();
    return statuses_until_end(id).back();
  }

  sync_record history_of(const std::string& id) {
    // The history got the status before we did; its answer to this request
    // comes after it recorded it.
    self->request(hist, caf::infinite, atom::last_v, std::string{})
      .receive([](const sync_status&) {}, [](caf::error&) {});
    failure err;
    auto store = sheet_store::open(db, err);
    CAF_REQUIRE(store != nullptr);
    auto rec = store->get_run(id);
    CAF_REQUIRE(rec.has_value());
    return *rec;
  }
};

void check_progress(const std::vector<sync_status>& seen) {
  uint8_t last = 0;
  for (auto& st : seen) {
    CAF_CHECK_GREATER_OR_EQUAL(st.progress, last);
    last = st.progress;
    switch (st.state) {
      case sync_state::downloading: CAF_CHECK_LESS(st.progress, 60); break;
      case sync_state::processing:
        CAF_CHECK_GREATER_OR_EQUAL(st.progress, 60);
        CAF_CHECK_LESS(st.progress, 80);
        break;
      case sync_state::saving:
        CAF_CHECK_GREATER_OR_EQUAL(st.progress, 80);
        CAF_CHECK_LESS(st.progress, 100);
        break;
      case sync_state::complete: CAF_CHECK_EQUAL(st.progress, 100); break;
      default: break;
    }
  }
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(sync_pipeline_tests, fixture)

CAF_TEST(a sync saves every row of the sheet) {
  test::fake_server server{{"--csv", demo_csv}};
  launch(server.url("/ok.csv"));
  auto id = start();
  auto seen = statuses_until_end(id);
  auto& last = seen.back();
  CAF_REQUIRE_EQUAL(last.state, sync_state::complete);
  check_progress(seen);
  CAF_CHECK(seen.front().state == sync_state::downloading);
  auto expected = parse_all(read_file(demo_csv));
  CAF_CHECK_EQUAL(last.rows, expected.size());
  CAF_CHECK_EQUAL(last.bytes, read_file(demo_csv).size());
  failure err;
  auto store = sheet_store::open(db, err);
  CAF_REQUIRE(store != nullptr);
  sheet_store::page page;
  CAF_REQUIRE(store->read("sheet", 1000, 0, page, err));
  CAF_CHECK_EQUAL(page.total, expected.size());
  CAF_CHECK_EQUAL(page.columns.front(), "Order ID");
  CAF_CHECK_EQUAL(page.rows, expected);
  auto rec = history_of(id);
  CAF_CHECK_EQUAL(rec.status, "complete");
  CAF_CHECK_EQUAL(rec.rows, expected.size());
}

CAF_TEST(the actor system shares work instead of polling for it) {
  // Work-stealing workers poll in 50 us sleeps while the pipeline waits on its
  // detached stages: about half of a sync's CPU went to context switches.
  CAF_CHECK_EQUAL(caf::to_string(caf::get_or(sys.config(), "scheduler.policy",
                                             caf::atom("none"))),
                  "sharing");
}

CAF_TEST(no content length and a 307 chain across hosts) {
  test::fake_server server{{"--csv", demo_csv}};
  for (auto path : {"/nolength.csv", "/chunked.csv", "/redirect/3", "/gzip"}) {
    CAF_MESSAGE("path " << path);
    launch(server.url(path));
    auto id = start();
    auto seen = statuses_until_end(id);
    CAF_REQUIRE_EQUAL(seen.back().state, sync_state::complete);
    check_progress(seen);
    CAF_CHECK_EQUAL(seen.back().rows, 300u);
  }
  // The second sync without Content-Length estimates from the first's size.
  launch(server.url("/nolength.csv"));
  auto seen = statuses_until_end(start());
  CAF_CHECK_EQUAL(seen.back().state, sync_state::complete);
}

CAF_TEST(failures keep the previous data exactly) {
  test::fake_server server{{"--csv", demo_csv}};
  launch(server.url("/ok.csv"));
  CAF_REQUIRE_EQUAL(run_sync().state, sync_state::complete);
  auto before = dump(db, "sheet");
  CAF_REQUIRE_NOT_EQUAL(before.find("Order ID"), std::string::npos);
  struct failing_case {
    std::string path;
    std::string text; // expected in the error
  };
  std::vector<failing_case> cases{
    {"/html", "share it"},
    {"/html-as-csv", "HTML"},
    {"/status/404", "404"},
    {"/status/500", "500"},
    {"/truncated", "1000"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("path " << c.path);
    launch(server.url(c.path));
    auto st = run_sync();
    CAF_CHECK_EQUAL(st.state, sync_state::error);
    CHECK_MSG(st.error.find(c.text) != std::string::npos, st.error);
    CAF_CHECK_EQUAL(st.message.rfind("Sync failed", 0), 0u);
    CAF_CHECK_EQUAL(dump(db, "sheet"), before);
    CAF_CHECK_EQUAL(history_of(st.id).status, "error");
  }
}

CAF_TEST(a server error then success is retried and completes) {
  test::fake_server server;
  launch(server.url("/flaky/once?fail=1&status=503"), 10s, 3);
  auto t0 = std::chrono::steady_clock::now();
  auto id = start();
  auto seen = statuses_until_end(id);
  auto waited = std::chrono::steady_clock::now() - t0;
  CAF_CHECK_EQUAL(seen.back().state, sync_state::complete);
  CAF_CHECK_EQUAL(seen.back().rows, 4u);
  auto retried = std::any_of(seen.begin(), seen.end(), [](auto& st) {
    return st.message.find("retrying in 1 s (attempt 2 of 3)") != std::string::npos;
  });
  CAF_CHECK(retried);
  CAF_CHECK_GREATER_OR_EQUAL(waited, 1s); // Google's first backoff
  check_progress(seen);
}

CAF_TEST(a sheet that stays rate limited fails and keeps the previous data) {
  test::fake_server server;
  launch(server.url("/ok.csv"));
  CAF_REQUIRE_EQUAL(run_sync().state, sync_state::complete);
  auto before = dump(db, "sheet");
  launch(server.url("/flaky/always?fail=-1&status=429&retry_after=1"), 10s, 2);
  auto last = run_sync();
  CAF_CHECK_EQUAL(last.state, sync_state::error);
  CAF_CHECK_NOT_EQUAL(last.error.find("429"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(last.error.find("gave up after 2 attempts"),
                      std::string::npos);
  CAF_CHECK_EQUAL(dump(db, "sheet"), before);
}

CAF_TEST(bad csv in the middle of a sheet keeps the previous data) {
  test::fake_server good{{"--csv", demo_csv}};
  launch(good.url("/ok.csv"));
  CAF_REQUIRE_EQUAL(run_sync().state, sync_state::complete);
  auto before = dump(db, "sheet");
  // 3 MB of good rows, then a cell that is not UTF-8: rows were already
  // written aside when the parser fails.
  auto bad_csv = dir + "/bad.csv";
  {
    std::ofstream out{bad_csv, std::ios::binary};
    out << "a,b,c\n";
    for (int i = 0; i < 100000; ++i)
      out << i << ",some text here,more text\n";
    out << "1,caf\xe9,x\n";
  }
  test::fake_server bad{{"--csv", bad_csv}};
  launch(bad.url("/ok.csv"));
  auto st = run_sync();
  CAF_CHECK_EQUAL(st.state, sync_state::error);
  CAF_CHECK_NOT_EQUAL(st.error.find("UTF-8"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(st.error.find("100002"), std::string::npos);
  CAF_CHECK_EQUAL(dump(db, "sheet"), before);
}

CAF_TEST(a stalled server fails after the fetch time-out) {
  test::fake_server server{{"--csv", demo_csv}};
  launch(server.url("/stall"), 500ms);
  auto t0 = std::chrono::steady_clock::now();
  auto st = run_sync();
  auto took = std::chrono::steady_clock::now() - t0;
  CAF_CHECK_EQUAL(st.state, sync_state::error);
  CAF_CHECK_NOT_EQUAL(st.error.find("no data received"), std::string::npos);
  CAF_CHECK_LESS(took, 10s);
}

CAF_TEST(cancel mid-transfer keeps the previous data) {
  test::fake_server server{{"--csv", demo_csv}};
  launch(server.url("/ok.csv"));
  CAF_REQUIRE_EQUAL(run_sync().state, sync_state::complete);
  auto before = dump(db, "sheet");
  launch(server.url("/slow?interval_ms=20&lines=5000"));
  auto id = start();
  bool cancel_sent = false;
  auto seen = statuses_until_end(id, [&](const sync_status& st) {
    if (!cancel_sent) {
      cancel_sent = true;
      self->send(coord, atom::cancel_v, id);
    }
  });
  CAF_CHECK_EQUAL(seen.back().state, sync_state::cancelled);
  CAF_CHECK_EQUAL(dump(db, "sheet"), before);
  // The service keeps serving: the next sync works.
  launch(server.url("/ok.csv"));
  CAF_CHECK_EQUAL(run_sync().state, sync_state::complete);
}

CAF_TEST(file urls) {
  launch("file://" + demo_csv);
  auto st = run_sync();
  CAF_CHECK_EQUAL(st.state, sync_state::complete);
  CAF_CHECK_EQUAL(st.rows, 300u);
  launch("file://" + dir + "/missing.csv");
  st = run_sync();
  CAF_CHECK_EQUAL(st.state, sync_state::error);
  CAF_CHECK(!st.error.empty());
}

CAF_TEST(hopeless failures are tried once) {
  // Five attempts allowed: none of these may use a second one.
  test::fake_server server;
  struct hopeless {
    std::string url;
    std::string text;
  };
  std::vector<hopeless> cases{
    {"file://" + dir + "/missing.csv", "missing or not readable"},
    {server.url("/redirect/11"), "too many redirects"},
    {server.url("/status/404"), "HTTP 404"},
    {server.url("/redirect-to?url=file://" + demo_csv), "refused to follow a redirect"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.url);
    launch(c.url, 10s, 5);
    auto seen = statuses_until_end(start());
    auto& last = seen.back();
    CAF_CHECK_EQUAL(last.state, sync_state::error);
    CHECK_MSG(last.error.find(c.text) != std::string::npos, last.error);
    CHECK_MSG(last.error.find("gave up after") == std::string::npos, last.error);
    auto attempts = 1 + std::count_if(seen.begin(), seen.end(), [](auto& st) {
      return st.message.find("retrying in") != std::string::npos;
    });
    CAF_CHECK_EQUAL(attempts, 1);
  }
}

CAF_TEST_FIXTURE_SCOPE_END()
