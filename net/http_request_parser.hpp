#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "net/http_request.hpp"

namespace sheetsync {

/// Parses the requests of one connection incrementally: bytes may arrive split anywhere, and
/// several (pipelined) requests may arrive in one read. Built on libhttp_parser, plus the checks
/// Debian's non-strict build of it leaves out (blanks in header names, control characters in
/// the target, obs-fold line continuations) and the size limits of the service.
///
/// The header section counts from the end of the previous request (so blank lines between
/// requests count too) through the blank line that ends the headers. Chunked trailers are
/// dropped but count against max_header_bytes as well.
class http_request_parser {
public:
  struct limits {
    /// Request line plus header section, in bytes (libhttp_parser caps it at 80 KiB anyway).
    size_t max_header_bytes = 8 * 1024;
    /// Decoded body, in bytes.
    size_t max_body_bytes = 64 * 1024;
  };

  /// With the default limits. (Not a `limits lim = {}` default argument: GCC rejects that for
  /// a nested struct with member initialisers, GCC bug 88165.)
  http_request_parser();

  explicit http_request_parser(limits lim);

  ~http_request_parser();

  http_request_parser(http_request_parser&&) noexcept;

  http_request_parser& operator=(http_request_parser&&) noexcept;

  /// Feeds bytes; appends every completed request to `out`. Returns 0 while all is well, else
  /// the HTTP status to answer before closing: 400 (malformed, incl. bad percent-encoding or
  /// %00 in the path, NUL or control bytes, obs-fold, unknown methods), 431 (request line +
  /// header section over max_header_bytes), 413 (body over max_body_bytes, from Content-Length
  /// before reading it, or per chunk size while reading chunked bodies), 501 for a
  /// Transfer-Encoding other than exactly `chunked`, 505 for HTTP versions other than 1.0/1.1,
  /// 500 if memory runs out.
  /// After an error, further feeds return the same status. Requests completed before the error
  /// are still output. After a request with keep_alive == false the connection is done:
  /// closed() turns true and later bytes are ignored (feed returns 0, nothing is output).
  int feed(std::string_view bytes, std::vector<http_request>& out);

  /// Optional: takes back requests the caller is done with (leaving `done` empty) so that the
  /// next requests reuse their buffers instead of allocating. Keeps at most a few, and no large
  /// bodies, so an idle connection holds little memory.
  void recycle(std::vector<http_request>& done);

  /// Bytes of an unfinished request fed so far (0 between requests), for idle/slowloris
  /// policies.
  size_t pending_bytes() const;

  /// The error status feed() returned, or 0.
  int error() const;

  /// True once a request that ends the connection (keep_alive == false) has been output.
  bool closed() const;

private:
  struct impl;

  limits lim_;
  /// Made by the first byte of a request, dropped between requests.
  std::unique_ptr<impl> impl_;
};

} // namespace sheetsync
