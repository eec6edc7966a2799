#include "actors/http_facade.hpp"

#include <algorithm>
#include <cstdio>
#include <strings.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <openssl/crypto.h>
#include <rapidjson/document.h>

#include "net/eager_scribe.hpp"
#include "net/http_response.hpp"
#include "net/status_json.hpp"
#include "net/web_assets.hpp"

namespace sheetsync {

namespace {

using self_ptr = http_facade_actor*;
using caf::io::connection_handle;

const char* json_type = "application/json; charset=utf-8";

// -- responses ----------------------------------------------------------------

http_response json_response(int status, std::string body) {
  http_response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", json_type);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = std::move(body);
  return r;
}

http_response error_response(int status, const std::string& code,
                             const std::string& message) {
  return json_response(status, error_json(code, message));
}

/// Compares in time independent of where the first difference is, so the
/// token cannot be guessed byte by byte from response times.
bool constant_time_equal(const std::string& x, const std::string& y) {
  return x.size() == y.size() && CRYPTO_memcmp(x.data(), y.data(), x.size()) == 0;
}

std::string sse_event(uint64_t id, const std::string& json) {
  return "id: " + std::to_string(id) + "\nevent: status\ndata: " + json
         + "\n\n";
}

// -- connections --------------------------------------------------------------

void pump(self_ptr self, connection_handle hdl);

/// Closes a connection (queued bytes are still sent) and forgets it.
void drop(self_ptr self, connection_handle hdl) {
  self->close(hdl);
  self->state.conns.erase(hdl);
}

/// Writes the replies that are ready, in request order.
void flush_replies(self_ptr self, connection_handle hdl) {
  auto i = self->state.conns.find(hdl);
  if (i == self->state.conns.end())
    return;
  auto& c = i->second;
  bool wrote = false;
  while (!c.replies.empty() && c.replies.front().bytes) {
    auto reply = std::move(c.replies.front());
    c.replies.pop_front();
    ++c.first_seq;
    self->write(hdl, reply.bytes->size(), reply.bytes->data());
    wrote = true;
    if (reply.stream) {
      c.stream = true;
      self->ack_writes(hdl, true);
    }
    if (reply.close) {
      self->flush(hdl);
      drop(self, hdl);
      return;
    }
  }
  if (wrote) {
    self->flush(hdl);
    pump(self, hdl);
  }
}

/// Fills the reply slot `seq` of a connection (if it is still open) and
/// writes what is ready.
void fill_reply(self_ptr self, connection_handle hdl, uint64_t seq,
                std::string bytes, bool close) {
  auto i = self->state.conns.find(hdl);
  if (i == self->state.conns.end())
    return;
  auto& c = i->second;
  if (seq < c.first_seq || seq - c.first_seq >= c.replies.size())
    return;
  auto& slot = c.replies[seq - c.first_seq];
  slot.bytes = std::move(bytes);
  slot.close = close;
  flush_replies(self, hdl);
}

/// Whether reply slot `seq` answers a HEAD request.
bool answers_head(self_ptr self, connection_handle hdl, uint64_t seq) {
  auto i = self->state.conns.find(hdl);
  if (i == self->state.conns.end())
    return false;
  auto& c = i->second;
  return seq >= c.first_seq && seq - c.first_seq < c.replies.size()
         && c.replies[seq - c.first_seq].head;
}

void respond(self_ptr self, connection_handle hdl, uint64_t seq,
             const char* route, const http_response& r, bool keep_alive) {
  self->state.metrics.count_request(route, r.status);
  fill_reply(self, hdl, seq,
             serialize(r, keep_alive, answers_head(self, hdl, seq)),
             !keep_alive);
}

/// Fills a reply slot with a ready keep-alive answer (the hot path).
void respond_bytes(self_ptr self, connection_handle hdl, uint64_t seq,
                   const char* route, int status, const std::string& bytes) {
  self->state.metrics.count_request(route, status);
  fill_reply(self, hdl, seq, bytes, false);
}

// -- coordinator errors -------------------------------------------------------

http_response from_error(const caf::error& err) {
  switch (code_of(err)) {
    case ec::busy:
      return json_response(409, start_json(false, busy_id(err), error_text(err)));
    case ec::cooldown: {
      auto secs = cooldown_seconds(err);
      auto r = json_response(429, cooldown_json(secs, error_text(err)));
      r.headers.emplace_back("Retry-After", std::to_string(secs));
      return r;
    }
    case ec::unknown_sync:
      return error_response(404, "unknown_sync", error_text(err));
    case ec::not_running:
      return error_response(409, "not_running", error_text(err));
    case ec::invalid_argument:
      return error_response(400, "invalid_argument", error_text(err));
    case ec::unavailable: {
      auto r = error_response(503, "unavailable", error_text(err));
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    case ec::unspecified:
      if (err == caf::sec::request_timeout || err == caf::sec::request_receiver_down)
        return error_response(503, "unavailable",
                              "the sync coordinator did not answer; try again "
                              "in a moment");
      [[fallthrough]];
    default:
      return error_response(500, to_string(code_of(err)), error_text(err));
  }
}

http_response status_200(const sync_status& st) {
  return json_response(200, to_json(st));
}

/// Asks the coordinator and answers reply slot `seq` with `render(answer)`,
/// or with the error the coordinator gave.
template <class Answer, class Render, class... Ts>
void ask_and_answer(self_ptr self, connection_handle hdl, uint64_t seq,
                    const char* route, bool keep, Render render, Ts... xs) {
  auto& s = self->state;
  self->request(s.cfg.coordinator, s.cfg.request_timeout, xs...)
    .then(
      [=](const Answer& x) {
        respond(self, hdl, seq, route, render(x), keep);
      },
      [=](caf::error& err) {
        respond(self, hdl, seq, route, from_error(err), keep);
      });
}

// -- routes -------------------------------------------------------------------

void open_stream(self_ptr self, connection_handle hdl, uint64_t seq,
                 const http_request& req) {
  auto& s = self->state;
  http_response head;
  head.headers.emplace_back("Content-Type", "text/event-stream");
  head.headers.emplace_back("Cache-Control", "no-store");
  head.headers.emplace_back("X-Accel-Buffering", "no");
  auto bytes = serialize_stream_head(head);
  // Replay what a reconnecting client missed, if we still have it; else
  // start with the current status.
  uint64_t last_seen = 0;
  bool replayed = false;
  char* end = nullptr;
  if (auto h = req.header("last-event-id");
      h && !h->empty() && (last_seen = std::strtoull(h->c_str(), &end, 10), *end == '\0')) {
    if (!s.events.empty() && last_seen + 1 >= s.events.front().first
        && last_seen < s.next_event_id) {
      for (auto& [id, json] : s.events)
        if (id > last_seen)
          bytes += sse_event(id, json);
      replayed = true;
    }
  }
  if (!replayed) {
    // Every stream starts with the latest status of every source (idle
    // before any sync), the configured sources in their order first.
    auto current_id = s.next_event_id - 1;
    if (s.latest.empty()) {
      sync_status idle;
      idle.source = s.default_source();
      idle.message = "No sync has run yet";
      bytes += sse_event(current_id, to_json(idle));
    }
    for (auto& name : s.sources)
      if (auto i = s.latest.find(name); i != s.latest.end())
        bytes += sse_event(current_id, i->second);
    std::vector<std::string> others;
    for (auto& kv : s.latest)
      if (std::find(s.sources.begin(), s.sources.end(), kv.first)
          == s.sources.end())
        others.push_back(kv.first);
    std::sort(others.begin(), others.end());
    for (auto& name : others)
      bytes += sse_event(current_id, s.latest[name]);
  }
  s.metrics.count_request("events", 200);
  auto& c = s.conns[hdl];
  auto& slot = c.replies[seq - c.first_seq];
  slot.bytes = std::move(bytes);
  slot.stream = true;
  c.closing = true; // A stream reads no more requests.
  flush_replies(self, hdl);
}

bool parse_count(const std::optional<std::string>& text, uint64_t fallback,
                 uint64_t max, uint64_t& out) {
  if (!text || text->empty()) {
    out = fallback;
    return true;
  }
  char* end = nullptr;
  auto x = std::strtoull(text->c_str(), &end, 10);
  if (*end != '\0' || text->front() == '-' || x > max)
    return false;
  out = x;
  return true;
}

/// Remembers the configured sources (the coordinator's answer to
/// `get sources`): their names, and their latest statuses for new streams.
void learn_sources(self_ptr self, const std::vector<source_info>& xs) {
  auto& s = self->state;
  s.sources.clear();
  for (auto& x : xs) {
    s.sources.push_back(x.name);
    s.metrics.add_source(x.name);
    // A pushed status is never older than this answer: keep it.
    if (s.latest.count(x.name) > 0)
      continue;
    auto st = x.last;
    if (st.source.empty())
      st.source = x.name;
    if (st.id.empty())
      st.message = "No sync has run yet";
    s.latest.emplace(x.name, to_json(st));
  }
}

/// Calls `next` once `source` is known to name a configured source ("" is
/// the default one, always fine); otherwise answers 404 unknown_source with
/// the known names. Asks the coordinator for the names if it does not know
/// them yet; if it cannot tell, `next` runs and the coordinator judges.
template <class F>
void with_source(self_ptr self, connection_handle hdl, uint64_t seq,
                 const char* route, bool keep, const std::string& source,
                 F next) {
  auto decide = [=] {
    auto& names = self->state.sources;
    if (source.empty() || names.empty()
        || std::find(names.begin(), names.end(), source) != names.end()) {
      next();
      return;
    }
    respond(self, hdl, seq, route,
            json_response(404, unknown_source_json(source, names)), keep);
  };
  auto& s = self->state;
  if (source.empty() || !s.sources.empty()) {
    decide();
    return;
  }
  self->request(s.cfg.coordinator, s.cfg.request_timeout, caf::get_atom_v,
                atom::sources_v)
    .then(
      [=](const std::vector<source_info>& xs) {
        learn_sources(self, xs);
        decide();
      },
      [=](caf::error&) { next(); });
}

/// The source a POST names: `?source=`, or `{"source": "..."}` in a JSON
/// body. False (with a reason) for a malformed body or two different names.
bool post_source(const http_request& req, std::string& out,
                 std::string& problem) {
  auto query = req.query_param("source");
  out = query.value_or("");
  auto type = req.header("content-type");
  if (req.body.empty() || !type
      || strncasecmp(type->c_str(), "application/json", 16) != 0)
    return true;
  rapidjson::Document doc;
  doc.Parse(req.body.data(), req.body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    problem = "the body must be a JSON object, e.g. {\"source\": \"sales\"}";
    return false;
  }
  auto i = doc.FindMember("source");
  if (i == doc.MemberEnd() || i->value.IsNull())
    return true;
  if (!i->value.IsString()) {
    problem = "\"source\" must be a string";
    return false;
  }
  std::string body_source{i->value.GetString(), i->value.GetStringLength()};
  if (query && *query != body_source) {
    problem = "the query and the body name different sources";
    return false;
  }
  out = std::move(body_source);
  return true;
}

void handle(self_ptr self, connection_handle hdl, const http_request& req) {
  auto& s = self->state;
  auto& c = s.conns[hdl];
  auto seq = c.next_seq++;
  c.replies.emplace_back();
  c.replies.back().head = req.method == "HEAD";
  auto keep = req.keep_alive;
  if (!keep)
    c.closing = true;
  auto coord = s.cfg.coordinator;
  auto timeout = s.cfg.request_timeout;
  auto& path = req.path;
  auto& method = req.method;
  auto not_allowed = [&](const char* route, const char* allow) {
    auto r = error_response(405, "method_not_allowed",
                            "use " + std::string{allow} + " on " + path);
    r.headers.emplace_back("Allow", allow);
    respond(self, hdl, seq, route, r, keep);
  };
  if (path.rfind("/api/", 0) == 0 && !s.cfg.api_token.empty()) {
    // The scheme is case-insensitive (RFC 7235); the token is not.
    auto auth = req.header("authorization");
    auto has_scheme = auth && auth->size() > 7
                      && strncasecmp(auth->c_str(), "bearer ", 7) == 0;
    // One or more spaces after the scheme (RFC 9110).
    auto token_at = has_scheme ? auth->find_first_not_of(' ', 7)
                               : std::string::npos;
    if (token_at == std::string::npos
        || !constant_time_equal(auth->substr(token_at), s.cfg.api_token)) {
      auto r = error_response(401, "unauthorized",
                              "this service needs an API token: send "
                              "'Authorization: Bearer <token>'");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      respond(self, hdl, seq, "unauthorized", r, keep);
      return;
    }
  }
  if (path == "/api/sync-sheets-bg") {
    auto source = req.query_param("source").value_or("");
    auto id = req.query_param("syncId").value_or("");
    if (method == "POST") {
      std::string problem;
      if (!post_source(req, source, problem)) {
        respond(self, hdl, seq, "sync",
                error_response(400, "invalid_argument", problem), keep);
        return;
      }
      with_source(self, hdl, seq, "sync", keep, source, [=] {
        self->request(coord, timeout, atom::start_v, source)
          .then(
            [=](const std::string& new_id) {
              auto name = source.empty() ? self->state.default_source()
                                         : source;
              auto r = json_response(
                202, start_json(true, new_id, "Background sync started", name));
              r.headers.emplace_back("Location",
                                     "/api/sync-sheets-bg?syncId=" + new_id);
              respond(self, hdl, seq, "sync", r, keep);
            },
            [=](caf::error& err) {
              respond(self, hdl, seq, "sync", from_error(err), keep);
            });
      });
    } else if (method == "GET" || method == "HEAD") {
      bool head = method == "HEAD";
      // Pushed by the coordinator: answers without a round trip.
      auto answer_known = [=](const std::string& key) {
        auto& known = self->state.known;
        auto i = known.find(key);
        if (key.empty() || i == known.end() || !self->state.cfg.answer_pushed)
          return false;
        if (i->second.finished_at)
          i->second.finished_at = self->clock().now(); // still read: keep it
        if (keep && !head)
          respond_bytes(self, hdl, seq, "status", 200, i->second.response);
        else
          respond(self, hdl, seq, "status", json_response(200, i->second.json),
                  keep);
        return true;
      };
      if (!id.empty()) {
        // The sync's id says everything: `source` is not needed.
        if (answer_known(id))
          return;
        ask_and_answer<sync_status>(self, hdl, seq, "status", keep, status_200,
                                    atom::status_v, id);
        return;
      }
      // No id: the source's running sync, else its latest, else idle.
      with_source(self, hdl, seq, "status", keep, source, [=] {
        auto& s = self->state;
        auto name = source.empty() ? s.default_source() : source;
        if (auto i = s.running.find(name);
            !name.empty() && i != s.running.end() && answer_known(i->second))
          return;
        self->request(coord, timeout, atom::last_v, source)
          .then(
            [=](sync_status& st) {
              if (st.source.empty())
                st.source = source.empty() ? self->state.default_source()
                                           : source;
              respond(self, hdl, seq, "status",
                      json_response(200, to_json(st)), keep);
            },
            [=](caf::error& err) {
              respond(self, hdl, seq, "status", from_error(err), keep);
            });
      });
    } else if (method == "DELETE") {
      auto cancel = [=](const std::string& sync_id) {
        ask_and_answer<sync_status>(self, hdl, seq, "cancel", keep, status_200,
                                    atom::cancel_v, sync_id);
      };
      if (!id.empty()) {
        cancel(id);
        return;
      }
      if (source.empty()) {
        respond(self, hdl, seq, "cancel",
                error_response(400, "invalid_argument",
                               "say which sync to cancel: ?syncId=... or "
                               "?source=..."),
                keep);
        return;
      }
      // The source's running (or queued) sync, as the coordinator sees it.
      with_source(self, hdl, seq, "cancel", keep, source, [=] {
        self->request(coord, timeout, atom::last_v, source)
          .then(
            [=](const sync_status& st) {
              if (st.id.empty() || finished(st.state)) {
                respond(self, hdl, seq, "cancel",
                        error_response(409, "not_running",
                                       "no sync of source '" + source
                                         + "' is running or queued"),
                        keep);
                return;
              }
              cancel(st.id);
            },
            [=](caf::error& err) {
              respond(self, hdl, seq, "cancel", from_error(err), keep);
            });
      });
    } else {
      not_allowed("sync", "GET, HEAD, POST, DELETE");
    }
    return;
  }
  if (path == "/api/sources") {
    if (method != "GET" && method != "HEAD")
      return not_allowed("sources", "GET, HEAD");
    ask_and_answer<std::vector<source_info>>(
      self, hdl, seq, "sources", keep,
      [=](const std::vector<source_info>& xs) {
        learn_sources(self, xs);
        return json_response(200, to_json(xs));
      },
      caf::get_atom_v, atom::sources_v);
    return;
  }
  if (path == "/api/sync-history") {
    if (method != "GET" && method != "HEAD")
      return not_allowed("history", "GET, HEAD");
    uint64_t limit = 0;
    if (!parse_count(req.query_param("limit"), 20, 1000, limit) || limit == 0) {
      respond(self, hdl, seq, "history",
              error_response(400, "invalid_argument",
                             "limit must be a whole number from 1 to 1000"),
              keep);
      return;
    }
    auto source = req.query_param("source").value_or("");
    with_source(self, hdl, seq, "history", keep, source, [=] {
      ask_and_answer<std::vector<sync_status>>(
        self, hdl, seq, "history", keep,
        [](const std::vector<sync_status>& syncs) {
          return json_response(200, history_json(syncs));
        },
        caf::get_atom_v, atom::history_v, source, limit);
    });
    return;
  }
  if (path == "/api/sync-sheets-bg/events") {
    if (method != "GET")
      return not_allowed("events", "GET");
    open_stream(self, hdl, seq, req);
    return;
  }
  if (path == "/api/data") {
    if (method != "GET" && method != "HEAD")
      return not_allowed("data", "GET, HEAD");
    uint64_t limit = 0;
    uint64_t offset = 0;
    if (!parse_count(req.query_param("limit"), 50, 1000, limit) || limit == 0
        || !parse_count(req.query_param("offset"), 0, UINT64_MAX / 2, offset)) {
      respond(self, hdl, seq, "data",
              error_response(400, "invalid_argument",
                             "limit must be 1-1000 and offset a whole number "
                             ">= 0"),
              keep);
      return;
    }
    auto source = req.query_param("source").value_or("");
    with_source(self, hdl, seq, "data", keep, source, [=] {
      ask_and_answer<data_page>(
        self, hdl, seq, "data", keep,
        [](const data_page& page) { return json_response(200, to_json(page)); },
        caf::get_atom_v, atom::data_v, source, limit, offset);
    });
    return;
  }
  if (path == "/healthz") {
    if (method != "GET" && method != "HEAD")
      return not_allowed("healthz", "GET, HEAD");
    respond(self, hdl, seq, "healthz",
            json_response(200, R"({"status":"ok"})"), keep);
    return;
  }
  if (path == "/metrics") {
    if (method != "GET" && method != "HEAD")
      return not_allowed("metrics", "GET, HEAD");
    http_response r;
    r.headers.emplace_back("Content-Type", "text/plain; version=0.0.4");
    r.body = s.metrics.render(s.conns.size());
    respond(self, hdl, seq, "metrics", r, keep);
    return;
  }
  if (auto asset = find_web_asset(path)) {
    if (method != "GET" && method != "HEAD")
      return not_allowed("page", "GET, HEAD");
    http_response r;
    r.headers.emplace_back("Content-Type", std::string{asset->content_type});
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.body = std::string{asset->body};
    respond(self, hdl, seq, "page", r, keep);
    return;
  }
  respond(self, hdl, seq, "not_found",
          error_response(404, "not_found", "no such resource: " + path), keep);
}

void on_data(self_ptr self, caf::io::new_data_msg& msg) {
  auto i = self->state.conns.find(msg.handle);
  if (i == self->state.conns.end())
    return;
  auto& c = i->second;
  c.last_active = self->clock().now();
  if (c.closing)
    return; // Streams and closing connections read nothing more.
  std::vector<http_request> requests;
  auto status = c.parser.feed(std::string_view{msg.buf.data(), msg.buf.size()},
                              requests);
  for (auto& req : requests)
    c.queued.push_back(std::move(req));
  // A request that trickles in byte by byte must still end in time. Its
  // clock starts with its own first byte: after a request completed in this
  // read, the unfinished one began here.
  if (c.parser.pending_bytes() == 0)
    c.partial_since.reset();
  else if (!requests.empty() || !c.partial_since)
    c.partial_since = c.last_active;
  if (status != 0) {
    // Answered after the requests before it, then the connection closes.
    http_request bad;
    bad.method = "!"; // Marks the parse error; no method has this name.
    bad.target = std::to_string(status);
    bad.keep_alive = false;
    c.queued.push_back(std::move(bad));
  }
  pump(self, msg.handle);
}

void answer_parse_error(self_ptr self, connection_handle hdl, int status) {
  auto& c = self->state.conns[hdl];
  auto seq = c.next_seq++;
  c.replies.emplace_back();
  c.closing = true;
  std::string text;
  switch (status) {
    case 431: text = "the request's header section exceeds 8 KiB"; break;
    case 413: text = "the request body exceeds 64 KiB"; break;
    case 505: text = "only HTTP/1.0 and HTTP/1.1 are supported"; break;
    case 501: text = "unsupported transfer encoding"; break;
    default: text = "malformed HTTP request"; status = 400;
  }
  respond(self, hdl, seq, "bad_request",
          error_response(status, "bad_request", text), false);
}

/// Handles queued requests while the connection has room, and suspends or
/// resumes reading from its socket accordingly.
void pump(self_ptr self, connection_handle hdl) {
  auto has_room = [&](http_connection& c) {
    return c.replies.size() < http_facade_state::max_in_flight
           && self->wr_buf(hdl).size() < http_facade_state::max_unsent;
  };
  for (;;) {
    auto i = self->state.conns.find(hdl);
    if (i == self->state.conns.end())
      return; // A reply closed it.
    auto& c = i->second;
    if (c.stream)
      return;
    if (c.peer_done && c.queued.empty() && c.replies.empty()) {
      drop(self, hdl); // Everything it asked is answered.
      return;
    }
    if (c.queued.empty() || c.closing || !has_room(c)) {
      bool blocked = !c.queued.empty() && !c.closing;
      if (blocked && !c.halted) {
        c.halted = true;
        self->halt(hdl);
        // Tell us when the client has read, to resume.
        self->ack_writes(hdl, true);
      } else if (!blocked && c.halted && !c.closing && !c.peer_done) {
        c.halted = false;
        // The client could not send while we did not read.
        if (c.partial_since)
          c.partial_since = self->clock().now();
        self->trigger(hdl);
      }
      return;
    }
    auto req = std::move(c.queued.front());
    c.queued.pop_front();
    if (req.method == "!")
      answer_parse_error(self, hdl, std::stoi(req.target));
    else
      handle(self, hdl, req);
  }
}

/// Whether a connection has been quiet too long: no request for the idle
/// time, or an unfinished request past its deadline. Not while it still has
/// answers to give or requests to answer (a client that pipelined a lot and
/// reads slowly is busy, not idle), unless it has read nothing of them for
/// the idle time.
bool expired(const http_connection& c, caf::actor_clock::time_point now,
             const facade_config& cfg) {
  if (c.stream)
    return false; // Streams end when their reader falls behind.
  auto quiet = now - c.last_active;
  if (c.halted || !c.replies.empty() || !c.queued.empty())
    return c.halted && quiet >= cfg.idle_timeout;
  return quiet >= cfg.idle_timeout
         || (c.partial_since && now - *c.partial_since >= cfg.request_deadline);
}

/// Sends an event to every open stream; drops streams that cannot keep up.
void broadcast(self_ptr self, const std::string& bytes) {
  std::vector<connection_handle> slow;
  for (auto& [hdl, c] : self->state.conns) {
    if (!c.stream) {
      // A stream whose head still waits behind earlier answers (always the
      // connection's last slot): the event joins it, so nothing is missed.
      if (!c.replies.empty() && c.replies.back().stream
          && c.replies.back().bytes)
        *c.replies.back().bytes += bytes;
      continue;
    }
    if (c.backlog + bytes.size() > self->state.cfg.max_stream_backlog) {
      slow.push_back(hdl);
      continue;
    }
    c.backlog += bytes.size();
    self->write(hdl, bytes.size(), bytes.data());
    self->flush(hdl);
  }
  for (auto hdl : slow) {
    drop(self, hdl);
  }
}

} // namespace

caf::behavior http_facade(http_facade_actor* self, facade_config cfg) {
  self->state.cfg = std::move(cfg);
  auto& s = self->state;
  if (s.cfg.listen) {
    auto res = add_eager_tcp_doorman(self, s.cfg.port, s.cfg.host, true);
    if (!res) {
      if (s.cfg.on_listening)
        s.cfg.on_listening(0, self->system().render(res.error()));
      self->quit();
      return {};
    }
    if (s.cfg.on_listening)
      s.cfg.on_listening(res->second, "");
  }
  self->send(s.cfg.coordinator, atom::subscribe_v,
             caf::actor_cast<status_listener_actor>(self));
  // The sources and their latest statuses, for new event streams.
  self->request(s.cfg.coordinator, s.cfg.request_timeout, caf::get_atom_v,
                atom::sources_v)
    .then([=](const std::vector<source_info>& xs) { learn_sources(self, xs); },
          [=](caf::error&) {
            // A coordinator that cannot list its sources: its current status
            // at least (the first status change fills it otherwise).
            auto& s = self->state;
            self->request(s.cfg.coordinator, s.cfg.request_timeout,
                          atom::status_v, std::string{})
              .then(
                [=](const sync_status& st) {
                  self->state.latest.emplace(st.source, to_json(st));
                },
                [](caf::error&) {
                  // nop
                });
          });
  self->delayed_send(self, std::chrono::seconds{1}, atom::sweep_v);
  self->delayed_send(self, s.cfg.keepalive_interval, atom::keepalive_v);
  return {
    [=](const caf::io::new_connection_msg& msg) {
      auto& s = self->state;
      if (s.conns.size() >= s.cfg.max_connections) {
        // Over the cap: answer 503 and close, before reading a byte.
        auto bytes = serialize(
          error_response(503, "unavailable",
                         "too many connections; try again in a moment"),
          false);
        self->write(msg.handle, bytes.size(), bytes.data());
        self->flush(msg.handle);
        self->close(msg.handle);
        s.metrics.count_request("over_capacity", 503);
        return;
      }
      auto& c = s.conns[msg.handle];
      c.last_active = self->clock().now();
      self->configure_read(msg.handle, caf::io::receive_policy::at_most(8192));
    },
    [=](caf::io::new_data_msg& msg) { on_data(self, msg); },
    [=](atom::eof, connection_handle hdl) {
      // From the eager scribe: the client half-closed.
      auto i = self->state.conns.find(hdl);
      if (i == self->state.conns.end() || i->second.peer_done)
        return;
      if (i->second.stream) {
        // An event stream's reader that stops sending has gone.
        drop(self, hdl);
        return;
      }
      i->second.peer_done = true;
      pump(self, hdl);
    },
    [=](const caf::io::data_transferred_msg& msg) {
      auto i = self->state.conns.find(msg.handle);
      if (i == self->state.conns.end())
        return;
      i->second.backlog = msg.remaining;
      i->second.last_active = self->clock().now(); // The client reads.
      if (!i->second.stream)
        pump(self, msg.handle);
    },
    [=](const caf::io::connection_closed_msg& msg) {
      self->state.conns.erase(msg.handle);
    },
    [=](const caf::io::acceptor_closed_msg&) {
      // nop: the process is shutting down.
    },
    [=](const sync_status& st) {
      auto& s = self->state;
      s.metrics.observe(st);
      auto json = to_json(st);
      s.latest[st.source] = json;
      auto& k = s.known[st.id];
      k.json = json;
      k.response = serialize(json_response(200, k.json), true);
      if (finished(st.state)) {
        k.finished_at = self->clock().now();
        if (auto i = s.running.find(st.source);
            i != s.running.end() && i->second == st.id)
          s.running.erase(i);
      } else {
        // Running, or waiting in the queue (idle, "queued").
        s.running[st.source] = st.id;
      }
      auto id = s.next_event_id++;
      s.events.emplace_back(id, json);
      if (s.events.size() > http_facade_state::replay_events)
        s.events.pop_front();
      broadcast(self, sse_event(id, json));
    },
    [=](atom::keepalive) {
      self->delayed_send(self, self->state.cfg.keepalive_interval,
                         atom::keepalive_v);
      broadcast(self, ": keep-alive\n\n");
    },
    [=](atom::sweep) {
      // Re-arm first (the timer loop of the model codebases), then work.
      self->delayed_send(self, std::chrono::seconds{1}, atom::sweep_v);
      auto now = self->clock().now();
      auto& known = self->state.known;
      for (auto i = known.begin(); i != known.end();)
        if (i->second.finished_at
            && now - *i->second.finished_at >= http_facade_state::known_ttl)
          i = known.erase(i);
        else
          ++i;
      std::vector<connection_handle> idle;
      auto& cfg = self->state.cfg;
      for (auto& [hdl, c] : self->state.conns)
        if (expired(c, now, cfg))
          idle.push_back(hdl);
      for (auto hdl : idle) {
        drop(self, hdl);
      }
    },
  };
}

} // namespace sheetsync
