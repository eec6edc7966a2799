#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "messages/ec.hpp"
#include "messages/webhook_delivery.hpp"
#include "store/database.hpp"

namespace sheetsync {

/// The webhook deliveries in the cache's `webhook_deliveries` table (one row
/// per event and receiver, body included), so that pending deliveries are
/// resumed after a restart and the latest outcomes stay listed. Bounded by
/// its owner: prune() keeps the newest finished rows, and the sender caps the
/// pending ones.
class webhook_deliveries {
public:
  /// The table's name (reserved: not a valid source name).
  static constexpr const char* table_name = "webhook_deliveries";

  explicit webhook_deliveries(std::shared_ptr<database> db);

  /// Creates the table if it is missing.
  bool create(failure& err);

  /// Inserts the delivery, or replaces the row of the same id.
  bool put(const webhook_delivery& x, failure& err);

  /// Every pending delivery and the newest `finished_limit` finished ones,
  /// newest first (by creation).
  bool load(uint64_t finished_limit, std::vector<webhook_delivery>& out,
            failure& err);

  /// Deletes the finished deliveries beyond the newest `keep`.
  bool prune(uint64_t keep, failure& err);

private:
  std::shared_ptr<database> db_;
};

} // namespace sheetsync
