#include "sources/fetch_plan.hpp"

#include <cctype>
#include <string_view>
#include <vector>

#include "net/redact.hpp"
#include "net/text.hpp"

namespace sheetsync {

namespace {

/// What plan_fetch accepts, for its error messages.
constexpr const char* accepted_forms
  = "give a Google Sheet's URL "
    "(https://docs.google.com/spreadsheets/d/ID/edit#gid=GID), a bare "
    "spreadsheet id (25 or more letters, digits, '-' or '_'), a "
    "published-to-web URL (https://docs.google.com/spreadsheets/d/e/KEY/"
    "pub?gid=GID&single=true&output=csv), or an http://, https:// or file:// "
    "URL of a CSV";

constexpr size_t min_id_length = 25;
constexpr size_t max_id_length = 200;

/// Longest gid accepted (Google's are 32-bit numbers; room to spare).
constexpr size_t max_gid_digits = 18;

std::string_view trim(std::string_view str) {
  auto space = [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
  };
  while (!str.empty() && space(str.front()))
    str.remove_prefix(1);
  while (!str.empty() && space(str.back()))
    str.remove_suffix(1);
  return str;
}

std::string_view trim_slashes(std::string_view str) {
  while (!str.empty() && str.back() == '/')
    str.remove_suffix(1);
  return str;
}

bool is_id_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

bool is_id(std::string_view str) {
  if (str.empty() || str.size() > max_id_length)
    return false;
  for (auto c : str)
    if (!is_id_char(c))
      return false;
  return true;
}

/// A location shown in an error, quoted.
std::string shown(std::string_view location) {
  return '"' + shown_location(location) + '"';
}

/// The parts of an absolute URL.
struct url_parts {
  std::string scheme; // lower case
  std::string_view authority;
  std::string_view path;
  std::string_view query;    // without '?'
  std::string_view fragment; // without '#'
  bool has_query = false;
  bool has_fragment = false;
};

/// Splits `url` (which holds "://"); false if the scheme is not letters.
bool split_url(std::string_view url, url_parts& out) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0)
    return false;
  for (auto c : url.substr(0, sep))
    if (!std::isalpha(static_cast<unsigned char>(c)) && c != '+' && c != '-'
        && c != '.')
      return false;
  out.scheme = lower(url.substr(0, sep));
  auto rest = url.substr(sep + 3);
  if (auto hash = rest.find('#'); hash != std::string_view::npos) {
    out.fragment = rest.substr(hash + 1);
    out.has_fragment = true;
    rest = rest.substr(0, hash);
  }
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    out.query = rest.substr(q + 1);
    out.has_query = true;
    rest = rest.substr(0, q);
  }
  auto slash = rest.find('/');
  out.authority = rest.substr(0, slash);
  out.path = slash == std::string_view::npos ? std::string_view{}
                                             : rest.substr(slash);
  return true;
}

/// The host of an authority, lower case, without userinfo and port.
std::string host_of(std::string_view authority) {
  if (auto at = authority.rfind('@'); at != std::string_view::npos)
    authority.remove_prefix(at + 1);
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    return lower(authority.substr(0, close == std::string_view::npos
                                       ? authority.size()
                                       : close + 1));
  }
  return lower(authority.substr(0, authority.find(':')));
}

/// The value of `gid` in a `k=v&k=v` list, if any.
bool find_gid(std::string_view params, std::string_view& value) {
  bool found = false;
  size_t pos = 0;
  while (pos <= params.size()) {
    auto end = params.find_first_of("&;", pos);
    if (end == std::string_view::npos)
      end = params.size();
    auto param = params.substr(pos, end - pos);
    if (auto eq = param.find('='); eq != std::string_view::npos
                                   && param.substr(0, eq) == "gid") {
      value = param.substr(eq + 1);
      found = true;
    }
    pos = end + 1;
  }
  return found;
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < path.size()) {
    auto end = path.find('/', pos);
    if (end == std::string_view::npos)
      end = path.size();
    if (end > pos)
      out.push_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

/// What a Google Sheets path names.
struct sheet_path {
  source_kind kind = source_kind::url;
  std::string_view id;
};

/// Matches `[/a/DOMAIN][/u/N]/spreadsheets[/u/N]/d/ID[/...]` and
/// `.../d/e/KEY[/...]`. False if the path is no spreadsheet's.
bool match_sheet_path(std::string_view path, sheet_path& out) {
  auto segs = segments(path);
  size_t i = 0;
  auto skip_pair = [&](std::string_view name) {
    if (i + 1 < segs.size() && segs[i] == name)
      i += 2;
  };
  skip_pair("a");
  skip_pair("u");
  if (i >= segs.size() || segs[i] != "spreadsheets")
    return false;
  ++i;
  skip_pair("u");
  if (i + 1 >= segs.size() || segs[i] != "d")
    return false;
  ++i;
  if (segs[i] == "e") {
    if (i + 1 >= segs.size())
      return false;
    out.kind = source_kind::published;
    out.id = segs[i + 1];
    return true;
  }
  out.kind = source_kind::spreadsheet;
  out.id = segs[i];
  return true;
}

/// Whether `url` lies under `base` (same scheme and authority, path prefix).
bool under_base(const url_parts& url, std::string_view base,
                std::string_view& rest_of_path) {
  url_parts b;
  if (base.empty() || !split_url(base, b))
    return false;
  if (b.scheme != url.scheme || lower(b.authority) != lower(url.authority))
    return false;
  auto prefix = trim_slashes(b.path);
  if (url.path.substr(0, prefix.size()) != prefix)
    return false;
  rest_of_path = url.path.substr(prefix.size());
  if (!rest_of_path.empty() && rest_of_path.front() != '/')
    return false;
  return true;
}

std::string tab_text(const std::string& gid) {
  return gid.empty() ? "first tab" : "tab gid " + gid;
}

} // namespace

bool normal_gid(std::string_view gid, std::string& out) {
  if (!all_digits(gid) || gid.size() > max_gid_digits + 8)
    return false;
  while (gid.size() > 1 && gid.front() == '0')
    gid.remove_prefix(1);
  if (gid.size() > max_gid_digits)
    return false;
  out = std::string{gid};
  return true;
}

std::string percent_encode(const std::string& str) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(str.size());
  for (auto ch : str) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0x0F];
    }
  }
  return out;
}

bool plan_fetch(const source_spec& src, const google_endpoints& ep,
                fetch_plan& out, failure& err) {
  out = fetch_plan{};
  auto loc = trim(src.location);
  if (loc.empty()) {
    err = failure{ec::invalid_argument,
                  "the source has no location: " + std::string{accepted_forms}};
    return false;
  }
  // -- what the location is ---------------------------------------------------
  std::string with_scheme; // owns a location completed with "https://"
  if (loc.find("://") == std::string_view::npos) {
    auto l = lower(loc.substr(0, 16));
    if (l.rfind("docs.google.com/", 0) == 0) {
      // Pasted without the scheme.
      with_scheme = "https://" + std::string{loc};
      loc = with_scheme;
    }
  }
  sheet_path sheet;
  std::string_view url_gid;
  bool has_url_gid = false;
  if (loc.find("://") != std::string_view::npos) {
    url_parts url;
    if (!split_url(loc, url)) {
      err = failure{ec::invalid_argument,
                    "the source " + shown(loc) + " is not a URL I can read: "
                      + accepted_forms};
      return false;
    }
    if (url.scheme != "http" && url.scheme != "https" && url.scheme != "file") {
      err = failure{ec::invalid_argument,
                    "the source " + shown(loc) + " uses the unsupported scheme "
                      + url.scheme + "://: " + accepted_forms};
      return false;
    }
    if (url.scheme != "file") {
      if (url.authority.empty()) {
        err = failure{ec::invalid_argument,
                      "the source " + shown(loc) + " names no host: "
                        + accepted_forms};
        return false;
      }
      auto host = host_of(url.authority);
      std::string_view path;
      bool google = false;
      if (host == "docs.google.com") {
        google = true;
        path = url.path;
      } else {
        google = under_base(url, trim_slashes(ep.docs_base), path);
      }
      if (google && match_sheet_path(path, sheet)) {
        std::string_view q_gid, f_gid;
        bool in_query = url.has_query && find_gid(url.query, q_gid);
        bool in_fragment = url.has_fragment && find_gid(url.fragment, f_gid);
        // The browser keeps the fragment current when switching tabs.
        if (in_fragment) {
          url_gid = f_gid;
          has_url_gid = true;
        } else if (in_query) {
          url_gid = q_gid;
          has_url_gid = true;
        }
      } else if (host == "docs.google.com") {
        err = failure{ec::invalid_argument,
                      "the source " + shown(loc)
                        + " is a docs.google.com address but no spreadsheet's: "
                        + accepted_forms};
        return false;
      }
    }
    if (sheet.kind != source_kind::url && !is_id(sheet.id)) {
      err = failure{ec::invalid_argument,
                    "the source " + shown(loc)
                      + " holds no valid spreadsheet id or publish key (letters, "
                        "digits, '-' and '_' after /d/ or /d/e/): "
                      + accepted_forms};
      return false;
    }
  } else if (is_id(loc) && loc.size() >= min_id_length) {
    // Publish keys ("2PACX-...") cannot be spreadsheet ids (those start "1").
    sheet.kind = loc.rfind("2PACX-", 0) == 0 ? source_kind::published
                                             : source_kind::spreadsheet;
    sheet.id = loc;
  } else {
    err = failure{ec::invalid_argument,
                  "the source " + shown(loc)
                    + " is neither a URL nor a spreadsheet id: "
                    + accepted_forms};
    return false;
  }
  // -- which tab ----------------------------------------------------------------
  std::string gid;
  if (!src.gid.empty()) {
    if (!normal_gid(trim(src.gid), gid)) {
      err = failure{ec::invalid_argument,
                    "the gid \"" + src.gid.substr(0, 40)
                      + "\" is not a number: the gid is the number after "
                        "#gid= in the sheet's browser URL (0 for the first tab "
                        "of a new sheet)"};
      return false;
    }
  } else if (has_url_gid && !url_gid.empty()) {
    if (!normal_gid(url_gid, gid)) {
      err = failure{ec::invalid_argument,
                    "the gid \"" + std::string{url_gid.substr(0, 40)}
                      + "\" in the source " + shown(loc)
                      + " is not a number: copy the sheet's URL again from the "
                        "browser, or give the tab with --gid"};
      return false;
    }
  }
  // -- how to read it -----------------------------------------------------------
  auto mode = src.access;
  bool token = !src.credentials.empty();
  auto tabbed = src.all_tabs || !src.tabs.empty();
  if (tabbed) {
    // Google lists a spreadsheet's tabs only through the Sheets API.
    auto what = src.all_tabs ? std::string{"every tab (tabs = \"all\")"}
                             : std::string{"a list of tabs"};
    if (sheet.kind != source_kind::spreadsheet) {
      err = failure{ec::invalid_argument,
                    what + " needs a spreadsheet read through the Sheets API, "
                           "but the source "
                      + shown(loc)
                      + " is not a spreadsheet's URL or id: give the sheet's "
                        "Google URL or id, or drop the tabs"};
      return false;
    }
    if (mode == access_mode::export_csv) {
      err = failure{ec::invalid_argument,
                    what + " needs the Sheets API (Google lists tabs only "
                           "there), but the access is export: use "
                           "--access=api or auto with an API key or "
                           "credentials, or drop the tabs"};
      return false;
    }
    if (!trim(src.range).empty()) {
      err = failure{ec::invalid_argument,
                    "a range reads part of one tab: it cannot go with " + what
                      + "; drop the range or the tabs"};
      return false;
    }
    for (auto& title : src.tabs)
      if (title.empty()) {
        err = failure{ec::invalid_argument,
                      "a tab title in the tabs list is empty: list the tabs' "
                      "titles as the sheet shows them"};
        return false;
      }
    mode = access_mode::api;
    out.tabs = src.tabs;
    out.all_tabs = src.all_tabs;
  }
  if (mode == access_mode::automatic)
    mode = !src.api_key.empty() && sheet.kind == source_kind::spreadsheet
             ? access_mode::api
             : access_mode::export_csv;
  auto docs = std::string{trim_slashes(ep.docs_base)};
  out.kind = sheet.kind;
  out.gid = gid;
  switch (sheet.kind) {
    case source_kind::url: {
      if (mode == access_mode::api) {
        err = failure{ec::invalid_argument,
                      "the Sheets API (--access=api) needs a spreadsheet, but "
                      "the source "
                        + shown(loc)
                        + " is a plain CSV URL: give the sheet's Google URL or "
                          "id, or use --access=export"};
        return false;
      }
      if (token) {
        err = failure{ec::invalid_argument,
                      "credentials only serve Google Sheets, and a token is "
                      "never sent to other hosts, but the source "
                        + shown(loc)
                        + " is a plain CSV URL: give the sheet's Google URL or "
                          "id, or drop the credentials"};
        return false;
      }
      if (!src.gid.empty()) {
        err = failure{ec::invalid_argument,
                      "a gid only selects a tab of a Google Sheet, but the "
                      "source "
                        + shown(loc)
                        + " is a plain CSV URL: give the sheet's Google URL or "
                          "id, or drop the gid"};
        return false;
      }
      out.url = std::string{loc};
      out.description = redact_url(out.url);
      return true;
    }
    case source_kind::published: {
      if (mode == access_mode::api) {
        err = failure{ec::invalid_argument,
                      "the Sheets API (--access=api) cannot read a "
                      "published-to-web sheet (publish key "
                        + std::string{sheet.id}
                        + "): give the spreadsheet's own URL or id, or use "
                          "--access=export"};
        return false;
      }
      out.publish_key = std::string{sheet.id};
      out.url = docs + "/spreadsheets/d/e/" + out.publish_key
                + "/pub?gid=" + (gid.empty() ? "0" : gid)
                + "&single=true&output=csv";
      out.needs_token = token;
      out.description = "published sheet " + out.publish_key + " "
                        + tab_text(gid) + " (published CSV"
                        + (token ? ", service account)" : ")");
      return true;
    }
    case source_kind::spreadsheet:
      break;
  }
  out.spreadsheet_id = std::string{sheet.id};
  out.needs_token = token;
  if (mode != access_mode::api) {
    out.url = docs + "/spreadsheets/d/" + out.spreadsheet_id
              + "/export?format=csv&gid=" + (gid.empty() ? "0" : gid);
    out.description = "spreadsheet " + out.spreadsheet_id + " "
                      + tab_text(gid)
                      + (token ? " (export, service account)" : " (export)");
    return true;
  }
  if (!token && src.api_key.empty()) {
    err = failure{ec::invalid_argument,
                  "the Sheets API (--access=api) needs an API key (--api-key, "
                  "for sheets anyone with the link can view) or a service "
                  "account (--credentials) for spreadsheet "
                    + out.spreadsheet_id};
    return false;
  }
  out.format = body_format::sheet_values;
  out.api_base = std::string{trim_slashes(ep.sheets_api_base)};
  // With a token the key adds nothing but one more secret in the URL.
  if (!token)
    out.api_key = src.api_key;
  auto auth = token ? std::string{", service account)"}
                    : std::string{", API key)"};
  auto range = std::string{trim(src.range)};
  if (!range.empty() && (range.find('!') != std::string::npos || gid.empty())) {
    // The range names its tab, or means the first one: no metadata needed.
    out.url = values_url(out, range, false);
    out.description = "spreadsheet " + out.spreadsheet_id + " range " + range
                      + " (Sheets API" + auth;
    return true;
  }
  out.range = range;
  out.metadata_url = out.api_base + "/v4/spreadsheets/" + out.spreadsheet_id
                     + "?fields=sheets.properties(sheetId,title,"
                       "gridProperties.rowCount)";
  if (!out.api_key.empty())
    out.metadata_url += "&key=" + percent_encode(out.api_key);
  out.description = "spreadsheet " + out.spreadsheet_id + " " + tab_text(gid)
                    + (range.empty() ? "" : " range " + range)
                    + " (Sheets API" + auth;
  if (tabbed)
    out.description = "spreadsheet " + out.spreadsheet_id
                      + (src.all_tabs ? " every tab"
                                      : " " + std::to_string(src.tabs.size())
                                          + (src.tabs.size() == 1 ? " tab"
                                                                  : " tabs"))
                      + " (Sheets API" + auth;
  return true;
}

std::string tab_rows_url(const fetch_plan& plan, const std::string& title,
                         uint64_t first, uint64_t last) {
  std::string a1;
  a1.reserve(title.size() + 24);
  a1 += '\'';
  for (auto c : title) {
    if (c == '\'')
      a1 += '\'';
    a1 += c;
  }
  a1 += "'!";
  a1 += std::to_string(first);
  a1 += ':';
  a1 += std::to_string(last);
  return values_url(plan, a1, false);
}

std::string values_url(const fetch_plan& plan, const std::string& range_or_title,
                       bool is_title) {
  std::string a1;
  if (is_title) {
    a1.reserve(range_or_title.size() + plan.range.size() + 4);
    a1 += '\'';
    for (auto c : range_or_title) {
      if (c == '\'')
        a1 += '\'';
      a1 += c;
    }
    a1 += '\'';
    if (!plan.range.empty()) {
      a1 += '!';
      a1 += plan.range;
    }
  } else {
    a1 = range_or_title;
  }
  auto url = std::string{trim_slashes(plan.api_base)} + "/v4/spreadsheets/"
             + plan.spreadsheet_id + "/values/" + percent_encode(a1)
             + "?majorDimension=ROWS&valueRenderOption=FORMATTED_VALUE";
  if (!plan.api_key.empty())
    url += "&key=" + percent_encode(plan.api_key);
  return url;
}

std::string describe(const source_spec& src) {
  fetch_plan plan;
  failure err;
  if (plan_fetch(src, google_endpoints{}, plan, err))
    return plan.description;
  return redact_url(std::string{trim(src.location)});
}

} // namespace sheetsync
