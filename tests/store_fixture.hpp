#pragma once

// What the suites that test the SQLite cache file (sheet_store, store_faults,
// history) share: a scratch directory with a cache path, batches of rows, and
// a raw connection that looks at the file independently of the store.

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <caf/test/unit_test.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include "store/sheet_store.hpp"

/// Fails the test with the failure's code and text when `call` is false
/// (needs a `sheetsync::failure err` in scope).
#define REQUIRE_OK(call)                                                       \
  do {                                                                         \
    if (!(call))                                                               \
      CAF_FAIL(#call << " failed: " << to_string(err.code) << ": "             \
                     << err.text);                                             \
  } while (false)

namespace sheetsync::test {

/// A new directory `<temp>/<prefix>_XXXXXX`; fails the test if it cannot
/// make one.
inline std::string make_temp_dir(const std::string& prefix) {
  auto tmpl = (std::filesystem::temp_directory_path() / (prefix + "_XXXXXX"))
                .string();
  if (mkdtemp(tmpl.data()) == nullptr)
    CAF_FAIL("mkdtemp failed");
  return tmpl;
}

/// A batch of `rows` under `columns`, its first row numbered `first_row`.
inline row_batch make_batch(std::vector<std::string> columns,
                            const std::vector<std::vector<std::string>>& rows,
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

/// A scratch directory with a cache path in it, removed with everything in
/// it at the end; `err` for REQUIRE_OK.
struct store_dir {
  std::string dir;
  std::string path;
  failure err;

  /// @param prefix names the directory, e.g. the suite.
  explicit store_dir(const std::string& prefix)
    : dir(make_temp_dir(prefix)), path(dir + "/cache.db") {
    // nop
  }

  ~store_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

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

  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  /// All result rows, the columns of a row joined by '|', NULL as "<null>";
  /// an error as a row "error: ...".
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

  /// The first row of `sql`, "<none>" if there is none.
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

} // namespace sheetsync::test
