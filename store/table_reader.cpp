#include "store/table_reader.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include <sqlite3.h>

#include "net/text.hpp"

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
                        uint64_t offset, page& out, failure& err,
                        size_t max_bytes) {
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
  // The row count stored by the swap, if the table has one (a table written
  // before sync_meta existed has none).
  std::optional<uint64_t> stored_rows;
  {
    stmt_guard meta;
    if (!db_->prepare("SELECT (SELECT \"rows\" FROM \"sync_meta\" WHERE "
                      "\"name\" = ?1), EXISTS (SELECT 1 FROM sqlite_master "
                      "WHERE type = 'table' AND name = ?2 COLLATE NOCASE)",
                      meta.stmt, what, err))
      return done(false);
    auto key = lower(table);
    bind_string(meta.stmt, 1, key);
    bind_string(meta.stmt, 2, table);
    if (sqlite3_step(meta.stmt) != SQLITE_ROW)
      return done(db_->fail_sql(err, what));
    if (sqlite3_column_int(meta.stmt, 1) == 0) {
      err = failure{ec::no_data, "cannot " + what + " " + db_->path()
                                   + ": no such table (the source was "
                                     "never synced)"};
      return done(false);
    }
    if (sqlite3_column_type(meta.stmt, 0) != SQLITE_NULL)
      stored_rows = static_cast<uint64_t>(sqlite3_column_int64(meta.stmt, 0));
  }
  // Keyset paging needs _row to be exactly 1..total, so that offset N is
  // `_row > N`: _row is unique and >= 1, so max(_row) == total says so.
  // max(_row) is one seek (_row is the rowid); count(*) would be a scan.
  bool dense = false;
  {
    stmt_guard max;
    if (!db_->prepare("SELECT max(\"_row\") FROM " + quote_id(table),
                      max.stmt, what, err))
      return done(false);
    if (sqlite3_step(max.stmt) != SQLITE_ROW)
      return done(db_->fail_sql(err, what));
    auto last = static_cast<uint64_t>(sqlite3_column_int64(max.stmt, 0));
    dense = stored_rows && *stored_rows == last;
  }
  if (stored_rows) {
    out.total = *stored_rows;
  } else {
    stmt_guard count;
    if (!db_->prepare("SELECT count(*) FROM " + quote_id(table), count.stmt,
                      what, err))
      return done(false);
    if (sqlite3_step(count.stmt) != SQLITE_ROW)
      return done(db_->fail_sql(err, what));
    out.total = static_cast<uint64_t>(sqlite3_column_int64(count.stmt, 0));
  }
  stmt_guard rows;
  // Without dense rows (a table from an older version, or rows that skip
  // numbers), OFFSET: correct, but it walks the rows before the page.
  auto query = "SELECT * FROM " + quote_id(table)
               + (dense ? " WHERE \"_row\" > ?2 ORDER BY \"_row\" LIMIT ?1"
                        : " ORDER BY \"_row\" LIMIT ?1 OFFSET ?2");
  if (!db_->prepare(query, rows.stmt, what, err))
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
  size_t bytes = 0;
  int rc;
  while ((rc = sqlite3_step(rows.stmt)) == SQLITE_ROW) {
    std::vector<std::string> row;
    row.reserve(keep.size());
    for (auto i : keep) {
      row.push_back(column_string(rows.stmt, i));
      bytes += row.back().size();
    }
    out.rows.push_back(std::move(row));
    if (bytes >= max_bytes && out.rows.size() < limit) {
      // Past the byte cap with rows to go: the page ends here (at least
      // one row, so paging always moves on).
      auto next = offset + out.rows.size();
      if (next < out.total)
        out.next = next;
      break;
    }
  }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    db_->fail_sql(err, what);
    out = page{};
    return done(false);
  }
  return done(true);
}

bool table_reader::readable(failure& err) {
  std::string tables;
  return db_->query_text("SELECT count(*) FROM sqlite_master", tables,
                         "read the cache", err);
}

} // namespace sheetsync
