#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sheetsync {

/// One HTTP/1.x request as http_request_parser delivers it. (A new member must also be reset
/// in http_request_parser's reuse of recycled requests.)
struct http_request {
  /// Method as sent, e.g. "GET" (libhttp_parser accepts only the methods it knows).
  std::string method;

  /// Raw request target, e.g. "/api/x?a=1".
  std::string target;

  /// Percent-decoded path of the target, e.g. "/api/x"; `+` stays `+`. Not normalised: dot
  /// segments stay as sent. For an absolute-form target ("http://host/p") the path part only,
  /// for the asterisk or authority form ("*", "host:443") the target itself.
  std::string path;

  /// Decoded query parameters (`+` is a space), in order; `a=1&b=&c` gives (a,1),(b,),(c,).
  /// An invalid escape stays as sent ("%zz"), as browsers' URLSearchParams do.
  std::vector<std::pair<std::string, std::string>> query;

  /// Header fields in order, names lower-cased, values without surrounding blanks. Repeated
  /// fields stay separate entries. Chunked trailers are not included.
  std::vector<std::pair<std::string, std::string>> headers;

  /// Body, de-chunked.
  std::string body;

  /// Whether the connection may carry another request after this one: HTTP/1.1 unless
  /// `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`; never after CONNECT.
  bool keep_alive = true;

  /// The client asked for another protocol (`Upgrade` with `Connection: upgrade`, or CONNECT).
  /// The parser goes on reading HTTP after an Upgrade request (a server may ignore Upgrade) but
  /// stops after CONNECT.
  bool upgrade = false;

  /// First header with this (lower-case) name, or nullptr.
  const std::string* header(std::string_view name) const {
    for (auto& [key, value] : headers)
      if (key == name)
        return &value;
    return nullptr;
  }

  /// Last value of a query parameter, or nullopt.
  std::optional<std::string> query_param(std::string_view name) const {
    for (auto i = query.rbegin(); i != query.rend(); ++i)
      if (i->first == name)
        return i->second;
    return std::nullopt;
  }
};

} // namespace sheetsync
