#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "messages/sync_status.hpp"

namespace sheetsync {

/// What answered a status read by sync id.
enum class status_read : uint8_t {
  /// The facade's status cache: no round trip.
  cache,
  /// The coordinator, asked (from its memory, else the history's SQLite).
  coordinator,
  /// The answer of the same id's ask already on its way.
  shared,
};

/// What /metrics reports, in Prometheus text format.
class facade_metrics {
public:
  /// Sync ids remembered per source against counting one twice.
  static constexpr size_t remembered_per_source = 16;

  /// Counts a finished request by route (a string literal: a fixed label,
  /// never the raw path).
  void count_request(const char* route, int status);

  /// Counts a status read by sync id by what answered it.
  void count_status_read(status_read how) {
    ++status_reads_[static_cast<size_t>(how)];
  }

  /// Status reads by id that `how` answered.
  uint64_t status_reads(status_read how) const {
    return status_reads_[static_cast<size_t>(how)];
  }

  /// Counts each sync once, when its final status passes by: in all and by
  /// source.
  void observe(const sync_status& st);

  /// Makes a configured source appear (with zero counts) before its first
  /// sync ends.
  void add_source(const std::string& name);

  /// The exposition text; `open_connections` is sampled by the caller.
  std::string render(size_t open_connections) const;

  /// Sync ids remembered (bounded: remembered_per_source per source).
  size_t remembered_ids() const;

private:
  struct source_counts {
    /// Finished syncs by outcome ("complete", "error", "cancelled").
    std::map<std::string, uint64_t> syncs;
    /// Unix ms of the finish of the last complete sync, 0 if none.
    int64_t last_success_ms = 0;
    /// The latest counted sync ids: a final status told again (a cancel's
    /// answer, a reconnect's snapshot) is about one of a source's last syncs.
    std::deque<std::string> counted;
  };


  /// Keyed by the route literal: no allocation per request.
  std::map<std::pair<std::string_view, int>, uint64_t> requests_;
  /// By status_read.
  std::array<uint64_t, 3> status_reads_{};
  /// By source name (operator-configured: a bounded label set); the totals
  /// by outcome are their sums.
  std::map<std::string, source_counts> sources_;
  double last_duration_ = 0;
  uint64_t last_rows_ = 0;
  uint64_t last_bytes_ = 0;
};

} // namespace sheetsync
