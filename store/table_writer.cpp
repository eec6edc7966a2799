#include "store/table_writer.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>
#include <utility>

#include <sqlite3.h>

#include "net/text.hpp"
#include "parse/column_names.hpp"
#include "store/process_identity.hpp"

namespace sheetsync {

namespace {

using sql::bind_string;
using sql::column_string;
using sql::quote_id;
using sql::stmt_guard;

constexpr const char* staging_prefix = "_staging_";

/// Rows per multi-row INSERT. Measured (instructions per row): one row per
/// statement costs twice as much; 16 is 3% worse, 64 only 2% better.
constexpr size_t insert_rows_per_stmt = 32;

/// SQLite's default WAL auto-checkpoint (pages).
constexpr int wal_autocheckpoint_pages = 1000;


/// SQL column names for a header: the cache's one naming rule (unique
/// ignoring ASCII case, `_row` reserved, no NUL), the same the parser and the
/// content hash use.
std::vector<std::string> sql_names(const std::vector<std::string>& header) {
  return column_names(header);
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

table_writer::table_writer(std::shared_ptr<database> db) : db_(std::move(db)) {
  // nop
}

table_writer::~table_writer() {
  abort();
  finalize_inserts();
}

bool table_writer::drop_leftovers(database& db, failure& err) {
  // Holding the write turn, so no staging table of this process is created
  // between reading `staging` and dropping (begin() registers a table there
  // before it takes a turn to create it).
  write_turn turn{db.file()};
  std::set<std::string> live;
  {
    std::lock_guard<std::mutex> guard{db.file().mtx};
    live = db.file().staging;
  }
  std::vector<std::string> leftovers;
  {
    stmt_guard list;
    if (!db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND "
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
      } else if (pid == own_pid()) {
        // Ours if live, else left by an earlier process with our pid.
        auto table = name.substr(9 + std::to_string(pid).size() + 1);
        if (live.count(lower(table)) == 0)
          leftovers.push_back(std::move(name));
      } else if (!process_alive(pid, {})) {
        leftovers.push_back(std::move(name));
      }
    }
    if (rc != SQLITE_DONE)
      return db.fail_sql(err, "list the tables in the cache");
  }
  for (auto& name : leftovers) {
    auto sql = "DROP TABLE IF EXISTS " + quote_id(name);
    if (!db.exec(sql.c_str(),
                 "drop the unfinished table " + name + " in the cache", err))
      return false;
  }
  return true;
}

std::string table_writer::staging_name() const {
  return staging_prefix + std::to_string(own_pid()) + "_" + table_;
}

// -- writing ------------------------------------------------------------------

bool table_writer::staging() const {
  return !table_.empty();
}

uint64_t table_writer::rows_written() const {
  return rows_written_ + rows_aside_;
}

void table_writer::defer_bytes(size_t n) {
  defer_limit_ = n;
}

size_t table_writer::defer_bytes() const {
  return defer_limit_;
}

bool table_writer::kept() const {
  return kept_;
}

void table_writer::checkpoint_elsewhere(bool on) {
  checkpoint_elsewhere_ = on;
}

int table_writer::wal_frames() const {
  return wal_frames_;
}

int table_writer::on_wal_commit(void* self, sqlite3* db, const char* name,
                                int frames) {
  static_cast<table_writer*>(self)->wal_frames_ = frames;
  // The checkpointer fell behind: as SQLite's own hook would, later.
  if (frames >= 4 * wal_autocheckpoint_pages)
    sqlite3_wal_checkpoint(db, name);
  return SQLITE_OK;
}

std::string table_writer::content_hash() const {
  return hash_appends_ ? hash_.digest(header_) : given_hash_;
}

void table_writer::hash_appends(bool on) {
  hash_appends_ = on;
}

void table_writer::give_content_hash(std::string hex) {
  given_hash_ = std::move(hex);
}

bool table_writer::begin(const std::string& table, failure& err) {
  if (!database::valid_table_name(table)) {
    err = failure{ec::invalid_argument,
                  "invalid source name \"" + table
                    + "\": use 1 to 64 letters, digits, '_' or '-', starting "
                      "with a letter or digit (not sync_runs, sync_meta, "
                      "sources, sync_tabs or sqlite_*)"};
    return false;
  }
  if (staging()) {
    err = failure{ec::invalid_argument, "cannot begin writing table " + table
                                          + ": still writing table " + table_};
    return false;
  }
  // SQLite opens a file it may not write read-only without a word, and
  // then fails only at the first real write: at the swap, after the whole
  // download, when the rows are held back. Say so before the download.
  if (sqlite3_db_readonly(db_->handle(), "main") == 1) {
    err = failure{ec::cache_failed,
                  "cannot write table " + table + " in the cache "
                    + db_->path()
                    + ": the file is read-only (check its mode and owner, "
                      "and that its file system is mounted read-write)"};
    return false;
  }
  {
    std::lock_guard<std::mutex> guard{db_->file().mtx};
    if (!db_->file().staging.insert(lower(table)).second) {
      err = failure{ec::cache_failed, "cannot write table " + table
                                        + " in the cache " + db_->path()
                                        + ": another sync is writing it"};
      return false;
    }
  }
  table_ = table;
  header_.clear();
  columns_.clear();
  sql_columns_.clear();
  rows_written_ = 0;
  // A first table: no rows of tables set aside before it.
  if (aside_.empty())
    rows_aside_ = 0;
  next_row_ = 1;
  min_row_ = 1;
  hash_.reset();
  given_hash_.clear();
  wal_frames_ = 0;
  // Replaces SQLite's auto-checkpoint hook until end_staging().
  if (checkpoint_elsewhere_)
    sqlite3_wal_hook(db_->handle(), &table_writer::on_wal_commit, this);
  deferred_.clear();
  deferred_bytes_ = 0;
  kept_ = false;
  // Only worth it when the content may turn out the same as the cached one.
  deferring_ = defer_limit_ > 0 && !stored_hash(table).empty();
  bool ok;
  {
    // A staging table of this name can only be a leftover (e.g. an abort()
    // whose DROP failed).
    write_turn turn{db_->file()};
    auto sql = "DROP TABLE IF EXISTS " + quote_id(staging_name());
    ok = db_->exec(sql.c_str(),
                   "prepare writing table " + table + " in the cache", err);
  }
  if (!ok)
    end_staging();
  return ok;
}

bool table_writer::ensure_columns(const std::vector<std::string>& columns,
                                 failure& err) {
  if (columns == columns_)
    return true;
  auto what = "write table " + table_ + " in the cache";
  auto max_columns = sqlite3_limit(db_->handle(), SQLITE_LIMIT_COLUMN, -1) - 1;
  if (columns.size() > static_cast<size_t>(max_columns)) {
    err = failure{ec::cache_failed,
                  "cannot " + what + " " + db_->path() + ": the sheet has "
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
    if (!db_->exec(sql.c_str(), what, err))
      return false;
  } else {
    if (columns.size() <= columns_.size()
        || !std::equal(columns_.begin(), columns_.end(), columns.begin())) {
      err = failure{ec::cache_failed,
                    "cannot " + what + " " + db_->path()
                      + ": the header changed during the sync (columns may "
                        "only be added at the end)"};
      return false;
    }
    finalize_inserts();
    for (auto i = columns_.size(); i < names.size(); ++i) {
      auto sql = "ALTER TABLE " + quote_id(staging_name()) + " ADD COLUMN "
                 + quote_id(names[i]) + " TEXT NOT NULL DEFAULT ''";
      if (!db_->exec(sql.c_str(), what, err))
        return false;
    }
  }
  columns_ = columns;
  sql_columns_ = std::move(names);
  return prepare_inserts(err);
}

bool table_writer::prepare_inserts(failure& err) {
  finalize_inserts();
  auto cols = sql_columns_.size() + 1;
  auto max_vars = static_cast<size_t>(
    sqlite3_limit(db_->handle(), SQLITE_LIMIT_VARIABLE_NUMBER, -1));
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
  return db_->prepare(one, insert_one_, what, err)
         && db_->prepare(multi, insert_multi_, what, err);
}

void table_writer::finalize_inserts() {
  sqlite3_finalize(insert_one_);
  sqlite3_finalize(insert_multi_);
  insert_one_ = nullptr;
  insert_multi_ = nullptr;
}

bool table_writer::append(const row_batch& batch, failure& err) {
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
                  "cannot " + what + " " + db_->path()
                    + ": the header changed during the sync (columns may "
                      "only be added at the end)"};
    abort();
    return false;
  }
  auto rows = batch.rows();
  if (rows > 0 && batch.first_row < min_row_) {
    err = failure{ec::cache_failed,
                  "cannot " + what + " " + db_->path() + ": row "
                    + std::to_string(batch.first_row) + " comes after row "
                    + std::to_string(min_row_ - 1)
                    + " (rows must be in sheet order)"};
    abort();
    return false;
  }
  header_ = batch.columns;
  if (rows > 0)
    min_row_ = batch.first_row + rows;
  if (hash_appends_)
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

bool table_writer::flush_deferred(failure& err) {
  deferring_ = false;
  auto held = std::move(deferred_);
  deferred_.clear();
  deferred_bytes_ = 0;
  for (auto& batch : held)
    if (!insert_rows(batch, err))
      return false;
  return true;
}

std::string table_writer::stored_hash(const std::string& table) {
  failure err;
  stmt_guard stmt;
  // One statement, one snapshot: the hash only counts with its table.
  if (!db_->prepare("SELECT \"content_hash\" FROM \"sync_meta\" WHERE "
                    "\"name\" = ?1 AND EXISTS (SELECT 1 FROM sqlite_master "
                    "WHERE type = 'table' AND name = ?2 COLLATE NOCASE)",
                    stmt.stmt, "read the content hashes of the cache", err))
    return {};
  auto key = lower(table);
  bind_string(stmt.stmt, 1, key);
  bind_string(stmt.stmt, 2, table);
  if (sqlite3_step(stmt.stmt) != SQLITE_ROW)
    return {};
  return column_string(stmt.stmt, 0);
}

bool table_writer::unchanged() {
  if (!staging() || header_.empty())
    return false;
  auto stored = stored_hash(table_);
  return !stored.empty() && stored == content_hash()
         && std::all_of(aside_.begin(), aside_.end(),
                        [](const aside& a) { return a.same; })
         && tabs_unchanged();
}

bool table_writer::insert_rows(const row_batch& batch, failure& err) {
  auto what = "write table " + table_ + " in the cache";
  // Before the first row written aside: see space_reserve.
  if (!reserve_.take(db_->path(), space_reserve::default_bytes, what, err))
    return false;
  write_turn turn{db_->file()};
  // Rolls back and reports; errmsg must be read before the ROLLBACK.
  auto fail = [&](bool sql_error) {
    if (sql_error)
      db_->fail_sql(err, what);
    if (insert_one_)
      sqlite3_reset(insert_one_);
    if (insert_multi_)
      sqlite3_reset(insert_multi_);
    if (!sqlite3_get_autocommit(db_->handle()))
      sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    return false;
  };
  if (!db_->exec("BEGIN IMMEDIATE", what, err))
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
    if (in_txn >= table_writer::chunk_rows && row < rows) {
      // Let waiting writers (the history) in between chunks.
      if (!db_->exec("COMMIT", what, err))
        return fail(false);
      turn.release();
      turn.acquire();
      if (!db_->exec("BEGIN IMMEDIATE", what, err))
        return false;
      in_txn = 0;
    }
  }
  // The statements keep pointers into the batch, but are never stepped
  // again before all parameters are bound anew.
  if (!db_->exec("COMMIT", what, err))
    return fail(false);
  return true;
}

bool table_writer::finish_table(failure& err) {
  auto what = "replace table " + table_ + " in the cache";
  if (header_.empty()) {
    err = failure{ec::cache_failed,
                  "cannot " + what + " " + db_->path()
                    + ": no rows and no header were written"};
    return false;
  }
  aside a;
  a.table = table_;
  a.staging = staging_name();
  a.hash = content_hash();
  a.rows = rows_written_;
  if (a.hash.empty()) {
    err = failure{ec::invalid_argument,
                  "cannot " + what + ": the content hash was not given"};
    return false;
  }
  auto stored = stored_hash(table_);
  a.same = !stored.empty() && stored == a.hash;
  if (a.same) {
    // The same content: the table stays as it is, not even touched.
    if (!columns_.empty())
      drop_staging({a.staging});
  } else if (deferring_ && !flush_deferred(err)) {
    return false;
  }
  // Renaming the table would expire them anyway.
  finalize_inserts();
  rows_aside_ += rows_written_;
  rows_written_ = 0;
  aside_.push_back(std::move(a));
  // Still registered as staged (end_staging() lets go of every table).
  table_.clear();
  header_.clear();
  columns_.clear();
  sql_columns_.clear();
  deferred_.clear();
  deferred_bytes_ = 0;
  deferring_ = false;
  return true;
}

bool table_writer::set_aside(failure& err) {
  if (!staging()) {
    err = failure{ec::invalid_argument, "set_aside() without begin()"};
    return false;
  }
  if (!finish_table(err)) {
    abort();
    return false;
  }
  return true;
}

void table_writer::record_tabs(std::string source,
                               std::vector<tab_entry> tabs) {
  tabs_source_ = std::move(source);
  tabs_ = std::move(tabs);
}

std::vector<table_writer::tab_entry>
table_writer::recorded_tabs(const std::string& source) {
  std::vector<tab_entry> result;
  failure err;
  stmt_guard stmt;
  // No sync_tabs table yet: no source has tabs.
  if (!db_->prepare("SELECT \"title\", \"table_name\" FROM \"sync_tabs\" "
                    "WHERE \"source\" = ?1 ORDER BY \"position\"",
                    stmt.stmt, "read the tabs of the cache", err))
    return result;
  auto key = lower(source);
  bind_string(stmt.stmt, 1, key);
  while (sqlite3_step(stmt.stmt) == SQLITE_ROW)
    result.push_back(
      {column_string(stmt.stmt, 0), column_string(stmt.stmt, 1)});
  return result;
}

bool table_writer::tabs_unchanged() {
  if (tabs_source_.empty())
    return true;
  auto old = recorded_tabs(tabs_source_);
  return std::equal(old.begin(), old.end(), tabs_.begin(), tabs_.end(),
                    [](const tab_entry& x, const tab_entry& y) {
                      return x.title == y.title && x.table == y.table;
                    });
}

bool table_writer::swap_all(failure& err) {
  auto what = "replace table " + aside_.back().table + " in the cache";
  if (aside_.size() > 1)
    what = "replace the tables of " + tabs_source_ + " in the cache";
  write_turn turn{db_->file()};
  auto ok = db_->exec("BEGIN IMMEDIATE", what, err);
  for (auto i = aside_.begin(); ok && i != aside_.end(); ++i) {
    if (i->same)
      continue;
    auto swap = "DROP TABLE IF EXISTS " + quote_id(i->table) + "; ALTER TABLE "
                + quote_id(i->staging) + " RENAME TO " + quote_id(i->table)
                + ";";
    ok = db_->exec(swap.c_str(), what, err);
    if (!ok)
      break;
    // The hash in the same transaction: table and hash never disagree.
    stmt_guard meta;
    ok = db_->prepare("INSERT OR REPLACE INTO \"sync_meta\"(\"name\", "
                      "\"content_hash\", \"rows\", \"updated_ms\") "
                      "VALUES (?, ?, ?, ?)",
                      meta.stmt, what, err);
    if (ok) {
      auto key = lower(i->table);
      bind_string(meta.stmt, 1, key);
      bind_string(meta.stmt, 2, i->hash);
      sqlite3_bind_int64(meta.stmt, 3, static_cast<sqlite3_int64>(i->rows));
      sqlite3_bind_int64(meta.stmt, 4, unix_ms());
      ok = sqlite3_step(meta.stmt) == SQLITE_DONE || db_->fail_sql(err, what);
    }
  }
  if (ok && !tabs_source_.empty()) {
    // The tab list in the same transaction too: readers resolve a title to
    // a table that holds that tab's rows. Tables of tabs that are gone go.
    std::set<std::string> keep;
    for (auto& t : tabs_)
      keep.insert(lower(t.table));
    auto source = lower(tabs_source_);
    ok = db_->exec("CREATE TABLE IF NOT EXISTS \"sync_tabs\"("
                   "\"source\" TEXT NOT NULL,"
                   "\"position\" INTEGER NOT NULL,"
                   "\"title\" TEXT NOT NULL,"
                   "\"table_name\" TEXT NOT NULL,"
                   "PRIMARY KEY(\"source\", \"position\"))",
                   what, err);
    for (auto& old : ok ? recorded_tabs(tabs_source_)
                        : std::vector<tab_entry>{}) {
      if (!ok || keep.count(lower(old.table)) > 0)
        continue;
      auto drop = "DROP TABLE IF EXISTS " + quote_id(old.table);
      ok = db_->exec(drop.c_str(), what, err);
      stmt_guard forget;
      ok = ok
           && db_->prepare("DELETE FROM \"sync_meta\" WHERE \"name\" = ?",
                           forget.stmt, what, err);
      if (ok) {
        auto key = lower(old.table);
        bind_string(forget.stmt, 1, key);
        ok = sqlite3_step(forget.stmt) == SQLITE_DONE
             || db_->fail_sql(err, what);
      }
    }
    stmt_guard clear;
    ok = ok
         && db_->prepare("DELETE FROM \"sync_tabs\" WHERE \"source\" = ?",
                         clear.stmt, what, err);
    if (ok) {
      bind_string(clear.stmt, 1, source);
      ok = sqlite3_step(clear.stmt) == SQLITE_DONE || db_->fail_sql(err, what);
    }
    for (size_t i = 0; ok && i < tabs_.size(); ++i) {
      stmt_guard add;
      ok = db_->prepare("INSERT INTO \"sync_tabs\"(\"source\", "
                        "\"position\", \"title\", \"table_name\") "
                        "VALUES (?, ?, ?, ?)",
                        add.stmt, what, err);
      if (ok) {
        bind_string(add.stmt, 1, source);
        sqlite3_bind_int64(add.stmt, 2, static_cast<sqlite3_int64>(i));
        bind_string(add.stmt, 3, tabs_[i].title);
        bind_string(add.stmt, 4, tabs_[i].table);
        ok = sqlite3_step(add.stmt) == SQLITE_DONE || db_->fail_sql(err, what);
      }
    }
  }
  ok = ok && db_->exec("COMMIT", what, err);
  if (!ok && !sqlite3_get_autocommit(db_->handle()))
    sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  return ok;
}

bool table_writer::commit(failure& err) {
  if (!staging()) {
    err = failure{ec::invalid_argument, "commit() without begin()"};
    return false;
  }
  if (!finish_table(err)) {
    abort();
    return false;
  }
  auto same = std::all_of(aside_.begin(), aside_.end(),
                          [](const aside& a) { return a.same; })
              && tabs_unchanged();
  if (same) {
    end_staging();
    kept_ = true;
    return true;
  }
  if (!swap_all(err)) {
    abort();
    return false;
  }
  end_staging();
  truncate_wal();
  return true;
}

void table_writer::truncate_wal() {
  // Everything the sync wrote passes through the WAL, and a reader on an
  // older snapshot keeps the checkpoints from restarting it, so it can grow
  // to the sheet's size and stay that size on disk. Without waiting: such a
  // reader makes it fail (busy) and the next swap tries again.
  write_turn turn{db_->file()};
  sqlite3_busy_timeout(db_->handle(), 0);
  sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                            nullptr, nullptr);
  sqlite3_busy_timeout(db_->handle(), database::busy_timeout_ms);
}

void table_writer::drop_staging(const std::vector<std::string>& names) {
  // On a full disk, the DROP's pages in the WAL come out of the reserve.
  reserve_.release();
  write_turn turn{db_->file()};
  // No checkpoint after the DROP: it would copy the dropped pages into the
  // file and take the space the history needs to record the failure.
  sqlite3_wal_autocheckpoint(db_->handle(), 0);
  // Best effort: if this fails, begin() or the next open() drops the table.
  for (auto& name : names) {
    auto sql = "DROP TABLE IF EXISTS " + quote_id(name);
    sqlite3_exec(db_->handle(), sql.c_str(), nullptr, nullptr, nullptr);
  }
  sqlite3_wal_autocheckpoint(db_->handle(), wal_autocheckpoint_pages);
}

void table_writer::abort() {
  if (!staging() && aside_.empty())
    return;
  finalize_inserts();
  std::vector<std::string> names;
  // Nothing was written aside while all batches were held back.
  if (staging() && !columns_.empty())
    names.push_back(staging_name());
  for (auto& a : aside_)
    if (!a.same)
      names.push_back(a.staging);
  if (!names.empty())
    drop_staging(names);
  end_staging();
}

void table_writer::end_staging() {
  finalize_inserts();
  if (checkpoint_elsewhere_)
    sqlite3_wal_autocheckpoint(db_->handle(), wal_autocheckpoint_pages);
  wal_frames_ = 0;
  reserve_.release();
  {
    std::lock_guard<std::mutex> guard{db_->file().mtx};
    db_->file().staging.erase(lower(table_));
    for (auto& a : aside_)
      db_->file().staging.erase(lower(a.table));
  }
  aside_.clear();
  tabs_source_.clear();
  tabs_.clear();
  table_.clear();
  columns_.clear();
  sql_columns_.clear();
  deferred_.clear();
  deferred_bytes_ = 0;
  deferring_ = false;
}

} // namespace sheetsync
