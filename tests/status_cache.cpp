// The facade's status cache on a fake time: what the coordinator pushed, what
// reads filled from the history, its bound and its expiry.

#define CAF_SUITE status_cache
#include <caf/test/unit_test.hpp>

#include "net/status_cache.hpp"
#include "net/status_json.hpp"
#include "tests/make_status.hpp"

#include <chrono>
#include <string>

using namespace sheetsync;
using namespace std::chrono_literals;
using sheetsync::test::make_status;

namespace {

/// A fixed instant to count from.
const status_cache::time_point t0{std::chrono::hours{1000}};

/// Pushes `st` as the facade does.
bool push(status_cache& c, const sync_status& st, status_cache::time_point now = t0) {
  return c.update(st, to_json(st), now);
}

/// Fills `st` as a read that asked the coordinator does.
bool fill(status_cache& c, const sync_status& st, status_cache::time_point now = t0) {
  return c.fill(st, to_json(st), now);
}

sync_status done(int i) {
  return make_status("sync-" + std::to_string(i), sync_state::complete, 100);
}

/// The JSON kept for `id`, "" if none.
std::string json_of(status_cache& c, const std::string& id,
                    status_cache::time_point now = t0) {
  auto k = c.read(id, now);
  return k == nullptr ? "" : k->json;
}

} // namespace

CAF_TEST(a filled finished status is served with its ready answer) {
  status_cache c;
  auto st = done(1);
  CAF_CHECK(fill(c, st));
  auto k = c.read("sync-1", t0);
  CAF_REQUIRE(k != nullptr);
  CAF_CHECK_EQUAL(k->json, to_json(st));
  CAF_CHECK_EQUAL(k->response.compare(0, 17, "HTTP/1.1 200 OK\r\n"), 0);
  CAF_CHECK_EQUAL(k->response.substr(k->response.size() - k->json.size()),
                  k->json);
  // Error and cancelled are final too.
  CAF_CHECK(fill(c, make_status("sync-2", sync_state::error, 30)));
  CAF_CHECK(fill(c, make_status("sync-3", sync_state::cancelled, 30)));
  CAF_CHECK_EQUAL(c.size(), 3u);
}

CAF_TEST(the fill path never takes an unfinished status) {
  status_cache c;
  for (auto state : {sync_state::idle, sync_state::downloading,
                     sync_state::processing, sync_state::saving})
    CAF_CHECK(!fill(c, make_status("sync-1", state, 50)));
  CAF_CHECK(c.read("sync-1", t0) == nullptr);
  CAF_CHECK(c.running("default") == nullptr);
  CAF_CHECK_EQUAL(c.size(), 0u);
  // Nor a status without an id.
  CAF_CHECK(!fill(c, make_status("", sync_state::complete, 100)));
  CAF_CHECK_EQUAL(c.size(), 0u);
}

CAF_TEST(the fill path leaves what the coordinator pushed alone) {
  status_cache c;
  auto running = make_status("sync-1", sync_state::downloading, 40);
  CAF_CHECK(push(c, running));
  // A read's answer that raced the final push: the push will tell.
  CAF_CHECK(!fill(c, make_status("sync-1", sync_state::complete, 100)));
  CAF_CHECK_EQUAL(json_of(c, "sync-1"), to_json(running));
  CAF_REQUIRE(c.running("default") != nullptr);
  CAF_CHECK_EQUAL(*c.running("default"), "sync-1");
  auto pushed = done(2);
  CAF_CHECK(push(c, pushed));
  auto other = pushed;
  other.message = "told differently";
  CAF_CHECK(!fill(c, other));
  CAF_CHECK_EQUAL(json_of(c, "sync-2"), to_json(pushed));
}

CAF_TEST(a pushed final status is served and ends the running one) {
  status_cache c;
  auto running = make_status("sync-1", sync_state::downloading, 40);
  auto final = make_status("sync-1", sync_state::complete, 100);
  CAF_CHECK(push(c, running));
  CAF_CHECK_EQUAL(json_of(c, "sync-1"), to_json(running));
  CAF_CHECK(push(c, final, t0 + 1s));
  CAF_CHECK_EQUAL(json_of(c, "sync-1", t0 + 1s), to_json(final));
  CAF_CHECK(c.running("default") == nullptr);
  // A late snapshot does not turn it back.
  CAF_CHECK(!push(c, running, t0 + 2s));
  CAF_CHECK_EQUAL(json_of(c, "sync-1", t0 + 2s), to_json(final));
  CAF_CHECK_EQUAL(c.size(), 1u);
  CAF_CHECK_EQUAL(c.finished_size(), 1u);
}

CAF_TEST(the bound holds under many inserts of both kinds) {
  status_cache c;
  auto running = make_status("sync-running", sync_state::downloading, 40);
  CAF_CHECK(push(c, running));
  auto n = static_cast<int>(status_cache::max_finished) * 3;
  for (int i = 0; i < n; ++i) {
    auto now = t0 + std::chrono::milliseconds{i};
    CAF_CHECK(i % 2 == 0 ? fill(c, done(i), now) : push(c, done(i), now));
    CAF_CHECK_LESS_OR_EQUAL(c.finished_size(), status_cache::max_finished);
  }
  CAF_CHECK_EQUAL(c.finished_size(), status_cache::max_finished);
  CAF_CHECK_EQUAL(c.size(), status_cache::max_finished + 1);
  // The newest stay, the oldest went; the running sync is not counted.
  CAF_CHECK(c.read("sync-" + std::to_string(n - 1), t0 + 1min) != nullptr);
  CAF_CHECK(c.read("sync-0", t0 + 1min) == nullptr);
  CAF_CHECK_EQUAL(json_of(c, "sync-running", t0 + 1min), to_json(running));
  CAF_REQUIRE(c.running("default") != nullptr);
}

CAF_TEST(the least recently read goes first) {
  status_cache c;
  auto n = static_cast<int>(status_cache::max_finished);
  for (int i = 0; i < n; ++i)
    CAF_CHECK(fill(c, done(i)));
  // sync-0 is the oldest inserted, but read last: sync-1 goes instead.
  CAF_CHECK(c.read("sync-0", t0 + 1s) != nullptr);
  CAF_CHECK(fill(c, done(n), t0 + 2s));
  CAF_CHECK_EQUAL(c.finished_size(), status_cache::max_finished);
  CAF_CHECK(c.read("sync-1", t0 + 3s) == nullptr);
  CAF_CHECK(c.read("sync-0", t0 + 3s) != nullptr);
  CAF_CHECK(c.read("sync-2", t0 + 3s) != nullptr);
  // A final status told again counts as read too.
  CAF_CHECK(push(c, done(3), t0 + 4s));
  CAF_CHECK(fill(c, done(n + 1), t0 + 5s));
  CAF_CHECK(fill(c, done(n + 2), t0 + 5s));
  CAF_CHECK(c.read("sync-3", t0 + 6s) != nullptr);
  CAF_CHECK(c.read("sync-4", t0 + 6s) == nullptr);
  CAF_CHECK(c.read("sync-5", t0 + 6s) == nullptr);
  CAF_CHECK(c.read("sync-6", t0 + 6s) != nullptr);
}

CAF_TEST(finished ones expire after their last read and unfinished ones after their last update) {
  status_cache c;
  CAF_CHECK(fill(c, done(1)));
  CAF_CHECK(push(c, done(2)));
  auto running = make_status("sync-3", sync_state::downloading, 40);
  CAF_CHECK(push(c, running));
  CAF_CHECK(c.read("sync-1", t0 + 20s) != nullptr);
  c.expire(t0 + status_cache::finished_ttl - 1ms);
  CAF_CHECK_EQUAL(c.size(), 3u);
  c.expire(t0 + status_cache::finished_ttl);
  CAF_CHECK_EQUAL(c.size(), 2u);
  CAF_CHECK(c.read("sync-2", t0 + status_cache::finished_ttl) == nullptr);
  c.expire(t0 + 20s + status_cache::finished_ttl);
  CAF_CHECK_EQUAL(c.finished_size(), 0u);
  CAF_CHECK_EQUAL(c.size(), 1u);
  // Still running, told nothing new for a while: kept until unfinished_ttl.
  CAF_CHECK(push(c, running, t0 + 1min));
  c.expire(t0 + 1min + status_cache::unfinished_ttl - 1ms);
  CAF_CHECK(c.running("default") != nullptr);
  c.expire(t0 + 1min + status_cache::unfinished_ttl);
  CAF_CHECK_EQUAL(c.size(), 0u);
  CAF_CHECK(c.running("default") == nullptr);
  // What expired comes back on the next fill.
  CAF_CHECK(fill(c, done(1), t0 + 1h));
  CAF_CHECK_EQUAL(json_of(c, "sync-1", t0 + 1h), to_json(done(1)));
}
