#include "sources/sheet_preview.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <limits>
#include <vector>

#include <rapidjson/document.h>

#include "net/curl_transfer.hpp"
#include "net/redact.hpp"
#include "net/text.hpp"
#include "parse/csv_parser.hpp"
#include "sources/sheet_values.hpp"
#include "store/sheet_store.hpp"
#include "store/tab_tables.hpp"

namespace sheetsync {

namespace {

using clock_type = std::chrono::steady_clock;

/// Longest name proposed: room for a tab's suffix in the cache's 64.
constexpr size_t max_name_size = 40;

/// One request of a check.
struct request {
  std::string url;
  /// Headers (the bearer token: a secret).
  std::vector<std::string> headers;
  /// CSV: refuse HTML, read only until `enough` says so. JSON: read whole,
  /// at most the byte cap.
  bool csv = false;
  /// Called with the body so far (CSV only); true = stop reading.
  std::function<bool(const std::string&)> enough;
};

/// Runs one request to its end (or until it has enough), within the check's
/// deadline; `complete` tells which. False with `err` (the transfer's
/// failure, as the downloader gets it) when it fails.
bool fetch(const request& req, const preview_limits& limits,
           clock_type::time_point deadline,
           const std::shared_ptr<std::atomic<bool>>& cancel, std::string& body,
           bool& complete, failure& err) {
  complete = false;
  transfer_options opts;
  opts.url = req.url;
  opts.headers = req.headers;
  opts.expect_csv = req.csv;
  opts.fetch_timeout = limits.fetch_timeout;
  opts.connect_timeout = std::min(opts.connect_timeout, limits.fetch_timeout);
  // A CSV is cut short here, not refused: a large sheet still has a header.
  opts.max_bytes = req.csv ? std::numeric_limits<uint64_t>::max() : limits.max_bytes;
  opts.step_return_bytes = 64 * 1024;
  curl_transfer t{opts, cancel};
  for (;;) {
    auto st = t.step(std::chrono::milliseconds{50});
    t.take(body);
    if (st == curl_transfer::state::failed) {
      err = t.error();
      return false;
    }
    if (st == curl_transfer::state::done) {
      complete = true;
      return true;
    }
    if (req.csv && (body.size() >= limits.max_bytes || (req.enough && req.enough(body))))
      return true; // the transfer ends with `t`
    if (clock_type::now() >= deadline) {
      err = failure{ec::download_failed,
                    "no complete answer within "
                      + std::to_string(limits.max_time.count() / 1000)
                      + " s from " + redact_url(req.url)};
      return false;
    }
  }
}

/// The check's answer for a failure: Google's status codes explained as the
/// downloader explains them.
source_check failed(const fetch_plan& plan, const std::string& client_email,
                    const failure& err) {
  source_check result;
  result.ok = false;
  result.message = err.code == ec::http_status && !plan.spreadsheet_id.empty()
                     ? http_failure_message(err.http_status, plan, client_email, "")
                     : err.text;
  return result;
}

/// The tabs (sheet_tabs) and title in a spreadsheets.get answer (already
/// checked to be understood by tab_title_for_gid).
void read_metadata(const std::string& json, source_check& out, std::string& title) {
  std::vector<sheet_tab> tabs;
  failure ignored;
  if (sheet_tabs(json, tabs, ignored))
    for (auto& tab : tabs)
      out.tabs.push_back(tab_info{tab.gid, tab.title});
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject())
    return;
  if (auto p = doc.FindMember("properties"); p != doc.MemberEnd() && p->value.IsObject())
    if (auto t = p->value.FindMember("title");
        t != p->value.MemberEnd() && t->value.IsString())
      title.assign(t->value.GetString(), t->value.GetStringLength());
}

/// The columns and first rows of CSV text the parser has been fed; `done` =
/// the whole body was fed (else a row cut at the end is left out).
bool take_rows(csv_parser& parser, bool done, size_t rows, source_check& out,
               failure& err) {
  if (done && !parser.finish()) {
    err = parser.error();
    return false;
  }
  if (parser.columns().empty()) {
    err = failure{ec::empty_sheet, "no complete header row in the first bytes of the sheet"};
    return false;
  }
  out.columns = parser.columns();
  for (auto& batch : parser.take_batches())
    for (size_t r = 0; r < batch.rows() && out.rows.size() < rows; ++r) {
      std::vector<std::string> row;
      row.reserve(out.columns.size());
      for (size_t c = 0; c < batch.columns.size(); ++c)
        row.emplace_back(batch.cell(r, c));
      // Later rows may have widened the header: pad to it.
      row.resize(out.columns.size());
      out.rows.push_back(std::move(row));
    }
  return true;
}

/// The last path segment of a URL, percent-decoded, without its extension
/// ("" if none).
std::string file_name_of(const std::string& url) {
  auto end = url.find_first_of("?#");
  auto path = url.substr(0, end);
  auto slash = path.rfind('/');
  auto segment = slash == std::string::npos ? path : path.substr(slash + 1);
  auto hex = [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  };
  std::string name;
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] == '%' && i + 2 < segment.size() && hex(segment[i + 1])
        && hex(segment[i + 2])) {
      name += static_cast<char>(std::stoi(segment.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      name += segment[i];
    }
  }
  if (auto dot = name.rfind('.'); dot != std::string::npos && dot > 0)
    name.erase(dot);
  return name;
}

/// slug_of(text), at most `max` characters and without '_' left at the cut.
std::string slug(const std::string& text, size_t max) {
  auto out = slug_of(text).substr(0, max);
  while (!out.empty() && out.back() == '_')
    out.pop_back();
  return out;
}

} // namespace

std::string proposed_source_name(const fetch_plan& plan, const std::string& title) {
  std::string name = slug(title, max_name_size);
  if (name.empty() && plan.kind == source_kind::url)
    name = slug(file_name_of(plan.url), max_name_size);
  if (name.empty()) {
    // The start of the id, after "2PACX-" in a publish key.
    auto id = plan.kind == source_kind::published ? plan.publish_key.substr(
                plan.publish_key.find('-') == std::string::npos
                  ? 0
                  : plan.publish_key.find('-') + 1)
                                                  : plan.spreadsheet_id;
    auto part = slug(id.substr(0, 8), 8);
    name = part.empty() ? std::string{"sheet"} : "sheet_" + part;
  }
  // A name the cache reserves (sync_runs, sqlite_...) becomes another.
  if (!sheet_store::valid_table_name(name))
    name = "sheet_" + name.substr(0, max_name_size - 6);
  if (!sheet_store::valid_table_name(name))
    name = "sheet";
  return name;
}

source_check preview_source(const fetch_plan& plan, const std::string& bearer,
                            const std::string& client_email,
                            const preview_limits& limits,
                            std::shared_ptr<std::atomic<bool>> cancel) {
  auto deadline = clock_type::now() + limits.max_time;
  std::vector<std::string> headers;
  if (plan.needs_token)
    headers.push_back("Authorization: Bearer " + bearer);
  source_check result;
  failure err;
  std::string title;
  if (plan.format == body_format::sheet_values) {
    result.access = "api";
    // The tab list and title, whatever the plan reads: Google lists tabs
    // only here.
    request meta;
    meta.url = plan.api_base + "/v4/spreadsheets/" + plan.spreadsheet_id
               + "?fields=spreadsheetId,properties.title,sheets.properties(sheetId,title)";
    if (!plan.api_key.empty())
      meta.url += "&key=" + percent_encode(plan.api_key);
    meta.headers = headers;
    std::string json;
    bool complete = false;
    if (!fetch(meta, limits, deadline, cancel, json, complete, err))
      return failed(plan, client_email, err);
    std::string tab;
    if (!tab_title_for_gid(json, plan.gid, tab, err, plan.spreadsheet_id))
      return failed(plan, client_email, err);
    read_metadata(json, result, title);
    // The header and the first rows only: rows 1 to rows + 1 of the tab,
    // unless the plan's own range names its tab.
    request values;
    values.headers = headers;
    if (plan.metadata_url.empty()) {
      values.url = plan.url;
    } else {
      auto rows_only = plan;
      if (rows_only.range.empty())
        rows_only.range = "1:" + std::to_string(limits.rows + 1);
      values.url = values_url(rows_only, tab);
    }
    std::string answer;
    if (!fetch(values, limits, deadline, cancel, answer, complete, err))
      return failed(plan, client_email, err);
    std::string csv;
    if (!values_to_csv(answer, csv, err))
      return failed(plan, client_email, err);
    csv_parser parser{limits.rows};
    if (!parser.feed(csv))
      return failed(plan, client_email, parser.error());
    if (!take_rows(parser, true, limits.rows, result, err))
      return failed(plan, client_email, err);
  } else {
    result.access = "export";
    csv_parser parser{limits.rows};
    size_t fed = 0;
    bool bad = false;
    request sheet;
    sheet.url = plan.url;
    sheet.headers = headers;
    sheet.csv = true;
    // Parsed as it arrives, so the transfer stops once the rows are there.
    sheet.enough = [&](const std::string& body) {
      if (!bad && fed < body.size()) {
        bad = !parser.feed(std::string_view{body}.substr(fed));
        fed = body.size();
      }
      return bad || parser.rows() >= limits.rows;
    };
    std::string body;
    bool complete = false;
    if (!fetch(sheet, limits, deadline, cancel, body, complete, err))
      return failed(plan, client_email, err);
    sheet.enough(body); // the bytes of the last step
    if (bad)
      return failed(plan, client_email, parser.error());
    // Cut short with all the rows: the row after them may be cut in two, so
    // the parser is not finished. Cut at the byte cap before them: finished,
    // to show the rows there are.
    auto finish = complete || parser.rows() < limits.rows;
    if (!take_rows(parser, finish, limits.rows, result, err))
      return failed(plan, client_email, err);
  }
  result.ok = true;
  result.name = proposed_source_name(plan, title);
  return result;
}

} // namespace sheetsync
