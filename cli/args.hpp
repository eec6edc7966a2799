#pragma once

#include <set>
#include <string>
#include <vector>

namespace sheetsync {

/// Rewrites `--name value` as `--name=value` (CAF's parser takes only the
/// latter). Flags in `switches` take no value and are left alone, as are
/// arguments after a lone `--`.
std::vector<std::string> normalize_args(const std::vector<std::string>& args,
                                        const std::set<std::string>& switches);

} // namespace sheetsync
