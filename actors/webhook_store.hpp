#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "messages/actors.hpp"
#include "store/webhook_deliveries.hpp"

namespace sheetsync {

struct webhook_store_state {
  static inline const char* name = "webhook_store";

  /// Its own connection: never a scheduler thread's.
  std::unique_ptr<webhook_deliveries> table;

  /// Finished deliveries kept; older ones are deleted as deliveries finish.
  uint64_t keep_finished = 500;
};

/// Writes webhook deliveries to the cache's webhook_deliveries table and
/// reads them back at start-up. A cache that cannot be opened disables it
/// (deliveries are still sent, but not resumed after a restart). Blocks on
/// SQLite: spawn it detached.
/// @param self The store.
/// @param db_path The cache file.
/// @param keep_finished Finished deliveries kept in the table.
webhook_store_actor::behavior_type
webhook_store(webhook_store_actor::stateful_pointer<webhook_store_state> self,
              std::string db_path, uint64_t keep_finished);

} // namespace sheetsync
