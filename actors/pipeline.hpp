#pragma once

#include "actors/sync_job.hpp"

namespace sheetsync {

/// The production stages: the libcurl downloader and the SQLite writer run
/// detached (they block), the parser on the scheduler (short steps).
pipeline make_pipeline(caf::local_actor* self, const sync_job& job,
                       coordinator_actor coordinator);

} // namespace sheetsync
