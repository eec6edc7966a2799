#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "messages/ec.hpp"
#include "sources/source_spec.hpp"
#include "store/database.hpp"

namespace sheetsync {

/// A source added at run time, as the cache keeps it.
struct stored_source {
  source_spec spec;
  /// Unix milliseconds.
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

/// The sources added at run time, in the cache's `sources` table (one row per
/// source: its spec's fields as columns, tab titles as a JSON array), so that
/// they are back after a restart; and the removal of a source's tables. The
/// table holds secrets (API keys): the cache file must stay private.
class source_table {
public:
  /// The table's name (not a valid source name: reserved).
  static constexpr const char* table_name = "sources";

  explicit source_table(std::shared_ptr<database> db);

  /// Creates the table if it is missing.
  bool create(failure& err);

  /// Inserts the source, or replaces the row of the same name (keeping its
  /// created_ms); now_ms becomes updated_ms (and created_ms when new).
  bool put(const source_spec& spec, int64_t now_ms, failure& err);

  /// Deletes the source's row (no row: nothing to do).
  bool erase(const std::string& name, failure& err);

  /// Drops the source's cached tables: `name` and every `name__*` (one per
  /// tab), ignoring case as SQLite does, with their sync_meta rows, in one
  /// transaction. The sync history stays.
  bool drop_tables(const std::string& name, failure& err);

  /// Every stored source, oldest first; none when the table does not exist
  /// (a cache from before run-time sources).
  bool load(std::vector<stored_source>& out, failure& err);

private:
  std::shared_ptr<database> db_;
};

/// Encodes tab titles as a JSON array of strings.
std::string tabs_to_json(const std::vector<std::string>& tabs);

} // namespace sheetsync
