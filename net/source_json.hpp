#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <caf/timespan.hpp>

#include "messages/source_check.hpp"
#include "messages/source_info.hpp"
#include "sources/source_spec.hpp"

namespace sheetsync {

// The sources of the HTTP API as JSON (docs/http-api.md): what clients send
// to add, change or check a source, and what they get back. Nothing written
// here ever carries an API key.

/// What a source body is for; each takes the same fields with other rules.
enum class source_body {
  /// POST /api/sources: name and url or id required.
  create,
  /// POST /api/sources/check: url or id required, name optional.
  check,
  /// PATCH /api/sources/NAME: any field but name (or the same name).
  update,
};

/// A source body, read.
struct source_request {
  source_spec spec;
  /// The API names of the fields given, in the body's order ("url", "id",
  /// "gid", "access", "apiKey", "credentials", "interval", "tabs"); the
  /// coordinator changes only these on an update. "name" is never listed.
  std::vector<std::string> given;
};

/// The largest source body taken (a source is a few hundred bytes).
constexpr size_t max_source_body = 16 * 1024;

/// Reads a source body into `out`. Returns "" on success, else what is wrong,
/// naming the field (unknown fields, wrong types, a bad name or interval).
/// For an update, `name` is the source the path names.
std::string read_source_json(std::string_view body, source_body kind,
                             source_request& out, const std::string& name = "");

/// Parses an interval as the config file does: "15min", "1h", "90s"; "",
/// "0" and "manual" are 0 (only on demand). Returns "" or what is wrong.
std::string parse_interval(std::string_view text, caf::timespan& out);

/// Whether `name` may name a source: the --name rules (letters, digits, '_'
/// and '-', at most 64, starting with a letter or digit), and no "__" (tab
/// tables are `<source>__<tab>`).
bool valid_source_name(const std::string& name);

/// The rule valid_source_name checks, in words.
extern const char* const source_name_rule;

/// One source as GET /api/sources lists it: `{"name", "location", "access",
/// "intervalSeconds", "default", "running", "queued", "last", "fixed",
/// "definedIn", "gid", "tabs"?, "apiKey"?, "credentials"}`.
std::string to_json(const source_info& x, bool is_default);

/// The GET /api/sources answer: `{"sources": [...]}`; the first source is the
/// default one.
std::string to_json(const std::vector<source_info>& sources);

/// The POST /api/sources/check answer: `{"ok": true, "columns", "rows",
/// "tabs": [{"gid", "title"}], "access", "name"}` or `{"ok": false,
/// "message"}`.
std::string to_json(const source_check& x);

} // namespace sheetsync
