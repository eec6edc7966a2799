// The shared text helpers (net/text.hpp): one copy of each rule, and the one
// redaction rule for locations shown to people.
#define CAF_SUITE text
#include <caf/test/unit_test.hpp>

#include <cstdint>
#include <string>

#include "net/text.hpp"

using namespace sheetsync;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

CAF_TEST(case helpers are ascii only) {
  CAF_CHECK_EQUAL(lower("Content-TYPE: Text/CSV"), "content-type: text/csv");
  // Bytes above 127 (UTF-8) stay as they are, whatever the locale.
  CAF_CHECK_EQUAL(lower("Zo\xC3\x8B"), "zo\xC3\x8B");
  CAF_CHECK(equals_ignore_case("Bearer", "bEARER"));
  CAF_CHECK(!equals_ignore_case("Bearer", "Bearer "));
  CAF_CHECK(starts_with_ignore_case("HTTPS://x", "https://"));
  CAF_CHECK(!starts_with_ignore_case("http", "https://"));
  CAF_CHECK(starts_with_ignore_case("anything", ""));
}

CAF_TEST(digits) {
  CAF_CHECK(all_digits("0123456789"));
  CAF_CHECK(!all_digits(""));
  CAF_CHECK(!all_digits("12a"));
  CAF_CHECK(!all_digits("-1"));
  CAF_CHECK(!all_digits(" 1"));
  uint64_t n = 0;
  CAF_CHECK(parse_saturated("4294967301", n));
  CAF_CHECK_EQUAL(n, 4294967301u);
  CAF_CHECK(parse_saturated("18446744073709551615", n));
  CAF_CHECK_EQUAL(n, UINT64_MAX);
  CAF_CHECK(parse_saturated("18446744073709551616", n));
  CAF_CHECK_EQUAL(n, UINT64_MAX);
  CAF_CHECK(parse_saturated("99999999999999999999999999999999999999", n));
  CAF_CHECK_EQUAL(n, UINT64_MAX);
  CAF_CHECK(parse_saturated("007", n));
  CAF_CHECK_EQUAL(n, 7u);
  for (auto bad : {"", "-5", "+5", "5 ", "1e3", "0x10"})
    CAF_CHECK(!parse_saturated(bad, n));
}

CAF_TEST(shown locations never carry a secret) {
  const std::string secret = "SECRET123";
  // URLs: no userinfo, no parameter values but Google's harmless ones.
  for (auto loc : {"https://user:" + secret + "@example.com/x.csv",
                   "https://example.com/x.csv?key=" + secret,
                   "https://example.com/x.csv#access_token=" + secret,
                   "https://example.com/x.csv?" + secret,
                   "file:///tmp/x.csv?key=" + secret,
                   // Without a scheme: nothing after ? # & = is shown.
                   "user:" + secret + "@example.com/x.csv",
                   "1AbCdEf?key=" + secret,
                   "1AbCdEf&key=" + secret,
                   "1AbCdEf=" + secret,
                   "1AbCdEf#" + secret}) {
    auto shown = shown_location(loc);
    CAF_MESSAGE(loc << " -> " << shown);
    CAF_CHECK(!contains(shown, secret));
  }
  CAF_CHECK_EQUAL(shown_location("https://docs.google.com/spreadsheets/d/ID/export?format=csv&gid=7"),
                  "https://docs.google.com/spreadsheets/d/ID/export?format=csv&gid=7");
  CAF_CHECK_EQUAL(shown_location("https://example.com/x.csv?key=abc"),
                  "https://example.com/x.csv?key=***");
  CAF_CHECK_EQUAL(shown_location("1AbCdEf&key=abc"), "1AbCdEf***");
  CAF_CHECK_EQUAL(shown_location("1AbCdEfGhIjKlMnOpQrStUvWxYz"), "1AbCdEfGhIjKlMnOpQrStUvWxYz");
  CAF_CHECK_EQUAL(shown_location("/tmp/x.csv"), "/tmp/x.csv");
  // Bounded: a message stays readable.
  auto longest = shown_location(std::string(500, 'a'));
  CAF_CHECK_EQUAL(longest.size(), 120u);
  CAF_CHECK(longest.compare(117, 3, "...") == 0);
}
