#define CAF_SUITE sheet_store
#include <caf/test/unit_test.hpp>

#include "store/sheet_store.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace sheetsync;
using caf::term; // for CAF_CHECK_PASSED / CAF_CHECK_FAILED

namespace {

using rows_t = std::vector<std::vector<std::string>>;

/// Fails the test with the failure's code and text when `call` is false.
#define REQUIRE_OK(call)                                                       \
  do {                                                                         \
    if (!(call))                                                               \
      CAF_FAIL(#call << " failed: " << to_string(err.code) << ": "             \
                     << err.text);                                             \
  } while (false)

/// CAF_CHECK that shows `msg` when `cond` fails.
#define CHECK_MSG(cond, msg)                                                   \
  do {                                                                         \
    if (cond)                                                                  \
      CAF_CHECK_PASSED(#cond);                                                 \
    else                                                                       \
      CAF_CHECK_FAILED(#cond << " -- " << msg);                                \
  } while (false)

std::string code(const failure& err) {
  return to_string(err.code);
}

row_batch make_batch(std::vector<std::string> columns, const rows_t& rows,
                     uint64_t first_row) {
  row_batch b;
  b.columns = std::move(columns);
  b.first_row = first_row;
  for (auto& row : rows)
    for (auto& cell : row) {
      b.data += cell;
      b.ends.push_back(static_cast<uint32_t>(b.data.size()));
    }
  return b;
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

/// A raw SQLite connection, independent of sheet_store.
struct raw_db {
  sqlite3* db = nullptr;

  explicit raw_db(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK)
      CAF_FAIL("cannot open " << path);
    sqlite3_busy_timeout(db, 5000);
  }

  ~raw_db() {
    sqlite3_close(db);
  }

  /// All result rows, values rendered with quote() so that types and NULLs
  /// show.
  std::vector<std::string> query(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      out.push_back(std::string{"error: "} + sqlite3_errmsg(db));
      return out;
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::string line;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        auto* text = sqlite3_column_text(stmt, i);
        line += i ? "|" : "";
        line += text ? reinterpret_cast<const char*>(text) : "<null>";
      }
      out.push_back(std::move(line));
    }
    if (rc != SQLITE_DONE)
      out.push_back(std::string{"error: "} + sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    return out;
  }

  std::string one(const std::string& sql) {
    auto rows = query(sql);
    return rows.empty() ? "<none>" : rows.front();
  }

  bool exec(const std::string& sql) {
    return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr)
           == SQLITE_OK;
  }

  /// The table's CREATE statement and every row with every column (quoted,
  /// with types), in _row order.
  std::vector<std::string> dump(const std::string& table) {
    auto out = query("SELECT sql FROM sqlite_master WHERE name = '" + table
                     + "'");
    auto cols = query("SELECT 'quote(\"' || name || '\") || typeof(\"' || "
                      "name || '\")' FROM pragma_table_info('"
                      + table + "')");
    std::string select;
    for (auto& c : cols)
      select += (select.empty() ? "" : " || '|' || ") + c;
    for (auto& row : query("SELECT " + select + " FROM \"" + table
                           + "\" ORDER BY _row"))
      out.push_back(std::move(row));
    return out;
  }

  std::vector<std::string> staging_tables() {
    return query("SELECT name FROM sqlite_master WHERE name LIKE '%staging%'");
  }
};

struct fixture {
  std::string dir;
  std::string path;
  failure err;

  fixture() {
    auto tmpl = (std::filesystem::temp_directory_path() / "sheet_store_XXXXXX")
                  .string();
    if (mkdtemp(tmpl.data()) == nullptr)
      CAF_FAIL("mkdtemp failed");
    dir = tmpl;
    path = dir + "/cache.db";
  }

  ~fixture() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
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
    REQUIRE_OK(store.read(table, rows.size() + 10, 0, p, err));
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
  // One huge batch: the chunks inside must let the history in, each write
  // waiting for at most about one chunk (1/8 of the sync), not for the whole
  // append.
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
  CAF_CHECK_LESS(worst_ms, sync_ms / 3);
  CAF_CHECK_EQUAL(writer->rows_written(), big.rows());
}

CAF_TEST(killed mid write keeps the previous table) {
  {
    auto store = open();
    sync(*store, "sales", abc, sample_rows(0, 3000, 3, "old "));
  }
  std::vector<std::string> before;
  {
    raw_db raw{path};
    before = raw.dump("sales");
  }
  CAF_REQUIRE_EQUAL(before.size(), 3001u);
  auto check_intact = [&](const char* how) {
    CAF_MESSAGE("after " << how);
    auto store = open();
    raw_db raw{path};
    CAF_CHECK_EQUAL(raw.one("PRAGMA integrity_check"), "ok");
    CAF_CHECK(raw.staging_tables().empty());
    CAF_CHECK(raw.dump("sales") == before);
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
    if (!store || !store->begin("sales", e))
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
    // The precondition of the test: rows were committed aside.
    CAF_CHECK_EQUAL(raw.one("SELECT count(*) FROM _staging_sales"), "90000");
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
    if (!store || !store->begin("sales", e))
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
               "sync_runs", "SYNC_RUNS", "sqlite_master", "SQLite_x",
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
  sync(*store, "sales", abc, sample_rows(0, 100, 3));
  raw_db raw{path};
  auto before = raw.dump("sales");
  REQUIRE_OK(store->begin("sales", err));
  REQUIRE_OK(store->append(make_batch(abc, sample_rows(0, 10, 3), 1), err));
  CAF_REQUIRE(raw.exec("DROP TABLE _staging_sales"));
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

CAF_TEST_FIXTURE_SCOPE_END()
