#pragma once

#include <set>
#include <string>

#include "cli/pipeline_options.hpp"

namespace sheetsync {

/// Checks, before a command starts anything, that the cache file `opts.db`
/// can be opened or created, and renames an older version's `default` table
/// when the command uses the unnamed source (see rename_old_default_table).
/// A cache that another process holds locked passes: it may be free later,
/// and serve reports it on /readyz.
/// @param given The flags given on the command line.
/// @param note Set to a line worth telling when the check changed something
///        (the rename), else "".
/// @returns "" or one line saying what is wrong and what to do.
std::string check_cache(const pipeline_options& opts,
                        const std::set<std::string>& given, std::string& note);

} // namespace sheetsync
