#pragma once

// A parsed HTTP request as one printable line, so that two parses of the same
// bytes (in one read, in pieces) compare as strings. Shared by the parser's
// suite (tests/http_request_parser.cpp) and its fuzz target
// (fuzz/http_request_parser.cpp); CAF-free, for the standalone fuzz build.

#include <cstdio>
#include <string>
#include <string_view>

#include "net/http_request_parser.hpp"

namespace sheetsync::test {

/// Everything in a request, non-printable bytes, quotes and backslashes as
/// \xNN; no line end.
inline std::string describe(const http_request& r) {
  auto quote = [](std::string_view x) {
    std::string out = "\"";
    for (auto c : x) {
      auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\x%02x", u);
        out += buf;
      } else {
        out += c;
      }
    }
    return out + "\"";
  };
  std::string out = r.method + " " + quote(r.target) + " path=" + quote(r.path)
                    + " query=[";
  for (auto& [k, v] : r.query)
    out += quote(k) + "=" + quote(v) + ",";
  out += "] headers=[";
  for (auto& [k, v] : r.headers)
    out += quote(k) + ":" + quote(v) + ",";
  out += "] body=" + quote(r.body) + " keep_alive="
         + std::to_string(r.keep_alive) + " upgrade="
         + std::to_string(r.upgrade);
  return out;
}

} // namespace sheetsync::test
