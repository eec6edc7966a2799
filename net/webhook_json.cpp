#include "net/webhook_json.hpp"

#include "net/json_writer.hpp"
#include "net/redact.hpp"
#include "net/status_json.hpp"

namespace sheetsync {

const char* webhook_event_of(sync_state x) {
  switch (x) {
    case sync_state::complete: return "sync.completed";
    case sync_state::error: return "sync.failed";
    case sync_state::cancelled: return "sync.cancelled";
    default: return "";
  }
}

std::string webhook_body(const std::string& type, int64_t now_ms,
                         const sync_status& st) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  put(w, "type", type);
  put(w, "timestamp", iso8601(now_ms));
  w.Key("data");
  // Spliced in as rendered: the data is byte for byte what the API answers.
  auto data = to_json(st);
  w.RawValue(data.data(), data.size(), rapidjson::kObjectType);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string deliveries_json(const std::vector<webhook_delivery>& xs) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  w.Key("deliveries");
  w.StartArray();
  for (auto& x : xs) {
    w.StartObject();
    put(w, "id", x.id);
    put(w, "event", x.event);
    put(w, "url", redact_url(x.url));
    put(w, "source", x.source);
    put(w, "syncId", x.sync_id);
    w.Key("attempts");
    w.Uint(x.attempts);
    put(w, "state", to_string(x.state));
    w.Key("lastStatus");
    if (x.last_status == 0)
      w.Null();
    else
      w.Uint(x.last_status);
    w.Key("lastError");
    if (x.last_error.empty())
      w.Null();
    else
      put_string(w, x.last_error);
    put(w, "createdAt", iso8601(x.created_ms));
    w.Key("nextAttemptAt");
    if (x.state != webhook_state::pending || x.next_attempt_ms == 0)
      w.Null();
    else
      put_string(w, iso8601(x.next_attempt_ms));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

} // namespace sheetsync
