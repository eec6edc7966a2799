#include "actors/remote_coordinator.hpp"

#include <algorithm>
#include <cstdio>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>

#include "messages/vocabulary.hpp"

namespace sheetsync {

caf::timespan reconnect_delay(unsigned failures) {
  caf::timespan delay = std::chrono::milliseconds{250};
  for (unsigned i = 1; i < failures && delay < max_reconnect_delay; ++i)
    delay *= 2;
  return std::min(delay, max_reconnect_delay);
}

namespace {

using self_ptr
  = remote_coordinator_actor::stateful_pointer<remote_coordinator_state>;

std::string where(self_ptr self) {
  return self->state.host + ":" + std::to_string(self->state.port);
}

caf::error unavailable(self_ptr self) {
  return make_error(ec::unavailable,
                    "the coordinator at " + where(self) + " is unreachable ("
                      + self->state.last_error
                      + "); reconnecting in the background");
}

void schedule_connect(self_ptr self) {
  auto delay = reconnect_delay(self->state.failures);
  self->delayed_send(self, delay, atom::tick::value);
}

/// What a failed connect means for people.
std::string connect_failure(self_ptr self, const caf::error& err) {
  if (err == caf::sec::request_timeout)
    return "cannot connect to " + where(self) + ": no answer within "
           + std::to_string(connect_timeout / std::chrono::seconds{1})
           + " s (is it the coordinator's serve --node-port?)";
  if (err == caf::sec::incompatible_application_ids)
    return "the node at " + where(self)
           + " runs another sheetsync message vocabulary (ours: "
           + vocabulary_id()
           + "); run the same sheetsync build on both nodes";
  return "cannot connect to " + where(self) + ": "
         + self->system().render(err);
}

/// Tells the local listeners every source's latest sync as the coordinator
/// knows it now: what ended or began while we were not connected (pushes
/// during the gap are lost) would otherwise stay stale until its next change.
void publish_snapshot(self_ptr self) {
  auto& s = self->state;
  if (s.subscribers.empty())
    return;
  self->request(s.remote, connect_timeout, caf::get_atom::value,
                atom::sources::value)
    .then(
      [=](const std::vector<source_info>& xs) {
        for (auto& x : xs)
          if (!x.last.id.empty())
            for (auto& listener : self->state.subscribers)
              self->send(listener, x.last);
      },
      [](caf::error&) {
        // nop: the connection broke again; the next connect tries again.
      });
}

void connect(self_ptr self) {
  auto& s = self->state;
  if (s.remote || s.connecting)
    return;
  s.connecting = true;
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, connect_timeout, caf::connect_atom::value, s.host, s.port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr,
          const std::set<std::string>& ifs) {
        auto& s = self->state;
        s.connecting = false;
        auto expected = self->system().message_types<coordinator_api>();
        if (!ptr || ifs != expected) {
          ++s.failures;
          s.last_error = ptr ? "the actor published at " + where(self)
                                 + " is not a sheetsync coordinator of this "
                                   "version"
                             : "nothing is published at " + where(self);
          std::fprintf(stderr, "sheetsync: %s\n", s.last_error.c_str());
          schedule_connect(self);
          return;
        }
        s.remote = caf::actor_cast<coordinator_api>(std::move(ptr));
        self->monitor(s.remote);
        if (s.failures > 0 || s.last_error != "not connected yet")
          std::fprintf(stderr, "sheetsync: connected to the coordinator at %s\n",
                       where(self).c_str());
        s.failures = 0;
        for (auto& listener : s.subscribers)
          self->send(s.remote, atom::subscribe::value, listener);
        publish_snapshot(self);
      },
      [=](caf::error& err) {
        auto& s = self->state;
        s.connecting = false;
        auto text = connect_failure(self, err);
        // Say it once per change, not once per attempt.
        if (text != s.last_error)
          std::fprintf(stderr, "sheetsync: %s\n", text.c_str());
        s.last_error = std::move(text);
        ++s.failures;
        schedule_connect(self);
      });
}

} // namespace

remote_coordinator_actor::behavior_type
remote_coordinator(
  remote_coordinator_actor::stateful_pointer<remote_coordinator_state> self,
  std::string host, uint16_t port) {
  self->state.host = std::move(host);
  self->state.port = port;
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& s = self->state;
    if (dm.source == s.remote.address()) {
      s.remote = nullptr;
      s.last_error = "the connection was lost ("
                     + self->system().render(dm.reason) + ")";
      std::fprintf(stderr, "sheetsync: the coordinator at %s went away\n",
                   where(self).c_str());
      s.failures = 1;
      schedule_connect(self);
      return;
    }
    s.subscribers.erase(std::remove_if(s.subscribers.begin(),
                                       s.subscribers.end(),
                                       [&](auto& x) {
                                         return x.address() == dm.source;
                                       }),
                        s.subscribers.end());
  });
  connect(self);
  return {
    [=](atom::start, const std::string& source) -> caf::result<std::string> {
      if (!self->state.remote)
        return unavailable(self);
      return self->delegate(self->state.remote, atom::start::value, source);
    },
    [=](atom::status, const std::string& id) -> caf::result<sync_status> {
      if (!self->state.remote)
        return unavailable(self);
      return self->delegate(self->state.remote, atom::status::value, id);
    },
    [=](atom::cancel, const std::string& id) -> caf::result<sync_status> {
      if (!self->state.remote)
        return unavailable(self);
      return self->delegate(self->state.remote, atom::cancel::value, id);
    },
    [=](atom::last, const std::string& source) -> caf::result<sync_status> {
      if (!self->state.remote)
        return unavailable(self);
      return self->delegate(self->state.remote, atom::last::value, source);
    },
    [=](atom::subscribe, status_listener_actor& listener) {
      auto& s = self->state;
      self->monitor(listener);
      s.subscribers.push_back(listener);
      if (s.remote)
        self->send(s.remote, atom::subscribe::value, std::move(listener));
    },
    [=](atom::subscribe, status_listener_actor& listener, const std::string& id) {
      // Only the whole stream is kept across reconnects (the facade's case).
      if (self->state.remote)
        self->send(self->state.remote, atom::subscribe::value,
                   std::move(listener), id);
    },
    [=](caf::get_atom, atom::sources) -> caf::result<std::vector<source_info>> {
      if (!self->state.remote)
        return unavailable(self);
      return self->delegate(self->state.remote, caf::get_atom::value,
                            atom::sources::value);
    },
    [=](caf::get_atom, atom::history, const std::string& source,
        uint64_t limit) -> caf::result<std::vector<sync_status>> {
      if (!self->state.remote)
        return unavailable(self);
      return self->delegate(self->state.remote, caf::get_atom::value,
                            atom::history::value, source, limit);
    },
    [=](caf::get_atom, atom::data, const std::string& source,
        const std::string& tab, uint64_t limit,
        uint64_t offset) -> caf::result<data_page> {
      if (!self->state.remote)
        return unavailable(self);
      return self->delegate(self->state.remote, caf::get_atom::value,
                            atom::data::value, source, tab, limit, offset);
    },
    [=](caf::get_atom, atom::ready) -> caf::result<caf::ok_atom> {
      // Not ready while the coordinator, and so its cache, is out of reach.
      if (!self->state.remote)
        return unavailable(self);
      return self->delegate(self->state.remote, caf::get_atom::value,
                            atom::ready::value);
    },
    [=](caf::get_atom, atom::sources,
        const std::string& name) -> caf::result<source_info> {
      if (!self->state.remote)
        return unavailable(self);
      return self->delegate(self->state.remote, caf::get_atom::value,
                            atom::sources::value, name);
    },
    [=](caf::put_atom, atom::sources,
        const source_spec& spec) -> caf::result<source_info> {
      if (!self->state.remote)
        return unavailable(self);
      return self->delegate(self->state.remote, caf::put_atom::value,
                            atom::sources::value, spec);
    },
    [=](atom::update, const source_spec& spec,
        const std::vector<std::string>& fields) -> caf::result<source_info> {
      if (!self->state.remote)
        return unavailable(self);
      return self->delegate(self->state.remote, atom::update::value, spec,
                            fields);
    },
    [=](caf::delete_atom, atom::sources,
        const std::string& name) -> caf::result<caf::ok_atom> {
      if (!self->state.remote)
        return unavailable(self);
      return self->delegate(self->state.remote, caf::delete_atom::value,
                            atom::sources::value, name);
    },
    [=](atom::check, const source_spec& spec) -> caf::result<source_check> {
      if (!self->state.remote)
        return unavailable(self);
      return self->delegate(self->state.remote, atom::check::value, spec);
    },
    [=](atom::tick) { connect(self); },
  };
}

} // namespace sheetsync
