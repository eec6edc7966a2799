#pragma once

#include <memory>
#include <string>

#include "actors/sync_job.hpp"
#include "messages/actors.hpp"
#include "store/sheet_store.hpp"

#include <caf/typed_response_promise.hpp>

namespace sheetsync {

struct cache_writer_state {
  static inline const char* name = "cache_writer";

  /// Open while the sync writes; destroying it drops whatever was written
  /// aside and not swapped in, so a failed or cancelled sync loses nothing.
  std::unique_ptr<sheet_store> store;

  /// Runs the WAL checkpoints; invalid when this writer runs them itself.
  checkpointer_actor checkpointer;
  /// A checkpoint was asked for and not answered yet.
  bool checkpointing = false;
  /// The commit, pending while it waits for that answer: a checkpoint still
  /// running would keep the swap from truncating the WAL.
  caf::typed_response_promise<uint64_t> held_commit;
  /// A spreadsheet synced tab by tab: the tabs begun so far, in order.
  std::vector<table_writer::tab_entry> tabs;
};

/// Writes the rows of one sync aside in the SQLite cache and swaps them in
/// when the coordinator says so. Hashes the content: at eof, its finished
/// save report carries `unchanged` when the cache already holds the same
/// content, and the commit then leaves the table untouched (answering its row
/// count). A spreadsheet synced tab by tab writes each tab's table aside as
/// its batches come (atom::tab says where one starts) and the commit swaps
/// every tab in, with the list of tabs, in one transaction; unchanged then
/// means every tab and the list. Blocks on SQLite: spawn it detached.
/// @param self The cache writer.
/// @param job The sync (its id, source name = table, database path).
/// @param coordinator Receives progress and failures.
/// @param checkpointer Runs the WAL's checkpoints on another thread while
///        this writes (invalid: the writer runs them itself); the writer
///        stops it when it ends.
cache_writer_actor::behavior_type
cache_writer(cache_writer_actor::stateful_pointer<cache_writer_state> self,
             sync_job job, coordinator_actor coordinator,
             checkpointer_actor checkpointer);

} // namespace sheetsync
