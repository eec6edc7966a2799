// Deterministic tests of the coordinator (lock, cooldown, deadline, eviction,
// cancel, failures, progress) against scheduled fake stages, and of the real
// parser stage between a fake downloader and a fake writer.

#define CAF_SUITE coordinator
// caf/test/dsl.hpp 0.17.6 uses FAIL in request<T>() without defining it.
#define FAIL(msg) CAF_FAIL(msg)

#include <caf/test/dsl.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "actors/coordinator.hpp"
#include "actors/parser.hpp"
#include "messages/error.hpp"
#include "messages/system_config.hpp"
#include "tests/answer_of.hpp"
#include "tests/batch_rows.hpp"
#include "tests/fake_stages.hpp"

using namespace std::chrono_literals;
using namespace sheetsync;
using namespace sheetsync::test;

namespace {

// -- helpers ------------------------------------------------------------------

/// The sheetsync code of a refused request (ec::none if it succeeded).
template <class T>
ec refused_with(const caf::expected<T>& x) {
  return code_of(error_of(x));
}

/// Order of the states a sync walks through.
int rank(sync_state x) {
  switch (x) {
    case sync_state::downloading: return 1;
    case sync_state::processing: return 2;
    case sync_state::saving: return 3;
    case sync_state::complete: return 4;
    default: return 0;
  }
}

stage_report downloaded(const std::string& id, uint64_t bytes,
                        uint64_t expected_bytes = 0, bool finished = false) {
  stage_report r;
  r.sync_id = id;
  r.from = stage::download;
  r.bytes = bytes;
  r.expected_bytes = expected_bytes;
  r.finished = finished;
  return r;
}

stage_report download_done(const std::string& id, uint64_t bytes,
                           uint64_t expected_bytes = 0) {
  return downloaded(id, bytes, expected_bytes, true);
}

stage_report parsed(const std::string& id, uint64_t bytes, uint64_t rows,
                    bool finished = false) {
  stage_report r;
  r.sync_id = id;
  r.from = stage::parse;
  r.bytes = bytes;
  r.rows = rows;
  r.finished = finished;
  return r;
}

stage_report parse_done(const std::string& id, uint64_t bytes, uint64_t rows) {
  return parsed(id, bytes, rows, true);
}

stage_report saved(const std::string& id, uint64_t rows,
                   bool finished = false) {
  stage_report r;
  r.sync_id = id;
  r.from = stage::save;
  r.rows = rows;
  r.finished = finished;
  return r;
}

stage_report save_done(const std::string& id, uint64_t rows) {
  return saved(id, rows, true);
}

// -- coordinator fixture -------------------------------------------------------

constexpr int64_t start_wall_ms = 1'700'000'000'000;

struct fixture : test_coordinator_fixture<sheetsync::system_config> {
  /// Every status the coordinator published, in order.
  std::shared_ptr<std::vector<sync_status>> published
    = std::make_shared<std::vector<sync_status>>();
  /// Every pipeline the factory made, in order.
  std::shared_ptr<std::vector<fake_pipeline_ptr>> pipelines
    = std::make_shared<std::vector<fake_pipeline_ptr>>();
  /// The wall clock the coordinator reads (Unix ms): it follows the actor
  /// clock from start_wall_ms plus `wall_step`, which a test changes to step
  /// the wall clock as NTP or an administrator may.
  std::shared_ptr<int64_t> wall_step = std::make_shared<int64_t>(0);
  caf::actor_clock::time_point t0 = sched.clock().now();
  coordinator_actor coord;
  status_listener_actor listener;
  /// What the (fake) history recorded; only with_history fixtures have one.
  std::shared_ptr<recorded_map> recorded = std::make_shared<recorded_map>();
  history_actor history;

  explicit fixture(bool with_history = false) {
    coordinator_config conf;
    for (auto name : {"sheet", "other", "third"}) {
      source_spec src;
      src.name = name;
      src.location = std::string{"https://sheets.example/"} + name + ".csv";
      conf.sources.push_back(std::move(src));
    }
    conf.max_parallel = 2;
    conf.max_attempts = 5;
    conf.jitter = [] { return caf::timespan{0}; };
    conf.db_path = "/nonexistent/cache.db"; // the fakes never open it
    conf.cooldown = 3s;
    conf.max_duration = 5min;
    conf.evict_after = 5min;
    conf.make_pipeline = make_fake_pipelines(pipelines);
    conf.wall_clock_ms = [step = wall_step, clock = &sched.clock(), t0 = t0] {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock->now() - t0);
      return start_wall_ms + ms.count() + *step;
    };
    if (with_history) {
      history = sys.spawn(fake_history, recorded);
      conf.history = history;
    }
    coord = sys.spawn(coordinator, std::move(conf));
    listener = sys.spawn(status_listener, published);
    self->send(coord, atom::subscribe::value, listener);
    sched.run();
  }

  ~fixture() override {
    stop_stages(*pipelines);
    caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
    if (history)
      caf::anon_send_exit(history, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// What the coordinator's wall clock reads now.
  int64_t wall() {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(sched.clock().now() - t0);
    return start_wall_ms + ms.count() + *wall_step;
  }

  // -- asking the coordinator (as a client) ------------------------------------

  /// Sends a request, runs the actors (no timers) and returns the answer.
  template <class T, class... Ts>
  caf::expected<T> ask(Ts... xs) {
    auto answer = self->request(coord, caf::infinite, std::move(xs)...);
    sched.run();
    return answer_of<T>(self, answer, "the coordinator did not answer");
  }

  caf::expected<std::string> try_start(const std::string& source = "") {
    return ask<std::string>(atom::start::value, source);
  }

  std::string start_sync(const std::string& source = "") {
    auto id = try_start(source);
    if (!id)
      CAF_FAIL("start failed: " << error_text(error_of(id)));
    return *id;
  }

  caf::expected<sync_status> status_of(const std::string& id) {
    return ask<sync_status>(atom::status::value, id);
  }

  sync_status status(const std::string& id) {
    auto st = status_of(id);
    if (!st)
      CAF_FAIL("status failed: " << error_text(error_of(st)));
    return *st;
  }

  caf::expected<sync_status> cancel(const std::string& id) {
    return ask<sync_status>(atom::cancel::value, id);
  }

  // -- acting as the stages ----------------------------------------------------

  /// The current (latest) attempt's pipeline of a sync.
  fake_pipeline& pipeline_of(const std::string& id) {
    return latest_pipeline(*pipelines, id);
  }

  /// The stage named in the report tells the coordinator about its progress.
  void report(const stage_report& r) {
    auto from_stage = stage_actor(pipeline_of(r.sync_id), r.from);
    inject((atom::progress, stage_report),
           from(from_stage).to(coord).with(atom::progress::value, r));
    sched.run();
  }

  /// A stage tells the coordinator it failed.
  void report_failure(const std::string& id, stage which, caf::error err) {
    auto from_stage = stage_actor(pipeline_of(id), which);
    inject((atom::failed, std::string, stage, caf::error),
           from(from_stage)
             .to(coord)
             .with(atom::failed::value, id, which, std::move(err)));
    sched.run();
  }

  /// A stage ends: by itself once its part is done (normal), or killed.
  template <class Handle>
  void end(const Handle& stage_hdl,
           caf::exit_reason reason = caf::exit_reason::normal) {
    caf::anon_send_exit(stage_hdl, reason);
    sched.run();
  }

  /// Runs a sync to its end as the real stages would: each reports done and
  /// ends; the writer answers the commit with `rows` and ends.
  void complete(const std::string& id, uint64_t bytes = 1000,
                uint64_t rows = 10) {
    auto& p = pipeline_of(id);
    p.commit_answer = rows;
    report(download_done(id, bytes, bytes));
    end(p.stages.downloader);
    report(parse_done(id, bytes, rows));
    end(p.stages.parser);
    report(save_done(id, rows));
    auto st = status(id);
    CAF_REQUIRE_EQUAL(st.state, sync_state::complete);
  }

  std::vector<sync_status> published_for(const std::string& id) {
    return statuses_for(*published, id);
  }

  /// All three stages of the sync ended with `reason`.
  void check_stages_ended(const fake_pipeline& p, const caf::error& reason) {
    CAF_CHECK(p.downloader.down);
    CAF_CHECK(p.parser.down);
    CAF_CHECK(p.writer.down);
    CAF_CHECK_EQUAL(p.downloader.reason, reason);
    CAF_CHECK_EQUAL(p.parser.reason, reason);
    CAF_CHECK_EQUAL(p.writer.reason, reason);
  }

  /// The sync ended in error with `text`, and the stages were stopped.
  void check_failed(const std::string& id, const std::string& text) {
    auto st = status(id);
    CAF_CHECK_EQUAL(st.state, sync_state::error);
    CAF_CHECK_EQUAL(st.error, text);
    CAF_CHECK_EQUAL(st.message, "Sync failed: " + text);
    CAF_CHECK(starts_with(st.message, "Sync failed"));
    CAF_CHECK_EQUAL(st.finished_ms, wall());
    CAF_CHECK_EQUAL(published->back(), st);
    auto& p = pipeline_of(id);
    CAF_CHECK(p.job.cancel->load());
    CAF_CHECK(p.downloader.down);
    CAF_CHECK(p.parser.down);
    CAF_CHECK(p.writer.down);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(coordinator_tests, fixture)

// -- start ---------------------------------------------------------------------

CAF_TEST(start answers a new id and the sync begins downloading) {
  auto id = start_sync();
  CAF_CHECK(starts_with(id, "sync-"));
  auto st = status(id);
  CAF_CHECK_EQUAL(st.id, id);
  CAF_CHECK_EQUAL(st.state, sync_state::downloading);
  CAF_CHECK_EQUAL(int{st.progress}, 0);
  CAF_CHECK_EQUAL(st.source, "sheet");
  CAF_CHECK_EQUAL(st.message, "Downloading the sheet");
  CAF_CHECK_EQUAL(st.started_ms, start_wall_ms);
  CAF_CHECK_EQUAL(st.finished_ms, 0);
  CAF_CHECK_EQUAL(st.error, "");
  // Subscribers heard about it; the stages got the default source's job.
  CAF_REQUIRE_EQUAL(published->size(), 1u);
  CAF_CHECK_EQUAL(published->back(), st);
  CAF_REQUIRE_EQUAL(pipelines->size(), 1u);
  auto& p = pipeline_of(id);
  CAF_CHECK_EQUAL(p.job.source, "sheet");
  CAF_CHECK_EQUAL(p.job.url, "https://sheets.example/sheet.csv");
  CAF_CHECK_EQUAL(p.job.db_path, "/nonexistent/cache.db");
  CAF_REQUIRE(p.job.cancel != nullptr);
  CAF_CHECK(!p.job.cancel->load());
  // A second start (once the first ended and the cooldown passed) gets
  // another id.
  CAF_REQUIRE(cancel(id));
  CAF_CHECK_EQUAL(advance_time(3s), 0u);
  auto next = start_sync();
  CAF_CHECK(starts_with(next, "sync-"));
  CAF_CHECK_NOT_EQUAL(next, id);
  CAF_CHECK_EQUAL(status(next).state, sync_state::downloading);
  CAF_CHECK_EQUAL(status(id).state, sync_state::cancelled);
}

CAF_TEST(start of a named source and of an unknown one) {
  auto id = start_sync("other");
  CAF_CHECK_EQUAL(status(id).source, "other");
  CAF_CHECK_EQUAL(pipeline_of(id).job.url, "https://sheets.example/other.csv");
  CAF_REQUIRE(cancel(id));
  CAF_CHECK_EQUAL(advance_time(3s), 0u);
  auto err = try_start("nope");
  CAF_CHECK_EQUAL(refused_with(err), ec::invalid_argument);
  CAF_CHECK_EQUAL(pipelines->size(), 1u);
}

// -- lock and cooldown ----------------------------------------------------------

CAF_TEST(a start while a sync runs is refused as busy with the running id) {
  auto id = start_sync();
  CAF_CHECK_EQUAL(advance_time(10s), 0u); // past the cooldown
  auto second = try_start();
  CAF_CHECK_EQUAL(refused_with(second), ec::busy);
  CAF_CHECK_EQUAL(busy_id(error_of(second)), id);
  CAF_CHECK(contains(error_text(error_of(second)), id));
  // The running sync is untouched and no second pipeline was made.
  CAF_CHECK_EQUAL(pipelines->size(), 1u);
  CAF_CHECK_EQUAL(status(id).state, sync_state::downloading);
  CAF_CHECK_EQUAL(published->size(), 1u);
}

CAF_TEST(busy takes precedence over cooldown) {
  auto id = start_sync();
  auto second = try_start(); // 0 s after the first start: within the cooldown
  CAF_CHECK_EQUAL(refused_with(second), ec::busy);
  CAF_CHECK_EQUAL(busy_id(error_of(second)), id);
  CAF_CHECK_EQUAL(cooldown_seconds(error_of(second)), 0u);
}

CAF_TEST(a start within three seconds of the last is refused as cooldown) {
  // Cancelled: the coordinator stops every stage, so only the cooldown
  // stands between this sync and the next.
  auto id = start_sync();
  CAF_REQUIRE(cancel(id));
  CAF_CHECK_EQUAL(advance_time(1ms), 0u);
  auto early = try_start();
  CAF_CHECK_EQUAL(refused_with(early), ec::cooldown);
  CAF_CHECK_EQUAL(cooldown_seconds(error_of(early)), 3u); // 2.999 s, rounded up
  CAF_CHECK_EQUAL(advance_time(2998ms), 0u);              // +2.999 s
  auto late = try_start();
  CAF_CHECK_EQUAL(refused_with(late), ec::cooldown);
  CAF_CHECK_EQUAL(cooldown_seconds(error_of(late)), 1u);
  CAF_CHECK(contains(error_text(error_of(late)), "1 s"));
  CAF_CHECK_EQUAL(pipelines->size(), 1u);
  // At exactly +3 s (the refused starts did not extend the cooldown).
  CAF_CHECK_EQUAL(advance_time(1ms), 0u);
  auto next = try_start();
  CAF_CHECK_EQUAL(refused_with(next), ec::none);
  if (next) {
    CAF_CHECK_NOT_EQUAL(*next, id);
    CAF_CHECK_EQUAL(status(*next).state, sync_state::downloading);
  }
}

CAF_TEST(after a completed sync the next start waits for the cooldown) {
  // Completed as the real stages do it: the downloader and the parser end
  // once their part is done, the writer once it answered the commit.
  auto id = start_sync();
  complete(id);
  CAF_CHECK_EQUAL(advance_time(2999ms), 0u);
  auto late = try_start();
  if (!late)
    CAF_MESSAGE("refused at +2.999 s: " << error_text(error_of(late)));
  CAF_CHECK_EQUAL(refused_with(late), ec::cooldown);
  CAF_CHECK_EQUAL(cooldown_seconds(error_of(late)), 1u);
  CAF_CHECK_EQUAL(advance_time(1ms), 0u);
  auto next = try_start();
  if (!next)
    CAF_MESSAGE("refused at +3 s: " << error_text(error_of(next)));
  CAF_CHECK_EQUAL(refused_with(next), ec::none);
  if (next) {
    CAF_CHECK_NOT_EQUAL(*next, id);
    CAF_CHECK_EQUAL(status(*next).state, sync_state::downloading);
  }
}

CAF_TEST(a stage that ended early does not hold the lock after the sync) {
  // The real downloader ends as soon as the download is done, long before
  // the sync completes; its down message arrives while the sync still runs.
  auto id = start_sync();
  auto& p = pipeline_of(id);
  report(download_done(id, 1000, 1000));
  end(p.stages.downloader);
  CAF_CHECK(p.downloader.down);
  CAF_REQUIRE(cancel(id));
  CAF_CHECK(p.parser.down);
  CAF_CHECK(p.writer.down);
  CAF_CHECK_EQUAL(advance_time(1min), 0u);
  auto next = try_start();
  if (!next)
    CAF_MESSAGE("refused: " << error_text(error_of(next)));
  CAF_CHECK_EQUAL(refused_with(next), ec::none);
}

// -- eviction -------------------------------------------------------------------

CAF_TEST(a finished sync is forgotten five minutes after it ended) {
  auto id = start_sync();                 // its deadline: t0 + 5 min
  CAF_CHECK_EQUAL(advance_time(10s), 0u); // t0 + 10 s
  complete(id);                           // its eviction: t0 + 5 min 10 s
  auto final_status = status(id);
  CAF_CHECK_EQUAL(final_status.state, sync_state::complete);
  CAF_CHECK_EQUAL(advance_time(4min), 0u); // t0 + 4 min 10 s
  sched.run();
  CAF_CHECK_EQUAL(status(id), final_status);
  // t0 + 5 min: only the (stale) deadline fires; it changes nothing.
  CAF_CHECK_EQUAL(advance_time(50s), 1u);
  sched.run();
  CAF_CHECK_EQUAL(status(id), final_status);
  // 4 min 59 s after the end: still answered.
  CAF_CHECK_EQUAL(advance_time(9s), 0u);
  sched.run();
  CAF_CHECK_EQUAL(status(id), final_status);
  // 5 min after the end: the evictor's timer fires and the sync is gone.
  CAF_CHECK_EQUAL(advance_time(1s), 1u);
  sched.run();
  auto gone = status_of(id);
  CAF_CHECK_EQUAL(refused_with(gone), ec::unknown_sync);
  CAF_CHECK_EQUAL(published->back(), final_status);
}

CAF_TEST(status of an id never started is unknown_sync) {
  auto st = status_of("sync-0-00000000");
  CAF_CHECK_EQUAL(refused_with(st), ec::unknown_sync);
}

// -- whole-sync limit -------------------------------------------------------------

CAF_TEST(a sync that never finishes ends in error at the limit and not before) {
  auto id = start_sync();
  auto& p = pipeline_of(id);
  report(downloaded(id, 100, 1000));
  CAF_CHECK_EQUAL(advance_time(4min + 59s), 0u);
  sched.run();
  CAF_CHECK_EQUAL(status(id).state, sync_state::downloading);
  CAF_CHECK(!p.downloader.down);
  CAF_CHECK_EQUAL(advance_time(1s), 1u); // t0 + 5 min: the deadline
  sched.run();
  auto st = status(id);
  CAF_CHECK_EQUAL(st.state, sync_state::error);
  CAF_CHECK(contains(st.error, "300 s"));
  CAF_CHECK(contains(st.error, "--max-duration"));
  CAF_CHECK(starts_with(st.message, "Sync failed"));
  CAF_CHECK_EQUAL(st.finished_ms, start_wall_ms + 300'000);
  CAF_CHECK_EQUAL(published->back(), st);
  // The stages were told to exit; the transfer's cancel token is set.
  check_stages_ended(p, caf::exit_reason::user_shutdown);
  CAF_CHECK(p.job.cancel->load());
  // The lock is free again.
  auto next = start_sync();
  CAF_CHECK_NOT_EQUAL(next, id);
  CAF_CHECK_EQUAL(status(next).state, sync_state::downloading);
  CAF_CHECK_EQUAL(status(id).state, sync_state::error);
}

// -- cancel -----------------------------------------------------------------------

CAF_TEST(cancel ends a running sync and stops its stages) {
  auto id = start_sync();
  auto& p = pipeline_of(id);
  report(downloaded(id, 500, 1000));
  CAF_CHECK_EQUAL(advance_time(1500ms), 0u);
  auto answer = cancel(id);
  CAF_REQUIRE(answer);
  CAF_CHECK_EQUAL(answer->id, id);
  CAF_CHECK_EQUAL(answer->state, sync_state::cancelled);
  CAF_CHECK_EQUAL(answer->message, "Cancelled: the previous data is kept");
  CAF_CHECK_EQUAL(answer->finished_ms, start_wall_ms + 1500);
  CAF_CHECK_EQUAL(answer->bytes, 500u);
  CAF_CHECK_EQUAL(published->back(), *answer);
  CAF_CHECK_EQUAL(status(id), *answer);
  CAF_CHECK(p.job.cancel->load());
  check_stages_ended(p, caf::exit_reason::user_shutdown);
  CAF_CHECK_EQUAL(p.commits, 0u);
  // Unknown and ended syncs cannot be cancelled.
  auto unknown = cancel("sync-0-00000000");
  CAF_CHECK_EQUAL(refused_with(unknown), ec::unknown_sync);
  auto again = cancel(id);
  CAF_CHECK_EQUAL(refused_with(again), ec::not_running);
  CAF_CHECK_EQUAL(status(id), *answer);
}

CAF_TEST(cancel of a completed sync is not_running) {
  auto id = start_sync();
  complete(id);
  auto before = status(id);
  auto answer = cancel(id);
  CAF_CHECK_EQUAL(refused_with(answer), ec::not_running);
  CAF_CHECK_EQUAL(status(id), before);
}

CAF_TEST(a sync swapping in its rows is neither cancelled nor timed out) {
  auto id = start_sync();
  auto& p = pipeline_of(id);
  p.hold_commit = true;
  report(download_done(id, 1000, 1000));
  report(parse_done(id, 1000, 10));
  report(save_done(id, 10));
  CAF_CHECK_EQUAL(p.commits, 1u);
  auto answer = cancel(id);
  CAF_CHECK_EQUAL(refused_with(answer), ec::not_running);
  CAF_CHECK(!p.job.cancel->load());
  CAF_CHECK(!p.writer.down);
  CAF_CHECK_EQUAL(advance_time(5min), 1u); // the deadline
  sched.run();
  CAF_CHECK_EQUAL(status(id).state, sync_state::saving);
  CAF_CHECK(!p.writer.down);
}

// -- failures ---------------------------------------------------------------------

CAF_TEST(a download failure ends the sync in error with its text) {
  auto id = start_sync();
  report(downloaded(id, 100));
  auto text = std::string{"the server answered 404 Not Found"};
  report_failure(id, stage::download,
                 sheetsync::make_error(ec::http_status, text));
  check_failed(id, text);
}

CAF_TEST(a parse failure ends the sync in error with its text) {
  auto id = start_sync();
  auto& p = pipeline_of(id);
  report(download_done(id, 1000, 1000));
  end(p.stages.downloader);
  report(parsed(id, 200, 3));
  auto text = std::string{"unterminated quoted cell in row 5"};
  report_failure(id, stage::parse, sheetsync::make_error(ec::invalid_csv, text));
  check_failed(id, text);
  CAF_CHECK_EQUAL(p.commits, 0u);
}

CAF_TEST(a save failure ends the sync in error with its text) {
  auto id = start_sync();
  auto& p = pipeline_of(id);
  report(downloaded(id, 400, 1000));
  report(parsed(id, 300, 3));
  report(saved(id, 2));
  auto text = std::string{"cannot write the cache: disk I/O error"};
  report_failure(id, stage::save, sheetsync::make_error(ec::cache_failed, text));
  check_failed(id, text);
  CAF_CHECK_EQUAL(p.commits, 0u);
}

CAF_TEST(a failed commit ends the sync in error with its text) {
  auto id = start_sync();
  auto& p = pipeline_of(id);
  auto text = std::string{"cannot swap the new rows in: database is locked"};
  p.commit_answer = sheetsync::make_error(ec::cache_failed, text);
  report(download_done(id, 1000, 1000));
  end(p.stages.downloader);
  report(parse_done(id, 1000, 10));
  end(p.stages.parser);
  report(save_done(id, 10));
  CAF_CHECK_EQUAL(p.commits, 1u);
  check_failed(id, text);
}

CAF_TEST(a stage dying without reporting ends the sync as stage_failed) {
  auto id = start_sync();
  auto& p = pipeline_of(id);
  report(downloaded(id, 300, 1000));
  end(p.stages.parser, caf::exit_reason::unhandled_exception);
  auto st = status(id);
  CAF_CHECK_EQUAL(st.state, sync_state::error);
  CAF_CHECK(starts_with(st.error, "the parse stage stopped unexpectedly"));
  CAF_CHECK_EQUAL(st.message, "Sync failed: " + st.error);
  CAF_CHECK_EQUAL(published->back(), st);
  CAF_CHECK_EQUAL(p.parser.reason,
                  caf::make_error(caf::exit_reason::unhandled_exception));
  CAF_CHECK(p.downloader.down);
  CAF_CHECK(p.writer.down);
  CAF_CHECK(p.job.cancel->load());
}

CAF_TEST(a downloader dying before it is done ends the sync as stage_failed) {
  auto id = start_sync();
  auto& p = pipeline_of(id);
  report(downloaded(id, 300, 1000));
  end(p.stages.downloader); // ends normally, but without reporting done
  auto st = status(id);
  CAF_CHECK_EQUAL(st.state, sync_state::error);
  CAF_CHECK(starts_with(st.error, "the download stage stopped unexpectedly"));
  CAF_CHECK(p.parser.down);
  CAF_CHECK(p.writer.down);
}

// -- progress -----------------------------------------------------------------------

CAF_TEST(progress walks the phases in order and never goes back) {
  auto id = start_sync();
  auto& p = pipeline_of(id);
  p.commit_answer = uint64_t{10};
  // Downloading (the parser already works on the first chunks).
  report(downloaded(id, 0, 1000));
  for (uint64_t bytes = 100; bytes <= 500; bytes += 100)
    report(downloaded(id, bytes, 1000));
  CAF_CHECK_EQUAL(int{status(id).progress}, 30);
  // A report without the size (nor an estimate) must not take progress back.
  report(downloaded(id, 550));
  CAF_CHECK_EQUAL(int{status(id).progress}, 30);
  report(parsed(id, 300, 3));
  for (uint64_t bytes = 600; bytes <= 1000; bytes += 100)
    report(downloaded(id, bytes, 1000));
  CAF_CHECK_EQUAL(status(id).state, sync_state::downloading);
  CAF_CHECK_EQUAL(int{status(id).progress}, 59);
  // Processing.
  report(download_done(id, 1000, 1000));
  end(p.stages.downloader);
  CAF_CHECK_EQUAL(status(id).state, sync_state::processing);
  report(parsed(id, 600, 6));
  report(saved(id, 3)); // the writer already works on the first batches
  report(parsed(id, 1000, 10));
  CAF_CHECK_EQUAL(status(id).state, sync_state::processing);
  CAF_CHECK_EQUAL(int{status(id).progress}, 79);
  // Saving.
  report(parse_done(id, 1000, 10));
  end(p.stages.parser);
  CAF_CHECK_EQUAL(status(id).state, sync_state::saving);
  report(saved(id, 6));
  report(saved(id, 8));
  CAF_CHECK_EQUAL(p.commits, 0u); // not before save finished
  CAF_CHECK_EQUAL(advance_time(2500ms), 0u);
  // The writer is ready to swap: the coordinator asks it to commit.
  auto writer = p.stages.writer;
  inject((atom::progress, stage_report),
         from(writer).to(coord).with(atom::progress::value, save_done(id, 10)));
  expect((sync_status), from(coord).to(listener).with(_));
  expect((atom::commit), from(coord).to(writer).with(_));
  expect((uint64_t), from(writer).to(coord).with(uint64_t{10}));
  expect((sync_status), from(coord).to(listener).with(_));
  sched.run();
  CAF_CHECK_EQUAL(p.commits, 1u);
  // Everything the subscribers saw.
  auto seen = published_for(id);
  CAF_REQUIRE_GREATER_OR_EQUAL(seen.size(), 4u);
  for (size_t i = 0; i < seen.size(); ++i) {
    auto& st = seen[i];
    int percent = st.progress;
    CAF_MESSAGE(to_string(st.state) << " " << percent);
    switch (st.state) {
      case sync_state::downloading:
        CAF_CHECK_LESS_OR_EQUAL(percent, 59);
        break;
      case sync_state::processing:
        CAF_CHECK_GREATER_OR_EQUAL(percent, 60);
        CAF_CHECK_LESS_OR_EQUAL(percent, 79);
        break;
      case sync_state::saving:
        CAF_CHECK_GREATER_OR_EQUAL(percent, 80);
        CAF_CHECK_LESS_OR_EQUAL(percent, 99);
        break;
      case sync_state::complete:
        CAF_CHECK_EQUAL(percent, 100);
        CAF_CHECK_EQUAL(i, seen.size() - 1);
        break;
      default:
        CAF_ERROR("unexpected state " << to_string(st.state));
    }
    if (i > 0) {
      CAF_CHECK_GREATER_OR_EQUAL(st.progress, seen[i - 1].progress);
      CAF_CHECK_GREATER_OR_EQUAL(rank(st.state), rank(seen[i - 1].state));
    }
  }
  for (auto x : {sync_state::downloading, sync_state::processing,
                 sync_state::saving, sync_state::complete})
    CAF_CHECK(std::any_of(seen.begin(), seen.end(),
                          [x](auto& st) { return st.state == x; }));
  // The final status carries the stats.
  auto final_status = status(id);
  CAF_CHECK_EQUAL(seen.back(), final_status);
  CAF_CHECK_EQUAL(final_status.state, sync_state::complete);
  CAF_CHECK_EQUAL(int{final_status.progress}, 100);
  CAF_CHECK_EQUAL(final_status.bytes, 1000u);
  CAF_CHECK_EQUAL(final_status.rows, 10u);
  CAF_CHECK_EQUAL(final_status.message, "Synced 10 rows (1000 B) in 2.5 s");
  CAF_CHECK_EQUAL(final_status.error, "");
  CAF_CHECK_EQUAL(final_status.finished_ms, start_wall_ms + 2500);
  CAF_CHECK(p.writer.down);
}

CAF_TEST(durations come from the actor clock when the wall clock steps) {
  auto id = start_sync();
  auto& p = pipeline_of(id);
  p.commit_answer = uint64_t{10};
  report(download_done(id, 1000, 1000));
  end(p.stages.downloader);
  // The wall clock steps back an hour (NTP, an administrator) while 2.5 s pass.
  *wall_step = -3'600'000;
  CAF_CHECK_EQUAL(advance_time(2500ms), 0u);
  report(parse_done(id, 1000, 10));
  end(p.stages.parser);
  report(save_done(id, 10));
  auto st = status(id);
  CAF_REQUIRE_EQUAL(st.state, sync_state::complete);
  CAF_CHECK_EQUAL(st.message, "Synced 10 rows (1000 B) in 2.5 s");
  CAF_CHECK_EQUAL(st.started_ms, start_wall_ms);
  CAF_CHECK_EQUAL(st.finished_ms - st.started_ms, 2500);
  CAF_CHECK_EQUAL(st.updated_ms, st.finished_ms);
  for (auto& x : published_for(id))
    CAF_CHECK_GREATER_OR_EQUAL(x.updated_ms, x.started_ms);
  // A queued sync cancelled after the clock jumped a day ahead: 4 s, not a day.
  CAF_CHECK_EQUAL(advance_time(3s), 0u);
  start_sync("sheet");
  start_sync("other");
  auto queued = start_sync("third");
  *wall_step += 86'400'000;
  CAF_CHECK_EQUAL(advance_time(4s), 0u);
  auto cancelled = cancel(queued);
  CAF_REQUIRE(cancelled);
  CAF_CHECK_EQUAL(cancelled->finished_ms - cancelled->started_ms, 4000);
}

CAF_TEST(progress of a download of unknown size stays below sixty) {
  auto id = start_sync();
  uint8_t last = 0;
  for (uint64_t mib = 1; mib <= 256; mib *= 2) {
    report(downloaded(id, mib << 20));
    auto st = status(id);
    CAF_CHECK_EQUAL(st.state, sync_state::downloading);
    CAF_CHECK_LESS_OR_EQUAL(int{st.progress}, 59);
    CAF_CHECK_GREATER_OR_EQUAL(st.progress, last);
    last = st.progress;
  }
  CAF_CHECK_GREATER(int{last}, 0);
  report(download_done(id, 300u << 20));
  CAF_CHECK_EQUAL(status(id).state, sync_state::processing);
  CAF_CHECK_GREATER_OR_EQUAL(int{status(id).progress}, 60);
}

CAF_TEST(without a size the previous sync gives the estimate) {
  auto first = start_sync();
  complete(first, 1000, 10);
  CAF_CHECK_EQUAL(advance_time(3s), 0u);
  auto next = try_start();
  if (!next)
    CAF_MESSAGE("refused: " << error_text(error_of(next)));
  CAF_CHECK_EQUAL(refused_with(next), ec::none);
  if (!next)
    return;
  report(downloaded(*next, 500)); // no Content-Length this time
  CAF_CHECK_EQUAL(int{status(*next).progress}, 30); // 500 of 1000 -> 30 of 60
}

CAF_TEST(a download past the estimate still publishes its byte count) {
  auto first = start_sync();
  complete(first, 1000, 10);
  CAF_CHECK_EQUAL(advance_time(3s), 0u);
  auto id = start_sync();
  report(downloaded(id, 2000)); // past the estimate: 59 %
  CAF_CHECK_EQUAL(int{status(id).progress}, 59);
  auto seen = published->size();
  report(downloaded(id, 4000)); // same percentage, a few bytes more: quiet
  CAF_CHECK_EQUAL(published->size(), seen);
  report(downloaded(id, (1u << 20) + 2000)); // a MiB more: published
  CAF_REQUIRE_EQUAL(published->size(), seen + 1);
  CAF_CHECK_EQUAL(published->back().bytes, (1u << 20) + 2000);
  CAF_CHECK_EQUAL(int{published->back().progress}, 59);
  report(downloaded(id, (1u << 20) + 3000)); // a moment later: quiet
  CAF_CHECK_EQUAL(published->size(), seen + 1);
  advance_time(500ms); // half a second later: published
  report(downloaded(id, (1u << 20) + 4000));
  CAF_REQUIRE_EQUAL(published->size(), seen + 2);
  CAF_CHECK_EQUAL(published->back().bytes, (1u << 20) + 4000);
}

// -- late messages from an ended sync ---------------------------------------------

CAF_TEST(late reports from an ended sync change nothing) {
  auto old_id = start_sync();
  report(downloaded(old_id, 500, 1000));
  auto old_answer = cancel(old_id);
  CAF_REQUIRE(old_answer);
  auto old_final = *old_answer;
  auto& old = pipeline_of(old_id);
  CAF_CHECK_EQUAL(advance_time(3s), 0u);
  auto id = start_sync();
  auto& p = pipeline_of(id);
  report(downloaded(id, 100, 1000));
  auto before = status(id);
  auto seen = published->size();
  // The old stages' last words arrive after the end.
  report(downloaded(old_id, 1000, 1000));
  report(download_done(old_id, 1000, 1000));
  report(parse_done(old_id, 1000, 10));
  report(save_done(old_id, 10));
  report_failure(old_id, stage::parse,
                 sheetsync::make_error(ec::invalid_csv, "too late"));
  CAF_CHECK_EQUAL(published->size(), seen);
  CAF_CHECK_EQUAL(status(old_id), old_final);
  CAF_CHECK_EQUAL(status(id), before);
  CAF_CHECK_EQUAL(old.commits, 0u);
  CAF_CHECK_EQUAL(p.commits, 0u);
  CAF_CHECK(!p.downloader.down);
  CAF_CHECK(!p.parser.down);
  CAF_CHECK(!p.writer.down);
  // t0 + 5 min: the old sync's deadline and eviction fire; the new sync (its
  // deadline at t0 + 5 min 3 s) runs on untouched.
  CAF_CHECK_EQUAL(advance_time(4min + 57s), 2u);
  sched.run();
  CAF_CHECK_EQUAL(status(id), before);
  CAF_CHECK_EQUAL(published->size(), seen);
  auto gone = status_of(old_id);
  CAF_CHECK_EQUAL(refused_with(gone), ec::unknown_sync);
  CAF_CHECK_EQUAL(advance_time(3s), 1u);
  sched.run();
  CAF_CHECK_EQUAL(status(id).state, sync_state::error);
}

// -- status of the latest sync -----------------------------------------------------

CAF_TEST(status of the empty id is idle and then the latest sync) {
  auto idle = status("");
  CAF_CHECK_EQUAL(idle.state, sync_state::idle);
  CAF_CHECK_EQUAL(idle.id, "");
  CAF_CHECK_EQUAL(idle.source, "sheet");
  CAF_CHECK_EQUAL(int{idle.progress}, 0);
  auto first = start_sync();
  report(downloaded(first, 100, 1000));
  CAF_CHECK_EQUAL(status(""), status(first));
  CAF_REQUIRE(cancel(first));
  CAF_CHECK_EQUAL(status("").state, sync_state::cancelled);
  CAF_CHECK_EQUAL(status(""), status(first));
  CAF_CHECK_EQUAL(advance_time(3s), 0u);
  auto second = start_sync();
  CAF_CHECK_EQUAL(status("").id, second);
  CAF_CHECK_EQUAL(status(""), status(second));
}

// -- several sources: parallel limit and queue ------------------------------------

CAF_TEST(different sources sync in parallel up to the limit and the rest queue) {
  auto a = start_sync("sheet");
  auto b = start_sync("other");
  CAF_CHECK_EQUAL(status(a).state, sync_state::downloading);
  CAF_CHECK_EQUAL(status(b).state, sync_state::downloading);
  CAF_CHECK_EQUAL(pipelines->size(), 2u);
  // The limit is two: the third source waits, idle and "queued".
  auto c = start_sync("third");
  auto queued = status(c);
  CAF_CHECK_EQUAL(queued.state, sync_state::idle);
  CAF_CHECK_EQUAL(queued.message, "queued");
  CAF_CHECK_EQUAL(queued.source, "third");
  CAF_CHECK_EQUAL(pipelines->size(), 2u);
  CAF_CHECK_EQUAL(published->back(), queued);
  // A queued source is busy with its queued id.
  CAF_CHECK_EQUAL(advance_time(3s), 0u);
  auto again = try_start("third");
  CAF_CHECK_EQUAL(refused_with(again), ec::busy);
  CAF_CHECK_EQUAL(busy_id(error_of(again)), c);
  // A slot frees: the queued sync runs.
  complete(b);
  CAF_CHECK_EQUAL(pipelines->size(), 3u);
  CAF_CHECK_EQUAL(status(c).state, sync_state::downloading);
  CAF_CHECK_EQUAL(pipeline_of(c).job.url, "https://sheets.example/third.csv");
  CAF_CHECK_EQUAL(status(a).state, sync_state::downloading);
}

CAF_TEST(queued syncs run first come first served) {
  auto a = start_sync("sheet");
  auto b = start_sync("other");
  auto c = start_sync("third");
  CAF_REQUIRE(cancel(a));
  // "third" took the free slot; "sheet" can queue again after its cooldown.
  CAF_CHECK_EQUAL(status(c).state, sync_state::downloading);
  CAF_CHECK_EQUAL(advance_time(3s), 0u);
  auto d = start_sync("sheet");
  CAF_CHECK_EQUAL(status(d).message, "queued");
  CAF_REQUIRE(cancel(b));
  CAF_CHECK_EQUAL(status(d).state, sync_state::downloading);
}

CAF_TEST(a queued sync can be cancelled before it runs) {
  start_sync("sheet");
  start_sync("other");
  auto c = start_sync("third");
  auto st = cancel(c);
  CAF_REQUIRE(st);
  CAF_CHECK_EQUAL(st->state, sync_state::cancelled);
  CAF_CHECK_EQUAL(status(c).state, sync_state::cancelled);
  CAF_CHECK_NOT_EQUAL(status(c).finished_ms, 0);
  CAF_CHECK_EQUAL(published->back(), status(c));
  CAF_CHECK_EQUAL(refused_with(cancel(c)), ec::not_running);
  // It never runs, even when a slot frees.
  auto& first = *pipelines->front();
  CAF_REQUIRE(cancel(first.job.id));
  CAF_CHECK_EQUAL(pipelines->size(), 2u);
  CAF_CHECK_EQUAL(status(c).state, sync_state::cancelled);
}

CAF_TEST(the cooldown is per source) {
  auto a = start_sync("sheet");
  CAF_REQUIRE(cancel(a));
  CAF_CHECK_EQUAL(refused_with(try_start("sheet")), ec::cooldown);
  CAF_CHECK_EQUAL(refused_with(try_start("other")), ec::none);
}

CAF_TEST(last answers the running or latest sync of a source) {
  auto idle = ask<sync_status>(atom::last::value, std::string{"other"});
  CAF_REQUIRE(idle);
  CAF_CHECK_EQUAL(idle->state, sync_state::idle);
  CAF_CHECK_EQUAL(idle->source, "other");
  CAF_CHECK_EQUAL(idle->id, "");
  auto a = start_sync("sheet");
  auto b = start_sync("other");
  auto last_b = ask<sync_status>(atom::last::value, std::string{"other"});
  CAF_REQUIRE(last_b);
  CAF_CHECK_EQUAL(last_b->id, b);
  auto last_default = ask<sync_status>(atom::last::value, std::string{});
  CAF_REQUIRE(last_default);
  CAF_CHECK_EQUAL(last_default->id, a);
  auto unknown = ask<sync_status>(atom::last::value, std::string{"nope"});
  CAF_CHECK_EQUAL(refused_with(unknown), ec::invalid_argument);
  CAF_CHECK(contains(error_text(error_of(unknown)), "sheet, other, third"));
}

CAF_TEST(a listener subscribed to one sync hears only that sync) {
  auto a = start_sync("sheet");
  auto b = start_sync("other");
  auto seen = std::make_shared<std::vector<sync_status>>();
  auto only_b = sys.spawn(status_listener, seen);
  self->send(coord, atom::subscribe::value, only_b, b);
  sched.run();
  // Its current status at once, then only its changes.
  CAF_REQUIRE_EQUAL(seen->size(), 1u);
  CAF_CHECK_EQUAL(seen->back(), status(b));
  report(downloaded(a, 500, 1000));
  CAF_CHECK_EQUAL(seen->size(), 1u);
  report(downloaded(b, 500, 1000));
  CAF_REQUIRE_EQUAL(seen->size(), 2u);
  CAF_CHECK_EQUAL(seen->back().id, b);
  CAF_CHECK_EQUAL(int{seen->back().progress}, 30);
  caf::anon_send_exit(only_b, caf::exit_reason::user_shutdown);
}

CAF_TEST(sources lists every source with its running and queued sync) {
  auto a = start_sync("sheet");
  start_sync("other");
  auto c = start_sync("third");
  auto infos = ask<std::vector<source_info>>(caf::get_atom::value,
                                             atom::sources::value);
  CAF_REQUIRE(infos);
  CAF_REQUIRE_EQUAL(infos->size(), 3u);
  CAF_CHECK_EQUAL((*infos)[0].name, "sheet");
  CAF_CHECK_EQUAL((*infos)[0].running_id, a);
  CAF_CHECK(!(*infos)[0].queued);
  CAF_CHECK_EQUAL((*infos)[0].last.id, a);
  CAF_CHECK_EQUAL((*infos)[0].access, "export");
  CAF_CHECK_EQUAL((*infos)[2].running_id, c);
  CAF_CHECK((*infos)[2].queued);
}

// -- retries ---------------------------------------------------------------------

CAF_TEST(a rate-limited download is retried after Retry-After) {
  auto id = start_sync();
  auto& first = pipeline_of(id);
  report(downloaded(id, 100, 1000));
  report_failure(id, stage::download,
                 make_http_error(429, 7, "the server answered HTTP 429"));
  auto st = status(id);
  CAF_CHECK_EQUAL(st.state, sync_state::downloading);
  CAF_CHECK(contains(st.message, "retrying in 7 s (attempt 2 of 5)"));
  CAF_CHECK(contains(st.message, "429"));
  CAF_CHECK_EQUAL(published->back(), st);
  // The failed attempt's stages are stopped (its staging is dropped).
  CAF_CHECK(first.job.cancel->load());
  CAF_CHECK(first.downloader.down);
  CAF_CHECK(first.writer.down);
  // Not a moment before Retry-After.
  CAF_CHECK_EQUAL(advance_time(6999ms), 0u);
  CAF_CHECK_EQUAL(pipelines->size(), 1u);
  CAF_CHECK_EQUAL(advance_time(1ms), 1u);
  sched.run();
  CAF_REQUIRE_EQUAL(pipelines->size(), 2u);
  auto& second = *pipelines->back();
  CAF_CHECK_EQUAL(second.job.id, id);
  CAF_CHECK(!second.job.cancel->load());
  CAF_CHECK(contains(status(id).message, "(attempt 2 of 5)"));
  // Progress never went back.
  CAF_CHECK_GREATER_OR_EQUAL(status(id).progress, st.progress);
  // Late words of the first attempt change nothing.
  auto before = status(id);
  inject((atom::failed, std::string, stage, caf::error),
         from(caf::actor_cast<caf::strong_actor_ptr>(first.stages.parser))
           .to(coord)
           .with(atom::failed::value, id, stage::parse,
                 sheetsync::make_error(ec::invalid_csv, "late")));
  sched.run();
  CAF_CHECK_EQUAL(status(id), before);
  complete(id);
  CAF_CHECK_EQUAL(status(id).state, sync_state::complete);
}

CAF_TEST(server errors back off exponentially and give up after the last attempt) {
  auto id = start_sync();
  std::vector<int> waited;
  for (int attempt = 1; attempt <= 5; ++attempt) {
    CAF_REQUIRE_EQUAL(pipelines->size(), static_cast<size_t>(attempt));
    report_failure(id, stage::download,
                   make_http_error(503, 0, "the server answered HTTP 503"));
    if (attempt == 5)
      break;
    int ms = 0;
    while (pipelines->size() == static_cast<size_t>(attempt) && ms < 60000) {
      advance_time(1ms);
      sched.run();
      ++ms;
    }
    waited.push_back(ms);
  }
  // 1 s, 2 s, 4 s, 8 s (jitter pinned to 0).
  CAF_CHECK_EQUAL(waited, std::vector<int>({1000, 2000, 4000, 8000}));
  auto st = status(id);
  CAF_CHECK_EQUAL(st.state, sync_state::error);
  CAF_CHECK(contains(st.error, "503"));
  CAF_CHECK(contains(st.error, "gave up after 5 attempts"));
}

CAF_TEST(a not-found answer fails at once without retrying) {
  auto id = start_sync();
  report_failure(id, stage::download,
                 make_http_error(404, 0, "check the spreadsheet id"));
  CAF_CHECK_EQUAL(status(id).state, sync_state::error);
  CAF_CHECK_EQUAL(advance_time(1min), 0u); // no retry timer
  CAF_CHECK_EQUAL(pipelines->size(), 1u);
}

CAF_TEST(a hopeless download failure fails at once without retrying) {
  // A missing file, a redirect loop, a bad URL, a refused certificate: what
  // classify_curl_code calls unfetchable fails the same way every time.
  auto id = start_sync();
  report_failure(id, stage::download,
                 make_error(ec::unfetchable,
                            "cannot read file:///x.csv: the file is missing"));
  auto st = status(id);
  CAF_CHECK_EQUAL(st.state, sync_state::error);
  CAF_CHECK_EQUAL(st.error, "cannot read file:///x.csv: the file is missing");
  CAF_CHECK(!contains(st.message, "retrying"));
  CAF_CHECK_EQUAL(advance_time(1min), 0u); // no retry timer
  CAF_CHECK_EQUAL(pipelines->size(), 1u);
  // A connection failure, by contrast, is tried again.
  CAF_CHECK_EQUAL(advance_time(3s), 0u);
  auto next = start_sync();
  report_failure(next, stage::download,
                 make_error(ec::download_failed, "could not connect"));
  CAF_CHECK(contains(status(next).message, "retrying in 1 s (attempt 2 of 5)"));
  CAF_CHECK_EQUAL(advance_time(1s), 1u);
  sched.run();
  CAF_CHECK_EQUAL(pipelines->size(), 3u);
}

CAF_TEST(no retry is scheduled past the whole-sync limit) {
  auto id = start_sync();
  CAF_CHECK_EQUAL(advance_time(4min), 0u);
  report_failure(id, stage::download,
                 make_http_error(429, 120, "the server answered HTTP 429"));
  auto st = status(id);
  CAF_CHECK_EQUAL(st.state, sync_state::error);
  CAF_CHECK(contains(st.error, "--max-duration"));
  CAF_CHECK_EQUAL(pipelines->size(), 1u);
}

CAF_TEST(a cancel during the backoff ends the sync and no attempt follows) {
  auto id = start_sync();
  report_failure(id, stage::download,
                 make_error(ec::download_failed, "connection reset"));
  CAF_REQUIRE(cancel(id));
  CAF_CHECK_EQUAL(status(id).state, sync_state::cancelled);
  advance_time(10s);
  sched.run();
  CAF_CHECK_EQUAL(pipelines->size(), 1u);
  CAF_CHECK_EQUAL(status(id).state, sync_state::cancelled);
}

// -- bounded memory ----------------------------------------------------------------

CAF_TEST(many syncs leave nothing behind once they are forgotten) {
  using impl = coordinator_actor::stateful_base<coordinator_state>;
  auto& state = deref<impl>(coord).state;
  auto baseline = state.subscribers.size(); // the fixture's listener
  // A client that follows single syncs (as `remote sync` does) and stays.
  auto follower = sys.spawn(status_listener, published);
  auto follow = [&](const std::string& id) {
    self->send(coord, atom::subscribe::value, follower, id);
    sched.run();
  };
  for (int round = 0; round < 20; ++round) {
    auto a = start_sync("sheet");
    auto b = start_sync("other");
    auto c = start_sync("third"); // queued: two run at most
    for (auto& id : {a, b, c})
      follow(id);
    // One completes (and the queued one runs), one fails after a retry, one
    // is cancelled.
    complete(a);
    CAF_REQUIRE_EQUAL(status(c).state, sync_state::downloading);
    report_failure(b, stage::download,
                   make_http_error(503, 0, "the server answered HTTP 503"));
    advance_time(1s);
    sched.run();
    report_failure(b, stage::download,
                   make_error(ec::unfetchable, "too many redirects"));
    CAF_REQUIRE_EQUAL(status(b).state, sync_state::error);
    CAF_REQUIRE(cancel(c));
    // A subscription to an ended or unknown sync adds nothing.
    follow(a);
    follow("sync-never");
    advance_time(3s); // the cooldown
    sched.run();
  }
  CAF_CHECK_EQUAL(state.subscribers.size(), baseline);
  CAF_CHECK_EQUAL(state.running, 0u);
  CAF_CHECK(state.queue.empty());
  for (auto& [name, slot] : state.slots) {
    CAF_CHECK(!slot.active);
    CAF_CHECK(slot.queued_id.empty());
    CAF_CHECK(slot.draining.empty());
  }
  // Finished syncs stay until evicted, then nothing of them is left.
  CAF_CHECK_EQUAL(state.syncs.size(), 60u);
  advance_time(5min);
  sched.run();
  CAF_CHECK_EQUAL(state.syncs.size(), 0u);
  // One slot per source, nothing more.
  CAF_CHECK_EQUAL(state.slots.size(), 3u);
  caf::anon_send_exit(follower, caf::exit_reason::user_shutdown);
  sched.run();
}

// -- unchanged content -------------------------------------------------------------

CAF_TEST(a sync whose content equals the cache completes as unchanged) {
  auto id = start_sync();
  auto& p = pipeline_of(id);
  p.commit_answer = uint64_t{10};
  report(download_done(id, 1000, 1000));
  report(parse_done(id, 1000, 10));
  auto r = save_done(id, 10);
  r.unchanged = true;
  report(r);
  auto st = status(id);
  CAF_CHECK_EQUAL(st.state, sync_state::complete);
  CAF_CHECK_EQUAL(int{st.progress}, 100);
  CAF_CHECK(contains(st.message, "unchanged"));
  CAF_CHECK_EQUAL(p.commits, 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- with a history: what outlives memory ----------------------------------------------

namespace {

struct history_fixture : fixture {
  history_fixture() : fixture(true) {
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(coordinator_history_tests, history_fixture)

CAF_TEST(an evicted or pre-restart sync is answered from the history) {
  auto id = start_sync();
  complete(id);
  auto final_status = status(id);
  CAF_CHECK_EQUAL(recorded->at(id), final_status);
  advance_time(6min);
  sched.run();
  // Forgotten from memory, still answered.
  CAF_CHECK_EQUAL(status(id), final_status);
  // A sync from before a restart, known only to the history.
  sync_status old;
  old.id = "sync-old";
  old.source = "other";
  old.state = sync_state::error;
  old.error = "interrupted by restart";
  old.started_ms = 1;
  (*recorded)[old.id] = old;
  CAF_CHECK_EQUAL(status("sync-old"), old);
  CAF_CHECK_EQUAL(refused_with(status_of("sync-never")), ec::unknown_sync);
  // last() and sources fall back to the history too.
  auto last = ask<sync_status>(atom::last::value, std::string{"other"});
  CAF_REQUIRE(last);
  CAF_CHECK_EQUAL(last->id, "sync-old");
  auto infos = ask<std::vector<source_info>>(caf::get_atom::value,
                                             atom::sources::value);
  CAF_REQUIRE(infos);
  CAF_CHECK_EQUAL((*infos)[0].last.id, id);
  CAF_CHECK_EQUAL((*infos)[1].last.id, "sync-old");
  CAF_CHECK_EQUAL((*infos)[2].last.id, "");
  auto hist = ask<std::vector<sync_status>>(caf::get_atom::value,
                                            atom::history::value,
                                            std::string{}, uint64_t{10});
  CAF_REQUIRE(hist);
  CAF_REQUIRE_EQUAL(hist->size(), 2u);
  CAF_CHECK_EQUAL((*hist)[0].id, id);
  CAF_CHECK_EQUAL((*hist)[1].id, "sync-old");
}

CAF_TEST_FIXTURE_SCOPE_END()


// -- the real parser between a fake downloader and a fake writer -------------------

namespace {

using release_atom = caf::atom_constant<caf::atom("release")>;

/// A downloader stand-in: the test hands it chunks, it asks the parser to take
/// each (a request: the answer is its credit back) and counts the answers.
using feeding_downloader_actor = downloader_actor::extend<
  // Sends a chunk to the parser.
  caf::reacts_to<atom::chunk, std::string>,
  // Tells the parser where a tab starts (title, table).
  caf::reacts_to<atom::tab, std::string, std::string>,
  // Tells the parser the download is complete.
  caf::reacts_to<atom::eof>>;

struct feed_log {
  size_t sent = 0;
  size_t answered = 0;
  std::vector<caf::error> errors;
};

feeding_downloader_actor::behavior_type
feeding_downloader(feeding_downloader_actor::pointer self, parser_actor parser,
                   std::shared_ptr<feed_log> log) {
  return {
    [](atom::step) { CAF_FAIL("feeding downloader: step (the test feeds)"); },
    [=](atom::chunk, std::string& bytes) {
      ++log->sent;
      self->request(parser, caf::infinite, atom::chunk::value, std::move(bytes))
        .then([=](caf::ok_atom) { ++log->answered; },
              [=](caf::error& err) { log->errors.push_back(std::move(err)); });
    },
    [=](atom::tab, std::string& title, std::string& table) {
      self->send(parser, atom::tab::value, std::move(title), std::move(table));
    },
    [=](atom::eof) { self->send(parser, atom::eof::value); },
  };
}

/// A writer stand-in that records batches; while `hold` is set it keeps the
/// answers (the parser's credit) until told to release them.
using recording_writer_actor = cache_writer_actor::extend<
  // Answers every batch held so far.
  caf::reacts_to<release_atom>>;

struct writer_log {
  std::vector<row_batch> batches;
  size_t answered = 0;
  bool eof = false;
  size_t batches_before_eof = 0;
  /// The content hash that came with eof.
  std::string hash;
  /// Tab starts: "title|table|previous hash|batches before it".
  std::vector<std::string> tabs;
  bool hold = false;
  /// Most batches the writer had received but not answered at any time.
  size_t max_outstanding = 0;
};

struct recording_writer_state {
  static inline const char* name = "recording_writer";
  std::deque<caf::typed_response_promise<caf::ok_atom>> held;
};

recording_writer_actor::behavior_type
recording_writer(
  recording_writer_actor::stateful_pointer<recording_writer_state> self,
  std::shared_ptr<writer_log> log) {
  return {
    [=](atom::batch, row_batch& batch) -> caf::result<caf::ok_atom> {
      if (log->eof)
        CAF_FAIL("recording writer: batch after eof");
      log->batches.push_back(std::move(batch));
      log->max_outstanding = std::max(log->max_outstanding,
                                      log->batches.size() - log->answered);
      if (!log->hold) {
        ++log->answered;
        return caf::ok_atom::value;
      }
      self->state.held.push_back(self->make_response_promise<caf::ok_atom>());
      return self->state.held.back();
    },
    [=](atom::tab, std::string& title, std::string& table,
        std::string& previous_hash) {
      log->tabs.push_back(title + "|" + table + "|" + previous_hash + "|"
                          + std::to_string(log->batches.size()));
    },
    [=](atom::eof, std::string& hash) {
      log->eof = true;
      log->batches_before_eof = log->batches.size();
      log->hash = std::move(hash);
    },
    [](atom::commit) -> caf::result<uint64_t> {
      CAF_FAIL("recording writer: commit (the parser never commits)");
    },
    [=](release_atom) {
      for (auto& promise : self->state.held) {
        promise.deliver(caf::ok_atom::value);
        ++log->answered;
      }
      self->state.held.clear();
    },
  };
}

/// A coordinator stand-in that records the parser's reports.
struct report_log {
  std::vector<stage_report> reports;
  std::vector<caf::error> failures;
};

coordinator_actor::behavior_type report_sink(std::shared_ptr<report_log> log) {
  return {
    [](atom::start, const std::string&) -> caf::result<std::string> {
      CAF_FAIL("report sink: start");
    },
    [](atom::status, const std::string&) -> caf::result<sync_status> {
      CAF_FAIL("report sink: status");
    },
    [](atom::cancel, const std::string&) -> caf::result<sync_status> {
      CAF_FAIL("report sink: cancel");
    },
    [](atom::subscribe, const status_listener_actor&) {
      CAF_FAIL("report sink: subscribe");
    },
    [](atom::subscribe, const status_listener_actor&, const std::string&) {
      CAF_FAIL("report sink: subscribe to one sync");
    },
    [=](atom::progress, const stage_report& r) { log->reports.push_back(r); },
    [=](atom::failed, const std::string&, stage, const caf::error& err) {
      log->failures.push_back(err);
    },
    [](atom::forget, const std::string&) { CAF_FAIL("report sink: forget"); },
    [](atom::deadline, const std::string&) {
      CAF_FAIL("report sink: deadline");
    },
    [](caf::get_atom, atom::data, const std::string&, const std::string&,
       uint64_t, uint64_t) -> data_page {
      CAF_FAIL("report sink: data");
      return {};
    },
    [](atom::last, const std::string&) -> caf::result<sync_status> {
      CAF_FAIL("report sink: last");
    },
    [](caf::get_atom, atom::ready) -> caf::result<caf::ok_atom> {
      CAF_FAIL("report sink: ready");
    },
    [](caf::get_atom, atom::sources) -> caf::result<std::vector<source_info>> {
      CAF_FAIL("report sink: sources");
    },
    [](caf::get_atom, atom::history, const std::string&,
       uint64_t) -> caf::result<std::vector<sync_status>> {
      CAF_FAIL("report sink: history");
    },
    [](atom::retry, const std::string&) { CAF_FAIL("report sink: retry"); },
    [](caf::get_atom, atom::sources,
       const std::string&) -> caf::result<source_info> {
      CAF_FAIL("report sink: one source");
    },
    [](caf::put_atom, atom::sources,
       const source_spec&) -> caf::result<source_info> {
      CAF_FAIL("report sink: add source");
    },
    [](atom::update, const source_spec&,
       const std::vector<std::string>&) -> caf::result<source_info> {
      CAF_FAIL("report sink: update source");
    },
    [](caf::delete_atom, atom::sources,
       const std::string&) -> caf::result<caf::ok_atom> {
      CAF_FAIL("report sink: delete source");
    },
    [](atom::check, const source_spec&) -> caf::result<source_check> {
      CAF_FAIL("report sink: check");
    },
  };
}

struct parser_fixture : test_coordinator_fixture<sheetsync::system_config> {
  std::shared_ptr<feed_log> fed = std::make_shared<feed_log>();
  std::shared_ptr<writer_log> written = std::make_shared<writer_log>();
  std::shared_ptr<report_log> reported = std::make_shared<report_log>();
  std::shared_ptr<bool> parser_ended = std::make_shared<bool>(false);
  recording_writer_actor writer;
  coordinator_actor sink;
  parser_actor testee;
  feeding_downloader_actor downloader;

  parser_fixture() {
    writer = sys.spawn(recording_writer, written);
    sink = sys.spawn(report_sink, reported);
    testee = sys.spawn(parser, std::string{"sync-test"},
                       cache_writer_actor{writer}, sink);
    caf::actor_cast<caf::abstract_actor*>(testee)->attach_functor(
      [ended = parser_ended] { *ended = true; });
    downloader = sys.spawn(feeding_downloader, testee, fed);
    sched.run();
  }

  ~parser_fixture() override {
    caf::anon_send_exit(downloader, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(testee, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void feed(std::string bytes) {
    self->send(downloader, atom::chunk::value, std::move(bytes));
    sched.run();
  }

  void feed_eof() {
    self->send(downloader, atom::eof::value);
    sched.run();
  }

  /// Feeds `csv` cut at `cuts`, checking each chunk is answered.
  void feed_cut(const std::string& csv, std::vector<size_t> cuts) {
    cuts.push_back(0);
    cuts.push_back(csv.size());
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    for (size_t i = 1; i < cuts.size(); ++i) {
      feed(csv.substr(cuts[i - 1], cuts[i] - cuts[i - 1]));
      CAF_CHECK_EQUAL(fed->answered, fed->sent);
    }
  }

  /// The rows of all batches the writer got, as strings.
  std::vector<std::vector<std::string>> rows_written() {
    std::vector<std::vector<std::string>> result;
    for (auto& b : written->batches) {
      CAF_CHECK_EQUAL(b.first_row, result.size() + 1);
      append_rows(b, result);
    }
    return result;
  }

  /// The content hash of the batches written, as the table writer computes
  /// it when it hashes them itself.
  std::string hash_of_written() {
    content_hasher hash;
    for (auto& b : written->batches)
      hash.add(b);
    return hash.digest(written->batches.empty()
                         ? std::vector<std::string>{}
                         : written->batches.back().columns);
  }

  void check_small_sheet(const std::string& csv) {
    CAF_CHECK(fed->errors.empty());
    CAF_CHECK(reported->failures.empty());
    CAF_REQUIRE_EQUAL(written->batches.size(), 1u);
    CAF_CHECK(written->eof);
    CAF_CHECK_EQUAL(written->batches_before_eof, 1u);
    CAF_CHECK_EQUAL(written->hash.size(), 64u);
    CAF_CHECK_EQUAL(written->hash, hash_of_written());
    using strings = std::vector<std::string>;
    CAF_CHECK_EQUAL(written->batches[0].columns,
                    (strings{"name", "qty", "note"}));
    auto rows = rows_written();
    CAF_REQUIRE_EQUAL(rows.size(), 4u);
    CAF_CHECK_EQUAL(rows[0], (strings{"apple", "3", "red, round"}));
    CAF_CHECK_EQUAL(rows[1], (strings{"pear", "12", "say \"hi\""}));
    CAF_CHECK_EQUAL(rows[2], (strings{"kiwi", "", "two\nlines"}));
    CAF_CHECK_EQUAL(rows[3], (strings{"\xC3\xBC"
                                      "ber",
                                      "7", "plain"}));
    // Progress reports, the last one says done.
    CAF_REQUIRE(!reported->reports.empty());
    for (auto& r : reported->reports) {
      CAF_CHECK_EQUAL(r.sync_id, "sync-test");
      CAF_CHECK_EQUAL(r.from, stage::parse);
    }
    auto& last = reported->reports.back();
    CAF_CHECK(last.finished);
    CAF_CHECK_EQUAL(last.rows, 4u);
    CAF_CHECK_EQUAL(last.bytes, csv.size());
    CAF_CHECK(*parser_ended);
  }
};

/// A sheet with a BOM, CRLF line ends, quotes, an embedded line break,
/// multi-byte UTF-8 and no final line end.
const std::string small_sheet = "\xEF\xBB\xBF"
                                "name,qty,note\r\n"
                                "apple,3,\"red, round\"\r\n"
                                "\"pear\",12,\"say \"\"hi\"\"\"\r\n"
                                "kiwi,,\"two\nlines\"\r\n"
                                "\xC3\xBC"
                                "ber,7,plain";

} // namespace

CAF_TEST_FIXTURE_SCOPE(parser_tests, parser_fixture)

CAF_TEST(the parser turns awkwardly cut chunks into the sheet rows) {
  auto& csv = small_sheet;
  feed_cut(csv, {
                  1,                               // inside the BOM
                  2,                               // inside the BOM
                  csv.find("\r\n") + 1,            // between CR and LF
                  csv.find("red,") + 4,            // inside a quoted cell
                  csv.find("\"\"hi") + 1,          // inside a doubled quote
                  csv.find("\"\"\"\r\n") + 3,      // after the closing quote
                  csv.find("two\n") + 3,           // before a quoted LF
                  csv.find("\xC3") + 1,            // inside a UTF-8 sequence
                  csv.size() - 1,                  // inside the last cell
                });
  CAF_CHECK(written->batches.empty()); // fewer rows than a batch: no batch yet
  CAF_CHECK(!written->eof);
  feed_eof();
  check_small_sheet(csv);
}

CAF_TEST(the parser takes the sheet one byte at a time) {
  auto& csv = small_sheet;
  std::vector<size_t> cuts;
  for (size_t i = 1; i < csv.size(); ++i)
    cuts.push_back(i);
  feed_cut(csv, cuts);
  feed_eof();
  check_small_sheet(csv);
}

CAF_TEST(the parser holds chunk answers back while the writer holds credit) {
  constexpr size_t rows_per_chunk = 4096; // one full batch per chunk
  constexpr size_t chunks = 10;
  constexpr auto max_in_flight = parser_state::max_in_flight;
  auto row_text = [](size_t row) {
    return "r" + std::to_string(row) + ",v" + std::to_string(row % 7);
  };
  std::vector<std::string> chunk_texts;
  size_t row = 0;
  size_t total_bytes = 0;
  for (size_t i = 0; i < chunks; ++i) {
    std::string text = i == 0 ? "id,value\n" : "";
    for (size_t j = 0; j < rows_per_chunk; ++j)
      text += row_text(++row) + "\n";
    total_bytes += text.size();
    chunk_texts.push_back(std::move(text));
  }
  written->hold = true;
  for (size_t i = 0; i < chunks; ++i) {
    feed(chunk_texts[i]);
    CAF_MESSAGE("chunk " << i + 1 << ": writer got " << written->batches.size()
                         << ", downloader answered " << fed->answered);
    // By value: the macro would keep std::min's reference to a temporary.
    size_t expected_batches = std::min(i + 1, max_in_flight);
    CAF_CHECK_EQUAL(written->batches.size(), expected_batches);
    CAF_CHECK_LESS_OR_EQUAL(written->batches.size() - written->answered,
                            max_in_flight);
  }
  // The writer answered nothing: the parser took what it could hand on and
  // buffer, then held the downloader's credit back.
  CAF_CHECK_EQUAL(fed->sent, chunks);
  CAF_CHECK_LESS(fed->answered, fed->sent);
  CAF_CHECK_GREATER_OR_EQUAL(fed->answered, max_in_flight);
  CAF_CHECK_LESS_OR_EQUAL(fed->answered, 2 * max_in_flight);
  // The writer catches up; the downloader gets its credit back.
  auto release = [this] {
    self->send(writer, release_atom::value);
    sched.run();
  };
  for (size_t round = 0; round < chunks && fed->answered < fed->sent; ++round)
    release();
  CAF_CHECK_EQUAL(fed->answered, fed->sent);
  // The download ends while parsed batches still wait for the writer's
  // credit: they go first, eof after them.
  CAF_CHECK_LESS(written->batches.size(), chunks);
  feed_eof();
  CAF_CHECK(!written->eof);
  for (size_t round = 0; round < chunks && !written->eof; ++round)
    release();
  CAF_CHECK_EQUAL(written->batches.size(), chunks);
  CAF_CHECK(written->eof);
  CAF_CHECK_EQUAL(written->batches_before_eof, chunks);
  // Hashed across batches in order, whatever the credit did.
  CAF_CHECK_EQUAL(written->hash, hash_of_written());
  CAF_CHECK_LESS_OR_EQUAL(written->max_outstanding, max_in_flight);
  CAF_CHECK(fed->errors.empty());
  CAF_CHECK(reported->failures.empty());
  // Every row arrived, in order.
  auto rows = rows_written();
  CAF_REQUIRE_EQUAL(rows.size(), chunks * rows_per_chunk);
  for (size_t i = 0; i < rows.size(); ++i) {
    auto expected = row_text(i + 1);
    auto got = rows[i][0] + "," + rows[i][1];
    if (got != expected) {
      CAF_ERROR("row " << i + 1 << ": " << got << " != " << expected);
      break;
    }
  }
  CAF_REQUIRE(!reported->reports.empty());
  CAF_CHECK(reported->reports.back().finished);
  CAF_CHECK_EQUAL(reported->reports.back().rows, chunks * rows_per_chunk);
  CAF_CHECK_EQUAL(reported->reports.back().bytes, total_bytes);
  CAF_CHECK(*parser_ended);
}

CAF_TEST(the parser starts every tab from its own header) {
  using strings = std::vector<std::string>;
  self->send(downloader, atom::tab::value, std::string{"First"},
             std::string{"book__first"});
  feed("a,b\r\n1,2\r\n");
  // Cut across the tab's ranges: the chunks of one tab are one CSV text.
  feed("3,4\r\n");
  self->send(downloader, atom::tab::value, std::string{"Second"},
             std::string{"book__second"});
  feed("x\r\ny1\r\ny2\r\n");
  self->send(downloader, atom::tab::value, std::string{"Header only"},
             std::string{"book__header_only"});
  feed("h1,h2\r\n");
  feed_eof();
  CAF_CHECK(reported->failures.empty());
  CAF_CHECK(written->eof);
  CAF_REQUIRE_EQUAL(written->batches.size(), 3u);
  // Each tab's rows are numbered from 1 under its own header.
  CAF_CHECK_EQUAL(written->batches[0].columns, (strings{"a", "b"}));
  CAF_CHECK_EQUAL(written->batches[0].rows(), 2u);
  CAF_CHECK_EQUAL(written->batches[1].columns, (strings{"x"}));
  CAF_CHECK_EQUAL(written->batches[1].first_row, 1u);
  CAF_CHECK_EQUAL(written->batches[1].rows(), 2u);
  CAF_CHECK_EQUAL(written->batches[2].columns, (strings{"h1", "h2"}));
  CAF_CHECK_EQUAL(written->batches[2].rows(), 0u);
  // Each tab start comes after the previous tab's batches, with its hash.
  auto hash_of = [](const row_batch& b) {
    content_hasher h;
    h.add(b);
    return h.digest(b.columns);
  };
  CAF_CHECK_EQUAL(written->tabs,
                  (strings{"First|book__first||0",
                           "Second|book__second|"
                             + hash_of(written->batches[0]) + "|1",
                           "Header only|book__header_only|"
                             + hash_of(written->batches[1]) + "|2"}));
  CAF_CHECK_EQUAL(written->hash, hash_of(written->batches[2]));
  // Rows and bytes are summed over the tabs.
  CAF_REQUIRE(!reported->reports.empty());
  CAF_CHECK(reported->reports.back().finished);
  CAF_CHECK_EQUAL(reported->reports.back().rows, 4u);
  CAF_CHECK_EQUAL(reported->reports.back().bytes, 15u + 11u + 7u);
}

CAF_TEST(a tab the parser cannot read fails naming the tab) {
  self->send(downloader, atom::tab::value, std::string{"Good"},
             std::string{"book__good"});
  feed("a\r\n1\r\n");
  self->send(downloader, atom::tab::value, std::string{"Empty"},
             std::string{"book__empty"});
  self->send(downloader, atom::tab::value, std::string{"Never"},
             std::string{"book__never"});
  feed("b\r\n2\r\n");
  feed_eof();
  CAF_REQUIRE_EQUAL(reported->failures.size(), 1u);
  auto text = to_string(reported->failures[0]);
  CAF_CHECK(text.find("tab 'Empty'") != std::string::npos);
  CAF_CHECK(!written->eof);
  CAF_CHECK(*parser_ended);
}

CAF_TEST(an exit stops a long parse within a slice) {
  // 4 MiB in one chunk: parsed slice by slice, so an exit queued behind it
  // (a cancel, the whole-sync deadline) ends the parser after one slice, not
  // after the whole chunk.
  std::string csv = "a,b\n";
  while (csv.size() < (size_t{4} << 20))
    csv += "1,2\n";
  self->send(downloader, atom::chunk::value, csv);
  sched.run_once(); // the downloader asks the parser
  sched.run_once(); // the parser takes the chunk
  caf::anon_send_exit(testee, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK(*parser_ended);
  // One slice is at most one batch: the writer got no more.
  CAF_CHECK_LESS_OR_EQUAL(written->batches.size(), 1u);
  CAF_CHECK(!written->eof);
  for (auto& r : reported->reports)
    CAF_CHECK_LESS(r.bytes, parser_state::slice_bytes + 1);
  CAF_CHECK_EQUAL(fed->answered, 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
