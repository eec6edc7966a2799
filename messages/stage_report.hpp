#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace sheetsync {

/// The three stages of a sync pipeline.
enum class stage : uint8_t { download, parse, save };

const char* to_string(stage x);

/// What a stage tells the coordinator as it works. The coordinator alone turns
/// these into phases and percentages.
struct stage_report {
  std::string sync_id;
  stage from = stage::download;
  /// The stage has done all its work (save: ready to swap, or swapped).
  bool finished = false;
  /// download: body bytes received; parse: input bytes consumed.
  uint64_t bytes = 0;
  /// download: the size announced by the server or file, 0 when unknown.
  uint64_t expected_bytes = 0;
  /// parse: rows parsed; save: rows written aside.
  uint64_t rows = 0;
  /// save, finished: the content equals the cached one (same hash), so the
  /// commit keeps the table as it is.
  bool unchanged = false;
  /// download, a spreadsheet synced tab by tab: the tab in progress (its
  /// title and 0-based index) and how many there are; 0 tabs otherwise.
  std::string tab;
  uint32_t tab_index = 0;
  uint32_t tab_count = 0;
};

inline bool operator==(const stage_report& x, const stage_report& y) {
  return x.sync_id == y.sync_id && x.from == y.from && x.finished == y.finished
         && x.bytes == y.bytes && x.expected_bytes == y.expected_bytes
         && x.rows == y.rows && x.unchanged == y.unchanged && x.tab == y.tab
         && x.tab_index == y.tab_index && x.tab_count == y.tab_count;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_report& x) {
  return f(caf::meta::type_name("stage_report"), x.sync_id, x.from,
           x.finished, x.bytes, x.expected_bytes, x.rows, x.unchanged, x.tab,
           x.tab_index, x.tab_count);
}

} // namespace sheetsync
