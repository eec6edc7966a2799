#include "sources/sheet_values.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "net/redact.hpp"

namespace sheetsync {

namespace {

constexpr const char* not_understood
  = "the Sheets API answer was not understood: ";

bool needs_quotes(std::string_view cell) {
  for (auto c : cell)
    if (c == ',' || c == '"' || c == '\r' || c == '\n')
      return true;
  return false;
}

/// SAX handler for values.get: validates the shape and, in the measuring
/// pass, finds the widest row and the output size; in the writing pass,
/// writes the CSV.
class values_handler
  : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, values_handler> {
public:
  /// Where the handler stands in the document.
  enum class state : uint8_t {
    /// Before the root object.
    start,
    /// In the root object, between members.
    root,
    /// Inside a member's value that does not matter (depth in skip_depth_).
    skip,
    /// After the "majorDimension" key.
    major,
    /// After the "values" key.
    values_start,
    /// In the values array, between rows.
    values,
    /// In a row.
    row,
    /// After the root object.
    done,
  };

  values_handler(std::string* out, size_t width) : out_(out), width_(width) {
    // nop
  }

  // -- SAX callbacks ----------------------------------------------------------

  bool Null() {
    return scalar("", false);
  }

  bool Bool(bool x) {
    // As Sheets shows them (and exports them).
    return x ? scalar("TRUE", false) : scalar("FALSE", false);
  }

  bool RawNumber(const char* str, rapidjson::SizeType len, bool) {
    return scalar(std::string_view{str, len}, false);
  }

  bool String(const char* str, rapidjson::SizeType len, bool) {
    return scalar(std::string_view{str, len}, true);
  }

  bool Key(const char* str, rapidjson::SizeType len, bool) {
    if (state_ != state::root)
      return true; // a key inside a skipped object
    std::string_view key{str, len};
    if (key == "values") {
      if (seen_values_)
        return bad("\"values\" appears twice");
      seen_values_ = true;
      state_ = state::values_start;
    } else if (key == "majorDimension") {
      state_ = state::major;
    } else {
      state_ = state::skip;
      skip_depth_ = 0;
    }
    return true;
  }

  bool StartObject() {
    switch (state_) {
      case state::start:
        state_ = state::root;
        return true;
      case state::skip:
        ++skip_depth_;
        return true;
      case state::row:
        return bad("a cell in row " + std::to_string(rows_ + 1)
                   + " is an object, not a value");
      case state::values:
        return bad("row " + std::to_string(rows_ + 1) + " is not an array");
      default:
        return bad("unexpected object");
    }
  }

  bool EndObject(rapidjson::SizeType) {
    if (state_ == state::root) {
      state_ = state::done;
      return true;
    }
    return end_nested();
  }

  bool StartArray() {
    switch (state_) {
      case state::skip:
        ++skip_depth_;
        return true;
      case state::values_start:
        state_ = state::values;
        return true;
      case state::values:
        state_ = state::row;
        cols_ = 0;
        return true;
      case state::row:
        return bad("a cell in row " + std::to_string(rows_ + 1)
                   + " is an array, not a value");
      case state::start:
        return bad("the answer is an array, not an object");
      default:
        return bad("\"majorDimension\" is not a string");
    }
  }

  bool EndArray(rapidjson::SizeType) {
    switch (state_) {
      case state::values:
        state_ = state::root;
        return true;
      case state::row:
        end_row();
        state_ = state::values;
        return true;
      default:
        return end_nested();
    }
  }

  // -- results ----------------------------------------------------------------

  const std::string& error() const {
    return error_;
  }

  size_t max_width() const {
    return max_width_;
  }

  size_t rows() const {
    return rows_;
  }

  /// Bytes of all cells, quotes and escapes included (no separators).
  size_t cell_bytes() const {
    return cell_bytes_;
  }

  /// Writes a row without cells, as an empty row of the answer.
  void empty_row() {
    end_row();
  }

private:
  bool bad(std::string what) {
    if (error_.empty())
      error_ = std::move(what);
    return false;
  }

  bool end_nested() {
    if (state_ != state::skip || skip_depth_ == 0)
      return bad("unbalanced document");
    if (--skip_depth_ == 0)
      state_ = state::root;
    return true;
  }

  bool scalar(std::string_view text, bool is_string) {
    switch (state_) {
      case state::row:
        cell(text);
        return true;
      case state::skip:
        if (skip_depth_ == 0)
          state_ = state::root;
        return true;
      case state::major:
        if (!is_string || text != "ROWS")
          return bad("\"majorDimension\" is \"" + std::string{text.substr(0, 20)}
                     + "\", not \"ROWS\"");
        state_ = state::root;
        return true;
      case state::values_start:
        return bad("\"values\" is not an array");
      case state::values:
        return bad("row " + std::to_string(rows_ + 1) + " is not an array");
      default:
        return bad("the answer is not a JSON object");
    }
  }

  void cell(std::string_view text) {
    auto quote = needs_quotes(text);
    if (out_ == nullptr) {
      cell_bytes_ += text.size();
      if (quote) {
        cell_bytes_ += 2;
        for (auto c : text)
          if (c == '"')
            ++cell_bytes_;
      }
    } else {
      if (cols_ > 0)
        *out_ += ',';
      if (!quote) {
        out_->append(text.data(), text.size());
      } else {
        *out_ += '"';
        size_t pos = 0;
        while (pos < text.size()) {
          auto q = text.find('"', pos);
          if (q == std::string_view::npos) {
            out_->append(text.data() + pos, text.size() - pos);
            break;
          }
          // Up to and including the quote, then the quote again.
          out_->append(text.data() + pos, q + 1 - pos);
          *out_ += '"';
          pos = q + 1;
        }
        *out_ += '"';
      }
    }
    ++cols_;
  }

  void end_row() {
    if (out_ == nullptr) {
      if (cols_ > max_width_)
        max_width_ = cols_;
    } else {
      // width_ - 1 separators in all; a padded cell is empty.
      auto written = cols_ == 0 ? 0 : cols_ - 1;
      out_->append(width_ - 1 - written, ',');
      out_->append("\r\n");
    }
    ++rows_;
  }

  // -- configuration ----------------------------------------------------------
  /// Where to write; null in the measuring pass.
  std::string* out_;
  /// The widest row (writing pass).
  size_t width_;

  // -- state ------------------------------------------------------------------
  state state_ = state::start;
  size_t skip_depth_ = 0;
  bool seen_values_ = false;
  size_t cols_ = 0;
  size_t rows_ = 0;
  size_t max_width_ = 0;
  size_t cell_bytes_ = 0;
  std::string error_;
};

constexpr unsigned values_parse_flags = rapidjson::kParseNumbersAsStringsFlag
                                        | rapidjson::kParseIterativeFlag;

/// Runs one SAX pass; false with `err` set on failure.
bool run_pass(const std::string& json, values_handler& handler, failure& err) {
  rapidjson::MemoryStream in{json.data(), json.size()};
  rapidjson::Reader reader;
  auto res = reader.Parse<values_parse_flags>(in, handler);
  if (!res) {
    std::string what = !handler.error().empty()
                         ? handler.error()
                         : std::string{rapidjson::GetParseError_En(res.Code())};
    err = failure{ec::invalid_csv,
                  not_understood + what + " (at byte "
                    + std::to_string(res.Offset()) + ")"};
    return false;
  }
  return true;
}

/// Makes `text` one line of at most `max` bytes (cut at a UTF-8 boundary).
std::string one_line(std::string text, size_t max) {
  for (auto& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
      c = ' ';
  if (text.size() > max) {
    auto cut = max - 3;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
      --cut;
    text.resize(cut);
    text += "...";
  }
  return text;
}

/// Replaces every occurrence of `secret` in `text` with "***".
void scrub(std::string& text, const std::string& secret) {
  if (secret.empty())
    return;
  for (auto pos = text.find(secret); pos != std::string::npos;
       pos = text.find(secret, pos + 3))
    text.replace(pos, secret.size(), "***");
}

} // namespace

bool values_to_csv(const std::string& json, std::string& csv, failure& err,
                   size_t* rows, size_t blank_before) {
  csv.clear();
  values_handler measure{nullptr, 0};
  if (!run_pass(json, measure, err))
    return false;
  if (rows != nullptr)
    *rows = measure.rows();
  auto width = measure.max_width();
  if (width == 0)
    return true; // no values, or only empty rows: an empty sheet
  csv.reserve(measure.cell_bytes()
              + (blank_before + measure.rows()) * (width - 1 + 2));
  values_handler write{&csv, width};
  for (size_t i = 0; i < blank_before; ++i)
    write.empty_row();
  if (!run_pass(json, write, err)) {
    csv.clear();
    return false;
  }
  return true;
}

bool more_row_ranges(uint64_t first, uint64_t batch, uint64_t rows,
                     uint64_t row_count) {
  if (batch == 0)
    return false;
  if (row_count > 0)
    return first + batch <= row_count;
  return rows >= batch;
}

bool sheet_tabs(const std::string& json, std::vector<sheet_tab>& out,
                failure& err, const std::string& spreadsheet_id) {
  out.clear();
  auto in_sheet = spreadsheet_id.empty() ? std::string{"the spreadsheet"}
                                         : "spreadsheet " + spreadsheet_id;
  rapidjson::Document doc;
  // Iterative: a deeply nested answer must not exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError()) {
    err = failure{ec::invalid_csv,
                  std::string{not_understood}
                    + rapidjson::GetParseError_En(doc.GetParseError())
                    + " (at byte " + std::to_string(doc.GetErrorOffset())
                    + ")"};
    return false;
  }
  if (!doc.IsObject()) {
    err = failure{ec::invalid_csv,
                  std::string{not_understood} + "the answer is not an object"};
    return false;
  }
  auto sheets = doc.FindMember("sheets");
  if (sheets == doc.MemberEnd() || !sheets->value.IsArray()
      || sheets->value.Empty()) {
    err = failure{ec::invalid_csv,
                  std::string{not_understood} + "no tabs listed for " + in_sheet};
    return false;
  }
  for (auto& sheet : sheets->value.GetArray()) {
    if (!sheet.IsObject()) {
      err = failure{ec::invalid_csv,
                    std::string{not_understood} + "a tab is not an object"};
      return false;
    }
    auto props = sheet.FindMember("properties");
    if (props == sheet.MemberEnd() || !props->value.IsObject()) {
      err = failure{ec::invalid_csv,
                    std::string{not_understood} + "a tab has no properties"};
      return false;
    }
    auto t = props->value.FindMember("title");
    if (t == props->value.MemberEnd() || !t->value.IsString()) {
      err = failure{ec::invalid_csv,
                    std::string{not_understood} + "a tab has no title"};
      return false;
    }
    // Google's JSON may leave out fields at their default: no sheetId is 0.
    std::string id = "0";
    auto sid = props->value.FindMember("sheetId");
    if (sid != props->value.MemberEnd()) {
      if (sid->value.IsUint64())
        id = std::to_string(sid->value.GetUint64());
      else if (sid->value.IsInt64())
        id = std::to_string(sid->value.GetInt64());
      else {
        err = failure{ec::invalid_csv,
                      std::string{not_understood} + "a tab's sheetId is not a "
                                                    "number"};
        return false;
      }
    }
    // Absent (0) when the fields asked for leave it out.
    uint64_t row_count = 0;
    auto grid = props->value.FindMember("gridProperties");
    if (grid != props->value.MemberEnd() && grid->value.IsObject()) {
      auto rc = grid->value.FindMember("rowCount");
      if (rc != grid->value.MemberEnd() && rc->value.IsUint64())
        row_count = rc->value.GetUint64();
    }
    out.push_back({std::move(id),
                   std::string{t->value.GetString(), t->value.GetStringLength()},
                   row_count});
  }
  return true;
}

namespace {

/// "0 'Sheet1', 7 'Q1', ..." (at most 10), for messages.
std::string list_tabs(const std::vector<sheet_tab>& tabs) {
  std::string result;
  for (size_t i = 0; i < tabs.size() && i <= 10; ++i) {
    result += i == 0 ? "" : ", ";
    if (i == 10)
      result += "...";
    else
      result += tabs[i].gid + " '" + one_line(tabs[i].title, 60) + "'";
  }
  return result;
}

} // namespace

bool tab_title_for_gid(const std::string& json, const std::string& gid,
                       std::string& title, failure& err,
                       const std::string& spreadsheet_id, uint64_t* row_count) {
  auto in_sheet = spreadsheet_id.empty() ? std::string{"the spreadsheet"}
                                         : "spreadsheet " + spreadsheet_id;
  std::string want;
  if (!gid.empty() && !normal_gid(gid, want)) {
    err = failure{ec::invalid_argument,
                  "the gid \"" + one_line(gid, 40)
                    + "\" is not a number: the gid is the number after #gid= "
                      "in the sheet's browser URL"};
    return false;
  }
  std::vector<sheet_tab> tabs;
  if (!sheet_tabs(json, tabs, err, spreadsheet_id))
    return false;
  for (auto& tab : tabs) {
    if (want.empty() || tab.gid == want) {
      title = tab.title;
      if (row_count != nullptr)
        *row_count = tab.row_count;
      return true;
    }
  }
  err = failure{ec::invalid_argument,
                "no tab with gid " + want + " in " + in_sheet
                  + "; check the gid (the number after #gid= in the tab's "
                    "browser URL); the tabs are: "
                  + list_tabs(tabs)};
  return false;
}

bool select_tabs(const std::vector<sheet_tab>& tabs, bool all,
                 const std::vector<std::string>& wanted,
                 std::vector<std::string>& titles, failure& err,
                 const std::string& spreadsheet_id) {
  titles.clear();
  if (all) {
    for (auto& tab : tabs)
      titles.push_back(tab.title);
    return true;
  }
  for (auto& want : wanted) {
    auto i = std::find_if(tabs.begin(), tabs.end(),
                          [&](const sheet_tab& t) { return t.title == want; });
    if (i == tabs.end()) {
      auto in_sheet = spreadsheet_id.empty()
                        ? std::string{"the spreadsheet"}
                        : "spreadsheet " + spreadsheet_id;
      err = failure{ec::invalid_argument,
                    "no tab titled '" + one_line(want, 60) + "' in " + in_sheet
                      + "; check the tabs setting (titles are exact, case "
                        "included); the tabs are: "
                      + list_tabs(tabs)};
      return false;
    }
    if (std::find(titles.begin(), titles.end(), want) == titles.end())
      titles.push_back(want);
  }
  return true;
}

std::string google_error_detail(const std::string& body) {
  // A JSON error body is small; anything else is not one.
  size_t first = 0;
  while (first < body.size()
         && std::isspace(static_cast<unsigned char>(body[first])))
    ++first;
  if (first == body.size() || body[first] != '{' || body.size() > (1u << 20))
    return "";
  rapidjson::Document doc;
  // Iterative: any server can send a deeply nested body (up to 1 MiB).
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject())
    return "";
  auto e = doc.FindMember("error");
  if (e == doc.MemberEnd())
    return "";
  auto str = [](const rapidjson::Value& obj, const char* name) -> std::string {
    auto i = obj.FindMember(name);
    if (i == obj.MemberEnd() || !i->value.IsString())
      return "";
    return {i->value.GetString(), i->value.GetStringLength()};
  };
  std::string status;
  std::string message;
  if (e->value.IsObject()) {
    // {"error": {"code": 403, "message": "...", "status": "PERMISSION_DENIED"}}
    status = str(e->value, "status");
    message = str(e->value, "message");
  } else if (e->value.IsString()) {
    // OAuth: {"error": "invalid_grant", "error_description": "..."}
    status.assign(e->value.GetString(), e->value.GetStringLength());
    message = str(doc, "error_description");
  } else {
    return "";
  }
  std::string out;
  if (!status.empty() && !message.empty())
    out = status + ": " + message;
  else
    out = status + message;
  return one_line(std::move(out), 300);
}

std::string http_failure_message(uint16_t status, const fetch_plan& plan,
                                 const std::string& client_email,
                                 const std::string& body) {
  auto code = std::to_string(status);
  bool google = plan.kind != source_kind::url;
  bool api = plan.format == body_format::sheet_values;
  auto what = google ? plan.description
                     : (plan.description.empty() ? redact_url(plan.url)
                                                 : plan.description);
  auto gid_text = plan.gid.empty() ? std::string{"the gid (none given: the "
                                                 "first tab)"}
                                   : "the gid " + plan.gid;
  std::string text;
  switch (status) {
    case 401:
      if (!google)
        text = "the server wants credentials (HTTP 401) for " + what
               + ": sheetsync sends none to other hosts than Google; give a "
                 "URL that needs no sign-in";
      else if (plan.needs_token)
        text = "Google rejected the credentials' token (HTTP 401) for "
               + what
               + ": check the credentials file (the key or refresh token may "
                 "be revoked, or the account disabled)";
      else if (!plan.api_key.empty())
        text = "Google rejected the API key (HTTP 401) for " + what
               + ": check --api-key and that the Sheets API is enabled for "
                 "its project";
      else
        text = "Google wants credentials (HTTP 401) for " + what
               + ": make the sheet viewable by anyone with the link, or use "
                 "a service account (--credentials) the sheet is shared with";
      break;
    case 403:
      if (!google)
        text = "the server refused access (HTTP 403) to " + what
               + ": check the URL and that it is public";
      else if (!client_email.empty())
        text = "Google refused access (HTTP 403) to " + what
               + ": share the sheet with the service account's e-mail "
                 "address "
               + client_email + " (Viewer is enough)";
      else if (plan.needs_token)
        // An authorized user's file does not say which account it is.
        text = "Google refused access (HTTP 403) to " + what
               + ": share the sheet with the Google account of the "
                 "credentials (the one signed in with gcloud auth "
                 "application-default login; Viewer is enough)";
      else if (!plan.api_key.empty())
        text = "Google refused access (HTTP 403) to " + what
               + ": an API key only reads sheets that anyone with the link "
                 "can view: make the sheet viewable by link (Share > General "
                 "access), or use a service account (--credentials) and share "
                 "the sheet with its e-mail address";
      else
        text = "Google refused access (HTTP 403) to " + what
               + ": make the sheet viewable by anyone with the link (Share > "
                 "General access), or use a service account (--credentials) "
                 "and share the sheet with its e-mail address";
      break;
    case 404:
      if (plan.kind == source_kind::spreadsheet)
        text = "Google found no such sheet (HTTP 404): " + what
               + ": check the spreadsheet id " + plan.spreadsheet_id + " and "
               + gid_text;
      else if (plan.kind == source_kind::published)
        text = "Google found no such published sheet (HTTP 404): " + what
               + ": check the publish key " + plan.publish_key + " and "
               + gid_text
               + ", and that the sheet is still published to the web";
      else
        text = "the server found nothing (HTTP 404) at " + what
               + ": check the URL";
      break;
    case 400:
      if (api)
        text = "Google rejected the request (HTTP 400) for " + what
               + ": check the range"
               + (plan.range.empty() ? std::string{} : " " + plan.range)
               + " and " + gid_text;
      else
        text = (google ? "Google" : "the server")
               + std::string{" rejected the request (HTTP 400) for "} + what;
      break;
    case 429:
      text = (google ? std::string{"Google rate-limited the requests"}
                     : std::string{"the server rate-limited the requests"})
             + " (HTTP 429) for " + what
             + (api ? ": the Sheets API allows 60 reads per minute per user "
                      "and 300 per project; sync less often or retry later"
                    : ": sync less often or retry later");
      break;
    default:
      if (status >= 500 && status < 600)
        text = (google ? std::string{"Google failed"}
                       : std::string{"the server failed"})
               + " (HTTP " + code + ") for " + what
               + ": this is usually temporary; retry later";
      else
        text = (google ? std::string{"Google answered HTTP "}
                       : std::string{"the server answered HTTP "})
               + code + " for " + what;
  }
  auto detail = google_error_detail(body);
  if (!detail.empty())
    text += " (" + std::string{google ? "Google" : "the server"}
            + " says: " + detail + ")";
  scrub(text, plan.api_key);
  return text;
}

} // namespace sheetsync
