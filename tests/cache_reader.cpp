// Deterministic tests of the cache reader's bounds: how many pages may wait
// for the page reader, and what a client hears when a page takes too long.
// The page reader is a scheduled stand-in that answers only when told. Then
// the real page reader's answers on a real file: readiness, and a cache that
// another connection holds locked.

#define CAF_SUITE cache_reader
// caf/test/dsl.hpp 0.17.6 uses FAIL in request<T>() without defining it.
#define FAIL(msg) CAF_FAIL(msg)

#include <caf/test/dsl.hpp>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/cache_reader.hpp"
#include "messages/error.hpp"
#include "messages/system_config.hpp"
#include "store/sheet_store.hpp"

#include <sqlite3.h>
#include <stdlib.h>

using namespace sheetsync;
using namespace std::chrono_literals;

namespace {

/// Requests the stand-in holds until release() answers them.
struct held_pages {
  std::vector<caf::typed_response_promise<data_page>> promises;
  std::vector<uint64_t> offsets;
  std::vector<caf::typed_response_promise<caf::ok_atom>> ready;
};

/// A page reader that keeps every request open until told to answer one
/// (an index into `held`), counting `pending` down as the real page reader
/// does after each page. Dynamically typed, for that extra message.
caf::behavior holding_reader(caf::event_based_actor* self,
                             std::shared_ptr<held_pages> held,
                             std::shared_ptr<std::atomic<size_t>> pending) {
  return {
    [=](caf::get_atom, atom::data, const std::string&, const std::string&,
        uint64_t, uint64_t offset) -> caf::result<data_page> {
      held->promises.push_back(self->make_response_promise<data_page>());
      held->offsets.push_back(offset);
      return held->promises.back();
    },
    [=](caf::get_atom, atom::ready) -> caf::result<caf::ok_atom> {
      held->ready.push_back(self->make_response_promise<caf::ok_atom>());
      return held->ready.back();
    },
    [=](size_t i) {
      data_page p;
      p.source = "sales";
      p.total = held->offsets[i];
      --*pending;
      held->promises[i].deliver(std::move(p));
    },
  };
}

using answer_log = std::map<uint64_t, caf::expected<data_page>>;

/// Asks `reader` for the page at `offset` and logs the answer.
caf::behavior client(caf::event_based_actor* self, cache_reader_actor reader,
                     std::shared_ptr<answer_log> log, uint64_t offset) {
  self
    ->request(reader, caf::infinite, caf::get_atom::value, atom::data::value,
              std::string{"sales"}, std::string{}, uint64_t{10}, offset)
    .then(
      [=](data_page& p) {
        log->emplace(offset, std::move(p));
        self->quit();
      },
      [=](caf::error& err) {
        log->emplace(offset, std::move(err));
        self->quit();
      });
  return {
    [](int) {
      // nop: only the answer matters
    },
  };
}

struct fixture : test_coordinator_fixture<sheetsync::system_config> {
  std::shared_ptr<held_pages> held = std::make_shared<held_pages>();
  std::shared_ptr<std::atomic<size_t>> pending
    = std::make_shared<std::atomic<size_t>>(0);
  std::shared_ptr<answer_log> answers = std::make_shared<answer_log>();
  caf::actor pages;
  cache_reader_actor reader;

  fixture() {
    pages = sys.spawn(holding_reader, held, pending);
    cache_reader_limits limits;
    limits.max_pending = 2;
    limits.timeout = 5s;
    reader = sys.spawn(cache_reader,
                       caf::actor_cast<cache_reader_actor>(pages), pending,
                       limits);
    sched.run();
  }

  ~fixture() override {
    caf::anon_send_exit(reader, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(pages, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void ask(uint64_t offset) {
    // What the cache reader counts up, the page reader counts down.
    sys.spawn(client, reader, answers, offset);
    sched.run();
  }

  /// Answers the held request at `i` with a page, as the page reader would.
  void release(size_t i) {
    caf::anon_send(pages, i);
    sched.run();
  }

  /// The text of the error answered for `offset` ("" if none).
  std::string refusal(uint64_t offset) {
    auto i = answers->find(offset);
    if (i == answers->end() || i->second)
      return "";
    CAF_CHECK_EQUAL(code_of(i->second.error()), ec::unavailable);
    return error_text(i->second.error());
  }

  bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(cache_reader_tests, fixture)

CAF_TEST(pages beyond the bound are refused at once) {
  for (uint64_t offset : {0, 10, 20})
    ask(offset);
  // Two wait for the page reader; the third is refused without waiting.
  CAF_CHECK_EQUAL(held->offsets, (std::vector<uint64_t>{0, 10}));
  CAF_CHECK_EQUAL(pending->load(), 2u);
  CAF_CHECK_EQUAL(answers->size(), 1u);
  CAF_CHECK(contains(refusal(20), "the cache reader is busy"));
  // Once a page is read, the next request is taken.
  release(0);
  CAF_REQUIRE_EQUAL(answers->count(0), 1u);
  CAF_CHECK(answers->at(0));
  ask(30);
  CAF_CHECK_EQUAL(held->offsets, (std::vector<uint64_t>{0, 10, 30}));
  release(1);
  release(2);
  CAF_CHECK_EQUAL(answers->size(), 4u);
  CAF_CHECK_EQUAL(answers->at(30)->total, 30u);
}

CAF_TEST(a slow page is answered with the cache reader named) {
  ask(0);
  CAF_CHECK_EQUAL(held->offsets.size(), 1u);
  // Not before its time-out.
  sched.advance_time(4s);
  sched.run();
  CAF_CHECK(answers->empty());
  sched.advance_time(1s);
  sched.run();
  CAF_REQUIRE_EQUAL(answers->size(), 1u);
  auto text = refusal(0);
  CAF_CHECK(contains(text, "the cache reader did not answer within 5 s"));
  CAF_CHECK(!contains(text, "coordinator"));
  // The page reader still reads it: it counts until then, so the bound
  // holds for what really waits there.
  CAF_CHECK_EQUAL(pending->load(), 1u);
  ask(10);
  ask(20);
  CAF_CHECK(contains(refusal(20), "the cache reader is busy"));
  release(0);
  release(1);
  CAF_CHECK(answers->at(10));
}

CAF_TEST(readiness is not counted as a page and is timed out too) {
  ask(0);
  ask(10);
  auto req = self->request(reader, caf::infinite, caf::get_atom::value,
                           atom::ready::value);
  // Passed on despite two waiting pages; nobody answers it.
  sched.run();
  CAF_CHECK_EQUAL(held->ready.size(), 1u);
  sched.advance_time(5s);
  sched.run();
  caf::expected<caf::ok_atom> ready{caf::sec::none};
  std::move(req).receive([&](caf::ok_atom x) { ready = x; },
                         [&](caf::error& err) { ready = std::move(err); });
  CAF_REQUIRE(!ready);
  CAF_CHECK(contains(error_text(ready.error()),
                     "the cache reader did not answer within 5 s"));
  release(0);
  release(1);
}

CAF_TEST_FIXTURE_SCOPE_END()

namespace {

/// The real page reader (scheduled here: it blocks only on SQLite) on a cache
/// file in a temporary directory that holds one synced table.
struct file_fixture : test_coordinator_fixture<sheetsync::system_config> {
  std::filesystem::path dir;
  std::string db;
  cache_reader_actor pages;

  file_fixture() {
    auto tmpl = (std::filesystem::temp_directory_path() / "cache_reader_XXXXXX")
                  .string();
    if (mkdtemp(tmpl.data()) == nullptr)
      CAF_FAIL("mkdtemp failed");
    dir = tmpl;
    db = (dir / "cache.db").string();
    failure err;
    auto store = sheet_store::open(db, err);
    CAF_REQUIRE(store != nullptr);
    row_batch rows;
    rows.columns = {"name"};
    rows.data = "ab";
    rows.ends = {1, 2};
    CAF_REQUIRE(store->begin("sales", err));
    CAF_REQUIRE(store->append(rows, err));
    CAF_REQUIRE(store->commit(err));
    pages = sys.spawn(page_reader, db,
                      std::make_shared<std::atomic<size_t>>(0));
  }

  ~file_fixture() override {
    caf::anon_send_exit(pages, caf::exit_reason::user_shutdown);
    sched.run();
    std::filesystem::remove_all(dir);
  }

  caf::expected<caf::ok_atom> ready() {
    auto result = caf::expected<caf::ok_atom>{caf::sec::none};
    auto req = self->request(pages, caf::infinite, caf::get_atom::value,
                             atom::ready::value);
    sched.run();
    std::move(req).receive([&](caf::ok_atom x) { result = x; },
                           [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::expected<data_page> page() {
    auto result = caf::expected<data_page>{caf::sec::none};
    auto req = self->request(pages, caf::infinite, caf::get_atom::value,
                             atom::data::value, std::string{"sales"},
                             std::string{}, uint64_t{10}, uint64_t{0});
    sched.run();
    std::move(req).receive([&](data_page& x) { result = std::move(x); },
                           [&](caf::error& err) { result = std::move(err); });
    return result;
  }
};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(page_reader_tests, file_fixture)

CAF_TEST(ready while the file can be read and not while it is no file) {
  CAF_CHECK(ready());
  CAF_CHECK(page());
  // The path now names a directory: the open connection would still read the
  // old file, but the path is what the service opens next.
  auto aside = dir / "aside.db";
  std::filesystem::rename(db, aside);
  std::filesystem::create_directory(db);
  auto not_ready = ready();
  CAF_REQUIRE(!not_ready);
  CAF_CHECK_EQUAL(code_of(not_ready.error()), ec::cache_failed);
  auto text = error_text(not_ready.error());
  CAF_MESSAGE("not ready: " << text);
  CAF_CHECK(has(text, db));
  CAF_CHECK(has(text, "not a regular file"));
  // Back in place: ready again, and the rows are there.
  std::filesystem::remove(db);
  std::filesystem::rename(aside, db);
  CAF_CHECK(ready());
  auto p = page();
  CAF_REQUIRE(p);
  CAF_CHECK_EQUAL(p->total, 2u);
}

CAF_TEST(a cache locked by another connection: busy with when to retry) {
  // Locked before the page reader opens it (an open connection in WAL mode
  // keeps an exclusive locking mode out).
  sqlite3* other = nullptr;
  CAF_REQUIRE_EQUAL(sqlite3_open(db.c_str(), &other), SQLITE_OK);
  CAF_REQUIRE_EQUAL(sqlite3_exec(other,
                                 "PRAGMA locking_mode = EXCLUSIVE;"
                                 "BEGIN EXCLUSIVE;"
                                 "DELETE FROM \"sales\";",
                                 nullptr, nullptr, nullptr),
                    SQLITE_OK);
  auto p = page();
  CAF_REQUIRE(!p);
  CAF_CHECK_EQUAL(code_of(p.error()), ec::cache_busy);
  auto text = error_text(p.error());
  CAF_MESSAGE("locked: " << text);
  CAF_CHECK(has(text, db));
  CAF_CHECK(has(text, "another process holds the database locked"));
  CAF_CHECK(has(text, "retry in 2 s"));
  auto not_ready = ready();
  CAF_REQUIRE(!not_ready);
  CAF_CHECK_EQUAL(code_of(not_ready.error()), ec::cache_busy);
  // Let go: the old rows again (the delete was never committed).
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  CAF_CHECK(ready());
  p = page();
  CAF_REQUIRE(p);
  CAF_CHECK_EQUAL(p->total, 2u);
}

CAF_TEST_FIXTURE_SCOPE_END()
