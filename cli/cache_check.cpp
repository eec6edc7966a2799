#include "cli/cache_check.hpp"

#include <cerrno>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

#include "store/database.hpp"
#include "store/default_table.hpp"

namespace sheetsync {

std::string check_cache(const pipeline_options& opts,
                        const std::set<std::string>& given, std::string& note) {
  note.clear();
  auto& db = opts.db;
  // Where the path came from, for what to do about it.
  auto flag = given.count("db") || opts.config_file.empty()
                ? std::string{"--db"}
                : "db in " + opts.config_file;
  auto slash = db.rfind('/');
  auto dir = slash == std::string::npos ? std::string{"."}
                                        : db.substr(0, slash == 0 ? 1 : slash);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return "the folder of the cache " + db + " does not exist: create it "
           "(mkdir -p " + dir + ") or choose another " + flag;
  if (::access(db.c_str(), F_OK) != 0 && ::access(dir.c_str(), W_OK) != 0)
    return "cannot create the cache " + db + ": the folder " + dir
           + " is not writable; choose another " + flag;
  failure err;
  // A short wait: a lock held elsewhere is not this check's business.
  auto conn = database::open(db, err, 200);
  if (!conn)
    return err.code == ec::cache_busy ? std::string{}
                                      : err.text + "; or choose another "
                                          + flag;
  bool unnamed = opts.config_file.empty() && given.count("name") == 0
                 && opts.sources.size() == 1
                 && opts.sources.front().name == default_table;
  bool renamed = false;
  if (unnamed && !rename_old_default_table(*conn, renamed, err)
      && err.code != ec::cache_busy)
    return err.text;
  if (renamed)
    note = std::string{"renamed the table "} + old_default_table + " to "
           + default_table + " in " + db
           + " (the unnamed source's table has a new name)";
  return {};
}

} // namespace sheetsync
