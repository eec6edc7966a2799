#include "actors/pipeline.hpp"

#include <caf/all.hpp>

#include "actors/cache_writer.hpp"
#include "actors/checkpointer.hpp"
#include "actors/downloader.hpp"
#include "actors/parser.hpp"

namespace sheetsync {

pipeline make_pipeline(caf::local_actor* self, const sync_job& job,
                       coordinator_actor coordinator) {
  pipeline p;
  // The writer stops its checkpointer when it ends.
  auto ckpt = self->spawn<caf::detached>(checkpointer, job.db_path);
  p.writer = self->spawn<caf::detached>(cache_writer, job, coordinator, ckpt);
  p.parser = self->spawn(parser, job.id, p.writer, coordinator);
  p.downloader = self->spawn<caf::detached>(downloader, job, p.parser,
                                            coordinator);
  return p;
}

} // namespace sheetsync
