#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "messages/ec.hpp"
#include "messages/row_batch.hpp"
#include "parse/column_names.hpp"

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
///
/// Work is linear in the input plus the padding of short rows: a row with
/// extra cells appends columns (no copy of the header per column), a batch
/// copies the header once, a short row costs its missing cells, and rows
/// before a growth get theirs once, when the batch closes. A batch closes at
/// `batch_rows` rows or once it holds `batch_bytes` (cells and their 4-byte
/// ends, padding included), whichever comes first. All rows of a batch have
/// its header's width.
class csv_parser {
public:
  /// Most columns a sheet may have: SQLite's default SQLITE_MAX_COLUMN (2000)
  /// less the cache's `_row`. A row with more cells fails at its next cell.
  static constexpr size_t max_columns = 1999;

  /// Default byte budget of a batch: a few batches in flight stay far below
  /// the memory budget, however wide or padded the rows.
  static constexpr size_t default_batch_bytes = size_t{8} << 20;

  explicit csv_parser(size_t batch_rows = 4096,
                      size_t batch_bytes = default_batch_bytes);

  ~csv_parser();

  csv_parser(const csv_parser&) = delete;

  csv_parser& operator=(const csv_parser&) = delete;

  /// Consumes the next bytes (any split, even mid-cell or mid-UTF-8 sequence).
  /// Returns false and sets error() on invalid input; later calls do nothing.
  bool feed(std::string_view bytes);

  /// Like feed(), but stops early once a batch closed, so that a caller can
  /// hand each batch on before the next one is made: the work of one call is
  /// bounded by its input and one batch. Returns the bytes consumed (all of
  /// them unless a batch closed or the input is invalid: see error()).
  size_t feed_some(std::string_view bytes);

  /// Ends the input: completes a last row without newline, closes the last
  /// batch. Calling it again returns the same result; feed() after it fails.
  bool finish();

  /// Moves out the completed batches (full ones while feeding; after finish()
  /// also the last partial one).
  std::vector<row_batch> take_batches();

  /// The normalised header so far (grows when a row has extra cells).
  const std::vector<std::string>& columns() const {
    return names_.names();
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

  /// Splits bytes (BOM already handled) into cells and rows, up to the end
  /// of a row that closed a batch; returns the bytes consumed.
  size_t tokenize(std::string_view bytes);

  /// Starts a cell: opens a batch (or the header's scratch batch), enforces
  /// max_columns and makes room for one more column.
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

  /// Makes room for one more cell in the current data row: the header grows
  /// by one name. The batch's earlier rows get the new column as padding when
  /// it closes, unless that padding would pass the byte budget: then the row
  /// moves to a new batch and the earlier rows keep the narrower header.
  void grow_row();

  /// Bytes the batch will hold once its rows are padded to the header plus
  /// `extra_columns` (the row in progress not counted).
  size_t padded_bytes(size_t extra_columns) const;

  /// Pads the rows that are narrower than the header (see narrow_rows_).
  void pad_narrow_rows();

  /// Starts a batch sized after the last one.
  void open_batch();

  /// Gives the batch its header (the one copy of it) and queues it.
  void close_batch();

  void fail(ec code, std::string text);

  /// 1-based sheet row of the row being parsed.
  uint64_t sheet_row() const {
    return records_ + 1;
  }

  // -- configuration --------------------------------------------------------
  size_t batch_rows_;
  size_t batch_bytes_;

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
  column_namer names_;

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
  /// Rows of the batch narrower than the header (it grew after them), padded
  /// at close: (rows before the growth, their width), one entry per growth.
  std::vector<std::pair<size_t, size_t>> narrow_rows_;
  /// Size of the last closed batch, to reserve the next one in one go.
  size_t data_hint_ = 0;
  size_t ends_hint_ = 0;
  /// A batch closed during the current feed_some().
  bool batch_closed_ = false;
  std::vector<row_batch> done_;
};

/// Returns whether `bytes` is valid UTF-8 (no overlongs, no surrogates,
/// nothing above U+10FFFF).
bool valid_utf8(std::string_view bytes);

} // namespace sheetsync
