// The eager scribe on CAF's real multiplexer and real loopback sockets: short
// answers leave at once, long ones fall back to the stream without bytes
// overtaking each other, write receipts still come when asked, and a peer
// that is gone is reported as closed.
//
// A tiny broker answers one-line commands: "small" (a 300-byte answer),
// "big" (4 MiB of numbered bytes), "ack" (1 MiB with write receipts on),
// "count" (the process's direct sends so far, read on the broker's thread
// after everything before it was flushed: the client cannot read it sooner),
// "mark" (no answer: tells the test that everything before it was flushed),
// "batched" (the process's connections accepted after the first of their
// readiness event), "hold" (tells the test, then holds the broker's thread,
// the multiplexer's, until the test opens the gate).
// When the client half-closes, it answers "bye" and closes.

#define CAF_SUITE eager_scribe
#include <caf/test/unit_test.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "messages/type_ids.hpp"
#include "net/eager_scribe.hpp"
#include "tests/loopback.hpp"

using namespace sheetsync;
using namespace sheetsync::test;
using namespace std::chrono_literals;

namespace {

using port_atom = caf::atom_constant<caf::atom("port")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using acked_atom = caf::atom_constant<caf::atom("acked")>;
using marked_atom = caf::atom_constant<caf::atom("marked")>;
using holding_atom = caf::atom_constant<caf::atom("holding")>;

/// What "hold" waits for.
std::promise<void> gate;

constexpr size_t big_size = 4 * 1024 * 1024;
constexpr size_t ack_size = 1024 * 1024;

std::string small_answer() {
  return std::string(299, 's') + "\n";
}

/// Bytes whose position can be told from their value, so a reordering or a
/// lost piece shows.
std::string numbered(size_t n, char salt) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<char>((i * 7 + i / 251 + salt) & 0x7f);
  return out;
}

struct server_state {
  std::string pending;
  size_t acked = 0;
};

caf::behavior server(caf::stateful_actor<server_state, caf::io::broker>* self,
                     caf::actor observer) {
  auto res = add_eager_tcp_doorman(self, 0, "127.0.0.1", true);
  if (!res) {
    self->send(observer, port_atom::value, uint16_t{0});
    return {};
  }
  self->send(observer, port_atom::value, res->second);
  return {
    [=](const caf::io::new_connection_msg& msg) {
      self->configure_read(msg.handle, caf::io::receive_policy::at_most(1024));
    },
    [=](const caf::io::new_data_msg& msg) {
      auto& pending = self->state.pending;
      pending.append(msg.buf.begin(), msg.buf.end());
      for (auto nl = pending.find('\n'); nl != std::string::npos;
           nl = pending.find('\n')) {
        auto cmd = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        std::string answer;
        if (cmd == "small") {
          answer = small_answer();
        } else if (cmd == "big") {
          answer = numbered(big_size, 'b');
        } else if (cmd == "ack") {
          self->ack_writes(msg.handle, true);
          answer = numbered(ack_size, 'a');
        } else if (cmd == "count") {
          answer = std::to_string(eager_scribe::direct_sends()) + "\n";
        } else if (cmd == "mark") {
          self->send(observer, marked_atom::value);
          continue;
        } else if (cmd == "batched") {
          answer = std::to_string(eager_doorman::batched_accepts()) + "\n";
        } else if (cmd == "hold") {
          self->send(observer, holding_atom::value);
          gate.get_future().wait();
          continue;
        }
        self->write(msg.handle, answer.size(), answer.data());
        self->flush(msg.handle);
      }
    },
    [=](const caf::io::data_transferred_msg& msg) {
      self->state.acked += msg.written;
      if (msg.remaining == 0)
        self->send(observer, acked_atom::value, self->state.acked);
    },
    [=](const caf::io::connection_closed_msg&) {
      self->send(observer, closed_atom::value);
    },
    [=](atom::eof, caf::io::connection_handle hdl) {
      std::string bye = "bye\n";
      self->write(hdl, bye.size(), bye.data());
      self->flush(hdl);
      self->close(hdl);
    },
  };
}

/// The broker's direct sends so far. The answer to "count" is one more.
uint64_t direct_sends(int fd) {
  send_all(fd, "count\n");
  return std::stoull(read_line(fd));
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  caf::actor broker;
  uint16_t port = 0;

  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    cfg.load<caf::io::middleman>();
    cfg.set("scheduler.max-threads", 2);
    return cfg;
  }

  fixture() : sys(init(cfg)), self(sys) {
    broker = sys.middleman().spawn_broker(server, caf::actor{self});
    self->receive([&](port_atom, uint16_t p) { port = p; },
                  caf::after(10s) >> [] { CAF_FAIL("no port"); });
    CAF_REQUIRE_NOT_EQUAL(port, 0u);
  }

  ~fixture() {
    caf::anon_send_exit(broker, caf::exit_reason::user_shutdown);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(eager_scribe_tests, fixture)

CAF_TEST(short answers leave without the stream) {
  auto fd = connect_to(port);
  auto before = direct_sends(fd);
  for (int i = 0; i < 50; ++i) {
    send_all(fd, "small\n");
    CAF_REQUIRE_EQUAL(read_exactly(fd, 300), small_answer());
  }
  // Each answer (and the first count) went out whole from inside flush().
  CAF_CHECK_EQUAL(direct_sends(fd) - before, 51u);
  ::close(fd);
}

CAF_TEST(a long answer falls back to the stream and keeps the order) {
  auto fd = connect_to(port);
  // The client reads nothing yet: the big answer cannot fit the socket's
  // buffers, the rest of it waits in the stream, and the small answers after
  // it must wait behind it.
  auto before = direct_sends(fd);
  send_all(fd, "big\nsmall\nsmall\nmark\n");
  self->receive([](marked_atom) {},
                caf::after(10s) >> [] { CAF_FAIL("the broker did not answer"); });
  auto expected = numbered(big_size, 'b') + small_answer() + small_answer();
  auto got = read_exactly(fd, expected.size());
  CAF_REQUIRE_EQUAL(got.size(), expected.size());
  CAF_CHECK(got == expected);
  // Only the first count went out directly. The second count may still find
  // the stream finishing, so it is not counted on.
  CAF_CHECK_EQUAL(direct_sends(fd) - before, 1u);
  // Once the stream has drained, answers take the short way again. It has:
  // the client read the last byte it held, and the stream reports itself
  // empty in the same multiplexer turn that wrote that byte, before the
  // multiplexer reads the next command.
  auto drained = direct_sends(fd);
  send_all(fd, "small\n");
  CAF_CHECK_EQUAL(read_exactly(fd, 300), small_answer());
  CAF_CHECK_EQUAL(direct_sends(fd) - drained, 2u);
  ::close(fd);
}

CAF_TEST(write receipts still arrive when the broker asks for them) {
  auto fd = connect_to(port);
  send_all(fd, "ack\n");
  auto got = read_exactly(fd, ack_size);
  CAF_CHECK(got == numbered(ack_size, 'a'));
  size_t acked = 0;
  self->receive([&](acked_atom, size_t n) { acked = n; },
                caf::after(10s) >> [] { CAF_FAIL("no write receipt"); });
  CAF_CHECK_EQUAL(acked, ack_size);
  ::close(fd);
}

CAF_TEST(a peer that is gone is reported as closed) {
  auto fd = connect_to(port);
  // Reset instead of FIN: the next sends fail at once.
  linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  send_all(fd, "big\n");
  ::close(fd);
  bool closed = false;
  self->receive([&](closed_atom) { closed = true; },
                caf::after(10s) >> [] { CAF_FAIL("the broker missed the reset"); });
  CAF_CHECK(closed);
  // The broker keeps serving others.
  auto fd2 = connect_to(port);
  send_all(fd2, "small\n");
  CAF_CHECK_EQUAL(read_exactly(fd2, 300), small_answer());
  ::close(fd2);
}

CAF_TEST(a client that half closes still gets its answers) {
  auto fd = connect_to(port);
  send_all(fd, "small\nbig\n");
  ::shutdown(fd, SHUT_WR);
  auto expected = small_answer() + numbered(big_size, 'b') + "bye\n";
  auto got = read_exactly(fd, expected.size() + 1); // + 1: the end, not more
  CAF_CHECK_EQUAL(got.size(), expected.size());
  CAF_CHECK(got == expected);
  ::close(fd);
}

// CAF's acceptor takes one connection per readiness event; clients that
// connect while the multiplexer is busy wait a loop turn each.
CAF_TEST(connections that wait are all taken at one readiness event) {
  auto fd = connect_to(port);
  send_all(fd, "batched\n");
  auto before = std::stoull(read_line(fd));
  gate = std::promise<void>{};
  send_all(fd, "hold\n");
  self->receive([](holding_atom) {},
                caf::after(10s) >> [] { CAF_FAIL("the broker did not hold"); });
  // The kernel completes these handshakes and queues them: connect() returns
  // before the broker accepts.
  std::vector<int> waiting;
  for (int i = 0; i < 20; ++i)
    waiting.push_back(connect_to(port));
  gate.set_value();
  for (auto w : waiting) {
    send_all(w, "small\n");
    CAF_REQUIRE_EQUAL(read_exactly(w, 300), small_answer());
  }
  send_all(fd, "batched\n");
  CAF_CHECK_EQUAL(std::stoull(read_line(fd)) - before, 19u);
  for (auto w : waiting)
    ::close(w);
  ::close(fd);
}

CAF_TEST_FIXTURE_SCOPE_END()
