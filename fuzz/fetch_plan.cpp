// Fuzz target: source locations (sources/fetch_plan).
//
// The input's lines are a source: location, gid, range, access ("auto",
// "export", "api"), and a fifth line that, when not empty, gives the source a
// credentials file. The API key is a fixed secret. Checks: a failure is
// ec::invalid_argument with a message; a plan has a URL (or a metadata URL first), a description and a
// normalised gid, asks for a token only with credentials, and neither the
// description, the error nor describe() shows the API key (unless the input
// itself holds it elsewhere); values_url, normal_gid and percent_encode keep
// their documented forms.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/check.hpp"
#include "sources/fetch_plan.hpp"

using namespace sheetsync;

namespace {

constexpr const char* api_key = "AIzaFuzzSecretKey0123456789abcdefghij";

bool unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
         || c == '-' || c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

void check_percent_encode(const std::string& str) {
  auto enc = percent_encode(str);
  std::string dec;
  for (size_t i = 0; i < enc.size(); ++i) {
    if (enc[i] != '%') {
      FUZZ_CHECK(unreserved(enc[i]), enc);
      dec += enc[i];
      continue;
    }
    FUZZ_CHECK(i + 2 < enc.size() && hex_value(enc[i + 1]) >= 0
                 && hex_value(enc[i + 2]) >= 0,
               enc);
    dec += static_cast<char>(hex_value(enc[i + 1]) * 16 + hex_value(enc[i + 2]));
    i += 2;
  }
  FUZZ_CHECK(dec == str, "percent_encode does not decode back");
}

void check_gid(const std::string& gid) {
  std::string out = "untouched";
  if (!normal_gid(gid, out)) {
    FUZZ_CHECK(out == "untouched", "normal_gid changed its output on failure");
    return;
  }
  FUZZ_CHECK(!out.empty() && out.size() <= 18, out);
  FUZZ_CHECK(out == "0" || out[0] != '0', out);
  for (auto c : out)
    FUZZ_CHECK(c >= '0' && c <= '9', out);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::guarded(data, size, [](std::string_view input) {
    std::vector<std::string> lines;
    size_t pos = 0;
    while (lines.size() < 4) {
      auto nl = input.find('\n', pos);
      if (nl == std::string_view::npos)
        break;
      lines.emplace_back(input.substr(pos, nl - pos));
      pos = nl + 1;
    }
    lines.emplace_back(input.substr(std::min(pos, input.size())));
    lines.resize(5);
    source_spec src;
    src.location = lines[0];
    src.gid = lines[1];
    src.range = lines[2];
    if (!from_string(lines[3], src.access))
      src.access = access_mode::automatic;
    src.api_key = api_key;
    if (!lines[4].empty())
      src.credentials = "/etc/sheetsync/credentials.json";
    bool key_in_input = input.find(api_key) != std::string_view::npos;
    fetch_plan plan;
    failure err;
    if (!plan_fetch(src, google_endpoints{}, plan, err)) {
      FUZZ_CHECK(err.code == ec::invalid_argument, err.text);
      FUZZ_CHECK(!err.text.empty(), "a failure without a message");
      FUZZ_CHECK(key_in_input || err.text.find(api_key) == std::string::npos,
                 "the error shows the API key");
    } else {
      FUZZ_CHECK(!plan.url.empty() || !plan.metadata_url.empty(),
                 "a plan without a URL");
      FUZZ_CHECK(!plan.description.empty(), "a plan without a description");
      FUZZ_CHECK(key_in_input || plan.description.find(api_key) == std::string::npos,
                 "the description shows the API key: " + plan.description);
      FUZZ_CHECK(!plan.needs_token || !src.credentials.empty(),
                 "a token without credentials");
      if (!plan.gid.empty()) {
        std::string gid;
        FUZZ_CHECK(normal_gid(plan.gid, gid) && gid == plan.gid, plan.gid);
      }
      if (!plan.spreadsheet_id.empty()) {
        values_url(plan, lines[2], true);
        values_url(plan, lines[2], false);
      }
    }
    auto shown = describe(src);
    FUZZ_CHECK(key_in_input || shown.find(api_key) == std::string::npos,
               "describe() shows the API key");
    check_gid(lines[1]);
    check_percent_encode(lines[0]);
  });
}
