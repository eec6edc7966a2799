#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>

#include "actors/sync_job.hpp"
#include "messages/actors.hpp"
#include "net/curl_transfer.hpp"

namespace sheetsync {

struct downloader_state {
  static inline const char* name = "downloader";

  /// Bytes per chunk handed to the parser.
  static constexpr size_t chunk_size = 256 * 1024;
  /// Chunks handed over and not yet answered: the credit.
  static constexpr size_t max_in_flight = 4;
  /// How long one step may wait for the network before reading the mailbox.
  static constexpr std::chrono::milliseconds step_slice{50};
  /// Cap on the spreadsheet metadata answer (tab titles).
  static constexpr uint64_t max_metadata_bytes = 16 << 20;

  /// What the current transfer fetches: the tab titles first (Sheets API
  /// with a gid), then the sheet itself.
  enum class phase { metadata, sheet };
  phase current = phase::sheet;
  std::unique_ptr<curl_transfer> transfer;
  /// "Authorization: Bearer ..." when the plan needs a token (a secret).
  std::vector<std::string> headers;
  /// Received bytes not yet handed to the parser (CSV), or the whole answer
  /// while it is Sheets API JSON or metadata.
  std::string buffer;
  /// Bytes at the front of `buffer` already handed on: dropped in one go
  /// before the next bytes are appended, not chunk by chunk (erasing each
  /// chunk from the front moved the rest of a large buffer every time).
  size_t handed = 0;
  size_t in_flight = 0;
  bool transfer_done = false;
  /// A step message is in the mailbox: exactly one step loop runs.
  bool step_pending = false;
  /// Hands buffered bytes on while credit lasts (kept here so the credit
  /// answers can call it without the closure owning itself).
  std::function<void()> hand_on;
  /// Bytes of the last progress report (reports are throttled).
  uint64_t reported = 0;
  caf::actor_clock::time_point reported_at;

  // -- a tab read in row ranges (Sheets API) ----------------------------------

  /// The tabs to read in row ranges, in order, and their tables (the
  /// tables only when synced tab by tab); empty when the plan's URL is read
  /// whole.
  std::vector<std::string> titles;
  std::vector<std::string> tables;
  /// Each tab's rowCount from the metadata (0: unknown).
  std::vector<uint64_t> row_counts;
  /// The tab being read and the first row of the range being read.
  size_t tab = 0;
  uint64_t first_row = 1;
  /// After the current transfer (once its bytes are handed on): read the
  /// next range of the tab, or the next tab.
  bool next_range = false;
  bool next_tab = false;
  /// Blank rows of the tab the API left out at the end of earlier ranges:
  /// written ahead of the next rows with data (none if no data follows).
  uint64_t blank_rows = 0;
  /// Body bytes of the transfers before the current one.
  uint64_t bytes_before = 0;
};

/// Downloads the sheet with libcurl in short steps and hands it to the parser
/// as CSV chunks, under credit. Gets a bearer token first when the source has
/// credentials; for the Sheets API looks up the tab's title and turns the
/// JSON answer into CSV, so both paths parse alike. Through the Sheets API a
/// whole tab is read in ranges of job.api_batch_rows rows up to the tab's
/// rowCount (without one, until an answer comes back short); a spreadsheet synced tab by tab (plan.tabbed()) reads
/// every tab so, telling the parser where each starts (atom::tab). Blocks
/// in libcurl: spawn it detached.
/// @param self The downloader.
/// @param job The sync (plan, time-outs, byte cap, cancel token).
/// @param next The parser.
/// @param coordinator Receives progress and failures.
downloader_actor::behavior_type
downloader(downloader_actor::stateful_pointer<downloader_state> self,
           sync_job job, parser_actor next, coordinator_actor coordinator);

} // namespace sheetsync
