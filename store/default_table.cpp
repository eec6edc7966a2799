#include "store/default_table.hpp"

#include <string>

namespace sheetsync {

bool rename_old_default_table(database& db, bool& renamed, failure& err) {
  renamed = false;
  auto what = std::string{"rename the table default to sheet in"};
  // SQLite compares table names ignoring case: so do the checks.
  std::string old_count;
  std::string new_count;
  if (!db.query_text("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                     "AND lower(name) = 'default'",
                     old_count, what, err)
      || !db.query_text("SELECT count(*) FROM sqlite_master WHERE type = "
                        "'table' AND lower(name) = 'sheet'",
                        new_count, what, err))
    return false;
  if (old_count == "0" || new_count != "0")
    return true;
  write_turn turn{db.file()};
  // IMMEDIATE: the write lock first, so that the checks above cannot go stale
  // between another process's commit and ours.
  const char* rename = "BEGIN IMMEDIATE;"
                       "ALTER TABLE \"default\" RENAME TO \"sheet\";"
                       "DELETE FROM \"sync_meta\" WHERE \"name\" = 'sheet';"
                       "UPDATE \"sync_meta\" SET \"name\" = 'sheet' "
                       "WHERE \"name\" = 'default';"
                       "UPDATE \"sync_runs\" SET \"source\" = 'sheet' "
                       "WHERE \"source\" = 'default';"
                       "COMMIT;";
  if (!db.exec(rename, what, err)) {
    db.rollback();
    return false;
  }
  renamed = true;
  return true;
}

} // namespace sheetsync
