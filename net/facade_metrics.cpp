#include "net/facade_metrics.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace sheetsync {

namespace {

/// A label value with `\`, `"` and newlines escaped (Prometheus text format).
std::string label_value(const std::string& x) {
  std::string out;
  out.reserve(x.size());
  for (auto c : x) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

constexpr const char* outcomes[] = {"complete", "error", "cancelled"};

} // namespace

void facade_metrics::count_request(const char* route, int status) {
  ++requests_[{route, status}];
}

void facade_metrics::observe(const sync_status& st) {
  if (!finished(st.state))
    return;
  auto& src = sources_[st.source];
  auto& counted = src.counted;
  if (std::find(counted.begin(), counted.end(), st.id) != counted.end())
    return;
  counted.push_back(st.id);
  if (counted.size() > remembered_per_source)
    counted.pop_front();
  ++src.syncs[to_string(st.state)];
  if (st.state == sync_state::complete) {
    src.last_success_ms = st.finished_ms;
    last_duration_ = (st.finished_ms - st.started_ms) / 1000.0;
    last_rows_ = st.rows;
    last_bytes_ = st.bytes;
  }
}

size_t facade_metrics::remembered_ids() const {
  size_t n = 0;
  for (auto& [name, counts] : sources_)
    n += counts.counted.size();
  return n;
}

void facade_metrics::add_source(const std::string& name) {
  sources_[name];
}

std::string facade_metrics::render(size_t open_connections) const {
  std::string out;
  char buf[1024];
  out += "# HELP sheetsync_syncs_total Finished syncs by outcome.\n"
         "# TYPE sheetsync_syncs_total counter\n";
  for (auto outcome : outcomes) {
    uint64_t total = 0;
    for (auto& [name, counts] : sources_)
      if (auto i = counts.syncs.find(outcome); i != counts.syncs.end())
        total += i->second;
    std::snprintf(buf, sizeof(buf),
                  "sheetsync_syncs_total{outcome=\"%s\"} %" PRIu64 "\n",
                  outcome, total);
    out += buf;
  }
  std::snprintf(buf, sizeof(buf),
                "# HELP sheetsync_last_sync_duration_seconds Duration of the "
                "last complete sync.\n"
                "# TYPE sheetsync_last_sync_duration_seconds gauge\n"
                "sheetsync_last_sync_duration_seconds %.3f\n"
                "# HELP sheetsync_last_sync_rows Rows of the last complete sync.\n"
                "# TYPE sheetsync_last_sync_rows gauge\n"
                "sheetsync_last_sync_rows %" PRIu64 "\n"
                "# HELP sheetsync_last_sync_bytes Bytes of the last complete "
                "sync.\n"
                "# TYPE sheetsync_last_sync_bytes gauge\n"
                "sheetsync_last_sync_bytes %" PRIu64 "\n"
                "# HELP sheetsync_open_connections Open HTTP connections.\n"
                "# TYPE sheetsync_open_connections gauge\n"
                "sheetsync_open_connections %zu\n",
                last_duration_, last_rows_, last_bytes_, open_connections);
  out += buf;
  out += "# HELP sheetsync_source_syncs_total Finished syncs by source and "
         "outcome.\n"
         "# TYPE sheetsync_source_syncs_total counter\n";
  for (auto& [name, counts] : sources_) {
    auto label = label_value(name);
    for (auto outcome : outcomes) {
      auto i = counts.syncs.find(outcome);
      out += "sheetsync_source_syncs_total{source=\"" + label + "\",outcome=\""
             + outcome + "\"} "
             + std::to_string(i == counts.syncs.end() ? uint64_t{0} : i->second)
             + "\n";
    }
  }
  out += "# HELP sheetsync_source_last_success_timestamp_seconds When the last "
         "complete sync of a source finished (Unix time; 0 = never).\n"
         "# TYPE sheetsync_source_last_success_timestamp_seconds gauge\n";
  for (auto& [name, counts] : sources_) {
    std::snprintf(buf, sizeof(buf), "%.3f", counts.last_success_ms / 1000.0);
    out += "sheetsync_source_last_success_timestamp_seconds{source=\""
           + label_value(name) + "\"} " + buf + "\n";
  }
  out += "# HELP sheetsync_http_requests_total HTTP requests by route and "
         "status code.\n"
         "# TYPE sheetsync_http_requests_total counter\n";
  for (auto& [key, n] : requests_) {
    std::snprintf(buf, sizeof(buf),
                  "sheetsync_http_requests_total{route=\"%s\",code=\"%d\"} "
                  "%" PRIu64 "\n",
                  std::string{key.first}.c_str(), key.second, n);
    out += buf;
  }
  out += "# HELP sheetsync_status_reads_total Status reads by sync id, by what "
         "answered: the facade's cache, the coordinator (its memory or the "
         "history), or an ask for the same id already on its way.\n"
         "# TYPE sheetsync_status_reads_total counter\n";
  for (auto [how, label] : {std::pair{status_read::cache, "cache"},
                            std::pair{status_read::coordinator, "coordinator"},
                            std::pair{status_read::shared, "shared"}}) {
    std::snprintf(buf, sizeof(buf),
                  "sheetsync_status_reads_total{answered=\"%s\"} %" PRIu64
                  "\n",
                  label, status_reads(how));
    out += buf;
  }
  return out;
}

} // namespace sheetsync
