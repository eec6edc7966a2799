// Actor-level tests of the durable history (recorded status, history newest
// first, syncs interrupted by a restart) and of the cache writer's unchanged
// detection, both against a real SQLite file.

#define CAF_SUITE history
// caf/test/dsl.hpp 0.17.6 uses FAIL in request<T>() without defining it.
#define FAIL(msg) CAF_FAIL(msg)

#include <caf/test/dsl.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <memory>
#include <string>
#include <vector>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actors/cache_writer.hpp"
#include "actors/history.hpp"
#include "cli/command_line.hpp"
#include "messages/error.hpp"
#include "messages/system_config.hpp"
#include "store/content_hasher.hpp"
#include "store/database.hpp"
#include "store/sheet_store.hpp"
#include "tests/answer_of.hpp"
#include "tests/check_msg.hpp"
#include "tests/store_fixture.hpp"

using namespace sheetsync;
using namespace sheetsync::test;
using caf::term; // for CHECK_MSG

namespace {

// -- helpers ------------------------------------------------------------------

/// The sheetsync code of a refused request (ec::none if it succeeded).
template <class T>
ec refused_with(const caf::expected<T>& x) {
  return x ? ec::none : code_of(x.error());
}

sync_status make_status(std::string id, std::string source, sync_state state,
                        int64_t started_ms) {
  sync_status st;
  st.id = std::move(id);
  st.source = std::move(source);
  st.state = state;
  st.progress = state == sync_state::complete ? 100 : 37;
  st.message = "message of " + st.id;
  st.error = state == sync_state::error ? "what went wrong" : "";
  st.started_ms = started_ms;
  st.updated_ms = started_ms + 5;
  st.finished_ms = finished(state) ? started_ms + 9 : 0;
  st.bytes = 1000 + started_ms;
  st.rows = 10 + started_ms;
  return st;
}

std::vector<std::string> ids(const std::vector<sync_status>& xs) {
  std::vector<std::string> out;
  for (auto& x : xs)
    out.push_back(x.id);
  return out;
}

/// What a writer told its coordinator.
struct report_log {
  std::vector<stage_report> reports;
  std::vector<caf::error> failures;
};

/// A coordinator stand-in that records the writer's reports. Dynamically
/// typed, so it does not depend on the rest of the coordinator's interface;
/// any other message fails the test.
caf::behavior report_sink(caf::event_based_actor* self,
                          std::shared_ptr<report_log> log) {
  self->set_default_handler([](caf::scheduled_actor*, caf::message_view&)
                              -> caf::result<caf::message> {
    CAF_FAIL("report sink: unexpected message");
    return caf::make_error(caf::sec::unexpected_message);
  });
  return {
    [=](atom::progress, const stage_report& r) { log->reports.push_back(r); },
    [=](atom::failed, const std::string&, stage, const caf::error& err) {
      log->failures.push_back(err);
    },
  };
}

using release_atom = caf::atom_constant<caf::atom("release")>;

/// What a checkpointer stand-in saw.
struct checkpoint_log {
  size_t asked = 0;
  size_t ran = 0;
};

/// A checkpointer stand-in that holds its answers until told to release
/// them, then runs a real checkpoint on its own connection and answers.
using held_checkpointer_actor = checkpointer_actor::extend<
  caf::reacts_to<release_atom>>;

struct held_checkpointer_state {
  std::vector<caf::typed_response_promise<caf::ok_atom>> held;
};

held_checkpointer_actor::behavior_type held_checkpointer(
  held_checkpointer_actor::stateful_pointer<held_checkpointer_state> self,
  std::string db, std::shared_ptr<checkpoint_log> log) {
  return {
    [=](atom::checkpoint) -> caf::result<caf::ok_atom> {
      ++log->asked;
      self->state.held.push_back(self->make_response_promise<caf::ok_atom>());
      return self->state.held.back();
    },
    [=](release_atom) {
      failure err;
      auto conn = database::open(db, err);
      CAF_REQUIRE(conn != nullptr);
      CAF_REQUIRE(conn->checkpoint(err));
      ++log->ran;
      for (auto& promise : self->state.held)
        promise.deliver(caf::ok_atom::value);
      self->state.held.clear();
    },
  };
}

// -- fixture ------------------------------------------------------------------

struct fixture : test_coordinator_fixture<sheetsync::system_config> {
  std::string dir;
  std::string db;
  std::vector<caf::actor> spawned;

  fixture() : dir(make_temp_dir("history")), db(dir + "/cache.db") {
    // nop
  }

  ~fixture() override {
    for (auto& hdl : spawned)
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    sched.run();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  template <class Handle>
  Handle keep(Handle hdl) {
    spawned.push_back(caf::actor_cast<caf::actor>(hdl));
    return hdl;
  }

  history_actor start_history(history_options opts = {}) {
    auto hdl = keep(sys.spawn(history, db, std::move(opts)));
    sched.run();
    return hdl;
  }

  /// Sends a request, runs the actors and returns the answer.
  template <class T, class Handle, class... Ts>
  caf::expected<T> ask(const Handle& hdl, Ts... xs) {
    auto answer = self->request(hdl, caf::infinite, std::move(xs)...);
    sched.run();
    return answer_of<T>(self, answer, "no answer");
  }

  /// The recorded status of `id`; fails the test if there is none.
  sync_status status_of(const history_actor& hist, const std::string& id) {
    auto st = ask<sync_status>(hist, atom::status::value, id);
    if (!st)
      CAF_FAIL("status of " << id << " failed: " << error_text(st.error()));
    return *st;
  }

  void record(const history_actor& hist, const sync_status& st) {
    self->send(hist, caf::put_atom::value, st);
    sched.run();
  }

  /// Records `recs` from a process that exits at once (so it is dead).
  /// Records statuses as a process that ended: written here, then owned by
  /// the pid of a child that exited at once. The child does nothing but exit:
  /// a forked child of this multi-threaded process that allocated could hang
  /// on a lock another thread held at the fork (ASan's allocator did).
  void record_in_dead_process(const std::vector<sync_status>& recs) {
    {
      failure e;
      auto store = sheet_store::open(db, e);
      CAF_REQUIRE(store != nullptr);
      for (auto& st : recs)
        CAF_REQUIRE(store->put_run(to_record(st), e));
    }
    auto child = fork();
    CAF_REQUIRE(child >= 0);
    if (child == 0)
      _exit(0);
    int status = 0;
    waitpid(child, &status, 0);
    CAF_REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    raw_db raw{db};
    for (auto& st : recs)
      CAF_REQUIRE_EQUAL(raw.query("UPDATE sync_runs SET owner_pid = "
                                  + std::to_string(child)
                                  + ", owner_start = '' WHERE id = '" + st.id
                                  + "'"),
                        std::vector<std::string>{});
  }

  // -- the cache writer -------------------------------------------------------

  struct writer_run {
    std::shared_ptr<report_log> log = std::make_shared<report_log>();
    caf::expected<uint64_t> committed = uint64_t{0};
  };

  /// Runs one cache writer through batches, eof and commit.
  static uint64_t rows_of(const writer_run& run) {
    if (!run.committed)
      CAF_FAIL("commit failed: " << error_text(run.committed.error()));
    return *run.committed;
  }

  writer_run write(const std::string& id, const std::vector<row_batch>& batches) {
    writer_run run;
    auto sink = keep(sys.spawn(report_sink, run.log));
    sync_job job;
    job.id = id;
    job.source = "sales";
    job.db_path = db;
    auto writer = keep(
      sys.spawn(cache_writer, job, caf::actor_cast<coordinator_actor>(sink),
                checkpointer_actor{}));
    sched.run();
    // As the parser does: the hash of the batches comes with eof.
    content_hasher hash;
    for (auto& b : batches) {
      hash.add(b);
      auto ok = ask<caf::ok_atom>(writer, atom::batch::value, b);
      CAF_REQUIRE(ok);
    }
    auto header = batches.empty() ? std::vector<std::string>{}
                                  : batches.back().columns;
    self->send(writer, atom::eof::value, hash.digest(header));
    sched.run();
    run.committed = ask<uint64_t>(writer, atom::commit::value);
    return run;
  }

  /// The table's rows as read back.
  std::vector<std::vector<std::string>> table_rows() {
    failure err;
    auto store = sheet_store::open(db, err);
    CAF_REQUIRE(store != nullptr);
    sheet_store::page p;
    if (!store->read("sales", 1000, 0, p, err))
      CAF_FAIL("read failed: " << err.text);
    return p.rows;
  }
};

/// PRAGMA data_version of a connection held open: changes whenever another
/// connection commits a change to the file.
struct change_counter {
  sqlite3* db = nullptr;

  explicit change_counter(const std::string& path) {
    CAF_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  }

  ~change_counter() {
    sqlite3_close(db);
  }

  int64_t version() {
    sqlite3_stmt* stmt = nullptr;
    CAF_REQUIRE(sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &stmt,
                                   nullptr)
                == SQLITE_OK);
    CAF_REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    auto v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(history_tests, fixture)

CAF_TEST(the recorded status of a sync) {
  auto hist = start_history();
  auto running = make_status("sync-1", "sales", sync_state::saving, 1000);
  auto done = make_status("sync-2", "sales", sync_state::complete, 2000);
  auto failed = make_status("sync-3", "other", sync_state::error, 3000);
  for (auto& st : {running, done, failed})
    record(hist, st);
  // Answered exactly as recorded.
  CAF_CHECK_EQUAL(status_of(hist, "sync-1"), running);
  CAF_CHECK_EQUAL(status_of(hist, "sync-2"), done);
  CAF_CHECK_EQUAL(status_of(hist, "sync-3"), failed);
  // Updates replace.
  running.state = sync_state::complete;
  running.progress = 100;
  running.finished_ms = 1500;
  record(hist, running);
  CAF_CHECK_EQUAL(status_of(hist, "sync-1"), running);
  // Unknown ids.
  auto unknown = ask<sync_status>(hist, atom::status::value,
                                  std::string{"sync-nope"});
  CAF_CHECK_EQUAL(refused_with(unknown), ec::unknown_sync);
  CAF_CHECK(!unknown
            && error_text(unknown.error()).find("sync-nope") != std::string::npos);
  CAF_CHECK_EQUAL(refused_with(ask<sync_status>(hist, atom::status::value,
                                                std::string{})),
                  ec::unknown_sync);
  // Kept by the file: a new history actor answers the same.
  auto again = start_history();
  CAF_CHECK_EQUAL(status_of(again, "sync-3"), failed);
}

CAF_TEST(the history is newest first) {
  auto hist = start_history();
  record(hist, make_status("s-b", "sales", sync_state::complete, 2000));
  record(hist, make_status("s-a", "sales", sync_state::error, 1000));
  record(hist, make_status("o-c", "other", sync_state::complete, 3000));
  record(hist, make_status("s-d", "sales", sync_state::cancelled, 4000));
  record(hist, make_status("s-e", "sales", sync_state::downloading, 5000));
  using strings = std::vector<std::string>;
  auto list = [&](std::string source, uint64_t limit) {
    auto xs = ask<std::vector<sync_status>>(hist, atom::history::value,
                                            std::move(source), limit);
    if (!xs)
      CAF_FAIL("history failed: " << error_text(xs.error()));
    return *xs;
  };
  CAF_CHECK_EQUAL(ids(list("", 100)),
                  (strings{"s-e", "s-d", "o-c", "s-b", "s-a"}));
  CAF_CHECK_EQUAL(ids(list("sales", 100)),
                  (strings{"s-e", "s-d", "s-b", "s-a"}));
  CAF_CHECK_EQUAL(ids(list("sales", 2)), (strings{"s-e", "s-d"}));
  CAF_CHECK_EQUAL(ids(list("other", 2)), (strings{"o-c"}));
  CAF_CHECK(list("nothing", 10).empty());
  // The limit is clamped to 1..1000.
  CAF_CHECK_EQUAL(ids(list("", 0)), (strings{"s-e"}));
  CAF_CHECK_EQUAL(list("", 1u << 31).size(), 5u);
  // Whole statuses, as recorded.
  auto other = list("other", 1);
  CAF_REQUIRE_EQUAL(other.size(), 1u);
  CAF_CHECK_EQUAL(other.front(),
                  make_status("o-c", "other", sync_state::complete, 3000));
  // At most 1000.
  for (int i = 0; i < 1005; ++i)
    self->send(hist, caf::put_atom::value,
               make_status("bulk-" + std::to_string(i), "bulk",
                           sync_state::complete, 10000 + i));
  sched.run();
  auto bulk = list("bulk", 5000);
  CAF_CHECK_EQUAL(bulk.size(), 1000u);
  CAF_CHECK_EQUAL(bulk.front().id, "bulk-1004");
}

CAF_TEST(a restart marks syncs of dead processes as interrupted) {
  auto done = make_status("sync-done", "sales", sync_state::complete, 1000);
  auto cut = make_status("sync-cut", "sales", sync_state::downloading, 2000);
  record_in_dead_process({done, cut});
  // A live sync of this process (e.g. a serve next to a CLI sync).
  {
    failure err;
    auto store = sheet_store::open(db, err);
    CAF_REQUIRE(store != nullptr);
    CAF_REQUIRE(store->put_run(
      to_record(make_status("sync-live", "sales", sync_state::saving, 3000)),
      err));
  }
  auto hist = start_history();
  auto st = ask<sync_status>(hist, atom::status::value,
                             std::string{"sync-cut"});
  CAF_REQUIRE(st);
  CAF_CHECK_EQUAL(st->state, sync_state::error);
  CAF_CHECK_EQUAL(st->error, "interrupted by restart");
  CAF_CHECK_EQUAL(st->message, "Sync failed: interrupted by restart");
  CAF_CHECK_GREATER(st->finished_ms, 0);
  CAF_CHECK_EQUAL(st->finished_ms, st->updated_ms);
  CAF_CHECK_EQUAL(st->started_ms, 2000);
  CAF_CHECK_EQUAL(status_of(hist, "sync-done"), done);
  auto live = ask<sync_status>(hist, atom::status::value,
                               std::string{"sync-live"});
  CAF_REQUIRE(live);
  CAF_CHECK_EQUAL(live->state, sync_state::saving);
  CAF_CHECK_EQUAL(live->progress, 37);
}

CAF_TEST(recovery takes its time from the injected clock) {
  auto cut = make_status("sync-cut", "sales", sync_state::downloading, 2000);
  record_in_dead_process({cut});
  history_options opts;
  opts.wall_clock_ms = [] { return int64_t{4242}; };
  auto hist = start_history(opts);
  auto st = status_of(hist, "sync-cut");
  CAF_CHECK_EQUAL(st.state, sync_state::error);
  CAF_CHECK_EQUAL(st.finished_ms, 4242);
  CAF_CHECK_EQUAL(st.updated_ms, 4242);
}

CAF_TEST(finished syncs beyond the limit are pruned as syncs finish) {
  history_options opts;
  opts.keep_per_source = 3;
  auto hist = start_history(opts);
  using strings = std::vector<std::string>;
  auto list = [&](std::string source) {
    auto xs = ask<std::vector<sync_status>>(hist, atom::history::value,
                                            std::move(source), uint64_t{100});
    if (!xs)
      CAF_FAIL("history failed: " << error_text(xs.error()));
    return ids(*xs);
  };
  // A running sync that started before all the others stays.
  record(hist, make_status("run", "sales", sync_state::downloading, 10));
  for (int i = 0; i < 5; ++i)
    record(hist, make_status("s" + std::to_string(i), "sales",
                             i == 2 ? sync_state::error : sync_state::complete,
                             100 + i));
  record(hist, make_status("o0", "other", sync_state::cancelled, 50));
  CAF_CHECK_EQUAL(list("sales"), (strings{"s4", "s3", "s2", "run"}));
  CAF_CHECK_EQUAL(list("other"), (strings{"o0"}));
  // Status updates of a running sync prune nothing; its end does.
  record(hist, make_status("s5", "sales", sync_state::downloading, 200));
  CAF_CHECK_EQUAL(list("sales"), (strings{"s5", "s4", "s3", "s2", "run"}));
  record(hist, make_status("s5", "sales", sync_state::complete, 200));
  CAF_CHECK_EQUAL(list("sales"), (strings{"s5", "s4", "s3", "run"}));
}

CAF_TEST(status and record convert both ways) {
  for (auto state : {sync_state::idle, sync_state::downloading,
                     sync_state::processing, sync_state::saving,
                     sync_state::complete, sync_state::error,
                     sync_state::cancelled}) {
    auto st = make_status("x", "sales", state, 1234);
    CAF_CHECK_EQUAL(to_status(to_record(st)), st);
  }
  sync_record rec;
  rec.status = "bogus";
  CAF_CHECK_EQUAL(to_status(rec).state, sync_state::error);
  rec.status = "complete";
  rec.progress = 0;
  CAF_CHECK_EQUAL(to_status(rec).progress, 100);
}

CAF_TEST(the cache writer leaves checkpoints to its checkpointer) {
  auto log = std::make_shared<checkpoint_log>();
  auto ckpt = keep(sys.spawn(held_checkpointer, db, log));
  auto reports = std::make_shared<report_log>();
  auto sink = keep(sys.spawn(report_sink, reports));
  sync_job job;
  job.id = "sync-1";
  job.source = "sales";
  job.db_path = db;
  auto writer = keep(sys.spawn(cache_writer, job,
                               caf::actor_cast<coordinator_actor>(sink),
                               caf::actor_cast<checkpointer_actor>(ckpt)));
  self->monitor(ckpt);
  sched.run();
  // About 12 MB of rows in 12 batches: far past checkpoint_frames.
  std::vector<std::vector<std::string>> rows;
  content_hasher hash;
  uint64_t first = 1;
  auto wal_bytes = [&] {
    std::error_code ec;
    auto n = std::filesystem::file_size(db + "-wal", ec);
    return ec ? uintmax_t{0} : n;
  };
  for (int b = 0; b < 12; ++b) {
    std::vector<std::vector<std::string>> part;
    for (int i = 0; i < 1000; ++i)
      part.push_back({std::to_string(first + i), std::string(1000, 'a' + b)});
    auto batch = make_batch({"id", "text"}, part, first);
    first += part.size();
    rows.insert(rows.end(), part.begin(), part.end());
    hash.add(batch);
    CAF_REQUIRE(ask<caf::ok_atom>(writer, atom::batch::value, batch));
  }
  // Asked once, one at a time, while the WAL kept growing: the writer did
  // not checkpoint itself (it would have started the WAL over at 1,000
  // pages, well below 12 MB).
  CAF_CHECK_EQUAL(log->asked, 1u);
  CAF_CHECK_GREATER(wal_bytes(), uintmax_t{12} << 20);
  self->send(writer, atom::eof::value, hash.digest({"id", "text"}));
  sched.run();
  // The commit waits for the checkpoint still running...
  auto answer = self->request(writer, caf::infinite, atom::commit::value);
  sched.run();
  CAF_CHECK(self->mailbox().empty());
  {
    failure err;
    auto store = sheet_store::open(db, err);
    CAF_REQUIRE(store != nullptr);
    CAF_CHECK_EQUAL(store->stored_hash("sales"), ""); // not swapped in yet
  }
  // ...and swaps in once it ran, then truncates the WAL.
  self->send(ckpt, release_atom::value);
  sched.run();
  CAF_CHECK_EQUAL(log->ran, 1u);
  auto committed = answer_of<uint64_t>(self, answer, "no commit answer");
  CAF_REQUIRE(committed);
  CAF_CHECK_EQUAL(*committed, rows.size());
  CAF_CHECK(reports->failures.empty());
  CAF_CHECK_EQUAL(wal_bytes(), 0u);
  CAF_CHECK_EQUAL(table_rows().size(), 1000u); // table_rows reads one page
  // The writer ended, and its checkpointer with it.
  expect((caf::down_msg), from(ckpt).to(self));
}

CAF_TEST(the cache writer leaves unchanged data untouched) {
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < 50; ++i)
    rows.push_back({"r" + std::to_string(i), "a,b", ""});
  std::vector<row_batch> batches{
    make_batch({"x", "y", "z"}, {rows.begin(), rows.begin() + 20}, 1),
    make_batch({"x", "y", "z"}, {rows.begin() + 20, rows.end()}, 21)};
  // First sync: nothing to compare with.
  auto first = write("sync-1", batches);
  CAF_REQUIRE(first.log->failures.empty());
  CAF_REQUIRE(!first.log->reports.empty());
  auto& last = first.log->reports.back();
  CAF_CHECK(last.finished);
  CAF_CHECK(!last.unchanged);
  CAF_CHECK_EQUAL(last.rows, 50u);
  CAF_CHECK_EQUAL(rows_of(first), 50u);
  CAF_CHECK_EQUAL(table_rows(), rows);
  // The same content again: unchanged, and the file is not written at all.
  change_counter changes{db};
  auto before = changes.version();
  auto second = write("sync-2", {make_batch({"x", "y", "z"}, rows, 1)});
  CAF_REQUIRE(second.log->failures.empty());
  CAF_REQUIRE(!second.log->reports.empty());
  CAF_CHECK(second.log->reports.back().finished);
  CAF_CHECK(second.log->reports.back().unchanged);
  CAF_CHECK_EQUAL(rows_of(second), 50u);
  CAF_CHECK_EQUAL(changes.version(), before);
  CAF_CHECK_EQUAL(table_rows(), rows);
  // Only the finished report says unchanged.
  for (size_t i = 0; i + 1 < second.log->reports.size(); ++i)
    CAF_CHECK(!second.log->reports[i].unchanged);
  // One cell changed: rewritten.
  auto changed = rows;
  changed[7][1] = "a;b";
  auto third = write("sync-3", {make_batch({"x", "y", "z"}, changed, 1)});
  CAF_REQUIRE(third.log->failures.empty());
  CAF_CHECK(!third.log->reports.back().unchanged);
  CAF_CHECK_EQUAL(rows_of(third), 50u);
  CAF_CHECK_NOT_EQUAL(changes.version(), before);
  CAF_CHECK_EQUAL(table_rows(), changed);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- the --history-limit setting ----------------------------------------------

namespace {

/// Parses `args` for `sync`; `error` gets what it printed.
std::optional<int> parse_sync(command_config& cfg,
                              std::vector<std::string> args,
                              std::string& error) {
  std::ostringstream err;
  auto rc = parse_command_line(cfg, args, "", err);
  error = err.str();
  return rc;
}

} // namespace

CAF_TEST(the history limit comes from a flag or the config file) {
  auto dir = std::filesystem::temp_directory_path() / "history_limit_XXXXXX";
  auto tmpl = dir.string();
  CAF_REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  auto source = std::string{"--source=file://"} + SHEETSYNC_SOURCE_DIR
                + "/config/demo.csv";
  auto db = "--db=" + tmpl + "/x.db";
  auto conf = [&](const std::string& body) {
    auto path = tmpl + "/x.conf";
    std::ofstream{path} << "[sheetsync]\n" << body << "\n";
    return "--config-file=" + path;
  };
  std::string error;
  {
    command_config cfg{"sync"};
    CAF_CHECK(!parse_sync(cfg, {source, db}, error));
    CAF_CHECK_EQUAL(cfg.opts.history_limit, 1000);
  }
  {
    command_config cfg{"sync"};
    CAF_CHECK(!parse_sync(cfg, {source, db, "--history-limit=7"}, error));
    CAF_CHECK_EQUAL(cfg.opts.history_limit, 7);
  }
  {
    command_config cfg{"serve"};
    CAF_CHECK(!parse_sync(cfg, {source, db, conf("history-limit = 12")},
                          error));
    CAF_CHECK_EQUAL(error, "");
    CAF_CHECK_EQUAL(cfg.opts.history_limit, 12);
  }
  for (auto bad : {"--history-limit=0", "--history-limit=-5"}) {
    command_config cfg{"sync"};
    CAF_CHECK_EQUAL(parse_sync(cfg, {source, db, bad}, error).value_or(-1), 2);
    CHECK_MSG(error.find("--history-limit must be at least 1")
                        != std::string::npos,
                      error);
  }
  {
    command_config cfg{"serve"};
    CAF_CHECK_EQUAL(
      parse_sync(cfg, {source, db, conf("history-limit = 0")}, error)
        .value_or(-1),
      2);
    CHECK_MSG(error.find("history-limit in") != std::string::npos
                        && error.find("must be at least 1")
                             != std::string::npos,
                      error);
  }
  std::error_code ignored;
  std::filesystem::remove_all(tmpl, ignored);
}
