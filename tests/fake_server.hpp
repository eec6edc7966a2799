#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

namespace sheetsync::test {

/// Runs tests/fake_server.py (a fake HTTP/1.1 server on 127.0.0.1, see its docstring for the
/// routes) as a child process for as long as this object lives. CAF-free, for any test suite.
///
/// The constructor returns once the server listens; it throws std::runtime_error when the server
/// does not start within a few seconds. The destructor kills and reaps it; should the test process
/// die without running it, the server exits as soon as its stdin (a pipe from us) closes.
class fake_server {
public:
  /// Starts `python3 <script> --exit-on-stdin-eof <args...>`, e.g. args {"--csv", path}.
  explicit fake_server(std::vector<std::string> args = {}, std::string script = default_script());
  ~fake_server();

  fake_server(const fake_server&) = delete;
  fake_server& operator=(const fake_server&) = delete;

  /// SHEETSYNC_SOURCE_DIR "/tests/fake_server.py".
  static std::string default_script();

  uint16_t port() const {
    return port_;
  }

  /// "http://127.0.0.1:<port>" + path; path starts with '/', e.g. "/ok.csv".
  std::string url(const std::string& path) const;

  /// Like url() with another host name that reaches the server, e.g. "localhost".
  std::string url(const std::string& host, const std::string& path) const;

  pid_t pid() const {
    return pid_;
  }

private:
  void stop();

  pid_t pid_ = -1;
  int stdin_fd_ = -1;  // write end of the server's stdin
  int stdout_fd_ = -1; // read end of the server's stdout
  uint16_t port_ = 0;
};

} // namespace sheetsync::test
