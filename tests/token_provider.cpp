// The token provider and the token exchange against a token endpoint on
// loopback: tests/fake_google.py (its POST /token verifies the JWT's RS256
// signature with the public half of a key pair generated here, and its claims
// and expiry), plus a one-connection socket server in this file for answers
// the fake never gives (an endpoint that echoes the assertion, malformed
// answers, silence).
//
// The provider runs on the deterministic test scheduler (not detached): its
// handler blocks in the exchange on the test thread, and the actor clock is
// the test clock, so advance_time() ages the cached token.

#define CAF_SUITE token_provider
// caf/test/dsl.hpp 0.17.6 uses FAIL in request<T>() without defining it.
#define FAIL(msg) CAF_FAIL(msg)

#include <caf/test/dsl.hpp>

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <limits>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include <rapidjson/document.h>

#include "actors/token_provider.hpp"
#include "messages/error.hpp"
#include "messages/system_config.hpp"
#include "sources/credentials.hpp"
#include "sources/jwt.hpp"
#include "sources/service_account.hpp"
#include "sources/token_exchange.hpp"
#include "tests/answer_of.hpp"
#include "tests/check_msg.hpp"
#include "tests/fake_server.hpp"
#include "tests/test_credentials.hpp"

using namespace std::chrono_literals;
using namespace sheetsync;
using namespace sheetsync::test;
using caf::term; // for CAF_CHECK_PASSED / CAF_CHECK_FAILED

namespace {

// -- helpers ------------------------------------------------------------------

bool contains(const std::string& str, const std::string& part) {
  return !part.empty() && str.find(part) != std::string::npos;
}

const std::string client_email = "syncer@sheetsync-test.iam.gserviceaccount.com";

/// The authorized user the fake knows (its refresh-token grant).
const std::string user_client_id = "764086051850-test.apps.googleusercontent.com";
const std::string user_secret = "GOCSPX-not-a-real-client-secret-42";
const std::string user_refresh = "1//0gNotARealRefreshToken-abcdefghijklmnop";
const std::string user_email = "someone@example.com";

/// A key the fake does not know: its signatures fail with invalid_grant.
const key_pair& unknown_key() {
  static key_pair kp = key_pair::generate();
  return kp;
}

size_t append_body(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

/// A plain HTTP request to the fake's control endpoints; returns the body.
std::string http(const std::string& url, const std::string* post_json = nullptr) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy{curl_easy_init(),
                                                          &curl_easy_cleanup};
  std::string body;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy.get(), CURLOPT_TIMEOUT_MS, 10'000L);
  curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, static_cast<void*>(&body));
  if (post_json) {
    curl_easy_setopt(easy.get(), CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy.get(), CURLOPT_POSTFIELDS, post_json->c_str());
  }
  auto rc = curl_easy_perform(easy.get());
  curl_slist_free_all(headers);
  if (rc != CURLE_OK)
    CAF_FAIL("control request " << url << " failed: " << curl_easy_strerror(rc));
  return body;
}

/// A token endpoint for one connection, on loopback, run by a thread: reads
/// one request and answers what `respond` makes of its body (a complete HTTP
/// response), or nothing at all when `respond` is null (the client times out).
class one_shot_server {
public:
  explicit one_shot_server(std::function<std::string(const std::string&)> respond)
    : respond_(std::move(respond)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0
        || listen(fd_, 4) != 0
        || getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      CAF_FAIL("one_shot_server: " << std::strerror(errno));
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread{[this] { run(); }};
  }

  ~one_shot_server() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  /// The request body the server received.
  std::string received() {
    std::lock_guard<std::mutex> guard{mtx_};
    return body_;
  }

private:
  void run() {
    int conn = -1;
    while (!stop_ && conn < 0) {
      pollfd pfd{fd_, POLLIN, 0};
      if (poll(&pfd, 1, 50) > 0)
        conn = accept(fd_, nullptr, nullptr);
    }
    if (conn < 0)
      return;
    std::string request;
    size_t need = std::string::npos;
    char buf[4096];
    while (!stop_ && request.size() < need) {
      pollfd pfd{conn, POLLIN, 0};
      if (poll(&pfd, 1, 50) <= 0)
        continue;
      auto n = recv(conn, buf, sizeof(buf), 0);
      if (n <= 0)
        break;
      request.append(buf, static_cast<size_t>(n));
      auto end = request.find("\r\n\r\n");
      if (end != std::string::npos && need == std::string::npos) {
        size_t length = 0;
        auto pos = request.find("Content-Length: ");
        if (pos != std::string::npos && pos < end)
          length = std::stoul(request.substr(pos + 16));
        need = end + 4 + length;
      }
    }
    auto end = request.find("\r\n\r\n");
    {
      std::lock_guard<std::mutex> guard{mtx_};
      body_ = end == std::string::npos ? "" : request.substr(end + 4);
    }
    if (respond_) {
      auto response = respond_(body_);
      send(conn, response.data(), response.size(), MSG_NOSIGNAL);
    } else {
      while (!stop_)
        std::this_thread::sleep_for(10ms);
    }
    close(conn);
  }

  std::function<std::string(const std::string&)> respond_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mtx_;
  std::string body_;
};

std::string json_response(int status, const std::string& json) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n"
         + "Content-Length: " + std::to_string(json.size())
         + "\r\nConnection: close\r\n\r\n" + json;
}

/// The assertion in a form body "grant_type=...&assertion=JWT".
std::string assertion_of(const std::string& form) {
  auto pos = form.find("assertion=");
  return pos == std::string::npos ? "" : form.substr(pos + 10);
}

/// True if `text` holds no part of `jwt`'s claims or signature.
bool free_of_jwt(const std::string& text, const std::string& jwt) {
  if (jwt.empty())
    return true;
  auto first = jwt.find('.');
  auto second = jwt.find('.', first + 1);
  return !contains(text, jwt) && !contains(text, jwt.substr(first + 1, 20))
         && !contains(text, jwt.substr(second + 1, 20));
}

/// A port nothing listens on (bound and released at once).
uint16_t closed_port() {
  auto fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

int64_t wall_now() {
  return static_cast<int64_t>(std::time(nullptr));
}

// -- fixture --------------------------------------------------------------------

struct fixture : test_coordinator_fixture<sheetsync::system_config> {
  temp_dir dir{"sheetsync-token-test-"};
  test::fake_server google;
  /// The wall time the provider signs with (real time: the fake checks it).
  int64_t wall = wall_now();

  fixture()
    : google({"--public-key", dir.write("public.pem", test_key().public_pem),
              "--client-email", client_email, "--authorized-user",
              user_client_id + "," + user_secret + "," + user_refresh + ","
                + user_email},
             SHEETSYNC_SOURCE_DIR "/tests/fake_google.py") {
    // nop
  }

  service_account account(const key_pair& key = test_key()) {
    service_account sa;
    sa.client_email = client_email;
    sa.private_key_pem = key.private_pem;
    sa.private_key_id = "0123456789abcdef";
    sa.token_uri = google.url("/token");
    return sa;
  }

  token_provider_actor spawn_provider(service_account sa) {
    return spawn_provider(google_credentials{std::move(sa), ""});
  }

  google_credentials user(const std::string& refresh = user_refresh,
                          const std::string& secret = user_secret) {
    authorized_user u;
    u.client_id = user_client_id;
    u.client_secret = secret;
    u.refresh_token = refresh;
    u.token_uri = google.url("/token");
    return google_credentials{u, "/etc/sheetsync/adc.json"};
  }

  token_provider_actor spawn_provider(google_credentials creds) {
    return sys.spawn(token_provider, std::move(creds), std::function<int64_t()>{[this] {
                       return wall;
                     }});
  }

  /// Asks for a token and runs the provider until it answered.
  caf::expected<std::string> get_token(const token_provider_actor& tp) {
    auto answer = self->request(tp, caf::infinite, caf::get_atom::value, atom::token::value);
    sched.run();
    return answer_of<std::string>(self, answer, "the token provider did not answer");
  }

  uint64_t exchanges_seen(const token_provider_actor& tp) {
    return deref<token_provider_actor::stateful_base<token_provider_state>>(tp)
      .state.exchanges;
  }

  /// The fake's count of token requests: (successful, refused).
  std::pair<int64_t, int64_t> fake_token_counts() {
    auto body = http(google.url("/_control/stats"));
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject())
      CAF_FAIL("bad stats: " << body);
    return {doc["token_exchanges"].GetInt64(), doc["token_failures"].GetInt64()};
  }

  void control(const std::string& path, const std::string& json) {
    http(google.url(path), &json);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(token_provider_tests, fixture)

// -- the provider against the fake Google -----------------------------------------

CAF_TEST(a token is fetched once and reused) {
  auto tp = spawn_provider(account());
  auto first = get_token(tp);
  CAF_REQUIRE(first);
  CHECK_MSG(first->rfind("ya29.fake-", 0) == 0, "not a fake token");
  auto second = get_token(tp);
  CAF_REQUIRE(second);
  CAF_CHECK_EQUAL(*first, *second);
  CAF_CHECK_EQUAL(exchanges_seen(tp), 1u);
  CAF_CHECK_EQUAL(fake_token_counts(), std::make_pair(int64_t{1}, int64_t{0}));
  caf::anon_send_exit(tp, caf::exit_reason::user_shutdown);
}

CAF_TEST(a token is renewed five minutes before it expires) {
  // The fake's tokens live 3599 s: renewed after 3299 s on the actor clock.
  auto tp = spawn_provider(account());
  auto first = get_token(tp);
  CAF_REQUIRE(first);
  advance_time(3298s);
  wall += 3298;
  auto still = get_token(tp);
  CAF_REQUIRE(still);
  CAF_CHECK_EQUAL(*still, *first);
  CAF_CHECK_EQUAL(exchanges_seen(tp), 1u);
  advance_time(1s);
  wall = wall_now(); // the fake checks iat and exp against its real clock
  auto renewed = get_token(tp);
  CAF_REQUIRE(renewed);
  CAF_CHECK_NOT_EQUAL(*renewed, *first);
  CAF_CHECK_EQUAL(exchanges_seen(tp), 2u);
  CAF_CHECK_EQUAL(fake_token_counts().first, 2);
  // And the new one is reused in turn.
  auto again = get_token(tp);
  CAF_REQUIRE(again);
  CAF_CHECK_EQUAL(*again, *renewed);
  CAF_CHECK_EQUAL(exchanges_seen(tp), 2u);
  caf::anon_send_exit(tp, caf::exit_reason::user_shutdown);
}

CAF_TEST(a short - lived token is renewed at 90 percent of its life) {
  control("/_control/config", R"({"token_expires_in": 600})");
  auto tp = spawn_provider(account());
  auto first = get_token(tp);
  CAF_REQUIRE(first);
  advance_time(539s);
  auto still = get_token(tp);
  CAF_REQUIRE(still);
  CAF_CHECK_EQUAL(*still, *first);
  advance_time(1s);
  auto renewed = get_token(tp);
  CAF_REQUIRE(renewed);
  CAF_CHECK_NOT_EQUAL(*renewed, *first);
  CAF_CHECK_EQUAL(exchanges_seen(tp), 2u);
  caf::anon_send_exit(tp, caf::exit_reason::user_shutdown);
}

CAF_TEST(an expired token is fetched again) {
  auto tp = spawn_provider(account());
  auto first = get_token(tp);
  CAF_REQUIRE(first);
  advance_time(2h);
  auto second = get_token(tp);
  CAF_REQUIRE(second);
  CAF_CHECK_NOT_EQUAL(*second, *first);
  CAF_CHECK_EQUAL(fake_token_counts(), std::make_pair(int64_t{2}, int64_t{0}));
  caf::anon_send_exit(tp, caf::exit_reason::user_shutdown);
}

CAF_TEST(invalid_grant is auth_failed without the assertion) {
  // Signed with a key the endpoint does not know: "Invalid JWT Signature."
  auto sa = account(unknown_key());
  auto tp = spawn_provider(sa);
  auto token = get_token(tp);
  CAF_REQUIRE(!token);
  CAF_CHECK_EQUAL(code_of(token.error()), ec::auth_failed);
  auto text = error_text(token.error());
  CAF_MESSAGE("error text: " << text);
  CHECK_MSG(contains(text, "HTTP 400") && contains(text, "invalid_grant")
              && contains(text, "Invalid JWT Signature") && contains(text, client_email)
              && contains(text, google.url("/token")),
            text);
  // RS256 signatures are deterministic: this is the assertion the provider sent.
  failure err;
  auto assertion = make_jwt(sa, wall, default_sheets_scope, err);
  CAF_REQUIRE(!assertion.empty());
  CHECK_MSG(free_of_jwt(text, assertion), text);
  CHECK_MSG(!contains(text, "BEGIN") && !contains(text, "PRIVATE"), text);
  // Nothing cached: the next request asks again (and fails again).
  CAF_CHECK(!get_token(tp));
  CAF_CHECK_EQUAL(exchanges_seen(tp), 2u);
  CAF_CHECK_EQUAL(fake_token_counts(), std::make_pair(int64_t{0}, int64_t{2}));
  caf::anon_send_exit(tp, caf::exit_reason::user_shutdown);
}

CAF_TEST(a failed exchange is not cached and the next request succeeds) {
  control("/_control/fail", R"({"route": "token", "count": 1, "status": 503})");
  auto tp = spawn_provider(account());
  auto token = get_token(tp);
  CAF_REQUIRE(!token);
  CAF_CHECK_EQUAL(code_of(token.error()), ec::auth_failed);
  CHECK_MSG(contains(error_text(token.error()), "HTTP 503"), error_text(token.error()));
  // The status travels with the error, so the coordinator retries it.
  CAF_CHECK_EQUAL(http_status_of(token.error()), 503u);
  auto retried = get_token(tp);
  CAF_REQUIRE(retried);
  CAF_CHECK_EQUAL(exchanges_seen(tp), 2u);
  caf::anon_send_exit(tp, caf::exit_reason::user_shutdown);
}

CAF_TEST(a dropped connection is a retryable download failure naming the endpoint) {
  control("/_control/fail", R"({"route": "token", "count": 1, "status": 0})");
  auto tp = spawn_provider(account());
  auto token = get_token(tp);
  CAF_REQUIRE(!token);
  // Like a download's connection failure, the coordinator tries again.
  CAF_CHECK_EQUAL(code_of(token.error()), ec::download_failed);
  auto text = error_text(token.error());
  CHECK_MSG(contains(text, "cannot reach the token endpoint " + google.url("/token") + ": "),
            text);
  caf::anon_send_exit(tp, caf::exit_reason::user_shutdown);
}

CAF_TEST(credentials loaded from a file work end to end) {
  auto path = dir.write("sa.json", R"({"type": "service_account", "client_email": ")"
                                      + client_email + R"(", "private_key": ")"
                                      + [] {
                                          std::string x;
                                          for (char c : test_key().private_pem)
                                            x += c == '\n' ? std::string{"\\n"}
                                                           : std::string(1, c);
                                          return x;
                                        }()
                                      + R"(", "token_uri": ")" + google.url("/token")
                                      + "\"}");
  google_credentials creds;
  failure err;
  CAF_REQUIRE(load_credentials(path, creds, err));
  auto tp = sys.spawn(token_provider, creds, std::function<int64_t()>{});
  auto token = get_token(tp);
  CHECK_MSG(token, (token ? "" : error_text(token.error())));
  caf::anon_send_exit(tp, caf::exit_reason::user_shutdown);
}

// -- authorized users (refresh-token grant) ----------------------------------------

CAF_TEST(an authorized user token is fetched once and renewed before it expires) {
  auto tp = spawn_provider(user());
  auto first = get_token(tp);
  CAF_REQUIRE(first);
  CHECK_MSG(first->rfind("ya29.fake-", 0) == 0, "not a fake token");
  advance_time(3298s);
  auto still = get_token(tp);
  CAF_REQUIRE(still);
  CAF_CHECK_EQUAL(*still, *first);
  CAF_CHECK_EQUAL(exchanges_seen(tp), 1u);
  CAF_CHECK_EQUAL(fake_token_counts(), std::make_pair(int64_t{1}, int64_t{0}));
  advance_time(1s);
  auto renewed = get_token(tp);
  CAF_REQUIRE(renewed);
  CAF_CHECK_NOT_EQUAL(*renewed, *first);
  CAF_CHECK_EQUAL(exchanges_seen(tp), 2u);
  CAF_CHECK_EQUAL(fake_token_counts(), std::make_pair(int64_t{2}, int64_t{0}));
  caf::anon_send_exit(tp, caf::exit_reason::user_shutdown);
}

CAF_TEST(a revoked refresh token is auth_failed with advice and no secret) {
  auto tp = spawn_provider(user("1//0gRevokedRefreshToken-abcdefghijklmnop"));
  auto token = get_token(tp);
  CAF_REQUIRE(!token);
  CAF_CHECK_EQUAL(code_of(token.error()), ec::auth_failed);
  CAF_CHECK_EQUAL(http_status_of(token.error()), 400u);
  auto text = error_text(token.error());
  CAF_MESSAGE("error text: " << text);
  CHECK_MSG(contains(text, "the Google account of the authorized_user credentials file "
                           "/etc/sheetsync/adc.json: ")
              && contains(text, "HTTP 400: invalid_grant")
              && contains(text, "gcloud auth application-default login"),
            text);
  CHECK_MSG(!contains(text, "RevokedRefreshToken") && !contains(text, user_secret), text);
  // Nothing cached: asked again (and refused again).
  CAF_CHECK(!get_token(tp));
  CAF_CHECK_EQUAL(fake_token_counts(), std::make_pair(int64_t{0}, int64_t{2}));
  caf::anon_send_exit(tp, caf::exit_reason::user_shutdown);
}

CAF_TEST(a wrong client secret is invalid_client naming the fields to check) {
  auto tp = spawn_provider(user(user_refresh, "GOCSPX-a-wrong-client-secret-0000"));
  auto token = get_token(tp);
  CAF_REQUIRE(!token);
  CAF_CHECK_EQUAL(code_of(token.error()), ec::auth_failed);
  auto text = error_text(token.error());
  CHECK_MSG(contains(text, "HTTP 401: invalid_client")
              && contains(text, "check client_id and client_secret"),
            text);
  CHECK_MSG(!contains(text, "a-wrong-client-secret") && !contains(text, user_refresh), text);
  caf::anon_send_exit(tp, caf::exit_reason::user_shutdown);
}

CAF_TEST(an authorized_user file works end to end) {
  auto path = dir.write("adc.json", R"({"type": "authorized_user", "client_id": ")"
                                       + user_client_id + R"(", "client_secret": ")"
                                       + user_secret + R"(", "refresh_token": ")"
                                       + user_refresh + "\"}");
  google_credentials creds;
  failure err;
  CAF_REQUIRE(load_credentials(path, creds, err));
  // No token_uri in the file: Google's; --google-token-url points it here.
  CAF_CHECK_EQUAL(creds.token_uri(), default_token_uri);
  creds.set_token_uri(google.url("/token"));
  auto tp = sys.spawn(token_provider, creds, std::function<int64_t()>{});
  auto token = get_token(tp);
  CHECK_MSG(token, (token ? "" : error_text(token.error())));
  caf::anon_send_exit(tp, caf::exit_reason::user_shutdown);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- exchange_jwt against odd endpoints ---------------------------------------------

CAF_TEST(an endpoint that echoes the assertion does not get it into the text) {
  one_shot_server server{[](const std::string& form) {
    auto jwt = assertion_of(form);
    return json_response(400, R"({"error": "invalid_grant", "error_description": "bad )"
                                + jwt + "\"}");
  }};
  auto assertion = std::string{"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4QHkuY29tIn0."}
                   + std::string(342, 'S');
  access_token tok;
  failure err;
  CAF_CHECK(!exchange_jwt(server.url("/token"), assertion, 5s, tok, err));
  CAF_CHECK(err.code == ec::auth_failed);
  CAF_CHECK_EQUAL(err.http_status, 400u);
  CHECK_MSG(contains(err.text, "invalid_grant") && contains(err.text, "bad ***"), err.text);
  CHECK_MSG(free_of_jwt(err.text, assertion), err.text);
  // What was sent: the form with the JWT bearer grant.
  CAF_CHECK_EQUAL(server.received(),
                  "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="
                    + assertion);
}

CAF_TEST(the refresh grant posts the form and keeps its secrets out of the text) {
  one_shot_server server{[](const std::string& form) {
    // Echoes the whole form back, as a careless endpoint might.
    std::string echoed;
    for (char c : form)
      echoed += c == '"' ? '\'' : c;
    return json_response(400, R"({"error": "invalid_grant", "error_description": ")"
                                + echoed + "\"}");
  }};
  authorized_user u;
  u.client_id = "client-1.apps.googleusercontent.com";
  u.client_secret = "GOCSPX-secret/with+odd=chars&more";
  u.refresh_token = "1//0gRefreshToken-abcdefghijklmnop";
  u.token_uri = server.url("/token");
  access_token tok;
  failure err;
  CAF_CHECK(!exchange_refresh_token(u, 5s, tok, err));
  CAF_CHECK(err.code == ec::auth_failed);
  CAF_CHECK_EQUAL(err.http_status, 400u);
  CAF_CHECK_EQUAL(server.received(),
                  "grant_type=refresh_token&client_id=client-1.apps.googleusercontent.com"
                  "&client_secret=GOCSPX-secret%2Fwith%2Bodd%3Dchars%26more"
                  "&refresh_token=1%2F%2F0gRefreshToken-abcdefghijklmnop");
  CHECK_MSG(contains(err.text, "invalid_grant") && contains(err.text, "client_id=client-1"),
            err.text);
  // The echo is percent-encoded: the scrubbed text holds neither form.
  CHECK_MSG(!contains(err.text, "0gRefreshToken") && !contains(err.text, "secret%2Fwith")
              && !contains(err.text, "secret/with"),
            err.text);
}

CAF_TEST(malformed token answers are refused) {
  auto refused = [](const std::string& response, const std::string& what) {
    one_shot_server server{[=](const std::string&) { return response; }};
    access_token tok;
    failure err;
    CAF_CHECK(!exchange_jwt(server.url("/token"), "a.b.c", 5s, tok, err));
    CAF_CHECK(err.code == ec::auth_failed);
    CHECK_MSG(contains(err.text, what), "'" << err.text << "' lacks '" << what << "'");
    CAF_CHECK(tok.value.empty());
  };
  refused(json_response(200, "<html>"), "without a JSON object");
  refused(json_response(200, R"({"expires_in": 3599})"), "without an access_token");
  refused(json_response(200, R"({"access_token": "t", "token_type": "MAC"})"),
          "token_type other than \"Bearer\"");
  refused(json_response(200, R"({"access_token": "t", "expires_in": -5})"),
          "invalid expires_in");
  // Negative, zero, NaN-like and garbage lifetimes: refused, never cast.
  for (auto bad : {"-1e300", "0", "0.0", "\"12s\"", "\"-5\"", "\"\"", "true", "null",
                   "[1]"})
    refused(json_response(200, std::string{R"({"access_token": "t", "expires_in": )"} + bad
                                 + "}"),
            "invalid expires_in");
  refused(json_response(500, "<html>oops</html>"), "HTTP 500 without error details");
  refused("HTTP/1.1 302 Found\r\nLocation: http://example.com/\r\nContent-Length: 0\r\n"
          "Connection: close\r\n\r\n",
          "HTTP 302 (a redirect: not followed)");
}

CAF_TEST(good token answers are read) {
  auto read = [](const std::string& json, int64_t expires_in) {
    one_shot_server server{[=](const std::string&) { return json_response(200, json); }};
    access_token tok;
    failure err;
    CHECK_MSG(exchange_jwt(server.url("/token"), "a.b.c", 5s, tok, err), err.text);
    CAF_CHECK_EQUAL(tok.value, "ya29.x");
    CAF_CHECK_EQUAL(tok.expires_in_s, expires_in);
  };
  read(R"({"access_token": "ya29.x", "expires_in": 3599, "token_type": "Bearer"})", 3599);
  read(R"({"access_token": "ya29.x", "expires_in": "120", "token_type": "bearer"})", 120);
  read(R"({"access_token": "ya29.x"})", 3600);
  // Huge lifetimes saturate instead of wrapping (or being cast out of range).
  constexpr auto max = std::numeric_limits<int64_t>::max();
  read(R"({"access_token": "ya29.x", "expires_in": 18446744073709551615})", max);
  read(R"({"access_token": "ya29.x", "expires_in": 1e300})", max);
  read(R"({"access_token": "ya29.x", "expires_in": "99999999999999999999999999"})", max);
  read(R"({"access_token": "ya29.x", "expires_in": 9223372036854775807})", max);
  read(R"({"access_token": "ya29.x", "expires_in": 3599.7})", 3599);
}

CAF_TEST(an unreachable or silent endpoint is a retryable download failure) {
  access_token tok;
  failure err;
  auto url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/token?key=k";
  CAF_CHECK(!exchange_jwt(url, "a.b.c", 5s, tok, err));
  CAF_CHECK(err.code == ec::download_failed);
  CHECK_MSG(contains(err.text, "cannot reach the token endpoint http://127.0.0.1:")
              && contains(err.text, "/token?key=***: ") && !contains(err.text, "key=k"),
            err.text);
  one_shot_server silent{nullptr};
  err = failure{};
  auto start = std::chrono::steady_clock::now();
  CAF_CHECK(!exchange_jwt(silent.url("/token"), "a.b.c", 300ms, tok, err));
  auto took = std::chrono::steady_clock::now() - start;
  CAF_CHECK(err.code == ec::download_failed);
  CHECK_MSG(contains(err.text, "cannot reach the token endpoint")
              && contains(err.text, "no answer within 0.3 s"),
            err.text);
  CAF_CHECK(took < 5s);
}

CAF_TEST(the renewal point keeps a margin) {
  caf::actor_clock::time_point t0{};
  CAF_CHECK(token_renew_at(t0, 3600) == t0 + 3300s);
  CAF_CHECK(token_renew_at(t0, 600) == t0 + 540s);
  CAF_CHECK(token_renew_at(t0, 10) == t0 + 9s);
  CAF_CHECK(token_renew_at(t0, 0) == t0);
  CAF_CHECK(token_renew_at(t0, -5) == t0);
}

CAF_TEST(a huge lifetime saturates instead of overflowing the clock) {
  // In nanoseconds, 10^10 s overflows int64; the lifetime is capped at a day first.
  auto day = token_provider_state::max_lifetime;
  for (auto t0 : {caf::actor_clock::time_point{},
                  caf::actor_clock::time_point{} + std::chrono::hours{24 * 365 * 100}}) {
    for (int64_t huge : {int64_t{86400}, int64_t{10'000'000'000},
                         std::numeric_limits<int64_t>::max() / 1000 + 1,
                         std::numeric_limits<int64_t>::max()}) {
      CAF_MESSAGE("expires_in " << huge);
      auto at = token_renew_at(t0, huge);
      CAF_CHECK(at > t0);
      CAF_CHECK(at == t0 + day - 300s);
    }
  }
}
