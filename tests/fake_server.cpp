#include "tests/fake_server.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SHEETSYNC_SOURCE_DIR
#  error "SHEETSYNC_SOURCE_DIR (the repository root, a string) must be defined"
#endif

extern char** environ;

namespace sheetsync::test {

namespace {

// A Python fake starts in well under a second; 30 s only on a machine loaded
// by parallel builds (10 s ran out once at load 12).
constexpr auto start_timeout = std::chrono::seconds{30};

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error("fake_server: " + what + ": " + std::strerror(errno));
}

} // namespace

fake_server::fake_server(std::vector<std::string> args, std::string script) {
  int in[2];
  int out[2];
  // O_CLOEXEC: servers started by other threads (or other fixtures) must not inherit our ends,
  // or closing stdin would not reach EOF.
  if (pipe2(in, O_CLOEXEC) != 0)
    throw_errno("pipe2");
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    throw_errno("pipe2");
  }
  std::vector<std::string> argv_strings{"python3", std::move(script), "--exit-on-stdin-eof"};
  for (auto& arg : args)
    argv_strings.push_back(std::move(arg));
  std::vector<char*> argv;
  for (auto& arg : argv_strings)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  // posix_spawn rather than fork: the test process may run threads (CAF), and only
  // async-signal-safe calls are allowed between fork and exec.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  auto rc = posix_spawnp(&pid_, "python3", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]);
  close(out[1]);
  stdin_fd_ = in[1];
  stdout_fd_ = out[0];
  if (rc != 0) {
    pid_ = -1;
    stop();
    errno = rc;
    throw_errno("cannot start python3");
  }
  // Reads the first line, "PORT <n>".
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + start_timeout;
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    pollfd pfd{stdout_fd_, POLLIN, 0};
    if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
      stop();
      throw std::runtime_error("fake_server: no PORT line from " + argv_strings[1]
                               + " within 30 s");
    }
    char buf[256];
    auto n = read(stdout_fd_, buf, sizeof(buf));
    if (n <= 0) {
      stop();
      throw std::runtime_error("fake_server: " + argv_strings[1]
                               + " exited before printing its port (see stderr)");
    }
    line.append(buf, static_cast<size_t>(n));
  }
  unsigned port = 0;
  if (std::sscanf(line.c_str(), "PORT %u", &port) != 1 || port == 0 || port > 65535) {
    stop();
    throw std::runtime_error("fake_server: unexpected first line: " + line);
  }
  port_ = static_cast<uint16_t>(port);
}

fake_server::~fake_server() {
  stop();
}

std::string fake_server::default_script() {
  return SHEETSYNC_SOURCE_DIR "/tests/fake_server.py";
}

std::string fake_server::url(const std::string& path) const {
  return url("127.0.0.1", path);
}

std::string fake_server::url(const std::string& host, const std::string& path) const {
  return "http://" + host + ":" + std::to_string(port_) + path;
}

void fake_server::stop() {
  if (stdin_fd_ >= 0) {
    close(stdin_fd_);
    stdin_fd_ = -1;
  }
  if (pid_ > 0) {
    // SIGTERM ends python at once (no handler installed); SIGKILL if it does not within 2 s.
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{2};
    int status = 0;
    for (;;) {
      auto r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || (r < 0 && errno != EINTR))
        break;
      if (std::chrono::steady_clock::now() >= deadline) {
        kill(pid_, SIGKILL);
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    pid_ = -1;
  }
  if (stdout_fd_ >= 0) {
    close(stdout_fd_);
    stdout_fd_ = -1;
  }
}

} // namespace sheetsync::test
