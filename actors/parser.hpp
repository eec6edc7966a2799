#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>

#include <caf/typed_response_promise.hpp>

#include "messages/actors.hpp"
#include "parse/csv_parser.hpp"

namespace sheetsync {

struct parser_state {
  static inline const char* name = "parser";

  /// Batches handed to the writer and not yet answered: the credit in use.
  static constexpr size_t max_in_flight = 4;

  std::unique_ptr<csv_parser> csv;
  /// Parsed batches waiting for credit.
  std::deque<row_batch> pending;
  size_t in_flight = 0;
  /// Chunk answers held back while too many batches wait: the downloader
  /// gets its credit back only once this stage can take more.
  std::deque<caf::typed_response_promise<caf::ok_atom>> held;
  bool eof = false;
  /// Whether any batch went to the writer.
  bool batches_sent = false;
};

/// Parses downloaded chunks (CSV) and hands row batches to the cache writer.
/// @param self The parser.
/// @param sync_id The sync this stage belongs to.
/// @param writer The next stage.
/// @param coordinator Receives progress and failures.
parser_actor::behavior_type
parser(parser_actor::stateful_pointer<parser_state> self, std::string sync_id,
       cache_writer_actor writer, coordinator_actor coordinator);

} // namespace sheetsync
