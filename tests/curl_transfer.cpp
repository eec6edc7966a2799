#define CAF_SUITE curl_transfer
#include <caf/test/unit_test.hpp>

#include "net/curl_transfer.hpp"
#include "net/redact.hpp"
#include "sources/backoff.hpp"
#include "tests/fake_server.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include <csignal>
#include <utility>

#include <curl/curl.h>
#include <stdexcept>

#include <unistd.h>

using namespace sheetsync;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

/// A CSV with the bytes that get mangled most easily: CRLF and LF, quotes, UTF-8, a NUL, and
/// enough rows (~200 KB) to arrive in many pieces.
std::string make_csv() {
  std::string csv = "id,name,comment\r\n";
  for (int i = 1; i <= 4000; ++i) {
    csv += std::to_string(i) + ",Zoë " + std::to_string(i) + ",\"says \"\"hi\"\",\nthen, leaves\"";
    csv += (i % 2 == 0) ? "\r\n" : "\n";
  }
  csv += "4001,nul,";
  csv += '\0';
  csv += "\n";
  return csv;
}

std::string write_temp_file(const std::string& content) {
  char path[] = "/tmp/sheetsync_curl_test_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0)
    throw std::runtime_error("mkstemp failed");
  close(fd);
  std::ofstream out{path, std::ios::binary};
  out << content;
  return path;
}

/// One fake server (and CSV file) for the whole suite: starting python per test costs ~100 ms.
struct environment {
  std::string csv = make_csv();
  std::string csv_path = write_temp_file(csv);
  test::fake_server server{{"--csv", csv_path}};

  ~environment() {
    std::remove(csv_path.c_str());
  }
};

environment& env() {
  static environment instance;
  return instance;
}

struct outcome {
  curl_transfer::state state = curl_transfer::state::running;
  std::string body;
  failure error;
  std::optional<uint64_t> expected;
  uint64_t received = 0;
  long status = 0;
  std::string content_type;
  milliseconds elapsed{0};
};

/// Drives a transfer with step(10ms) until it ends (or 8 s pass, which fails the checks).
outcome drive(curl_transfer& t) {
  outcome result;
  auto start = steady_clock::now();
  while (t.step(10ms) == curl_transfer::state::running && steady_clock::now() - start < 8s)
    t.take(result.body);
  t.take(result.body);
  result.elapsed = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
  result.state = t.current_state();
  result.error = t.error();
  result.expected = t.expected_bytes();
  result.received = t.bytes_received();
  result.status = t.http_status();
  result.content_type = t.content_type();
  return result;
}

outcome fetch(transfer_options opts, std::shared_ptr<std::atomic<bool>> cancel = nullptr) {
  curl_transfer t{std::move(opts), std::move(cancel)};
  return drive(t);
}

transfer_options options_for(const std::string& url) {
  transfer_options opts;
  opts.url = url;
  return opts;
}

outcome fetch(const std::string& url) {
  return fetch(options_for(url));
}

std::string url(const std::string& path) {
  return env().server.url(path);
}

std::string name(curl_transfer::state s) {
  switch (s) {
    case curl_transfer::state::running: return "running";
    case curl_transfer::state::done: return "done";
    case curl_transfer::state::failed: return "failed";
  }
  return "?";
}

std::string name(ec code) {
  return sheetsync::to_string(code);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// -1 for "unknown", to compare optionals with CAF_CHECK_EQUAL.
int64_t or_unknown(std::optional<uint64_t> x) {
  return x ? static_cast<int64_t>(*x) : -1;
}

} // namespace

#define CHECK_DONE(r)                                                          \
  do {                                                                         \
    CAF_CHECK_EQUAL(name((r).state), "done");                                  \
    CAF_CHECK_EQUAL((r).error.text, "");                                       \
  } while (false)

/// On a missing text part, the failing CAF_CHECK_EQUAL shows the whole error text.
#define CHECK_FAILED(r, expected_code, text_part)                              \
  do {                                                                         \
    CAF_CHECK_EQUAL(name((r).state), "failed");                                \
    CAF_CHECK_EQUAL(name((r).error.code), name(expected_code));                \
    if (!contains((r).error.text, text_part))                                  \
      CAF_CHECK_EQUAL((r).error.text, "... " text_part " ...");                \
  } while (false)

// -- success ------------------------------------------------------------------------------------

CAF_TEST(200 with content length) {
  auto r = fetch(url("/ok.csv"));
  CHECK_DONE(r);
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(r.content_type, "text/csv; charset=utf-8");
  CAF_CHECK(r.body == env().csv); // not CHECK_EQUAL: 200 KB in a failure message helps no one
  CAF_CHECK_EQUAL(r.body.size(), env().csv.size());
  CAF_CHECK_EQUAL(or_unknown(r.expected), static_cast<int64_t>(env().csv.size()));
  CAF_CHECK_EQUAL(r.received, env().csv.size());
}

CAF_TEST(200 without content length) {
  for (auto path : {"/nolength.csv", "/chunked.csv"}) {
    CAF_MESSAGE(path);
    auto r = fetch(url(path));
    CHECK_DONE(r);
    CAF_CHECK(r.body == env().csv);
    CAF_CHECK_EQUAL(or_unknown(r.expected), -1);
    CAF_CHECK_EQUAL(r.received, env().csv.size());
  }
}

CAF_TEST(307 chain across hosts) {
  auto r = fetch(url("/redirect/3?format=csv&gid=0"));
  CHECK_DONE(r);
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK(r.body == env().csv);
  CAF_CHECK_EQUAL(or_unknown(r.expected), static_cast<int64_t>(env().csv.size()));
  // The hop really changes host: the final request arrives with "Host: localhost:<port>".
  auto to = env().server.url("localhost", "/headers");
  auto h = fetch(url("/redirect-to?url=" + to));
  CHECK_DONE(h);
  CAF_CHECK(contains(h.body, "host,localhost:" + std::to_string(env().server.port())));
}

CAF_TEST(too many redirects) {
  // A redirect loop fails the same way every time: not worth another attempt.
  auto r = fetch(url("/redirect/11"));
  CHECK_FAILED(r, ec::unfetchable, "too many redirects");
  CAF_CHECK(!retryable(r.error));
  auto ok = fetch(url("/redirect/10"));
  CHECK_DONE(ok);
}

CAF_TEST(gzip is decoded) {
  auto r = fetch(url("/gzip"));
  CHECK_DONE(r);
  CAF_CHECK(r.body == env().csv);
  // Unknown: the Content-Length the server sent counts compressed bytes (proves it was gzip).
  CAF_CHECK_EQUAL(or_unknown(r.expected), -1);
  CAF_CHECK_EQUAL(r.received, env().csv.size());
}

CAF_TEST(request headers) {
  transfer_options opts;
  opts.url = url("/headers");
  opts.headers = {"X-Test: 42"};
  auto r = fetch(opts);
  CHECK_DONE(r);
  CAF_CHECK(contains(r.body, "user-agent,sheetsync/0.1\n"));
  CAF_CHECK(contains(r.body, "x-test,42\n"));
  CAF_CHECK(contains(r.body, "gzip"));
  // libcurl keeps an Authorization header from another host (Google's export hops hosts);
  // other headers follow the redirect.
  opts.url = url("/redirect-to?url=" + env().server.url("localhost", "/headers"));
  opts.headers = {"X-Test: 42", "Authorization: Bearer abc"};
  auto hopped = fetch(opts);
  CHECK_DONE(hopped);
  CAF_CHECK(contains(hopped.body, "x-test,42\n"));
  CAF_CHECK(!contains(hopped.body, "authorization"));
  opts.url = url("/headers");
  opts.headers = {"X-Test: 1\r\nX-Injected: 2"};
  auto bad = fetch(opts);
  CHECK_FAILED(bad, ec::invalid_argument, "malformed");
}

// -- HTTP errors and HTML -----------------------------------------------------------------------

CAF_TEST(http status errors) {
  auto r404 = fetch(url("/status/404"));
  CHECK_FAILED(r404, ec::http_status, "HTTP 404");
  CHECK_FAILED(r404, ec::http_status, "check the sheet id and gid");
  CAF_CHECK_EQUAL(r404.status, 404);
  CAF_CHECK_EQUAL(r404.body, "");
  auto r500 = fetch(url("/status/500"));
  CHECK_FAILED(r500, ec::http_status, "HTTP 500");
  CHECK_FAILED(r500, ec::http_status, "try again later");
  auto r403 = fetch(url("/status/403"));
  CHECK_FAILED(r403, ec::http_status, "not shared with you");
  curl_transfer t{options_for(url("/status/429")), nullptr};
  auto r429 = drive(t);
  CHECK_FAILED(r429, ec::http_status, "rate limited");
  CAF_REQUIRE(t.retry_after().has_value());
  CAF_CHECK_EQUAL(t.retry_after()->count(), 7);
  // A 404 at the end of a redirect chain is still a 404.
  auto chained = fetch(url("/redirect-to?url=/status/404"));
  CHECK_FAILED(chained, ec::http_status, "HTTP 404");
  // What a retry decision gets: 429 and 5xx are worth another attempt, other 4xx not.
  CAF_CHECK(!retryable(r404.error));
  CAF_CHECK(!retryable(r403.error));
  CAF_CHECK(retryable(r500.error));
  CAF_CHECK(retryable(r429.error));
  CAF_CHECK_EQUAL(r429.error.http_status, 429u);
  CAF_CHECK_EQUAL(r429.error.retry_after, 7u);
}

CAF_TEST(retry after saturates instead of wrapping) {
  // 2^32 + 5: cut to 32 bits it would read as 5 s.
  for (auto [value, want] : {std::pair{"4294967301", uint64_t{4294967295}},
                             std::pair{"99999999999999999999999", uint64_t{4294967295}},
                             std::pair{"4294967295", uint64_t{4294967295}},
                             std::pair{"12", uint64_t{12}}}) {
    CAF_MESSAGE("Retry-After: " << value);
    curl_transfer t{options_for(url(std::string{"/status/429?retry_after="} + value)), nullptr};
    auto r = drive(t);
    CHECK_FAILED(r, ec::http_status, "rate limited");
    CAF_REQUIRE(t.retry_after().has_value());
    CAF_CHECK_EQUAL(static_cast<uint64_t>(t.retry_after()->count()), want);
    CAF_CHECK_EQUAL(uint64_t{r.error.retry_after}, want);
  }
  // Negative or garbage: no Retry-After at all.
  for (auto value : {"-5", "soon", "1.5"}) {
    CAF_MESSAGE("Retry-After: '" << value << "'");
    curl_transfer t{options_for(url(std::string{"/status/429?retry_after="} + value)), nullptr};
    auto r = drive(t);
    CHECK_FAILED(r, ec::http_status, "rate limited");
    CAF_CHECK(!t.retry_after().has_value());
    CAF_CHECK_EQUAL(r.error.retry_after, 0u);
  }
}

CAF_TEST(html sign in page) {
  auto by_type = fetch(url("/html"));
  CHECK_FAILED(by_type, ec::not_csv, "HTML page instead of CSV");
  CHECK_FAILED(by_type, ec::not_csv, "'Anyone with the link can view'");
  CAF_CHECK_EQUAL(by_type.body, "");
  auto by_bytes = fetch(url("/html-as-csv"));
  CHECK_FAILED(by_bytes, ec::not_csv, "HTML page instead of CSV");
  CAF_CHECK_EQUAL(by_bytes.body, "");
  // Unless the caller wants any body.
  transfer_options opts;
  opts.url = url("/html");
  opts.expect_csv = false;
  auto any = fetch(opts);
  CHECK_DONE(any);
  CAF_CHECK(contains(any.body, "<!doctype html>"));
}

CAF_TEST(html sniffing keeps csv bytes) {
  struct sample {
    std::string content;
    bool html;
  };
  std::vector<sample> samples{
    {"\xEF\xBB\xBF  \n<HtMl lang=en><body>x</body></html>", true},
    {"<!DOCTYPE html>", true},
    {"<html", true},
    {"<h1>,b\n1,2\n", false},  // a prefix of "<html" at first: must wait, then keep every byte
    {"<!doc", false},          // too short to be "<!doctype html"
    {"\xEF\xBB\xBF" "a,b\n1,2\n", false},
    {"   \n", false},
    {"", false},
  };
  for (auto& s : samples) {
    auto path = write_temp_file(s.content);
    auto r = fetch("file://" + path);
    std::remove(path.c_str());
    if (s.html) {
      CHECK_FAILED(r, ec::not_csv, "HTML page");
    } else {
      CHECK_DONE(r);
      CAF_CHECK_EQUAL(r.body, s.content);
    }
  }
}

// -- broken transfers ---------------------------------------------------------------------------

CAF_TEST(stall past the fetch timeout) {
  transfer_options opts;
  opts.url = url("/stall");
  opts.fetch_timeout = 300ms;
  auto r = fetch(opts);
  CHECK_FAILED(r, ec::fetch_timeout, "no data received for 0.3 s from http://127.0.0.1:");
  CHECK_FAILED(r, ec::fetch_timeout, "raise --fetch-timeout");
  CAF_CHECK_GREATER_OR_EQUAL(r.elapsed.count(), 290);
  CAF_CHECK_LESS(r.elapsed.count(), 1500);
  CAF_CHECK_EQUAL(r.received, 100u);
}

CAF_TEST(step returns after its slice when nothing arrives) {
  transfer_options opts;
  opts.url = url("/stall");
  curl_transfer t{opts, nullptr};
  while (t.bytes_received() == 0 && t.step(10ms) == curl_transfer::state::running) {
  }
  for (bool paused : {false, true}) {
    if (paused)
      t.pause();
    auto start = steady_clock::now();
    CAF_CHECK_EQUAL(name(t.step(100ms)), "running");
    auto took = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start).count();
    CAF_CHECK_GREATER_OR_EQUAL(took, 95);
    CAF_CHECK_LESS(took, 250);
  }
}

CAF_TEST(pause longer than the fetch timeout) {
  auto reference = fetch(url("/big?bytes=1000000"));
  CHECK_DONE(reference);
  CAF_REQUIRE_EQUAL(reference.body.size(), 1000000u);
  for (auto path : {"/big?bytes=1000000", "/gzip?bytes=1000000&stream=1"}) {
    CAF_MESSAGE(path);
    transfer_options opts;
    opts.url = url(path);
    opts.fetch_timeout = 300ms;
    opts.step_return_bytes = 1; // return at the first bytes, to pause early
    curl_transfer t{opts, nullptr};
    std::string body;
    while (t.bytes_received() == 0 && t.step(10ms) == curl_transfer::state::running)
      t.take(body);
    t.pause();
    CAF_CHECK(t.paused());
    auto received = t.bytes_received();
    CAF_CHECK_GREATER(received, 0u);
    CAF_CHECK_LESS(received, 1000000u);
    auto start = steady_clock::now();
    while (steady_clock::now() - start < 700ms)
      CAF_REQUIRE_EQUAL(name(t.step(10ms)), "running");
    // Paused means no reading at all.
    CAF_CHECK_EQUAL(t.bytes_received(), received);
    t.resume();
    CAF_CHECK(!t.paused());
    auto r = drive(t);
    body += r.body;
    CHECK_DONE(r);
    CAF_CHECK_EQUAL(body.size(), 1000000u);
    CAF_CHECK(body == reference.body); // every byte exactly once, in order
  }
}

CAF_TEST(resume restarts the silence clock) {
  // The server stays silent after its first bytes: the time-out must count from resume(), not
  // from the last byte before the pause.
  transfer_options opts;
  opts.url = url("/stall");
  opts.fetch_timeout = 300ms;
  curl_transfer t{opts, nullptr};
  while (t.bytes_received() == 0 && t.step(10ms) == curl_transfer::state::running) {
  }
  t.pause();
  auto start = steady_clock::now();
  while (steady_clock::now() - start < 500ms)
    CAF_REQUIRE_EQUAL(name(t.step(10ms)), "running");
  t.resume();
  auto r = drive(t);
  CHECK_FAILED(r, ec::fetch_timeout, "no data received for 0.3 s");
  CAF_CHECK_GREATER_OR_EQUAL(r.elapsed.count(), 290);
  CAF_CHECK_LESS(r.elapsed.count(), 1500);
}

CAF_TEST(truncated body) {
  auto r = fetch(url("/truncated"));
  CHECK_FAILED(r, ec::download_failed, "cut off after 400 of 1000 bytes");
  CAF_CHECK(retryable(r.error));
  auto reset = fetch(url("/reset"));
  CHECK_FAILED(reset, ec::download_failed, "cut off after");
  CHECK_FAILED(reset, ec::download_failed, "of 1000 bytes");
}

CAF_TEST(connection refused) {
  // Port 1 on loopback: nobody listens there, the connect fails at once.
  auto r = fetch("http://127.0.0.1:1/x.csv");
  CHECK_FAILED(r, ec::download_failed, "could not download http://127.0.0.1:1/x.csv: ");
  CAF_CHECK(retryable(r.error));
}

CAF_TEST(byte cap) {
  transfer_options opts;
  opts.max_bytes = 50000;
  // Announced by Content-Length: fails before reading the body.
  opts.url = url("/big?bytes=100000");
  auto announced = fetch(opts);
  CHECK_FAILED(announced, ec::too_large, "larger than the limit of 50000 bytes");
  CAF_CHECK_EQUAL(announced.received, 0u);
  // Without a length: fails when the cap is crossed, never handing on more than the cap.
  opts.url = url("/big?bytes=100000&nolength=1");
  auto streamed = fetch(opts);
  CHECK_FAILED(streamed, ec::too_large, "larger than the limit of 50000 bytes");
  CAF_CHECK_LESS_OR_EQUAL(streamed.received, 50000u);
  CAF_CHECK_LESS_OR_EQUAL(streamed.body.size(), 50000u);
  // Exactly at the cap is fine.
  opts.url = url("/big?bytes=50000&nolength=1");
  auto exact = fetch(opts);
  CHECK_DONE(exact);
  CAF_CHECK_EQUAL(exact.body.size(), 50000u);
}

// -- cancel -------------------------------------------------------------------------------------

CAF_TEST(cancel mid transfer from another thread) {
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  transfer_options opts;
  opts.url = url("/slow");
  curl_transfer t{opts, cancel};
  steady_clock::time_point cancelled_at;
  std::thread canceller{[&] {
    std::this_thread::sleep_for(300ms);
    cancelled_at = steady_clock::now();
    cancel->store(true);
  }};
  auto r = drive(t);
  auto returned_at = steady_clock::now();
  canceller.join();
  CHECK_FAILED(r, ec::cancelled, "was cancelled");
  CAF_CHECK_GREATER(r.received, 0u); // it was mid-transfer
  auto delay = std::chrono::duration_cast<milliseconds>(returned_at - cancelled_at).count();
  CAF_CHECK_LESS(delay, 250);
}

CAF_TEST(cancel while paused or before the start) {
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  transfer_options opts;
  opts.url = url("/slow");
  curl_transfer t{opts, cancel};
  while (t.bytes_received() == 0 && t.step(10ms) == curl_transfer::state::running) {
  }
  t.pause();
  cancel->store(true);
  CAF_CHECK_EQUAL(name(t.step(10ms)), "failed");
  CAF_CHECK_EQUAL(name(t.error().code), "cancelled");
  auto early = std::make_shared<std::atomic<bool>>(true);
  auto r = fetch(opts, early);
  CHECK_FAILED(r, ec::cancelled, "was cancelled");
  CAF_CHECK_EQUAL(r.received, 0u);
}

// -- file:// and schemes ------------------------------------------------------------------------

CAF_TEST(file urls) {
  auto r = fetch("file://" + env().csv_path);
  CHECK_DONE(r);
  CAF_CHECK(r.body == env().csv);
  CAF_CHECK_EQUAL(or_unknown(r.expected), static_cast<int64_t>(env().csv.size()));
  CAF_CHECK_EQUAL(r.status, 0);
  // A missing file stays missing: fails at once, not worth another attempt.
  auto missing = fetch("file:///nonexistent/sheetsync/missing.csv");
  CHECK_FAILED(missing, ec::unfetchable, "file:///nonexistent/sheetsync/missing.csv");
  CHECK_FAILED(missing, ec::unfetchable, "missing or not readable");
  CAF_CHECK(!retryable(missing.error));
}

CAF_TEST(file urls are read in pieces under pause) {
  // libcurl reads a file:// URL whole in one step and cannot pause it: a large file would sit in
  // memory at once. Each step must stop near step_return_bytes, and a paused one read nothing.
  std::string content;
  for (int i = 0; content.size() < (3u << 20); ++i)
    content += "row " + std::to_string(i) + ",caf\xC3\xA9\r\n";
  auto path = write_temp_file(content);
  // A name that needs percent-decoding, as libcurl decodes it.
  auto odd = path + " %41 x.csv";
  CAF_REQUIRE_EQUAL(std::rename(path.c_str(), odd.c_str()), 0);
  transfer_options opts;
  opts.url = "file://" + path + "%20%2541%20x.csv";
  opts.step_return_bytes = 100000;
  curl_transfer t{opts, nullptr};
  std::string body;
  CAF_CHECK_EQUAL(name(t.step(5s)), "running");
  t.take(body);
  CAF_CHECK_GREATER(body.size(), 0u);
  CAF_CHECK_LESS(body.size(), 200000u);
  CAF_CHECK_EQUAL(or_unknown(t.expected_bytes()), static_cast<int64_t>(content.size()));
  t.pause();
  CAF_CHECK_EQUAL(name(t.step(10ms)), "running");
  CAF_CHECK_EQUAL(t.take(body), 0u);
  t.resume();
  size_t steps = 1;
  auto st = curl_transfer::state::running;
  while (st == curl_transfer::state::running) {
    st = t.step(5s);
    CAF_CHECK_LESS(t.take(body), 200000u);
    ++steps;
  }
  std::remove(odd.c_str());
  CAF_CHECK_EQUAL(name(st), "done");
  CAF_CHECK_GREATER(steps, 20u);
  CAF_CHECK(body == content);
  CAF_CHECK_EQUAL(t.bytes_received(), content.size());
}

CAF_TEST(redirect to file refused) {
  auto r = fetch(url("/redirect-to?url=file://" + env().csv_path));
  CHECK_FAILED(r, ec::unfetchable, "refused to follow a redirect");
  CAF_CHECK(!retryable(r.error));
  CAF_CHECK_EQUAL(r.body, "");
  CAF_CHECK_EQUAL(r.received, 0u);
}

CAF_TEST(unsupported schemes) {
  for (auto bad : {"ftp://example.com/x.csv", "gopher://x/", "/etc/passwd", "FILE"}) {
    curl_transfer t{options_for(bad), nullptr};
    // Fails without a step.
    CAF_CHECK_EQUAL(name(t.current_state()), "failed");
    CAF_CHECK_EQUAL(name(t.error().code), "invalid_argument");
    CAF_CHECK_EQUAL(name(t.step(10ms)), "failed");
  }
}

// -- secrets ------------------------------------------------------------------------------------

CAF_TEST(curl codes are classified in one place) {
  // Transient: the network or the server may do better next time.
  for (auto code : {CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT,
                    CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE,
                    CURLE_SSL_CONNECT_ERROR}) {
    CAF_MESSAGE("transient: " << curl_easy_strerror(code));
    CAF_CHECK_EQUAL(name(classify_curl_code(code)), "download_failed");
    CAF_CHECK(retryable(classify_curl_code(code), 0));
  }
  // Hopeless: the same request fails the same way.
  for (auto code : {CURLE_FILE_COULDNT_READ_FILE, CURLE_TOO_MANY_REDIRECTS, CURLE_URL_MALFORMAT,
                    CURLE_UNSUPPORTED_PROTOCOL, CURLE_PEER_FAILED_VERIFICATION,
                    CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM, CURLE_LOGIN_DENIED,
                    CURLE_REMOTE_FILE_NOT_FOUND}) {
    CAF_MESSAGE("hopeless: " << curl_easy_strerror(code));
    CAF_CHECK_EQUAL(name(classify_curl_code(code)), "unfetchable");
    CAF_CHECK(!retryable(classify_curl_code(code), 0));
  }
  CAF_CHECK_EQUAL(name(classify_curl_code(CURLE_OK)), "none");
}

CAF_TEST(a malformed url fails at once and is not retried) {
  auto r = fetch("http://[::1/x.csv");
  CAF_CHECK_EQUAL(name(r.state), "failed");
  CAF_CHECK_EQUAL(name(r.error.code), "unfetchable");
  CAF_CHECK(!retryable(r.error));
}

CAF_TEST(redact url) {
  CAF_CHECK_EQUAL(redact_url("https://docs.google.com/spreadsheets/d/ID/export?format=csv&gid=0"),
                  "https://docs.google.com/spreadsheets/d/ID/export?format=csv&gid=0");
  CAF_CHECK_EQUAL(redact_url("https://user:pass@host:8080/p?key=abc&gid=12#gid=12"),
                  "https://host:8080/p?key=***&gid=12#gid=12");
  CAF_CHECK_EQUAL(redact_url("https://u:p@ss@host/p"), "https://host/p");
  CAF_CHECK_EQUAL(redact_url("https://host/p?access_token=t1&token=t2&sig=s&password=pw"),
                  "https://host/p?access_token=***&token=***&sig=***&password=***");
  CAF_CHECK_EQUAL(redact_url("https://x.googleusercontent.com/export?X-Goog-Signature=abc"
                             "&X-Goog-Credential=me%40x&single=true&output=csv"),
                  "https://x.googleusercontent.com/export?X-Goog-Signature=***"
                  "&X-Goog-Credential=***&single=true&output=csv");
  CAF_CHECK_EQUAL(redact_url("https://host/p?SECRETONLY&gid=1;key=k&empty="),
                  "https://host/p?***&gid=1;key=***&empty=");
  CAF_CHECK_EQUAL(redact_url("https://host/cb#access_token=abc&state=x"),
                  "https://host/cb#access_token=***&state=***");
  CAF_CHECK_EQUAL(redact_url("file:///tmp/a.csv"), "file:///tmp/a.csv");
  CAF_CHECK_EQUAL(redact_url("user:pw@host/p?key=k"), "host/p?key=***");
  CAF_CHECK_EQUAL(redact_url("http://host"), "http://host");
  CAF_CHECK_EQUAL(redact_url("http://host?key=a://b"), "http://host?key=***");
  CAF_CHECK_EQUAL(redact_url(""), "");
}

CAF_TEST(no secret in any error text) {
  auto secret_url = [](const std::string& target) {
    // user:password and secret values on every URL; the gid stays.
    auto with_auth = "http://alice:PWSECRET@" + target.substr(7);
    auto sep = with_auth.find('?') == std::string::npos ? "?" : "&";
    return with_auth + sep + "key=KEYSECRET&access_token=TOKSECRET&X-Goog-Signature=SIGSECRET&gid=7";
  };
  std::vector<std::string> targets{
    url("/status/404"), url("/status/429"), url("/status/500"), url("/html"),
    url("/html-as-csv"), url("/truncated"), url("/reset"), url("/stall"),
    url("/big?bytes=100000"), url("/redirect/11"),
    url("/redirect-to?url=file:///etc/passwd%3Ftoken=REDIRSECRET"), "http://127.0.0.1:1/x.csv",
  };
  for (auto& target : targets) {
    transfer_options opts;
    opts.url = secret_url(target);
    opts.headers = {"Authorization: Bearer HDRSECRET"};
    opts.fetch_timeout = 200ms;
    opts.max_bytes = 50000;
    auto r = fetch(opts);
    CAF_MESSAGE(r.error.text);
    CAF_CHECK_EQUAL(name(r.state), "failed");
    CAF_CHECK(contains(r.error.text, "gid=7"));
    for (auto secret : {"PWSECRET", "alice", "KEYSECRET", "TOKSECRET", "SIGSECRET", "HDRSECRET",
                        "REDIRSECRET"})
      if (contains(r.error.text, secret))
        CAF_CHECK_EQUAL(r.error.text, std::string{"(without "} + secret + ")");
  }
  // Unsupported scheme and malformed header texts, too.
  transfer_options ftp;
  ftp.url = "ftp://alice:PWSECRET@host/x?key=KEYSECRET";
  curl_transfer t{ftp, nullptr};
  CAF_CHECK(!contains(t.error().text, "PWSECRET") && !contains(t.error().text, "KEYSECRET"));
  transfer_options bad_header;
  bad_header.url = url("/ok.csv");
  bad_header.headers = {"Authorization: Bearer HDRSECRET\r\nX: y"};
  curl_transfer h{bad_header, nullptr};
  CAF_CHECK_EQUAL(name(h.error().code), "invalid_argument");
  CAF_CHECK(!contains(h.error().text, "HDRSECRET"));
  // The header was sent, though: the check above is not vacuous.
  transfer_options echo;
  echo.url = url("/headers");
  echo.headers = {"Authorization: Bearer HDRSECRET"};
  auto r = fetch(echo);
  CAF_CHECK(contains(r.body, "authorization,Bearer HDRSECRET"));
}

// -- the test helper itself ---------------------------------------------------------------------

CAF_TEST(fake server helper) {
  pid_t pid = -1;
  {
    test::fake_server extra{{"--port", "0"}};
    pid = extra.pid();
    CAF_CHECK_EQUAL(kill(pid, 0), 0);
    CAF_CHECK_NOT_EQUAL(extra.port(), env().server.port());
    CAF_CHECK_EQUAL(extra.url("/ok.csv"),
                    "http://127.0.0.1:" + std::to_string(extra.port()) + "/ok.csv");
    auto r = fetch(extra.url("localhost", "/ok.csv"));
    CHECK_DONE(r);
    CAF_CHECK(contains(r.body, "id,name,comment,price\r\n")); // its built-in sheet
  }
  // Killed and reaped: the pid no longer exists.
  CAF_CHECK_EQUAL(kill(pid, 0), -1);
  bool thrown = false;
  try {
    test::fake_server broken{{}, "/nonexistent/fake_server.py"};
  } catch (const std::runtime_error&) {
    thrown = true;
  }
  CAF_CHECK(thrown);
}
