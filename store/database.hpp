#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "messages/ec.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace sheetsync {

/// What all connections of this process to one database file share: a
/// first-come, first-served turn for write transactions (SQLite's busy
/// handler polls, so a writer that commits and begins again at once would
/// starve the others), and the tables being staged (so that opening the file
/// keeps them).
struct database_file {
  std::mutex mtx;
  std::condition_variable cv;
  uint64_t next_ticket = 0;
  uint64_t serving = 0;
  /// Lowercase names of the tables being staged (see table_writer).
  std::set<std::string> staging;
};

/// One connection to the SQLite cache file: opening (WAL mode, busy timeout
/// 5 s, pragmas), creating and migrating sync_runs and sync_meta, and the
/// statement helpers the table writer, the history and the table reader share.
/// Use it from one thread at a time; any number of connections (in any
/// threads) may share a file.
class database {
public:
  /// How long a connection waits for a lock.
  static constexpr int busy_timeout_ms = 5000;

  /// Opens or creates the file and brings its schema up to date, waiting up
  /// to `busy_ms` for each lock. Takes no write lock when the schema is
  /// current. Fails with ec::cache_busy while another process holds a lock
  /// it needs, ec::cache_failed otherwise.
  static std::shared_ptr<database> open(const std::string& path,
                                        failure& err,
                                        int busy_ms = busy_timeout_ms);

  ~database();

  database(const database&) = delete;
  database& operator=(const database&) = delete;

  /// Whether `name` may be a source/table name: [A-Za-z0-9][A-Za-z0-9_-]{0,63},
  /// neither "sync_runs", "sync_meta", "sources", "sync_tabs",
  /// "webhook_deliveries" nor starting with "sqlite_"
  /// (all compared ignoring case, as SQLite does).
  static bool valid_table_name(const std::string& name);

  const std::string& path() const {
    return path_;
  }

  sqlite3* handle() const {
    return db_;
  }

  /// Shared with the other connections of this process to the same file.
  database_file& file() const {
    return *file_;
  }

  /// Runs `sql`; on failure sets `err` ("cannot <what> <path>: ...").
  bool exec(const char* sql, const std::string& what, failure& err);

  /// Prepares `sql` into `out`; on failure sets `err`, `out` is null.
  bool prepare(const std::string& sql, sqlite3_stmt*& out,
               const std::string& what, failure& err);

  /// Runs a statement that answers one value; on failure sets `err`.
  bool query_text(const char* sql, std::string& out, const std::string& what,
                  failure& err);

  /// Sets `err` from the connection's last error, with a hint on what to do
  /// (ec::cache_busy for a lock held elsewhere, else ec::cache_failed);
  /// returns false.
  bool fail_sql(failure& err, const std::string& what);

  /// Rolls back the open transaction, if any.
  void rollback();

  /// Copies committed WAL frames into the file as far as readers allow,
  /// without waiting for anyone (a PASSIVE checkpoint); on failure sets `err`.
  bool checkpoint(failure& err);

private:
  database(sqlite3* db, std::string path, std::shared_ptr<database_file> file);

  /// A column of sync_runs: name, type.
  using column = std::pair<const char*, const char*>;

  /// Whether the tables, the index and every column exist (read only).
  bool schema_current(bool& current, failure& err);

  /// The columns that sync_runs still lacks.
  bool missing_columns(std::vector<column>& out, failure& err);

  bool migrate(failure& err);

  sqlite3* db_;
  std::string path_;
  std::shared_ptr<database_file> file_;
};

/// One turn at writing to the file: taken in ticket order, so a history
/// write waits for at most the transaction in progress.
class write_turn {
public:
  explicit write_turn(database_file& file);
  ~write_turn();

  write_turn(const write_turn&) = delete;
  write_turn& operator=(const write_turn&) = delete;

  void acquire();
  void release();

private:
  database_file& file_;
  bool held_ = false;
};

namespace sql {

/// An SQL identifier in double quotes, quotes doubled.
std::string quote_id(const std::string& name);

/// Text of column `col` of the current row ("" for NULL).
std::string column_string(sqlite3_stmt* stmt, int col);

/// Binds `value` without a copy: it must outlive the step.
void bind_string(sqlite3_stmt* stmt, int index, const std::string& value);

/// `n` as an SQL LIMIT: no limit beyond SQLite's integers.
int64_t to_limit(uint64_t n);

/// Finalizes a statement when leaving the scope.
struct stmt_guard {
  sqlite3_stmt* stmt = nullptr;
  ~stmt_guard();
};

} // namespace sql

} // namespace sheetsync
