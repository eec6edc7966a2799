#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "messages/ec.hpp"
#include "store/database.hpp"

namespace sheetsync {

/// Reads pages of a source's table (see table_writer for its layout).
class table_reader {
public:
  /// Bytes of cells after which a page ends early (see read()).
  static constexpr size_t max_page_bytes = size_t{8} << 20;

  explicit table_reader(std::shared_ptr<database> db);

  struct page {
    /// Column names without `_row`.
    std::vector<std::string> columns;
    /// Rows in sheet order.
    std::vector<std::vector<std::string>> rows;
    /// Rows in the whole table.
    uint64_t total = 0;
    /// When the byte cap ended the page before `limit` rows: the offset
    /// that continues it; else 0.
    uint64_t next = 0;
  };

  /// Reads `limit` rows from `offset` on, in sheet order, from one snapshot.
  /// The page ends early, with `next` set, after the row whose cells bring
  /// it to `max_bytes` or more. The total is the row count stored by the
  /// swap, and offsets map to `_row` (no scan of the rows before the page)
  /// when the rows are numbered 1..total, as the parser numbers them.
  /// Fails with ec::invalid_argument for an invalid name and with
  /// ec::no_data if the table does not exist (never synced).
  bool read(const std::string& table, uint64_t limit, uint64_t offset,
            page& out, failure& err, size_t max_bytes = max_page_bytes);

  /// Whether the cache can be read now: one cheap read of its schema. On
  /// failure `err` says why (ec::cache_busy while another process holds it
  /// locked).
  bool readable(failure& err);

private:
  std::shared_ptr<database> db_;
};

} // namespace sheetsync
