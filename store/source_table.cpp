#include "store/source_table.hpp"

#include <chrono>
#include <cstdio>

#include <sqlite3.h>

#include "net/text.hpp"

namespace sheetsync {

using namespace sql;

std::string tabs_to_json(const std::vector<std::string>& tabs) {
  std::string out = "[";
  for (auto& title : tabs) {
    if (out.size() > 1)
      out += ',';
    out += '"';
    for (unsigned char c : title) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '"';
  }
  out += ']';
  return out;
}

source_table::source_table(std::shared_ptr<database> db) : db_(std::move(db)) {
  // nop
}

bool source_table::create(failure& err) {
  write_turn turn{db_->file()};
  return db_->exec("CREATE TABLE IF NOT EXISTS \"sources\"("
                   "\"name\" TEXT PRIMARY KEY NOT NULL,"
                   "\"location\" TEXT NOT NULL DEFAULT '',"
                   "\"gid\" TEXT NOT NULL DEFAULT '',"
                   "\"access\" TEXT NOT NULL DEFAULT 'auto',"
                   "\"api_key\" TEXT NOT NULL DEFAULT '',"
                   "\"credentials\" TEXT NOT NULL DEFAULT '',"
                   "\"range\" TEXT NOT NULL DEFAULT '',"
                   "\"interval_ms\" INTEGER NOT NULL DEFAULT 0,"
                   "\"tabs\" TEXT NOT NULL DEFAULT '[]',"
                   "\"all_tabs\" INTEGER NOT NULL DEFAULT 0,"
                   "\"created_ms\" INTEGER NOT NULL DEFAULT 0,"
                   "\"updated_ms\" INTEGER NOT NULL DEFAULT 0)",
                   "create the sources table in", err);
}

bool source_table::put(const source_spec& spec, int64_t now_ms, failure& err) {
  auto what = std::string{"store source '"} + spec.name + "' in";
  write_turn turn{db_->file()};
  stmt_guard st;
  if (!db_->prepare(
        "INSERT INTO \"sources\"(\"name\", \"location\", \"gid\", \"access\", "
        "\"api_key\", \"credentials\", \"range\", \"interval_ms\", \"tabs\", "
        "\"all_tabs\", \"created_ms\", \"updated_ms\") "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11) "
        "ON CONFLICT(\"name\") DO UPDATE SET \"location\" = ?2, \"gid\" = ?3, "
        "\"access\" = ?4, \"api_key\" = ?5, \"credentials\" = ?6, "
        "\"range\" = ?7, \"interval_ms\" = ?8, \"tabs\" = ?9, "
        "\"all_tabs\" = ?10, \"updated_ms\" = ?11",
        st.stmt, what, err))
    return false;
  auto access = std::string{to_string(spec.access)};
  auto tabs = tabs_to_json(spec.tabs);
  auto interval_ms
    = std::chrono::duration_cast<std::chrono::milliseconds>(spec.interval)
        .count();
  bind_string(st.stmt, 1, spec.name);
  bind_string(st.stmt, 2, spec.location);
  bind_string(st.stmt, 3, spec.gid);
  bind_string(st.stmt, 4, access);
  bind_string(st.stmt, 5, spec.api_key);
  bind_string(st.stmt, 6, spec.credentials);
  bind_string(st.stmt, 7, spec.range);
  sqlite3_bind_int64(st.stmt, 8, interval_ms);
  bind_string(st.stmt, 9, tabs);
  sqlite3_bind_int(st.stmt, 10, spec.all_tabs ? 1 : 0);
  sqlite3_bind_int64(st.stmt, 11, now_ms);
  if (sqlite3_step(st.stmt) != SQLITE_DONE)
    return db_->fail_sql(err, what);
  return true;
}

bool source_table::erase(const std::string& name, failure& err) {
  auto what = "remove source '" + name + "' from";
  write_turn turn{db_->file()};
  stmt_guard st;
  if (!db_->prepare("DELETE FROM \"sources\" WHERE \"name\" = ?1", st.stmt,
                    what, err))
    return false;
  bind_string(st.stmt, 1, name);
  if (sqlite3_step(st.stmt) != SQLITE_DONE)
    return db_->fail_sql(err, what);
  return true;
}

bool source_table::drop_tables(const std::string& name, failure& err) {
  auto what = "drop the tables of source '" + name + "' in";
  auto low = lower(name);
  auto prefix = low + "__";
  write_turn turn{db_->file()};
  // IMMEDIATE: the list cannot go stale before the drops.
  if (!db_->exec("BEGIN IMMEDIATE", what, err))
    return false;
  std::vector<std::string> tables;
  {
    stmt_guard list;
    if (!db_->prepare("SELECT name FROM sqlite_master WHERE type = 'table' "
                      "AND (lower(name) = ?1 OR substr(lower(name), 1, ?3) = ?2)",
                      list.stmt, what, err)) {
      db_->rollback();
      return false;
    }
    bind_string(list.stmt, 1, low);
    bind_string(list.stmt, 2, prefix);
    sqlite3_bind_int(list.stmt, 3, static_cast<int>(prefix.size()));
    int rc;
    while ((rc = sqlite3_step(list.stmt)) == SQLITE_ROW)
      tables.push_back(column_string(list.stmt, 0));
    if (rc != SQLITE_DONE) {
      db_->fail_sql(err, what);
      db_->rollback();
      return false;
    }
  }
  for (auto& table : tables) {
    auto drop = "DROP TABLE IF EXISTS " + quote_id(table);
    stmt_guard meta;
    if (!db_->exec(drop.c_str(), what, err)
        || !db_->prepare("DELETE FROM \"sync_meta\" WHERE \"name\" = ?1",
                         meta.stmt, what, err)) {
      db_->rollback();
      return false;
    }
    auto table_low = lower(table);
    bind_string(meta.stmt, 1, table_low);
    if (sqlite3_step(meta.stmt) != SQLITE_DONE) {
      db_->fail_sql(err, what);
      db_->rollback();
      return false;
    }
  }
  // Its tab list (store/table_writer's sync_tabs, absent until a source had
  // tabs) goes too: a source added again under this name must not resolve
  // its tabs to the dropped tables.
  bool has_tabs = false;
  {
    stmt_guard probe;
    if (!db_->prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                      "AND name = 'sync_tabs'",
                      probe.stmt, what, err)) {
      db_->rollback();
      return false;
    }
    auto rc = sqlite3_step(probe.stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      db_->fail_sql(err, what);
      db_->rollback();
      return false;
    }
    has_tabs = rc == SQLITE_ROW;
  }
  if (has_tabs) {
    stmt_guard forget;
    if (!db_->prepare("DELETE FROM \"sync_tabs\" WHERE \"source\" = ?1",
                      forget.stmt, what, err)) {
      db_->rollback();
      return false;
    }
    bind_string(forget.stmt, 1, low);
    if (sqlite3_step(forget.stmt) != SQLITE_DONE) {
      db_->fail_sql(err, what);
      db_->rollback();
      return false;
    }
  }
  if (!db_->exec("COMMIT", what, err)) {
    db_->rollback();
    return false;
  }
  return true;
}

bool source_table::load(std::vector<stored_source>& out, failure& err) {
  out.clear();
  auto what = std::string{"read the sources table of"};
  std::string count;
  if (!db_->query_text("SELECT count(*) FROM sqlite_master WHERE type = "
                       "'table' AND name = 'sources'",
                       count, what, err))
    return false;
  if (count == "0")
    return true;
  stmt_guard st;
  if (!db_->prepare("SELECT \"name\", \"location\", \"gid\", \"access\", "
                    "\"api_key\", \"credentials\", \"range\", \"interval_ms\", "
                    "\"tabs\", \"all_tabs\", \"created_ms\", \"updated_ms\" "
                    "FROM \"sources\" ORDER BY \"created_ms\", \"name\"",
                    st.stmt, what, err))
    return false;
  int rc;
  while ((rc = sqlite3_step(st.stmt)) == SQLITE_ROW) {
    stored_source x;
    auto& spec = x.spec;
    spec.name = column_string(st.stmt, 0);
    spec.location = column_string(st.stmt, 1);
    spec.gid = column_string(st.stmt, 2);
    if (!from_string(column_string(st.stmt, 3), spec.access))
      spec.access = access_mode::automatic;
    spec.api_key = column_string(st.stmt, 4);
    spec.credentials = column_string(st.stmt, 5);
    spec.range = column_string(st.stmt, 6);
    spec.interval = std::chrono::milliseconds{sqlite3_column_int64(st.stmt, 7)};
    auto tabs = column_string(st.stmt, 8);
    spec.all_tabs = sqlite3_column_int(st.stmt, 9) != 0;
    x.created_ms = sqlite3_column_int64(st.stmt, 10);
    x.updated_ms = sqlite3_column_int64(st.stmt, 11);
    if (tabs != "[]") {
      stmt_guard each;
      if (!db_->prepare("SELECT value FROM json_each(?1)", each.stmt, what, err))
        return false;
      bind_string(each.stmt, 1, tabs);
      int rc2;
      while ((rc2 = sqlite3_step(each.stmt)) == SQLITE_ROW)
        spec.tabs.push_back(column_string(each.stmt, 0));
      if (rc2 != SQLITE_DONE)
        return db_->fail_sql(err, what);
    }
    out.push_back(std::move(x));
  }
  if (rc != SQLITE_DONE)
    return db_->fail_sql(err, what);
  return true;
}

} // namespace sheetsync
