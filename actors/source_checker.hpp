#pragma once

#include <caf/timespan.hpp>

#include "messages/actors.hpp"
#include "sources/fetch_plan.hpp"
#include "sources/sheet_preview.hpp"

namespace sheetsync {

struct source_checker_state {
  static inline const char* name = "source_checker";
};

/// Tries one planned source once, without saving anything, and quits after
/// answering: gets an access token first when the plan needs one, then
/// fetches the header and the first rows (and the tab list with API access;
/// see preview_source for the limits). Every problem, the token's included,
/// comes back as `ok = false` with a message in words, never as an error.
/// Blocks in libcurl: spawn it detached.
/// @param self The checker.
/// @param plan What to fetch (plan_fetch with the service's defaults).
/// @param token Gives the bearer token when plan.needs_token; else null.
/// @param client_email The service account's e-mail, for a 403; "" if none.
/// @param fetch_timeout Longest silence of the server (at most 20 s is
///        waited, whatever it says: a check answers a person waiting).
source_checker_actor::behavior_type
source_checker(source_checker_actor::stateful_pointer<source_checker_state> self,
               fetch_plan plan, token_provider_actor token, std::string client_email,
               caf::timespan fetch_timeout);

} // namespace sheetsync
