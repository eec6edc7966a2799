#include "net/http_response.hpp"

#include <charconv>
#include <string_view>

#include "net/text.hpp"

namespace sheetsync {

namespace {

/// Headers that frame the message; only serialize() may set them.
bool is_framing_header(std::string_view name) {
  return equals_ignore_case(name, "content-length") || equals_ignore_case(name, "connection")
         || equals_ignore_case(name, "transfer-encoding");
}

/// Appends `x` with CR, LF and NUL replaced: a value taken from a request (an id in Location,
/// say) must not be able to add headers or a second response.
void append_field(std::string& out, std::string_view x) {
  auto old_size = out.size();
  out.append(x);
  for (auto i = old_size; i < out.size(); ++i)
    if (out[i] == '\r' || out[i] == '\n' || out[i] == '\0')
      out[i] = ' ';
}

void append_number(std::string& out, size_t x) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, res.ptr);
}

/// Status line and the caller's headers.
void append_head(std::string& out, const http_response& r) {
  out += "HTTP/1.1 ";
  append_number(out, static_cast<size_t>(r.status));
  out += ' ';
  out += reason_phrase(r.status);
  out += "\r\n";
  for (auto& [name, value] : r.headers) {
    if (is_framing_header(name))
      continue;
    append_field(out, name);
    out += ": ";
    append_field(out, value);
    out += "\r\n";
  }
}

size_t head_size_hint(const http_response& r) {
  size_t n = 128;
  for (auto& [name, value] : r.headers)
    n += name.size() + value.size() + 4;
  return n;
}

} // namespace

http_response json_response(int status, std::string body) {
  http_response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = std::move(body);
  return r;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string serialize(const http_response& r, bool keep_alive, bool head_only) {
  // RFC 9110 8.6: no Content-Length (and no body) in 1xx and 204; 304 has no body, and a
  // Content-Length there would have to describe the unsent representation, so none either.
  bool bodiless = (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304;
  bool send_body = !head_only && !bodiless;
  std::string out;
  out.reserve(head_size_hint(r) + (send_body ? r.body.size() : 0));
  append_head(out, r);
  if (!bodiless) {
    out += "Content-Length: ";
    append_number(out, r.body.size());
    out += "\r\n";
  }
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (send_body)
    out += r.body;
  return out;
}

std::string serialize_stream_head(const http_response& r) {
  std::string out;
  out.reserve(head_size_hint(r));
  append_head(out, r);
  out += "Connection: keep-alive\r\n\r\n";
  return out;
}

} // namespace sheetsync
