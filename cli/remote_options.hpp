#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace sheetsync {

/// What `sheetsync remote` was asked to do.
struct remote_options {
  /// HOST:PORT as given, and what it reads as.
  std::string node;
  std::string host;
  uint16_t port = 0;
  /// sync, status, watch or cancel.
  std::string action;
  /// The sync id of status and cancel ("" = status of the running or latest).
  std::string id;
  /// The source of sync ("" = the coordinator's default).
  std::string source;
  /// How long the connect and CAF's handshake may take.
  std::chrono::milliseconds connect_timeout{10'000};
};

/// The usage text of `sheetsync remote` (--help).
extern const char* remote_usage;

/// Parses the arguments of `sheetsync remote` (flags in both forms, anywhere
/// among the action and its id). Returns an exit code when the command should
/// stop here: 0 after printing --help to `out`, 2 after printing what is
/// wrong to `err`.
std::optional<int> parse_remote_args(const std::vector<std::string>& args,
                                     remote_options& opts, std::ostream& out,
                                     std::ostream& err);

} // namespace sheetsync
