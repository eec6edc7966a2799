#pragma once

// The HTTP facade's routes: their handlers and the table dispatch picks from
// (internal to the facade).

#include <string>
#include <string_view>
#include <vector>

#include "actors/http_answers.hpp"

namespace sheetsync {

/// A route: a path (ending in "/*": any one segment after it), the methods
/// it takes ("GET, HEAD": also its Allow header), the label its requests are
/// counted under, its handler. A path may have several routes, one per set of
/// methods.
struct route {
  std::string_view path;
  std::string_view methods;
  const char* name;
  void (*handler)(self_ptr, const reply_slot&, const http_request&);
};

/// The route of `path` that takes `method`, else null; `same_path` is then
/// the first route of `path` (it names the 405), or null for an unknown path.
const route* find_route(std::string_view path, std::string_view method,
                        const route*& same_path);

/// The methods `path` takes, as its Allow header lists them ("GET, HEAD,
/// POST"): its routes' in one order whatever the table's, "GET, HEAD" for a
/// page, "" for an unknown path.
std::string methods_of(std::string_view path);

/// Remembers the configured sources (the coordinator's answer to
/// `get sources`): their names, and their latest statuses for new streams.
void learn_sources(self_ptr self, const std::vector<source_info>& xs);

} // namespace sheetsync
