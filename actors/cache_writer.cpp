#include "actors/cache_writer.hpp"

#include <caf/all.hpp>

namespace sheetsync {

cache_writer_actor::behavior_type
cache_writer(cache_writer_actor::stateful_pointer<cache_writer_state> self,
             sync_job job, coordinator_actor coordinator) {
  auto report = [=](bool finished) {
    stage_report r;
    r.sync_id = job.id;
    r.from = stage::save;
    r.finished = finished;
    r.rows = self->state.store ? self->state.store->rows_written() : 0;
    // Only the finished report (at eof) says whether the content is the
    // cached one's.
    r.unchanged = finished && self->state.store
                  && self->state.store->unchanged();
    self->send(coordinator, atom::progress::value, std::move(r));
  };
  auto fail = [=](const failure& f) {
    self->send(coordinator, atom::failed::value, job.id, stage::save,
               make_error(f));
    self->quit();
    return make_error(f);
  };
  failure err;
  self->state.store = sheet_store::open(job.db_path, err);
  if (self->state.store) {
    // The parser hashes the batches (see cache_writer_actor).
    self->state.store->hash_appends(false);
    if (!self->state.store->begin(job.source, err))
      self->state.store.reset();
  }
  if (!self->state.store) {
    fail(err);
    return {
      [](atom::batch, const row_batch&) -> caf::result<caf::ok_atom> {
        return make_error(ec::cache_failed, "the cache writer has stopped");
      },
      [](atom::eof, const std::string&) {},
      [](atom::commit) -> caf::result<uint64_t> {
        return make_error(ec::cache_failed, "the cache writer has stopped");
      },
    };
  }
  return {
    [=](atom::batch, const row_batch& batch) -> caf::result<caf::ok_atom> {
      failure err;
      if (!self->state.store->append(batch, err))
        return fail(err);
      report(false);
      return caf::ok_atom::value;
    },
    [=](atom::eof, std::string& content_hash) {
      self->state.store->give_content_hash(std::move(content_hash));
      report(true);
    },
    [=](atom::commit) -> caf::result<uint64_t> {
      failure err;
      auto& store = *self->state.store;
      // Unchanged content: commit() drops the staging (if anything was
      // written aside at all) and leaves the table untouched.
      if (!store.commit(err))
        return fail(err);
      auto rows = store.rows_written();
      self->quit();
      return rows;
    },
  };
}

} // namespace sheetsync
