// The CORS policy (net/cors.hpp): which origins are accepted at start-up, and
// which header fields an answer or a preflight gets for which Origin.
#define CAF_SUITE cors_policy
#include <caf/test/unit_test.hpp>

#include <string>

#include "net/cors.hpp"

using namespace sheetsync;

namespace {

std::string normalized(const std::string& given) {
  std::string out;
  auto err = normalize_origin(given, out);
  return err.empty() ? out : "error: " + err;
}

bool refused(const std::string& given, const std::string& why) {
  std::string out;
  auto err = normalize_origin(given, out);
  return !err.empty() && err.find(why) != std::string::npos;
}

std::string field(const header_list& xs, const std::string& name) {
  for (auto& [k, v] : xs)
    if (k == name)
      return v;
  return "<none>";
}

} // namespace

CAF_TEST(origins are written as browsers send them) {
  CAF_CHECK_EQUAL(normalized("https://app.example.com"), "https://app.example.com");
  CAF_CHECK_EQUAL(normalized("HTTPS://App.Example.com/"), "https://app.example.com");
  CAF_CHECK_EQUAL(normalized("http://127.0.0.1:3000"), "http://127.0.0.1:3000");
  // Default ports are left out of Origin.
  CAF_CHECK_EQUAL(normalized("https://x.example:443"), "https://x.example");
  CAF_CHECK_EQUAL(normalized("http://x.example:80"), "http://x.example");
  CAF_CHECK_EQUAL(normalized("http://x.example:443"), "http://x.example:443");
  CAF_CHECK_EQUAL(normalized("http://[::1]:8081"), "http://[::1]:8081");
}

CAF_TEST(anything but scheme host and port is refused) {
  CAF_CHECK(refused("*", "wildcard"));
  CAF_CHECK(refused("https://*.example.com", "wildcard"));
  CAF_CHECK(refused("", "empty"));
  CAF_CHECK(refused("app.example.com", "not scheme://host"));
  CAF_CHECK(refused("null", "not scheme://host"));
  CAF_CHECK(refused("https://app.example.com/settings", "has a path"));
  CAF_CHECK(refused("https://app.example.com?x=1", "has a path"));
  CAF_CHECK(refused("https://user@app.example.com", "user info"));
  CAF_CHECK(refused("https://", "no host"));
  CAF_CHECK(refused("https://:8080", "no host"));
  CAF_CHECK(refused("http://x:0", "port"));
  CAF_CHECK(refused("http://x:65536", "port"));
  CAF_CHECK(refused("http://x:", "port"));
  CAF_CHECK(refused("http://a.example,http://b.example", "one origin per flag"));
  CAF_CHECK(refused("http://::1:3000", "brackets"));
}

CAF_TEST(an allowed origin gets its own name back and nothing else does) {
  cors_policy policy{{"https://app.example.com", "http://127.0.0.1:3000"}};
  auto h = policy.answer_headers("https://app.example.com");
  CAF_CHECK_EQUAL(field(h, "Access-Control-Allow-Origin"), "https://app.example.com");
  CAF_CHECK_EQUAL(field(h, "Vary"), "Origin");
  CAF_CHECK_EQUAL(field(h, "Access-Control-Expose-Headers"),
                  "Location, Retry-After, RateLimit, RateLimit-Policy");
  // Preflight fields only on preflights.
  CAF_CHECK_EQUAL(field(h, "Access-Control-Allow-Methods"), "<none>");
  // Exact match: another port, scheme or case, a suffix, "null", no Origin.
  for (auto other : {"https://app.example.com:8443", "http://app.example.com",
                     "https://APP.example.com", "https://app.example.com.evil",
                     "https://evil.app.example.com", "null", ""})
    CAF_CHECK(policy.answer_headers(other).empty());
  CAF_CHECK(policy.answer_headers("").empty());
  CAF_CHECK(cors_policy{}.answer_headers("https://a.example").empty());
}

CAF_TEST(a preflight names the methods of the path and the headers a page may send) {
  cors_policy policy{{"http://127.0.0.1:3000"}};
  auto h = policy.preflight_headers("http://127.0.0.1:3000",
                                    "GET, HEAD, POST");
  CAF_CHECK_EQUAL(field(h, "Access-Control-Allow-Origin"), "http://127.0.0.1:3000");
  CAF_CHECK_EQUAL(field(h, "Access-Control-Allow-Methods"), "GET, HEAD, POST");
  CAF_CHECK_EQUAL(field(h, "Access-Control-Allow-Headers"),
                  "authorization, content-type, last-event-id");
  CAF_CHECK_EQUAL(field(h, "Access-Control-Max-Age"), "600");
  CAF_CHECK_EQUAL(field(h, "Vary"), "Origin");
  CAF_CHECK(policy.preflight_headers("http://127.0.0.1:3001", "GET")
              .empty());
  CAF_CHECK(policy.preflight_headers("", "GET").empty());
}
