#include "net/source_json.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include <caf/config_value.hpp>
#include <caf/expected.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "cli/time_span.hpp"
#include "net/join.hpp"
#include "net/json_writer.hpp"
#include "net/status_json.hpp"
#include "store/sheet_store.hpp"

namespace sheetsync {

const char* const source_name_rule
  = "use letters, digits, '_' and '-' (at most 64, starting with a letter or "
    "digit, no \"__\")";

namespace {

void put_strings(json_writer& w, const std::vector<std::string>& xs) {
  w.StartArray();
  for (auto& x : xs)
    w.String(x.data(), static_cast<rapidjson::SizeType>(x.size()));
  w.EndArray();
}

// -- reading --------------------------------------------------------------------

/// Every field a source body may have, in the order the API documents them.
const std::vector<std::string>& field_names() {
  static const std::vector<std::string> names{
    "name",        "url",      "id",  "gid", "access", "apiKey",
    "credentials", "interval", "tabs"};
  return names;
}

// Bounds on what one field may hold: a source body is small, and everything
// in it ends up in memory, in messages and in the cache's sources table.
constexpr size_t max_url = 2048;
constexpr size_t max_id = 200;
constexpr size_t max_secret = 512;
constexpr size_t max_path = 4096;
constexpr size_t max_tabs = 200;
// Google's limit for a tab's title.
constexpr size_t max_tab_title = 100;

std::string as_string(const rapidjson::Value& v) {
  return {v.GetString(), v.GetStringLength()};
}

bool has_scheme(const std::string& x, const char* scheme) {
  auto n = std::char_traits<char>::length(scheme);
  if (x.size() < n)
    return false;
  for (size_t i = 0; i < n; ++i)
    if (std::tolower(static_cast<unsigned char>(x[i])) != scheme[i])
      return false;
  return true;
}

/// How a message about a field starts ("interval: "), as the coordinator's
/// do: clients (the settings page) put it beside that field.
std::string q(const std::string& field) {
  return field + ":";
}

/// Reads one field into `spec`; "" or what is wrong.
std::string read_field(const std::string& key, const rapidjson::Value& v,
                       source_spec& spec) {
  auto want_string = [&](const char* example) {
    return q(key) + " must be a string, e.g. " + example;
  };
  if (key == "url") {
    if (!v.IsString())
      return want_string(
        "\"https://docs.google.com/spreadsheets/d/ID/edit#gid=0\"");
    auto url = as_string(v);
    if (url.empty())
      return q(key) + " is empty: paste the sheet's link";
    if (url.size() > max_url)
      return q(key) + " is longer than " + std::to_string(max_url)
             + " characters";
    // Only web addresses: a file:// URL would let an API client read the
    // server's files through the cache.
    if (!has_scheme(url, "https://") && !has_scheme(url, "http://"))
      return q(key) + " must start with https:// (or http://); for a bare "
                      "spreadsheet id use \"id\"";
    spec.location = std::move(url);
  } else if (key == "id") {
    if (!v.IsString())
      return want_string("\"1AbC...\" (the part after /d/ in the link)");
    auto id = as_string(v);
    auto ok = !id.empty() && id.size() <= max_id
              && std::all_of(id.begin(), id.end(), [](char c) {
                   return std::isalnum(static_cast<unsigned char>(c)) || c == '-'
                          || c == '_';
                 });
    if (!ok)
      return q(key) + " must be a spreadsheet id: letters, digits, '-' and "
                      "'_' (the part after /d/ in the sheet's link)";
    spec.location = std::move(id);
  } else if (key == "gid") {
    std::string gid;
    if (v.IsUint64())
      gid = std::to_string(v.GetUint64());
    else if (v.IsString())
      gid = as_string(v);
    else if (!v.IsNull())
      return q(key) + " must be a tab id: digits, e.g. \"0\"";
    if (gid.size() > 20
        || !std::all_of(gid.begin(), gid.end(), [](char c) {
             return c >= '0' && c <= '9';
           }))
      return q(key) + " must be a tab id: digits, e.g. \"0\"";
    spec.gid = std::move(gid);
  } else if (key == "access") {
    if (v.IsNull()) {
      spec.access = access_mode::automatic;
      return {};
    }
    if (!v.IsString() || !from_string(as_string(v), spec.access))
      return q(key) + " must be \"auto\", \"export\" or \"api\"";
  } else if (key == "apiKey") {
    if (v.IsNull()) {
      spec.api_key.clear();
      return {};
    }
    if (!v.IsString())
      return q(key) + " must be a string (a Sheets API key)";
    if (v.GetStringLength() > max_secret)
      return q(key) + " is longer than " + std::to_string(max_secret)
             + " characters";
    spec.api_key = as_string(v);
  } else if (key == "credentials") {
    if (v.IsNull()) {
      spec.credentials.clear();
      return {};
    }
    if (!v.IsString())
      return q(key) + " must be a string: the path of a credentials file on "
                      "the server";
    if (v.GetStringLength() > max_path)
      return q(key) + " is longer than " + std::to_string(max_path)
             + " characters";
    spec.credentials = as_string(v);
  } else if (key == "interval") {
    if (v.IsNull()) {
      spec.interval = caf::timespan{0};
      return {};
    }
    if (!v.IsString())
      return q(key) + " must be a string: a time span like \"15min\" or "
                      "\"1h\", or \"manual\"";
    if (auto err = parse_interval(as_string(v), spec.interval); !err.empty())
      return q(key) + " " + err;
  } else if (key == "tabs") {
    spec.tabs.clear();
    spec.all_tabs = false;
    if (v.IsNull())
      return {};
    if (v.IsString() && as_string(v) == "all") {
      spec.all_tabs = true;
      return {};
    }
    auto want = q(key) + " must be \"all\" or a list of tab titles, e.g. "
                         "[\"Orders\", \"Returns\"]";
    if (!v.IsArray())
      return want;
    if (v.Size() > max_tabs)
      return q(key) + " lists more than " + std::to_string(max_tabs) + " tabs";
    for (auto& x : v.GetArray()) {
      if (!x.IsString() || x.GetStringLength() == 0)
        return want;
      auto title = as_string(x);
      if (title.size() > max_tab_title * 4) // UTF-8: up to 4 bytes each
        return q(key) + " a tab title is at most "
               + std::to_string(max_tab_title) + " characters";
      if (std::find(spec.tabs.begin(), spec.tabs.end(), title)
          != spec.tabs.end())
        return q(key) + " lists the tab \"" + title + "\" twice";
      spec.tabs.push_back(std::move(title));
    }
  }
  return {};
}

} // namespace

bool valid_source_name(const std::string& name) {
  return sheet_store::valid_table_name(name)
         && name.find("__") == std::string::npos;
}

std::string parse_interval(std::string_view text, caf::timespan& out) {
  if (text.empty() || text == "manual" || text == "0") {
    out = caf::timespan{0};
    return {};
  }
  auto shown = "\"" + std::string{text.substr(0, 40)} + "\"";
  auto usage = "use a time span like \"15min\", \"1h\" or \"90s\" (units: "
               "s, min, h), or \"manual\"";
  if (auto why = too_long_time_span(text); !why.empty())
    return shown + " is too long: " + why;
  // As the config file reads it (CAF's time spans), so that "15min" means
  // the same everywhere.
  auto parsed = caf::config_value::parse(
    caf::string_view{text.data(), text.size()});
  if (!parsed || !caf::holds_alternative<caf::timespan>(*parsed))
    return shown + " is not a time span; " + usage;
  auto span = caf::get<caf::timespan>(*parsed);
  if (span < caf::timespan{0})
    return shown + " must not be negative";
  if (span > caf::timespan{0} && span < std::chrono::seconds{1})
    return shown + " is too short: at least 1s (or \"manual\")";
  out = span;
  return {};
}

std::string read_source_json(std::string_view body, source_body kind,
                             source_request& out, const std::string& name) {
  auto example = "e.g. {\"name\": \"sales\", \"url\": "
                 "\"https://docs.google.com/spreadsheets/d/ID/edit\"}";
  if (body.size() > max_source_body)
    return "the body exceeds " + std::to_string(max_source_body / 1024)
           + " KiB";
  rapidjson::Document doc;
  // Iterative: a body nested 65,000 levels deep must not exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject())
    return std::string{"the body must be a JSON object, "} + example;
  auto& fields = field_names();
  std::vector<std::string> seen;
  for (auto& m : doc.GetObject()) {
    auto key = as_string(m.name);
    if (std::find(fields.begin(), fields.end(), key) == fields.end()) {
      // Only a short, printable prefix of the unknown name goes back.
      std::string shown;
      for (auto c : key.substr(0, 40))
        shown += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
      return "unknown field \"" + shown + "\"; the fields are: "
             + join(fields, ", ");
    }
    if (std::find(seen.begin(), seen.end(), key) != seen.end())
      return q(key) + " is given twice";
    seen.push_back(key);
    if (key == "name") {
      if (!m.value.IsString()) {
        if (m.value.IsNull() && kind == source_body::check)
          continue;
        return q(key) + " must be a string, e.g. \"sales\"";
      }
      auto given = as_string(m.value);
      if (kind == source_body::update) {
        if (given != name)
          return q(key) + " cannot be changed: add a source with the new "
                          "name and remove this one";
        continue;
      }
      if (given.empty() && kind == source_body::check)
        continue;
      if (!valid_source_name(given))
        return q(key) + " not a valid source name: " + source_name_rule;
      if (given == "check")
        return q(key) + " \"check\" is taken by POST /api/sources/check; "
                        "choose another name";
      out.spec.name = std::move(given);
      continue;
    }
    if (auto err = read_field(key, m.value, out.spec); !err.empty())
      return err;
    out.given.push_back(key);
  }
  auto has = [&](const char* key) {
    return std::find(seen.begin(), seen.end(), key) != seen.end();
  };
  if (has("url") && has("id"))
    return "url: give either \"url\" or \"id\", not both";
  if (kind == source_body::update) {
    out.spec.name = name;
    return {};
  }
  if (kind == source_body::create && out.spec.name.empty())
    return std::string{"name: missing: "} + source_name_rule;
  if (out.spec.location.empty())
    return std::string{"url: missing (or \"id\"): paste the sheet's link as "
                       "\"url\", "}
           + example;
  return {};
}

// -- writing --------------------------------------------------------------------

std::string to_json(const source_info& src, bool is_default) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  put(w, "name", src.name);
  put(w, "location", src.location);
  put(w, "access", src.access);
  w.Key("intervalSeconds");
  if (src.interval_ms <= 0)
    w.Null();
  else if (src.interval_ms % 1000 == 0)
    w.Int64(src.interval_ms / 1000);
  else
    w.Double(static_cast<double>(src.interval_ms) / 1000.0);
  w.Key("default");
  w.Bool(is_default);
  w.Key("running");
  if (src.running_id.empty())
    w.Null();
  else
    w.String(src.running_id.data(),
             static_cast<rapidjson::SizeType>(src.running_id.size()));
  w.Key("queued");
  w.Bool(src.queued);
  w.Key("last");
  if (src.last.id.empty()) {
    w.Null();
  } else {
    auto last = src.last;
    if (last.source.empty())
      last.source = src.name;
    auto json = sheetsync::to_json(last);
    w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  }
  w.Key("fixed");
  w.Bool(src.fixed);
  w.Key("definedIn");
  if (src.defined_in.empty())
    w.Null();
  else
    w.String(src.defined_in.data(),
             static_cast<rapidjson::SizeType>(src.defined_in.size()));
  put(w, "gid", src.gid);
  if (src.all_tabs) {
    put(w, "tabs", "all");
  } else if (!src.tabs.empty()) {
    w.Key("tabs");
    put_strings(w, src.tabs);
  }
  // Never the key: only whether there is one.
  if (src.has_api_key)
    put(w, "apiKey", "***");
  w.Key("credentials");
  if (src.credentials.empty())
    w.Null();
  else
    w.String(src.credentials.data(),
             static_cast<rapidjson::SizeType>(src.credentials.size()));
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string to_json(const std::vector<source_info>& sources) {
  std::string out = "{\"sources\":[";
  bool first = true;
  for (auto& src : sources) {
    if (!first)
      out += ',';
    out += to_json(src, first);
    first = false;
  }
  out += "]}";
  return out;
}

std::string to_json(const source_check& x) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  w.Key("ok");
  w.Bool(x.ok);
  if (!x.ok) {
    put(w, "message", x.message);
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
  }
  w.Key("columns");
  put_strings(w, x.columns);
  w.Key("rows");
  w.StartArray();
  for (auto& row : x.rows)
    put_strings(w, row);
  w.EndArray();
  w.Key("tabs");
  w.StartArray();
  for (auto& tab : x.tabs) {
    w.StartObject();
    put(w, "gid", tab.gid);
    put(w, "title", tab.title);
    w.EndObject();
  }
  w.EndArray();
  put(w, "access", x.access);
  put(w, "name", x.name);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

} // namespace sheetsync
