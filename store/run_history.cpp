#include "store/run_history.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include <sqlite3.h>

#include "messages/sync_status.hpp"
#include "store/process_identity.hpp"

namespace sheetsync {

namespace {

using sql::bind_string;
using sql::column_string;
using sql::stmt_guard;

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

} // namespace

run_history::run_history(std::shared_ptr<database> db) : db_(std::move(db)) {
  // nop
}

size_t run_history::prune(const std::string& source, uint64_t keep,
                          failure& err) {
  auto what = std::string{"prune the sync history of the cache"};
  write_turn turn{db_->file()};
  stmt_guard stmt;
  // Ordered as runs() lists them: the index on (source, started_ms) ends in
  // rowid, so the walk needs no sort and stops at the table's end.
  if (!db_->prepare("DELETE FROM \"sync_runs\" WHERE rowid IN (SELECT rowid "
                    "FROM \"sync_runs\" WHERE \"source\" = ?1 AND "
                    "\"status\" IN (?3, ?4, ?5) ORDER BY \"started_ms\" "
                    "DESC, rowid DESC LIMIT -1 OFFSET ?2)",
                    stmt.stmt, what, err))
    return 0;
  bind_string(stmt.stmt, 1, source);
  // Clamped: a negative OFFSET would count as 0 and delete everything.
  auto skip = std::min<uint64_t>(keep, std::numeric_limits<int64_t>::max());
  sqlite3_bind_int64(stmt.stmt, 2, static_cast<sqlite3_int64>(skip));
  int i = 3;
  for (auto x : {sync_state::complete, sync_state::error,
                 sync_state::cancelled})
    sqlite3_bind_text(stmt.stmt, i++, to_string(x), -1, SQLITE_STATIC);
  if (sqlite3_step(stmt.stmt) != SQLITE_DONE) {
    db_->fail_sql(err, what);
    return 0;
  }
  return static_cast<size_t>(sqlite3_changes(db_->handle()));
}

bool run_history::put_run(const sync_record& r, failure& err) {
  auto what = std::string{"write the sync history of the cache"};
  write_turn turn{db_->file()};
  stmt_guard stmt;
  if (!db_->prepare(std::string{"INSERT OR REPLACE INTO \"sync_runs\"("}
                      + run_columns
                      + ", \"owner_pid\", \"owner_start\") VALUES (?, ?, ?, "
                        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
  sqlite3_bind_int64(stmt.stmt, 12, own_pid());
  auto start = own_start(); // bound as SQLITE_STATIC: must outlive the step
  bind_string(stmt.stmt, 13, start);
  if (sqlite3_step(stmt.stmt) != SQLITE_DONE)
    return db_->fail_sql(err, what);
  return true;
}

size_t run_history::recover_interrupted(int64_t now_ms, failure& err) {
  auto what = std::string{"mark interrupted syncs in the history of the cache"};
  write_turn turn{db_->file()};
  if (!db_->exec("BEGIN IMMEDIATE", what, err))
    return 0;
  auto fail = [&] {
    db_->rollback();
    return size_t{0};
  };
  std::vector<std::string> gone;
  {
    stmt_guard list;
    if (!db_->prepare("SELECT \"id\", \"owner_pid\", \"owner_start\" FROM "
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
      db_->fail_sql(err, what);
      return fail();
    }
  }
  if (!gone.empty()) {
    stmt_guard mark;
    if (!db_->prepare("UPDATE \"sync_runs\" SET \"status\" = ?, \"error\" = "
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
        db_->fail_sql(err, what);
        return fail();
      }
      sqlite3_reset(mark.stmt);
    }
  }
  if (!db_->exec("COMMIT", what, err))
    return fail();
  return gone.size();
}

std::optional<sync_record> run_history::get_run(const std::string& id) {
  failure err;
  stmt_guard stmt;
  if (!db_->prepare(std::string{"SELECT "} + run_columns
                      + " FROM \"sync_runs\" WHERE \"id\" = ?",
                    stmt.stmt, "read the sync history of the cache", err))
    return std::nullopt;
  bind_string(stmt.stmt, 1, id);
  if (sqlite3_step(stmt.stmt) != SQLITE_ROW)
    return std::nullopt;
  return read_run(stmt.stmt);
}

std::vector<sync_record> run_history::runs(const std::string& source,
                                           size_t limit) {
  std::vector<sync_record> result;
  failure err;
  stmt_guard stmt;
  // rowid breaks ties: the record put last first. The index on (source,
  // started_ms) ends in rowid, so this needs no sort.
  auto sql = std::string{"SELECT "} + run_columns + " FROM \"sync_runs\""
             + (source.empty() ? "" : " WHERE \"source\" = ?1")
             + " ORDER BY \"started_ms\" DESC, rowid DESC LIMIT ?2";
  if (!db_->prepare(sql, stmt.stmt, "read the sync history of the cache", err))
    return result;
  if (!source.empty())
    bind_string(stmt.stmt, 1, source);
  sqlite3_bind_int64(stmt.stmt, 2, sql::to_limit(limit));
  while (sqlite3_step(stmt.stmt) == SQLITE_ROW)
    result.push_back(read_run(stmt.stmt));
  return result;
}

std::optional<sync_record>
run_history::last_complete(const std::string& source) {
  failure err;
  stmt_guard stmt;
  if (!db_->prepare(std::string{"SELECT "} + run_columns
                      + " FROM \"sync_runs\" WHERE \"source\" = ? AND "
                        "\"status\" = 'complete' ORDER BY \"started_ms\" "
                        "DESC, rowid DESC LIMIT 1",
                    stmt.stmt, "read the sync history of the cache", err))
    return std::nullopt;
  bind_string(stmt.stmt, 1, source);
  if (sqlite3_step(stmt.stmt) != SQLITE_ROW)
    return std::nullopt;
  return read_run(stmt.stmt);
}

} // namespace sheetsync
