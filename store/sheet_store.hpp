#pragma once

#include <memory>
#include <string>

#include "messages/ec.hpp"
#include "store/database.hpp"
#include "store/run_history.hpp"
#include "store/table_reader.hpp"
#include "store/table_writer.hpp"

namespace sheetsync {

/// The SQLite cache through one connection: one table per source, written
/// aside and swapped in atomically (table_writer), the sync history
/// (run_history) and pages of the tables (table_reader). Each part lives in
/// its own file; this class only opens the connection for all of them.
///
/// One object is one connection: use it from one thread at a time. Any
/// number of objects (in any threads) may share a file.
class sheet_store : public table_writer,
                    public run_history,
                    public table_reader {
public:
  /// Opens or creates the database file (see database::open) and drops
  /// staging tables left by a process that died mid-sync (see
  /// table_writer::drop_leftovers), as far as it can: a leftover that cannot
  /// be dropped now (a full disk) stays for the next open instead of failing
  /// this one.
  static std::unique_ptr<sheet_store> open(const std::string& path,
                                           failure& err);

  /// Opens the database file for reading pages and the history: as open(),
  /// but it leaves leftovers alone and waits at most `busy_ms` for a lock,
  /// so that a reader never waits on cleaning up or for long on a lock
  /// (ec::cache_busy).
  static std::unique_ptr<sheet_store> open_for_reading(const std::string& path,
                                                       failure& err,
                                                       int busy_ms);

  /// See database::valid_table_name.
  static bool valid_table_name(const std::string& name) {
    return database::valid_table_name(name);
  }

private:
  explicit sheet_store(const std::shared_ptr<database>& db);
};

} // namespace sheetsync
