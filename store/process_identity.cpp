#include "store/process_identity.hpp"

#include <cerrno>
#include <fstream>
#include <limits>
#include <mutex>

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

namespace sheetsync {

namespace {

/// The start of process `pid`, "" if it has none (gone, or no /proc).
std::string process_start(pid_t pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  if (!std::getline(stat, line))
    return {};
  // Field 2 (comm) is in parentheses and may contain anything: count the
  // fields after its closing one. starttime is field 22.
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return {};
  size_t pos = close + 1;
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    while (pos < line.size() && line[pos] == ' ')
      ++pos;
    auto end = line.find(' ', pos);
    if (end == std::string::npos)
      end = line.size();
    field = line.substr(pos, end - pos);
    pos = end;
  }
  if (field.empty())
    return {};
  static const std::string boot_id = [] {
    std::ifstream in{"/proc/sys/kernel/random/boot_id"};
    std::string id;
    std::getline(in, id);
    return id;
  }();
  return field + "@" + boot_id;
}

} // namespace

int64_t own_pid() {
  return getpid();
}

std::string own_start() {
  static std::mutex mtx;
  static pid_t pid = 0;
  static std::string start;
  std::lock_guard<std::mutex> guard{mtx};
  if (pid != getpid()) {
    pid = getpid();
    start = process_start(pid);
  }
  return start;
}

bool process_alive(int64_t pid, const std::string& start) {
  if (pid <= 0 || pid > std::numeric_limits<pid_t>::max())
    return false;
  auto p = static_cast<pid_t>(pid);
  if (p == getpid())
    return start.empty() || start == own_start();
  if (kill(p, 0) == -1 && errno == ESRCH)
    return false;
  if (start.empty())
    return true;
  auto now = process_start(p);
  // A zombie or a process that just exited has no readable start: gone.
  return now == start;
}

} // namespace sheetsync
