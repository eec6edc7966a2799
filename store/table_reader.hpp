#pragma once

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
  explicit table_reader(std::shared_ptr<database> db);

  struct page {
    /// Column names without `_row`.
    std::vector<std::string> columns;
    /// Rows in sheet order.
    std::vector<std::vector<std::string>> rows;
    /// Rows in the whole table.
    uint64_t total = 0;
  };

  /// Reads `limit` rows from `offset` on, in sheet order, from one snapshot.
  /// Fails with ec::invalid_argument for an invalid name and with
  /// ec::no_data if the table does not exist (never synced).
  bool read(const std::string& table, uint64_t limit, uint64_t offset,
            page& out, failure& err);

private:
  std::shared_ptr<database> db_;
};

} // namespace sheetsync
