#pragma once

#include <string>
#include <utility>
#include <vector>

namespace sheetsync {

/// An HTTP response before serialisation.
struct http_response {
  int status = 200;

  /// Headers as sent, e.g. {"Content-Type", "application/json; charset=utf-8"}. Framing is
  /// serialize()'s job: Content-Length, Connection and Transfer-Encoding given here are dropped.
  std::vector<std::pair<std::string, std::string>> headers;

  std::string body;
};

/// A JSON answer that no cache keeps (every API answer).
http_response json_response(int status, std::string body);

/// "OK", "Not Found", ... for every status the service uses (200 202 204 304 400 401 404 405
/// 409 413 429 431 500 501 503 505) and the other common ones; "Unknown" otherwise.
const char* reason_phrase(int status);

/// HTTP/1.1 status line, the headers, Content-Length, `Connection: keep-alive` or `close`, a
/// blank line, the body. 1xx, 204 and 304 get neither Content-Length nor a body. `head_only`
/// omits the body (HEAD requests) but keeps its Content-Length. CR, LF and NUL in header names
/// or values become spaces, so no value can split the response.
std::string serialize(const http_response& r, bool keep_alive, bool head_only = false);

/// The head of a streaming response (for Server-Sent Events): status line and headers, no
/// Content-Length, `Connection: keep-alive`; the body follows until the connection closes.
std::string serialize_stream_head(const http_response& r);

} // namespace sheetsync
