// Incremental HTTP/1.1 request parsing (splits, pipelining, limits, hostile input) and
// response serialisation.
#define CAF_SUITE http_request_parser
#include <caf/test/unit_test.hpp>

#include "net/http_request_parser.hpp"
#include "net/http_response.hpp"
#include "tests/describe_request.hpp"

#include <string>
#include <string_view>
#include <vector>

using namespace std::string_literals;
using namespace sheetsync;

namespace {

using limits = http_request_parser::limits;

/// What one connection's parser made of some input.
struct parsed {
  int status = 0;
  std::vector<http_request> requests;
};

using test::describe;

/// The status and every request, a line each.
std::string describe(const parsed& p) {
  auto out = "status=" + std::to_string(p.status) + "\n";
  for (auto& r : p.requests)
    out += describe(r) + "\n";
  return out;
}

/// Feeds `pieces` one after the other, stopping at the first error.
parsed parse_pieces(const std::vector<std::string_view>& pieces, limits lim = {}) {
  parsed res;
  http_request_parser parser{lim};
  for (auto piece : pieces) {
    res.status = parser.feed(piece, res.requests);
    if (res.status != 0)
      break;
  }
  return res;
}

parsed parse(std::string_view bytes, limits lim = {}) {
  return parse_pieces({bytes}, lim);
}

/// Feeds one byte at a time.
parsed parse_bytewise(std::string_view bytes, limits lim = {}) {
  std::vector<std::string_view> pieces;
  for (size_t i = 0; i < bytes.size(); ++i)
    pieces.push_back(bytes.substr(i, 1));
  return parse_pieces(pieces, lim);
}

/// Parses `bytes` whole, then split at every offset, then byte by byte: all must agree.
parsed parse_every_way(std::string_view bytes, limits lim = {}) {
  auto whole = parse(bytes, lim);
  auto expected = describe(whole);
  for (size_t at = 0; at <= bytes.size(); ++at) {
    auto split = parse_pieces({bytes.substr(0, at), bytes.substr(at)}, lim);
    if (describe(split) != expected) {
      CAF_MESSAGE("split at " << at);
      CAF_CHECK_EQUAL(describe(split), expected);
      break;
    }
  }
  CAF_CHECK_EQUAL(describe(parse_bytewise(bytes, lim)), expected);
  return whole;
}

/// A GET whose request line and header section are exactly `size` bytes.
std::string get_with_head_size(size_t size) {
  std::string head = "GET / HTTP/1.1\r\nX-Pad: ";
  auto fixed = head.size() + 4;
  head.append(size - fixed, 'a');
  head += "\r\n\r\n";
  return head;
}

std::string query_string(const http_request& r) {
  std::string out;
  for (auto& [k, v] : r.query)
    out += "(" + k + "," + v + ")";
  return out;
}

constexpr std::string_view curl_get = "GET /api/sync-sheets-bg?syncId=sync-1 HTTP/1.1\r\n"
                                      "Host: localhost:8080\r\n"
                                      "User-Agent: curl/7.88.1\r\n"
                                      "Accept: */*\r\n"
                                      "\r\n";

} // namespace

// -- requests -----------------------------------------------------------------

CAF_TEST(simple GET) {
  http_request_parser parser;
  std::vector<http_request> out;
  CAF_CHECK_EQUAL(parser.feed(curl_get, out), 0);
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  auto& r = out[0];
  CAF_CHECK_EQUAL(r.method, "GET");
  CAF_CHECK_EQUAL(r.target, "/api/sync-sheets-bg?syncId=sync-1");
  CAF_CHECK_EQUAL(r.path, "/api/sync-sheets-bg");
  CAF_CHECK_EQUAL(query_string(r), "(syncId,sync-1)");
  CAF_REQUIRE_EQUAL(r.headers.size(), 3u);
  CAF_CHECK_EQUAL(r.headers[0].first, "host");
  CAF_CHECK_EQUAL(r.headers[0].second, "localhost:8080");
  CAF_CHECK_EQUAL(r.headers[1].first, "user-agent");
  CAF_CHECK_EQUAL(r.headers[1].second, "curl/7.88.1");
  CAF_CHECK_EQUAL(r.headers[2].first, "accept");
  CAF_CHECK_EQUAL(r.headers[2].second, "*/*");
  CAF_CHECK_EQUAL(r.body, "");
  CAF_CHECK(r.keep_alive);
  CAF_CHECK(!r.upgrade);
  CAF_CHECK_EQUAL(parser.pending_bytes(), 0u);
  CAF_CHECK_EQUAL(parser.error(), 0);
  CAF_CHECK(!parser.closed());
}

CAF_TEST(methods and header values) {
  auto res = parse("HEAD / HTTP/1.1\r\nX-A:\t spaced out \t\r\nX-Empty:\r\nX-B:v\r\n\r\n"
                   "DELETE /api/sync-sheets-bg?syncId=s HTTP/1.1\r\n\r\n"
                   "OPTIONS * HTTP/1.1\r\n\r\n"
                   "GET http://localhost:8080/healthz?x=1 HTTP/1.1\r\n\r\n"
                   "GET http://localhost:8080 HTTP/1.1\r\n\r\n");
  CAF_CHECK_EQUAL(res.status, 0);
  CAF_REQUIRE_EQUAL(res.requests.size(), 5u);
  auto& head = res.requests[0];
  CAF_CHECK_EQUAL(head.method, "HEAD");
  CAF_REQUIRE_EQUAL(head.headers.size(), 3u);
  CAF_CHECK_EQUAL(head.headers[0].second, "spaced out");
  CAF_CHECK_EQUAL(head.headers[1].first, "x-empty");
  CAF_CHECK_EQUAL(head.headers[1].second, "");
  CAF_CHECK_EQUAL(head.headers[2].second, "v");
  CAF_CHECK_EQUAL(res.requests[1].method, "DELETE");
  CAF_CHECK_EQUAL(res.requests[2].method, "OPTIONS");
  CAF_CHECK_EQUAL(res.requests[2].path, "*");
  CAF_CHECK_EQUAL(res.requests[3].target, "http://localhost:8080/healthz?x=1");
  CAF_CHECK_EQUAL(res.requests[3].path, "/healthz");
  CAF_CHECK_EQUAL(query_string(res.requests[3]), "(x,1)");
  CAF_CHECK_EQUAL(res.requests[4].path, "/");
}

CAF_TEST(query and path decoding) {
  auto res = parse("GET /api/da%74a+x/%C3%A9?a=1&b=&c&&d=x+y%20z&e=%zz&f=100%&g=%4&k%3Dy=v%26w"
                   "&a=2#frag HTTP/1.1\r\n\r\n");
  CAF_CHECK_EQUAL(res.status, 0);
  CAF_REQUIRE_EQUAL(res.requests.size(), 1u);
  auto& r = res.requests[0];
  CAF_CHECK_EQUAL(r.path, "/api/data+x/\xc3\xa9");
  CAF_CHECK_EQUAL(query_string(r),
                  "(a,1)(b,)(c,)(d,x y z)(e,%zz)(f,100%)(g,%4)(k=y,v&w)(a,2)");
  // The spec's example, alone.
  auto spec = parse("GET /x?a=1&b=&c HTTP/1.1\r\n\r\n");
  CAF_REQUIRE_EQUAL(spec.requests.size(), 1u);
  CAF_CHECK_EQUAL(query_string(spec.requests[0]), "(a,1)(b,)(c,)");
  // No query at all, and an empty one.
  auto none = parse("GET /x HTTP/1.1\r\n\r\nGET /y? HTTP/1.1\r\n\r\n");
  CAF_REQUIRE_EQUAL(none.requests.size(), 2u);
  CAF_CHECK(none.requests[0].query.empty());
  CAF_CHECK(none.requests[1].query.empty());
  CAF_CHECK_EQUAL(none.requests[1].path, "/y");
}

CAF_TEST(header and query_param lookups) {
  auto res = parse("GET /x?syncId=a&limit=10&syncId=b&empty= HTTP/1.1\r\n"
                   "Accept: text/html\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n");
  CAF_REQUIRE_EQUAL(res.requests.size(), 1u);
  auto& r = res.requests[0];
  CAF_REQUIRE(r.header("accept") != nullptr);
  CAF_CHECK_EQUAL(*r.header("accept"), "text/html");
  CAF_REQUIRE(r.header("x-dup") != nullptr);
  CAF_CHECK_EQUAL(*r.header("x-dup"), "1");
  CAF_CHECK(r.header("Accept") == nullptr); // names are stored lower-case
  CAF_CHECK(r.header("authorization") == nullptr);
  CAF_CHECK_EQUAL(r.query_param("syncId").value_or("<none>"), "b");
  CAF_CHECK_EQUAL(r.query_param("limit").value_or("<none>"), "10");
  CAF_CHECK_EQUAL(r.query_param("empty").value_or("<none>"), "");
  CAF_CHECK(!r.query_param("offset").has_value());
  CAF_CHECK(!r.query_param("syncid").has_value());
}

CAF_TEST(POST with Content-Length body) {
  std::string_view req = "POST /api/sync-sheets-bg HTTP/1.1\r\nHost: x\r\n"
                         "Content-Type: application/json\r\nContent-Length: 12\r\n\r\n"
                         "{\"a\": \"b\r\n\"}";
  auto res = parse_every_way(req);
  CAF_CHECK_EQUAL(res.status, 0);
  CAF_REQUIRE_EQUAL(res.requests.size(), 1u);
  CAF_CHECK_EQUAL(res.requests[0].method, "POST");
  CAF_CHECK_EQUAL(res.requests[0].body, "{\"a\": \"b\r\n\"}");
  // A body that has not fully arrived: nothing out yet, its bytes are pending.
  http_request_parser parser;
  std::vector<http_request> out;
  CAF_CHECK_EQUAL(parser.feed(req.substr(0, req.size() - 3), out), 0);
  CAF_CHECK(out.empty());
  CAF_CHECK_EQUAL(parser.pending_bytes(), req.size() - 3);
  CAF_CHECK_EQUAL(parser.feed(req.substr(req.size() - 3), out), 0);
  CAF_CHECK_EQUAL(out.size(), 1u);
  CAF_CHECK_EQUAL(parser.pending_bytes(), 0u);
  // Content-Length: 0 and a body-less POST.
  auto empty = parse("POST /a HTTP/1.1\r\nContent-Length: 0\r\n\r\nPOST /b HTTP/1.1\r\n\r\n");
  CAF_CHECK_EQUAL(empty.status, 0);
  CAF_REQUIRE_EQUAL(empty.requests.size(), 2u);
  CAF_CHECK_EQUAL(empty.requests[0].body, "");
  CAF_CHECK_EQUAL(empty.requests[1].path, "/b");
}

CAF_TEST(chunked body) {
  auto res = parse_every_way("POST /c HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
                             "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
                             "GET /next HTTP/1.1\r\n\r\n");
  CAF_CHECK_EQUAL(res.status, 0);
  CAF_REQUIRE_EQUAL(res.requests.size(), 2u);
  auto& r = res.requests[0];
  CAF_CHECK_EQUAL(r.body, "hello world");
  CAF_REQUIRE_EQUAL(r.headers.size(), 1u); // the trailer is dropped
  CAF_CHECK_EQUAL(r.headers[0].first, "transfer-encoding");
  CAF_CHECK_EQUAL(res.requests[1].path, "/next");
}

CAF_TEST(two pipelined requests split at every byte offset) {
  std::string_view bytes = "POST /api/sync-sheets-bg?x=%41+b HTTP/1.1\r\n"
                           "Host: h\r\nAuthorization: Bearer t0k3n\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                           "GET /api/data?limit=5&offset=10 HTTP/1.1\r\nHost: h\r\n"
                           "Connection: close\r\n\r\n";
  auto expected = "status=0\n"
                  "POST \"/api/sync-sheets-bg?x=%41+b\" path=\"/api/sync-sheets-bg\" "
                  "query=[\"x\"=\"A b\",] headers=[\"host\":\"h\",\"authorization\":\"Bearer "
                  "t0k3n\",\"transfer-encoding\":\"chunked\",] body=\"abcde\" keep_alive=1 "
                  "upgrade=0\n"
                  "GET \"/api/data?limit=5&offset=10\" path=\"/api/data\" "
                  "query=[\"limit\"=\"5\",\"offset\"=\"10\",] headers=[\"host\":\"h\","
                  "\"connection\":\"close\",] body=\"\" keep_alive=0 upgrade=0\n"s;
  CAF_CHECK_EQUAL(describe(parse(bytes)), expected);
  size_t mismatches = 0;
  for (size_t at = 0; at <= bytes.size(); ++at) {
    auto res = parse_pieces({bytes.substr(0, at), bytes.substr(at)});
    if (describe(res) != expected) {
      ++mismatches;
      CAF_MESSAGE("split at " << at << ":\n" << describe(res));
    }
  }
  CAF_CHECK_EQUAL(mismatches, 0u);
  CAF_CHECK_EQUAL(describe(parse_bytewise(bytes)), expected);
}

CAF_TEST(three pipelined requests in one feed) {
  std::string bytes;
  for (auto path : {"/one", "/two", "/three"})
    bytes += "GET "s + path + " HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string_view unfinished = "GET /fourth-unfinished HTTP/1.1\r\nHo";
  bytes += unfinished;
  http_request_parser parser;
  std::vector<http_request> out;
  CAF_CHECK_EQUAL(parser.feed(bytes, out), 0);
  CAF_REQUIRE_EQUAL(out.size(), 3u);
  CAF_CHECK_EQUAL(out[0].path, "/one");
  CAF_CHECK_EQUAL(out[1].path, "/two");
  CAF_CHECK_EQUAL(out[2].path, "/three");
  CAF_CHECK_EQUAL(parser.pending_bytes(), unfinished.size());
  CAF_CHECK_EQUAL(parser.feed("st: h\r\n\r\n", out), 0);
  CAF_REQUIRE_EQUAL(out.size(), 4u);
  CAF_CHECK_EQUAL(out[3].path, "/fourth-unfinished");
  CAF_REQUIRE_EQUAL(out[3].headers.size(), 1u);
  CAF_CHECK_EQUAL(out[3].headers[0].second, "h");
}

CAF_TEST(keep-alive rules) {
  auto keep_alive = [](std::string_view req) {
    auto res = parse(req);
    CAF_REQUIRE_EQUAL(res.status, 0);
    CAF_REQUIRE_EQUAL(res.requests.size(), 1u);
    return res.requests[0].keep_alive;
  };
  CAF_CHECK(!keep_alive("GET / HTTP/1.0\r\n\r\n"));
  CAF_CHECK(keep_alive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  CAF_CHECK(keep_alive("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
  CAF_CHECK(keep_alive("GET / HTTP/1.1\r\n\r\n"));
  CAF_CHECK(!keep_alive("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
  CAF_CHECK(!keep_alive("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n"));
  CAF_CHECK(!keep_alive("GET / HTTP/1.1\r\nConnection: TE, close\r\n\r\n"));
}

CAF_TEST(a request that ends the connection stops the parser) {
  http_request_parser parser;
  std::vector<http_request> out;
  CAF_CHECK_EQUAL(parser.feed("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close"
                              "\r\n\r\nGET /c HTTP/1.1\r\n\r\n",
                              out),
                  0);
  CAF_REQUIRE_EQUAL(out.size(), 2u);
  CAF_CHECK_EQUAL(out[1].path, "/b");
  CAF_CHECK(parser.closed());
  CAF_CHECK_EQUAL(parser.pending_bytes(), 0u);
  CAF_CHECK_EQUAL(parser.feed("GET /d HTTP/1.1\r\n\r\n", out), 0);
  CAF_CHECK_EQUAL(out.size(), 2u);
}

CAF_TEST(upgrade requests parse) {
  auto res = parse("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                   "GET /after HTTP/1.1\r\n\r\n");
  CAF_CHECK_EQUAL(res.status, 0);
  CAF_REQUIRE_EQUAL(res.requests.size(), 2u);
  CAF_CHECK(res.requests[0].upgrade);
  CAF_CHECK(res.requests[0].keep_alive);
  CAF_CHECK(!res.requests[1].upgrade);
  // After CONNECT the bytes belong to a tunnel.
  http_request_parser parser;
  std::vector<http_request> out;
  CAF_CHECK_EQUAL(parser.feed("CONNECT example.com:443 HTTP/1.1\r\n\r\n\x16\x03\x01", out), 0);
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].upgrade);
  CAF_CHECK(!out[0].keep_alive);
  CAF_CHECK_EQUAL(out[0].path, "example.com:443");
  CAF_CHECK(parser.closed());
}

// -- limits -------------------------------------------------------------------

CAF_TEST(431 exactly at the header limit) {
  limits lim;
  lim.max_header_bytes = 300;
  for (size_t size : {299u, 300u, 301u}) {
    auto req = get_with_head_size(size);
    CAF_REQUIRE_EQUAL(req.size(), size);
    auto expected = size <= 300 ? 0 : 431;
    CAF_MESSAGE("head of " << size << " bytes");
    auto res = parse_every_way(req, lim);
    CAF_CHECK_EQUAL(res.status, expected);
    CAF_CHECK_EQUAL(res.requests.size(), size <= 300 ? 1u : 0u);
    // As the second request of a connection: counting starts afresh.
    auto second = "GET /first HTTP/1.1\r\n\r\n" + req;
    CAF_CHECK_EQUAL(parse(second, lim).status, expected);
    CAF_CHECK_EQUAL(parse(second, lim).requests.size(), size <= 300 ? 2u : 1u);
  }
  // The default limit is 8 KiB.
  CAF_CHECK_EQUAL(parse(get_with_head_size(8 * 1024)).status, 0);
  CAF_CHECK_EQUAL(parse(get_with_head_size(8 * 1024 + 1)).status, 431);
  // An unfinished head fails as soon as it is too long, whole or in pieces.
  auto endless = "GET / HTTP/1.1\r\nX-Pad: " + std::string(400, 'a');
  CAF_CHECK_EQUAL(parse(endless, lim).status, 431);
  CAF_CHECK_EQUAL(parse_bytewise(endless, lim).status, 431);
  CAF_CHECK_EQUAL(parse("GET /" + std::string(400, 'a'), lim).status, 431);
  // Blank lines before a request count against its head.
  CAF_CHECK_EQUAL(parse(std::string(400, '\n'), lim).status, 431);
  // Chunked trailers count too.
  auto trailers = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: "
                  + std::string(400, 't') + "\r\n\r\n";
  CAF_CHECK_EQUAL(parse(trailers, lim).status, 431);
}

CAF_TEST(413 by Content-Length and by chunk sizes) {
  limits lim;
  lim.max_body_bytes = 10;
  auto with_length = [](size_t n) {
    return "POST / HTTP/1.1\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n";
  };
  // At the limit fine; over it refused from the header alone, before any body byte.
  CAF_CHECK_EQUAL(parse(with_length(10) + std::string(10, 'b'), lim).status, 0);
  CAF_CHECK_EQUAL(parse(with_length(11), lim).status, 413);
  CAF_CHECK_EQUAL(parse_bytewise(with_length(11), lim).status, 413);
  CAF_CHECK_EQUAL(parse(with_length(64 * 1024)).status, 0);
  CAF_CHECK_EQUAL(parse(with_length(64 * 1024 + 1)).status, 413);
  std::string chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  // One chunk over the limit: refused at its size line.
  CAF_CHECK_EQUAL(parse(chunked + "b\r\n", lim).status, 413);
  CAF_CHECK_EQUAL(parse(chunked + "10000000\r\n", lim).status, 413);
  // Chunks adding up to the limit, and to one byte more.
  auto ok = parse(chunked + "6\r\n123456\r\n4\r\n7890\r\n0\r\n\r\n", lim);
  CAF_CHECK_EQUAL(ok.status, 0);
  CAF_REQUIRE_EQUAL(ok.requests.size(), 1u);
  CAF_CHECK_EQUAL(ok.requests[0].body, "1234567890");
  CAF_CHECK_EQUAL(parse(chunked + "6\r\n123456\r\n5\r\n", lim).status, 413);
  CAF_CHECK_EQUAL(parse_bytewise(chunked + "6\r\n123456\r\n5\r\n", lim).status, 413);
}

// -- errors -------------------------------------------------------------------

CAF_TEST(400 for malformed and hostile input) {
  auto status = [](std::string_view bytes) { return parse(bytes).status; };
  CAF_CHECK_EQUAL(status("hello world\r\n\r\n"), 400);
  CAF_CHECK_EQUAL(status("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), 400); // TLS
  CAF_CHECK_EQUAL(status("GET\r\n\r\n"), 400);
  CAF_CHECK_EQUAL(status("get / HTTP/1.1\r\n\r\n"), 400);
  CAF_CHECK_EQUAL(status("BREW / HTTP/1.1\r\n\r\n"), 400);
  CAF_CHECK_EQUAL(status("GET no-slash HTTP/1.1\r\n\r\n"), 400);
  CAF_CHECK_EQUAL(status("GET / HTTP/1.1\rHost: x\r\n\r\n"), 400);
  CAF_CHECK_EQUAL(status("GET / HTTP/1.1\r\nNo colon\r\n\r\n"), 400);
  CAF_CHECK_EQUAL(status("GET / HTTP/1.1\r\n: no name\r\n\r\n"), 400);
  // Bad escapes in the path.
  CAF_CHECK_EQUAL(status("GET /a%zz HTTP/1.1\r\n\r\n"), 400);
  CAF_CHECK_EQUAL(status("GET /a%4 HTTP/1.1\r\n\r\n"), 400);
  CAF_CHECK_EQUAL(status("GET /a% HTTP/1.1\r\n\r\n"), 400);
  CAF_CHECK_EQUAL(status("GET /a%00.css HTTP/1.1\r\n\r\n"), 400);
  CAF_CHECK_EQUAL(status("GET /ok%2fb?q=%zz HTTP/1.1\r\n\r\n"), 0);
  // NUL and other control bytes.
  CAF_CHECK_EQUAL(status("GET /a\0b HTTP/1.1\r\n\r\n"s), 400);
  CAF_CHECK_EQUAL(status("GET /a\tb HTTP/1.1\r\n\r\n"), 400);
  for (int c = 0; c < 0x20; ++c) {
    auto req = "GET /a"s + static_cast<char>(c) + "b HTTP/1.1\r\n\r\n";
    if (c == '\r' || c == '\n')
      CAF_CHECK_NOT_EQUAL(status(req), 0); // ends the line early
    else
      CAF_CHECK_EQUAL(status(req), 400);
  }
  CAF_CHECK_EQUAL(status("GET /a\x7f HTTP/1.1\r\n\r\n"), 400);
  CAF_CHECK_EQUAL(status("GE\0T / HTTP/1.1\r\n\r\n"s), 400);
  CAF_CHECK_EQUAL(status("GET / HTTP/1.1\0\r\n\r\n"s), 400);
  CAF_CHECK_EQUAL(status("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n"s), 400);
  CAF_CHECK_EQUAL(status("GET / HTTP/1.1\r\nX-\0A: ab\r\n\r\n"s), 400);
  CAF_CHECK_EQUAL(status("GET / HTTP/1.1\r\nX-A: a\x01" "b\r\n\r\n"), 400);
  // Blanks in or after a header name (the non-strict libhttp_parser accepts them).
  CAF_CHECK_EQUAL(status("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400);
  CAF_CHECK_EQUAL(status("GET / HTTP/1.1\r\nX Y: x\r\n\r\n"), 400);
  // obs-fold, also when the continuation arrives in a later read.
  std::string_view fold = "GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n";
  CAF_CHECK_EQUAL(status(fold), 400);
  for (size_t at = 0; at <= fold.size(); ++at)
    CAF_CHECK_EQUAL(parse_pieces({fold.substr(0, at), fold.substr(at)}).status, 400);
  // Framing that could smuggle a request.
  CAF_CHECK_EQUAL(status("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
                  400);
  CAF_CHECK_EQUAL(status("POST / HTTP/1.1\r\nContent-Length: 3\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n"),
                  400);
  CAF_CHECK_EQUAL(status("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400);
  CAF_CHECK_EQUAL(status("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n"), 400);
  CAF_CHECK_EQUAL(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400);
}

CAF_TEST(505 for other HTTP versions) {
  CAF_CHECK_EQUAL(parse("GET / HTTP/2.0\r\n\r\n").status, 505);
  CAF_CHECK_EQUAL(parse("GET / HTTP/1.2\r\nHost: x\r\n\r\n").status, 505);
  CAF_CHECK_EQUAL(parse("GET / HTTP/0.9\r\n\r\n").status, 505);
  // A version-less (HTTP/0.9) request line.
  CAF_CHECK_EQUAL(parse_every_way("GET /\r\nHost: x\r\n\r\n").status, 505);
  CAF_CHECK_EQUAL(parse("GET / HTTP/1.0\r\n\r\n").status, 0);
}

CAF_TEST(501 for unsupported Transfer-Encoding) {
  auto status = [](std::string_view te) {
    return parse("POST / HTTP/1.1\r\nTransfer-Encoding: " + std::string{te}
                 + "\r\n\r\n0\r\n\r\n")
      .status;
  };
  CAF_CHECK_EQUAL(status("chunked"), 0);
  CAF_CHECK_EQUAL(status("CHUNKED "), 0);
  CAF_CHECK_EQUAL(status("gzip"), 501);
  CAF_CHECK_EQUAL(status("gzip, chunked"), 501);
  CAF_CHECK_EQUAL(status("identity"), 501);
  CAF_CHECK_EQUAL(status("chunked\r\nTransfer-Encoding: chunked"), 501);
}

CAF_TEST(errors are sticky and keep earlier requests) {
  http_request_parser parser;
  std::vector<http_request> out;
  CAF_CHECK_EQUAL(parser.feed("GET /a HTTP/1.1\r\n\r\nGET /b%zz HTTP/1.1\r\n\r\n", out), 400);
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK_EQUAL(out[0].path, "/a");
  CAF_CHECK_EQUAL(parser.error(), 400);
  CAF_CHECK_EQUAL(parser.feed("GET /c HTTP/1.1\r\n\r\n", out), 400);
  CAF_CHECK_EQUAL(out.size(), 1u);
  http_request_parser too_big{limits{100, 10}};
  out.clear();
  CAF_CHECK_EQUAL(too_big.feed("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", out), 413);
  CAF_CHECK_EQUAL(too_big.feed("GET / HTTP/1.1\r\n\r\n", out), 413);
  CAF_CHECK(out.empty());
}

// -- responses ----------------------------------------------------------------

CAF_TEST(reason phrases) {
  for (int status : {200, 202, 204, 304, 400, 401, 404, 405, 409, 413, 429, 431, 500, 501, 503,
                     505}) {
    CAF_MESSAGE(status);
    CAF_CHECK_NOT_EQUAL(std::string{reason_phrase(status)}, "Unknown");
  }
  CAF_CHECK_EQUAL(std::string{reason_phrase(200)}, "OK");
  CAF_CHECK_EQUAL(std::string{reason_phrase(404)}, "Not Found");
  CAF_CHECK_EQUAL(std::string{reason_phrase(431)}, "Request Header Fields Too Large");
  CAF_CHECK_EQUAL(std::string{reason_phrase(799)}, "Unknown");
}

CAF_TEST(serialize) {
  http_response ok;
  ok.headers = {{"Content-Type", "application/json; charset=utf-8"},
                {"Cache-Control", "no-store"}};
  ok.body = R"({"status": "ok"})";
  CAF_CHECK_EQUAL(serialize(ok, true), "HTTP/1.1 200 OK\r\n"
                                       "Content-Type: application/json; charset=utf-8\r\n"
                                       "Cache-Control: no-store\r\n"
                                       "Content-Length: 16\r\n"
                                       "Connection: keep-alive\r\n"
                                       "\r\n"
                                       "{\"status\": \"ok\"}");
  // HEAD: the same head, no body.
  CAF_CHECK_EQUAL(serialize(ok, false, true), "HTTP/1.1 200 OK\r\n"
                                              "Content-Type: application/json; charset=utf-8\r\n"
                                              "Cache-Control: no-store\r\n"
                                              "Content-Length: 16\r\n"
                                              "Connection: close\r\n"
                                              "\r\n");
  http_response not_allowed;
  not_allowed.status = 405;
  not_allowed.headers = {{"Allow", "GET, POST, DELETE"},
                         {"Content-Type", "application/json; charset=utf-8"}};
  not_allowed.body = R"({"success": false})";
  CAF_CHECK_EQUAL(serialize(not_allowed, false),
                  "HTTP/1.1 405 Method Not Allowed\r\n"
                  "Allow: GET, POST, DELETE\r\n"
                  "Content-Type: application/json; charset=utf-8\r\n"
                  "Content-Length: 18\r\n"
                  "Connection: close\r\n"
                  "\r\n"
                  "{\"success\": false}");
  http_response no_content;
  no_content.status = 204;
  no_content.body = "ignored";
  CAF_CHECK_EQUAL(serialize(no_content, true), "HTTP/1.1 204 No Content\r\n"
                                               "Connection: keep-alive\r\n"
                                               "\r\n");
  http_response not_modified;
  not_modified.status = 304;
  not_modified.headers = {{"ETag", "\"abc\""}};
  CAF_CHECK_EQUAL(serialize(not_modified, true), "HTTP/1.1 304 Not Modified\r\n"
                                                 "ETag: \"abc\"\r\n"
                                                 "Connection: keep-alive\r\n"
                                                 "\r\n");
  http_response empty;
  empty.status = 404;
  CAF_CHECK_EQUAL(serialize(empty, true), "HTTP/1.1 404 Not Found\r\n"
                                          "Content-Length: 0\r\n"
                                          "Connection: keep-alive\r\n"
                                          "\r\n");
}

CAF_TEST(serialize owns framing and refuses response splitting) {
  http_response r;
  r.status = 202;
  r.headers = {{"content-length", "999"},
               {"Connection", "upgrade"},
               {"Transfer-Encoding", "chunked"},
               {"Location", "/api/sync-sheets-bg?syncId=x\r\nSet-Cookie: a=b"}};
  r.body = "{}";
  CAF_CHECK_EQUAL(serialize(r, true), "HTTP/1.1 202 Accepted\r\n"
                                      "Location: /api/sync-sheets-bg?syncId=x  Set-Cookie: a=b\r\n"
                                      "Content-Length: 2\r\n"
                                      "Connection: keep-alive\r\n"
                                      "\r\n"
                                      "{}");
}

CAF_TEST(serialize_stream_head) {
  http_response r;
  r.headers = {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-store"}};
  r.body = "not sent";
  CAF_CHECK_EQUAL(serialize_stream_head(r), "HTTP/1.1 200 OK\r\n"
                                            "Content-Type: text/event-stream\r\n"
                                            "Cache-Control: no-store\r\n"
                                            "Connection: keep-alive\r\n"
                                            "\r\n");
}

CAF_TEST(recycled requests carry nothing over) {
  std::string_view big = "POST /big?a=1&b=2 HTTP/1.1\r\nX-A: a\r\nX-B: b\r\nUpgrade: x\r\n"
                         "Connection: upgrade\r\nContent-Length: 3\r\n\r\nabc";
  std::string_view small = "GET /s HTTP/1.1\r\n\r\n";
  http_request_parser parser;
  std::vector<http_request> out;
  for (int i = 0; i < 3; ++i)
    CAF_CHECK_EQUAL(parser.feed(big, out), 0);
  CAF_REQUIRE_EQUAL(out.size(), 3u);
  parser.recycle(out);
  CAF_CHECK(out.empty());
  for (int i = 0; i < 4; ++i)
    CAF_CHECK_EQUAL(parser.feed(small, out), 0);
  CAF_REQUIRE_EQUAL(out.size(), 4u);
  auto fresh = describe(parse(small).requests.at(0));
  for (auto& r : out)
    CAF_CHECK_EQUAL(describe(r), fresh);
}

CAF_TEST(pending bytes) {
  http_request_parser parser;
  std::vector<http_request> out;
  CAF_CHECK_EQUAL(parser.pending_bytes(), 0u);
  CAF_CHECK_EQUAL(parser.feed("GET / HT", out), 0);
  CAF_CHECK_EQUAL(parser.pending_bytes(), 8u);
  CAF_CHECK_EQUAL(parser.feed("TP/1.1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", out),
                  0);
  CAF_CHECK_EQUAL(out.size(), 1u);
  CAF_CHECK_EQUAL(parser.pending_bytes(), 40u);
  CAF_CHECK_EQUAL(parser.feed("cde", out), 0);
  CAF_CHECK_EQUAL(out.size(), 2u);
  CAF_CHECK_EQUAL(parser.pending_bytes(), 0u);
  // Blank lines between requests are no request yet.
  CAF_CHECK_EQUAL(parser.feed("\r\n", out), 0);
  CAF_CHECK_EQUAL(parser.pending_bytes(), 0u);
}
