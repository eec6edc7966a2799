#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "messages/ec.hpp"
#include "messages/row_batch.hpp"

namespace sheetsync {

/// Streaming RFC 4180 CSV parser that turns bytes into row batches.
///
/// On top of tokenising it does what a sheet sync needs: BOM stripping, CRLF
/// handling, a normalised header, ragged rows, UTF-8 validation and batching.
/// Cell bytes are copied from the input straight into the batch, so a cell
/// costs no heap allocation of its own.
///
/// Rows are numbered like the sheet: the header is row 1 (after any blank
/// lines before it, which are skipped but counted), the first data row is row
/// 2. Batches never come out empty: for a header-only sheet take_batches()
/// yields nothing and columns() holds the header.
class csv_parser {
public:
  explicit csv_parser(size_t batch_rows = 4096);

  ~csv_parser();

  csv_parser(const csv_parser&) = delete;

  csv_parser& operator=(const csv_parser&) = delete;

  /// Consumes the next bytes (any split, even mid-cell or mid-UTF-8 sequence).
  /// Returns false and sets error() on invalid input; later calls do nothing.
  bool feed(std::string_view bytes);

  /// Ends the input: completes a last row without newline, closes the last
  /// batch. Calling it again returns the same result; feed() after it fails.
  bool finish();

  /// Moves out the completed batches (full ones while feeding; after finish()
  /// also the last partial one).
  std::vector<row_batch> take_batches();

  /// The normalised header so far (grows when a row has extra cells).
  const std::vector<std::string>& columns() const {
    return columns_;
  }

  /// Data rows completed so far (header excluded).
  uint64_t rows() const {
    return rows_;
  }

  /// Input bytes consumed so far.
  uint64_t bytes_consumed() const {
    return bytes_consumed_;
  }

  const failure& error() const {
    return error_;
  }

private:
  /// Where the tokenizer stands between two bytes.
  enum class state : uint8_t {
    /// Nothing of the current row seen yet.
    row_start,
    /// Right after a comma: a cell (maybe empty) follows.
    cell_start,
    /// Inside an unquoted cell.
    unquoted,
    /// Inside a quoted cell.
    quoted,
    /// A quote inside a quoted cell: it closes the cell or escapes a quote.
    quoted_quote,
  };

  /// Splits bytes (BOM already handled) into cells and rows.
  void tokenize(std::string_view bytes);

  /// Starts a cell: opens a batch (or the header's scratch batch) and makes
  /// room for one more column.
  void begin_cell();

  /// Ensures `n` bytes can be written at cur_.data[data_len_] and returns
  /// where.
  char* room(size_t n);

  /// Ends a cell: checks its UTF-8 and records its end.
  void end_cell();

  /// Ends a row: turns the first one into the header, pads the others.
  void end_row();

  /// Turns the raw header cells into distinct, non-empty column names.
  void finish_header();

  /// Appends a column named `name` (or `column_N` if empty), renamed with a
  /// `_2`, `_3`, ... suffix until it collides with no other name.
  void add_column(std::string name);

  /// Makes room for one more cell in the current data row: the header grows
  /// and, if the batch already holds rows, the row moves to a new batch.
  void grow_row();

  void open_batch();

  void close_batch();

  void fail(ec code, std::string text);

  /// 1-based sheet row of the row being parsed.
  uint64_t sheet_row() const {
    return records_ + 1;
  }

  // -- configuration --------------------------------------------------------
  size_t batch_rows_;

  // -- input state ------------------------------------------------------------
  state state_ = state::row_start;
  /// A row just ended at a CR that was the last byte of a chunk: an LF at the
  /// start of the next one belongs to it (CRLF), not to a blank row.
  bool skip_lf_ = false;
  /// Bytes of a possible UTF-8 BOM held back (0-2) while the start of the
  /// input is still undecided.
  uint8_t bom_matched_ = 0;
  bool bom_done_ = false;
  bool finished_ = false;
  uint64_t bytes_consumed_ = 0;
  /// Rows completed, counting blank lines before the header (sheet rows).
  uint64_t records_ = 0;
  failure error_;

  // -- the cell in progress ---------------------------------------------------
  /// Where the cell starts in cur_.data.
  size_t cell_start_ = 0;
  /// OR of the cell's bytes, eight at a time (or 0x80 for a quoted cell):
  /// only a cell with a high bit set in any byte needs a UTF-8 check.
  uint64_t cell_bits_ = 0;
  /// Cells of the current row so far.
  size_t col_ = 0;

  // -- header -----------------------------------------------------------------
  bool header_done_ = false;
  std::vector<std::string> header_cells_;
  std::vector<std::string> columns_;
  /// Lower-cased names in use (SQLite column names are case-insensitive),
  /// plus the cache's reserved `_row`.
  std::unordered_set<std::string> taken_;
  /// Per lower-cased name, the suffix to try first on its next rename.
  std::unordered_map<std::string, size_t> next_suffix_;

  // -- batches ----------------------------------------------------------------
  uint64_t rows_ = 0;
  /// The batch being filled; the header row goes through it too. Its data is
  /// written through raw pointers ahead of its size, so cur_.data.size() is the
  /// buffer and data_len_ the bytes in use (close_batch() trims).
  row_batch cur_;
  size_t data_len_ = 0;
  bool cur_open_ = false;
  size_t cur_rows_ = 0;
  /// Where the current row starts in cur_.data and cur_.ends.
  size_t row_data_start_ = 0;
  size_t row_ends_start_ = 0;
  /// Size of the last closed batch, to reserve the next one in one go.
  size_t data_hint_ = 0;
  std::vector<row_batch> done_;
};

/// Returns whether `bytes` is valid UTF-8 (no overlongs, no surrogates,
/// nothing above U+10FFFF).
bool valid_utf8(std::string_view bytes);

} // namespace sheetsync
