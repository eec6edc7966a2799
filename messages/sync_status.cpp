#include "messages/sync_status.hpp"

#include <cinttypes>
#include <cstdio>
#include <iterator>

namespace sheetsync {

namespace {

const char* state_names[] = {"idle",     "downloading", "processing", "saving",
                             "complete", "error",       "cancelled"};

} // namespace

const char* to_string(sync_state x) {
  return state_names[static_cast<uint8_t>(x)];
}

bool from_string(const std::string& str, sync_state& x) {
  for (uint8_t i = 0; i < std::size(state_names); ++i)
    if (str == state_names[i]) {
      x = static_cast<sync_state>(i);
      return true;
    }
  return false;
}

std::string human_size(uint64_t n) {
  char buf[32];
  if (n < 1024)
    std::snprintf(buf, sizeof(buf), "%" PRIu64 " B", n);
  else if (n < (uint64_t{1} << 20))
    std::snprintf(buf, sizeof(buf), "%.1f KiB", n / 1024.0);
  else if (n < (uint64_t{1} << 30))
    std::snprintf(buf, sizeof(buf), "%.1f MiB", n / 1048576.0);
  else
    std::snprintf(buf, sizeof(buf), "%.2f GiB", n / 1073741824.0);
  return buf;
}

bool operator==(const sync_status& x, const sync_status& y) {
  return x.id == y.id && x.source == y.source && x.state == y.state
         && x.progress == y.progress && x.message == y.message
         && x.error == y.error && x.started_ms == y.started_ms
         && x.updated_ms == y.updated_ms && x.finished_ms == y.finished_ms
         && x.bytes == y.bytes && x.rows == y.rows;
}

} // namespace sheetsync
