#include "actors/http_routes.hpp"

#include <algorithm>
#include <cstdlib>
#include <strings.h>

#include <rapidjson/document.h>

#include "net/openapi_document.hpp"
#include "net/source_json.hpp"
#include "net/web_assets.hpp"
#include "net/webhook_json.hpp"

namespace sheetsync {

// -- what the routes share ----------------------------------------------------

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

namespace {

http_response status_200(const sync_status& st) {
  return json_response(200, to_json(st));
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

/// The `limit` query parameter, 1 to `max` (`fallback` when absent); answers
/// 400 naming the range and returns false otherwise.
bool read_limit(self_ptr self, const reply_slot& slot, const char* route,
                const http_request& req, uint64_t fallback, uint64_t max,
                uint64_t& out) {
  if (parse_count(req.query_param("limit"), fallback, max, out) && out > 0)
    return true;
  respond(self, slot, route,
          error_response(400, "invalid_argument",
                         "limit must be a whole number from 1 to "
                           + std::to_string(max)));
  return false;
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
  if (!read_limit(self, slot, "history", req, 20, 1000, limit))
    return;
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
  if (!read_limit(self, slot, "webhook_deliveries", req, 50, 500, limit))
    return;
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

} // namespace

const route* find_route(std::string_view path, std::string_view method,
                        const route*& same_path) {
  same_path = nullptr;
  for (auto& r : routes) {
    if (!matches(r.path, path))
      continue;
    if (takes(r.methods, method))
      return &r;
    if (same_path == nullptr)
      same_path = &r;
  }
  return nullptr;
}

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

} // namespace sheetsync
