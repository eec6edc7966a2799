#define CAF_SUITE fetch_plan
#include <caf/test/unit_test.hpp>

#include "sources/fetch_plan.hpp"

#include <string>
#include <vector>

using namespace sheetsync;

namespace {

/// A spreadsheet id of the usual shape (44 characters).
const std::string id = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms";

/// A publish key of the usual shape.
const std::string pub_key = "2PACX-1vQ_abcdefghijklmnopqrstuvwxyz0123456789-"
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789abcdefgh";

const std::string secret_key = "AIzaSyTOPSECRET-key_0123456789";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

struct outcome {
  bool ok;
  fetch_plan plan;
  failure err;
};

outcome run(const source_spec& src,
            const google_endpoints& ep = google_endpoints{}) {
  outcome res;
  res.ok = plan_fetch(src, ep, res.plan, res.err);
  if (res.ok)
    CAF_CHECK_EQUAL(res.err.code, ec::none);
  return res;
}

source_spec spec(std::string location, std::string gid = "") {
  source_spec src;
  src.name = "s";
  src.location = std::move(location);
  src.gid = std::move(gid);
  return src;
}

/// The export URL per the notes, on `base`.
std::string export_url(const std::string& base, const std::string& sheet,
                       const std::string& gid) {
  return base + "/spreadsheets/d/" + sheet + "/export?format=csv&gid=" + gid;
}

std::string publish_url(const std::string& base, const std::string& key,
                        const std::string& gid) {
  return base + "/spreadsheets/d/e/" + key + "/pub?gid=" + gid
         + "&single=true&output=csv";
}

const std::string docs = "https://docs.google.com";
const std::string api = "https://sheets.googleapis.com";

/// Checks that an error is an invalid_argument that says what is accepted.
void check_rejected(const source_spec& src, const std::string& must_say = "") {
  auto res = run(src);
  CAF_CHECK(!res.ok);
  CAF_CHECK_EQUAL(res.err.code, ec::invalid_argument);
  CAF_CHECK(!res.err.text.empty());
  if (!must_say.empty() && !contains(res.err.text, must_say))
    CAF_FAIL("error text \"" << res.err.text << "\" lacks \"" << must_say
                             << "\"");
  if (!src.api_key.empty())
    CAF_CHECK(!contains(res.err.text, src.api_key));
}

const std::string accepted = "docs.google.com/spreadsheets/d/ID/edit#gid=GID";

} // namespace

CAF_TEST(browser urls become the csv export) {
  struct row {
    std::string input;
    std::string gid; // expected in the URL
    std::string plan_gid;
  };
  std::vector<row> rows{
    {docs + "/spreadsheets/d/" + id + "/edit#gid=123", "123", "123"},
    {docs + "/spreadsheets/d/" + id + "/edit?gid=123", "123", "123"},
    {docs + "/spreadsheets/d/" + id + "/edit?usp=sharing#gid=123", "123",
     "123"},
    {docs + "/spreadsheets/d/" + id + "/edit?usp=sharing", "0", ""},
    // The fragment is what the browser updates when switching tabs.
    {docs + "/spreadsheets/d/" + id + "/edit?gid=5#gid=123", "123", "123"},
    {docs + "/spreadsheets/d/" + id + "/edit#gid=123&range=A1:B2", "123",
     "123"},
    {docs + "/spreadsheets/d/" + id + "/view#gid=77", "77", "77"},
    {docs + "/spreadsheets/d/" + id + "/htmlview?gid=77", "77", "77"},
    {docs + "/spreadsheets/d/" + id + "/htmlview", "0", ""},
    {docs + "/spreadsheets/u/0/d/" + id + "/edit#gid=9", "9", "9"},
    {docs + "/u/1/spreadsheets/d/" + id + "/edit#gid=9", "9", "9"},
    {docs + "/a/example.com/spreadsheets/d/" + id + "/edit#gid=9", "9", "9"},
    {docs + "/spreadsheets/d/" + id, "0", ""},
    {docs + "/spreadsheets/d/" + id + "/", "0", ""},
    {docs + "/spreadsheets/d/" + id + "/edit", "0", ""},
    {docs + "/spreadsheets/d/" + id + "/export?format=csv&gid=1500", "1500",
     "1500"},
    {docs + "/spreadsheets/d/" + id + "/edit#gid=0", "0", "0"},
    {"http://docs.google.com/spreadsheets/d/" + id + "/edit#gid=4", "4", "4"},
    {"HTTPS://DOCS.GOOGLE.COM/spreadsheets/d/" + id + "/edit#gid=4", "4",
     "4"},
    {"docs.google.com/spreadsheets/d/" + id + "/edit#gid=4", "4", "4"},
    {"  " + docs + "/spreadsheets/d/" + id + "/edit#gid=4\n", "4", "4"},
  };
  for (auto& r : rows) {
    CAF_MESSAGE("input " << r.input);
    auto res = run(spec(r.input));
    CAF_REQUIRE(res.ok);
    CAF_CHECK_EQUAL(res.plan.url, export_url(docs, id, r.gid));
    CAF_CHECK_EQUAL(res.plan.gid, r.plan_gid);
    CAF_CHECK_EQUAL(res.plan.spreadsheet_id, id);
    CAF_CHECK(res.plan.kind == source_kind::spreadsheet);
    CAF_CHECK(res.plan.format == body_format::csv);
    CAF_CHECK(!res.plan.needs_token);
    CAF_CHECK(res.plan.metadata_url.empty());
    CAF_CHECK(contains(res.plan.description, id));
    CAF_CHECK(contains(res.plan.description, "(export)"));
  }
}

CAF_TEST(a bare id and its length rule) {
  auto res = run(spec(id, "42"));
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.plan.url, export_url(docs, id, "42"));
  CAF_CHECK_EQUAL(res.plan.description,
                  "spreadsheet " + id + " tab gid 42 (export)");
  auto first = run(spec(id));
  CAF_REQUIRE(first.ok);
  CAF_CHECK_EQUAL(first.plan.url, export_url(docs, id, "0"));
  CAF_CHECK_EQUAL(first.plan.description,
                  "spreadsheet " + id + " first tab (export)");
  // 25 characters is the shortest bare id; shorter strings are typos.
  auto id25 = id.substr(0, 25);
  auto ok25 = run(spec(id25));
  CAF_REQUIRE(ok25.ok);
  CAF_CHECK_EQUAL(ok25.plan.url, export_url(docs, id25, "0"));
  check_rejected(spec(id.substr(0, 24)), accepted);
  check_rejected(spec(std::string(201, 'a')), accepted);
  // An id in a URL may be of any length (tests and fakes use short ones).
  auto short_url = run(spec(docs + "/spreadsheets/d/abc/edit#gid=1"));
  CAF_REQUIRE(short_url.ok);
  CAF_CHECK_EQUAL(short_url.plan.url, export_url(docs, "abc", "1"));
}

CAF_TEST(published urls) {
  std::vector<std::pair<std::string, std::string>> rows{
    {docs + "/spreadsheets/d/e/" + pub_key
       + "/pub?gid=0&single=true&output=csv",
     "0"},
    {docs + "/spreadsheets/d/e/" + pub_key + "/pub?gid=55&single=true&output=csv",
     "55"},
    {docs + "/spreadsheets/d/e/" + pub_key + "/pubhtml", "0"},
    {docs + "/spreadsheets/d/e/" + pub_key + "/pubhtml?gid=8&single=true", "8"},
    {docs + "/spreadsheets/d/e/" + pub_key + "/pubhtml#gid=8", "8"},
    {docs + "/spreadsheets/d/e/" + pub_key + "/pub?output=csv", "0"},
    {pub_key, "0"},
  };
  for (auto& [input, gid] : rows) {
    CAF_MESSAGE("input " << input);
    auto res = run(spec(input));
    CAF_REQUIRE(res.ok);
    CAF_CHECK_EQUAL(res.plan.url, publish_url(docs, pub_key, gid));
    CAF_CHECK(res.plan.kind == source_kind::published);
    CAF_CHECK_EQUAL(res.plan.publish_key, pub_key);
    CAF_CHECK_EQUAL(res.plan.spreadsheet_id, "");
    CAF_CHECK(res.plan.format == body_format::csv);
    CAF_CHECK(contains(res.plan.description, pub_key));
  }
  // spec.gid wins here too.
  auto res = run(spec(rows[1].first, "99"));
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.plan.url, publish_url(docs, pub_key, "99"));
}

CAF_TEST(google urls are rebuilt on the configured endpoints) {
  google_endpoints ep;
  ep.docs_base = "http://127.0.0.1:8123/fake-docs/";
  ep.sheets_api_base = "http://127.0.0.1:8124";
  auto base = std::string{"http://127.0.0.1:8123/fake-docs"};
  auto res = run(spec(docs + "/spreadsheets/d/" + id + "/edit#gid=3"), ep);
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.plan.url, export_url(base, id, "3"));
  res = run(spec(id), ep);
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.plan.url, export_url(base, id, "0"));
  res = run(spec(docs + "/spreadsheets/d/e/" + pub_key + "/pubhtml"), ep);
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.plan.url, publish_url(base, pub_key, "0"));
  // A sheet URL on the fake itself is a sheet URL.
  res = run(spec(base + "/spreadsheets/d/xyz/edit#gid=12"), ep);
  CAF_REQUIRE(res.ok);
  CAF_CHECK(res.plan.kind == source_kind::spreadsheet);
  CAF_CHECK_EQUAL(res.plan.url, export_url(base, "xyz", "12"));
  // Other paths on the same host are plain CSV URLs, used as is.
  auto plain = std::string{"http://127.0.0.1:8123/fake-docs/data.csv?gid=4"};
  res = run(spec(plain), ep);
  CAF_REQUIRE(res.ok);
  CAF_CHECK(res.plan.kind == source_kind::url);
  CAF_CHECK_EQUAL(res.plan.url, plain);
  res = run(spec("http://127.0.0.1:8123/other/spreadsheets/d/xyz/edit"), ep);
  CAF_REQUIRE(res.ok);
  CAF_CHECK(res.plan.kind == source_kind::url);
  // The API as well.
  auto src = spec(id, "3");
  src.api_key = secret_key;
  res = run(src, ep);
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.plan.api_base, "http://127.0.0.1:8124");
  CAF_CHECK_EQUAL(res.plan.metadata_url,
                  "http://127.0.0.1:8124/v4/spreadsheets/" + id
                    + "?fields=sheets.properties(sheetId,title,"
                      "gridProperties.rowCount)&key="
                    + secret_key);
  CAF_CHECK_EQUAL(values_url(res.plan, "Tab"),
                  "http://127.0.0.1:8124/v4/spreadsheets/" + id
                    + "/values/%27Tab%27?majorDimension=ROWS&"
                      "valueRenderOption=FORMATTED_VALUE&key="
                    + secret_key);
}

CAF_TEST(gid precedence and checks) {
  auto url = docs + "/spreadsheets/d/" + id + "/edit#gid=7";
  auto res = run(spec(url, "42"));
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.plan.gid, "42");
  CAF_CHECK_EQUAL(res.plan.url, export_url(docs, id, "42"));
  res = run(spec(url, "0"));
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.plan.url, export_url(docs, id, "0"));
  res = run(spec(url, "007"));
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.plan.gid, "7");
  res = run(spec(url));
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.plan.gid, "7");
  check_rejected(spec(url, "abc"), "#gid=");
  check_rejected(spec(url, "-1"), "not a number");
  check_rejected(spec(url, "1.5"), "not a number");
  check_rejected(spec(url, std::string(30, '9')), "not a number");
  check_rejected(spec(docs + "/spreadsheets/d/" + id + "/edit#gid=abc"),
                 "not a number");
  // A bad URL gid does not matter when the spec names the tab.
  res = run(spec(docs + "/spreadsheets/d/" + id + "/edit#gid=abc", "5"));
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.plan.gid, "5");
}

CAF_TEST(plain csv urls are used as is) {
  for (std::string url : {"https://example.com/data.csv",
                          "http://127.0.0.1:9000/sheet.csv?x=1#frag",
                          "file:///tmp/sheet.csv", "FILE:///tmp/S.csv",
                          "https://docs.google.com.evil.example/spreadsheets/"
                          "d/abc/edit"}) {
    CAF_MESSAGE("input " << url);
    auto res = run(spec(url));
    CAF_REQUIRE(res.ok);
    CAF_CHECK_EQUAL(res.plan.url, url);
    CAF_CHECK(res.plan.kind == source_kind::url);
    CAF_CHECK_EQUAL(res.plan.spreadsheet_id, "");
    CAF_CHECK(!res.plan.needs_token);
    CAF_CHECK(res.plan.format == body_format::csv);
  }
  // Secrets in the URL stay out of the description.
  auto url = std::string{"https://user:hunter2@example.com/x.csv?token=s3cr3t"};
  auto res = run(spec(url));
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.plan.url, url);
  CAF_CHECK(!contains(res.plan.description, "s3cr3t"));
  CAF_CHECK(!contains(res.plan.description, "hunter2"));
  CAF_CHECK(contains(res.plan.description, "example.com/x.csv"));
  CAF_CHECK_EQUAL(describe(spec(url)), res.plan.description);
}

CAF_TEST(access mode selection) {
  // Automatic: export without a key, API with one.
  auto src = spec(id, "9");
  auto res = run(src);
  CAF_REQUIRE(res.ok);
  CAF_CHECK(res.plan.format == body_format::csv);
  src.api_key = secret_key;
  res = run(src);
  CAF_REQUIRE(res.ok);
  CAF_CHECK(res.plan.format == body_format::sheet_values);
  CAF_CHECK(!res.plan.needs_token);
  CAF_CHECK_EQUAL(res.plan.url, "");
  CAF_CHECK_EQUAL(res.plan.api_key, secret_key);
  CAF_CHECK_EQUAL(res.plan.metadata_url,
                  api + "/v4/spreadsheets/" + id
                    + "?fields=sheets.properties(sheetId,title,"
                      "gridProperties.rowCount)&key="
                    + secret_key);
  CAF_CHECK_EQUAL(res.plan.description,
                  "spreadsheet " + id + " tab gid 9 (Sheets API, API key)");
  CAF_CHECK(!contains(res.plan.description, secret_key));
  // Forced export ignores the key.
  src.access = access_mode::export_csv;
  res = run(src);
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(res.plan.url, export_url(docs, id, "9"));
  CAF_CHECK(!contains(res.plan.url, secret_key));
  // Automatic with a key but a published or plain URL: CSV.
  auto pub = spec(pub_key);
  pub.api_key = secret_key;
  res = run(pub);
  CAF_REQUIRE(res.ok);
  CAF_CHECK(res.plan.format == body_format::csv);
  CAF_CHECK(!contains(res.plan.url, secret_key));
  // Credentials: a token for export and API alike; no key in the URL then.
  auto priv = spec(docs + "/spreadsheets/d/" + id + "/edit#gid=2");
  priv.credentials = "/etc/sheetsync/sa.json";
  res = run(priv);
  CAF_REQUIRE(res.ok);
  CAF_CHECK(res.plan.needs_token);
  CAF_CHECK_EQUAL(res.plan.url, export_url(docs, id, "2"));
  CAF_CHECK_EQUAL(res.plan.description,
                  "spreadsheet " + id + " tab gid 2 (export, service account)");
  priv.access = access_mode::api;
  priv.api_key = secret_key;
  res = run(priv);
  CAF_REQUIRE(res.ok);
  CAF_CHECK(res.plan.needs_token);
  CAF_CHECK(res.plan.format == body_format::sheet_values);
  CAF_CHECK_EQUAL(res.plan.api_key, "");
  CAF_CHECK_EQUAL(res.plan.metadata_url,
                  api + "/v4/spreadsheets/" + id
                    + "?fields=sheets.properties(sheetId,title,"
                      "gridProperties.rowCount)");
  CAF_CHECK(!contains(values_url(res.plan, "T"), "key="));
  // API without key or credentials.
  auto bare = spec(id);
  bare.access = access_mode::api;
  check_rejected(bare, "--api-key");
  // API on a published sheet or a plain URL.
  auto pub_api = spec(pub_key);
  pub_api.access = access_mode::api;
  pub_api.api_key = secret_key;
  check_rejected(pub_api, "published");
  auto plain_api = spec("https://example.com/a.csv");
  plain_api.access = access_mode::api;
  plain_api.api_key = secret_key;
  check_rejected(plain_api, "--access=export");
  // A token never goes to another host; a gid means nothing there.
  auto plain_cred = spec("https://example.com/a.csv");
  plain_cred.credentials = "/etc/sa.json";
  check_rejected(plain_cred, "never sent");
  check_rejected(spec("https://example.com/a.csv", "3"), "gid");
}

CAF_TEST(api ranges and titles) {
  auto src = spec(id);
  src.api_key = secret_key;
  auto values = [&](const std::string& a1) {
    return api + "/v4/spreadsheets/" + id + "/values/" + a1
           + "?majorDimension=ROWS&valueRenderOption=FORMATTED_VALUE&key="
           + secret_key;
  };
  // No range: metadata first, then the tab's title, quoted.
  auto res = run(src);
  CAF_REQUIRE(res.ok);
  CAF_CHECK(!res.plan.metadata_url.empty());
  CAF_CHECK_EQUAL(values_url(res.plan, "Sheet1"), values(("%27Sheet1%27")));
  CAF_CHECK_EQUAL(values_url(res.plan, "My Tab"), values("%27My%20Tab%27"));
  CAF_CHECK_EQUAL(values_url(res.plan, "Bob's"), values("%27Bob%27%27s%27"));
  CAF_CHECK_EQUAL(values_url(res.plan, "Données/€"),
                  values("%27Donn%C3%A9es%2F%E2%82%AC%27"));
  CAF_CHECK_EQUAL(values_url(res.plan, "a&b=c?#"),
                  values("%27a%26b%3Dc%3F%23%27"));
  // A range that names its tab: straight to the values.
  src.range = "'My Tab'!A1:C10";
  res = run(src);
  CAF_REQUIRE(res.ok);
  CAF_CHECK(res.plan.metadata_url.empty());
  CAF_CHECK_EQUAL(res.plan.url, values("%27My%20Tab%27%21A1%3AC10"));
  CAF_CHECK(contains(res.plan.description, "range 'My Tab'!A1:C10"));
  // A range without a tab and no gid: the first tab, straight away.
  src.range = "A1:D";
  res = run(src);
  CAF_REQUIRE(res.ok);
  CAF_CHECK(res.plan.metadata_url.empty());
  CAF_CHECK_EQUAL(res.plan.url, values("A1%3AD"));
  // ... with a gid: the title first, then the range inside it.
  src.gid = "77";
  res = run(src);
  CAF_REQUIRE(res.ok);
  CAF_CHECK(!res.plan.metadata_url.empty());
  CAF_CHECK_EQUAL(res.plan.range, "A1:D");
  CAF_CHECK_EQUAL(values_url(res.plan, "Data"), values("%27Data%27%21A1%3AD"));
  // Ranges are used as is when told so.
  CAF_CHECK_EQUAL(values_url(res.plan, "Data!B2", false), values("Data%21B2"));
}

CAF_TEST(invalid locations say what is accepted) {
  check_rejected(spec(""), accepted);
  check_rejected(spec("   "), accepted);
  check_rejected(spec("ftp://example.com/a.csv"), "ftp://");
  check_rejected(spec("ftp://example.com/a.csv"), accepted);
  check_rejected(spec("garbage value"), accepted);
  check_rejected(spec("sheet1"), accepted);
  check_rejected(spec("/tmp/a.csv"), accepted);
  check_rejected(spec("https://"), accepted);
  check_rejected(spec("https:///a.csv"), "no host");
  check_rejected(spec("://x"), accepted);
  check_rejected(spec(docs + "/document/d/" + id + "/edit"), accepted);
  check_rejected(spec(docs + "/spreadsheets/d/ab$cd/edit"), "spreadsheet id");
  check_rejected(spec(docs + "/spreadsheets/d/e/"), accepted);
  // A location holding a key is redacted in the message.
  auto res = run(spec("ftp://example.com/a.csv?key=" + secret_key));
  CAF_CHECK(!res.ok);
  CAF_CHECK(!contains(res.err.text, secret_key));
  CAF_CHECK_EQUAL(describe(spec("ftp://h/a?key=" + secret_key)).find(secret_key),
                  std::string::npos);
}

CAF_TEST(percent encoding) {
  CAF_CHECK_EQUAL(percent_encode("aZ09-._~"), "aZ09-._~");
  CAF_CHECK_EQUAL(percent_encode(" !'%/:"), "%20%21%27%25%2F%3A");
  CAF_CHECK_EQUAL(percent_encode("\xC3\xA9"), "%C3%A9");
  CAF_CHECK_EQUAL(percent_encode(""), "");
}
