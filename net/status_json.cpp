#include "net/status_json.hpp"

#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "net/json_writer.hpp"
#include "net/join.hpp"

namespace sheetsync {

namespace {

void put_time(json_writer& w, const char* key, int64_t ms) {
  w.Key(key);
  if (ms == 0) {
    w.Null();
    return;
  }
  auto text = iso8601(ms);
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void put_status(json_writer& w, const sync_status& st);

} // namespace

std::string iso8601(int64_t unix_ms) {
  auto secs = static_cast<time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
  return buf;
}

namespace {

void put_status(json_writer& w, const sync_status& st) {
  w.StartObject();
  w.Key("syncId");
  if (st.id.empty())
    w.Null();
  else
    w.String(st.id.c_str(), static_cast<rapidjson::SizeType>(st.id.size()));
  put(w, "source", st.source);
  put(w, "status", to_string(st.state));
  w.Key("progress");
  w.Uint(st.progress);
  put(w, "message", st.message);
  put_time(w, "lastUpdated", st.updated_ms);
  put_time(w, "startedAt", st.started_ms);
  put_time(w, "finishedAt", st.finished_ms);
  w.Key("stats");
  w.StartObject();
  w.Key("size");
  w.Uint64(st.bytes);
  w.Key("lines");
  w.Uint64(st.rows);
  w.EndObject();
  if (st.state == sync_state::error)
    put(w, "error", st.error);
  w.EndObject();
}

} // namespace

std::string to_json(const sync_status& st) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  put_status(w, st);
  return {buf.GetString(), buf.GetSize()};
}

std::string to_json(const data_page& page) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  put(w, "source", page.source);
  w.Key("columns");
  w.StartArray();
  for (auto& c : page.columns)
    w.String(c.data(), static_cast<rapidjson::SizeType>(c.size()));
  w.EndArray();
  w.Key("rows");
  w.StartArray();
  for (auto& row : page.rows) {
    w.StartArray();
    for (auto& cell : row)
      w.String(cell.data(), static_cast<rapidjson::SizeType>(cell.size()));
    w.EndArray();
  }
  w.EndArray();
  w.Key("total");
  w.Uint64(page.total);
  put_time(w, "syncedAt", page.synced_ms);
  if (!page.tabs.empty()) {
    put(w, "tab", page.tab);
    w.Key("tabs");
    w.StartArray();
    for (auto& t : page.tabs)
      w.String(t.data(), static_cast<rapidjson::SizeType>(t.size()));
    w.EndArray();
  }
  if (page.next > 0) {
    w.Key("next");
    w.Uint64(page.next);
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string start_json(const std::string& sync_id, const std::string& message,
                       const std::string& source) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  w.Key("success");
  w.Bool(true);
  put(w, "syncId", sync_id);
  if (!source.empty())
    put(w, "source", source);
  put(w, "message", message);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string error_json(const std::string& code, const std::string& message,
                       const error_fields& fields) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  w.Key("success");
  w.Bool(false);
  put(w, "error", code);
  put(w, "message", message);
  if (fields.retry_after > 0) {
    w.Key("retryAfter");
    w.Uint(fields.retry_after);
  }
  if (!fields.sync_id.empty())
    put(w, "syncId", fields.sync_id);
  if (fields.list_sources) {
    w.Key("sources");
    w.StartArray();
    for (auto& x : fields.sources)
      w.String(x.data(), static_cast<rapidjson::SizeType>(x.size()));
    w.EndArray();
  }
  if (fields.not_ready) {
    put(w, "status", "not ready");
    put(w, "reason", message);
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string unknown_source_message(const std::string& name,
                                   const std::vector<std::string>& known) {
  auto list = join(known);
  return "no source named '" + name + "'; the sources are: "
         + (list.empty() ? "(none)" : list);
}

std::string history_json(const std::vector<sync_status>& syncs) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  w.Key("syncs");
  w.StartArray();
  for (auto& st : syncs)
    put_status(w, st);
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

} // namespace sheetsync
