#pragma once

#include <memory>
#include <string>

#include "messages/actors.hpp"
#include "store/database.hpp"

namespace sheetsync {

struct checkpointer_state {
  static inline const char* name = "checkpointer";

  /// Its own connection; null when opening failed (it then answers errors
  /// and the writer checkpoints itself).
  std::shared_ptr<database> db;
  failure open_error;
};

/// Runs the WAL checkpoints of one cache writer's sync on its own connection
/// (see checkpointer_actor): checkpoints copy pages and wait for fsync, which
/// would otherwise stall the writer, the pipeline's slowest stage. Blocks on
/// SQLite: spawn it detached.
/// @param self The checkpointer.
/// @param db_path The cache file.
checkpointer_actor::behavior_type
checkpointer(checkpointer_actor::stateful_pointer<checkpointer_state> self,
             std::string db_path);

} // namespace sheetsync
