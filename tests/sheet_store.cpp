#define CAF_SUITE sheet_store
#include <caf/test/unit_test.hpp>

#include "store/sheet_store.hpp"
#include "parse/column_names.hpp"
#include "store/content_hasher.hpp"
#include "tests/check_msg.hpp"
#include "tests/store_fixture.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <openssl/evp.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace sheetsync;
using namespace sheetsync::test;
using caf::term; // for CAF_CHECK_PASSED / CAF_CHECK_FAILED

namespace {

using rows_t = std::vector<std::vector<std::string>>;

std::string code(const failure& err) {
  return to_string(err.code);
}

/// Cells with the things that break naive stores: empty, quotes, commas,
/// newlines, leading zeros, "NULL", non-ASCII, long text.
std::string sample_cell(size_t row, size_t col) {
  switch ((row + col) % 8) {
    case 0: return "r" + std::to_string(row) + "c" + std::to_string(col);
    case 1: return "";
    case 2: return "say \"hi\", 'you'";
    case 3: return "line1\nline2\r\n";
    case 4: return "007";
    case 5: return "NULL";
    case 6: return "Grüße 🌍 " + std::to_string(row);
    default: return std::string(300 + row % 50, 'x');
  }
}

rows_t sample_rows(size_t first, size_t count, size_t cols,
                   const std::string& tag = "") {
  rows_t rows;
  for (size_t r = first; r < first + count; ++r) {
    std::vector<std::string> row;
    for (size_t c = 0; c < cols; ++c)
      row.push_back(tag + sample_cell(r, c));
    rows.push_back(std::move(row));
  }
  return rows;
}

struct fixture : store_dir {
  fixture() : store_dir("sheet_store") {
    // nop
  }

  std::unique_ptr<sheet_store> open() {
    auto store = sheet_store::open(path, err);
    if (!store)
      CAF_FAIL("open failed: " << err.text);
    return store;
  }

  /// Writes `rows` as one sync, in batches of `batch_rows`.
  void sync(sheet_store& store, const std::string& table,
            const std::vector<std::string>& columns, const rows_t& rows,
            size_t batch_rows = 1000) {
    REQUIRE_OK(store.begin(table, err));
    for (size_t i = 0; i < rows.size(); i += batch_rows) {
      rows_t part(rows.begin() + i,
                  rows.begin() + std::min(rows.size(), i + batch_rows));
      REQUIRE_OK(store.append(make_batch(columns, part, i + 1), err));
    }
    if (rows.empty())
      REQUIRE_OK(store.append(make_batch(columns, {}, 1), err));
    REQUIRE_OK(store.commit(err));
  }

  /// Checks that reading `table` gives exactly `columns` and `rows`.
  void check_table(sheet_store& store, const std::string& table,
                   const std::vector<std::string>& columns,
                   const rows_t& rows) {
    sheet_store::page p;
    // All in one page: no byte cap.
    REQUIRE_OK(store.read(table, rows.size() + 10, 0, p, err, SIZE_MAX));
    CAF_CHECK_EQUAL(p.columns, columns);
    CAF_CHECK_EQUAL(p.total, rows.size());
    CAF_REQUIRE_EQUAL(p.rows.size(), rows.size());
    size_t mismatches = 0;
    for (size_t r = 0; r < rows.size(); ++r)
      if (p.rows[r] != rows[r] && ++mismatches <= 3)
        CAF_CHECK_EQUAL(p.rows[r], rows[r]);
    CAF_CHECK_EQUAL(mismatches, 0u);
  }
};

const std::vector<std::string> abc{"a", "b", "c"};

} // namespace

CAF_TEST_FIXTURE_SCOPE(sheet_store_tests, fixture)

CAF_TEST(write commit and read back) {
  auto store = open();
  auto rows = sample_rows(0, 2500, 3);
  sync(*store, "sales", abc, rows, 1000);
  CAF_CHECK_EQUAL(store->rows_written(), 2500u);
  CAF_CHECK(!store->staging());
  check_table(*store, "sales", abc, rows);
  // Paging: rows 1001..1010 in sheet order.
  sheet_store::page p;
  REQUIRE_OK(store->read("sales", 10, 1000, p, err));
  CAF_CHECK_EQUAL(p.total, 2500u);
  CAF_REQUIRE_EQUAL(p.rows.size(), 10u);
  CAF_CHECK_EQUAL(p.rows[0], rows[1000]);
  CAF_CHECK_EQUAL(p.rows[9], rows[1009]);
  // The schema: _row first, all values TEXT NOT NULL, stored as text.
  raw_db raw{path};
  CAF_CHECK_EQUAL(raw.one("SELECT sql FROM sqlite_master WHERE name='sales'"),
                  "CREATE TABLE \"sales\"(\"_row\" INTEGER PRIMARY KEY, \"a\" "
                  "TEXT NOT NULL DEFAULT '', \"b\" TEXT NOT NULL DEFAULT '', "
                  "\"c\" TEXT NOT NULL DEFAULT '')");
  CAF_CHECK_EQUAL(raw.one("SELECT min(_row) || '-' || max(_row) FROM sales"),
                  "1-2500");
  CAF_CHECK_EQUAL(raw.one("SELECT count(*) FROM sales WHERE typeof(a) != "
                          "'text' OR typeof(b) != 'text'"),
                  "0");
  CAF_CHECK_EQUAL(raw.one("PRAGMA journal_mode"), "wal");
  CAF_CHECK(raw.staging_tables().empty());
}

CAF_TEST(one batch larger than a chunk) {
  auto store = open();
  auto rows = sample_rows(0, sheet_store::chunk_rows * 2 + 17, 2);
  sync(*store, "big", {"x", "y"}, rows, rows.size());
  check_table(*store, "big", {"x", "y"}, rows);
}

CAF_TEST(rows keep the sheet row numbers of their batch) {
  auto store = open();
  REQUIRE_OK(store->begin("gaps", err));
  // Not continuing the previous rows: _row comes from first_row as given.
  REQUIRE_OK(store->append(make_batch({"v"}, {{"a"}, {"b"}}, 5), err));
  REQUIRE_OK(store->append(make_batch({"v"}, {{"c"}}, 7), err));
  REQUIRE_OK(store->append(make_batch({"v"}, {{"d"}}, 10), err));
  REQUIRE_OK(store->commit(err));
  raw_db raw{path};
  CAF_CHECK_EQUAL(raw.query("SELECT _row || '=' || v FROM gaps ORDER BY _row"),
                  (std::vector<std::string>{"5=a", "6=b", "7=c", "10=d"}));
  // Going back fails (the row numbers are unique) and keeps nothing.
  REQUIRE_OK(store->begin("gaps", err));
  REQUIRE_OK(store->append(make_batch({"v"}, {{"x"}, {"y"}}, 1), err));
  CAF_CHECK(!store->append(make_batch({"v"}, {{"z"}}, 2), err));
  CAF_CHECK_EQUAL(code(err), "cache_failed");
  CAF_CHECK(err.text.find(path) != std::string::npos);
  CAF_CHECK(!store->staging());
  CAF_CHECK_EQUAL(raw.query("SELECT v FROM gaps ORDER BY _row"),
                  (std::vector<std::string>{"a", "b", "c", "d"}));
}

CAF_TEST(second sync replaces the first) {
  auto store = open();
  sync(*store, "sales", abc, sample_rows(0, 3000, 3, "old "));
  auto rows = sample_rows(0, 1200, 4, "new ");
  sync(*store, "sales", {"a", "b", "c", "d"}, rows, 500);
  check_table(*store, "sales", {"a", "b", "c", "d"}, rows);
  // Other tables stay.
  sync(*store, "other", {"k"}, {{"1"}});
  check_table(*store, "sales", {"a", "b", "c", "d"}, rows);
  check_table(*store, "other", {"k"}, {{"1"}});
  // Reopening keeps everything.
  store.reset();
  store = open();
  check_table(*store, "sales", {"a", "b", "c", "d"}, rows);
}

CAF_TEST(header only sheet commits an empty table) {
  auto store = open();
  sync(*store, "sales", abc, sample_rows(0, 10, 3));
  sync(*store, "sales", {"x", "y"}, {});
  check_table(*store, "sales", {"x", "y"}, {});
  // Nothing appended at all is not a sheet: the old table stays.
  REQUIRE_OK(store->begin("sales", err));
  CAF_CHECK(!store->commit(err));
  CAF_CHECK_EQUAL(code(err), "cache_failed");
  check_table(*store, "sales", {"x", "y"}, {});
}

CAF_TEST(abort keeps the previous table byte for byte) {
  auto store = open();
  // Write aside at once, not holding batches back.
  store->defer_bytes(0);
  sync(*store, "sales", abc, sample_rows(0, 3000, 3, "old "));
  raw_db raw{path};
  auto before = raw.dump("sales");
  CAF_REQUIRE_EQUAL(before.size(), 3001u);
  REQUIRE_OK(store->begin("sales", err));
  // More than a chunk, so that some of it was committed aside; and a new
  // column.
  auto rows = sample_rows(0, sheet_store::chunk_rows + 100, 3, "new ");
  REQUIRE_OK(store->append(make_batch(abc, rows, 1), err));
  REQUIRE_OK(store->append(
    make_batch({"a", "b", "c", "d"}, sample_rows(0, 5, 4), rows.size() + 1),
    err));
  CAF_CHECK_EQUAL(store->rows_written(), rows.size() + 5);
  CAF_CHECK_EQUAL(raw.staging_tables().size(), 1u);
  store->abort();
  CAF_CHECK(!store->staging());
  CAF_CHECK_EQUAL(raw.dump("sales"), before);
  CAF_CHECK(raw.staging_tables().empty());
  // The destructor aborts too.
  REQUIRE_OK(store->begin("sales", err));
  REQUIRE_OK(store->append(make_batch(abc, sample_rows(0, 10, 3), 1), err));
  store.reset();
  CAF_CHECK_EQUAL(raw.dump("sales"), before);
  CAF_CHECK(raw.staging_tables().empty());
}

CAF_TEST(readers see the old data until commit) {
  auto writer = open();
  auto old_rows = sample_rows(0, 2000, 3, "old ");
  sync(*writer, "sales", abc, old_rows);
  auto reader = open();
  raw_db raw{path};
  auto new_rows = sample_rows(0, 3000, 3, "new ");
  REQUIRE_OK(writer->begin("sales", err));
  REQUIRE_OK(writer->append(make_batch(abc, new_rows, 1), err));
  check_table(*reader, "sales", abc, old_rows);
  // A read transaction open across the commit keeps its snapshot.
  CAF_REQUIRE(raw.exec("BEGIN"));
  CAF_CHECK_EQUAL(raw.one("SELECT count(*) FROM sales"), "2000");
  REQUIRE_OK(writer->commit(err));
  CAF_CHECK_EQUAL(raw.one("SELECT count(*) FROM sales"), "2000");
  CAF_CHECK_EQUAL(raw.one("SELECT a FROM sales WHERE _row = 1"),
                  old_rows[0][0]);
  CAF_REQUIRE(raw.exec("COMMIT"));
  CAF_CHECK_EQUAL(raw.one("SELECT count(*) FROM sales"), "3000");
  check_table(*reader, "sales", abc, new_rows);
}

CAF_TEST(a store opened mid sync keeps the live staging table) {
  auto writer = open();
  REQUIRE_OK(writer->begin("sales", err));
  REQUIRE_OK(writer->append(make_batch(abc, sample_rows(0, 10, 3), 1), err));
  auto second = open();
  // Another sync of the same table in this process is refused.
  CAF_CHECK(!second->begin("sales", err));
  CAF_CHECK_EQUAL(code(err), "cache_failed");
  auto rows = sample_rows(0, 20, 3);
  REQUIRE_OK(writer->append(
    make_batch(abc, rows_t(rows.begin() + 10, rows.end()), 11), err));
  REQUIRE_OK(writer->commit(err));
  check_table(*second, "sales", abc, rows);
  // Once committed, the table may be written again.
  REQUIRE_OK(second->begin("sales", err));
  second->abort();
}

CAF_TEST(history writes go through while a sync writes) {
  auto writer = open();
  auto history = open();
  std::atomic<bool> syncing{true};
  std::atomic<int> during{0};
  std::atomic<int> failures{0};
  double worst_ms = 0;
  std::thread t{[&] {
    failure e;
    for (int i = 0; syncing; ++i) {
      sync_record r;
      r.id = "run-" + std::to_string(i);
      r.source = "sales";
      r.status = "running";
      r.started_ms = i;
      auto start = std::chrono::steady_clock::now();
      if (!history->put_run(r, e))
        ++failures;
      worst_ms = std::max(
        worst_ms, std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count());
      if (syncing)
        ++during;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }};
  // One huge batch: the chunks inside must let the history in between them,
  // not only after the whole append (one transaction for all 8 chunks would
  // let at most one write finish before the commit). Counted, not timed: the
  // worst wait is printed only, as a loaded machine stretches any one write.
  std::vector<std::string> cols{"a", "b", "c", "d"};
  row_batch big;
  big.columns = cols;
  for (size_t i = 0; i < 8 * sheet_store::chunk_rows * cols.size(); ++i) {
    big.data += "cell" + std::to_string(i);
    big.ends.push_back(static_cast<uint32_t>(big.data.size()));
  }
  auto start = std::chrono::steady_clock::now();
  REQUIRE_OK(writer->begin("sales", err));
  REQUIRE_OK(writer->append(big, err));
  REQUIRE_OK(writer->commit(err));
  auto sync_ms = std::chrono::duration<double, std::milli>(
                   std::chrono::steady_clock::now() - start)
                   .count();
  syncing = false;
  t.join();
  CAF_MESSAGE("sync took " << sync_ms << " ms; " << during
                           << " history writes during it, worst "
                           << worst_ms << " ms");
  CAF_CHECK_EQUAL(failures.load(), 0);
  CAF_CHECK_GREATER(during.load(), 3);
  CAF_CHECK_EQUAL(writer->rows_written(), big.rows());
}

CAF_TEST(killed mid write keeps the previous table) {
  std::string hash_before;
  {
    auto store = open();
    sync(*store, "sales", abc, sample_rows(0, 3000, 3, "old "));
    hash_before = store->stored_hash("sales");
  }
  CAF_REQUIRE_EQUAL(hash_before.size(), 64u);
  std::vector<std::string> before;
  std::string meta_before;
  {
    raw_db raw{path};
    before = raw.dump("sales");
    meta_before = raw.one("SELECT * FROM sync_meta WHERE name = 'sales'");
  }
  CAF_REQUIRE_EQUAL(before.size(), 3001u);
  auto check_intact = [&](const char* how) {
    CAF_MESSAGE("after " << how);
    auto store = open();
    raw_db raw{path};
    CAF_CHECK_EQUAL(raw.one("PRAGMA integrity_check"), "ok");
    CAF_CHECK(raw.staging_tables().empty());
    CAF_CHECK(raw.dump("sales") == before);
    // The hash still belongs to the table.
    CAF_CHECK_EQUAL(raw.one("SELECT * FROM sync_meta WHERE name = 'sales'"),
                    meta_before);
    CAF_CHECK_EQUAL(store->stored_hash("sales"), hash_before);
    // And the cache works on.
    auto rows = sample_rows(0, 50, 2);
    sync(*store, "later", {"p", "q"}, rows);
    check_table(*store, "later", {"p", "q"}, rows);
    REQUIRE_OK(store->begin("later", err));
    store->abort();
  };
  // 1: the child appends (committing chunks aside) and _exit()s without
  // commit() or the destructor.
  auto child = fork();
  CAF_REQUIRE(child >= 0);
  if (child == 0) {
    failure e;
    auto store = sheet_store::open(path, e);
    if (!store)
      _exit(2);
    store->defer_bytes(0);
    if (!store->begin("sales", e))
      _exit(2);
    for (uint64_t i = 0; i < 3; ++i)
      if (!store->append(make_batch(abc,
                                    sample_rows(i * 30000, 30000, 3, "new "),
                                    1 + i * 30000),
                         e))
        _exit(3);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  CAF_REQUIRE(WIFEXITED(status));
  CAF_REQUIRE_EQUAL(WEXITSTATUS(status), 0);
  {
    raw_db raw{path};
    // The precondition of the test: rows were committed aside, in a table
    // named after the dead process.
    auto staged = raw.staging_tables();
    CAF_REQUIRE_EQUAL(staged.size(), 1u);
    CAF_CHECK_EQUAL(staged[0], "_staging_" + std::to_string(child) + "_sales");
    CAF_CHECK_EQUAL(raw.one("SELECT count(*) FROM " + staged[0]), "90000");
  }
  check_intact("_exit");
  // 2: the parent SIGKILLs the child at some point while it writes in a
  // loop, most likely inside a transaction.
  int ready[2];
  CAF_REQUIRE(pipe(ready) == 0);
  auto parent = getpid();
  child = fork();
  CAF_REQUIRE(child >= 0);
  if (child == 0) {
    // Never outlive a parent that failed before killing us.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(5);
    close(ready[0]);
    failure e;
    auto store = sheet_store::open(path, e);
    if (!store)
      _exit(2);
    store->defer_bytes(0);
    if (!store->begin("sales", e))
      _exit(2);
    auto batch = make_batch(abc, sample_rows(0, 20000, 3, "new "), 1);
    for (uint64_t i = 0; i < 500; ++i) {
      batch.first_row = 1 + i * 20000;
      if (!store->append(batch, e))
        _exit(3);
      if (i == 1 && write(ready[1], "x", 1) != 1)
        _exit(4);
    }
    _exit(0);
  }
  close(ready[1]);
  char c;
  CAF_REQUIRE_EQUAL(read(ready[0], &c, 1), 1);
  close(ready[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(37));
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
  CAF_REQUIRE(WIFSIGNALED(status));
  check_intact("SIGKILL");
}

CAF_TEST(columns grow by extension only) {
  auto store = open();
  sync(*store, "sales", {"x"}, {{"keep"}});
  REQUIRE_OK(store->begin("sales", err));
  REQUIRE_OK(store->append(make_batch({"a", "b"}, {{"1", "2"}}, 1), err));
  REQUIRE_OK(
    store->append(make_batch({"a", "b", "c"}, {{"3", "4", "5"}}, 2), err));
  REQUIRE_OK(store->append(make_batch({"a", "b", "c", "d", "e"},
                                      {{"6", "7", "8", "9", "10"}}, 3),
                           err));
  REQUIRE_OK(store->commit(err));
  check_table(*store, "sales", {"a", "b", "c", "d", "e"},
              {{"1", "2", "", "", ""},
               {"3", "4", "5", "", ""},
               {"6", "7", "8", "9", "10"}});
  raw_db raw{path};
  auto good = raw.dump("sales");
  // Not a prefix-extension: renamed, reordered, fewer columns.
  for (auto cols : std::vector<std::vector<std::string>>{
         {"a", "x", "c"}, {"b", "a", "c"}, {"a"}, {"a", "b", "x", "d"}}) {
    REQUIRE_OK(store->begin("sales", err));
    REQUIRE_OK(store->append(make_batch({"a", "b", "c"}, {{"1", "2", "3"}}, 1),
                             err));
    rows_t row{std::vector<std::string>(cols.size(), "v")};
    CAF_CHECK(!store->append(make_batch(cols, row, 2), err));
    CAF_CHECK_EQUAL(code(err), "cache_failed");
    CAF_CHECK(err.text.find("header changed") != std::string::npos);
    CAF_CHECK(!store->staging());
    CAF_CHECK_EQUAL(raw.dump("sales"), good);
  }
  CAF_CHECK(raw.staging_tables().empty());
}

CAF_TEST(odd headers become unique column names) {
  auto store = open();
  std::vector<std::string> header{"name", "", "Name", "_row", "say \"hi\"",
                                  "",     "name_2", "a;DROP TABLE x"};
  rows_t rows{{"1", "2", "3", "4", "5", "6", "7", "8"}};
  sync(*store, "odd", header, rows);
  check_table(*store, "odd",
              {"name", "column_2", "Name_2", "_row_2", "say \"hi\"",
               "column_6", "name_2_2", "a;DROP TABLE x"},
              rows);
  // Growth maps the old columns the same way.
  REQUIRE_OK(store->begin("odd", err));
  REQUIRE_OK(store->append(make_batch({"", "x"}, {{"1", "2"}}, 1), err));
  REQUIRE_OK(store->append(make_batch({"", "x", ""}, {{"3", "4", "5"}}, 2),
                           err));
  REQUIRE_OK(store->commit(err));
  check_table(*store, "odd", {"column_1", "x", "column_3"},
              {{"1", "2", ""}, {"3", "4", "5"}});
}

CAF_TEST(invalid table names are rejected) {
  using strings = std::vector<std::string>;
  for (auto& name : strings{"a", "Sales", "sales-2024_Q1", "9lives",
                            std::string(64, 'x'), "sync_runs2"})
    CHECK_MSG(sheet_store::valid_table_name(name), name);
  for (auto& name :
       strings{"", "_staging_x", "-x", "a b", "a;drop", "a\"b", "a.b", "ä",
               "sync_runs", "SYNC_RUNS", "sync_meta", "Sync_Meta",
               "sqlite_master", "SQLite_x",
               std::string(65, 'x'), std::string("a\0b", 3)})
    CHECK_MSG(!sheet_store::valid_table_name(name), name);
  auto store = open();
  CAF_CHECK(!store->begin("a b", err));
  CAF_CHECK_EQUAL(code(err), "invalid_argument");
  CAF_CHECK(!store->staging());
  CAF_CHECK(!store->begin("sync_runs", err));
  sheet_store::page p;
  CAF_CHECK(!store->read("sync_runs", 10, 0, p, err));
  CAF_CHECK_EQUAL(code(err), "invalid_argument");
  // A valid name that was never synced.
  CAF_CHECK(!store->read("nothing", 10, 0, p, err));
  CAF_CHECK_EQUAL(code(err), "no_data");
  CAF_CHECK(err.text.find("never synced") != std::string::npos);
}

CAF_TEST(misuse is reported) {
  auto store = open();
  CAF_CHECK(!store->append(make_batch({"a"}, {{"1"}}, 1), err));
  CAF_CHECK_EQUAL(code(err), "invalid_argument");
  CAF_CHECK(!store->commit(err));
  CAF_CHECK_EQUAL(code(err), "invalid_argument");
  REQUIRE_OK(store->begin("t", err));
  CAF_CHECK(!store->begin("u", err));
  CAF_CHECK_EQUAL(code(err), "invalid_argument");
  CAF_CHECK(store->staging());
  // A batch whose cells do not fit its columns.
  auto bad = make_batch({"a", "b"}, {{"1", "2"}}, 1);
  bad.ends.push_back(99);
  CAF_CHECK(!store->append(bad, err));
  CAF_CHECK_EQUAL(code(err), "invalid_argument");
  CAF_CHECK(!store->staging());
  REQUIRE_OK(store->begin("t", err));
  bad = make_batch({"a", "b"}, {{"1", "2"}}, 1);
  bad.ends[1] = 99;
  CAF_CHECK(!store->append(bad, err));
  CAF_CHECK_EQUAL(code(err), "invalid_argument");
  raw_db raw{path};
  CAF_CHECK(raw.staging_tables().empty());
}

CAF_TEST(sqlite failures name the cache file) {
  // A path below a regular file can never be created, even by root.
  std::ofstream{dir + "/file"} << "x";
  auto bad = dir + "/file/cache.db";
  CAF_CHECK(sheet_store::open(bad, err) == nullptr);
  CAF_CHECK_EQUAL(code(err), "cache_failed");
  CHECK_MSG(err.text.find(bad) != std::string::npos, err.text);
  CAF_CHECK(sheet_store::open(dir + "/missing/cache.db", err) == nullptr);
  CAF_CHECK_EQUAL(code(err), "cache_failed");
  CAF_CHECK(err.text.find(dir + "/missing/cache.db") != std::string::npos);
  // Not a database.
  std::ofstream{dir + "/junk.db"} << std::string(8192, 'j');
  CAF_CHECK(sheet_store::open(dir + "/junk.db", err) == nullptr);
  CAF_CHECK_EQUAL(code(err), "cache_failed");
  CHECK_MSG(err.text.find(dir + "/junk.db") != std::string::npos
                      && err.text.find("not a database") != std::string::npos,
                    err.text);
  // A write that fails mid-sync: someone else dropped the staging table.
  auto store = open();
  store->defer_bytes(0);
  sync(*store, "sales", abc, sample_rows(0, 100, 3));
  raw_db raw{path};
  auto before = raw.dump("sales");
  REQUIRE_OK(store->begin("sales", err));
  REQUIRE_OK(store->append(make_batch(abc, sample_rows(0, 10, 3), 1), err));
  auto staged = raw.staging_tables();
  CAF_REQUIRE_EQUAL(staged.size(), 1u);
  CAF_REQUIRE(raw.exec("DROP TABLE " + staged[0]));
  CAF_CHECK(!store->append(make_batch(abc, sample_rows(10, 10, 3), 11), err));
  CAF_CHECK_EQUAL(code(err), "cache_failed");
  CHECK_MSG(err.text.find(path) != std::string::npos
                      && err.text.find("no such table") != std::string::npos,
                    err.text);
  CAF_CHECK(!store->staging());
  CAF_CHECK_EQUAL(raw.dump("sales"), before);
}

CAF_TEST(history) {
  auto store = open();
  auto rec = [](std::string id, std::string source, std::string status,
                int64_t started) {
    sync_record r;
    r.id = std::move(id);
    r.source = std::move(source);
    r.status = std::move(status);
    r.started_ms = started;
    return r;
  };
  auto full = rec("s1", "sales", "complete", 1000);
  full.message = "done: 3 rows";
  full.error = "";
  full.updated_ms = 1500;
  full.finished_ms = 2000;
  full.bytes = 5000000000ull;
  full.rows = 3;
  REQUIRE_OK(store->put_run(full, err));
  CAF_CHECK(store->get_run("s1") == full);
  CAF_CHECK(!store->get_run("nope"));
  REQUIRE_OK(store->put_run(rec("s2", "sales", "failed", 3000), err));
  REQUIRE_OK(store->put_run(rec("s3", "sales", "running", 2000), err));
  REQUIRE_OK(store->put_run(rec("o1", "other", "complete", 5000), err));
  auto ids = [](const std::vector<sync_record>& rs) {
    std::vector<std::string> out;
    for (auto& r : rs)
      out.push_back(r.id);
    return out;
  };
  using strings = std::vector<std::string>;
  CAF_CHECK_EQUAL(ids(store->runs("sales", 10)), (strings{"s2", "s3", "s1"}));
  CAF_CHECK_EQUAL(ids(store->runs("sales", 2)), (strings{"s2", "s3"}));
  CAF_CHECK_EQUAL(ids(store->runs("", 10)),
                  (strings{"o1", "s2", "s3", "s1"}));
  CAF_CHECK(store->runs("none", 10).empty());
  // The newest complete one, not the newest one.
  auto last = store->last_complete("sales");
  CAF_REQUIRE(last);
  CAF_CHECK_EQUAL(last->id, "s1");
  CAF_CHECK(!store->last_complete("none"));
  // Replace by id: s3 completes.
  auto s3 = rec("s3", "sales", "complete", 2000);
  s3.finished_ms = 2500;
  s3.rows = 42;
  REQUIRE_OK(store->put_run(s3, err));
  CAF_CHECK(store->get_run("s3") == s3);
  CAF_CHECK_EQUAL(store->runs("sales", 10).size(), 3u);
  last = store->last_complete("sales");
  CAF_REQUIRE(last);
  CAF_CHECK_EQUAL(last->id, "s3");
  // Kept across reopening, and readable from another connection.
  store.reset();
  store = open();
  CAF_CHECK(store->get_run("s1") == full);
  raw_db raw{path};
  CAF_CHECK_EQUAL(raw.one("SELECT count(*) FROM sync_runs"), "4");
  CAF_CHECK_EQUAL(
    raw.one("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
            "tbl_name = 'sync_runs' AND sql LIKE '%source%started_ms%'"),
    "1");
}

// -- content hashes and unchanged data ------------------------------------------

CAF_TEST(content hash is unambiguous and independent of batching) {
  auto hash = [](const std::vector<row_batch>& batches) {
    content_hasher h;
    for (auto& b : batches)
      h.add(b);
    return h.digest(batches.back().columns);
  };
  auto one = hash({make_batch({"x", "y"}, {{"a,b", ""}}, 1)});
  CAF_CHECK_EQUAL(one.size(), 64u);
  CAF_CHECK_EQUAL(one.find_first_not_of("0123456789abcdef"), std::string::npos);
  // A cell's boundaries count.
  CAF_CHECK_NOT_EQUAL(one, hash({make_batch({"x", "y"}, {{"a", ",b"}}, 1)}));
  CAF_CHECK_NOT_EQUAL(one, hash({make_batch({"x", "y"}, {{"a", "b"}}, 1)}));
  CAF_CHECK_NOT_EQUAL(hash({make_batch({"x", "y"}, {{"ab", ""}}, 1)}),
                      hash({make_batch({"x", "y"}, {{"a", "b"}}, 1)}));
  // Header cells too, and where the header ends and the rows begin.
  CAF_CHECK_NOT_EQUAL(hash({make_batch({"x,y"}, {{"a,b"}}, 1)}),
                      hash({make_batch({"x", "y"}, {{"a,b", ""}}, 1)}));
  CAF_CHECK_NOT_EQUAL(hash({make_batch({"x"}, {{"y"}}, 1)}),
                      hash({make_batch({"x", "y"}, {}, 1)}));
  // Row numbers count (gaps in the sheet).
  CAF_CHECK_NOT_EQUAL(hash({make_batch({"x"}, {{"a"}}, 1)}),
                      hash({make_batch({"x"}, {{"a"}}, 2)}));
  // An empty row is a row.
  CAF_CHECK_NOT_EQUAL(hash({make_batch({"x"}, {{"a"}}, 1)}),
                      hash({make_batch({"x"}, {{"a"}, {""}}, 1)}));
  // The same table: however the rows were cut into batches, and wherever
  // the header grew (short rows hold '' in the cache either way).
  auto rows = sample_rows(0, 100, 3);
  std::vector<row_batch> whole{make_batch(abc, rows, 1)};
  std::vector<row_batch> cut;
  for (size_t i = 0; i < rows.size(); i += 7)
    cut.push_back(make_batch(
      abc, rows_t(rows.begin() + i, rows.begin() + std::min(rows.size(), i + 7)),
      i + 1));
  CAF_CHECK_EQUAL(hash(whole), hash(cut));
  CAF_CHECK_EQUAL(hash({make_batch({"a"}, {{"1"}}, 1),
                        make_batch({"a", "b"}, {{"2", "3"}}, 2)}),
                  hash({make_batch({"a", "b"}, {{"1", ""}, {"2", "3"}}, 1)}));
}

CAF_TEST(content hash is the documented encoding whatever the cell sizes) {
  // The encoding spelled out byte by byte (see content_hasher.hpp): a cache
  // synced by an earlier version must keep matching, so any faster encoder
  // has to produce exactly these bytes.
  auto u64 = [](std::string& out, uint64_t x) {
    for (int i = 0; i < 8; ++i)
      out += static_cast<char>((x >> (8 * i)) & 0xff);
  };
  auto reference = [&](const std::vector<row_batch>& batches) {
    std::string bytes;
    for (auto& b : batches)
      for (size_t r = 0; r < b.rows(); ++r) {
        auto n = b.columns.size();
        while (n > 0 && b.cell(r, n - 1).empty())
          --n;
        bytes += 'R';
        u64(bytes, b.first_row + r);
        u64(bytes, n);
        for (size_t c = 0; c < n; ++c) {
          u64(bytes, b.cell(r, c).size());
          bytes += b.cell(r, c);
        }
      }
    auto& header = batches.back().columns;
    bytes += 'H';
    u64(bytes, header.size());
    for (auto& name : column_names(header)) {
      u64(bytes, name.size());
      bytes += name;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
    std::string hex;
    for (unsigned int i = 0; i < len; ++i) {
      hex += "0123456789abcdef"[md[i] >> 4];
      hex += "0123456789abcdef"[md[i] & 0xf];
    }
    return hex;
  };
  auto hash = [](const std::vector<row_batch>& batches) {
    content_hasher h;
    for (auto& b : batches)
      h.add(b);
    return h.digest(batches.back().columns);
  };
  // Cells around the encoder's block sizes (64 bytes, 64 KiB), many rows so
  // that blocks fill up mid-row and mid-cell, empty and trailing empty cells.
  rows_t rows;
  for (size_t i = 0; i < 3000; ++i) {
    auto len = std::vector<size_t>{0, 1, 7, 63, 64, 65, 200, 5000}[i % 8];
    if (i % 997 == 5)
      len = (64 << 10) - 3 + i % 7;
    if (i == 1500)
      len = 200 << 10;
    rows.push_back({std::string(len, static_cast<char>('a' + i % 26)),
                    i % 3 == 0 ? "" : "x", i % 5 == 0 ? "" : std::to_string(i)});
  }
  std::vector<row_batch> batches;
  for (size_t i = 0; i < rows.size(); i += 701)
    batches.push_back(make_batch(
      {"a", "B", "b"},
      rows_t(rows.begin() + i, rows.begin() + std::min(rows.size(), i + 701)),
      i + 1 + (i > 0 ? 10 : 0)));
  CAF_CHECK_EQUAL(hash(batches), reference(batches));
  CAF_CHECK_EQUAL(hash({make_batch({"x"}, {}, 1)}),
                  reference({make_batch({"x"}, {}, 1)}));
  CAF_CHECK_EQUAL(hash({make_batch({"x", "y"}, {{"", ""}, {"a", ""}}, 3)}),
                  reference({make_batch({"x", "y"}, {{"", ""}, {"a", ""}}, 3)}));
}

CAF_TEST(hash is stored with the swap) {
  auto store = open();
  auto rows = sample_rows(0, 2500, 3);
  REQUIRE_OK(store->begin("Sales", err));
  REQUIRE_OK(store->append(make_batch(abc, rows, 1), err));
  auto hash = store->content_hash();
  CAF_CHECK_EQUAL(hash.size(), 64u);
  // Nothing stored before the swap.
  CAF_CHECK_EQUAL(store->stored_hash("Sales"), "");
  raw_db raw{path};
  CAF_CHECK_EQUAL(raw.one("SELECT count(*) FROM sync_meta"), "0");
  REQUIRE_OK(store->commit(err));
  CAF_CHECK(!store->kept());
  CAF_CHECK_EQUAL(store->stored_hash("Sales"), hash);
  CAF_CHECK_EQUAL(store->stored_hash("sales"), hash);
  CAF_CHECK_EQUAL(raw.one("SELECT name || '|' || content_hash || '|' || rows "
                          "FROM sync_meta"),
                  "sales|" + hash + "|2500");
  // Another content, another hash, still one row per table.
  auto other = sample_rows(0, 10, 3, "x");
  sync(*store, "sales", abc, other);
  auto hash2 = store->stored_hash("sales");
  CAF_CHECK_EQUAL(hash2.size(), 64u);
  CAF_CHECK_NOT_EQUAL(hash2, hash);
  CAF_CHECK_EQUAL(raw.one("SELECT count(*) || '|' || max(rows) FROM sync_meta"),
                  "1|10");
  // A failed swap stores no hash: the staging table vanished under us.
  store->defer_bytes(0);
  REQUIRE_OK(store->begin("sales", err));
  REQUIRE_OK(store->append(make_batch(abc, rows, 1), err));
  auto staged = raw.staging_tables();
  CAF_REQUIRE_EQUAL(staged.size(), 1u);
  CAF_REQUIRE(raw.exec("DROP TABLE " + staged[0]));
  CAF_CHECK(!store->commit(err));
  CAF_CHECK_EQUAL(store->stored_hash("sales"), hash2);
  check_table(*store, "sales", abc, other);
  // Without its table a hash means nothing.
  CAF_REQUIRE(raw.exec("DROP TABLE sales"));
  CAF_CHECK_EQUAL(store->stored_hash("sales"), "");
}

CAF_TEST(a hash given by the caller stands for the one the writer computes) {
  auto store = open();
  auto rows = sample_rows(0, 2500, 3);
  auto batch = make_batch(abc, rows, 1);
  content_hasher caller;
  caller.add(batch);
  auto given = caller.digest(abc);
  REQUIRE_OK(store->begin("sales", err));
  REQUIRE_OK(store->append(batch, err));
  CAF_REQUIRE_EQUAL(store->content_hash(), given);
  REQUIRE_OK(store->commit(err));
  // Hashed by the caller: without the hash there is nothing to store, so
  // the commit fails and the table stays.
  store->hash_appends(false);
  REQUIRE_OK(store->begin("sales", err));
  REQUIRE_OK(store->append(make_batch(abc, sample_rows(0, 5, 3, "x"), 1), err));
  CAF_CHECK_EQUAL(store->content_hash(), "");
  CAF_CHECK(!store->unchanged());
  CAF_CHECK(!store->commit(err));
  CAF_CHECK(err.code == ec::invalid_argument);
  check_table(*store, "sales", abc, rows);
  // The same content with its hash given: unchanged, kept.
  REQUIRE_OK(store->begin("sales", err));
  REQUIRE_OK(store->append(batch, err));
  store->give_content_hash(given);
  CAF_CHECK(store->unchanged());
  REQUIRE_OK(store->commit(err));
  CAF_CHECK(store->kept());
  // begin() forgets a given hash; another content with its own is stored.
  auto other = make_batch(abc, sample_rows(0, 10, 3, "y"), 1);
  content_hasher other_hash;
  other_hash.add(other);
  REQUIRE_OK(store->begin("sales", err));
  CAF_CHECK_EQUAL(store->content_hash(), "");
  REQUIRE_OK(store->append(other, err));
  store->give_content_hash(other_hash.digest(abc));
  CAF_CHECK(!store->unchanged());
  REQUIRE_OK(store->commit(err));
  CAF_CHECK(!store->kept());
  CAF_CHECK_EQUAL(store->stored_hash("sales"), other_hash.digest(abc));
  check_table(*store, "sales", abc, sample_rows(0, 10, 3, "y"));
}

CAF_TEST(unchanged content leaves the table untouched) {
  for (size_t defer : {size_t{0}, sheet_store::default_defer_bytes}) {
    CAF_MESSAGE("holding back up to " << defer << " bytes");
    auto table = "t" + std::to_string(defer);
    auto store = open();
    store->defer_bytes(defer);
    auto rows = sample_rows(0, 3000, 3);
    // First sync: nothing to compare with.
    REQUIRE_OK(store->begin(table, err));
    REQUIRE_OK(store->append(make_batch(abc, rows, 1), err));
    CAF_CHECK(!store->unchanged());
    REQUIRE_OK(store->commit(err));
    CAF_CHECK(!store->kept());
    raw_db raw{path};
    auto before = raw.dump(table);
    auto meta = raw.one("SELECT * FROM sync_meta WHERE name = '" + table + "'");
    auto version = raw.one("PRAGMA data_version");
    // Same content, cut differently: unchanged; the commit keeps the table
    // and writes nothing at all.
    REQUIRE_OK(store->begin(table, err));
    for (size_t i = 0; i < rows.size(); i += 700)
      REQUIRE_OK(store->append(
        make_batch(abc,
                   rows_t(rows.begin() + i,
                          rows.begin() + std::min(rows.size(), i + 700)),
                   i + 1),
        err));
    CAF_CHECK(store->unchanged());
    CAF_CHECK_EQUAL(raw.staging_tables().size(), defer == 0 ? 1u : 0u);
    REQUIRE_OK(store->commit(err));
    CAF_CHECK(store->kept());
    CAF_CHECK(!store->staging());
    CAF_CHECK_EQUAL(store->rows_written(), 3000u);
    CAF_CHECK(raw.staging_tables().empty());
    CAF_CHECK(raw.dump(table) == before);
    CAF_CHECK_EQUAL(
      raw.one("SELECT * FROM sync_meta WHERE name = '" + table + "'"), meta);
    if (defer > 0)
      CAF_CHECK_EQUAL(raw.one("PRAGMA data_version"), version);
    // One cell changed: not unchanged, rewritten.
    auto changed = rows;
    changed[1234][1] += "!";
    REQUIRE_OK(store->begin(table, err));
    REQUIRE_OK(store->append(make_batch(abc, changed, 1), err));
    CAF_CHECK(!store->unchanged());
    REQUIRE_OK(store->commit(err));
    CAF_CHECK(!store->kept());
    check_table(*store, table, abc, changed);
    // The header changed, the rows did not: not unchanged.
    REQUIRE_OK(store->begin(table, err));
    REQUIRE_OK(store->append(make_batch({"a", "b", "C"}, changed, 1), err));
    CAF_CHECK(!store->unchanged());
    REQUIRE_OK(store->commit(err));
    CAF_CHECK(!store->kept());
    check_table(*store, table, {"a", "b", "C"}, changed);
    // A row fewer: not unchanged.
    REQUIRE_OK(store->begin(table, err));
    REQUIRE_OK(store->append(
      make_batch({"a", "b", "C"}, rows_t(changed.begin(), changed.end() - 1), 1),
      err));
    CAF_CHECK(!store->unchanged());
    REQUIRE_OK(store->commit(err));
    check_table(*store, table, {"a", "b", "C"},
                rows_t(changed.begin(), changed.end() - 1));
    // Same again, but the table was dropped behind our back: not unchanged.
    CAF_REQUIRE(raw.exec("DROP TABLE " + table));
    REQUIRE_OK(store->begin(table, err));
    REQUIRE_OK(store->append(
      make_batch({"a", "b", "C"}, rows_t(changed.begin(), changed.end() - 1), 1),
      err));
    CAF_CHECK(!store->unchanged());
    REQUIRE_OK(store->commit(err));
    CAF_CHECK(!store->kept());
    check_table(*store, table, {"a", "b", "C"},
                rows_t(changed.begin(), changed.end() - 1));
  }
}

CAF_TEST(held back batches are written once they exceed the limit) {
  auto store = open();
  auto old_rows = sample_rows(0, 100, 3, "old ");
  sync(*store, "sales", abc, old_rows);
  store->defer_bytes(64 * 1024);
  raw_db raw{path};
  auto rows = sample_rows(0, 3000, 3, "new ");
  REQUIRE_OK(store->begin("sales", err));
  REQUIRE_OK(store->append(make_batch(abc, rows_t(rows.begin(), rows.begin() + 10), 1), err));
  CAF_CHECK(raw.staging_tables().empty());
  for (size_t i = 10; i < rows.size(); i += 500)
    REQUIRE_OK(store->append(
      make_batch(abc,
                 rows_t(rows.begin() + i,
                        rows.begin() + std::min(rows.size(), i + 500)),
                 i + 1),
      err));
  CAF_CHECK_EQUAL(store->rows_written(), 3000u);
  CAF_CHECK_EQUAL(raw.staging_tables().size(), 1u);
  check_table(*store, "sales", abc, old_rows);
  REQUIRE_OK(store->commit(err));
  check_table(*store, "sales", abc, rows);
  // Held back, then changed at commit: written and swapped in.
  store->defer_bytes(sheet_store::default_defer_bytes);
  auto grown = sample_rows(0, 3001, 4, "new ");
  REQUIRE_OK(store->begin("sales", err));
  REQUIRE_OK(store->append(make_batch({"a", "b", "c", "d"}, grown, 1), err));
  CAF_CHECK(raw.staging_tables().empty());
  CAF_CHECK_EQUAL(store->rows_written(), 3001u);
  REQUIRE_OK(store->commit(err));
  CAF_CHECK(!store->kept());
  check_table(*store, "sales", {"a", "b", "c", "d"}, grown);
  // Held back and aborted: nothing was ever written.
  REQUIRE_OK(store->begin("sales", err));
  REQUIRE_OK(store->append(make_batch(abc, rows, 1), err));
  store->abort();
  check_table(*store, "sales", {"a", "b", "c", "d"}, grown);
  CAF_CHECK(raw.staging_tables().empty());
}

// -- durable history ------------------------------------------------------------

namespace {

sync_record run_rec(std::string id, std::string source, std::string status,
                    int64_t started) {
  sync_record r;
  r.id = std::move(id);
  r.source = std::move(source);
  r.status = std::move(status);
  r.started_ms = started;
  r.updated_ms = started + 1;
  r.message = "m-" + r.id;
  r.progress = 42;
  return r;
}

/// The record of `id` (an empty one if none), as a value: a member of the
/// temporary optional would dangle inside CAF_CHECK_EQUAL.
sync_record run_field(sheet_store& store, const std::string& id) {
  auto r = store.get_run(id);
  CAF_REQUIRE(r);
  return *r;
}

/// Forks a process that records `recs` and exits; returns its (reaped, so
/// dead) pid.
pid_t record_in_dead_process(const std::string& path,
                             const std::vector<sync_record>& recs) {
  auto child = fork();
  CAF_REQUIRE(child >= 0);
  if (child == 0) {
    failure e;
    auto store = sheet_store::open(path, e);
    if (!store)
      _exit(2);
    for (auto& r : recs)
      if (!store->put_run(r, e))
        _exit(3);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  CAF_REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return child;
}

} // namespace

CAF_TEST(recover interrupted marks the syncs of dead processes only) {
  auto store = open();
  // A dead process: one running record of each running state, and finished
  // ones that stay as they are.
  auto dead_pid = record_in_dead_process(
    path, {run_rec("d-idle", "sales", "idle", 10),
           run_rec("d-down", "sales", "downloading", 11),
           run_rec("d-proc", "sales", "processing", 12),
           run_rec("d-save", "other", "saving", 13),
           run_rec("d-done", "sales", "complete", 5),
           run_rec("d-err", "sales", "error", 6),
           run_rec("d-canc", "sales", "cancelled", 7)});
  // A live process: a child that records and waits for us.
  int ready[2];
  int done[2];
  CAF_REQUIRE(pipe(ready) == 0 && pipe(done) == 0);
  auto parent = getpid();
  auto live = fork();
  CAF_REQUIRE(live >= 0);
  if (live == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(5);
    failure e;
    auto s = sheet_store::open(path, e);
    if (!s || !s->put_run(run_rec("l-down", "sales", "downloading", 20), e))
      _exit(2);
    s.reset();
    if (write(ready[1], "x", 1) != 1)
      _exit(4);
    char c;
    auto n = read(done[0], &c, 1);
    _exit(n == 1 ? 0 : 6);
  }
  char c;
  CAF_REQUIRE_EQUAL(read(ready[0], &c, 1), 1);
  // Our own running sync.
  REQUIRE_OK(store->put_run(run_rec("o-save", "sales", "saving", 30), err));
  raw_db raw{path};
  CAF_CHECK_EQUAL(raw.one("SELECT owner_pid FROM sync_runs WHERE id = 'd-down'"),
                  std::to_string(dead_pid));
  CAF_CHECK_EQUAL(raw.one("SELECT owner_pid FROM sync_runs WHERE id = 'l-down'"),
                  std::to_string(live));
  CAF_CHECK_EQUAL(raw.one("SELECT owner_pid FROM sync_runs WHERE id = 'o-save'"),
                  std::to_string(getpid()));
  auto unchanged_ids = std::vector<std::string>{"d-done", "d-err", "d-canc",
                                                "l-down", "o-save"};
  std::map<std::string, sync_record> before;
  for (auto& id : unchanged_ids)
    before[id] = *store->get_run(id);
  CAF_CHECK_EQUAL(store->recover_interrupted(99999, err), 4u);
  CAF_CHECK(!err);
  for (auto id : {"d-idle", "d-down", "d-proc", "d-save"}) {
    auto r = store->get_run(id);
    CAF_REQUIRE(r);
    CAF_CHECK_EQUAL(r->status, "error");
    CAF_CHECK_EQUAL(r->error, "interrupted by restart");
    CAF_CHECK_EQUAL(r->message, "Sync failed: interrupted by restart");
    CAF_CHECK_EQUAL(r->finished_ms, 99999);
    CAF_CHECK_EQUAL(r->updated_ms, 99999);
    // The rest as recorded.
    CAF_CHECK_EQUAL(r->progress, 42);
  }
  for (auto& id : unchanged_ids)
    CAF_CHECK(store->get_run(id) == before[id]);
  // Nothing left to mark.
  CAF_CHECK_EQUAL(store->recover_interrupted(100000, err), 0u);
  // The live process dies: now its sync is interrupted.
  kill(live, SIGKILL);
  int status = 0;
  waitpid(live, &status, 0);
  close(ready[0]);
  close(ready[1]);
  close(done[0]);
  close(done[1]);
  CAF_CHECK_EQUAL(store->recover_interrupted(100001, err), 1u);
  CAF_CHECK_EQUAL(run_field(*store, "l-down").status, "error");
  CAF_CHECK_EQUAL(run_field(*store, "o-save").status, "saving");
  // Our pid, but written by an earlier process that had it (a container
  // restarted): interrupted.
  CAF_REQUIRE(raw.exec("UPDATE sync_runs SET owner_start = 'earlier' WHERE "
                       "id = 'o-save'"));
  CAF_CHECK_EQUAL(store->recover_interrupted(100002, err), 1u);
  CAF_CHECK_EQUAL(run_field(*store, "o-save").status, "error");
}

CAF_TEST(an old sync_runs table is migrated) {
  {
    raw_db raw{path};
    CAF_REQUIRE(raw.exec(
      "CREATE TABLE \"sync_runs\"(\"id\" TEXT PRIMARY KEY NOT NULL,"
      "\"source\" TEXT NOT NULL DEFAULT '',\"status\" TEXT NOT NULL DEFAULT '',"
      "\"message\" TEXT NOT NULL DEFAULT '',\"error\" TEXT NOT NULL DEFAULT '',"
      "\"started_ms\" INTEGER NOT NULL DEFAULT 0,"
      "\"updated_ms\" INTEGER NOT NULL DEFAULT 0,"
      "\"finished_ms\" INTEGER NOT NULL DEFAULT 0,"
      "\"bytes\" INTEGER NOT NULL DEFAULT 0,\"rows\" INTEGER NOT NULL DEFAULT 0);"
      "INSERT INTO sync_runs VALUES ('old-1', 'sales', 'complete', 'done', '', "
      "100, 150, 200, 1000, 10);"
      "INSERT INTO sync_runs VALUES ('old-2', 'sales', 'downloading', 'x', '', "
      "300, 350, 0, 0, 0);"));
  }
  auto store = open();
  raw_db raw{path};
  CAF_CHECK_EQUAL(raw.query("SELECT name FROM pragma_table_info('sync_runs') "
                            "WHERE cid >= 10 ORDER BY cid"),
                  (std::vector<std::string>{"progress", "owner_pid",
                                            "owner_start"}));
  auto old1 = store->get_run("old-1");
  CAF_REQUIRE(old1);
  CAF_CHECK_EQUAL(old1->status, "complete");
  CAF_CHECK_EQUAL(old1->rows, 10u);
  CAF_CHECK_EQUAL(old1->finished_ms, 200);
  // Opening again changes nothing.
  store.reset();
  store = open();
  CAF_CHECK_EQUAL(raw.one("SELECT count(*) FROM pragma_table_info('sync_runs')"),
                  "13");
  // A running record of an older version has no owner: interrupted.
  CAF_CHECK_EQUAL(store->recover_interrupted(5000, err), 1u);
  CAF_CHECK_EQUAL(run_field(*store, "old-2").error, "interrupted by restart");
  CAF_CHECK_EQUAL(run_field(*store, "old-1").status, "complete");
  // New records go in beside the old ones.
  REQUIRE_OK(store->put_run(run_rec("new-1", "sales", "saving", 400), err));
  CAF_CHECK_EQUAL(store->runs("sales", 10).size(), 3u);
  CAF_CHECK_EQUAL(run_field(*store, "new-1").progress, 42);
}

CAF_TEST(history is newest first and limited) {
  auto store = open();
  for (int i = 0; i < 30; ++i)
    REQUIRE_OK(store->put_run(run_rec("r" + std::to_string(i),
                                      i % 3 == 0 ? "other" : "sales",
                                      "complete", 1000 + (i * 7919) % 30),
                              err));
  auto all = store->runs("", 100);
  CAF_REQUIRE_EQUAL(all.size(), 30u);
  for (size_t i = 1; i < all.size(); ++i)
    CAF_CHECK_GREATER_OR_EQUAL(all[i - 1].started_ms, all[i].started_ms);
  CAF_CHECK_EQUAL(all.front().started_ms, 1029);
  auto sales = store->runs("sales", 5);
  CAF_REQUIRE_EQUAL(sales.size(), 5u);
  for (auto& r : sales)
    CAF_CHECK_EQUAL(r.source, "sales");
  CAF_CHECK_EQUAL(store->runs("other", 100).size(), 10u);
  CAF_CHECK_EQUAL(store->runs("sales", 100).size(), 20u);
  // The 5 newest of sales are the first 5 of all its runs.
  auto all_sales = store->runs("sales", 100);
  for (size_t i = 0; i < 5; ++i)
    CAF_CHECK_EQUAL(sales[i].id, all_sales[i].id);
}

CAF_TEST(pages come from the stored count and the row numbers) {
  auto store = open();
  auto rows = sample_rows(0, 100, 2);
  sync(*store, "paged", {"x", "y"}, rows, 30);
  raw_db raw{path};
  // The swap stored the row count with the table.
  CAF_CHECK_EQUAL(raw.one("SELECT rows FROM sync_meta WHERE name = 'paged'"),
                  "100");
  // Every page at every offset is the same as the rows in sheet order.
  for (uint64_t offset : {0, 1, 29, 30, 99, 100, 150}) {
    sheet_store::page p;
    REQUIRE_OK(store->read("paged", 7, offset, p, err));
    CAF_CHECK_EQUAL(p.total, 100u);
    CAF_CHECK_EQUAL(p.next, 0u);
    rows_t want(rows.begin() + std::min<uint64_t>(offset, 100),
                rows.begin() + std::min<uint64_t>(offset + 7, 100));
    CAF_CHECK_EQUAL(p.rows, want);
  }
  // White box: the total is the stored count, not count(*), and offset N
  // is `_row > N`, not a walk over N rows. A row deleted behind the store's
  // back shows both (never done by sheetsync itself).
  CAF_REQUIRE(raw.exec("DELETE FROM paged WHERE _row = 5"));
  sheet_store::page p;
  REQUIRE_OK(store->read("paged", 3, 10, p, err));
  CAF_CHECK_EQUAL(p.total, 100u);
  CAF_CHECK_EQUAL(p.rows, rows_t(rows.begin() + 10, rows.begin() + 13));
  // Rows that skip numbers are paged by position (OFFSET), still right.
  REQUIRE_OK(store->begin("gaps", err));
  REQUIRE_OK(store->append(make_batch({"v"}, {{"a"}, {"b"}}, 5), err));
  REQUIRE_OK(store->append(make_batch({"v"}, {{"c"}, {"d"}}, 20), err));
  REQUIRE_OK(store->commit(err));
  REQUIRE_OK(store->read("gaps", 2, 1, p, err));
  CAF_CHECK_EQUAL(p.total, 4u);
  CAF_CHECK_EQUAL(p.rows, (rows_t{{"b"}, {"c"}}));
  // A table without a stored count (written before sync_meta existed) is
  // counted and paged by position.
  CAF_REQUIRE(raw.exec("DELETE FROM sync_meta"));
  REQUIRE_OK(store->read("paged", 3, 10, p, err));
  CAF_CHECK_EQUAL(p.total, 99u);
  CAF_CHECK_EQUAL(p.rows, rows_t(rows.begin() + 11, rows.begin() + 14));
}

CAF_TEST(a page stops early past its byte cap and says where to go on) {
  auto store = open();
  // Rows of 3 MiB: the default cap of 8 MiB ends a page after 3 rows.
  const size_t mib = size_t{1} << 20;
  rows_t rows;
  for (char c : {'a', 'b', 'c', 'd', 'e'})
    rows.push_back({std::string(3 * mib, c), std::string(1, c)});
  sync(*store, "wide", {"big", "small"}, rows, 2);
  sheet_store::page p;
  REQUIRE_OK(store->read("wide", 100, 0, p, err));
  CAF_CHECK_EQUAL(p.total, 5u);
  CAF_CHECK_EQUAL(p.rows, rows_t(rows.begin(), rows.begin() + 3));
  CAF_CHECK_EQUAL(p.next, 3u);
  // The rest fits: no next.
  REQUIRE_OK(store->read("wide", 100, 3, p, err));
  CAF_CHECK_EQUAL(p.rows, rows_t(rows.begin() + 3, rows.end()));
  CAF_CHECK_EQUAL(p.next, 0u);
  // A page that ends at its limit is not cut short.
  REQUIRE_OK(store->read("wide", 3, 0, p, err));
  CAF_CHECK_EQUAL(p.rows.size(), 3u);
  CAF_CHECK_EQUAL(p.next, 0u);
  // A row larger than the cap is a page of its own: paging moves on.
  REQUIRE_OK(store->read("wide", 100, 1, p, err, mib));
  CAF_CHECK_EQUAL(p.rows, rows_t(rows.begin() + 1, rows.begin() + 2));
  CAF_CHECK_EQUAL(p.next, 2u);
  // The last row past the cap: nothing follows, so no next.
  REQUIRE_OK(store->read("wide", 100, 4, p, err, mib));
  CAF_CHECK_EQUAL(p.rows.size(), 1u);
  CAF_CHECK_EQUAL(p.next, 0u);
}

CAF_TEST(pruning keeps the newest finished syncs of a source) {
  auto store = open();
  // Interleaved sources; started_ms ties broken by insertion (rowid).
  for (int i = 0; i < 12; ++i)
    REQUIRE_OK(store->put_run(run_rec("s" + std::to_string(i),
                                      i % 2 ? "sales" : "stock",
                                      i % 4 == 3 ? "error" : "complete",
                                      1000 + i / 2),
                              err));
  // A running sync older than all is never pruned.
  REQUIRE_OK(store->put_run(run_rec("running", "sales", "downloading", 1),
                            err));
  CAF_CHECK_EQUAL(store->prune("sales", 4, err), 2u);
  CAF_CHECK(!err);
  auto ids = [&](const std::string& source) {
    std::vector<std::string> out;
    for (auto& r : store->runs(source, 100))
      out.push_back(r.id);
    return out;
  };
  CAF_CHECK_EQUAL(ids("sales"), (std::vector<std::string>{
                                  "s11", "s9", "s7", "s5", "running"}));
  // Other sources are untouched; pruning again deletes nothing.
  CAF_CHECK_EQUAL(ids("stock").size(), 6u);
  CAF_CHECK_EQUAL(store->prune("sales", 4, err), 0u);
  CAF_CHECK_EQUAL(store->prune("stock", uint64_t{1} << 63, err), 0u);
  CAF_CHECK_EQUAL(ids("stock").size(), 6u);
  CAF_CHECK_EQUAL(store->prune("stock", 1, err), 5u);
  CAF_CHECK_EQUAL(ids("stock"), (std::vector<std::string>{"s10"}));
}

CAF_TEST_FIXTURE_SCOPE_END()
