#include "actors/http_facade.hpp"

#include <algorithm>
#include <memory>
#include <string_view>
#include <strings.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <openssl/crypto.h>
#include <rapidjson/document.h>

#include "net/eager_scribe.hpp"
#include "net/http_response.hpp"
#include "net/openapi_document.hpp"
#include "net/source_json.hpp"
#include "net/status_json.hpp"
#include "net/web_assets.hpp"
#include "net/webhook_json.hpp"

namespace sheetsync {

namespace {

using self_ptr = http_facade_actor*;

// -- responses ----------------------------------------------------------------

/// Every error answer: `{"success": false, "error": code, "message"}` plus
/// `fields`; a `retryAfter` goes out as the Retry-After header too.
http_response error_response(int status, const std::string& code,
                             const std::string& message,
                             const error_fields& fields = {}) {
  auto r = json_response(status, error_json(code, message, fields));
  if (fields.retry_after > 0)
    r.headers.emplace_back("Retry-After", std::to_string(fields.retry_after));
  return r;
}

/// The fields of an error answer that says when to ask again.
error_fields retry_in(uint32_t seconds) {
  error_fields fields;
  fields.retry_after = seconds;
  return fields;
}

/// Compares in time independent of where the first difference is, so the
/// token cannot be guessed byte by byte from response times.
bool constant_time_equal(const std::string& x, const std::string& y) {
  return x.size() == y.size() && CRYPTO_memcmp(x.data(), y.data(), x.size()) == 0;
}

/// Adds the RateLimit fields of the request's client (if it was counted)
/// to the head of a serialized answer, after the status line.
void add_rate_fields(self_ptr self, const reply_slot& slot, std::string& bytes) {
  auto& limiter = self->state.limiter;
  auto eol = bytes.find("\r\n");
  if (slot.rate_remaining < 0 || !limiter || eol == std::string::npos)
    return;
  rate_decision d;
  d.remaining = static_cast<uint32_t>(slot.rate_remaining);
  d.next_in = slot.rate_next_in;
  bytes.insert(eol + 2, limiter->header_lines(d));
}

/// Answers a request (if its client is still there).
void respond(self_ptr self, const reply_slot& slot, const char* route,
             const http_response& r) {
  self->state.metrics.count_request(route, r.status);
  std::string bytes;
  if (slot.headers.empty()) {
    bytes = serialize(r, slot.keep_alive, slot.head);
  } else {
    auto with = r;
    with.headers.insert(with.headers.end(), slot.headers.begin(),
                        slot.headers.end());
    bytes = serialize(with, slot.keep_alive, slot.head);
  }
  add_rate_fields(self, slot, bytes);
  self->state.conns->fill(slot, std::move(bytes), !slot.keep_alive);
}

/// Answers with a ready keep-alive answer (the hot path).
void respond_bytes(self_ptr self, const reply_slot& slot, const char* route,
                   int status, const std::string& bytes) {
  self->state.metrics.count_request(route, status);
  auto out = bytes;
  if (!slot.headers.empty()) {
    // The slot's fields go right after the status line.
    std::string fields;
    for (auto& [name, value] : slot.headers)
      fields += name + ": " + value + "\r\n";
    out.insert(out.find("\r\n") + 2, fields);
  }
  add_rate_fields(self, slot, out);
  self->state.conns->fill(slot, std::move(out), false);
}

// -- coordinator errors -------------------------------------------------------

http_response from_error(const caf::error& err) {
  switch (code_of(err)) {
    case ec::busy: {
      error_fields fields;
      fields.sync_id = busy_id(err);
      return error_response(409, "busy", error_text(err), fields);
    }
    case ec::cooldown:
      return error_response(429, "cooldown", error_text(err),
                            retry_in(cooldown_seconds(err)));
    case ec::unknown_sync:
      return error_response(404, "unknown_sync", error_text(err));
    case ec::unknown_source:
      return error_response(404, "unknown_source", error_text(err));
    case ec::source_exists:
      return error_response(409, "source_exists", error_text(err));
    case ec::fixed_source:
      return error_response(409, "fixed_source", error_text(err));
    case ec::not_running:
      return error_response(409, "not_running", error_text(err));
    case ec::invalid_argument:
      return error_response(400, "invalid_argument", error_text(err));
    case ec::unavailable:
      return error_response(503, "unavailable", error_text(err), retry_in(1));
    case ec::cache_busy:
      // Passes when the other process lets go of the cache.
      return error_response(503, "cache_busy", error_text(err),
                            retry_in(cache_busy_retry_seconds));
    case ec::unspecified:
      if (err == caf::sec::request_timeout || err == caf::sec::request_receiver_down)
        return error_response(503, "unavailable",
                              "the sync coordinator did not answer; try again "
                              "in a moment",
                              retry_in(1));
      [[fallthrough]];
    default:
      return error_response(500, to_string(code_of(err)), error_text(err));
  }
}

http_response status_200(const sync_status& st) {
  return json_response(200, to_json(st));
}

/// Asks the coordinator and answers with `render(answer)`, or with the error
/// the coordinator gave.
template <class Answer, class Render, class... Ts>
void ask_and_answer(self_ptr self, const reply_slot& slot, const char* route,
                    Render render, Ts... xs) {
  auto& s = self->state;
  self->request(s.cfg.coordinator, s.cfg.request_timeout, xs...)
    .then(
      [=](const Answer& x) { respond(self, slot, route, render(x)); },
      [=](caf::error& err) { respond(self, slot, route, from_error(err)); });
}

// -- what the routes share ----------------------------------------------------

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
    auto st = x.last;
    if (st.source.empty())
      st.source = x.name;
    if (st.id.empty())
      st.message = "No sync has run yet";
    s.events.learn(x.name, to_json(st));
  }
}

/// Calls `next` once `source` is known to name a configured source ("" is
/// the default one, always fine); otherwise answers 404 unknown_source with
/// the known names. Asks the coordinator for the names if it does not know
/// them yet; if it cannot tell, `next` runs and the coordinator judges.
template <class F>
void with_source(self_ptr self, const reply_slot& slot, const char* route,
                 const std::string& source, F next) {
  auto known = [=] {
    auto& names = self->state.sources;
    return source.empty() || names.empty()
           || std::find(names.begin(), names.end(), source) != names.end();
  };
  auto decide = [=] {
    if (known()) {
      next();
      return;
    }
    auto& names = self->state.sources;
    error_fields fields;
    fields.sources = names;
    fields.list_sources = true;
    respond(self, slot, route,
            error_response(404, "unknown_source",
                           unknown_source_message(source, names), fields));
  };
  if (known() && !self->state.sources.empty()) {
    next();
    return;
  }
  if (source.empty()) {
    next();
    return;
  }
  // Unknown here: sources come and go at run time (through another facade
  // too), so the coordinator's list decides.
  auto& s = self->state;
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
  // Iterative: a body nested 65,000 levels deep must not exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag>(req.body.data(), req.body.size());
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

// -- routes -------------------------------------------------------------------

/// POST /api/sync-sheets-bg: starts a sync.
void start_sync(self_ptr self, const reply_slot& slot, const http_request& req) {
  std::string source;
  std::string problem;
  if (!post_source(req, source, problem)) {
    respond(self, slot, "sync", error_response(400, "invalid_argument", problem));
    return;
  }
  with_source(self, slot, "sync", source, [=] {
    auto& s = self->state;
    self->request(s.cfg.coordinator, s.cfg.request_timeout, atom::start_v, source)
      .then(
        [=](const std::string& new_id) {
          auto name = source.empty() ? self->state.default_source() : source;
          auto r = json_response(
            202, start_json(new_id, "Background sync started", name));
          r.headers.emplace_back("Location",
                                 "/api/sync-sheets-bg?syncId=" + new_id);
          respond(self, slot, "sync", r);
        },
        [=](caf::error& err) { respond(self, slot, "sync", from_error(err)); });
  });
}

/// Answers from the statuses the coordinator pushed, without a round trip;
/// false if it has none for `id`.
bool answer_pushed(self_ptr self, const reply_slot& slot, const std::string& id) {
  auto& s = self->state;
  if (!s.cfg.answer_pushed)
    return false;
  auto known = s.statuses.read(id, self->clock().now());
  if (known == nullptr)
    return false;
  if (slot.keep_alive && !slot.head)
    respond_bytes(self, slot, "status", 200, known->response);
  else
    respond(self, slot, "status", json_response(200, known->json));
  return true;
}

/// The reads waiting for the status ask of `id`, taken out of the state.
std::vector<reply_slot> take_status_readers(self_ptr self, const std::string& id) {
  auto& asks = self->state.status_asks;
  auto i = asks.find(id);
  if (i == asks.end())
    return {};
  auto readers = std::move(i->second);
  asks.erase(i);
  return readers;
}

/// Asks the coordinator for a status the cache lacks (it may read the
/// history) and keeps a finished answer, so that reading the id again is not
/// an SQLite round trip. Reads of the same id while the ask is on its way
/// wait for its answer instead of asking again: a flood of reads of one
/// uncached id costs one ask.
void ask_status(self_ptr self, const reply_slot& slot, const std::string& id) {
  auto& s = self->state;
  auto& readers = s.status_asks[id];
  readers.push_back(slot);
  if (readers.size() > 1) {
    s.metrics.count_status_read(status_read::shared);
    return;
  }
  s.metrics.count_status_read(status_read::coordinator);
  self->request(s.cfg.coordinator, s.cfg.request_timeout, atom::status_v, id)
    .then(
      [=](const sync_status& st) {
        auto& s = self->state;
        auto json = to_json(st);
        // Only used (and so only filled) when reads may be answered from
        // memory; fill() takes finished statuses only.
        if (s.cfg.answer_pushed)
          s.statuses.fill(st, json, self->clock().now());
        auto r = json_response(200, json);
        for (auto& reader : take_status_readers(self, id))
          respond(self, reader, "status", r);
      },
      [=](caf::error& err) {
        // Not kept: a client making up ids must not fill memory, and a
        // coordinator that did not answer may answer the next read.
        auto r = from_error(err);
        for (auto& reader : take_status_readers(self, id))
          respond(self, reader, "status", r);
      });
}

/// GET /api/sync-sheets-bg: a sync's status (?syncId=), or the running,
/// else the latest sync of a source.
void get_status(self_ptr self, const reply_slot& slot, const http_request& req) {
  auto source = req.query_param("source").value_or("");
  auto id = req.query_param("syncId").value_or("");
  if (!id.empty()) {
    // The sync's id says everything: `source` is not needed.
    if (answer_pushed(self, slot, id)) {
      self->state.metrics.count_status_read(status_read::cache);
      return;
    }
    ask_status(self, slot, id);
    return;
  }
  // No id: the source's running sync, else its latest, else idle.
  with_source(self, slot, "status", source, [=] {
    auto& s = self->state;
    auto name = source.empty() ? s.default_source() : source;
    if (auto running = s.statuses.running(name);
        !name.empty() && running != nullptr && answer_pushed(self, slot, *running))
      return;
    self->request(s.cfg.coordinator, s.cfg.request_timeout, atom::last_v, source)
      .then(
        [=](sync_status& st) {
          if (st.source.empty())
            st.source = source.empty() ? self->state.default_source() : source;
          respond(self, slot, "status", json_response(200, to_json(st)));
        },
        [=](caf::error& err) { respond(self, slot, "status", from_error(err)); });
  });
}

/// DELETE /api/sync-sheets-bg: cancels a sync (?syncId=), or the running one
/// of a source (?source=).
void cancel_sync(self_ptr self, const reply_slot& slot, const http_request& req) {
  auto source = req.query_param("source").value_or("");
  auto id = req.query_param("syncId").value_or("");
  auto cancel = [=](const std::string& sync_id) {
    ask_and_answer<sync_status>(self, slot, "cancel", status_200,
                                atom::cancel_v, sync_id);
  };
  if (!id.empty()) {
    cancel(id);
    return;
  }
  if (source.empty()) {
    respond(self, slot, "cancel",
            error_response(400, "invalid_argument",
                           "say which sync to cancel: ?syncId=... or "
                           "?source=..."));
    return;
  }
  // The source's running (or queued) sync, as the coordinator sees it.
  with_source(self, slot, "cancel", source, [=] {
    auto& s = self->state;
    self->request(s.cfg.coordinator, s.cfg.request_timeout, atom::last_v, source)
      .then(
        [=](const sync_status& st) {
          if (st.id.empty() || finished(st.state)) {
            respond(self, slot, "cancel",
                    error_response(409, "not_running",
                                   "no sync of source '" + source
                                     + "' is running or queued"));
            return;
          }
          cancel(st.id);
        },
        [=](caf::error& err) { respond(self, slot, "cancel", from_error(err)); });
  });
}

/// GET /api/sources.
void get_sources(self_ptr self, const reply_slot& slot, const http_request&) {
  ask_and_answer<std::vector<source_info>>(
    self, slot, "sources",
    [=](const std::vector<source_info>& xs) {
      learn_sources(self, xs);
      return json_response(200, to_json(xs));
    },
    caf::get_atom_v, atom::sources_v);
}

/// Whether the source at `name` is the default one (the first).
bool is_default(self_ptr self, const std::string& name) {
  auto& names = self->state.sources;
  return names.empty() || names.front() == name;
}

/// A source the coordinator added: known at once to the other routes and to
/// new event streams.
void learn_source(self_ptr self, const std::string& name) {
  auto& s = self->state;
  if (std::find(s.sources.begin(), s.sources.end(), name) == s.sources.end())
    s.sources.push_back(name);
  s.metrics.add_source(name);
  sync_status idle;
  idle.source = name;
  idle.message = "No sync has run yet";
  s.events.learn(name, to_json(idle));
}

/// Reads a request's source body; answers 415, 413 or 400 (naming the field)
/// and returns false if it is not one.
bool read_source_body(self_ptr self, const reply_slot& slot, const char* route,
                      const http_request& req, source_body kind,
                      source_request& out, const std::string& name = "") {
  // JSON only: a cross-site form cannot send it without the browser asking
  // first (CORS), so a page elsewhere cannot add sources to a token-less
  // service on the user's machine.
  auto type = req.header("content-type");
  if (!type || strncasecmp(type->c_str(), "application/json", 16) != 0) {
    respond(self, slot, route,
            error_response(415, "unsupported_media_type",
                           "send the source as JSON (Content-Type: "
                           "application/json)"));
    return false;
  }
  if (req.body.size() > max_source_body) {
    respond(self, slot, route,
            error_response(413, "payload_too_large",
                           "a source body is at most "
                             + std::to_string(max_source_body / 1024)
                             + " KiB"));
    return false;
  }
  if (auto err = read_source_json(req.body, kind, out, name); !err.empty()) {
    respond(self, slot, route, error_response(400, "invalid_argument", err));
    return false;
  }
  return true;
}

/// The name in /api/sources/NAME; answers 404 and returns false when no
/// source can have it.
bool path_source(self_ptr self, const reply_slot& slot, const char* route,
                 const http_request& req, std::string& name) {
  name = req.path.substr(sizeof("/api/sources/") - 1);
  if (valid_source_name(name))
    return true;
  respond(self, slot, route,
          error_response(404, "unknown_source",
                         "no source can be named like that: "
                           + std::string{source_name_rule}));
  return false;
}

/// How many checks of a sheet may wait for their answer at once.
constexpr size_t max_checks_running = 4;

/// POST /api/sources/check: tries a sheet, saves nothing.
void check_source(self_ptr self, const reply_slot& slot, const http_request& req) {
  source_request x;
  if (!read_source_body(self, slot, "check_source", req, source_body::check, x))
    return;
  auto& s = self->state;
  if (s.checks_running >= max_checks_running) {
    respond(self, slot, "check_source",
            error_response(503, "unavailable",
                           "other checks of a sheet are running; try again in "
                           "a moment",
                           retry_in(1)));
    return;
  }
  ++s.checks_running;
  // The check fetches from Google within its own time bound: more than a
  // plain question to the coordinator.
  self->request(s.cfg.coordinator, s.cfg.request_timeout * 3, atom::check_v,
                std::move(x.spec))
    .then(
      [=](const source_check& res) {
        --self->state.checks_running;
        respond(self, slot, "check_source", json_response(200, to_json(res)));
      },
      [=](caf::error& err) {
        --self->state.checks_running;
        respond(self, slot, "check_source", from_error(err));
      });
}

/// POST /api/sources: adds a source at run time.
void add_source(self_ptr self, const reply_slot& slot, const http_request& req) {
  source_request x;
  if (!read_source_body(self, slot, "add_source", req, source_body::create, x))
    return;
  auto& s = self->state;
  self->request(s.cfg.coordinator, s.cfg.request_timeout, caf::put_atom_v,
                atom::sources_v, std::move(x.spec))
    .then(
      [=](const source_info& info) {
        learn_source(self, info.name);
        auto r = json_response(201, to_json(info, is_default(self, info.name)));
        r.headers.emplace_back("Location", "/api/sources/" + info.name);
        respond(self, slot, "add_source", r);
      },
      [=](caf::error& err) {
        respond(self, slot, "add_source", from_error(err));
      });
}

/// GET /api/sources/NAME.
void get_source(self_ptr self, const reply_slot& slot, const http_request& req) {
  std::string name;
  if (!path_source(self, slot, "source", req, name))
    return;
  ask_and_answer<source_info>(
    self, slot, "source",
    [=](const source_info& info) {
      return json_response(200, to_json(info, is_default(self, info.name)));
    },
    caf::get_atom_v, atom::sources_v, name);
}

/// PATCH /api/sources/NAME: changes the fields given.
void update_source(self_ptr self, const reply_slot& slot,
                   const http_request& req) {
  std::string name;
  if (!path_source(self, slot, "update_source", req, name))
    return;
  source_request x;
  if (!read_source_body(self, slot, "update_source", req, source_body::update,
                        x, name))
    return;
  if (x.given.empty()) {
    respond(self, slot, "update_source",
            error_response(400, "invalid_argument",
                           "the body changes nothing: give any of \"url\", "
                           "\"id\", \"gid\", \"access\", \"apiKey\", "
                           "\"credentials\", \"interval\", \"tabs\""));
    return;
  }
  ask_and_answer<source_info>(
    self, slot, "update_source",
    [=](const source_info& info) {
      return json_response(200, to_json(info, is_default(self, info.name)));
    },
    atom::update_v, std::move(x.spec), std::move(x.given));
}

/// DELETE /api/sources/NAME: removes a source added at run time.
void delete_source(self_ptr self, const reply_slot& slot,
                   const http_request& req) {
  std::string name;
  if (!path_source(self, slot, "delete_source", req, name))
    return;
  auto& s = self->state;
  self->request(s.cfg.coordinator, s.cfg.request_timeout, caf::delete_atom_v,
                atom::sources_v, name)
    .then(
      [=](caf::ok_atom) {
        auto& names = self->state.sources;
        names.erase(std::remove(names.begin(), names.end(), name), names.end());
        respond(self, slot, "delete_source",
                json_response(200, R"({"success":true,"message":"Source ')"
                                     + name + R"(' removed"})"));
      },
      [=](caf::error& err) {
        respond(self, slot, "delete_source", from_error(err));
      });
}

/// GET /api/sync-history.
void get_history(self_ptr self, const reply_slot& slot, const http_request& req) {
  uint64_t limit = 0;
  if (!parse_count(req.query_param("limit"), 20, 1000, limit) || limit == 0) {
    respond(self, slot, "history",
            error_response(400, "invalid_argument",
                           "limit must be a whole number from 1 to 1000"));
    return;
  }
  auto source = req.query_param("source").value_or("");
  with_source(self, slot, "history", source, [=] {
    ask_and_answer<std::vector<sync_status>>(
      self, slot, "history",
      [](const std::vector<sync_status>& syncs) {
        return json_response(200, history_json(syncs));
      },
      caf::get_atom_v, atom::history_v, source, limit);
  });
}

/// GET /api/sync-sheets-bg/events: an event stream of every status change.
void open_events(self_ptr self, const reply_slot& slot, const http_request& req) {
  auto& s = self->state;
  http_response head;
  head.headers.emplace_back("Content-Type", "text/event-stream");
  head.headers.emplace_back("Cache-Control", "no-store");
  head.headers.emplace_back("X-Accel-Buffering", "no");
  head.headers.insert(head.headers.end(), slot.headers.begin(),
                      slot.headers.end());
  auto bytes = serialize_stream_head(head);
  add_rate_fields(self, slot, bytes);
  auto last = req.header("last-event-id");
  bytes += s.events.opening(last ? *last : std::string{}, s.sources,
                            s.default_source());
  s.metrics.count_request("events", 200);
  s.conns->open_stream(slot, std::move(bytes));
}

/// GET /api/data: a page of a source's cached rows.
void get_data(self_ptr self, const reply_slot& slot, const http_request& req) {
  uint64_t limit = 0;
  uint64_t offset = 0;
  if (!parse_count(req.query_param("limit"), 50, 1000, limit) || limit == 0
      || !parse_count(req.query_param("offset"), 0, UINT64_MAX / 2, offset)) {
    respond(self, slot, "data",
            error_response(400, "invalid_argument",
                           "limit must be 1-1000 and offset a whole number "
                           ">= 0"));
    return;
  }
  auto source = req.query_param("source").value_or("");
  // A tab's title of a source synced tab by tab ("" = its first tab).
  auto tab = req.query_param("tab").value_or("");
  with_source(self, slot, "data", source, [=] {
    ask_and_answer<data_page>(
      self, slot, "data",
      [](const data_page& page) { return json_response(200, to_json(page)); },
      caf::get_atom_v, atom::data_v, source, tab, limit, offset);
  });
}

/// GET /healthz: liveness.
void get_health(self_ptr self, const reply_slot& slot, const http_request&) {
  respond(self, slot, "healthz", json_response(200, R"({"status":"ok"})"));
}

/// GET /readyz: readiness, i.e. whether the cache can be served (the
/// coordinator asks its cache reader; a remote one must be reachable).
void get_ready(self_ptr self, const reply_slot& slot, const http_request&) {
  auto& s = self->state;
  self->request(s.cfg.coordinator, s.cfg.request_timeout, caf::get_atom_v,
                atom::ready_v)
    .then(
      [=](caf::ok_atom) {
        respond(self, slot, "readyz",
                json_response(200, R"({"status":"ready"})"));
      },
      [=](caf::error& err) {
        auto reason = code_of(err) == ec::unspecified
                        ? "the sync coordinator did not answer ("
                            + error_text(err) + ")"
                        : error_text(err);
        error_fields fields;
        fields.not_ready = true;
        if (code_of(err) == ec::cache_busy)
          fields.retry_after = cache_busy_retry_seconds;
        respond(self, slot, "readyz",
                error_response(503, "not_ready", reason, fields));
      });
}

/// GET /metrics: the facade's own, then the webhook sender's lines (left
/// out when it does not answer in time).
void get_metrics(self_ptr self, const reply_slot& slot, const http_request&) {
  auto& s = self->state;
  auto answer = [=](const std::string& more) {
    auto& s = self->state;
    http_response r;
    r.headers.emplace_back("Content-Type", "text/plain; version=0.0.4");
    r.body = s.metrics.render(s.conns->size()) + more;
    respond(self, slot, "metrics", r);
  };
  if (!s.cfg.webhooks) {
    answer({});
    return;
  }
  self->request(s.cfg.webhooks, s.cfg.request_timeout, caf::get_atom_v,
                atom::metrics_v)
    .then([=](const std::string& lines) { answer(lines); },
          [=](caf::error&) { answer({}); });
}

/// GET /api/webhooks/deliveries: the latest webhook deliveries, newest first.
void get_webhook_deliveries(self_ptr self, const reply_slot& slot,
                            const http_request& req) {
  uint64_t limit = 0;
  if (!parse_count(req.query_param("limit"), 50, 500, limit) || limit == 0) {
    respond(self, slot, "webhook_deliveries",
            error_response(400, "invalid_argument",
                           "limit must be a whole number from 1 to 500"));
    return;
  }
  auto& s = self->state;
  if (!s.cfg.webhooks) {
    respond(self, slot, "webhook_deliveries",
            json_response(200, deliveries_json({})));
    return;
  }
  self->request(s.cfg.webhooks, s.cfg.request_timeout, caf::get_atom_v,
                atom::webhooks_v, limit)
    .then(
      [=](const std::vector<webhook_delivery>& xs) {
        respond(self, slot, "webhook_deliveries",
                json_response(200, deliveries_json(xs)));
      },
      [=](caf::error& err) {
        respond(self, slot, "webhook_deliveries", from_error(err));
      });
}

/// GET /openapi.json: docs/openapi.yaml as JSON, with its ETag (304 when the
/// client has it already).
void get_openapi(self_ptr self, const reply_slot& slot, const http_request& req) {
  auto& doc = openapi_document();
  http_response r;
  r.headers.emplace_back("ETag", std::string{doc.etag});
  r.headers.emplace_back("Cache-Control", "no-cache");
  auto seen = req.header("if-none-match");
  if (seen && seen->find(doc.etag) != std::string::npos) {
    r.status = 304;
  } else {
    r.headers.emplace_back("Content-Type", std::string{doc.content_type});
    r.body = std::string{doc.body};
  }
  respond(self, slot, "openapi", r);
}

/// A route: a path (ending in "/*": any one segment after it), the methods
/// it takes ("GET, HEAD": also its Allow header), the label its requests are
/// counted under, its handler. A path may have several routes, one per set of
/// methods.
struct route {
  std::string_view path;
  std::string_view methods;
  const char* name;
  void (*handler)(self_ptr, const reply_slot&, const http_request&);
};

/// Every route. The first route of a path names its 405s.
const route routes[] = {
  {"/api/sync-sheets-bg", "POST", "sync", start_sync},
  {"/api/sync-sheets-bg", "GET, HEAD", "status", get_status},
  {"/api/sync-sheets-bg", "DELETE", "cancel", cancel_sync},
  {"/api/sources", "GET, HEAD", "sources", get_sources},
  {"/api/sources", "POST", "add_source", add_source},
  {"/api/sources/check", "POST", "check_source", check_source},
  {"/api/sources/*", "GET, HEAD", "source", get_source},
  {"/api/sources/*", "PATCH", "update_source", update_source},
  {"/api/sources/*", "DELETE", "delete_source", delete_source},
  {"/api/sync-history", "GET, HEAD", "history", get_history},
  {"/api/sync-sheets-bg/events", "GET", "events", open_events},
  {"/api/data", "GET, HEAD", "data", get_data},
  {"/healthz", "GET, HEAD", "healthz", get_health},
  {"/readyz", "GET, HEAD", "readyz", get_ready},
  {"/metrics", "GET, HEAD", "metrics", get_metrics},
  {"/openapi.json", "GET, HEAD", "openapi", get_openapi},
  {"/api/webhooks/deliveries", "GET, HEAD", "webhook_deliveries",
   get_webhook_deliveries},
};

/// Whether a route's `pattern` matches `path`.
bool matches(std::string_view pattern, std::string_view path) {
  if (pattern.size() < 2 || pattern.substr(pattern.size() - 2) != "/*")
    return pattern == path;
  auto prefix = pattern.substr(0, pattern.size() - 1);
  return path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix
         && path.find('/', prefix.size()) == std::string_view::npos;
}

/// Whether `method` is one of `methods` ("GET, HEAD").
bool takes(std::string_view methods, std::string_view method) {
  for (size_t pos = 0; pos < methods.size();) {
    auto end = methods.find(", ", pos);
    if (end == std::string_view::npos)
      end = methods.size();
    if (methods.substr(pos, end - pos) == method)
      return true;
    pos = end + 2;
  }
  return false;
}

// -- filters ------------------------------------------------------------------

/// The token filter: with a token configured, /api/ needs
/// `Authorization: Bearer <token>`. Answers 401 and false without it.
bool authorized(self_ptr self, const reply_slot& slot, const http_request& req) {
  auto& token = self->state.cfg.api_token;
  if (token.empty() || req.path.compare(0, 5, "/api/") != 0)
    return true;
  // The scheme is case-insensitive (RFC 7235); the token is not.
  auto auth = req.header("authorization");
  auto has_scheme = auth && auth->size() > 7
                    && strncasecmp(auth->c_str(), "bearer ", 7) == 0;
  // One or more spaces after the scheme (RFC 9110).
  auto token_at = has_scheme ? auth->find_first_not_of(' ', 7)
                             : std::string::npos;
  if (token_at != std::string::npos
      && constant_time_equal(auth->substr(token_at), token))
    return true;
  auto r = error_response(401, "unauthorized",
                          "this service needs an API token: send "
                          "'Authorization: Bearer <token>'");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  respond(self, slot, "unauthorized", r);
  return false;
}

/// The rate limit (after the token filter): each /api/ request, an event
/// stream's opening included, counts against its client's bucket (the
/// checked token, else the peer address); the pages, /healthz, /readyz and
/// /metrics never do. Over it: 429 rate_limited and false. What is left goes
/// into `slot`, for the RateLimit fields of the answer.
bool within_rate_limit(self_ptr self, reply_slot& slot, const http_request& req) {
  auto& s = self->state;
  if (!s.limiter || req.path.compare(0, 5, "/api/") != 0)
    return true;
  auto& token = s.cfg.api_token;
  auto key = rate_client_key(token, token.empty() ? self->remote_addr(slot.hdl)
                                                  : std::string{});
  auto d = s.limiter->take(key, self->clock().now());
  slot.rate_remaining = d.remaining;
  slot.rate_next_in = d.next_in;
  if (d.allowed)
    return true;
  respond(self, slot, "rate_limited",
          error_response(429, "rate_limited", s.limiter->refusal(d),
                         retry_in(d.next_in)));
  return false;
}

// -- dispatch -----------------------------------------------------------------

/// The methods `path` takes, as its Allow header lists them ("GET, HEAD,
/// POST"): its routes' in one order whatever the table's, "GET, HEAD" for a
/// page, "" for an unknown path.
std::string methods_of(std::string_view path) {
  std::string allow;
  for (auto method : {"GET", "HEAD", "POST", "PATCH", "DELETE"})
    for (auto& r : routes)
      if (matches(r.path, path) && takes(r.methods, method)) {
        allow += allow.empty() ? "" : ", ";
        allow += method;
        break;
      }
  if (allow.empty() && find_web_asset(path) != nullptr)
    allow = "GET, HEAD";
  return allow;
}

/// OPTIONS: a CORS preflight from an allowed origin gets the preflight's
/// fields; any other (no Origin, another one) the same 204 with Allow alone.
/// Before the token filter: browsers send preflights without Authorization.
void answer_options(self_ptr self, const reply_slot& slot,
                    const http_request& req) {
  auto methods = methods_of(req.path);
  if (methods.empty()) {
    respond(self, slot, "not_found",
            error_response(404, "not_found", "no such resource: " + req.path));
    return;
  }
  http_response r;
  r.status = 204;
  auto origin = req.header("origin");
  r.headers = self->state.cors.preflight_headers(origin ? *origin : "", methods);
  r.headers.emplace_back("Allow", methods + ", OPTIONS");
  auto plain = slot;
  plain.headers.clear(); // in the preflight's fields already
  respond(self, plain, "preflight", r);
}

/// Runs the filters, then the route of the request's path and method (405
/// for another method of a known path), then the pages, else 404.
void dispatch(self_ptr self, reply_slot slot, const http_request& req) {
  // Every answer to an allowed Origin carries the CORS fields.
  auto origin = req.header("origin");
  slot.headers = self->state.cors.answer_headers(origin ? *origin : "");
  if (req.method == "OPTIONS") {
    answer_options(self, slot, req);
    return;
  }
  if (!authorized(self, slot, req) || !within_rate_limit(self, slot, req))
    return;
  const route* same_path = nullptr;
  for (auto& r : routes) {
    if (!matches(r.path, req.path))
      continue;
    if (takes(r.methods, req.method)) {
      r.handler(self, slot, req);
      return;
    }
    if (same_path == nullptr)
      same_path = &r;
  }
  std::string allow;
  const char* name = "page";
  if (same_path != nullptr) {
    name = same_path->name;
    allow = methods_of(req.path);
  } else if (auto asset = find_web_asset(req.path)) {
    if (req.method == "GET" || req.method == "HEAD") {
      http_response r;
      r.headers.emplace_back("Content-Type", std::string{asset->content_type});
      r.headers.emplace_back("Cache-Control", "no-cache");
      r.body = std::string{asset->body};
      respond(self, slot, "page", r);
      return;
    }
    allow = "GET, HEAD";
  } else {
    respond(self, slot, "not_found",
            error_response(404, "not_found", "no such resource: " + req.path));
    return;
  }
  auto r = error_response(405, "method_not_allowed",
                          "use " + allow + " on " + req.path);
  r.headers.emplace_back("Allow", allow);
  respond(self, slot, name, r);
}

/// Arms one of the broker's timers. Sent anonymously: a terminated broker's
/// mailbox still takes messages (CAF 0.17), and a timer that fired after the
/// broker ended, sent by the broker to itself, kept it alive through its own
/// mailbox for good (LeakSanitizer at the exit of serve).
template <class Atom>
void arm_timer(self_ptr self, caf::timespan delay, Atom what) {
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), delay, what);
}

/// A request the parser refused: answered, then the connection closes.
void answer_parse_error(self_ptr self, const reply_slot& slot, int status) {
  std::string text;
  switch (status) {
    case 431: text = "the request's header section exceeds 8 KiB"; break;
    case 413: text = "the request body exceeds 64 KiB"; break;
    case 505: text = "only HTTP/1.0 and HTTP/1.1 are supported"; break;
    case 501: text = "unsupported transfer encoding"; break;
    default: text = "malformed HTTP request"; status = 400;
  }
  respond(self, slot, "bad_request", error_response(status, "bad_request", text));
}

/// A status the coordinator pushed: kept for reads, sent to every stream.
void publish(self_ptr self, const sync_status& st) {
  auto& s = self->state;
  auto json = to_json(st);
  if (!s.statuses.update(st, json, self->clock().now()))
    return; // Older than what we know.
  s.metrics.observe(st);
  s.conns->broadcast(s.events.publish(st.source, json));
}

} // namespace

caf::behavior http_facade(http_facade_actor* self, facade_config cfg) {
  self->state.cfg = std::move(cfg);
  auto& s = self->state;
  if (s.cfg.rate_limit.enabled())
    s.limiter.emplace(s.cfg.rate_limit);
  s.cors = cors_policy{s.cfg.cors_origins};
  connection_limits limits;
  limits.max_connections = s.cfg.max_connections;
  limits.idle_timeout = s.cfg.idle_timeout;
  limits.request_deadline = s.cfg.request_deadline;
  limits.max_stream_backlog = s.cfg.max_stream_backlog;
  s.conns.emplace(
    self, limits,
    [self](const reply_slot& slot, http_request& req) {
      dispatch(self, slot, req);
    },
    [self](const reply_slot& slot, int status) {
      answer_parse_error(self, slot, status);
    });
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
                  self->state.events.learn(st.source, to_json(st));
                },
                [](caf::error&) {
                  // nop
                });
          });
  arm_timer(self, std::chrono::seconds{1}, atom::sweep_v);
  arm_timer(self, s.cfg.keepalive_interval, atom::keepalive_v);
  // Written to a connection over the cap.
  auto refusal = std::make_shared<const std::string>(
    serialize(error_response(503, "unavailable",
                             "too many connections; try again in a moment",
                             retry_in(1)),
              false));
  return {
    [=](const caf::io::new_connection_msg& msg) {
      if (!self->state.conns->accept(msg.handle, *refusal))
        self->state.metrics.count_request("over_capacity", 503);
    },
    [=](caf::io::new_data_msg& msg) {
      self->state.conns->on_data(msg.handle, msg.buf);
    },
    [=](atom::eof, caf::io::connection_handle hdl) {
      // From the eager scribe: the client half-closed.
      self->state.conns->on_eof(hdl);
    },
    [=](const caf::io::data_transferred_msg& msg) {
      self->state.conns->on_transferred(msg.handle, msg.remaining);
    },
    [=](const caf::io::connection_closed_msg& msg) {
      self->state.conns->on_closed(msg.handle);
    },
    [=](const caf::io::acceptor_closed_msg&) {
      // nop: the process is shutting down.
    },
    [=](const sync_status& st) { publish(self, st); },
    [=](atom::keepalive) {
      arm_timer(self, self->state.cfg.keepalive_interval, atom::keepalive_v);
      self->state.conns->broadcast(event_hub::keep_alive());
    },
    [=](atom::sweep) {
      // Re-arm first (the timer loop of the model codebases), then work.
      arm_timer(self, std::chrono::seconds{1}, atom::sweep_v);
      self->state.statuses.expire(self->clock().now());
      if (self->state.limiter)
        self->state.limiter->expire(self->clock().now());
      self->state.conns->sweep();
    },
  };
}

} // namespace sheetsync
