#include "store/sheet_store.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include <signal.h>
#include <sqlite3.h>
#include <sys/types.h>
#include <unistd.h>

#include "messages/sync_status.hpp"

namespace sheetsync {

namespace detail {

/// What the stores of one file in this process share: a first-come,
/// first-served turn for write transactions (SQLite's busy handler polls, so
/// a writer that commits and begins again at once would starve the others),
/// and the tables being staged (so that open() keeps them).
struct store_file {
  std::mutex mtx;
  std::condition_variable cv;
  uint64_t next_ticket = 0;
  uint64_t serving = 0;
  /// Lowercase names of the tables being staged.
  std::set<std::string> staging;
};

} // namespace detail

namespace {

constexpr const char* staging_prefix = "_staging_";

/// What to call a process that wrote a staging table or a sync_runs record:
/// its pid plus its start ("<start ticks>@<boot id>" from /proc, "" where
/// unavailable), so that a pid reused after a restart (containers often run
/// the server as the same pid every time) does not pass for the old owner.
std::string process_start(pid_t pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  if (!std::getline(stat, line))
    return {};
  // Field 2 (comm) is in parentheses and may contain anything: count the
  // fields after its closing one. starttime is field 22.
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return {};
  size_t pos = close + 1;
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    while (pos < line.size() && line[pos] == ' ')
      ++pos;
    auto end = line.find(' ', pos);
    if (end == std::string::npos)
      end = line.size();
    field = line.substr(pos, end - pos);
    pos = end;
  }
  if (field.empty())
    return {};
  static const std::string boot_id = [] {
    std::ifstream in{"/proc/sys/kernel/random/boot_id"};
    std::string id;
    std::getline(in, id);
    return id;
  }();
  return field + "@" + boot_id;
}

/// This process's start; computed again in a forked child.
std::string own_start() {
  static std::mutex mtx;
  static pid_t pid = 0;
  static std::string start;
  std::lock_guard<std::mutex> guard{mtx};
  if (pid != getpid()) {
    pid = getpid();
    start = process_start(pid);
  }
  return start;
}

/// Whether the process that wrote as (pid, start) still runs. An unknown
/// owner (0, from before owners were recorded) counts as gone.
bool process_alive(int64_t pid, const std::string& start) {
  if (pid <= 0 || pid > std::numeric_limits<pid_t>::max())
    return false;
  auto p = static_cast<pid_t>(pid);
  if (p == getpid())
    return start.empty() || start == own_start();
  if (kill(p, 0) == -1 && errno == ESRCH)
    return false;
  if (start.empty())
    return true;
  auto now = process_start(p);
  // A zombie or a process that just exited has no readable start: gone.
  return now == start;
}

/// Rows per multi-row INSERT. Measured (instructions per row): one row per
/// statement costs twice as much; 16 is 3% worse, 64 only 2% better.
constexpr size_t insert_rows_per_stmt = 32;

/// Page cache per connection (KiB): big enough for the B-tree's right edge
/// and interior pages, small enough for the memory budget.
constexpr int cache_kib = 8192;

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return s;
}

/// An SQL identifier in double quotes, quotes doubled.
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

/// SQL column names for a header. SQLite rejects duplicate column names
/// (ignoring ASCII case) and `_row` is ours, so colliding names get "_2",
/// "_3", ...; an empty cell becomes "column_<n>" (1-based position), and NUL
/// bytes (which would cut the SQL text) become '_'. Each name depends only on
/// the names before it, so a grown header maps its old columns the same way.
std::vector<std::string> sql_names(const std::vector<std::string>& header) {
  std::vector<std::string> out;
  out.reserve(header.size());
  std::set<std::string> taken{"_row"};
  for (size_t i = 0; i < header.size(); ++i) {
    auto name = header[i];
    std::replace(name.begin(), name.end(), '\0', '_');
    if (name.empty())
      name = "column_" + std::to_string(i + 1);
    auto candidate = name;
    for (int n = 2; taken.count(lower(candidate)) > 0; ++n)
      candidate = name + "_" + std::to_string(n);
    taken.insert(lower(candidate));
    out.push_back(std::move(candidate));
  }
  return out;
}

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

/// One turn at writing to the file: taken in ticket order, so a history
/// write waits for at most the transaction in progress.
class write_turn {
public:
  explicit write_turn(detail::store_file& file) : file_(file) {
    acquire();
  }

  ~write_turn() {
    release();
  }

  write_turn(const write_turn&) = delete;
  write_turn& operator=(const write_turn&) = delete;

  void acquire() {
    std::unique_lock<std::mutex> guard{file_.mtx};
    auto ticket = file_.next_ticket++;
    file_.cv.wait(guard, [&] { return file_.serving == ticket; });
    held_ = true;
  }

  void release() {
    if (!held_)
      return;
    held_ = false;
    {
      std::lock_guard<std::mutex> guard{file_.mtx};
      ++file_.serving;
    }
    file_.cv.notify_all();
  }

private:
  detail::store_file& file_;
  bool held_ = false;
};

/// The store_file of a path; shared by all open stores of that file.
std::shared_ptr<detail::store_file> file_for(const std::string& path) {
  static std::mutex mtx;
  static std::map<std::string, std::weak_ptr<detail::store_file>> files;
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
    result = std::make_shared<detail::store_file>();
    entry = result;
  }
  return result;
}

/// Finalizes a statement when leaving the scope.
struct stmt_guard {
  sqlite3_stmt* stmt = nullptr;
  ~stmt_guard() {
    sqlite3_finalize(stmt);
  }
};

std::string column_string(sqlite3_stmt* stmt, int col) {
  auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
  return text ? std::string(text, sqlite3_column_bytes(stmt, col))
              : std::string{};
}

void bind_string(sqlite3_stmt* stmt, int index, const std::string& value) {
  sqlite3_bind_text(stmt, index, value.data(), static_cast<int>(value.size()),
                    SQLITE_STATIC);
}

constexpr const char* run_columns
  = "\"id\", \"source\", \"status\", \"message\", \"error\", \"started_ms\", "
    "\"updated_ms\", \"finished_ms\", \"bytes\", \"rows\", \"progress\"";

sync_record read_run(sqlite3_stmt* stmt) {
  sync_record r;
  r.id = column_string(stmt, 0);
  r.source = column_string(stmt, 1);
  r.status = column_string(stmt, 2);
  r.message = column_string(stmt, 3);
  r.error = column_string(stmt, 4);
  r.started_ms = sqlite3_column_int64(stmt, 5);
  r.updated_ms = sqlite3_column_int64(stmt, 6);
  r.finished_ms = sqlite3_column_int64(stmt, 7);
  r.bytes = static_cast<uint64_t>(sqlite3_column_int64(stmt, 8));
  r.rows = static_cast<uint64_t>(sqlite3_column_int64(stmt, 9));
  r.progress = static_cast<uint8_t>(
    std::clamp<sqlite3_int64>(sqlite3_column_int64(stmt, 10), 0, 100));
  return r;
}

constexpr auto sql_int_max = static_cast<uint64_t>(
  std::numeric_limits<sqlite3_int64>::max());

sqlite3_int64 to_sql_limit(uint64_t n) {
  // A negative LIMIT means no limit in SQLite.
  return n > sql_int_max ? -1 : static_cast<sqlite3_int64>(n);
}

sqlite3_int64 to_sql_offset(uint64_t n) {
  return static_cast<sqlite3_int64>(std::min(n, sql_int_max));
}

int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

/// Memory a held back batch costs, roughly.
size_t batch_bytes(const row_batch& b) {
  size_t n = b.data.size() + b.ends.size() * sizeof(uint32_t);
  for (auto& c : b.columns)
    n += c.size() + sizeof(std::string);
  return n;
}

/// The pid in a staging table's name "_staging_<pid>_<table>", 0 if the name
/// has none (written by an older version).
int64_t staging_pid(const std::string& name) {
  size_t pos = 9;
  int64_t pid = 0;
  while (pos < name.size() && name[pos] >= '0' && name[pos] <= '9'
         && pid < (int64_t{1} << 40))
    pid = pid * 10 + (name[pos++] - '0');
  if (pos == 9 || pos >= name.size() || name[pos] != '_')
    return 0;
  return pid;
}

} // namespace

// -- opening ------------------------------------------------------------------

sheet_store::sheet_store(sqlite3* db, std::string path,
                         std::shared_ptr<detail::store_file> file)
  : db_(db), path_(std::move(path)), file_(std::move(file)) {
  // nop
}

sheet_store::~sheet_store() {
  abort();
  finalize_inserts();
  sqlite3_close(db_);
}

std::unique_ptr<sheet_store> sheet_store::open(const std::string& path,
                                               failure& err) {
  sqlite3* db = nullptr;
  // NOMUTEX: one store is used by one thread at a time (one actor).
  auto rc = sqlite3_open_v2(path.c_str(), &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                              | SQLITE_OPEN_NOMUTEX,
                            nullptr);
  if (rc != SQLITE_OK) {
    err = failure{ec::cache_failed,
                  "cannot open the cache " + path + ": "
                    + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc))
                    + hint(rc)};
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<sheet_store> store{new sheet_store(db, path, file_for(path))};
  write_turn turn{*store->file_};
  // WAL: readers never block the writer and see the last commit. NORMAL:
  // no fsync per commit; a power loss may lose the last commits but never
  // corrupts. secure_delete off: Debian enables it, which would zero every
  // page of the old table when commit() drops it.
  const char* setup = "PRAGMA synchronous = NORMAL;"
                      "PRAGMA secure_delete = OFF;"
                      "PRAGMA journal_size_limit = 67108864;";
  sqlite3_stmt* wal = nullptr;
  if (!store->prepare("PRAGMA journal_mode = WAL", wal, "open the cache", err))
    return nullptr;
  rc = sqlite3_step(wal);
  std::string mode = rc == SQLITE_ROW ? lower(column_string(wal, 0)) : "";
  if (rc != SQLITE_ROW) {
    store->fail_sql(err, "open the cache");
    sqlite3_finalize(wal);
    return nullptr;
  }
  sqlite3_finalize(wal);
  if (mode != "wal") {
    err = failure{ec::cache_failed, "cannot open the cache " + path
                                      + ": WAL mode unavailable (journal mode "
                                      + mode + ")"};
    return nullptr;
  }
  auto cache = "PRAGMA cache_size = -" + std::to_string(cache_kib);
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
      // Per table (lowercase name): the hash of its content, written in the
      // transaction that swaps the table in.
      "CREATE TABLE IF NOT EXISTS \"sync_meta\"("
      "\"name\" TEXT PRIMARY KEY NOT NULL,"
      "\"content_hash\" TEXT NOT NULL DEFAULT '',"
      "\"rows\" INTEGER NOT NULL DEFAULT 0,"
      "\"updated_ms\" INTEGER NOT NULL DEFAULT 0);";
  if (!store->exec(setup, "open the cache", err)
      || !store->exec(cache.c_str(), "open the cache", err))
    return nullptr;
  {
    // One transaction, so that two processes opening a cache of an older
    // version at once do not both add the new columns.
    auto what = std::string{"create the history table in the cache"};
    if (!store->exec("BEGIN IMMEDIATE", what, err))
      return nullptr;
    if (!store->exec(schema, what, err) || !store->migrate(err)
        || !store->exec("COMMIT", what, err)) {
      if (!sqlite3_get_autocommit(store->db_))
        sqlite3_exec(store->db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return nullptr;
    }
  }
  if (!store->drop_leftover_staging(err))
    return nullptr;
  return store;
}

bool sheet_store::migrate(failure& err) {
  // Columns added since the first version of sync_runs.
  std::set<std::string> have;
  {
    stmt_guard cols;
    if (!prepare("SELECT name FROM pragma_table_info('sync_runs')", cols.stmt,
                 "migrate the history table in the cache", err))
      return false;
    while (sqlite3_step(cols.stmt) == SQLITE_ROW)
      have.insert(lower(column_string(cols.stmt, 0)));
  }
  const std::pair<const char*, const char*> added[] = {
    {"progress", "INTEGER NOT NULL DEFAULT 0"},
    {"owner_pid", "INTEGER NOT NULL DEFAULT 0"},
    {"owner_start", "TEXT NOT NULL DEFAULT ''"},
  };
  for (auto& [name, type] : added) {
    if (have.count(name) > 0)
      continue;
    auto sql = std::string{"ALTER TABLE \"sync_runs\" ADD COLUMN "}
               + quote_id(name) + " " + type;
    if (!exec(sql.c_str(), "migrate the history table in the cache", err))
      return false;
  }
  return true;
}

bool sheet_store::drop_leftover_staging(failure& err) {
  // Caller holds the write turn, so no staging table of this process is
  // created between reading `staging` and dropping.
  std::set<std::string> live;
  {
    std::lock_guard<std::mutex> guard{file_->mtx};
    live = file_->staging;
  }
  std::vector<std::string> leftovers;
  {
    stmt_guard list;
    if (!prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                 "substr(name, 1, 9) = '_staging_'",
                 list.stmt, "list the tables in the cache", err))
      return false;
    int rc;
    while ((rc = sqlite3_step(list.stmt)) == SQLITE_ROW) {
      auto name = column_string(list.stmt, 0);
      auto pid = staging_pid(name);
      if (pid == 0) {
        // An older version's "_staging_<table>": ours if live here.
        if (live.count(lower(name.substr(9))) == 0)
          leftovers.push_back(std::move(name));
      } else if (pid == getpid()) {
        // Ours if live, else left by an earlier process with our pid.
        auto table = name.substr(9 + std::to_string(pid).size() + 1);
        if (live.count(lower(table)) == 0)
          leftovers.push_back(std::move(name));
      } else if (!process_alive(pid, {})) {
        leftovers.push_back(std::move(name));
      }
    }
    if (rc != SQLITE_DONE)
      return fail_sql(err, "list the tables in the cache");
  }
  for (auto& name : leftovers) {
    auto sql = "DROP TABLE IF EXISTS " + quote_id(name);
    if (!exec(sql.c_str(), "drop the unfinished table " + name + " in the cache",
              err))
      return false;
  }
  return true;
}

// -- helpers ------------------------------------------------------------------

bool sheet_store::fail_sql(failure& err, const std::string& what) {
  err = failure{ec::cache_failed, "cannot " + what + " " + path_ + ": "
                                    + sqlite3_errmsg(db_)
                                    + hint(sqlite3_extended_errcode(db_))};
  return false;
}

bool sheet_store::exec(const char* sql, const std::string& what,
                       failure& err) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
    return fail_sql(err, what);
  return true;
}

bool sheet_store::prepare(const std::string& sql, sqlite3_stmt*& out,
                          const std::string& what, failure& err) {
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &out,
                         nullptr)
      != SQLITE_OK) {
    sqlite3_finalize(out);
    out = nullptr;
    return fail_sql(err, what);
  }
  return true;
}

bool sheet_store::valid_table_name(const std::string& name) {
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
  return l != "sync_runs" && l != "sync_meta" && l.compare(0, 7, "sqlite_") != 0;
}

std::string sheet_store::staging_name() const {
  return staging_prefix + std::to_string(getpid()) + "_" + table_;
}

// -- writing ------------------------------------------------------------------

bool sheet_store::staging() const {
  return !table_.empty();
}

uint64_t sheet_store::rows_written() const {
  return rows_written_;
}

void sheet_store::defer_bytes(size_t n) {
  defer_limit_ = n;
}

size_t sheet_store::defer_bytes() const {
  return defer_limit_;
}

bool sheet_store::kept() const {
  return kept_;
}

std::string sheet_store::content_hash() const {
  return hash_.digest(header_);
}

bool sheet_store::begin(const std::string& table, failure& err) {
  if (!valid_table_name(table)) {
    err = failure{ec::invalid_argument,
                  "invalid source name \"" + table
                    + "\": use 1 to 64 letters, digits, '_' or '-', starting "
                      "with a letter or digit (not sync_runs, sync_meta or "
                      "sqlite_*)"};
    return false;
  }
  if (staging()) {
    err = failure{ec::invalid_argument, "cannot begin writing table " + table
                                          + ": still writing table " + table_};
    return false;
  }
  {
    std::lock_guard<std::mutex> guard{file_->mtx};
    if (!file_->staging.insert(lower(table)).second) {
      err = failure{ec::cache_failed, "cannot write table " + table
                                        + " in the cache " + path_
                                        + ": another sync is writing it"};
      return false;
    }
  }
  table_ = table;
  header_.clear();
  columns_.clear();
  sql_columns_.clear();
  rows_written_ = 0;
  next_row_ = 1;
  min_row_ = 1;
  hash_.reset();
  deferred_.clear();
  deferred_bytes_ = 0;
  kept_ = false;
  // Only worth it when the content may turn out the same as the cached one.
  deferring_ = defer_limit_ > 0 && !stored_hash(table).empty();
  bool ok;
  {
    // A staging table of this name can only be a leftover (e.g. an abort()
    // whose DROP failed).
    write_turn turn{*file_};
    auto sql = "DROP TABLE IF EXISTS " + quote_id(staging_name());
    ok = exec(sql.c_str(), "prepare writing table " + table + " in the cache",
              err);
  }
  if (!ok)
    end_staging();
  return ok;
}

bool sheet_store::ensure_columns(const std::vector<std::string>& columns,
                                 failure& err) {
  if (columns == columns_)
    return true;
  auto what = "write table " + table_ + " in the cache";
  auto max_columns = sqlite3_limit(db_, SQLITE_LIMIT_COLUMN, -1) - 1;
  if (columns.size() > static_cast<size_t>(max_columns)) {
    err = failure{ec::cache_failed,
                  "cannot " + what + " " + path_ + ": the sheet has "
                    + std::to_string(columns.size())
                    + " columns, the cache holds at most "
                    + std::to_string(max_columns)};
    return false;
  }
  auto names = sql_names(columns);
  if (columns_.empty()) {
    // DEFAULT '' on all columns, so the schema depends only on the final
    // header, not on where in the sheet it grew.
    auto sql = "CREATE TABLE " + quote_id(staging_name())
               + "(\"_row\" INTEGER PRIMARY KEY";
    for (auto& name : names)
      sql += ", " + quote_id(name) + " TEXT NOT NULL DEFAULT ''";
    sql += ")";
    if (!exec(sql.c_str(), what, err))
      return false;
  } else {
    if (columns.size() <= columns_.size()
        || !std::equal(columns_.begin(), columns_.end(), columns.begin())) {
      err = failure{ec::cache_failed,
                    "cannot " + what + " " + path_
                      + ": the header changed during the sync (columns may "
                        "only be added at the end)"};
      return false;
    }
    finalize_inserts();
    for (auto i = columns_.size(); i < names.size(); ++i) {
      auto sql = "ALTER TABLE " + quote_id(staging_name()) + " ADD COLUMN "
                 + quote_id(names[i]) + " TEXT NOT NULL DEFAULT ''";
      if (!exec(sql.c_str(), what, err))
        return false;
    }
  }
  columns_ = columns;
  sql_columns_ = std::move(names);
  return prepare_inserts(err);
}

bool sheet_store::prepare_inserts(failure& err) {
  finalize_inserts();
  auto cols = sql_columns_.size() + 1;
  auto max_vars = static_cast<size_t>(
    sqlite3_limit(db_, SQLITE_LIMIT_VARIABLE_NUMBER, -1));
  multi_rows_ = std::max<size_t>(1, std::min(insert_rows_per_stmt,
                                             max_vars / cols));
  auto head = "INSERT INTO " + quote_id(staging_name()) + "(\"_row\"";
  for (auto& name : sql_columns_)
    head += ", " + quote_id(name);
  head += ") VALUES ";
  std::string tuple = "(?";
  for (size_t i = 1; i < cols; ++i)
    tuple += ",?";
  tuple += ")";
  auto one = head + tuple;
  auto multi = std::move(head);
  for (size_t i = 0; i < multi_rows_; ++i) {
    if (i > 0)
      multi += ',';
    multi += tuple;
  }
  auto what = "write table " + table_ + " in the cache";
  return prepare(one, insert_one_, what, err)
         && prepare(multi, insert_multi_, what, err);
}

void sheet_store::finalize_inserts() {
  sqlite3_finalize(insert_one_);
  sqlite3_finalize(insert_multi_);
  insert_one_ = nullptr;
  insert_multi_ = nullptr;
}

bool sheet_store::append(const row_batch& batch, failure& err) {
  if (!staging()) {
    err = failure{ec::invalid_argument, "append() without begin()"};
    return false;
  }
  auto cols = batch.columns.size();
  if (cols == 0 ? !batch.ends.empty() : batch.ends.size() % cols != 0) {
    err = failure{ec::invalid_argument,
                  "malformed row batch: " + std::to_string(batch.ends.size())
                    + " cells for " + std::to_string(cols) + " columns"};
    abort();
    return false;
  }
  if (cols == 0)
    return true;
  auto what = "write table " + table_ + " in the cache";
  // Checked before hashing or holding the batch back (SQLite would catch
  // neither then).
  uint32_t prev = 0;
  for (auto end : batch.ends) {
    if (end < prev || end > batch.data.size()) {
      err = failure{ec::invalid_argument,
                    "malformed row batch: cell end " + std::to_string(end)
                      + " out of order or beyond "
                      + std::to_string(batch.data.size())};
      abort();
      return false;
    }
    prev = end;
  }
  if (!header_.empty() && batch.columns != header_
      && (batch.columns.size() <= header_.size()
          || !std::equal(header_.begin(), header_.end(),
                         batch.columns.begin()))) {
    err = failure{ec::cache_failed,
                  "cannot " + what + " " + path_
                    + ": the header changed during the sync (columns may "
                      "only be added at the end)"};
    abort();
    return false;
  }
  auto rows = batch.rows();
  if (rows > 0 && batch.first_row < min_row_) {
    err = failure{ec::cache_failed,
                  "cannot " + what + " " + path_ + ": row "
                    + std::to_string(batch.first_row) + " comes after row "
                    + std::to_string(min_row_ - 1)
                    + " (rows must be in sheet order)"};
    abort();
    return false;
  }
  header_ = batch.columns;
  if (rows > 0)
    min_row_ = batch.first_row + rows;
  hash_.add(batch);
  // Counted once accepted, whether written now or held back.
  rows_written_ += rows;
  if (deferring_) {
    auto size = batch_bytes(batch);
    if (deferred_bytes_ + size <= defer_limit_) {
      deferred_.push_back(batch);
      deferred_bytes_ += size;
      return true;
    }
    // Too big to hold back: write what was held back, and from now on
    // write at once.
    if (!flush_deferred(err)) {
      abort();
      return false;
    }
  }
  auto ok = insert_rows(batch, err);
  if (!ok)
    abort();
  return ok;
}

bool sheet_store::flush_deferred(failure& err) {
  deferring_ = false;
  auto held = std::move(deferred_);
  deferred_.clear();
  deferred_bytes_ = 0;
  for (auto& batch : held)
    if (!insert_rows(batch, err))
      return false;
  return true;
}

std::string sheet_store::stored_hash(const std::string& table) {
  failure err;
  stmt_guard stmt;
  // One statement, one snapshot: the hash only counts with its table.
  if (!prepare("SELECT \"content_hash\" FROM \"sync_meta\" WHERE \"name\" = ?1 "
               "AND EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' "
               "AND name = ?2 COLLATE NOCASE)",
               stmt.stmt, "read the content hashes of the cache", err))
    return {};
  auto key = lower(table);
  bind_string(stmt.stmt, 1, key);
  bind_string(stmt.stmt, 2, table);
  if (sqlite3_step(stmt.stmt) != SQLITE_ROW)
    return {};
  return column_string(stmt.stmt, 0);
}

bool sheet_store::unchanged() {
  if (!staging() || header_.empty())
    return false;
  auto stored = stored_hash(table_);
  return !stored.empty() && stored == content_hash();
}

bool sheet_store::insert_rows(const row_batch& batch, failure& err) {
  auto what = "write table " + table_ + " in the cache";
  write_turn turn{*file_};
  // Rolls back and reports; errmsg must be read before the ROLLBACK.
  auto fail = [&](bool sql_error) {
    if (sql_error)
      fail_sql(err, what);
    if (insert_one_)
      sqlite3_reset(insert_one_);
    if (insert_multi_)
      sqlite3_reset(insert_multi_);
    if (!sqlite3_get_autocommit(db_))
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return false;
  };
  if (!exec("BEGIN IMMEDIATE", what, err))
    return false;
  if (!ensure_columns(batch.columns, err))
    return fail(false);
  const auto cols = columns_.size();
  const auto rows = batch.rows();
  const char* data = batch.data.data();
  size_t cell = 0;
  uint32_t prev = 0;
  size_t in_txn = 0;
  // Rows that continue the previous ones get _row from SQLite (max + 1, the
  // same number): that saves a uniqueness seek per row (~20% of the time).
  const bool auto_row = batch.first_row == next_row_;
  for (size_t row = 0; row < rows;) {
    auto* stmt = rows - row >= multi_rows_ ? insert_multi_ : insert_one_;
    auto n = stmt == insert_multi_ ? multi_rows_ : 1;
    int index = 1;
    for (size_t i = 0; i < n; ++i) {
      if (auto_row)
        sqlite3_bind_null(stmt, index++);
      else
        sqlite3_bind_int64(stmt, index++, static_cast<sqlite3_int64>(
                                            batch.first_row + row + i));
      for (size_t c = 0; c < cols; ++c) {
        // Cell ends were checked by append().
        auto end = batch.ends[cell++];
        // STATIC: the batch outlives the step; no copy of the cell.
        sqlite3_bind_text(stmt, index++, data + prev,
                          static_cast<int>(end - prev), SQLITE_STATIC);
        prev = end;
      }
    }
    if (sqlite3_step(stmt) != SQLITE_DONE)
      return fail(true);
    sqlite3_reset(stmt);
    row += n;
    in_txn += n;
    next_row_ = batch.first_row + row;
    if (in_txn >= sheet_store::chunk_rows && row < rows) {
      // Let waiting writers (the history) in between chunks.
      if (!exec("COMMIT", what, err))
        return fail(false);
      turn.release();
      turn.acquire();
      if (!exec("BEGIN IMMEDIATE", what, err))
        return false;
      in_txn = 0;
    }
  }
  // The statements keep pointers into the batch, but are never stepped
  // again before all parameters are bound anew.
  if (!exec("COMMIT", what, err))
    return fail(false);
  return true;
}

bool sheet_store::commit(failure& err) {
  if (!staging()) {
    err = failure{ec::invalid_argument, "commit() without begin()"};
    return false;
  }
  auto what = "replace table " + table_ + " in the cache";
  if (header_.empty()) {
    err = failure{ec::cache_failed,
                  "cannot " + what + " " + path_
                    + ": no rows and no header were written"};
    abort();
    return false;
  }
  auto hash = content_hash();
  auto stored = stored_hash(table_);
  if (!stored.empty() && stored == hash) {
    // The same content: the table stays as it is, not even touched.
    abort();
    kept_ = true;
    return true;
  }
  if (deferring_ && !flush_deferred(err)) {
    abort();
    return false;
  }
  // Renaming the table would expire them anyway.
  finalize_inserts();
  bool ok;
  {
    write_turn turn{*file_};
    auto swap = "DROP TABLE IF EXISTS " + quote_id(table_) + "; ALTER TABLE "
                + quote_id(staging_name()) + " RENAME TO " + quote_id(table_)
                + ";";
    ok = exec("BEGIN IMMEDIATE", what, err) && exec(swap.c_str(), what, err);
    if (ok) {
      // The hash in the same transaction: table and hash never disagree.
      stmt_guard meta;
      ok = prepare("INSERT OR REPLACE INTO \"sync_meta\"(\"name\", "
                   "\"content_hash\", \"rows\", \"updated_ms\") VALUES (?, ?, "
                   "?, ?)",
                   meta.stmt, what, err);
      if (ok) {
        auto key = lower(table_);
        bind_string(meta.stmt, 1, key);
        bind_string(meta.stmt, 2, hash);
        sqlite3_bind_int64(meta.stmt, 3,
                           static_cast<sqlite3_int64>(rows_written_));
        sqlite3_bind_int64(meta.stmt, 4, unix_ms());
        ok = sqlite3_step(meta.stmt) == SQLITE_DONE || fail_sql(err, what);
      }
    }
    ok = ok && exec("COMMIT", what, err);
    if (!ok && !sqlite3_get_autocommit(db_))
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  if (ok)
    end_staging();
  else
    abort();
  return ok;
}

void sheet_store::abort() {
  if (!staging())
    return;
  finalize_inserts();
  // Nothing was written aside while all batches were held back.
  if (!columns_.empty()) {
    write_turn turn{*file_};
    // Best effort: if this fails (disk full), begin() or the next open()
    // drops the table.
    auto sql = "DROP TABLE IF EXISTS " + quote_id(staging_name());
    sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  end_staging();
}

void sheet_store::end_staging() {
  finalize_inserts();
  {
    std::lock_guard<std::mutex> guard{file_->mtx};
    file_->staging.erase(lower(table_));
  }
  table_.clear();
  columns_.clear();
  sql_columns_.clear();
  deferred_.clear();
  deferred_bytes_ = 0;
  deferring_ = false;
}

// -- history ------------------------------------------------------------------

bool sheet_store::put_run(const sync_record& r, failure& err) {
  auto what = std::string{"write the sync history of the cache"};
  write_turn turn{*file_};
  stmt_guard stmt;
  if (!prepare(std::string{"INSERT OR REPLACE INTO \"sync_runs\"("}
                 + run_columns
                 + ", \"owner_pid\", \"owner_start\") VALUES (?, ?, ?, ?, ?, ?, "
                   "?, ?, ?, ?, ?, ?, ?)",
               stmt.stmt, what, err))
    return false;
  bind_string(stmt.stmt, 1, r.id);
  bind_string(stmt.stmt, 2, r.source);
  bind_string(stmt.stmt, 3, r.status);
  bind_string(stmt.stmt, 4, r.message);
  bind_string(stmt.stmt, 5, r.error);
  sqlite3_bind_int64(stmt.stmt, 6, r.started_ms);
  sqlite3_bind_int64(stmt.stmt, 7, r.updated_ms);
  sqlite3_bind_int64(stmt.stmt, 8, r.finished_ms);
  sqlite3_bind_int64(stmt.stmt, 9, static_cast<sqlite3_int64>(r.bytes));
  sqlite3_bind_int64(stmt.stmt, 10, static_cast<sqlite3_int64>(r.rows));
  sqlite3_bind_int(stmt.stmt, 11, r.progress);
  sqlite3_bind_int64(stmt.stmt, 12, getpid());
  auto start = own_start(); // bound as SQLITE_STATIC: must outlive the step
  bind_string(stmt.stmt, 13, start);
  if (sqlite3_step(stmt.stmt) != SQLITE_DONE)
    return fail_sql(err, what);
  return true;
}

size_t sheet_store::recover_interrupted(int64_t now_ms, failure& err) {
  auto what = std::string{"mark interrupted syncs in the history of the cache"};
  write_turn turn{*file_};
  if (!exec("BEGIN IMMEDIATE", what, err))
    return 0;
  auto fail = [&] {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return size_t{0};
  };
  std::vector<std::string> gone;
  {
    stmt_guard list;
    if (!prepare("SELECT \"id\", \"owner_pid\", \"owner_start\" FROM "
                 "\"sync_runs\" WHERE \"status\" IN (?, ?, ?, ?)",
                 list.stmt, what, err))
      return fail();
    int i = 1;
    for (auto x : {sync_state::idle, sync_state::downloading,
                   sync_state::processing, sync_state::saving})
      sqlite3_bind_text(list.stmt, i++, to_string(x), -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(list.stmt)) == SQLITE_ROW)
      if (!process_alive(sqlite3_column_int64(list.stmt, 1),
                         column_string(list.stmt, 2)))
        gone.push_back(column_string(list.stmt, 0));
    if (rc != SQLITE_DONE) {
      fail_sql(err, what);
      return fail();
    }
  }
  if (!gone.empty()) {
    stmt_guard mark;
    if (!prepare("UPDATE \"sync_runs\" SET \"status\" = ?, \"error\" = "
                 "'interrupted by restart', \"message\" = 'Sync failed: "
                 "interrupted by restart', \"finished_ms\" = ?, "
                 "\"updated_ms\" = ? WHERE \"id\" = ?",
                 mark.stmt, what, err))
      return fail();
    for (auto& id : gone) {
      sqlite3_bind_text(mark.stmt, 1, to_string(sync_state::error), -1,
                        SQLITE_STATIC);
      sqlite3_bind_int64(mark.stmt, 2, now_ms);
      sqlite3_bind_int64(mark.stmt, 3, now_ms);
      bind_string(mark.stmt, 4, id);
      if (sqlite3_step(mark.stmt) != SQLITE_DONE) {
        fail_sql(err, what);
        return fail();
      }
      sqlite3_reset(mark.stmt);
    }
  }
  if (!exec("COMMIT", what, err))
    return fail();
  return gone.size();
}

std::optional<sync_record> sheet_store::get_run(const std::string& id) {
  failure err;
  stmt_guard stmt;
  if (!prepare(std::string{"SELECT "} + run_columns
                 + " FROM \"sync_runs\" WHERE \"id\" = ?",
               stmt.stmt, "read the sync history of the cache", err))
    return std::nullopt;
  bind_string(stmt.stmt, 1, id);
  if (sqlite3_step(stmt.stmt) != SQLITE_ROW)
    return std::nullopt;
  return read_run(stmt.stmt);
}

std::vector<sync_record> sheet_store::runs(const std::string& source,
                                           size_t limit) {
  std::vector<sync_record> result;
  failure err;
  stmt_guard stmt;
  // rowid breaks ties: the record put last first. The index on (source,
  // started_ms) ends in rowid, so this needs no sort.
  auto sql = std::string{"SELECT "} + run_columns + " FROM \"sync_runs\""
             + (source.empty() ? "" : " WHERE \"source\" = ?1")
             + " ORDER BY \"started_ms\" DESC, rowid DESC LIMIT ?2";
  if (!prepare(sql, stmt.stmt, "read the sync history of the cache", err))
    return result;
  if (!source.empty())
    bind_string(stmt.stmt, 1, source);
  sqlite3_bind_int64(stmt.stmt, 2, to_sql_limit(limit));
  while (sqlite3_step(stmt.stmt) == SQLITE_ROW)
    result.push_back(read_run(stmt.stmt));
  return result;
}

std::optional<sync_record>
sheet_store::last_complete(const std::string& source) {
  failure err;
  stmt_guard stmt;
  if (!prepare(std::string{"SELECT "} + run_columns
                 + " FROM \"sync_runs\" WHERE \"source\" = ? AND \"status\" "
                   "= 'complete' ORDER BY \"started_ms\" DESC, rowid DESC "
                   "LIMIT 1",
               stmt.stmt, "read the sync history of the cache", err))
    return std::nullopt;
  bind_string(stmt.stmt, 1, source);
  if (sqlite3_step(stmt.stmt) != SQLITE_ROW)
    return std::nullopt;
  return read_run(stmt.stmt);
}

// -- reading ------------------------------------------------------------------

bool sheet_store::read(const std::string& table, uint64_t limit,
                       uint64_t offset, page& out, failure& err) {
  out = page{};
  if (!valid_table_name(table)) {
    err = failure{ec::invalid_argument,
                  "invalid source name \"" + table + "\""};
    return false;
  }
  auto what = "read table " + table + " from the cache";
  // One read transaction: the count and the rows come from one snapshot,
  // even if a commit() swaps the table in between.
  if (!exec("BEGIN", what, err))
    return false;
  auto done = [&](bool ok) {
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    return ok;
  };
  {
    stmt_guard exists;
    if (!prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name "
                 "= ? COLLATE NOCASE",
                 exists.stmt, what, err))
      return done(false);
    bind_string(exists.stmt, 1, table);
    auto rc = sqlite3_step(exists.stmt);
    if (rc == SQLITE_DONE) {
      err = failure{ec::no_data, "cannot " + what + " " + path_
                                   + ": no such table (the source was "
                                     "never synced)"};
      return done(false);
    }
    if (rc != SQLITE_ROW)
      return done(fail_sql(err, what));
  }
  {
    stmt_guard count;
    if (!prepare("SELECT count(*) FROM " + quote_id(table), count.stmt, what,
                 err))
      return done(false);
    if (sqlite3_step(count.stmt) != SQLITE_ROW)
      return done(fail_sql(err, what));
    out.total = static_cast<uint64_t>(sqlite3_column_int64(count.stmt, 0));
  }
  stmt_guard rows;
  if (!prepare("SELECT * FROM " + quote_id(table)
                 + " ORDER BY \"_row\" LIMIT ? OFFSET ?",
               rows.stmt, what, err))
    return done(false);
  sqlite3_bind_int64(rows.stmt, 1, to_sql_limit(limit));
  sqlite3_bind_int64(rows.stmt, 2, to_sql_offset(offset));
  auto n = sqlite3_column_count(rows.stmt);
  std::vector<int> keep;
  for (int i = 0; i < n; ++i) {
    std::string name = sqlite3_column_name(rows.stmt, i);
    if (name != "_row") {
      keep.push_back(i);
      out.columns.push_back(std::move(name));
    }
  }
  int rc;
  while ((rc = sqlite3_step(rows.stmt)) == SQLITE_ROW) {
    std::vector<std::string> row;
    row.reserve(keep.size());
    for (auto i : keep)
      row.push_back(column_string(rows.stmt, i));
    out.rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) {
    fail_sql(err, what);
    out = page{};
    return done(false);
  }
  return done(true);
}

} // namespace sheetsync
