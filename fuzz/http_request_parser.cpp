// Fuzz target: the incremental HTTP/1.x request parser
// (net/http_request_parser).
//
// Feeds the input as one connection's bytes twice, in one read and in small
// uneven reads (recycling every request as the facade does), with small
// limits so that a short input can reach them, and checks: the status is one
// the parser documents, and sticks; no body is over the limit; header names
// are lower case; nothing follows a request that ends the connection; and
// both runs agree on whether it failed and on every request. A third run with the
// default limits only has to come through.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/check.hpp"
#include "net/http_request_parser.hpp"
#include "tests/describe_request.hpp"

using namespace sheetsync;

namespace {

using test::describe;

bool documented(int status) {
  switch (status) {
    case 0:
    case 400:
    case 413:
    case 431:
    case 500:
    case 501:
    case 505:
      return true;
    default:
      return false;
  }
}

/// Runs one connection; returns the status and every request, described.
std::string run(std::string_view input, http_request_parser::limits lim,
                bool split) {
  http_request_parser parser{lim};
  std::vector<http_request> out;
  std::string seen;
  bool ended = false;
  int status = 0;
  auto take = [&](int st) {
    FUZZ_CHECK(documented(st), std::to_string(st));
    FUZZ_CHECK(status == 0 || st == status,
               std::to_string(status) + " then " + std::to_string(st));
    status = st;
    for (auto& r : out) {
      FUZZ_CHECK(!ended, "a request after one that ended the connection");
      FUZZ_CHECK(r.body.size() <= lim.max_body_bytes,
                 std::to_string(r.body.size()) + " body bytes");
      for (auto& [name, value] : r.headers)
        for (auto c : name)
          FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), "header name " + name);
      ended = ended || !r.keep_alive;
      seen += describe(r) + "\n";
    }
    FUZZ_CHECK(parser.closed() == ended, "closed() disagrees");
    FUZZ_CHECK(parser.error() == status, std::to_string(parser.error()));
    if (split)
      parser.recycle(out); // the next requests reuse these buffers
    else
      out.clear();
  };
  if (!split) {
    take(parser.feed(input, out));
  } else {
    fuzz::splitter pieces{input.size()};
    for (size_t pos = 0; pos < input.size();) {
      auto n = std::min(pieces.next(), input.size() - pos);
      take(parser.feed(input.substr(pos, n), out));
      pos += n;
    }
  }
  if (status != 0) {
    // An error sticks and outputs nothing more.
    take(parser.feed("GET / HTTP/1.1\r\n\r\n", out));
    FUZZ_CHECK(parser.error() == status, "the error did not stick");
  }
  // Which error a request that is both malformed and over a limit gets
  // (400 or 431) may depend on where the reads split it (seen: a 431 in one
  // read, a 400 in pieces); that it fails, and what came before, may not.
  return std::string{status == 0 ? "ok" : "error"} + "\n" + seen;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::guarded(data, size, [](std::string_view input) {
    http_request_parser::limits small;
    small.max_header_bytes = 256;
    small.max_body_bytes = 128;
    auto whole = run(input, small, false);
    auto pieces = run(input, small, true);
    FUZZ_CHECK(whole == pieces, "in one read:\n" + whole + "in pieces:\n" + pieces);
    run(input, http_request_parser::limits{}, false);
  });
}
