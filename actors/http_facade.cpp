#include "actors/http_facade.hpp"

#include <memory>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/http_answers.hpp"
#include "actors/http_filters.hpp"
#include "actors/http_routes.hpp"
#include "net/eager_scribe.hpp"
#include "net/web_assets.hpp"

namespace sheetsync {

namespace {

// -- dispatch -----------------------------------------------------------------

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
  if (auto r = find_route(req.path, req.method, same_path)) {
    r->handler(self, slot, req);
    return;
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
