// Deterministic tests of the HTTP facade (a CAF io broker) over CAF's test
// multiplexer: no sockets, no threads. A scripted fake coordinator answers (or
// holds back) what the broker asks; the test plays the clients by writing into
// the connections' virtual network buffers and reading their output buffers.
//
// The broker re-arms its timers (sweep every 1 s, keep-alive every 15 s), so
// these tests never call run(): pump() runs the scheduler and the multiplexer
// until both are idle, advance() moves the clock and then pumps.

#define CAF_SUITE http_facade
// caf/test/dsl.hpp 0.17.6 uses FAIL in request<T>() without defining it.
#define FAIL(msg) CAF_FAIL(msg)

#include <caf/test/dsl.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/io/network/operation.hpp>
#include <caf/io/network/test_multiplexer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "actors/http_facade.hpp"
#include "messages/actors.hpp"
#include "messages/error.hpp"
#include "messages/system_config.hpp"
#include "net/source_json.hpp"
#include "net/status_json.hpp"
#include "tests/make_status.hpp"

#include <rapidjson/document.h>

using namespace std::chrono_literals;
using namespace sheetsync;
using sheetsync::test::make_status;

using caf::io::accept_handle;
using caf::io::connection_handle;

namespace {

// -- helpers ------------------------------------------------------------------

bool starts_with(const std::string& str, const std::string& prefix) {
  return str.compare(0, prefix.size(), prefix) == 0;
}

bool contains(const std::string& str, const std::string& part) {
  return str.find(part) != std::string::npos;
}

std::string lower(std::string x) {
  for (auto& c : x)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return x;
}

/// A request with `Host` and the given extra header lines (each ending in CRLF).
std::string req(const std::string& method, const std::string& target,
                const std::string& extra = "", const std::string& body = "") {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: test\r\n" + extra;
  if (!body.empty())
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  out += body;
  return out;
}

std::string get(const std::string& target, const std::string& extra = "") {
  return req("GET", target, extra);
}

/// One parsed HTTP response.
struct response {
  int status = 0;
  std::string status_line;
  /// Names lower-cased, in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::optional<std::string> header(const std::string& name) const {
    for (auto& [key, value] : headers)
      if (key == lower(name))
        return value;
    return std::nullopt;
  }

  size_t header_count(const std::string& name) const {
    size_t n = 0;
    for (auto& kv : headers)
      if (kv.first == lower(name))
        ++n;
    return n;
  }
};

/// Parses the complete responses at the front of `text` (framed by
/// Content-Length); whatever cannot be parsed is left in `rest`.
std::vector<response> parse_responses(const std::string& text,
                                      std::string& rest) {
  std::vector<response> result;
  size_t pos = 0;
  for (;;) {
    auto head_end = text.find("\r\n\r\n", pos);
    if (head_end == std::string::npos || !starts_with(text.substr(pos), "HTTP/1.1 "))
      break;
    response r;
    auto line_end = text.find("\r\n", pos);
    r.status_line = text.substr(pos, line_end - pos);
    r.status = std::atoi(r.status_line.c_str() + 9);
    auto i = line_end + 2;
    while (i < head_end + 2) {
      auto eol = text.find("\r\n", i);
      auto line = text.substr(i, eol - i);
      auto colon = line.find(':');
      if (colon == std::string::npos)
        break;
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.erase(0, 1);
      r.headers.emplace_back(lower(line.substr(0, colon)), value);
      i = eol + 2;
    }
    auto len = r.header("content-length");
    if (!len && (r.status == 204 || r.status == 304)) {
      result.push_back(std::move(r)); // no body by definition
      pos = head_end + 4;
      continue;
    }
    if (!len)
      break; // Not a Content-Length framed response (e.g. a stream head).
    auto n = static_cast<size_t>(std::stoul(*len));
    if (head_end + 4 + n > text.size())
      break;
    r.body = text.substr(head_end + 4, n);
    result.push_back(std::move(r));
    pos = head_end + 4 + n;
  }
  rest = text.substr(pos);
  return result;
}

std::vector<response> parse_responses(const std::string& text) {
  std::string rest;
  auto result = parse_responses(text, rest);
  CAF_CHECK_EQUAL(rest, "");
  return result;
}

/// The idle status the broker shows for a source that never synced.
sync_status idle_of(const std::string& source) {
  sync_status st;
  st.source = source;
  st.message = "No sync has run yet";
  return st;
}

std::string sse(uint64_t id, const sync_status& st) {
  return "id: " + std::to_string(id) + "\nevent: status\ndata: " + to_json(st)
         + "\n\n";
}

// -- the fake coordinator -----------------------------------------------------

/// What the fake coordinator answers; shared with the test, which changes it
/// between requests (single-threaded: the scheduler is deterministic).
struct script {
  /// Hold every answer back (the promises land in `held`).
  bool hold = false;
  /// Answer `start` with this error instead of `start_id`.
  caf::error start_error;
  std::string start_id = "sync-1";
  /// Known syncs, by id.
  std::map<std::string, sync_status> syncs;
  /// The answer to status(""), and to last(source) for a source without an
  /// entry in `last`.
  sync_status current;
  /// The answer to last(source), by source name.
  std::map<std::string, sync_status> last;
  /// The configured sources (the first is the default one).
  std::vector<source_info> sources;
  /// Answer `get sources` with an error (a coordinator that cannot list).
  bool sources_fail = false;
  /// The recorded syncs, newest first.
  std::vector<sync_status> history;
  data_page page;
  /// Answer `get data` with this error instead of `page`.
  caf::error data_error;
  /// The answer to `get ready`: ok when empty.
  caf::error ready_error;
  /// Every request and message received, e.g. "start ", "status sync-1",
  /// "data src 50 0", "subscribe".
  std::vector<std::string> calls;
  /// Answers held back: (what, promise), e.g. ("status sync-1", rp).
  std::vector<std::pair<std::string, caf::response_promise>> held;
  /// Who subscribed.
  status_listener_actor listener;
  /// Answer the sources requests (get one, add, update, delete) with this
  /// error instead.
  caf::error source_error;
  /// The answer to `check`.
  source_check check;
  /// The spec of the latest add, update or check, and the fields an update
  /// listed.
  source_spec spec;
  std::vector<std::string> given;
};

using script_ptr = std::shared_ptr<script>;

struct fake_state {
  static inline const char* name = "fake_coordinator";
};

coordinator_api::behavior_type
fake_coordinator(coordinator_api::stateful_pointer<fake_state> self,
                 script_ptr sc) {
  auto hold = [=](std::string what) {
    auto rp = self->make_response_promise();
    sc->held.emplace_back(std::move(what), rp);
    return rp;
  };
  // Whether `source` names a configured source ("" is the default one).
  auto known_source = [=](const std::string& source) {
    return source.empty()
           || std::any_of(sc->sources.begin(), sc->sources.end(),
                          [&](auto& x) { return x.name == source; });
  };
  auto unknown_source = [](const std::string& source) {
    return sheetsync::make_error(ec::invalid_argument,
                                 "unknown source '" + source + "'");
  };
  return {
    [=](atom::start, const std::string& source) -> caf::result<std::string> {
      sc->calls.push_back("start " + source);
      if (sc->hold)
        return hold("start");
      if (!known_source(source))
        return unknown_source(source);
      if (sc->start_error)
        return sc->start_error;
      return sc->start_id;
    },
    [=](atom::status, const std::string& id) -> caf::result<sync_status> {
      sc->calls.push_back("status " + id);
      if (sc->hold)
        return hold("status " + id);
      if (id.empty())
        return sc->current;
      auto i = sc->syncs.find(id);
      if (i == sc->syncs.end())
        return sheetsync::make_error(ec::unknown_sync, "no sync with id " + id);
      return i->second;
    },
    [=](atom::cancel, const std::string& id) -> caf::result<sync_status> {
      sc->calls.push_back("cancel " + id);
      if (sc->hold)
        return hold("cancel");
      auto i = sc->syncs.find(id);
      if (i == sc->syncs.end())
        return sheetsync::make_error(ec::unknown_sync, "no sync with id " + id);
      auto st = i->second;
      st.state = sync_state::cancelled;
      st.message = "Cancelled";
      return st;
    },
    [=](atom::subscribe, status_listener_actor listener) {
      sc->calls.push_back("subscribe");
      sc->listener = std::move(listener);
    },
    [=](atom::subscribe, status_listener_actor, const std::string& id) {
      sc->calls.push_back("subscribe " + id); // the facade never asks this
    },
    [=](caf::get_atom, atom::data, const std::string& source,
        const std::string& tab, uint64_t limit,
        uint64_t offset) -> caf::result<data_page> {
      sc->calls.push_back("data " + source + " " + std::to_string(limit) + " "
                          + std::to_string(offset)
                          + (tab.empty() ? "" : " tab " + tab));
      if (sc->hold)
        return hold("data");
      if (!known_source(source))
        return unknown_source(source);
      if (sc->data_error)
        return sc->data_error;
      return sc->page;
    },
    [=](caf::get_atom, atom::ready) -> caf::result<caf::ok_atom> {
      sc->calls.push_back("ready");
      if (sc->hold)
        return hold("ready");
      if (sc->ready_error)
        return sc->ready_error;
      return caf::ok_atom::value;
    },
    [=](caf::get_atom, atom::sources,
        const std::string& name) -> caf::result<source_info> {
      sc->calls.push_back("source " + name);
      if (sc->source_error)
        return sc->source_error;
      for (auto& x : sc->sources)
        if (x.name == name)
          return x;
      return sheetsync::make_error(ec::unknown_source,
                                   "no source named '" + name + "'");
    },
    [=](caf::put_atom, atom::sources,
        const source_spec& spec) -> caf::result<source_info> {
      sc->calls.push_back("add " + spec.name);
      sc->spec = spec;
      if (sc->source_error)
        return sc->source_error;
      source_info x;
      x.name = spec.name;
      x.location = "redacted";
      x.access = to_string(spec.access);
      x.interval_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        spec.interval)
                        .count();
      x.gid = spec.gid;
      x.tabs = spec.tabs;
      x.all_tabs = spec.all_tabs;
      x.has_api_key = !spec.api_key.empty();
      x.credentials = spec.credentials;
      sc->sources.push_back(x);
      return x;
    },
    [=](atom::update, const source_spec& spec,
        const std::vector<std::string>& given) -> caf::result<source_info> {
      sc->calls.push_back("update " + spec.name);
      sc->spec = spec;
      sc->given = given;
      if (sc->source_error)
        return sc->source_error;
      for (auto& x : sc->sources)
        if (x.name == spec.name) {
          x.interval_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            spec.interval)
                            .count();
          x.tabs = spec.tabs;
          x.all_tabs = spec.all_tabs;
          return x;
        }
      return sheetsync::make_error(ec::unknown_source,
                                   "no source named '" + spec.name + "'");
    },
    [=](caf::delete_atom, atom::sources,
        const std::string& name) -> caf::result<caf::ok_atom> {
      sc->calls.push_back("delete " + name);
      if (sc->source_error)
        return sc->source_error;
      auto& xs = sc->sources;
      auto i = std::find_if(xs.begin(), xs.end(),
                            [&](auto& x) { return x.name == name; });
      if (i == xs.end())
        return sheetsync::make_error(ec::unknown_source,
                                     "no source named '" + name + "'");
      xs.erase(i);
      return caf::ok_atom_v;
    },
    [=](atom::check, const source_spec& spec) -> caf::result<source_check> {
      sc->calls.push_back("check " + spec.name);
      sc->spec = spec;
      if (sc->hold)
        return hold("check");
      return sc->check;
    },
    [=](atom::last, const std::string& source) -> caf::result<sync_status> {
      sc->calls.push_back("last " + source);
      if (sc->hold)
        return hold("last " + source);
      if (!known_source(source))
        return unknown_source(source);
      auto i = sc->last.find(source);
      return i != sc->last.end() ? i->second : sc->current;
    },
    [=](caf::get_atom, atom::sources) -> caf::result<std::vector<source_info>> {
      sc->calls.push_back("sources");
      if (sc->hold)
        return hold("sources");
      if (sc->sources_fail)
        return sheetsync::make_error(ec::unspecified, "cannot list");
      return sc->sources;
    },
    [=](caf::get_atom, atom::history, const std::string& source,
        uint64_t limit) -> caf::result<std::vector<sync_status>> {
      sc->calls.push_back("history " + source + " " + std::to_string(limit));
      if (sc->hold)
        return hold("history");
      if (!known_source(source))
        return unknown_source(source);
      std::vector<sync_status> result;
      for (auto& st : sc->history)
        if ((source.empty() || st.source == source) && result.size() < limit)
          result.push_back(st);
      return result;
    },
  };
}

// -- fixture ------------------------------------------------------------------

struct test_config : sheetsync::system_config {
  test_config() {
    // test_coordinator_fixture sets middleman.network-backend = testing, so
    // the middleman runs on a caf::io::network::test_multiplexer.
    load<caf::io::middleman>();
  }
};

struct fixture : test_coordinator_fixture<test_config> {
  caf::io::network::test_multiplexer* mpx = nullptr;
  script_ptr sc = std::make_shared<script>();
  coordinator_api coord;
  caf::actor broker;
  /// Tests adjust it before start().
  facade_config fcfg;
  accept_handle acceptor = accept_handle::from_int(1);
  int64_t next_conn = 100;

  fixture() {
    mpx = dynamic_cast<caf::io::network::test_multiplexer*>(
      &sys.middleman().backend());
    CAF_REQUIRE(mpx != nullptr);
    sc->current = sync_status{}; // idle, no id
    source_info def;
    def.name = "default";
    def.location = "https://sheets.test/export?format=csv";
    def.access = "export";
    sc->sources.push_back(def);
    sc->syncs["sync-1"] = make_status("sync-1", sync_state::downloading, 42);
    sc->page.source = "default";
    sc->page.columns = {"Order ID", "Amount"};
    sc->page.rows = {{"SO-1", "10"}, {"SO-2", "20"}};
    sc->page.total = 300;
    coord = sys.spawn(fake_coordinator, sc);
    sched.run();
    fcfg.coordinator = coord;
    fcfg.listen = false;
    fcfg.request_timeout = 1s;
  }

  ~fixture() override {
    // Stop the broker first: its timers re-arm forever, and the base class's
    // destructor calls run().
    if (broker) {
      caf::anon_send_exit(broker, caf::exit_reason::user_shutdown);
      mpx->flush_runnables();
      broker = nullptr;
    }
    // Timers that never fired hold their messages, which hold the broker.
    sched.clock().cancel_all();
    sc->held.clear();
    caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
    sched.run();
    coord = coordinator_api{};
    sc->listener = status_listener_actor{};
  }

  /// Runs the scheduler and the multiplexer until neither has work; fires no
  /// timer.
  void pump() {
    for (;;) {
      bool progress = false;
      while (sched.try_run_once())
        progress = true;
      while (mpx->try_exec_runnable())
        progress = true;
      if (!progress)
        return;
    }
  }

  /// Advances the clock (firing the timers due) and pumps.
  void advance(caf::timespan d) {
    advance_time(d);
    pump();
  }

  /// Spawns the broker with fcfg and gives it the acceptor.
  void start() {
    broker = sys.middleman().spawn_broker(http_facade, fcfg);
    pump();
    auto& b = deref<http_facade_actor>(broker);
    b.add_doorman(mpx->new_doorman(acceptor, 8080));
    pump();
  }

  http_facade_state& state() {
    return deref<http_facade_actor>(broker).state;
  }

  connection_handle connect() {
    auto conn = connection_handle::from_int(next_conn++);
    mpx->add_pending_connect(acceptor, conn);
    mpx->accept_connection(acceptor);
    pump();
    return conn;
  }

  /// Bytes from the client, read by the broker at once; nothing else runs.
  void send_raw(connection_handle conn, const std::string& bytes) {
    mpx->virtual_send(conn, std::vector<char>(bytes.begin(), bytes.end()));
  }

  void send(connection_handle conn, const std::string& bytes) {
    send_raw(conn, bytes);
    pump();
  }

  /// What the broker wrote to the client since the last call.
  std::string output(connection_handle conn) {
    auto& buf = mpx->output_buffer(conn);
    std::string result(buf.begin(), buf.end());
    buf.clear();
    return result;
  }

  /// The output as exactly one response.
  response one_response(connection_handle conn) {
    auto out = output(conn);
    auto rs = parse_responses(out);
    if (rs.size() != 1) {
      CAF_FAIL("expected one response, got " << rs.size() << ": " << out);
    }
    return rs.front();
  }

  /// Sends a request on a fresh connection and returns the one answer.
  response exchange(const std::string& request) {
    auto conn = connect();
    send(conn, request);
    return one_response(conn);
  }

  /// The broker closed the connection (close() stops reading in the test
  /// multiplexer).
  bool closed(connection_handle conn) {
    return mpx->stopped_reading(conn);
  }

  /// The broker still keeps state for the connection.
  bool tracked(connection_handle conn) {
    return state().conns->find(conn) != nullptr;
  }

  /// Two sources before start(): a (the default, on demand) and b (every
  /// 15 min, through the Sheets API).
  void two_sources() {
    sc->sources.clear();
    source_info a;
    a.name = "a";
    a.location = "https://sheets.test/a.csv";
    a.access = "export";
    source_info b;
    b.name = "b";
    b.location = "https://docs.google.com/spreadsheets/d/ID2/edit#gid=123";
    b.access = "api";
    b.interval_ms = 15 * 60 * 1000;
    sc->sources = {a, b};
  }

  /// What a fresh keep-alive connection reads after asking `id`'s status.
  std::string output_of_one_read(const std::string& id) {
    auto conn = connect();
    send(conn, get("/api/sync-sheets-bg?syncId=" + id));
    return output(conn);
  }

  /// Requests the fake coordinator received (after the start-up ones).
  size_t coordinator_calls() {
    return sc->calls.size();
  }
};

void check_json(const response& r) {
  CAF_CHECK_EQUAL(r.header("Content-Type").value_or(""),
                  "application/json; charset=utf-8");
  CAF_CHECK(starts_with(r.body, "{"));
}

/// Checks what every error answer carries (docs/http-api.md): a JSON object
/// with `success` false, `error` equal to `code` and a non-empty `message`,
/// and `retryAfter` exactly when there is a Retry-After header (the same
/// number). Returns the body for the answer's own fields.
std::shared_ptr<rapidjson::Document> check_error(const response& r,
                                                 const std::string& code) {
  CAF_MESSAGE("error answer " << r.status << ": " << r.body);
  check_json(r);
  auto doc = std::make_shared<rapidjson::Document>();
  doc->Parse(r.body.c_str());
  if (doc->HasParseError() || !doc->IsObject()) {
    CAF_FAIL("not a JSON object: " << r.body);
  }
  auto& d = *doc;
  CAF_CHECK(d.HasMember("success") && d["success"].IsFalse());
  CAF_CHECK(d.HasMember("error") && d["error"].IsString()
            && d["error"].GetString() == code);
  CAF_CHECK(d.HasMember("message") && d["message"].IsString()
            && d["message"].GetStringLength() > 0);
  if (auto retry = r.header("Retry-After")) {
    CAF_CHECK(d.HasMember("retryAfter") && d["retryAfter"].IsUint()
              && std::to_string(d["retryAfter"].GetUint()) == *retry);
  } else {
    CAF_CHECK(!d.HasMember("retryAfter"));
  }
  return doc;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(http_facade_tests, fixture)

// -- start-up and plain requests ----------------------------------------------

CAF_TEST(the broker subscribes and asks the current status at start) {
  start();
  CAF_REQUIRE_EQUAL(sc->calls.size(), 2u);
  CAF_CHECK_EQUAL(sc->calls[0], "subscribe");
  CAF_CHECK_EQUAL(sc->calls[1], "sources");
  CAF_CHECK_EQUAL(caf::actor_cast<caf::actor>(sc->listener), broker);
  CAF_CHECK_EQUAL(state().sources, std::vector<std::string>{"default"});
  CAF_CHECK_EQUAL(state().events.sources_known(), 1u);
  CAF_CHECK_EQUAL(state().events.latest("default"), to_json(idle_of("default")));
}

CAF_TEST(GET healthz answers 200 JSON and keeps the connection) {
  start();
  auto conn = connect();
  send(conn, get("/healthz"));
  auto r = one_response(conn);
  CAF_CHECK_EQUAL(r.status_line, "HTTP/1.1 200 OK");
  check_json(r);
  CAF_CHECK_EQUAL(r.body, R"({"status":"ok"})");
  CAF_CHECK_EQUAL(r.header("Connection").value_or(""), "keep-alive");
  CAF_CHECK_EQUAL(r.header("Content-Length").value_or(""),
                  std::to_string(r.body.size()));
  CAF_CHECK(!closed(conn));
  CAF_CHECK(tracked(conn));
  // The same connection serves the next request.
  send(conn, get("/healthz"));
  CAF_CHECK_EQUAL(one_response(conn).status, 200);
  // HEAD: the same head, no body.
  send(conn, req("HEAD", "/healthz"));
  auto out = output(conn);
  CAF_CHECK(starts_with(out, "HTTP/1.1 200 OK\r\n"));
  CAF_CHECK(contains(out, "Content-Length: 15\r\n"));
  CAF_CHECK(out.size() >= 4 && out.compare(out.size() - 4, 4, "\r\n\r\n") == 0);
  // The healthz request needs no coordinator.
  CAF_CHECK_EQUAL(coordinator_calls(), 2u);
}

CAF_TEST(Connection close answers and then closes) {
  start();
  auto conn = connect();
  send(conn, get("/healthz", "Connection: close\r\n"));
  auto r = one_response(conn);
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(r.header("Connection").value_or(""), "close");
  CAF_CHECK(closed(conn));
  CAF_CHECK(!tracked(conn));
  // Whatever the client sends afterwards gets nothing.
  send(conn, get("/healthz"));
  CAF_CHECK_EQUAL(output(conn), "");
}

CAF_TEST(HTTP 1.0 without keep-alive is closed after the answer) {
  start();
  auto conn = connect();
  send(conn, "GET /healthz HTTP/1.0\r\n\r\n");
  auto r = one_response(conn);
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(r.header("Connection").value_or(""), "close");
  CAF_CHECK(closed(conn));
}

CAF_TEST(a request split into single bytes) {
  start();
  auto conn = connect();
  auto request = get("/healthz", "User-Agent: byte-by-byte\r\n");
  for (size_t i = 0; i + 1 < request.size(); ++i) {
    send(conn, request.substr(i, 1));
    if (!mpx->output_buffer(conn).empty())
      CAF_FAIL("answered before the request was complete, at byte " << i);
  }
  send(conn, request.substr(request.size() - 1));
  auto r = one_response(conn);
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(r.body, R"({"status":"ok"})");
  CAF_CHECK(!closed(conn));
}

CAF_TEST(a split POST reaches the coordinator once) {
  start();
  auto conn = connect();
  auto request = req("POST", "/api/sync-sheets-bg");
  for (auto c : request)
    send(conn, std::string(1, c));
  auto r = one_response(conn);
  CAF_CHECK_EQUAL(r.status, 202);
  CAF_CHECK_EQUAL(coordinator_calls(), 3u);
}

CAF_TEST(two pipelined requests are answered in request order) {
  start();
  auto conn = connect();
  // The POST needs the coordinator, healthz does not: healthz is ready first
  // but must wait.
  send_raw(conn, req("POST", "/api/sync-sheets-bg") + get("/healthz"));
  CAF_CHECK_EQUAL(output(conn), "");
  pump();
  auto rs = parse_responses(output(conn));
  CAF_REQUIRE_EQUAL(rs.size(), 2u);
  CAF_CHECK_EQUAL(rs[0].status, 202);
  CAF_CHECK(contains(rs[0].body, R"("syncId":"sync-1")"));
  CAF_CHECK_EQUAL(rs[1].status, 200);
  CAF_CHECK_EQUAL(rs[1].body, R"({"status":"ok"})");
  CAF_CHECK(!closed(conn));
}

CAF_TEST(three pipelined requests answered out of order go out in order) {
  start();
  sc->hold = true;
  auto conn = connect();
  send(conn, req("POST", "/api/sync-sheets-bg")
               + get("/api/sync-sheets-bg?syncId=sync-1") + get("/healthz"));
  CAF_CHECK_EQUAL(output(conn), "");
  CAF_REQUIRE_EQUAL(sc->held.size(), 2u);
  CAF_CHECK_EQUAL(sc->held[0].first, "start");
  CAF_CHECK_EQUAL(sc->held[1].first, "status sync-1");
  // The coordinator answers the second request first: nothing may go out yet.
  sc->held[1].second.deliver(sc->syncs["sync-1"]);
  pump();
  CAF_CHECK_EQUAL(output(conn), "");
  // Now the first: all three go out, in request order.
  sc->held[0].second.deliver(std::string{"sync-7"});
  pump();
  auto rs = parse_responses(output(conn));
  CAF_REQUIRE_EQUAL(rs.size(), 3u);
  CAF_CHECK_EQUAL(rs[0].status, 202);
  CAF_CHECK(contains(rs[0].body, R"("syncId":"sync-7")"));
  CAF_CHECK_EQUAL(rs[1].status, 200);
  CAF_CHECK_EQUAL(rs[1].body, to_json(sc->syncs["sync-1"]));
  CAF_CHECK_EQUAL(rs[2].status, 200);
  CAF_CHECK_EQUAL(rs[2].body, R"({"status":"ok"})");
}

CAF_TEST(a client that half closes gets every answer and then the close) {
  start();
  sc->hold = true;
  auto conn = connect();
  send(conn, get("/healthz") + get("/api/sync-sheets-bg?syncId=sync-1"));
  // The eager scribe's word for the client's FIN, after the data before it.
  self->send(broker, atom::eof_v, conn);
  pump();
  // The coordinator's answer is still owed: the connection stays.
  CAF_CHECK(!closed(conn));
  CAF_REQUIRE_EQUAL(sc->held.size(), 1u);
  sc->held[0].second.deliver(sc->syncs["sync-1"]);
  pump();
  auto rs = parse_responses(output(conn));
  CAF_REQUIRE_EQUAL(rs.size(), 2u);
  CAF_CHECK_EQUAL(rs[0].body, R"({"status":"ok"})");
  CAF_CHECK_EQUAL(rs[1].body, to_json(sc->syncs["sync-1"]));
  CAF_CHECK(closed(conn));
  CAF_CHECK(!tracked(conn));
  // Nothing owed: closed at once. An event stream's reader: gone.
  auto idle = connect();
  self->send(broker, atom::eof_v, idle);
  pump();
  CAF_CHECK(closed(idle));
  CAF_CHECK(!tracked(idle));
  auto events = connect();
  send(events, get("/api/sync-sheets-bg/events"));
  CAF_REQUIRE(tracked(events));
  self->send(broker, atom::eof_v, events);
  pump();
  CAF_CHECK(closed(events));
  CAF_CHECK(!tracked(events));
}

CAF_TEST(pipelined requests after Connection close are not served) {
  start();
  auto conn = connect();
  send(conn, get("/healthz", "Connection: close\r\n") + get("/healthz"));
  auto rs = parse_responses(output(conn));
  CAF_CHECK_EQUAL(rs.size(), 1u);
  CAF_CHECK(closed(conn));
}

// -- the sync API -------------------------------------------------------------

CAF_TEST(POST starts a sync: 202 with syncId and Location) {
  source_info orders;
  orders.name = "orders";
  sc->sources.push_back(orders);
  start();
  sc->start_id = "sync-18c-1a2b";
  auto r = exchange(req("POST", "/api/sync-sheets-bg?source=orders"));
  CAF_CHECK_EQUAL(r.status_line, "HTTP/1.1 202 Accepted");
  check_json(r);
  CAF_CHECK_EQUAL(r.body, R"({"success":true,"syncId":"sync-18c-1a2b",)"
                          R"("source":"orders",)"
                          R"("message":"Background sync started"})");
  CAF_CHECK_EQUAL(r.header("Location").value_or(""),
                  "/api/sync-sheets-bg?syncId=sync-18c-1a2b");
  CAF_CHECK_EQUAL(r.header("Connection").value_or(""), "keep-alive");
  CAF_CHECK_EQUAL(sc->calls.back(), "start orders");
}

CAF_TEST(POST while a sync runs: 409 with the running syncId) {
  start();
  sc->start_error = make_busy_error("sync-running");
  auto r = exchange(req("POST", "/api/sync-sheets-bg"));
  CAF_CHECK_EQUAL(r.status, 409);
  check_json(r);
  CAF_CHECK(contains(r.body, R"("success":false)"));
  CAF_CHECK(contains(r.body, R"("syncId":"sync-running")"));
  CAF_CHECK(contains(r.body, R"("message":")"));
  CAF_CHECK_EQUAL(r.header_count("Retry-After"), 0u);
}

CAF_TEST(POST within the cooldown: 429 with Retry-After) {
  start();
  sc->start_error = make_cooldown_error(2);
  auto r = exchange(req("POST", "/api/sync-sheets-bg"));
  CAF_CHECK_EQUAL(r.status_line, "HTTP/1.1 429 Too Many Requests");
  check_json(r);
  CAF_CHECK_EQUAL(r.header("Retry-After").value_or(""), "2");
  CAF_CHECK(contains(r.body, R"("success":false)"));
  CAF_CHECK(contains(r.body, R"("retryAfter":2)"));
  CAF_CHECK(contains(r.body, "try again in 2 s"));
}

CAF_TEST(every error answer carries success false an error code and a message) {
  two_sources();
  fcfg.api_token = "t0ken";
  start();
  const std::string auth = "Authorization: Bearer t0ken\r\n";
  auto api = [&](const std::string& method, const std::string& target,
                 const std::string& extra = "", const std::string& body = "") {
    return exchange(req(method, target, auth + extra, body));
  };
  // 400: a bad body, nothing to cancel named, bad limits.
  check_error(api("POST", "/api/sync-sheets-bg",
                  "Content-Type: application/json\r\n", "[1]"),
              "invalid_argument");
  check_error(api("DELETE", "/api/sync-sheets-bg"), "invalid_argument");
  check_error(api("GET", "/api/sync-history?limit=0"), "invalid_argument");
  check_error(api("GET", "/api/data?limit=x"), "invalid_argument");
  // 401 without the token.
  check_error(exchange(get("/api/sources")), "unauthorized");
  // 404: an unknown sync, source or path.
  check_error(api("GET", "/api/sync-sheets-bg?syncId=nope"), "unknown_sync");
  check_error(api("DELETE", "/api/sync-sheets-bg?syncId=nope"), "unknown_sync");
  for (auto target : {"/api/sync-sheets-bg?source=zz", "/api/data?source=zz",
                      "/api/sync-history?source=zz"}) {
    auto doc = check_error(api("GET", target), "unknown_source");
    CAF_CHECK((*doc)["sources"].IsArray() && (*doc)["sources"].Size() == 2u);
  }
  check_error(api("GET", "/api/nope"), "not_found");
  check_error(exchange(get("/nope")), "not_found");
  // 405.
  check_error(api("PUT", "/api/sync-sheets-bg"), "method_not_allowed");
  // 409: a sync runs (with its id), nothing runs.
  sc->start_error = make_busy_error("sync-running");
  auto doc = check_error(api("POST", "/api/sync-sheets-bg"), "busy");
  CAF_CHECK_EQUAL(std::string{(*doc)["syncId"].GetString()}, "sync-running");
  sc->last["a"] = make_status("sync-a1", sync_state::complete, 100);
  check_error(api("DELETE", "/api/sync-sheets-bg?source=a"), "not_running");
  // 429 within the cooldown (retryAfter checked against Retry-After).
  sc->start_error = make_cooldown_error(3);
  auto r = api("POST", "/api/sync-sheets-bg");
  CAF_CHECK_EQUAL(r.status, 429);
  CAF_CHECK_EQUAL(r.header("Retry-After").value_or(""), "3");
  check_error(r, "cooldown");
  sc->start_error = caf::error{};
  // 503: the cache reader overloaded, the cache locked, not ready.
  sc->data_error = sheetsync::make_error(ec::unavailable, "reader busy");
  check_error(api("GET", "/api/data"), "unavailable");
  sc->data_error = sheetsync::make_error(ec::cache_busy, "locked");
  r = api("GET", "/api/data");
  CAF_CHECK_EQUAL(r.header("Retry-After").value_or(""), "2");
  check_error(r, "cache_busy");
  sc->data_error = caf::error{};
  sc->ready_error = sheetsync::make_error(ec::cache_failed, "no cache");
  doc = check_error(exchange(get("/readyz")), "not_ready");
  CAF_CHECK_EQUAL(std::string{(*doc)["status"].GetString()}, "not ready");
  CAF_CHECK_EQUAL(std::string{(*doc)["reason"].GetString()}, "no cache");
  sc->ready_error = caf::error{};
  // 500: an error without an HTTP meaning.
  sc->start_error = sheetsync::make_error(ec::cache_failed, "disk on fire");
  r = api("POST", "/api/sync-sheets-bg");
  CAF_CHECK_EQUAL(r.status, 500);
  check_error(r, "cache_failed");
  sc->start_error = caf::error{};
  // Requests the parser refuses.
  check_error(exchange("GARBAGE\r\n\r\n"), "bad_request");
  check_error(exchange(get("/healthz", "X-Big: " + std::string(9000, 'a')
                                         + "\r\n")),
              "bad_request");
  check_error(exchange(req("POST", "/api/sync-sheets-bg",
                           auth + "Content-Length: 70000\r\n")),
              "bad_request");
  // 503: the coordinator does not answer in time.
  sc->hold = true;
  auto conn = connect();
  send(conn, get("/api/sync-sheets-bg?syncId=sync-1", auth));
  advance(1s);
  check_error(one_response(conn), "unavailable");
  sc->held.clear();
  sc->hold = false;
}

CAF_TEST(GET status answers 200 status JSON that is not cacheable) {
  start();
  auto r = exchange(get("/api/sync-sheets-bg?syncId=sync-1"));
  CAF_CHECK_EQUAL(r.status, 200);
  check_json(r);
  CAF_CHECK_EQUAL(r.header("Cache-Control").value_or(""), "no-store");
  CAF_CHECK_EQUAL(r.body, to_json(sc->syncs["sync-1"]));
  CAF_CHECK(contains(r.body, R"("syncId":"sync-1")"));
  CAF_CHECK(contains(r.body, R"("status":"downloading")"));
  CAF_CHECK(contains(r.body, R"("progress":42)"));
  CAF_CHECK_EQUAL(sc->calls.back(), "status sync-1");
}

CAF_TEST(status reads agree with the statuses the coordinator pushed) {
  start();
  auto status_of = [&](const std::string& target) {
    auto r = exchange(get(target));
    CAF_CHECK_EQUAL(r.header("Cache-Control").value_or(""), "no-store");
    return r;
  };
  auto st = make_status("sync-2", sync_state::downloading, 10);
  sc->syncs["sync-2"] = st;
  sc->current = st;
  self->send(sc->listener, st);
  pump();
  CAF_CHECK_EQUAL(status_of("/api/sync-sheets-bg?syncId=sync-2").body,
                  to_json(st));
  CAF_CHECK_EQUAL(status_of("/api/sync-sheets-bg").body, to_json(st));
  auto done = make_status("sync-2", sync_state::complete, 100);
  sc->syncs["sync-2"] = done;
  sc->current = done;
  self->send(sc->listener, done);
  pump();
  CAF_CHECK_EQUAL(status_of("/api/sync-sheets-bg?syncId=sync-2").body,
                  to_json(done));
  CAF_CHECK_EQUAL(status_of("/api/sync-sheets-bg").body, to_json(done));
  // A finished status never changes: while clients keep reading it, it stays
  // cached past known_ttl, without asking the coordinator.
  auto asked = sc->calls.size();
  advance(20s);
  CAF_CHECK_EQUAL(status_of("/api/sync-sheets-bg?syncId=sync-2").body,
                  to_json(done));
  advance(20s);
  CAF_CHECK_EQUAL(status_of("/api/sync-sheets-bg?syncId=sync-2").body,
                  to_json(done));
  CAF_CHECK_EQUAL(sc->calls.size(), asked);
  // Another sync the broker never heard of: the coordinator answers.
  CAF_CHECK_EQUAL(status_of("/api/sync-sheets-bg?syncId=sync-1").body,
                  to_json(sc->syncs["sync-1"]));
  // Once the coordinator forgot the finished sync, the broker must not claim
  // it still exists (its copy lives for known_ttl at most).
  sc->syncs.erase("sync-2");
  advance(std::chrono::duration_cast<caf::timespan>(status_cache::finished_ttl)
          + 1s);
  CAF_CHECK_EQUAL(exchange(get("/api/sync-sheets-bg?syncId=sync-2")).status,
                  404);
}

CAF_TEST(GET status without syncId: the current status) {
  start();
  auto r = exchange(get("/api/sync-sheets-bg"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK(contains(r.body, R"("syncId":null)"));
  CAF_CHECK(contains(r.body, R"("status":"idle")"));
  CAF_CHECK(contains(r.body, R"("progress":0)"));
}

CAF_TEST(GET status of an unknown id: 404 JSON) {
  start();
  auto r = exchange(get("/api/sync-sheets-bg?syncId=sync-nope"));
  CAF_CHECK_EQUAL(r.status_line, "HTTP/1.1 404 Not Found");
  check_json(r);
  CAF_CHECK(contains(r.body, R"("success":false)"));
  CAF_CHECK(contains(r.body, R"("error":"unknown_sync")"));
}

// After a restart, or once the coordinator forgot a sync, its status comes
// from the history (SQLite): once per id, not once per read.
CAF_TEST(a finished status the coordinator read from its history is asked once) {
  start();
  auto old = make_status("sync-old", sync_state::complete, 100);
  sc->syncs["sync-old"] = old;
  auto calls = coordinator_calls();
  auto first = output_of_one_read("sync-old");
  CAF_CHECK_EQUAL(coordinator_calls(), calls + 1);
  CAF_CHECK_EQUAL(sc->calls.back(), "status sync-old");
  auto second = output_of_one_read("sync-old");
  CAF_CHECK_EQUAL(coordinator_calls(), calls + 1);
  // Byte for byte the same answer.
  CAF_CHECK_EQUAL(second, first);
  auto r = parse_responses(second);
  CAF_REQUIRE_EQUAL(r.size(), 1u);
  CAF_CHECK_EQUAL(r[0].status, 200);
  CAF_CHECK_EQUAL(r[0].body, to_json(old));
  auto& metrics = state().metrics;
  CAF_CHECK_EQUAL(metrics.status_reads(status_read::coordinator), 1u);
  CAF_CHECK_EQUAL(metrics.status_reads(status_read::cache), 1u);
  auto text = exchange(get("/metrics")).body;
  CAF_CHECK(contains(text, "sheetsync_status_reads_total{answered=\"cache\"} 1\n"));
  CAF_CHECK(contains(
    text, "sheetsync_status_reads_total{answered=\"coordinator\"} 1\n"));
  // A running sync's answer is not kept (pushes own those), nor a 404.
  for (auto id : {"sync-1", "sync-nope"}) {
    calls = coordinator_calls();
    output_of_one_read(id);
    output_of_one_read(id);
    CAF_CHECK_EQUAL(coordinator_calls(), calls + 2);
  }
  CAF_CHECK_EQUAL(state().statuses.size(), 1u);
}

CAF_TEST(reads of one uncached id share the ask on its way) {
  start();
  auto old = make_status("sync-old", sync_state::error, 30);
  sc->hold = true;
  std::vector<connection_handle> readers;
  for (int i = 0; i < 3; ++i) {
    readers.push_back(connect());
    send(readers.back(), get("/api/sync-sheets-bg?syncId=sync-old"));
  }
  // Another id asks on its own.
  auto other = connect();
  send(other, get("/api/sync-sheets-bg?syncId=sync-nope"));
  CAF_REQUIRE_EQUAL(sc->held.size(), 2u);
  CAF_CHECK_EQUAL(sc->held[0].first, "status sync-old");
  CAF_CHECK_EQUAL(sc->held[1].first, "status sync-nope");
  sc->held[0].second.deliver(old);
  sc->held[1].second.deliver(
    sheetsync::make_error(ec::unknown_sync, "no sync with id sync-nope"));
  pump();
  for (auto conn : readers) {
    auto r = one_response(conn);
    CAF_CHECK_EQUAL(r.status, 200);
    CAF_CHECK_EQUAL(r.body, to_json(old));
  }
  check_error(one_response(other), "unknown_sync");
  CAF_CHECK(state().status_asks.empty());
  auto& metrics = state().metrics;
  CAF_CHECK_EQUAL(metrics.status_reads(status_read::coordinator), 2u);
  CAF_CHECK_EQUAL(metrics.status_reads(status_read::shared), 2u);
  // The answer was kept: the next read waits for nothing.
  sc->hold = false;
  auto calls = coordinator_calls();
  CAF_CHECK_EQUAL(exchange(get("/api/sync-sheets-bg?syncId=sync-old")).body,
                  to_json(old));
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
  sc->held.clear();
}

// A client enumerating ids of finished syncs cannot grow the cache.
CAF_TEST(statuses filled from the history stay within the bound) {
  start();
  auto n = status_cache::max_finished + 10;
  for (size_t i = 0; i < n; ++i) {
    auto id = "sync-h" + std::to_string(i);
    sc->syncs[id] = make_status(id, sync_state::complete, 100);
  }
  auto conn = connect();
  for (size_t i = 0; i < n; ++i) {
    send(conn, get("/api/sync-sheets-bg?syncId=sync-h" + std::to_string(i)));
    output(conn);
  }
  CAF_CHECK_EQUAL(state().statuses.size(), status_cache::max_finished);
  // The least recently read went first and asks again; the latest do not.
  auto calls = coordinator_calls();
  send(conn, get("/api/sync-sheets-bg?syncId=sync-h" + std::to_string(n - 1)));
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
  send(conn, get("/api/sync-sheets-bg?syncId=sync-h0"));
  CAF_CHECK_EQUAL(coordinator_calls(), calls + 1);
  CAF_CHECK_EQUAL(state().statuses.size(), status_cache::max_finished);
}

CAF_TEST(DELETE without syncId: 400 and no coordinator request) {
  start();
  auto calls = coordinator_calls();
  auto r = exchange(req("DELETE", "/api/sync-sheets-bg"));
  CAF_CHECK_EQUAL(r.status, 400);
  check_json(r);
  CAF_CHECK(contains(r.body, R"("error":"invalid_argument")"));
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
}

CAF_TEST(DELETE cancels: 200 status JSON) {
  start();
  auto r = exchange(req("DELETE", "/api/sync-sheets-bg?syncId=sync-1"));
  CAF_CHECK_EQUAL(r.status, 200);
  check_json(r);
  CAF_CHECK(contains(r.body, R"("syncId":"sync-1")"));
  CAF_CHECK(contains(r.body, R"("status":"cancelled")"));
  CAF_CHECK_EQUAL(sc->calls.back(), "cancel sync-1");
  auto unknown = exchange(req("DELETE", "/api/sync-sheets-bg?syncId=sync-x"));
  CAF_CHECK_EQUAL(unknown.status, 404);
}

CAF_TEST(GET data: 200 page) {
  start();
  auto r = exchange(get("/api/data?limit=2&offset=4"));
  CAF_CHECK_EQUAL(r.status, 200);
  check_json(r);
  CAF_CHECK_EQUAL(r.body, to_json(sc->page));
  CAF_CHECK(contains(r.body, R"("columns":["Order ID","Amount"])"));
  CAF_CHECK(contains(r.body, R"("total":300)"));
  CAF_CHECK_EQUAL(sc->calls.back(), "data  2 4");
  // Defaults: limit 50, offset 0.
  exchange(get("/api/data"));
  CAF_CHECK_EQUAL(sc->calls.back(), "data  50 0");
  // A tab's title, percent-decoded, goes to the coordinator; the page says
  // its tab and lists the source's tabs.
  sc->page.tab = "Q1 Costs";
  sc->page.tabs = {"Sales", "Q1 Costs"};
  r = exchange(get("/api/data?tab=Q1%20Costs"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(sc->calls.back(), "data  50 0 tab Q1 Costs");
  CAF_CHECK(contains(r.body, R"("tab":"Q1 Costs","tabs":["Sales","Q1 Costs"])"));
}

CAF_TEST(GET data with a bad limit or offset: 400) {
  start();
  auto calls = coordinator_calls();
  for (auto target : {"/api/data?limit=0", "/api/data?limit=1001",
                      "/api/data?limit=abc", "/api/data?limit=-1",
                      "/api/data?limit=5x", "/api/data?offset=-3"}) {
    CAF_MESSAGE("target: " << target);
    auto r = exchange(get(target));
    CAF_CHECK_EQUAL(r.status, 400);
    check_json(r);
    CAF_CHECK(contains(r.body, R"("error":"invalid_argument")"));
  }
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
  // The bounds themselves are fine.
  CAF_CHECK_EQUAL(exchange(get("/api/data?limit=1000")).status, 200);
  CAF_CHECK_EQUAL(exchange(get("/api/data?limit=1")).status, 200);
}

// -- bad requests -------------------------------------------------------------

CAF_TEST(a malformed request: 400 and close) {
  start();
  auto conn = connect();
  send(conn, "GARBAGE\r\n\r\n");
  auto r = one_response(conn);
  CAF_CHECK_EQUAL(r.status_line, "HTTP/1.1 400 Bad Request");
  check_json(r);
  CAF_CHECK_EQUAL(r.header("Connection").value_or(""), "close");
  CAF_CHECK(closed(conn));
  CAF_CHECK(!tracked(conn));
}

CAF_TEST(a malformed request after a pending one: both answered in order) {
  start();
  auto conn = connect();
  send_raw(conn, req("POST", "/api/sync-sheets-bg") + "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n");
  CAF_CHECK_EQUAL(output(conn), "");
  CAF_CHECK(!closed(conn));
  pump();
  auto rs = parse_responses(output(conn));
  CAF_REQUIRE_EQUAL(rs.size(), 2u);
  CAF_CHECK_EQUAL(rs[0].status, 202);
  CAF_CHECK_EQUAL(rs[1].status, 400);
  CAF_CHECK(closed(conn));
}

CAF_TEST(a header section over 8 KiB: 431) {
  start();
  auto conn = connect();
  send(conn, get("/healthz", "X-Big: " + std::string(9000, 'a') + "\r\n"));
  auto r = one_response(conn);
  CAF_CHECK_EQUAL(r.status, 431);
  check_json(r);
  CAF_CHECK_EQUAL(r.header("Connection").value_or(""), "close");
  CAF_CHECK(closed(conn));
}

CAF_TEST(a body over 64 KiB: 413 before the coordinator hears of it) {
  start();
  auto calls = coordinator_calls();
  auto conn = connect();
  send(conn, req("POST", "/api/sync-sheets-bg",
                 "Content-Length: 70000\r\n"));
  auto r = one_response(conn);
  CAF_CHECK_EQUAL(r.status, 413);
  check_json(r);
  CAF_CHECK(closed(conn));
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
  // A small body is fine.
  CAF_CHECK_EQUAL(exchange(req("POST", "/api/sync-sheets-bg", "", "{}")).status,
                  202);
}

CAF_TEST(an unknown path: 404 JSON) {
  start();
  for (auto target : {"/nope", "/api/nope", "/api/sync-sheets-bg/x"}) {
    CAF_MESSAGE("target: " << target);
    auto r = exchange(get(target));
    CAF_CHECK_EQUAL(r.status, 404);
    check_json(r);
    CAF_CHECK(contains(r.body, R"("error":"not_found")"));
  }
}

CAF_TEST(a wrong method: 405 with Allow) {
  start();
  auto calls = coordinator_calls();
  auto r = exchange(req("PUT", "/api/sync-sheets-bg", "", "x"));
  CAF_CHECK_EQUAL(r.status_line, "HTTP/1.1 405 Method Not Allowed");
  check_json(r);
  CAF_CHECK_EQUAL(r.header("Allow").value_or(""), "GET, HEAD, POST, DELETE");
  r = exchange(req("POST", "/healthz"));
  CAF_CHECK_EQUAL(r.status, 405);
  CAF_CHECK_EQUAL(r.header("Allow").value_or(""), "GET, HEAD");
  r = exchange(req("POST", "/api/data"));
  CAF_CHECK_EQUAL(r.status, 405);
  CAF_CHECK_EQUAL(r.header("Allow").value_or(""), "GET, HEAD");
  r = exchange(req("DELETE", "/api/sync-sheets-bg/events"));
  CAF_CHECK_EQUAL(r.status, 405);
  CAF_CHECK_EQUAL(r.header("Allow").value_or(""), "GET");
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
}

CAF_TEST(HEAD answers carry headers only whatever the status) {
  start();
  auto conn = connect();
  // Pipelined: a body after any of the HEAD answers would be read as the
  // start of the next answer.
  send(conn, req("HEAD", "/nope") + req("HEAD", "/api/data")
               + req("HEAD", "/metrics")
               + req("HEAD", "/api/sync-sheets-bg/events")
               + req("HEAD", "/api/sync-sheets-bg?syncId=sync-nope")
               + get("/healthz"));
  auto out = output(conn);
  std::vector<int> statuses;
  std::vector<std::string> lengths;
  size_t pos = 0;
  for (int i = 0; i < 5; ++i) {
    auto end = out.find("\r\n\r\n", pos);
    CAF_REQUIRE(end != std::string::npos);
    auto head = out.substr(pos, end - pos);
    statuses.push_back(std::atoi(head.c_str() + 9));
    auto cl = lower(head).find("content-length: ");
    lengths.push_back(cl == std::string::npos
                        ? ""
                        : head.substr(cl + 16, head.find('\r', cl) - cl - 16));
    pos = end + 4;
    CAF_CHECK(starts_with(out.substr(pos), "HTTP/1.1 "));
  }
  CAF_CHECK_EQUAL(statuses, std::vector<int>({404, 200, 200, 405, 404}));
  auto last = parse_responses(out.substr(pos));
  CAF_REQUIRE_EQUAL(last.size(), 1u);
  CAF_CHECK_EQUAL(last[0].body, R"({"status":"ok"})");
  // The length a HEAD announces is the one GET sends.
  CAF_CHECK_EQUAL(lengths[1],
                  std::to_string(exchange(get("/api/data")).body.size()));
  CAF_CHECK_EQUAL(lengths[0],
                  std::to_string(exchange(get("/nope")).body.size()));
}

CAF_TEST(a pipelined request cut by a read gets its own deadline) {
  fcfg.request_deadline = 30s;
  start();
  auto conn = connect();
  auto one = get("/healthz");
  // Every read ends inside a request, as 8 KiB reads of a long pipeline do;
  // each request still arrives whole within 30 s of its own first byte.
  send(conn, one + one.substr(0, 10));
  advance(20s);
  send(conn, one.substr(10) + one + one.substr(0, 10));
  advance(20s);
  CAF_CHECK(!closed(conn));
  send(conn, one.substr(10));
  auto rs = parse_responses(output(conn));
  CAF_CHECK_EQUAL(rs.size(), 4u);
  for (auto& r : rs)
    CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK(!closed(conn));
}

CAF_TEST(a slow reader is not closed while its answers wait) {
  fcfg.request_deadline = 30s;
  start();
  auto conn = connect();
  size_t n = 20;
  std::string burst;
  for (size_t i = 0; i < n; ++i)
    burst += get("/assets/sync-core.js"); // ~27 KB: 20 fill the send buffer
  auto last = get("/healthz");
  send(conn, burst + last.substr(0, 10));
  CAF_REQUIRE(mpx->passive_mode(conn));
  // Past the request deadline: the unfinished request waits on us, not on
  // the client, which cannot send while we do not read.
  advance(45s);
  CAF_CHECK(!closed(conn));
  // The client reads what was sent so far, then the rest.
  auto read_all = [&] {
    auto bytes = output(conn);
    self->send(broker, caf::io::data_transferred_msg{conn, bytes.size(), 0});
    pump();
    return bytes;
  };
  auto got = read_all();
  advance(20s); // 65 s after the last request byte, 20 s after a read.
  CAF_CHECK(!closed(conn));
  got += read_all();
  send(conn, last.substr(10));
  got += read_all();
  auto rs = parse_responses(got);
  CAF_REQUIRE_EQUAL(rs.size(), n + 1);
  CAF_CHECK_EQUAL(rs.back().body, R"({"status":"ok"})");
  // A client that stops reading for the idle time is closed all the same.
  auto stuck = connect();
  send(stuck, burst);
  CAF_REQUIRE(mpx->passive_mode(stuck));
  advance(59s);
  CAF_CHECK(!closed(stuck));
  advance(1s);
  CAF_CHECK(closed(stuck));
}

// -- API token ----------------------------------------------------------------

CAF_TEST(the API token guards api but not health and pages) {
  fcfg.api_token = "s3cret";
  start();
  auto calls = coordinator_calls();
  std::string everything; // All bytes the broker wrote, to look for the token.
  auto ask = [&](const std::string& request) {
    auto conn = connect();
    send(conn, request);
    auto out = output(conn);
    everything += out;
    std::string rest;
    auto rs = parse_responses(out, rest);
    if (rs.empty())
      CAF_FAIL("no response to: " << request);
    return rs.front();
  };
  // No token.
  auto r = ask(req("POST", "/api/sync-sheets-bg"));
  CAF_CHECK_EQUAL(r.status, 401);
  check_json(r);
  CAF_CHECK(contains(r.body, R"("error":"unauthorized")"));
  CAF_CHECK_EQUAL(r.header("WWW-Authenticate").value_or(""), "Bearer");
  CAF_CHECK_EQUAL(ask(get("/api/sync-sheets-bg?syncId=sync-1")).status, 401);
  CAF_CHECK_EQUAL(ask(get("/api/data")).status, 401);
  CAF_CHECK_EQUAL(ask(get("/api/sync-sheets-bg/events")).status, 401);
  CAF_CHECK_EQUAL(ask(req("DELETE", "/api/sync-sheets-bg?syncId=sync-1")).status,
                  401);
  CAF_CHECK_EQUAL(ask(get("/api/nope")).status, 401);
  // Wrong tokens.
  CAF_CHECK_EQUAL(ask(req("POST", "/api/sync-sheets-bg",
                          "Authorization: Bearer nope\r\n"))
                    .status,
                  401);
  CAF_CHECK_EQUAL(ask(req("POST", "/api/sync-sheets-bg",
                          "Authorization: Bearer s3cretX\r\n"))
                    .status,
                  401);
  CAF_CHECK_EQUAL(ask(req("POST", "/api/sync-sheets-bg",
                          "Authorization: s3cret\r\n"))
                    .status,
                  401);
  CAF_CHECK_EQUAL(ask(req("POST", "/api/sync-sheets-bg",
                          "Authorization: Basic czNjcmV0\r\n"))
                    .status,
                  401);
  // The right token under another scheme.
  CAF_CHECK_EQUAL(ask(req("POST", "/api/sync-sheets-bg",
                          "Authorization: Digest s3cret\r\n"))
                    .status,
                  401);
  // Percent-encoding the path does not get around the check.
  CAF_CHECK_EQUAL(ask(get("/%61pi/sync-sheets-bg?syncId=sync-1")).status, 401);
  // None of them reached the coordinator.
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
  // The right token.
  auto auth = std::string{"Authorization: Bearer s3cret\r\n"};
  r = ask(get("/api/sync-sheets-bg?syncId=sync-1", auth));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(r.body, to_json(sc->syncs["sync-1"]));
  CAF_CHECK_EQUAL(ask(req("POST", "/api/sync-sheets-bg", auth)).status, 202);
  CAF_CHECK_EQUAL(ask(get("/api/data", auth)).status, 200);
  // The scheme is case-insensitive (RFC 7235), the token is not.
  CAF_CHECK_EQUAL(ask(get("/api/data", "Authorization: bearer s3cret\r\n")).status,
                  200);
  CAF_CHECK_EQUAL(ask(get("/api/data", "Authorization: Bearer S3CRET\r\n")).status,
                  401);
  // One or more spaces after the scheme (RFC 9110); spaces alone are no token.
  CAF_CHECK_EQUAL(ask(get("/api/data", "Authorization: Bearer   s3cret\r\n")).status,
                  200);
  CAF_CHECK_EQUAL(ask(get("/api/data", "Authorization: Bearer    \r\n")).status,
                  401);
  CAF_CHECK_EQUAL(coordinator_calls(), calls + 5);
  // No token needed for health, pages and metrics.
  CAF_CHECK_EQUAL(ask(get("/healthz")).status, 200);
  r = ask(get("/"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK(starts_with(r.header("Content-Type").value_or(""), "text/html"));
  CAF_CHECK_EQUAL(ask(get("/settings")).status, 200);
  CAF_CHECK_EQUAL(ask(get("/metrics")).status, 200);
  // The event stream with the token.
  auto conn = connect();
  send(conn, get("/api/sync-sheets-bg/events", auth));
  auto out = output(conn);
  everything += out;
  CAF_CHECK(starts_with(out, "HTTP/1.1 200 OK\r\n"));
  CAF_CHECK(contains(out, "Content-Type: text/event-stream\r\n"));
  // The token never appears in any response.
  CAF_CHECK(!contains(everything, "s3cret"));
  CAF_CHECK(!contains(everything, "czNjcmV0"));
}

// -- CORS ---------------------------------------------------------------------

CAF_TEST(CORS: an allowed origin gets its name on every answer and preflights before the token) {
  fcfg.api_token = "s3cret";
  fcfg.cors_origins = {"http://app.test:3000"};
  start();
  auto ask = [&](const std::string& request) {
    auto conn = connect();
    send(conn, request);
    std::string rest;
    auto rs = parse_responses(output(conn), rest);
    if (rs.empty())
      CAF_FAIL("no response to: " << request);
    return rs.front();
  };
  auto from_app = std::string{"Origin: http://app.test:3000\r\n"};
  auto auth = std::string{"Authorization: Bearer s3cret\r\n"};
  auto calls = coordinator_calls();
  // The preflight carries no token: answered before the token filter.
  auto r = ask(req("OPTIONS", "/api/sync-sheets-bg",
                   from_app + "Access-Control-Request-Method: POST\r\n"
                     + "Access-Control-Request-Headers: authorization\r\n"));
  CAF_CHECK_EQUAL(r.status, 204);
  CAF_CHECK_EQUAL(r.body, "");
  CAF_CHECK_EQUAL(r.header("Access-Control-Allow-Origin").value_or(""),
                  "http://app.test:3000");
  CAF_CHECK_EQUAL(r.header("Access-Control-Allow-Methods").value_or(""),
                  "GET, HEAD, POST, DELETE");
  CAF_CHECK_EQUAL(r.header("Access-Control-Allow-Headers").value_or(""),
                  "authorization, content-type, last-event-id");
  CAF_CHECK_EQUAL(r.header("Access-Control-Max-Age").value_or(""), "600");
  CAF_CHECK_EQUAL(r.header("Vary").value_or(""), "Origin");
  CAF_CHECK_EQUAL(r.header("Allow").value_or(""), "GET, HEAD, POST, DELETE, OPTIONS");
  // A path's own methods.
  r = ask(req("OPTIONS", "/api/sources/sales", from_app));
  CAF_CHECK_EQUAL(r.header("Access-Control-Allow-Methods").value_or(""),
                  "GET, HEAD, PATCH, DELETE");
  CAF_CHECK_EQUAL(ask(req("OPTIONS", "/sheetsync.js", from_app))
                    .header("Access-Control-Allow-Methods").value_or(""),
                  "GET, HEAD");
  // Another origin, or none: the same 204 without a CORS field.
  for (auto& other : {std::string{"Origin: http://evil.test:3000\r\n"},
                      std::string{"Origin: http://app.test:3001\r\n"},
                      std::string{"Origin: null\r\n"}, std::string{}}) {
    r = ask(req("OPTIONS", "/api/sync-sheets-bg", other));
    CAF_CHECK_EQUAL(r.status, 204);
    CAF_CHECK_EQUAL(r.header("Allow").value_or(""), "GET, HEAD, POST, DELETE, OPTIONS");
    for (auto& [name, value] : r.headers)
      CAF_CHECK(!starts_with(lower(name), "access-control-"));
    CAF_CHECK(!r.header("Vary"));
  }
  CAF_CHECK_EQUAL(ask(req("OPTIONS", "/nope", from_app)).status, 404);
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
  // Errors carry the fields too, so that the page can read them: 401, 404, 405.
  for (auto& request : {get("/api/data", from_app), get("/nope", from_app),
                        req("PUT", "/api/sync-sheets-bg", from_app + auth)}) {
    r = ask(request);
    CAF_CHECK_GREATER_OR_EQUAL(r.status, 400);
    CAF_CHECK_EQUAL(r.header("Access-Control-Allow-Origin").value_or(""),
                    "http://app.test:3000");
    CAF_CHECK_EQUAL(r.header("Access-Control-Expose-Headers").value_or(""),
                    "Location, Retry-After, RateLimit, RateLimit-Policy");
    CAF_CHECK_EQUAL(r.header("Vary").value_or(""), "Origin");
    CAF_CHECK(!r.header("Access-Control-Allow-Methods"));
  }
  // Answers from the coordinator, from the pushed statuses (ready bytes) and
  // the pages.
  r = ask(req("POST", "/api/sync-sheets-bg", from_app + auth));
  CAF_CHECK_EQUAL(r.status, 202);
  CAF_CHECK_EQUAL(r.header("Access-Control-Allow-Origin").value_or(""),
                  "http://app.test:3000");
  auto st = make_status("sync-2", sync_state::downloading, 10);
  sc->syncs["sync-2"] = st;
  self->send(sc->listener, st);
  pump();
  r = ask(get("/api/sync-sheets-bg?syncId=sync-2", from_app + auth));
  CAF_CHECK_EQUAL(r.body, to_json(st));
  CAF_CHECK_EQUAL(r.header("Access-Control-Allow-Origin").value_or(""),
                  "http://app.test:3000");
  CAF_CHECK_EQUAL(ask(get("/sheetsync.js", from_app))
                    .header("Access-Control-Allow-Origin").value_or(""),
                  "http://app.test:3000");
  // The same requests from another origin: no CORS field.
  r = ask(get("/api/sync-sheets-bg?syncId=sync-2",
              "Origin: http://evil.test\r\n" + auth));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK(!r.header("Access-Control-Allow-Origin"));
  CAF_CHECK(!ask(get("/api/data", "Origin: http://evil.test\r\n"))
               .header("Access-Control-Allow-Origin"));
  // The event stream's head.
  auto conn = connect();
  send(conn, get("/api/sync-sheets-bg/events", from_app + auth));
  auto out = output(conn);
  CAF_CHECK(starts_with(out, "HTTP/1.1 200 OK\r\n"));
  CAF_CHECK(contains(out.substr(0, out.find("\r\n\r\n")),
                     "Access-Control-Allow-Origin: http://app.test:3000\r\n"));
}

CAF_TEST(CORS: without configured origins no answer has a CORS field) {
  start();
  auto from_app = std::string{"Origin: http://app.test:3000\r\n"};
  auto r = exchange(req("OPTIONS", "/api/sync-sheets-bg", from_app));
  CAF_CHECK_EQUAL(r.status, 204);
  CAF_CHECK(!r.header("Access-Control-Allow-Origin"));
  r = exchange(get("/api/sync-sheets-bg?syncId=sync-1", from_app));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK(!r.header("Access-Control-Allow-Origin"));
}

// -- event stream -------------------------------------------------------------

CAF_TEST(event stream sends the current status then every change with replay and keep-alive) {
  start();
  auto listener = sc->listener;
  CAF_REQUIRE(static_cast<bool>(listener));
  auto s1 = connect();
  send(s1, get("/api/sync-sheets-bg/events", "Accept: text/event-stream\r\n"));
  auto out = output(s1);
  auto head_end = out.find("\r\n\r\n");
  CAF_REQUIRE(head_end != std::string::npos);
  auto head = out.substr(0, head_end + 4);
  auto body = out.substr(head_end + 4);
  CAF_CHECK(starts_with(head, "HTTP/1.1 200 OK\r\n"));
  CAF_CHECK(contains(head, "Content-Type: text/event-stream\r\n"));
  CAF_CHECK(contains(head, "Cache-Control: no-store\r\n"));
  CAF_CHECK(!contains(lower(head), "content-length"));
  // The current status first (the idle one, nothing happened yet).
  CAF_CHECK(starts_with(body, "id: "));
  CAF_CHECK_EQUAL(body, "id: 0\nevent: status\ndata: "
                          + to_json(idle_of("default")) + "\n\n");
  CAF_CHECK(!closed(s1));
  // Status changes, as the coordinator's subscription sends them.
  auto st1 = make_status("sync-2", sync_state::downloading, 10);
  auto st2 = make_status("sync-2", sync_state::processing, 70);
  self->send(listener, st1);
  pump();
  self->send(listener, st2);
  pump();
  CAF_CHECK_EQUAL(output(s1), sse(1, st1) + sse(2, st2));
  // A plain connection hears nothing of it.
  auto plain = connect();
  send(plain, get("/healthz"));
  output(plain);
  // A client that saw event 1 reconnects: it gets event 2 only.
  auto s2 = connect();
  send(s2, get("/api/sync-sheets-bg/events", "Last-Event-ID: 1\r\n"));
  out = output(s2);
  head_end = out.find("\r\n\r\n");
  CAF_REQUIRE(head_end != std::string::npos);
  CAF_CHECK_EQUAL(out.substr(head_end + 4), sse(2, st2));
  // A client that saw everything gets nothing replayed.
  auto s3 = connect();
  send(s3, get("/api/sync-sheets-bg/events", "Last-Event-ID: 2\r\n"));
  out = output(s3);
  head_end = out.find("\r\n\r\n");
  CAF_REQUIRE(head_end != std::string::npos);
  CAF_CHECK_EQUAL(out.substr(head_end + 4), "");
  // A fresh client gets the latest status as the current one, with its id.
  auto s4 = connect();
  send(s4, get("/api/sync-sheets-bg/events"));
  out = output(s4);
  head_end = out.find("\r\n\r\n");
  CAF_REQUIRE(head_end != std::string::npos);
  CAF_CHECK_EQUAL(out.substr(head_end + 4), sse(2, st2));
  // The next change reaches every stream, in order.
  auto st3 = make_status("sync-2", sync_state::complete, 100);
  self->send(listener, st3);
  pump();
  for (auto s : {s1, s2, s3, s4})
    CAF_CHECK_EQUAL(output(s), sse(3, st3));
  CAF_CHECK_EQUAL(output(plain), "");
  // Keep-alive comments every 15 s (the timer started with the broker).
  advance(14s);
  CAF_CHECK_EQUAL(output(s1), "");
  advance(1s);
  for (auto s : {s1, s2, s3, s4})
    CAF_CHECK_EQUAL(output(s), ": keep-alive\n\n");
  CAF_CHECK_EQUAL(output(plain), "");
  advance(15s);
  CAF_CHECK_EQUAL(output(s1), ": keep-alive\n\n");
  // Streams are not idle connections: still open after the idle time-out.
  for (int i = 0; i < 5; ++i)
    advance(15s);
  CAF_CHECK(!closed(s1));
  CAF_CHECK(tracked(s1));
  CAF_CHECK(closed(plain));
  // What a stream client sends is ignored.
  output(s1);
  send(s1, get("/healthz"));
  CAF_CHECK_EQUAL(output(s1), "");
}

CAF_TEST(event stream pipelined behind a pending request misses no change) {
  // The stream's head waits for the POST's answer. The coordinator announces
  // the new sync before it answers the POST (what the real one does): once
  // the stream starts, it must show that change, not the stale idle status.
  start();
  sc->hold = true;
  auto conn = connect();
  send(conn, req("POST", "/api/sync-sheets-bg")
               + get("/api/sync-sheets-bg/events"));
  CAF_CHECK_EQUAL(output(conn), "");
  CAF_REQUIRE_EQUAL(sc->held.size(), 1u);
  auto st1 = make_status("sync-2", sync_state::downloading, 0);
  self->send(sc->listener, st1);
  pump();
  CAF_CHECK_EQUAL(output(conn), "");
  sc->held[0].second.deliver(std::string{"sync-2"});
  pump();
  std::string rest;
  auto rs = parse_responses(output(conn), rest);
  CAF_REQUIRE_EQUAL(rs.size(), 1u);
  CAF_CHECK_EQUAL(rs[0].status, 202);
  auto head_end = rest.find("\r\n\r\n");
  CAF_REQUIRE(head_end != std::string::npos);
  CAF_CHECK(contains(rest.substr(0, head_end), "text/event-stream"));
  // Whatever comes first, the change announced while the head waited must be
  // there, as event 1.
  auto events = rest.substr(head_end + 4);
  CAF_CHECK(contains(events, sse(1, st1)));
  // And the stream goes on with the next change.
  auto st2 = make_status("sync-2", sync_state::downloading, 5);
  self->send(sc->listener, st2);
  pump();
  CAF_CHECK_EQUAL(output(conn), sse(2, st2));
}

CAF_TEST(event stream: a reader that falls behind is dropped) {
  auto st1 = make_status("sync-2", sync_state::downloading, 10);
  auto st2 = make_status("sync-2", sync_state::downloading, 11);
  // Room for one event: no write acknowledgement arrives in the test
  // multiplexer, so the second one exceeds the backlog.
  fcfg.max_stream_backlog = sse(1, st1).size() + 5;
  start();
  auto s1 = connect();
  send(s1, get("/api/sync-sheets-bg/events"));
  output(s1);
  self->send(sc->listener, st1);
  pump();
  CAF_CHECK_EQUAL(output(s1), sse(1, st1));
  CAF_CHECK(!closed(s1));
  self->send(sc->listener, st2);
  pump();
  CAF_CHECK_EQUAL(output(s1), "");
  CAF_CHECK(closed(s1));
  CAF_CHECK(!tracked(s1));
}

// -- bounded growth -----------------------------------------------------------

CAF_TEST(what is kept per sync and per connection stays bounded) {
  start();
  // Many syncs end: each is counted once, a few ids are remembered.
  for (int i = 0; i < 300; ++i) {
    auto id = "sync-" + std::to_string(1000 + i);
    self->send(sc->listener, make_status(id, sync_state::downloading, 10));
    self->send(sc->listener, make_status(id, sync_state::complete, 100));
  }
  pump();
  auto& metrics = state().metrics;
  CAF_CHECK_EQUAL(metrics.remembered_ids(), facade_metrics::remembered_per_source);
  auto counted = R"(sheetsync_syncs_total{outcome="complete"} 300)";
  CAF_CHECK(contains(metrics.render(0), counted));
  // A final status told again (a reconnect's snapshot) is not counted again.
  self->send(sc->listener, make_status("sync-1299", sync_state::complete, 100));
  pump();
  CAF_CHECK(contains(metrics.render(0), counted));
  // Syncs whose final status never came (missed while disconnected).
  for (int i = 0; i < 300; ++i)
    self->send(sc->listener, make_status("lost-" + std::to_string(i),
                                         sync_state::downloading, 10));
  pump();
  CAF_CHECK_EQUAL(state().statuses.size(), 600u);
  CAF_CHECK(state().statuses.running("default") != nullptr);
  // Finished ones go once nobody reads them; the lost ones once they are
  // older than any sync may run without a change.
  advance(std::chrono::duration_cast<caf::timespan>(status_cache::finished_ttl));
  CAF_CHECK_EQUAL(state().statuses.size(), 300u);
  advance(std::chrono::duration_cast<caf::timespan>(status_cache::unfinished_ttl));
  CAF_CHECK_EQUAL(state().statuses.size(), 0u);
  CAF_CHECK(state().statuses.running("default") == nullptr);
  // A status read then asks the coordinator.
  auto calls = coordinator_calls();
  auto r = exchange(get("/api/sync-sheets-bg?syncId=lost-7"));
  CAF_CHECK_EQUAL(r.status, 404);
  CAF_CHECK_EQUAL(coordinator_calls(), calls + 1);
  // Connections come and go: nothing of them stays.
  auto open = state().conns->size();
  for (int i = 0; i < 200; ++i) {
    auto conn = connect();
    send(conn, get("/healthz"));
    CAF_CHECK_EQUAL(one_response(conn).status, 200);
    mpx->impl_ptr(conn)->io_failure(mpx, caf::io::network::operation::read);
    pump();
  }
  CAF_CHECK_EQUAL(state().conns->size(), open);
}

// A late snapshot (a reconnect's) must not turn a finished sync back.
CAF_TEST(an unfinished status of a finished sync is ignored) {
  start();
  auto running = make_status("sync-7", sync_state::downloading, 40);
  auto done = make_status("sync-7", sync_state::complete, 100);
  self->send(sc->listener, running);
  self->send(sc->listener, done);
  self->send(sc->listener, running);
  pump();
  auto r = exchange(get("/api/sync-sheets-bg?syncId=sync-7"));
  CAF_CHECK_EQUAL(r.body, to_json(done));
  CAF_CHECK_EQUAL(state().events.latest("default"), to_json(done));
}

// -- connection limits --------------------------------------------------------

CAF_TEST(an idle keep-alive connection is closed after 60 s but not at 59 s) {
  start();
  auto conn = connect();
  send(conn, get("/healthz"));
  CAF_CHECK_EQUAL(one_response(conn).status, 200);
  advance(59s);
  CAF_CHECK(!closed(conn));
  CAF_CHECK(tracked(conn));
  advance(1s);
  CAF_CHECK(closed(conn));
  CAF_CHECK(!tracked(conn));
  CAF_CHECK_EQUAL(output(conn), "");
}

CAF_TEST(activity restarts the idle clock) {
  start();
  auto conn = connect();
  advance(30s);
  send(conn, get("/healthz"));
  CAF_CHECK_EQUAL(one_response(conn).status, 200);
  advance(59s);
  CAF_CHECK(!closed(conn));
  advance(1s);
  CAF_CHECK(closed(conn));
}

CAF_TEST(a third connection over a cap of 2 gets 503 and is closed) {
  fcfg.max_connections = 2;
  start();
  auto a = connect();
  auto b = connect();
  auto c = connect();
  auto r = one_response(c);
  CAF_CHECK_EQUAL(r.status_line, "HTTP/1.1 503 Service Unavailable");
  check_error(r, "unavailable");
  CAF_CHECK_EQUAL(r.header("Connection").value_or(""), "close");
  CAF_CHECK(closed(c));
  CAF_CHECK(!tracked(c));
  CAF_CHECK(!closed(a));
  CAF_CHECK(!closed(b));
  send(a, get("/healthz"));
  CAF_CHECK_EQUAL(one_response(a).status, 200);
  send(b, get("/healthz"));
  CAF_CHECK_EQUAL(one_response(b).status, 200);
  // The peer closes a: its slot is free again.
  mpx->impl_ptr(a)->io_failure(mpx, caf::io::network::operation::read);
  pump();
  CAF_CHECK(!tracked(a));
  auto d = connect();
  CAF_CHECK_EQUAL(output(d), "");
  send(d, get("/healthz"));
  CAF_CHECK_EQUAL(one_response(d).status, 200);
}

// -- connection identity ------------------------------------------------------

// Connection handles are socket numbers, which the kernel hands out again once
// a socket is closed. An answer that arrives after its client has gone must
// not reach the next client on the same number.
CAF_TEST(a late answer never reaches the next client on the same socket number) {
  start();
  sc->hold = true;
  auto a = connect();
  send(a, get("/api/sync-sheets-bg?syncId=sync-x"));
  CAF_REQUIRE_EQUAL(sc->held.size(), 1u);
  CAF_CHECK_EQUAL(sc->held[0].first, "status sync-x");
  // Client A resets its connection while the coordinator is still thinking.
  mpx->impl_ptr(a)->io_failure(mpx, caf::io::network::operation::read);
  pump();
  CAF_REQUIRE(!tracked(a));
  // Client B gets the same socket number.
  mpx->stopped_reading(a) = false;
  mpx->passive_mode(a) = false;
  output(a);
  mpx->add_pending_connect(acceptor, a);
  mpx->accept_connection(acceptor);
  pump();
  CAF_REQUIRE(tracked(a));
  send(a, get("/api/sources"));
  CAF_REQUIRE_EQUAL(sc->held.size(), 2u);
  CAF_CHECK_EQUAL(sc->held[1].first, "sources");
  // A's answer arrives: it is for nobody now.
  sc->held[0].second.deliver(
    sheetsync::make_error(ec::unknown_sync, "no sync with id sync-x"));
  pump();
  CAF_CHECK_EQUAL(output(a), "");
  // B's own answer is B's.
  sc->held[1].second.deliver(sc->sources);
  pump();
  auto r = one_response(a);
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK(contains(r.body, "\"sources\""));
  send(a, get("/healthz"));
  CAF_CHECK_EQUAL(one_response(a).status, 200);
}

CAF_TEST(a request that trickles in must end within the request deadline) {
  fcfg.request_deadline = 30s;
  start();
  auto conn = connect();
  send(conn, "GET /healthz HTTP/1.1\r\n");
  // A byte every 10 s: never idle, but the request does not end.
  advance(10s);
  send(conn, "H");
  advance(10s);
  send(conn, "o");
  advance(9s);
  CAF_CHECK(!closed(conn));
  advance(1s);
  CAF_CHECK(closed(conn));
  CAF_CHECK_EQUAL(output(conn), "");
  // A request that completes in time resets the deadline.
  auto other = connect();
  send(other, "GET /healthz HTTP/1.1\r\n");
  advance(20s);
  send(other, "Host: test\r\n\r\n");
  CAF_CHECK_EQUAL(one_response(other).status, 200);
  advance(20s);
  CAF_CHECK(!closed(other));
}

CAF_TEST(a connection pipelining without end stops being read) {
  start();
  sc->hold = true;
  auto conn = connect();
  auto max = http_connections::max_in_flight;
  auto n = max + 8;
  auto id = [](size_t i) { return "sync-" + std::to_string(i); };
  std::string burst;
  for (size_t i = 0; i < n; ++i)
    burst += get("/api/sync-sheets-bg?syncId=" + id(i));
  auto calls = coordinator_calls();
  send(conn, burst);
  // Only max_in_flight reach the coordinator; reading is suspended.
  CAF_CHECK_EQUAL(coordinator_calls(), calls + max);
  CAF_CHECK_EQUAL(sc->held.size(), max);
  CAF_CHECK(mpx->passive_mode(conn));
  // More bytes stay in the network while suspended.
  send(conn, get("/api/sync-sheets-bg?syncId=" + id(n)));
  CAF_CHECK(!mpx->virtual_network_buffer(conn).empty());
  // The coordinator answers, one at a time: the rest follow, in order.
  for (size_t i = 0; i < sc->held.size(); ++i) {
    auto what = sc->held[i].first;
    auto sid = what.substr(what.find(' ') + 1);
    sc->held[i].second.deliver(make_status(sid, sync_state::downloading, 1));
    pump();
  }
  CAF_CHECK_EQUAL(sc->held.size(), n);
  CAF_CHECK(!mpx->passive_mode(conn));
  // Reading resumed (the real multiplexer reads on its own).
  mpx->read_data(conn);
  pump();
  CAF_REQUIRE_EQUAL(sc->held.size(), n + 1);
  sc->held[n].second.deliver(make_status(id(n), sync_state::downloading, 1));
  pump();
  auto rs = parse_responses(output(conn));
  CAF_REQUIRE_EQUAL(rs.size(), n + 1);
  for (size_t i = 0; i <= n; ++i) {
    CAF_CHECK_EQUAL(rs[i].status, 200);
    CAF_CHECK(contains(rs[i].body, "\"syncId\":\"" + id(i) + "\""));
  }
}

CAF_TEST(a client that does not read stops being read) {
  start();
  auto conn = connect();
  size_t n = 20;
  std::string burst;
  for (size_t i = 0; i < n; ++i)
    burst += get("/assets/sync-core.js"); // ~27 KB: 20 fill the send buffer
  send(conn, burst);
  // The answers pile up unsent (nobody reads the output buffer) until the
  // limit; then the broker stops reading and answering.
  auto unsent = mpx->output_buffer(conn).size();
  CAF_CHECK_GREATER_OR_EQUAL(unsent, http_connections::max_unsent);
  CAF_CHECK(mpx->passive_mode(conn));
  std::string first_part = output(conn);
  std::string rest;
  auto rs = parse_responses(first_part, rest);
  CAF_CHECK_EQUAL(rest, "");
  CAF_CHECK_GREATER(rs.size(), 0u);
  CAF_CHECK_LESS(rs.size(), n);
  // The client reads: the write acknowledgement resumes the connection.
  self->send(broker, caf::io::data_transferred_msg{conn, unsent, 0});
  pump();
  auto more = parse_responses(output(conn));
  CAF_CHECK_EQUAL(rs.size() + more.size(), n);
  for (auto& r : more)
    CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK(!mpx->passive_mode(conn));
}

// -- coordinator failures -----------------------------------------------------

CAF_TEST(the coordinator not answering: 503 after the request timeout) {
  start();
  sc->hold = true;
  auto conn = connect();
  send(conn, get("/api/sync-sheets-bg?syncId=sync-1"));
  CAF_CHECK_EQUAL(output(conn), "");
  advance(999ms);
  CAF_CHECK_EQUAL(output(conn), "");
  advance(1ms);
  auto r = one_response(conn);
  CAF_CHECK_EQUAL(r.status, 503);
  check_json(r);
  CAF_CHECK(contains(r.body, R"("error":"unavailable")"));
  CAF_CHECK(!closed(conn));
  // A late answer is dropped.
  CAF_REQUIRE_EQUAL(sc->held.size(), 1u);
  sc->held[0].second.deliver(sc->syncs["sync-1"]);
  pump();
  CAF_CHECK_EQUAL(output(conn), "");
  // The connection still works.
  send(conn, get("/healthz"));
  CAF_CHECK_EQUAL(one_response(conn).status, 200);
}

CAF_TEST(the coordinator gone: 503) {
  start();
  caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
  pump();
  auto r = exchange(req("POST", "/api/sync-sheets-bg"));
  CAF_CHECK_EQUAL(r.status, 503);
  check_json(r);
}

// -- several sources ----------------------------------------------------------

CAF_TEST(POST names its source in the query or a JSON body) {
  two_sources();
  start();
  auto r = exchange(req("POST", "/api/sync-sheets-bg?source=b"));
  CAF_CHECK_EQUAL(r.status, 202);
  CAF_CHECK_EQUAL(sc->calls.back(), "start b");
  CAF_CHECK(contains(r.body, R"("source":"b")"));
  // No source: the default one, named in the answer.
  r = exchange(req("POST", "/api/sync-sheets-bg"));
  CAF_CHECK_EQUAL(r.status, 202);
  CAF_CHECK_EQUAL(sc->calls.back(), "start ");
  CAF_CHECK(contains(r.body, R"("source":"a")"));
  // A JSON body.
  r = exchange(req("POST", "/api/sync-sheets-bg",
                   "Content-Type: application/json\r\n", R"({"source":"b"})"));
  CAF_CHECK_EQUAL(r.status, 202);
  CAF_CHECK_EQUAL(sc->calls.back(), "start b");
  // The same name in both: fine.
  r = exchange(req("POST", "/api/sync-sheets-bg?source=b",
                   "Content-Type: application/json; charset=utf-8\r\n",
                   R"({"source":"b"})"));
  CAF_CHECK_EQUAL(r.status, 202);
  // A body that is not JSON is not read.
  r = exchange(req("POST", "/api/sync-sheets-bg?source=b",
                   "Content-Type: text/plain\r\n", "source=a"));
  CAF_CHECK_EQUAL(r.status, 202);
  CAF_CHECK_EQUAL(sc->calls.back(), "start b");
  // Bad bodies and contradictions: 400, the coordinator hears nothing.
  auto calls = coordinator_calls();
  for (auto [query, body] : std::vector<std::pair<std::string, std::string>>{
         {"", "{"},
         {"", "[1]"},
         {"", R"({"source":7})"},
         {"?source=a", R"({"source":"b"})"},
         // Nested just under the body cap: refused without recursing once
         // per level (a sanitizer build's frames overflowed the stack).
         {"", R"({"source":)" + std::string(65000, '[')}}) {
    CAF_MESSAGE("body " << body << " with query '" << query << "'");
    r = exchange(req("POST", "/api/sync-sheets-bg" + query,
                     "Content-Type: application/json\r\n", body));
    CAF_CHECK_EQUAL(r.status, 400);
    check_json(r);
    CAF_CHECK(contains(r.body, R"("error":"invalid_argument")"));
  }
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
}

CAF_TEST(an unknown source: 404 naming the known ones on every route) {
  two_sources();
  start();
  auto calls = coordinator_calls();
  for (auto [method, target] : std::vector<std::pair<std::string, std::string>>{
         {"POST", "/api/sync-sheets-bg?source=zz"},
         {"GET", "/api/sync-sheets-bg?source=zz"},
         {"DELETE", "/api/sync-sheets-bg?source=zz"},
         {"GET", "/api/data?source=zz"},
         {"GET", "/api/sync-history?source=zz"}}) {
    CAF_MESSAGE(method << " " << target);
    auto r = exchange(req(method, target));
    CAF_CHECK_EQUAL(r.status, 404);
    check_json(r);
    CAF_CHECK_EQUAL(
      r.body,
      R"({"success":false,"error":"unknown_source","message":"no source named 'zz'; the sources are: a, b","sources":["a","b"]})");
  }
  // Sources come and go at run time: the broker asked for the list again
  // before each 404, and for nothing else.
  CAF_CHECK_EQUAL(coordinator_calls(), calls + 5);
  for (auto i = calls; i < sc->calls.size(); ++i)
    CAF_CHECK_EQUAL(sc->calls[i], "sources");
  // A sync id says everything: its source parameter is not checked.
  auto r = exchange(get("/api/sync-sheets-bg?syncId=sync-1&source=zz"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(sc->calls.back(), "status sync-1");
}

CAF_TEST(sources unknown at start-up: learnt when a request names one) {
  two_sources();
  sc->sources_fail = true;
  sc->current = make_status("sync-1", sync_state::downloading, 42);
  start();
  // The fallback: the current status, for new streams.
  CAF_REQUIRE_EQUAL(sc->calls.size(), 3u);
  CAF_CHECK_EQUAL(sc->calls[1], "sources");
  CAF_CHECK_EQUAL(sc->calls[2], "status ");
  CAF_CHECK_EQUAL(state().events.latest("default"), to_json(sc->current));
  CAF_CHECK(state().sources.empty());
  // Still unknown: the coordinator judges (400 for a name it does not know).
  auto r = exchange(get("/api/data?source=zz"));
  CAF_CHECK_EQUAL(r.status, 400);
  CAF_CHECK_EQUAL(sc->calls.back(), "data zz 50 0");
  // Now the coordinator can tell: the broker learns the names.
  sc->sources_fail = false;
  r = exchange(get("/api/data?source=zz"));
  CAF_CHECK_EQUAL(r.status, 404);
  CAF_CHECK(contains(r.body, R"("sources":["a","b"])"));
  CAF_CHECK_EQUAL(sc->calls.back(), "sources");
  CAF_CHECK_EQUAL(state().sources, (std::vector<std::string>{"a", "b"}));
  r = exchange(get("/api/data?source=b"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(sc->calls.back(), "data b 50 0");
}

CAF_TEST(GET without syncId: the running or latest sync of the source) {
  two_sources();
  sc->last["b"] = make_status("sync-b0", sync_state::complete, 100);
  sc->last["b"].source = "b";
  start();
  auto r = exchange(get("/api/sync-sheets-bg?source=b"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(r.body, to_json(sc->last["b"]));
  CAF_CHECK_EQUAL(sc->calls.back(), "last b");
  // No source: the default's, from the coordinator; an idle answer without a
  // source name gets the default's name.
  r = exchange(get("/api/sync-sheets-bg"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(sc->calls.back(), "last ");
  CAF_CHECK(contains(r.body, R"("syncId":null,"source":"a","status":"idle")"));
  // HEAD: the same head.
  auto conn = connect();
  send(conn, req("HEAD", "/api/sync-sheets-bg?source=b"));
  auto out = output(conn);
  CAF_CHECK(starts_with(out, "HTTP/1.1 200 OK\r\n"));
  CAF_CHECK(contains(out, "Content-Length: "
                            + std::to_string(to_json(sc->last["b"]).size())));
}

CAF_TEST(the fast path without syncId is per source) {
  two_sources();
  start();
  auto st_b = make_status("sync-b1", sync_state::downloading, 10);
  st_b.source = "b";
  self->send(sc->listener, st_b);
  pump();
  auto calls = coordinator_calls();
  // b runs: answered from the pushed status.
  auto r = exchange(get("/api/sync-sheets-bg?source=b"));
  CAF_CHECK_EQUAL(r.body, to_json(st_b));
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
  // a (the default) does not: the coordinator answers, not b's sync.
  r = exchange(get("/api/sync-sheets-bg"));
  CAF_CHECK_EQUAL(sc->calls.back(), "last ");
  CAF_CHECK(contains(r.body, R"("source":"a")"));
  CAF_CHECK(!contains(r.body, "sync-b1"));
  r = exchange(get("/api/sync-sheets-bg?source=a"));
  CAF_CHECK_EQUAL(sc->calls.back(), "last a");
  CAF_CHECK(!contains(r.body, "sync-b1"));
  // a starts too: each source answers its own.
  auto st_a = make_status("sync-a1", sync_state::processing, 70);
  st_a.source = "a";
  self->send(sc->listener, st_a);
  pump();
  calls = coordinator_calls();
  CAF_CHECK_EQUAL(exchange(get("/api/sync-sheets-bg")).body, to_json(st_a));
  CAF_CHECK_EQUAL(exchange(get("/api/sync-sheets-bg?source=a")).body,
                  to_json(st_a));
  CAF_CHECK_EQUAL(exchange(get("/api/sync-sheets-bg?source=b")).body,
                  to_json(st_b));
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
  // b ends: its latest is the coordinator's to tell again; a still runs.
  auto done_b = make_status("sync-b1", sync_state::complete, 100);
  done_b.source = "b";
  sc->last["b"] = done_b;
  self->send(sc->listener, done_b);
  pump();
  CAF_CHECK_EQUAL(exchange(get("/api/sync-sheets-bg?source=b")).body,
                  to_json(done_b));
  CAF_CHECK_EQUAL(sc->calls.back(), "last b");
  calls = coordinator_calls();
  CAF_CHECK_EQUAL(exchange(get("/api/sync-sheets-bg?source=a")).body,
                  to_json(st_a));
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
}

CAF_TEST(a queued sync counts as in progress) {
  two_sources();
  start();
  auto queued = make_status("sync-b2", sync_state::idle, 0);
  queued.source = "b";
  queued.message = "queued";
  auto s1 = connect();
  send(s1, get("/api/sync-sheets-bg/events"));
  output(s1);
  self->send(sc->listener, queued);
  pump();
  // The stream carries it, with its source.
  CAF_CHECK_EQUAL(output(s1), sse(1, queued));
  CAF_CHECK(contains(to_json(queued), R"("syncId":"sync-b2","source":"b","status":"idle")"));
  // It is b's current sync, answered without a round trip.
  auto calls = coordinator_calls();
  CAF_CHECK_EQUAL(exchange(get("/api/sync-sheets-bg?source=b")).body,
                  to_json(queued));
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
  CAF_REQUIRE(state().statuses.running("b") != nullptr);
  CAF_CHECK_EQUAL(*state().statuses.running("b"), "sync-b2");
  // DELETE by source cancels it.
  sc->syncs["sync-b2"] = queued;
  sc->last["b"] = queued;
  auto r = exchange(req("DELETE", "/api/sync-sheets-bg?source=b"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK(contains(r.body, R"("status":"cancelled")"));
  CAF_CHECK_EQUAL(sc->calls.back(), "cancel sync-b2");
}

CAF_TEST(DELETE with only a source cancels its running sync) {
  two_sources();
  auto st = make_status("sync-b3", sync_state::downloading, 30);
  st.source = "b";
  sc->syncs["sync-b3"] = st;
  sc->last["b"] = st;
  start();
  auto r = exchange(req("DELETE", "/api/sync-sheets-bg?source=b"));
  CAF_CHECK_EQUAL(r.status, 200);
  check_json(r);
  CAF_CHECK(contains(r.body, R"("syncId":"sync-b3")"));
  CAF_CHECK(contains(r.body, R"("status":"cancelled")"));
  CAF_REQUIRE(sc->calls.size() >= 2u);
  CAF_CHECK_EQUAL(sc->calls[sc->calls.size() - 2], "last b");
  CAF_CHECK_EQUAL(sc->calls.back(), "cancel sync-b3");
  // Nothing runs in a: 409, nothing cancelled.
  auto calls = coordinator_calls();
  r = exchange(req("DELETE", "/api/sync-sheets-bg?source=a"));
  CAF_CHECK_EQUAL(r.status, 409);
  check_json(r);
  CAF_CHECK(contains(r.body, R"("error":"not_running")"));
  CAF_CHECK_EQUAL(coordinator_calls(), calls + 1);
  CAF_CHECK_EQUAL(sc->calls.back(), "last a");
  // The latest of b finished: 409 too.
  sc->last["b"] = make_status("sync-b3", sync_state::complete, 100);
  r = exchange(req("DELETE", "/api/sync-sheets-bg?source=b"));
  CAF_CHECK_EQUAL(r.status, 409);
  CAF_CHECK_EQUAL(sc->calls.back(), "last b");
  // A syncId wins over a source.
  r = exchange(req("DELETE", "/api/sync-sheets-bg?syncId=sync-1&source=b"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(sc->calls.back(), "cancel sync-1");
}

CAF_TEST(GET data of a source) {
  two_sources();
  start();
  auto r = exchange(get("/api/data?source=b&limit=3"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(sc->calls.back(), "data b 3 0");
  r = exchange(get("/api/data"));
  CAF_CHECK_EQUAL(sc->calls.back(), "data  50 0");
}

CAF_TEST(GET data while another process holds the cache locked: 503 cache_busy) {
  start();
  sc->data_error = sheetsync::make_error(
    ec::cache_busy, "cannot read table default from the cache /c/cache.db: "
                    "database is locked; retry in 2 s");
  auto r = exchange(get("/api/data"));
  CAF_CHECK_EQUAL(r.status, 503);
  check_json(r);
  CAF_CHECK_EQUAL(r.header("Retry-After").value_or(""), "2");
  CAF_CHECK(contains(r.body, R"("error":"cache_busy")"));
  CAF_CHECK(contains(r.body, "/c/cache.db: database is locked; retry in 2 s"));
  sc->data_error = caf::error{};
  CAF_CHECK_EQUAL(exchange(get("/api/data")).status, 200);
}

CAF_TEST(GET readyz asks the coordinator and answers 503 with the reason) {
  start();
  auto r = exchange(get("/readyz"));
  CAF_CHECK_EQUAL(r.status, 200);
  check_json(r);
  CAF_CHECK_EQUAL(r.body, R"({"status":"ready"})");
  CAF_CHECK_EQUAL(sc->calls.back(), "ready");
  sc->ready_error = sheetsync::make_error(
    ec::cache_failed,
    "cannot open the cache /c/cache.db: it is not a regular file");
  r = exchange(get("/readyz"));
  CAF_CHECK_EQUAL(r.status, 503);
  check_json(r);
  CAF_CHECK_EQUAL(r.body, R"({"success":false,"error":"not_ready",)"
                          R"("message":"cannot open the cache /c/cache.db: it )"
                          R"(is not a regular file","status":"not ready",)"
                          R"("reason":"cannot open the cache /c/cache.db: it )"
                          R"(is not a regular file"})");
  CAF_CHECK(!r.header("Retry-After"));
  // Only busy: it passes, so say when to ask again.
  sc->ready_error = sheetsync::make_error(ec::cache_busy, "locked; retry in 2 s");
  r = exchange(get("/readyz"));
  CAF_CHECK_EQUAL(r.status, 503);
  CAF_CHECK_EQUAL(r.header("Retry-After").value_or(""), "2");
  // A remote coordinator out of reach.
  sc->ready_error = sheetsync::make_error(
    ec::unavailable, "the coordinator at earth:4242 is unreachable");
  r = exchange(get("/readyz"));
  CAF_CHECK_EQUAL(r.status, 503);
  CAF_CHECK(contains(r.body, "earth:4242 is unreachable"));
  // HEAD: the same status, no body.
  sc->ready_error = caf::error{};
  auto conn = connect();
  send(conn, req("HEAD", "/readyz"));
  CAF_CHECK(starts_with(output(conn), "HTTP/1.1 200 OK\r\n"));
}

CAF_TEST(GET readyz: a coordinator that does not answer is not ready) {
  start();
  sc->hold = true;
  auto conn = connect();
  send(conn, get("/readyz"));
  advance(1s);
  auto r = one_response(conn);
  CAF_CHECK_EQUAL(r.status, 503);
  CAF_CHECK(contains(r.body, R"("status":"not ready")"));
  CAF_CHECK(contains(r.body, "the sync coordinator did not answer"));
}

CAF_TEST(GET sources lists every source with its running and latest sync) {
  two_sources();
  auto last = make_status("sync-b0", sync_state::error, 30);
  last.source = "b";
  last.error = "the sheet is private";
  sc->sources[1].last = last;
  sc->sources[1].running_id = "sync-b1";
  sc->sources[1].queued = true;
  start();
  auto r = exchange(get("/api/sources"));
  CAF_CHECK_EQUAL(r.status, 200);
  check_json(r);
  CAF_CHECK_EQUAL(r.header("Cache-Control").value_or(""), "no-store");
  CAF_CHECK_EQUAL(sc->calls.back(), "sources");
  CAF_CHECK_EQUAL(
    r.body,
    R"({"sources":[)"
    R"({"name":"a","location":"https://sheets.test/a.csv","access":"export","intervalSeconds":null,"default":true,"running":null,"queued":false,"last":null,)"
    R"("fixed":false,"definedIn":null,"gid":"","credentials":null},)"
    R"({"name":"b","location":"https://docs.google.com/spreadsheets/d/ID2/edit#gid=123","access":"api","intervalSeconds":900,"default":false,"running":"sync-b1","queued":true,"last":)"
      + to_json(last) + R"(,"fixed":false,"definedIn":null,"gid":"","credentials":null}]})");
  // Not a whole number of seconds.
  sc->sources[0].interval_ms = 1500;
  r = exchange(get("/api/sources"));
  CAF_CHECK(contains(r.body, R"("intervalSeconds":1.5,)"));
  // HEAD, and the wrong method.
  auto conn = connect();
  send(conn, req("HEAD", "/api/sources"));
  CAF_CHECK(starts_with(output(conn), "HTTP/1.1 200 OK\r\n"));
  auto calls = coordinator_calls();
  r = exchange(req("PUT", "/api/sources"));
  CAF_CHECK_EQUAL(r.status, 405);
  CAF_CHECK_EQUAL(r.header("Allow").value_or(""), "GET, HEAD, POST");
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
  // The coordinator failing: an error JSON.
  sc->sources_fail = true;
  r = exchange(get("/api/sources"));
  CAF_CHECK_EQUAL(r.status, 500);
  check_json(r);
  CAF_CHECK(contains(r.body, R"("success":false)"));
}

CAF_TEST(GET sync-history: newest first and per source with a limit) {
  two_sources();
  for (int i = 5; i >= 1; --i) {
    auto st = make_status("sync-h" + std::to_string(i), sync_state::complete,
                          100);
    st.source = i % 2 == 0 ? "b" : "a";
    sc->history.push_back(st);
  }
  start();
  auto r = exchange(get("/api/sync-history"));
  CAF_CHECK_EQUAL(r.status, 200);
  check_json(r);
  CAF_CHECK_EQUAL(r.header("Cache-Control").value_or(""), "no-store");
  CAF_CHECK_EQUAL(sc->calls.back(), "history  20");
  std::string all = R"({"syncs":[)";
  for (size_t i = 0; i < sc->history.size(); ++i)
    all += (i > 0 ? "," : "") + to_json(sc->history[i]);
  all += "]}";
  CAF_CHECK_EQUAL(r.body, all);
  r = exchange(get("/api/sync-history?source=b&limit=1"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(sc->calls.back(), "history b 1");
  CAF_CHECK_EQUAL(r.body, R"({"syncs":[)" + to_json(sc->history[1]) + "]}");
  r = exchange(get("/api/sync-history?limit=1000"));
  CAF_CHECK_EQUAL(sc->calls.back(), "history  1000");
  // Nothing yet: an empty list.
  sc->history.clear();
  r = exchange(get("/api/sync-history?source=a"));
  CAF_CHECK_EQUAL(r.body, R"({"syncs":[]})");
  // Bad limits: 400 without asking.
  auto calls = coordinator_calls();
  for (auto q : {"limit=0", "limit=1001", "limit=-1", "limit=abc", "limit=2x"}) {
    CAF_MESSAGE(q);
    r = exchange(get(std::string{"/api/sync-history?"} + q));
    CAF_CHECK_EQUAL(r.status, 400);
    check_json(r);
    CAF_CHECK(contains(r.body, R"("error":"invalid_argument")"));
  }
  r = exchange(req("DELETE", "/api/sync-history"));
  CAF_CHECK_EQUAL(r.status, 405);
  CAF_CHECK_EQUAL(r.header("Allow").value_or(""), "GET, HEAD");
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
}

CAF_TEST(a new event stream starts with the latest status of every source) {
  two_sources();
  auto last_b = make_status("sync-b0", sync_state::complete, 100);
  last_b.source = "b";
  sc->sources[1].last = last_b;
  start();
  auto s1 = connect();
  send(s1, get("/api/sync-sheets-bg/events"));
  auto out = output(s1);
  auto head_end = out.find("\r\n\r\n");
  CAF_REQUIRE(head_end != std::string::npos);
  // Config order: a (never synced), then b.
  CAF_CHECK_EQUAL(out.substr(head_end + 4),
                  sse(0, idle_of("a")) + sse(0, last_b));
  // Changes of either source go to every stream, naming their source.
  auto st_a = make_status("sync-a1", sync_state::downloading, 5);
  st_a.source = "a";
  self->send(sc->listener, st_a);
  pump();
  CAF_CHECK_EQUAL(output(s1), sse(1, st_a));
  // A later stream starts with a's new status and b's old one.
  auto s2 = connect();
  send(s2, get("/api/sync-sheets-bg/events"));
  out = output(s2);
  head_end = out.find("\r\n\r\n");
  CAF_CHECK_EQUAL(out.substr(head_end + 4), sse(1, st_a) + sse(1, last_b));
}

CAF_TEST(metrics count finished syncs by source) {
  two_sources();
  start();
  for (auto [id, source, outcome] :
       std::vector<std::tuple<std::string, std::string, sync_state>>{
         {"sync-m1", "a", sync_state::complete},
         {"sync-m2", "b", sync_state::error},
         {"sync-m3", "b", sync_state::complete},
         {"sync-m3", "b", sync_state::complete}}) {
    auto st = make_status(id, outcome, 100);
    st.source = source;
    self->send(sc->listener, st);
    pump();
  }
  auto body = exchange(get("/metrics")).body;
  CAF_CHECK(contains(body, "sheetsync_syncs_total{outcome=\"complete\"} 2\n"));
  CAF_CHECK(contains(body, "sheetsync_syncs_total{outcome=\"error\"} 1\n"));
  CAF_CHECK(contains(
    body, "sheetsync_source_syncs_total{source=\"a\",outcome=\"complete\"} 1\n"));
  CAF_CHECK(contains(
    body, "sheetsync_source_syncs_total{source=\"a\",outcome=\"error\"} 0\n"));
  CAF_CHECK(contains(
    body, "sheetsync_source_syncs_total{source=\"b\",outcome=\"complete\"} 1\n"));
  CAF_CHECK(contains(
    body, "sheetsync_source_syncs_total{source=\"b\",outcome=\"error\"} 1\n"));
  CAF_CHECK(contains(body, "sheetsync_source_last_success_timestamp_seconds{"
                           "source=\"b\"} 1700000000.100\n"));
}


// A broker's mailbox still takes messages after it ended (CAF 0.17), and its
// timers fire then too. Sent by the broker to itself, such a message held the
// ended broker in its own mailbox for good (LeakSanitizer at the exit of
// serve). Once both timers have fired, nothing may hold it.
CAF_TEST(an ended facade is freed once its timers have fired) {
  start();
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(broker);
  caf::anon_send_exit(broker, caf::exit_reason::user_shutdown);
  mpx->flush_runnables();
  broker = nullptr;
  sc->listener = status_listener_actor{};
  CAF_REQUIRE(weak.lock() != nullptr); // the clock holds it until they fire
  advance(fcfg.keepalive_interval + 1s);
  CAF_CHECK(weak.lock() == nullptr);
}

// -- sources at run time -------------------------------------------------------

namespace {

const std::string json_type = "Content-Type: application/json\r\n";

} // namespace

CAF_TEST(POST sources adds one: 201 with Location and the source as listed) {
  start();
  auto r = exchange(req("POST", "/api/sources", json_type,
                        R"({"name":"sales","url":"https://docs.google.com/)"
                        R"(spreadsheets/d/ID/edit#gid=7","interval":"15min",)"
                        R"("tabs":["Orders","Stock 2"],"apiKey":"SECRET-KEY"})"));
  CAF_CHECK_EQUAL(r.status, 201);
  check_json(r);
  CAF_CHECK_EQUAL(r.header("Location").value_or(""), "/api/sources/sales");
  CAF_CHECK_EQUAL(sc->calls.back(), "add sales");
  CAF_CHECK_EQUAL(sc->spec.name, "sales");
  CAF_CHECK_EQUAL(sc->spec.location,
                  "https://docs.google.com/spreadsheets/d/ID/edit#gid=7");
  CAF_CHECK(sc->spec.interval == std::chrono::minutes{15});
  CAF_CHECK_EQUAL(sc->spec.tabs, (std::vector<std::string>{"Orders", "Stock 2"}));
  CAF_CHECK_EQUAL(sc->spec.api_key, "SECRET-KEY");
  // The key never comes back: only that there is one.
  CAF_CHECK(!contains(r.body, "SECRET-KEY"));
  CAF_CHECK_EQUAL(
    r.body,
    R"({"name":"sales","location":"redacted","access":"auto","intervalSeconds":900,)"
    R"("default":false,"running":null,"queued":false,"last":null,"fixed":false,)"
    R"("definedIn":null,"gid":"","tabs":["Orders","Stock 2"],"apiKey":"***","credentials":null})");
  // The other routes know it at once, and so do new event streams.
  auto calls = coordinator_calls();
  r = exchange(get("/api/data?source=sales"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(coordinator_calls(), calls + 1);
  CAF_CHECK_EQUAL(sc->calls.back(), "data sales 50 0");
  CAF_CHECK(contains(state().events.latest("sales"), "No sync has run yet"));
}

CAF_TEST(GET PATCH DELETE of one source) {
  two_sources();
  start();
  auto r = exchange(get("/api/sources/b"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(sc->calls.back(), "source b");
  CAF_CHECK(starts_with(r.body, R"({"name":"b",)"));
  CAF_CHECK(contains(r.body, R"("default":false)"));
  r = exchange(get("/api/sources/a"));
  CAF_CHECK(contains(r.body, R"("default":true)"));
  // PATCH: only the fields given, named as the API names them.
  r = exchange(req("PATCH", "/api/sources/b", json_type,
                   R"({"interval":"1h","tabs":"all","name":"b"})"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(sc->calls.back(), "update b");
  CAF_CHECK_EQUAL(sc->spec.name, "b");
  CAF_CHECK_EQUAL(sc->given, (std::vector<std::string>{"interval", "tabs"}));
  CAF_CHECK(sc->spec.all_tabs);
  CAF_CHECK(contains(r.body, R"("intervalSeconds":3600,)"));
  CAF_CHECK(contains(r.body, R"("tabs":"all")"));
  r = exchange(req("PATCH", "/api/sources/b", json_type,
                   R"({"interval":null,"apiKey":null})"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(sc->given, (std::vector<std::string>{"interval", "apiKey"}));
  CAF_CHECK(contains(r.body, R"("intervalSeconds":null,)"));
  // DELETE: gone from the broker's names too.
  r = exchange(req("DELETE", "/api/sources/b"));
  CAF_CHECK_EQUAL(r.status, 200);
  check_json(r);
  CAF_CHECK_EQUAL(sc->calls.back(), "delete b");
  CAF_CHECK_EQUAL(state().sources, (std::vector<std::string>{"a"}));
  r = exchange(get("/api/data?source=b"));
  CAF_CHECK_EQUAL(r.status, 404);
  check_error(r, "unknown_source");
  r = exchange(get("/api/sources/b"));
  check_error(r, "unknown_source");
  CAF_CHECK_EQUAL(r.status, 404);
}

CAF_TEST(sources errors: unknown 404 and exists or fixed 409 and invalid names 404 unasked) {
  two_sources();
  start();
  sc->source_error = sheetsync::make_error(ec::source_exists,
                                           "a source named 'b' exists");
  auto r = exchange(req("POST", "/api/sources", json_type,
                        R"({"name":"b","id":"abc"})"));
  CAF_CHECK_EQUAL(r.status, 409);
  check_error(r, "source_exists");
  sc->source_error = sheetsync::make_error(
    ec::fixed_source, "source 'a' is defined by the --source flag");
  r = exchange(req("PATCH", "/api/sources/a", json_type, R"({"gid":"5"})"));
  CAF_CHECK_EQUAL(r.status, 409);
  CAF_CHECK(contains(check_error(r, "fixed_source")->operator[]("message").GetString(),
                     "--source"));
  r = exchange(req("DELETE", "/api/sources/a"));
  CAF_CHECK_EQUAL(r.status, 409);
  sc->source_error = caf::error{};
  r = exchange(get("/api/sources/zz"));
  CAF_CHECK_EQUAL(r.status, 404);
  check_error(r, "unknown_source");
  // Names no source can have: nobody is asked.
  auto calls = coordinator_calls();
  for (auto target : std::vector<std::string>{"/api/sources/a%20b", "/api/sources/a__b",
                      "/api/sources/-x", "/api/sources/" + std::string(70, 'x')}) {
    CAF_MESSAGE(target);
    r = exchange(get(target));
    CAF_CHECK_EQUAL(r.status, 404);
    check_error(r, "unknown_source");
  }
  // Deeper paths are not sources.
  r = exchange(get("/api/sources/a/b"));
  CAF_CHECK_EQUAL(r.status, 404);
  check_error(r, "not_found");
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
  // Methods of a source's path.
  r = exchange(req("PUT", "/api/sources/a", json_type, "{}"));
  CAF_CHECK_EQUAL(r.status, 405);
  CAF_CHECK_EQUAL(r.header("Allow").value_or(""), "GET, HEAD, PATCH, DELETE");
  r = exchange(get("/api/sources/check"));
  CAF_CHECK_EQUAL(sc->calls.back(), "source check");
}

CAF_TEST(hostile source bodies: 400 naming the field or 413 or 415 and the coordinator hears nothing) {
  start();
  auto calls = coordinator_calls();
  auto url = std::string{R"("url":"https://docs.google.com/spreadsheets/d/ID/edit")"};
  for (auto [body, field] : std::vector<std::pair<std::string, std::string>>{
         {"{" + url + "}", "name:"},
         {R"({"name":"a b",)" + url + "}", "name:"},
         {R"({"name":"a__b",)" + url + "}", "name:"},
         {R"({"name":"check",)" + url + "}", "name:"},
         {R"({"name":["x"],)" + url + "}", "name:"},
         {R"({"name":"x"})", "url:"},
         {R"({"name":"x","url":"file:///etc/passwd"})", "url:"},
         {R"({"name":"x","url":"ftp://h/x.csv"})", "url:"},
         {R"({"name":"x","url":""})", "url:"},
         {R"({"name":"x","id":"a/b"})", "id:"},
         {R"({"name":"x","id":"abc",)" + url + "}", "url:"},
         {R"({"name":"x",)" + url + R"(,"interval":15})", "interval:"},
         {R"({"name":"x",)" + url + R"(,"interval":"soon"})", "interval:"},
         {R"({"name":"x",)" + url + R"(,"interval":"-5min"})", "interval:"},
         {R"({"name":"x",)" + url + R"(,"interval":"10ms"})", "interval:"},
         {R"({"name":"x",)" + url + R"(,"interval":"999999999999999991h"})",
          "interval:"},
         {R"({"name":"x",)" + url + R"(,"access":"ftp"})", "access:"},
         {R"({"name":"x",)" + url + R"(,"gid":"first"})", "gid:"},
         {R"({"name":"x",)" + url + R"(,"gid":-1})", "gid:"},
         {R"({"name":"x",)" + url + R"(,"tabs":"some"})", "tabs:"},
         {R"({"name":"x",)" + url + R"(,"tabs":["A",""]})", "tabs:"},
         {R"({"name":"x",)" + url + R"(,"tabs":["A","A"]})", "tabs:"},
         {R"({"name":"x",)" + url + R"(,"apiKey":5})", "apiKey:"},
         {R"({"name":"x",)" + url + R"(,"credentials":{}})", "credentials:"},
         {R"({"name":"x",)" + url + R"(,"range":"A1:B2"})", R"("range")"},
         {R"({"name":"x","name":"y",)" + url + "}", "name:"},
         {"{", "JSON object"},
         {"[]", "JSON object"},
         {"null", "JSON object"},
         {std::string(60000, '['), "JSON object"}}) {
    CAF_MESSAGE(body.substr(0, 100));
    auto r = exchange(req("POST", "/api/sources", json_type, body));
    CAF_CHECK_EQUAL(r.status, body.size() > max_source_body ? 413 : 400);
    if (r.status == 400) {
      auto doc = check_error(r, "invalid_argument");
      // A field's problem starts with its name, as the coordinator's do.
      std::string message = (*doc)["message"].GetString();
      if (field.back() == ':')
        CAF_CHECK(starts_with(message, field));
      else
        CAF_CHECK(contains(message, field));
    }
  }
  // Too big, not JSON.
  auto big = R"({"name":"x",)" + url + R"(,"apiKey":")"
             + std::string(max_source_body, 'k') + R"("})";
  auto r = exchange(req("POST", "/api/sources", json_type, big));
  CAF_CHECK_EQUAL(r.status, 413);
  check_error(r, "payload_too_large");
  r = exchange(req("POST", "/api/sources", "Content-Type: text/plain\r\n",
                   R"({"name":"x",)" + url + "}"));
  CAF_CHECK_EQUAL(r.status, 415);
  check_error(r, "unsupported_media_type");
  r = exchange(req("POST", "/api/sources", "", R"({"name":"x",)" + url + "}"));
  CAF_CHECK_EQUAL(r.status, 415);
  // PATCH: no name change, something to change.
  r = exchange(req("PATCH", "/api/sources/default", json_type,
                   R"({"name":"other"})"));
  CAF_CHECK_EQUAL(r.status, 400);
  CAF_CHECK(starts_with((*check_error(r, "invalid_argument"))["message"].GetString(),
                        "name:"));
  r = exchange(req("PATCH", "/api/sources/default", json_type, "{}"));
  CAF_CHECK_EQUAL(r.status, 400);
  check_error(r, "invalid_argument");
  // An unknown field is named, but only a short printable part of it.
  r = exchange(req("POST", "/api/sources", json_type,
                   R"({"\u0007)" + std::string(500, 'z') + R"(":1})"));
  CAF_CHECK_EQUAL(r.status, 400);
  CAF_CHECK(!contains(r.body, std::string(41, 'z')));
  CAF_CHECK(contains(r.body, R"(unknown field \"?zzz)"));
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
}

CAF_TEST(POST sources check answers what the coordinator found as JSON) {
  start();
  sc->check.ok = true;
  sc->check.columns = {"sku", "qty"};
  sc->check.rows = {{"A-1", "5"}, {"B-2", ""}};
  sc->check.tabs = {{"0", "Stock"}, {"77", "Returns"}};
  sc->check.access = "api";
  sc->check.name = "stock";
  auto r = exchange(req("POST", "/api/sources/check", json_type,
                        R"({"id":"ABC123","apiKey":"SECRET-KEY"})"));
  CAF_CHECK_EQUAL(r.status, 200);
  check_json(r);
  CAF_CHECK_EQUAL(sc->calls.back(), "check ");
  CAF_CHECK_EQUAL(sc->spec.location, "ABC123");
  CAF_CHECK_EQUAL(sc->spec.api_key, "SECRET-KEY");
  CAF_CHECK_EQUAL(
    r.body,
    R"({"ok":true,"columns":["sku","qty"],"rows":[["A-1","5"],["B-2",""]],)"
    R"("tabs":[{"gid":"0","title":"Stock"},{"gid":"77","title":"Returns"}],)"
    R"("access":"api","name":"stock"})");
  sc->check = source_check{};
  sc->check.message = "the sheet is not shared: share it with anyone with the link";
  r = exchange(req("POST", "/api/sources/check", json_type,
                   R"({"name":"x","url":"https://h.test/a.csv"})"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(
    r.body,
    R"({"ok":false,"message":"the sheet is not shared: share it with anyone with the link"})");
  // The name is optional, a location is not.
  auto calls = coordinator_calls();
  r = exchange(req("POST", "/api/sources/check", json_type, R"({"name":"x"})"));
  CAF_CHECK_EQUAL(r.status, 400);
  CAF_CHECK(contains(r.body, R"("message":"url:)"));
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
  r = exchange(req("GET", "/api/sources/check"));
  CAF_CHECK_EQUAL(sc->calls.back(), "source check");
}

CAF_TEST(GET sources shows fixed sources and tabs but never a key) {
  two_sources();
  sc->sources[0].fixed = true;
  sc->sources[0].defined_in = "the --source flag";
  sc->sources[0].has_api_key = true;
  sc->sources[1].all_tabs = true;
  sc->sources[1].gid = "123";
  sc->sources[1].credentials = "/etc/sa.json";
  start();
  auto r = exchange(get("/api/sources"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK(contains(r.body, R"("fixed":true,"definedIn":"the --source flag","gid":"","apiKey":"***","credentials":null})"));
  CAF_CHECK(contains(r.body, R"("fixed":false,"definedIn":null,"gid":"123","tabs":"all","credentials":"/etc/sa.json"})"));
}

CAF_TEST(a source added through another facade is found and not 404) {
  two_sources();
  start();
  source_info c;
  c.name = "c";
  sc->sources.push_back(c);
  auto r = exchange(get("/api/data?source=c"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(sc->calls.back(), "data c 50 0");
  CAF_CHECK_EQUAL(state().sources, (std::vector<std::string>{"a", "b", "c"}));
}

CAF_TEST(intervals read as the config file reads them) {
  caf::timespan t{1};
  CAF_CHECK_EQUAL(parse_interval("15min", t), "");
  CAF_CHECK(t == std::chrono::minutes{15});
  CAF_CHECK_EQUAL(parse_interval("1h", t), "");
  CAF_CHECK(t == std::chrono::hours{1});
  CAF_CHECK_EQUAL(parse_interval("90s", t), "");
  CAF_CHECK(t == std::chrono::seconds{90});
  for (auto manual : {"manual", "", "0"}) {
    t = caf::timespan{1};
    CAF_CHECK_EQUAL(parse_interval(manual, t), "");
    CAF_CHECK(t == caf::timespan{0});
  }
  for (auto bad : {"15", "15 minutes", "1d", "-1h", "500ms", "999999999999999991h",
                   "1h30min"})
    CAF_CHECK(!parse_interval(bad, t).empty());
}

CAF_TEST(at most four checks of a sheet wait at once) {
  start();
  sc->hold = true;
  auto body = std::string{R"({"url":"https://h.test/a.csv"})"};
  std::vector<connection_handle> waiting;
  for (int i = 0; i < 4; ++i) {
    waiting.push_back(connect());
    send(waiting.back(), req("POST", "/api/sources/check", json_type, body));
  }
  CAF_CHECK_EQUAL(sc->held.size(), 4u);
  auto r = exchange(req("POST", "/api/sources/check", json_type, body));
  CAF_CHECK_EQUAL(r.status, 503);
  check_error(r, "unavailable");
  CAF_CHECK_EQUAL(sc->held.size(), 4u);
  // One answered: room for the next.
  sc->check.message = "not shared";
  sc->held.front().second.deliver(sc->check);
  pump();
  CAF_CHECK_EQUAL(one_response(waiting.front()).status, 200);
  auto conn = connect();
  send(conn, req("POST", "/api/sources/check", json_type, body));
  CAF_CHECK_EQUAL(sc->held.size(), 5u);
}

CAF_TEST(the rate limit counts api requests per client with RateLimit fields) {
  fcfg.rate_limit.requests = 3;
  fcfg.rate_limit.period = 1s;
  start();
  // A status the coordinator pushed: answered on the ready-bytes path.
  auto st = make_status("sync-2", sync_state::downloading, 10);
  self->send(sc->listener, st);
  pump();
  auto asked = coordinator_calls();
  auto r = exchange(get("/api/sync-sheets-bg?syncId=sync-2"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(r.body, to_json(st));
  CAF_CHECK_EQUAL(r.header("RateLimit-Policy").value_or(""),
                  R"("default";q=3;w=1)");
  CAF_CHECK_EQUAL(r.header("RateLimit").value_or(""), R"("default";r=2;t=1)");
  r = exchange(get("/api/sync-sheets-bg?syncId=sync-1"));
  CAF_CHECK_EQUAL(r.status, 200);
  CAF_CHECK_EQUAL(r.header("RateLimit").value_or(""), R"("default";r=1;t=1)");
  // Errors of /api/ count too and carry the fields.
  r = exchange(get("/api/nope"));
  CAF_CHECK_EQUAL(r.status, 404);
  CAF_CHECK_EQUAL(r.header("RateLimit").value_or(""), R"("default";r=0;t=1)");
  // Over the limit: 429 before any route, the coordinator never asked.
  auto calls = coordinator_calls();
  r = exchange(req("POST", "/api/sync-sheets-bg"));
  CAF_CHECK_EQUAL(r.status, 429);
  check_error(r, "rate_limited");
  CAF_CHECK_EQUAL(r.header("Retry-After").value_or(""), "1");
  CAF_CHECK_EQUAL(r.header("RateLimit").value_or(""), R"("default";r=0;t=1)");
  CAF_CHECK_EQUAL(r.header("RateLimit-Policy").value_or(""),
                  R"("default";q=3;w=1)");
  CAF_CHECK_EQUAL(coordinator_calls(), calls);
  CAF_CHECK(calls > asked);
  // Exempt: health, metrics, pages; they carry no fields.
  for (auto path : {"/healthz", "/metrics", "/", "/settings"}) {
    r = exchange(get(path));
    CAF_CHECK_EQUAL(r.status, 200);
    CAF_CHECK(!r.header("RateLimit"));
  }
  CAF_CHECK(contains(exchange(get("/metrics")).body,
                     R"(sheetsync_http_requests_total{route="rate_limited",code="429"} 1)"));
  // A token every 333 ms: one passes at 340 ms, the next does not.
  advance(340ms);
  CAF_CHECK_EQUAL(exchange(get("/api/data")).status, 200);
  CAF_CHECK_EQUAL(exchange(get("/api/data")).status, 429);
  // The event stream's opening counts, its events do not.
  advance(340ms);
  auto stream = connect();
  send(stream, get("/api/sync-sheets-bg/events"));
  auto head = output(stream);
  CAF_CHECK(starts_with(head, "HTTP/1.1 200 OK\r\n"));
  CAF_CHECK(contains(head, "RateLimit: \"default\";r=0;t=1\r\n"));
  self->send(sc->listener, make_status("sync-2", sync_state::processing, 70));
  pump();
  CAF_CHECK(contains(output(stream), "event: status"));
  CAF_CHECK_EQUAL(exchange(get("/api/data")).status, 429);
  // Buckets full again are forgotten on the 1 s sweep.
  CAF_CHECK_EQUAL(state().limiter->size(), 1u);
  advance(1s);
  advance(1s);
  CAF_CHECK_EQUAL(state().limiter->size(), 0u);
}

CAF_TEST(without a rate limit there are no RateLimit fields and no buckets) {
  start();
  for (int i = 0; i < 50; ++i)
    CAF_CHECK_EQUAL(exchange(get("/api/data")).status, 200);
  CAF_CHECK(!exchange(get("/api/data")).header("RateLimit"));
  CAF_CHECK(!state().limiter);
}

CAF_TEST_FIXTURE_SCOPE_END()
