#include "store/webhook_deliveries.hpp"

#include <sqlite3.h>

namespace sheetsync {

using namespace sql;

webhook_deliveries::webhook_deliveries(std::shared_ptr<database> db)
  : db_(std::move(db)) {
  // nop
}

bool webhook_deliveries::create(failure& err) {
  write_turn turn{db_->file()};
  return db_->exec("CREATE TABLE IF NOT EXISTS \"webhook_deliveries\"("
                   "\"id\" TEXT PRIMARY KEY NOT NULL,"
                   "\"event\" TEXT NOT NULL DEFAULT '',"
                   "\"url\" TEXT NOT NULL DEFAULT '',"
                   "\"source\" TEXT NOT NULL DEFAULT '',"
                   "\"sync_id\" TEXT NOT NULL DEFAULT '',"
                   "\"body\" TEXT NOT NULL DEFAULT '',"
                   "\"attempts\" INTEGER NOT NULL DEFAULT 0,"
                   "\"state\" TEXT NOT NULL DEFAULT 'pending',"
                   "\"last_status\" INTEGER NOT NULL DEFAULT 0,"
                   "\"last_error\" TEXT NOT NULL DEFAULT '',"
                   "\"created_ms\" INTEGER NOT NULL DEFAULT 0,"
                   "\"next_attempt_ms\" INTEGER NOT NULL DEFAULT 0)",
                   "create the webhook_deliveries table in", err);
}

bool webhook_deliveries::put(const webhook_delivery& x, failure& err) {
  auto what = "record webhook delivery " + x.id + " in";
  write_turn turn{db_->file()};
  stmt_guard st;
  if (!db_->prepare(
        "INSERT INTO \"webhook_deliveries\"(\"id\", \"event\", \"url\", "
        "\"source\", \"sync_id\", \"body\", \"attempts\", \"state\", "
        "\"last_status\", \"last_error\", \"created_ms\", \"next_attempt_ms\") "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
        "ON CONFLICT(\"id\") DO UPDATE SET \"attempts\" = ?7, \"state\" = ?8, "
        "\"last_status\" = ?9, \"last_error\" = ?10, \"next_attempt_ms\" = ?12",
        st.stmt, what, err))
    return false;
  std::string state = to_string(x.state);
  bind_string(st.stmt, 1, x.id);
  bind_string(st.stmt, 2, x.event);
  bind_string(st.stmt, 3, x.url);
  bind_string(st.stmt, 4, x.source);
  bind_string(st.stmt, 5, x.sync_id);
  bind_string(st.stmt, 6, x.body);
  sqlite3_bind_int64(st.stmt, 7, x.attempts);
  bind_string(st.stmt, 8, state);
  sqlite3_bind_int(st.stmt, 9, x.last_status);
  bind_string(st.stmt, 10, x.last_error);
  sqlite3_bind_int64(st.stmt, 11, x.created_ms);
  sqlite3_bind_int64(st.stmt, 12, x.next_attempt_ms);
  if (sqlite3_step(st.stmt) != SQLITE_DONE)
    return db_->fail_sql(err, what);
  return true;
}

bool webhook_deliveries::load(uint64_t finished_limit,
                              std::vector<webhook_delivery>& out,
                              failure& err) {
  out.clear();
  std::string what = "read the webhook deliveries of";
  stmt_guard st;
  if (!db_->prepare(
        "SELECT \"id\", \"event\", \"url\", \"source\", \"sync_id\", \"body\", "
        "\"attempts\", \"state\", \"last_status\", \"last_error\", "
        "\"created_ms\", \"next_attempt_ms\" FROM \"webhook_deliveries\" "
        "WHERE \"state\" = 'pending' OR \"rowid\" IN (SELECT \"rowid\" FROM "
        "\"webhook_deliveries\" WHERE \"state\" != 'pending' ORDER BY "
        "\"created_ms\" DESC, \"rowid\" DESC LIMIT ?1) "
        "ORDER BY \"created_ms\" DESC, \"rowid\" DESC",
        st.stmt, what, err))
    return false;
  sqlite3_bind_int64(st.stmt, 1, to_limit(finished_limit));
  int rc;
  while ((rc = sqlite3_step(st.stmt)) == SQLITE_ROW) {
    webhook_delivery x;
    x.id = column_string(st.stmt, 0);
    x.event = column_string(st.stmt, 1);
    x.url = column_string(st.stmt, 2);
    x.source = column_string(st.stmt, 3);
    x.sync_id = column_string(st.stmt, 4);
    x.body = column_string(st.stmt, 5);
    x.attempts = static_cast<uint32_t>(sqlite3_column_int64(st.stmt, 6));
    if (!from_string(column_string(st.stmt, 7), x.state))
      x.state = webhook_state::failed;
    x.last_status = static_cast<uint16_t>(sqlite3_column_int(st.stmt, 8));
    x.last_error = column_string(st.stmt, 9);
    x.created_ms = sqlite3_column_int64(st.stmt, 10);
    x.next_attempt_ms = sqlite3_column_int64(st.stmt, 11);
    out.push_back(std::move(x));
  }
  if (rc != SQLITE_DONE)
    return db_->fail_sql(err, what);
  return true;
}

bool webhook_deliveries::prune(uint64_t keep, failure& err) {
  std::string what = "prune the webhook deliveries of";
  write_turn turn{db_->file()};
  stmt_guard st;
  if (!db_->prepare(
        "DELETE FROM \"webhook_deliveries\" WHERE \"state\" != 'pending' AND "
        "\"rowid\" NOT IN (SELECT \"rowid\" FROM \"webhook_deliveries\" WHERE "
        "\"state\" != 'pending' ORDER BY \"created_ms\" DESC, \"rowid\" DESC "
        "LIMIT ?1)",
        st.stmt, what, err))
    return false;
  sqlite3_bind_int64(st.stmt, 1, to_limit(keep));
  if (sqlite3_step(st.stmt) != SQLITE_DONE)
    return db_->fail_sql(err, what);
  return true;
}

} // namespace sheetsync
