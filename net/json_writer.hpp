#pragma once

#include <string>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace sheetsync {

// What the JSON renderers (status, sources, webhooks) share.

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

/// Writes `value` as a JSON string (with its length: it may hold NULs).
inline void put_string(json_writer& w, const std::string& value) {
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

/// Writes the member `key`: `value`.
inline void put(json_writer& w, const char* key, const std::string& value) {
  w.Key(key);
  put_string(w, value);
}

} // namespace sheetsync
