#pragma once

#include <cstdint>
#include <string>

namespace sheetsync {

/// Who wrote a staging table or a sync_runs record: a pid plus the process's
/// start ("<start ticks>@<boot id>" from /proc, "" where unavailable), so
/// that a pid reused after a restart (containers often run the server as the
/// same pid every time) does not pass for the old owner.

/// This process's pid.
int64_t own_pid();

/// This process's start; computed again in a forked child.
std::string own_start();

/// Whether the process that wrote as (pid, start) still runs. An unknown
/// owner (pid 0, from before owners were recorded) counts as gone; an empty
/// start matches any process with that pid.
bool process_alive(int64_t pid, const std::string& start);

} // namespace sheetsync
