#include "store/database.hpp"

#include <cstdlib>
#include <limits>
#include <map>
#include <utility>

#include <sqlite3.h>

#include "net/text.hpp"

namespace sheetsync {

namespace {

/// Page cache per connection (KiB): big enough for the B-tree's right edge
/// and interior pages, small enough for the memory budget.
constexpr int cache_kib = 8192;

/// Page size of a new cache file. Measured (1M rows, bench/run): 4096, the
/// default, costs 15% more CPU (more frames, syscalls and splits); 65536
/// gains nothing more with the page cache above.
constexpr int page_bytes = 16384;

/// What to do about a failure, by SQLite's primary result code.
const char* hint(int code) {
  switch (code & 0xff) {
    case SQLITE_FULL:
      return " (free disk space)";
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return " (check that the directory exists and is writable)";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return " (another process holds the database locked)";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return " (delete the file to rebuild the cache)";
    case SQLITE_IOERR:
      return " (check the disk)";
    default:
      return "";
  }
}

/// The code of a failure with SQLite result `rc`: a lock held elsewhere
/// passes, anything else needs a person.
ec code_of_sqlite(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ec::cache_busy;
    default:
      return ec::cache_failed;
  }
}

/// Columns added to sync_runs since its first version, with their types.
const std::pair<const char*, const char*> added_columns[] = {
  {"progress", "INTEGER NOT NULL DEFAULT 0"},
  {"owner_pid", "INTEGER NOT NULL DEFAULT 0"},
  {"owner_start", "TEXT NOT NULL DEFAULT ''"},
};

/// The database_file of a path; shared by all open connections to that file.
std::shared_ptr<database_file> file_for(const std::string& path) {
  static std::mutex mtx;
  static std::map<std::string, std::weak_ptr<database_file>> files;
  // Canonical, so that "./x.db" and "/abs/x.db" share one turn.
  std::string key = path;
  if (auto* resolved = realpath(path.c_str(), nullptr)) {
    key = resolved;
    free(resolved);
  }
  std::lock_guard<std::mutex> guard{mtx};
  for (auto i = files.begin(); i != files.end();)
    i = i->second.expired() ? files.erase(i) : std::next(i);
  auto& entry = files[key];
  auto result = entry.lock();
  if (!result) {
    result = std::make_shared<database_file>();
    entry = result;
  }
  return result;
}

} // namespace

// -- statement helpers --------------------------------------------------------

namespace sql {

std::string quote_id(const std::string& name) {
  std::string out;
  out.reserve(name.size() + 2);
  out += '"';
  for (auto c : name) {
    if (c == '"')
      out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string column_string(sqlite3_stmt* stmt, int col) {
  auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
  return text ? std::string(text, sqlite3_column_bytes(stmt, col))
              : std::string{};
}

void bind_string(sqlite3_stmt* stmt, int index, const std::string& value) {
  sqlite3_bind_text(stmt, index, value.data(), static_cast<int>(value.size()),
                    SQLITE_STATIC);
}

int64_t to_limit(uint64_t n) {
  // A negative LIMIT means no limit in SQLite.
  constexpr auto max = static_cast<uint64_t>(
    std::numeric_limits<sqlite3_int64>::max());
  return n > max ? -1 : static_cast<int64_t>(n);
}

stmt_guard::~stmt_guard() {
  sqlite3_finalize(stmt);
}

} // namespace sql

// -- write turns --------------------------------------------------------------

write_turn::write_turn(database_file& file) : file_(file) {
  acquire();
}

write_turn::~write_turn() {
  release();
}

void write_turn::acquire() {
  std::unique_lock<std::mutex> guard{file_.mtx};
  auto ticket = file_.next_ticket++;
  file_.cv.wait(guard, [&] { return file_.serving == ticket; });
  held_ = true;
}

void write_turn::release() {
  if (!held_)
    return;
  held_ = false;
  {
    std::lock_guard<std::mutex> guard{file_.mtx};
    ++file_.serving;
  }
  file_.cv.notify_all();
}

// -- opening ------------------------------------------------------------------

database::database(sqlite3* db, std::string path,
                   std::shared_ptr<database_file> file)
  : db_(db), path_(std::move(path)), file_(std::move(file)) {
  // nop
}

database::~database() {
  sqlite3_close(db_);
}

std::shared_ptr<database> database::open(const std::string& path,
                                         failure& err, int busy_ms) {
  sqlite3* db = nullptr;
  // NOMUTEX: one connection is used by one thread at a time (one actor).
  auto rc = sqlite3_open_v2(path.c_str(), &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                              | SQLITE_OPEN_NOMUTEX,
                            nullptr);
  if (rc != SQLITE_OK) {
    err = failure{code_of_sqlite(rc),
                  "cannot open the cache " + path + ": "
                    + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc))
                    + hint(rc)};
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, busy_ms);
  std::shared_ptr<database> store{new database(db, path, file_for(path))};
  // Nothing is written when the cache is in WAL mode with the current
  // schema already (the usual case), so that opening needs no write lock: a
  // reader opens the cache while another process writes to it.
  auto what = std::string{"open the cache"};
  std::string mode;
  if (!store->query_text("PRAGMA journal_mode", mode, what, err))
    return nullptr;
  if (lower(mode) != "wal") {
    // WAL: readers never block the writer and see the last commit.
    write_turn turn{*store->file_};
    // Only takes on a new, empty file (WAL fixes it afterwards). Larger
    // pages: fewer frames, syscalls and b-tree splits per row written.
    auto page = "PRAGMA page_size = " + std::to_string(page_bytes);
    if (!store->exec(page.c_str(), what, err))
      return nullptr;
    if (!store->query_text("PRAGMA journal_mode = WAL", mode, what, err))
      return nullptr;
    if (lower(mode) != "wal") {
      err = failure{ec::cache_failed,
                    "cannot open the cache " + path
                      + ": WAL mode unavailable (journal mode " + mode + ")"};
      return nullptr;
    }
  }
  // NORMAL: no fsync per commit; a power loss may lose the last commits but
  // never corrupts. secure_delete off: Debian enables it, which would zero
  // every page of the old table when a swap drops it. temp_store MEMORY:
  // a multi-row INSERT's statement journal spills to a file in /var/tmp past
  // 64 KiB (four 16 KiB pages), 14 files per 1M-row sync; the queries here
  // build no large temporary tables or indexes.
  const char* setup = "PRAGMA synchronous = NORMAL;"
                      "PRAGMA secure_delete = OFF;"
                      "PRAGMA temp_store = MEMORY;"
                      "PRAGMA journal_size_limit = 67108864;";
  auto cache = "PRAGMA cache_size = -" + std::to_string(cache_kib);
  if (!store->exec(setup, what, err) || !store->exec(cache.c_str(), what, err))
    return nullptr;
  bool current = false;
  if (!store->schema_current(current, err))
    return nullptr;
  if (current)
    return store;
  const char* schema
    = "CREATE TABLE IF NOT EXISTS \"sync_runs\"("
      "\"id\" TEXT PRIMARY KEY NOT NULL,"
      "\"source\" TEXT NOT NULL DEFAULT '',"
      "\"status\" TEXT NOT NULL DEFAULT '',"
      "\"message\" TEXT NOT NULL DEFAULT '',"
      "\"error\" TEXT NOT NULL DEFAULT '',"
      "\"started_ms\" INTEGER NOT NULL DEFAULT 0,"
      "\"updated_ms\" INTEGER NOT NULL DEFAULT 0,"
      "\"finished_ms\" INTEGER NOT NULL DEFAULT 0,"
      "\"bytes\" INTEGER NOT NULL DEFAULT 0,"
      "\"rows\" INTEGER NOT NULL DEFAULT 0);"
      // The leading '_' keeps it out of the source names' namespace.
      "CREATE INDEX IF NOT EXISTS \"_sync_runs_by_source\" "
      "ON \"sync_runs\"(\"source\", \"started_ms\");"
      // Per table (lowercase name): the hash of its content and its row
      // count, written in the transaction that swaps the table in.
      "CREATE TABLE IF NOT EXISTS \"sync_meta\"("
      "\"name\" TEXT PRIMARY KEY NOT NULL,"
      "\"content_hash\" TEXT NOT NULL DEFAULT '',"
      "\"rows\" INTEGER NOT NULL DEFAULT 0,"
      "\"updated_ms\" INTEGER NOT NULL DEFAULT 0);";
  {
    // One transaction, so that two processes opening a cache of an older
    // version at once do not both add the new columns.
    write_turn turn{*store->file_};
    what = "create the history table in the cache";
    if (!store->exec("BEGIN IMMEDIATE", what, err))
      return nullptr;
    if (!store->exec(schema, what, err) || !store->migrate(err)
        || !store->exec("COMMIT", what, err)) {
      store->rollback();
      return nullptr;
    }
  }
  return store;
}

bool database::query_text(const char* stmt, std::string& out,
                          const std::string& what, failure& err) {
  sql::stmt_guard q;
  if (!prepare(stmt, q.stmt, what, err))
    return false;
  if (sqlite3_step(q.stmt) != SQLITE_ROW)
    return fail_sql(err, what);
  out = sql::column_string(q.stmt, 0);
  return true;
}

bool database::schema_current(bool& current, failure& err) {
  auto what = std::string{"read the schema of the cache"};
  std::string tables;
  if (!query_text("SELECT count(*) FROM sqlite_master WHERE name IN "
                  "('sync_runs', 'sync_meta', '_sync_runs_by_source')",
                  tables, what, err))
    return false;
  std::vector<column> missing;
  if (!missing_columns(missing, err))
    return false;
  current = tables == "3" && missing.empty();
  return true;
}

bool database::missing_columns(std::vector<column>& out, failure& err) {
  std::set<std::string> have;
  sql::stmt_guard cols;
  if (!prepare("SELECT name FROM pragma_table_info('sync_runs')", cols.stmt,
               "read the history table of the cache", err))
    return false;
  while (sqlite3_step(cols.stmt) == SQLITE_ROW)
    have.insert(lower(sql::column_string(cols.stmt, 0)));
  out.clear();
  for (auto& col : added_columns)
    if (have.count(col.first) == 0)
      out.push_back(col);
  return true;
}

bool database::migrate(failure& err) {
  std::vector<column> missing;
  if (!missing_columns(missing, err))
    return false;
  for (auto& [name, type] : missing) {
    auto stmt = std::string{"ALTER TABLE \"sync_runs\" ADD COLUMN "}
                + sql::quote_id(name) + " " + type;
    if (!exec(stmt.c_str(), "migrate the history table in the cache", err))
      return false;
  }
  return true;
}

// -- helpers ------------------------------------------------------------------

bool database::fail_sql(failure& err, const std::string& what) {
  auto rc = sqlite3_extended_errcode(db_);
  err = failure{code_of_sqlite(rc), "cannot " + what + " " + path_ + ": "
                                      + sqlite3_errmsg(db_) + hint(rc)};
  return false;
}

bool database::exec(const char* stmt, const std::string& what, failure& err) {
  if (sqlite3_exec(db_, stmt, nullptr, nullptr, nullptr) != SQLITE_OK)
    return fail_sql(err, what);
  return true;
}

bool database::checkpoint(failure& err) {
  if (sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                nullptr, nullptr)
      != SQLITE_OK)
    return fail_sql(err, "checkpoint the WAL of the cache");
  return true;
}

bool database::prepare(const std::string& text, sqlite3_stmt*& out,
                       const std::string& what, failure& err) {
  if (sqlite3_prepare_v2(db_, text.c_str(), static_cast<int>(text.size()),
                         &out, nullptr)
      != SQLITE_OK) {
    sqlite3_finalize(out);
    out = nullptr;
    return fail_sql(err, what);
  }
  return true;
}

void database::rollback() {
  if (!sqlite3_get_autocommit(db_))
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

bool database::valid_table_name(const std::string& name) {
  if (name.empty() || name.size() > 64)
    return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9');
  };
  if (!alnum(name[0]))
    return false;
  for (auto c : name)
    if (!alnum(c) && c != '_' && c != '-')
      return false;
  // SQLite names ignore case; "sqlite_" names are reserved by SQLite.
  auto l = lower(name);
  return l != "sync_runs" && l != "sync_meta" && l != "sources"
         && l != "sync_tabs" && l != "webhook_deliveries"
         && l.compare(0, 7, "sqlite_") != 0;
}

} // namespace sheetsync
