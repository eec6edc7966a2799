#pragma once

#include <functional>
#include <memory>
#include <string>

#include "messages/actors.hpp"
#include "store/source_table.hpp"

namespace sheetsync {

struct source_store_state {
  static inline const char* name = "source_store";

  /// Its own connection: never the coordinator's thread.
  std::unique_ptr<source_table> table;

  /// Why the cache could not be opened ("" if it is open).
  std::string open_error;

  /// Unix milliseconds for created/updated times (tests pin it).
  std::function<int64_t()> wall_clock_ms;
};

/// Writes the sources added at run time to the cache's sources table and
/// drops the tables of removed ones. Blocks on SQLite: spawn it detached.
/// @param self The store.
/// @param db_path The cache file.
/// @param wall_clock_ms Unix milliseconds; null = the system clock.
source_store_actor::behavior_type
source_store(source_store_actor::stateful_pointer<source_store_state> self,
             std::string db_path, std::function<int64_t()> wall_clock_ms);

} // namespace sheetsync
