#pragma once

#include <memory>
#include <string>

#include "messages/actors.hpp"
#include "store/sheet_store.hpp"

namespace sheetsync {

struct cache_reader_state {
  static inline const char* name = "cache_reader";

  /// Its own connection: reads see the last swapped-in data, never a
  /// half-written sheet, and never wait for a sync.
  std::unique_ptr<sheet_store> store;
};

/// Reads pages of cached rows for the API. Blocks on SQLite: spawn it
/// detached.
/// @param self The cache reader.
/// @param db_path The cache file.
cache_reader_actor::behavior_type
cache_reader(cache_reader_actor::stateful_pointer<cache_reader_state> self,
             std::string db_path);

} // namespace sheetsync
