#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

#include <caf/config_option_set.hpp>
#include <caf/timespan.hpp>

#include "actors/coordinator.hpp"

namespace sheetsync {

/// The flags every command that runs syncs takes.
struct pipeline_options {
  std::string source;
  std::string db;
  std::string name = "default";
  caf::timespan fetch_timeout = std::chrono::seconds{90};
  caf::timespan max_duration = std::chrono::minutes{5};
  caf::timespan cooldown = std::chrono::seconds{3};
  caf::timespan evict_after = std::chrono::minutes{5};
  uint64_t max_bytes = uint64_t{1} << 30;

  /// Declares the flags, bound to the members.
  void add_to(caf::config_option_set& opts);

  /// Checks the values; returns an actionable message or "".
  std::string validate() const;

  /// The coordinator's configuration for these flags.
  coordinator_config to_coordinator_config() const;
};

/// Flags that take no value (for normalize_args).
const std::set<std::string>& switch_flags();

} // namespace sheetsync
