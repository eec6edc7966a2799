#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>

#include <caf/typed_response_promise.hpp>

#include "messages/actors.hpp"
#include "parse/csv_parser.hpp"
#include "store/content_hasher.hpp"

namespace sheetsync {

struct parser_state {
  static inline const char* name = "parser";

  /// Batches handed to the writer and not yet answered: the credit in use.
  static constexpr size_t max_in_flight = 4;

  /// Most input bytes one handler run parses: a long parse (one huge chunk
  /// or many) is cut into slices, with the mailbox read between them, so an
  /// exit (cancel, deadline) stops it within a slice. A slice also ends after
  /// one batch, which bounds its output however much the rows are padded.
  static constexpr size_t slice_bytes = 256 * 1024;

  using ok_promise = caf::typed_response_promise<caf::ok_atom>;

  /// A chunk not parsed to its end yet, with its answer; or, with `tab`
  /// set, where a tab starts (its title in `bytes`, its table in `table`).
  struct chunk {
    std::string bytes;
    size_t parsed = 0;
    ok_promise answer;
    bool tab = false;
    std::string table;
  };

  /// What goes to the writer: a batch, or where a tab starts (with the
  /// previous tab's content hash).
  struct output {
    row_batch batch;
    bool tab = false;
    std::string title;
    std::string table;
    std::string previous_hash;
  };

  std::unique_ptr<csv_parser> csv;
  /// Of every batch handed on; goes to the writer with eof.
  content_hasher hash;
  /// Chunks waiting to be parsed, oldest first.
  std::deque<chunk> input;
  /// A step message is on its way.
  bool step_pending = false;
  /// Parsed batches (and tab starts) waiting for credit.
  std::deque<output> pending;
  size_t in_flight = 0;
  /// Answers of parsed chunks held back while too many batches wait: the
  /// downloader gets its credit back only once this stage can take more.
  std::deque<ok_promise> held;
  /// The download ended (eof received).
  bool input_done = false;
  /// The parser finished the input: only handing on is left.
  bool eof = false;
  /// Whether the current tab (or the sheet) gave any batch.
  bool batches_made = false;
  /// A spreadsheet synced tab by tab: the tab being parsed ("" before the
  /// first), for messages; rows and bytes of the tabs before it.
  std::string tab;
  uint64_t rows_before = 0;
  uint64_t bytes_before = 0;
};

/// Parses downloaded chunks (CSV) and hands row batches to the cache writer.
/// @param self The parser.
/// @param sync_id The sync this stage belongs to.
/// @param writer The next stage.
/// @param coordinator Receives progress and failures.
parser_internal_actor::behavior_type
parser(parser_internal_actor::stateful_pointer<parser_state> self,
       std::string sync_id, cache_writer_actor writer,
       coordinator_actor coordinator);

} // namespace sheetsync
