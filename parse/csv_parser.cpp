#include "parse/csv_parser.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

namespace sheetsync {

namespace {

constexpr unsigned char utf8_bom[] = {0xEF, 0xBB, 0xBF};

/// Most bytes one tokenizer step copies, so that a huge feed() does not make
/// the batch reserve room for all of it.
constexpr size_t max_run = size_t{64} << 10;

// -- scanning eight bytes at a time (SWAR) ------------------------------------

constexpr uint64_t ones = 0x0101010101010101ull;
constexpr uint64_t highs = 0x8080808080808080ull;

/// Loads eight bytes with the first one in the lowest byte.
uint64_t load_le(const char* bytes) {
  uint64_t word;
  std::memcpy(&word, bytes, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  word = __builtin_bswap64(word);
#endif
  return word;
}

/// Sets the high bit of every nonzero byte (exact: no carries between bytes).
uint64_t nonzero_bytes(uint64_t x) {
  return (((x & ~highs) + ~highs) | x) & highs;
}

/// Sets the high bit of every byte that ends an unquoted cell: comma, CR or
/// LF. A quote does not: a stray quote in an unquoted cell stays literally.
uint64_t cell_end_bytes(uint64_t word) {
  return ~(nonzero_bytes(word ^ (ones * ','))
           & nonzero_bytes(word ^ (ones * '\r'))
           & nonzero_bytes(word ^ (ones * '\n')))
         & highs;
}

bool ends_cell(char c) {
  return c == ',' || c == '\r' || c == '\n';
}

} // namespace

bool valid_utf8(std::string_view bytes) {
  auto p = reinterpret_cast<const unsigned char*>(bytes.data());
  auto end = p + bytes.size();
  while (p < end) {
    // Fast path: skip ASCII eight bytes at a time.
    while (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      if ((word & highs) != 0)
        break;
      p += 8;
    }
    if (p == end)
      break;
    auto c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    // Table 3-7 of the Unicode standard: the lead byte fixes the length and
    // the allowed range of the second byte (which rules out overlongs,
    // surrogates and code points above U+10FFFF).
    ptrdiff_t len;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c < 0xC2) {
      return false; // stray continuation byte or overlong 2-byte form
    } else if (c < 0xE0) {
      len = 2;
    } else if (c < 0xF0) {
      len = 3;
      if (c == 0xE0)
        lo = 0xA0;
      else if (c == 0xED)
        hi = 0x9F;
    } else if (c < 0xF5) {
      len = 4;
      if (c == 0xF0)
        lo = 0x90;
      else if (c == 0xF4)
        hi = 0x8F;
    } else {
      return false;
    }
    if (end - p < len || p[1] < lo || p[1] > hi)
      return false;
    for (ptrdiff_t i = 2; i < len; ++i)
      if ((p[i] & 0xC0) != 0x80)
        return false;
    p += len;
  }
  return true;
}

csv_parser::csv_parser(size_t batch_rows, size_t batch_bytes)
  : batch_rows_(std::max(batch_rows, size_t{1})),
    // Below 4 GiB, so that the cell ends of a batch fit in uint32.
    batch_bytes_(std::clamp(batch_bytes, size_t{1}, size_t{1} << 30)) {
  // nop
}

csv_parser::~csv_parser() = default;

bool csv_parser::feed(std::string_view bytes) {
  do {
    bytes.remove_prefix(feed_some(bytes));
  } while (!bytes.empty() && !error_);
  return !error_;
}

size_t csv_parser::feed_some(std::string_view bytes) {
  if (error_)
    return 0;
  if (finished_) {
    fail(ec::invalid_argument, "feed() after finish()");
    return 0;
  }
  batch_closed_ = false;
  auto total = bytes.size();
  if (!bom_done_) {
    // Hold back a possible BOM prefix until it is complete or broken: the
    // download may split it across chunks.
    while (!bytes.empty() && bom_matched_ < 3) {
      if (static_cast<unsigned char>(bytes.front()) != utf8_bom[bom_matched_]) {
        bom_done_ = true;
        tokenize({reinterpret_cast<const char*>(utf8_bom), bom_matched_});
        break;
      }
      ++bom_matched_;
      bytes.remove_prefix(1);
    }
    if (bom_matched_ == 3)
      bom_done_ = true;
    if (!bom_done_) {
      bytes_consumed_ += total;
      return total;
    }
  }
  auto used = total - bytes.size() + tokenize(bytes);
  bytes_consumed_ += used;
  return used;
}

bool csv_parser::finish() {
  if (finished_)
    return !error_;
  finished_ = true;
  if (error_)
    return false;
  if (!bom_done_) {
    // Input shorter than a BOM that looked like one: it is data after all.
    bom_done_ = true;
    tokenize({reinterpret_cast<const char*>(utf8_bom), bom_matched_});
  }
  // Complete a last row that has no line end.
  switch (state_) {
    case state::row_start:
      break;
    case state::cell_start: // "a," ends with an empty cell
      begin_cell();
      end_cell();
      end_row();
      break;
    case state::unquoted:
    case state::quoted_quote:
      end_cell();
      end_row();
      break;
    case state::quoted:
      fail(ec::invalid_csv, "unterminated quoted cell in row "
                              + std::to_string(sheet_row())
                              + ": a quote opens a cell that never closes");
      break;
  }
  state_ = state::row_start;
  if (error_)
    return false;
  if (!header_done_) {
    fail(ec::empty_sheet, "the sheet is empty: no header row");
    return false;
  }
  if (cur_open_)
    close_batch();
  return true;
}

std::vector<row_batch> csv_parser::take_batches() {
  return std::exchange(done_, {});
}

size_t csv_parser::tokenize(std::string_view bytes) {
  auto pos = bytes.data();
  auto end = pos + bytes.size();
  if (skip_lf_ && pos < end) {
    skip_lf_ = false;
    if (*pos == '\n')
      ++pos;
  }
  // Ends the row at the line end `c` that pos has just passed; a CR takes the
  // LF of a CRLF along, even from the start of the next chunk.
  auto line_end = [&](char c) {
    end_row();
    state_ = state::row_start;
    if (c == '\r') {
      if (pos == end)
        skip_lf_ = true;
      else if (*pos == '\n')
        ++pos;
    }
  };
  while (pos < end && !error_ && !batch_closed_) {
    switch (state_) {
      case state::row_start:
      case state::cell_start: {
        auto c = *pos;
        if (c == '"') {
          ++pos;
          begin_cell();
          cell_bits_ = 0x80; // a quoted cell always gets the UTF-8 check
          state_ = state::quoted;
        } else if (c == ',') {
          ++pos;
          begin_cell();
          end_cell();
          state_ = state::cell_start;
        } else if (c == '\r' || c == '\n') {
          ++pos;
          // After a comma the line end closes an empty cell; at the start of
          // a row it ends a blank row (no cells, padded by end_row()).
          if (state_ == state::cell_start) {
            begin_cell();
            end_cell();
          }
          line_end(c);
        } else {
          begin_cell();
          state_ = state::unquoted;
        }
        break;
      }
      case state::unquoted: {
        // Copy up to the cell's end, eight bytes per step while eight remain
        // before `limit`: bytes copied past the cell's end are not counted
        // and get overwritten by what follows. Only into the room the batch
        // has (doubled when nearly full): reserving a whole step per cell
        // would cost every small batch a step's size.
        auto first = pos;
        auto out = room(8);
        auto limit = pos + std::min({static_cast<size_t>(end - pos), max_run,
                                     cur_.data.size() - data_len_});
        uint64_t bits = 0;
        bool found = false;
        while (limit - pos >= 8) {
          auto word = load_le(pos);
          std::memcpy(out + (pos - first), pos, 8);
          auto hits = cell_end_bytes(word);
          if (hits != 0) {
            // Only the bytes before the first hit belong to the cell.
            bits |= word & ((hits & (~hits + 1)) - 1);
            pos += __builtin_ctzll(hits) / 8;
            found = true;
            break;
          }
          bits |= word;
          pos += 8;
        }
        for (; !found && pos < limit; ++pos) {
          if (ends_cell(*pos)) {
            found = true;
            break;
          }
          out[pos - first] = *pos;
          bits |= static_cast<unsigned char>(*pos);
        }
        data_len_ += static_cast<size_t>(pos - first);
        cell_bits_ |= bits;
        if (!found)
          break; // the cell goes on in the next step or chunk
        auto c = *pos++;
        end_cell();
        if (c == ',')
          state_ = state::cell_start;
        else
          line_end(c);
        break;
      }
      case state::quoted: {
        auto limit = pos + std::min(static_cast<size_t>(end - pos), max_run);
        auto quote = static_cast<const char*>(
          std::memchr(pos, '"', static_cast<size_t>(limit - pos)));
        auto stop = quote != nullptr ? quote : limit;
        auto len = static_cast<size_t>(stop - pos);
        std::memcpy(room(len), pos, len);
        data_len_ += len;
        pos = stop;
        if (quote != nullptr) {
          ++pos;
          state_ = state::quoted_quote;
        }
        break;
      }
      case state::quoted_quote: {
        auto c = *pos;
        if (c == ',') {
          ++pos;
          end_cell();
          state_ = state::cell_start;
        } else if (c == '\r' || c == '\n') {
          ++pos;
          end_cell();
          line_end(c);
        } else {
          // A doubled quote is a literal one. Text after a closing quote
          // ("abc"def) is malformed: keep that quote literally and go on as an
          // unquoted cell rather than swallow the rows that follow.
          *room(1) = '"';
          ++data_len_;
          if (c == '"') {
            ++pos;
            state_ = state::quoted;
          } else {
            state_ = state::unquoted;
          }
        }
        break;
      }
    }
  }
  return static_cast<size_t>(pos - bytes.data());
}

void csv_parser::begin_cell() {
  if (col_ == max_columns) {
    // Before any work for the cell: past the limit a row costs nothing more.
    fail(ec::too_large,
         "row " + std::to_string(sheet_row())
           + (header_done_ ? "" : " (the header)") + " has more than "
           + std::to_string(max_columns) + " cells: a sheet may have at most "
           + std::to_string(max_columns) + " columns");
    return;
  }
  if (!cur_open_)
    open_batch();
  if (header_done_ && col_ == columns().size())
    grow_row();
  cell_start_ = data_len_;
  cell_bits_ = 0;
}

char* csv_parser::room(size_t n) {
  if (cur_.data.size() - data_len_ < n)
    cur_.data.resize(std::max(data_len_ + n, cur_.data.size() * 2));
  return &cur_.data[data_len_];
}

void csv_parser::end_cell() {
  if (error_)
    return;
  if ((cell_bits_ & highs) != 0
      && !valid_utf8({cur_.data.data() + cell_start_, data_len_ - cell_start_})) {
    if (header_done_)
      fail(ec::invalid_utf8, "invalid UTF-8 in row " + std::to_string(sheet_row())
                               + ", column \"" + columns()[col_]
                               + "\": save the sheet as UTF-8");
    else
      fail(ec::invalid_utf8, "invalid UTF-8 in row " + std::to_string(sheet_row())
                               + " (the header), column "
                               + std::to_string(col_ + 1)
                               + ": save the sheet as UTF-8");
    return;
  }
  if (data_len_ > std::numeric_limits<uint32_t>::max()) {
    fail(ec::invalid_csv,
         "row " + std::to_string(sheet_row()) + " is too large: over 4 GiB");
    return;
  }
  cur_.ends.push_back(static_cast<uint32_t>(data_len_));
  ++col_;
}

void csv_parser::end_row() {
  if (error_)
    return;
  if (!header_done_) {
    // Blank lines before the header are skipped (so that input of only line
    // ends is an empty sheet) but still count as sheet rows.
    if (col_ > 0)
      finish_header();
    ++records_;
    col_ = 0;
    return;
  }
  if (!cur_open_)
    open_batch();
  // Pad a short (or blank) row with empty cells: O(missing cells).
  auto end = static_cast<uint32_t>(data_len_);
  cur_.ends.resize(cur_.ends.size() + (columns().size() - col_), end);
  col_ = 0;
  ++rows_;
  ++records_;
  ++cur_rows_;
  row_data_start_ = data_len_;
  row_ends_start_ = cur_.ends.size();
  if (cur_rows_ == batch_rows_ || padded_bytes(0) >= batch_bytes_)
    close_batch();
}

size_t csv_parser::padded_bytes(size_t extra_columns) const {
  return data_len_
         + sizeof(uint32_t) * cur_rows_ * (columns().size() + extra_columns);
}

void csv_parser::finish_header() {
  // The header row went through cur_ like a data row; take its cells out.
  uint32_t begin = 0;
  for (auto end : cur_.ends) {
    names_.add(std::string_view{cur_.data}.substr(begin, end - begin));
    begin = end;
  }
  cur_open_ = false;
  header_done_ = true;
}

void csv_parser::grow_row() {
  if (cur_rows_ > 0 && padded_bytes(1) < batch_bytes_) {
    // The batch's rows get the wider header too, padded once at its close;
    // for now, remember how wide they are.
    if (narrow_rows_.empty() || narrow_rows_.back().first < cur_rows_)
      narrow_rows_.emplace_back(cur_rows_, columns().size());
  } else if (cur_rows_ > 0) {
    // Widening would pass the budget: the batch's rows keep their narrower
    // header; the row in progress moves to a new batch that gets the wider
    // one. A batch that gets here holds at least half a budget of padded
    // rows, so this happens at most once per half a budget of output.
    auto tail = data_len_ - row_data_start_;
    row_batch next;
    next.first_row = rows_ + 1;
    next.data.resize(std::max(data_hint_, tail));
    std::memcpy(&next.data[0], cur_.data.data() + row_data_start_, tail);
    next.ends.reserve(std::max(ends_hint_, col_ + 1));
    auto base = static_cast<uint32_t>(row_data_start_);
    for (auto i = row_ends_start_; i < cur_.ends.size(); ++i)
      next.ends.push_back(cur_.ends[i] - base);
    data_len_ = row_data_start_;
    cur_.ends.resize(row_ends_start_);
    close_batch();
    cur_ = std::move(next);
    data_len_ = tail;
    cur_open_ = true;
    cur_rows_ = 0;
    row_data_start_ = 0;
    row_ends_start_ = 0;
  }
  names_.add({});
}

void csv_parser::open_batch() {
  cur_ = row_batch{};
  cur_.first_row = rows_ + 1;
  cur_.data.resize(data_hint_);
  cur_.ends.reserve(ends_hint_);
  data_len_ = 0;
  cur_open_ = true;
  cur_rows_ = 0;
  row_data_start_ = 0;
  row_ends_start_ = 0;
}

void csv_parser::close_batch() {
  if (!narrow_rows_.empty())
    pad_narrow_rows();
  // Size the next batch a little above this one so that it rarely grows, but
  // never beyond the budget.
  data_hint_ = std::min(data_len_ + data_len_ / 8, batch_bytes_) + 64;
  ends_hint_ = std::min(cur_.ends.size() + cur_.ends.size() / 8,
                        batch_bytes_ / sizeof(uint32_t));
  cur_.data.resize(data_len_);
  cur_.columns = columns();
  done_.push_back(std::move(cur_));
  cur_open_ = false;
  batch_closed_ = true;
}

void csv_parser::pad_narrow_rows() {
  // One pass over the batch at its final width: the padding, done once.
  const auto width = columns().size();
  std::vector<uint32_t> ends;
  ends.reserve(cur_rows_ * width);
  size_t i = 0;
  size_t row = 0;
  for (auto [rows_end, narrow] : narrow_rows_) {
    for (; row < rows_end; ++row) {
      ends.insert(ends.end(), cur_.ends.begin() + i, cur_.ends.begin() + i + narrow);
      i += narrow;
      auto row_end = ends.back();
      ends.resize(ends.size() + (width - narrow), row_end);
    }
  }
  ends.insert(ends.end(), cur_.ends.begin() + i, cur_.ends.end());
  cur_.ends = std::move(ends);
  narrow_rows_.clear();
}

void csv_parser::fail(ec code, std::string text) {
  if (!error_)
    error_ = failure{code, std::move(text)};
}

} // namespace sheetsync
