#include "store/table_reader.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include <sqlite3.h>

namespace sheetsync {

namespace {

using sql::bind_string;
using sql::column_string;
using sql::quote_id;
using sql::stmt_guard;

sqlite3_int64 to_sql_offset(uint64_t n) {
  constexpr auto max = static_cast<uint64_t>(
    std::numeric_limits<sqlite3_int64>::max());
  return static_cast<sqlite3_int64>(std::min(n, max));
}

} // namespace

table_reader::table_reader(std::shared_ptr<database> db) : db_(std::move(db)) {
  // nop
}

bool table_reader::read(const std::string& table, uint64_t limit,
                       uint64_t offset, page& out, failure& err) {
  out = page{};
  if (!database::valid_table_name(table)) {
    err = failure{ec::invalid_argument,
                  "invalid source name \"" + table + "\""};
    return false;
  }
  auto what = "read table " + table + " from the cache";
  // One read transaction: the count and the rows come from one snapshot,
  // even if a commit() swaps the table in between.
  if (!db_->exec("BEGIN", what, err))
    return false;
  auto done = [&](bool ok) {
    sqlite3_exec(db_->handle(), "COMMIT", nullptr, nullptr, nullptr);
    return ok;
  };
  {
    stmt_guard exists;
    if (!db_->prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                      "name = ? COLLATE NOCASE",
                      exists.stmt, what, err))
      return done(false);
    bind_string(exists.stmt, 1, table);
    auto rc = sqlite3_step(exists.stmt);
    if (rc == SQLITE_DONE) {
      err = failure{ec::no_data, "cannot " + what + " " + db_->path()
                                   + ": no such table (the source was "
                                     "never synced)"};
      return done(false);
    }
    if (rc != SQLITE_ROW)
      return done(db_->fail_sql(err, what));
  }
  {
    stmt_guard count;
    if (!db_->prepare("SELECT count(*) FROM " + quote_id(table), count.stmt,
                      what, err))
      return done(false);
    if (sqlite3_step(count.stmt) != SQLITE_ROW)
      return done(db_->fail_sql(err, what));
    out.total = static_cast<uint64_t>(sqlite3_column_int64(count.stmt, 0));
  }
  stmt_guard rows;
  if (!db_->prepare("SELECT * FROM " + quote_id(table)
                      + " ORDER BY \"_row\" LIMIT ? OFFSET ?",
                    rows.stmt, what, err))
    return done(false);
  sqlite3_bind_int64(rows.stmt, 1, sql::to_limit(limit));
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
    db_->fail_sql(err, what);
    out = page{};
    return done(false);
  }
  return done(true);
}

} // namespace sheetsync
