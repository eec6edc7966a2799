// The source checker for real: detached, with libcurl, against the fake Google
// (tests/fake_google.py: export, Sheets API with tabs, token endpoint) and the
// fake server (tests/fake_server.py: HTML, slow and huge bodies) on loopback.
// Each case plans a source as the coordinator would and checks what the
// checker answers: the header and first rows, or the message in words.

#define CAF_SUITE source_checker
#include <caf/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/source_checker.hpp"
#include "actors/token_provider.hpp"
#include "messages/error.hpp"
#include "messages/system_config.hpp"
#include "sources/credentials.hpp"
#include "store/sheet_store.hpp"
#include "tests/check_msg.hpp"
#include "tests/fake_server.hpp"
#include "tests/test_credentials.hpp"

using namespace sheetsync;
using namespace sheetsync::test;
using namespace std::chrono_literals;
using caf::term; // for CHECK_MSG

namespace {

bool contains(const std::string& str, const std::string& part) {
  return str.find(part) != std::string::npos;
}

const std::string api_key = "AIzaSyFakeCheckerKey0123456789";
const std::string client_email = "checker@sheetsync-test.iam.gserviceaccount.com";

std::string sheet_id(const std::string& name) {
  auto id = "1" + name + std::string(44, '_');
  return id.substr(0, 44);
}

const std::string public_id = sheet_id("PublicTwelveRows");
const std::string private_id = sheet_id("PrivateForSomeoneElse");
const std::string tabs_id = sheet_id("TwoTabs");

/// The fake Google's sheets: a public one with 12 data rows, a private one
/// shared with someone else, and a public one with two tabs.
std::string sheets_json() {
  std::string rows = "[[\"id\", \"name\", \"\"]";
  for (int i = 1; i <= 12; ++i)
    rows += ", [\"" + std::to_string(i) + "\", \"row " + std::to_string(i) + "\", \"x\"]";
  rows += "]";
  return "{\"" + public_id + "\": {\"public\": true, \"tabs\": [{\"gid\": 0, \"title\": "
         "\"Sheet1\", \"values\": " + rows + "}]}, \""
         + private_id + "\": {\"public\": false, \"shared_with\": [\"else@example.com\"], "
         "\"tabs\": [{\"gid\": 0, \"title\": \"Sheet1\", \"values\": [[\"a\"], [\"1\"]]}]}, \""
         + tabs_id + "\": {\"public\": true, \"tabs\": [{\"gid\": 0, \"title\": \"Orders\", "
         "\"values\": [[\"order\", \"qty\"], [\"A-1\", \"5\"], [\"B-2\", \"7\"]]}, "
         "{\"gid\": 1834629201, \"title\": \"Stock 2\", \"values\": [[\"sku\", \"left\"], "
         "[\"S-1\", \"0\"]]}]}}";
}

struct fixture {
  temp_dir dir{"sheetsync-checker-test-"};
  fake_server google{{"--sheets", dir.write("sheets.json", sheets_json()), "--api-key",
                      api_key, "--public-key", dir.write("public.pem", test_key().public_pem),
                      "--client-email", client_email},
                     SHEETSYNC_SOURCE_DIR "/tests/fake_google.py"};
  system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};

  google_endpoints endpoints() {
    google_endpoints ep;
    ep.docs_base = google.url("");
    ep.sheets_api_base = google.url("");
    return ep;
  }

  fetch_plan plan(source_spec src) {
    src.name = "x";
    fetch_plan result;
    failure err;
    if (!plan_fetch(src, endpoints(), result, err))
      CAF_FAIL("plan_fetch: " << err.text);
    return result;
  }

  fetch_plan plan(const std::string& location, access_mode access = access_mode::automatic,
                  const std::string& key = "") {
    source_spec src;
    src.location = location;
    src.access = access;
    src.api_key = key;
    return plan(src);
  }

  /// Spawns a checker and waits for its answer.
  source_check check(const fetch_plan& p, token_provider_actor token = {},
                     const std::string& email = "", caf::timespan timeout = 10s) {
    auto checker = sys.spawn<caf::detached>(source_checker, p, token, email, timeout);
    source_check result;
    result.message = "no answer";
    self->request(checker, 60s, atom::check::value)
      .receive([&](source_check& x) { result = std::move(x); },
               [&](caf::error& err) { result.message = "error: " + error_text(err); });
    return result;
  }

  void check_refused(const source_check& x, const std::vector<std::string>& parts) {
    CHECK_MSG(!x.ok, "unexpectedly ok");
    for (auto& part : parts)
      CHECK_MSG(contains(x.message, part), "'" << x.message << "' lacks '" << part << "'");
    CAF_CHECK(x.columns.empty() && x.rows.empty());
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(source_checker_tests, fixture)

CAF_TEST(a good sheet shows its header and first five rows) {
  auto x = check(plan(google.url("/spreadsheets/d/" + public_id + "/edit#gid=0")));
  CHECK_MSG(x.ok, x.message);
  CAF_CHECK_EQUAL(x.access, "export");
  // Named as the cache names columns: the empty header cell too.
  CAF_CHECK_EQUAL(x.columns, (std::vector<std::string>{"id", "name", "column_3"}));
  CAF_REQUIRE_EQUAL(x.rows.size(), 5u);
  CAF_CHECK_EQUAL(x.rows[0], (std::vector<std::string>{"1", "row 1", "x"}));
  CAF_CHECK_EQUAL(x.rows[4], (std::vector<std::string>{"5", "row 5", "x"}));
  CAF_CHECK(x.tabs.empty());
  CHECK_MSG(sheet_store::valid_table_name(x.name) && !contains(x.name, "__"), x.name);
  CAF_CHECK_EQUAL(x.name.rfind("sheet_", 0), 0u);
}

CAF_TEST(a sheet that is not shared says what to do) {
  // Without credentials Google answers its sign-in page.
  auto x = check(plan(private_id));
  check_refused(x, {"HTML page instead of CSV", "Anyone with the link"});
}

CAF_TEST(an unknown sheet is a 404 naming the id) {
  auto x = check(plan(sheet_id("NoSuchSheetAnywhere")));
  check_refused(x, {"HTTP 404", "check the spreadsheet id " + sheet_id("NoSuchSheetAnywhere")});
}

CAF_TEST(the sheets api lists the tabs and reads the planned tab) {
  auto x = check(plan(google.url("/spreadsheets/d/" + tabs_id + "/edit#gid=1834629201"),
                      access_mode::api, api_key));
  CHECK_MSG(x.ok, x.message);
  CAF_CHECK_EQUAL(x.access, "api");
  CAF_REQUIRE_EQUAL(x.tabs.size(), 2u);
  CAF_CHECK_EQUAL(x.tabs[0], (tab_info{"0", "Orders"}));
  CAF_CHECK_EQUAL(x.tabs[1], (tab_info{"1834629201", "Stock 2"}));
  CAF_CHECK_EQUAL(x.columns, (std::vector<std::string>{"sku", "left"}));
  CAF_CHECK_EQUAL(x.rows, (std::vector<std::vector<std::string>>{{"S-1", "0"}}));
  // From the spreadsheet's title (the fake's: "Sheet <id>").
  CAF_CHECK_EQUAL(x.name, proposed_source_name(fetch_plan{}, "Sheet " + tabs_id));
  CHECK_MSG(sheet_store::valid_table_name(x.name) && !contains(x.name, "__"), x.name);
  // The API asked for the first rows only.
  auto first = check(plan(public_id, access_mode::api, api_key));
  CHECK_MSG(first.ok, first.message);
  CAF_CHECK_EQUAL(first.rows.size(), 5u);
  CAF_CHECK_EQUAL(first.tabs, (std::vector<tab_info>{{"0", "Sheet1"}}));
}

CAF_TEST(the sheets api refusals are explained) {
  auto x = check(plan(private_id, access_mode::api, api_key));
  check_refused(x, {"HTTP 403", "an API key only reads sheets that anyone with the link can view"});
  x = check(plan(sheet_id("NoSuchSheetAnywhere"), access_mode::api, api_key));
  check_refused(x, {"HTTP 404"});
  source_spec src;
  src.location = public_id;
  src.gid = "77";
  src.access = access_mode::api;
  src.api_key = api_key;
  x = check(plan(src));
  check_refused(x, {"no tab with gid 77"});
}

CAF_TEST(credentials: a 403 names the service account and a bad key says so) {
  source_spec src;
  src.location = private_id;
  src.credentials = "/etc/sa.json";
  auto p = plan(src);
  CAF_REQUIRE(p.needs_token);
  service_account sa;
  sa.client_email = client_email;
  sa.private_key_pem = test_key().private_pem;
  sa.token_uri = google.url("/token");
  auto tp = sys.spawn<caf::detached>(token_provider, google_credentials{sa, ""},
                                     std::function<int64_t()>{});
  auto x = check(p, tp, client_email);
  check_refused(x, {"HTTP 403", "share the sheet with the service account's e-mail address "
                                  + client_email});
  // A key Google does not know: the token exchange's refusal, in words.
  sa.private_key_pem = key_pair::generate().private_pem;
  auto bad = sys.spawn<caf::detached>(token_provider, google_credentials{sa, ""},
                                      std::function<int64_t()>{});
  x = check(p, bad, client_email);
  check_refused(x, {"service account " + client_email, "invalid_grant"});
  CAF_CHECK(!contains(x.message, "PRIVATE KEY"));
  caf::anon_send_exit(tp, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(bad, caf::exit_reason::user_shutdown);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- plain URLs against the fake server --------------------------------------------

namespace {

struct url_fixture {
  system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};

  source_check check(const std::string& url) {
    source_spec src;
    src.name = "x";
    src.location = url;
    fetch_plan p;
    failure err;
    if (!plan_fetch(src, google_endpoints{}, p, err))
      CAF_FAIL("plan_fetch: " << err.text);
    auto checker = sys.spawn<caf::detached>(source_checker, p, token_provider_actor{},
                                            std::string{}, caf::timespan{10s});
    source_check result;
    self->request(checker, 60s, atom::check::value)
      .receive([&](source_check& x) { result = std::move(x); },
               [&](caf::error& err) { result.message = "error: " + error_text(err); });
    return result;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(source_checker_url_tests, url_fixture)

CAF_TEST(an html page is refused in words) {
  fake_server server;
  auto x = check(server.url("/html"));
  CHECK_MSG(!x.ok && contains(x.message, "HTML page instead of CSV"), x.message);
  x = check(server.url("/html-as-csv"));
  CHECK_MSG(!x.ok && contains(x.message, "HTML page instead of CSV"), x.message);
}

CAF_TEST(bytes that are not csv are refused in words) {
  temp_dir dir{"sheetsync-checker-notcsv-"};
  fake_server server{{"--csv", dir.write("bad.csv", "a,b\n\xff\xfe\x00\x01,2\n")}};
  auto x = check(server.url("/ok.csv"));
  CHECK_MSG(!x.ok && contains(x.message, "UTF-8"), x.message);
}

CAF_TEST(a check stops reading once it has the rows) {
  fake_server server;
  // 2000 lines, one every 50 ms: the whole body takes 100 s.
  auto start = std::chrono::steady_clock::now();
  auto x = check(server.url("/slow?lines=2000&interval_ms=50"));
  auto took = std::chrono::steady_clock::now() - start;
  CHECK_MSG(x.ok, x.message);
  CAF_CHECK_EQUAL(x.columns, (std::vector<std::string>{"row", "0"}));
  CAF_CHECK_EQUAL(x.rows.size(), 5u);
  CAF_CHECK(took < 10s);
  CAF_CHECK_EQUAL(x.name, "slow");
  // 50 MB announced: not refused for its size, and read no further than 1 MiB.
  start = std::chrono::steady_clock::now();
  x = check(server.url("/big?bytes=50000000"));
  CHECK_MSG(x.ok, x.message);
  CAF_CHECK_EQUAL(x.rows.size(), 5u);
  CAF_CHECK(std::chrono::steady_clock::now() - start < 10s);
}

CAF_TEST(proposed names are valid source names) {
  fetch_plan p;
  p.kind = source_kind::spreadsheet;
  p.spreadsheet_id = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd";
  CAF_CHECK_EQUAL(proposed_source_name(p, "Q1 Sales -- EU (draft)"), "q1_sales_eu_draft");
  CAF_CHECK_EQUAL(proposed_source_name(p, ""), "sheet_1abcdefg");
  CAF_CHECK_EQUAL(proposed_source_name(p, "日本"), "sheet_1abcdefg");
  CAF_CHECK_EQUAL(proposed_source_name(p, "sync_runs"), "sheet_sync_runs");
  CAF_CHECK_EQUAL(proposed_source_name(p, std::string(100, 'a')), std::string(40, 'a'));
  p.kind = source_kind::url;
  p.url = "https://example.com/exports/Monthly%20Report.csv?x=1";
  CAF_CHECK_EQUAL(proposed_source_name(p, ""), "monthly_report");
  p.kind = source_kind::published;
  p.publish_key = "2PACX-1vQabcdefghij";
  CAF_CHECK_EQUAL(proposed_source_name(p, ""), "sheet_1vqabcde");
}

CAF_TEST_FIXTURE_SCOPE_END()
