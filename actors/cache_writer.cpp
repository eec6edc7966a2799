#include "actors/cache_writer.hpp"

#include <caf/all.hpp>

namespace sheetsync {

cache_writer_actor::behavior_type
cache_writer(cache_writer_actor::stateful_pointer<cache_writer_state> self,
             sync_job job, coordinator_actor coordinator,
             checkpointer_actor checkpointer) {
  if (checkpointer) {
    self->state.checkpointer = checkpointer;
    self->attach_functor([checkpointer] {
      caf::anon_send_exit(checkpointer, caf::exit_reason::user_shutdown);
    });
  }
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
    self->state.store->checkpoint_elsewhere(
      static_cast<bool>(checkpointer));
    // Tab by tab: each tab's table begins where its batches do.
    if (!job.plan.tabbed() && !self->state.store->begin(job.source, err))
      self->state.store.reset();
  }
  if (!self->state.store) {
    fail(err);
    return {
      [](atom::batch, const row_batch&) -> caf::result<caf::ok_atom> {
        return make_error(ec::cache_failed, "the cache writer has stopped");
      },
      [](atom::tab, const std::string&, const std::string&,
         const std::string&) {},
      [](atom::eof, const std::string&) {},
      [](atom::commit) -> caf::result<uint64_t> {
        return make_error(ec::cache_failed, "the cache writer has stopped");
      },
    };
  }
  // Swaps the rows in (or keeps the table when unchanged); the caller ends.
  auto swap_in = [=]() -> caf::expected<uint64_t> {
    failure err;
    auto& store = *self->state.store;
    // Unchanged content: commit() drops the staging (if anything was
    // written aside at all) and leaves the table untouched.
    if (!store.commit(err))
      return fail(err);
    return store.rows_written();
  };
  auto checkpointed = [=] {
    auto& s = self->state;
    s.checkpointing = false;
    if (s.held_commit.pending()) {
      auto rows = swap_in();
      if (rows)
        s.held_commit.deliver(*rows);
      else
        s.held_commit.deliver(rows.error());
      self->quit();
    }
  };
  // Asks for a checkpoint once the WAL has grown, one at a time.
  auto checkpoint = [=] {
    auto& s = self->state;
    if (!s.checkpointer || s.checkpointing
        || s.store->wal_frames() < table_writer::checkpoint_frames)
      return;
    s.checkpointing = true;
    self->request(s.checkpointer, caf::infinite, atom::checkpoint::value)
      .then([=](caf::ok_atom) { checkpointed(); },
            [=](caf::error&) {
              // It could not open the cache or ended: the WAL stays bounded
              // without it (see table_writer::checkpoint_elsewhere).
              self->state.checkpointer = checkpointer_actor{};
              checkpointed();
            });
  };
  return {
    [=](atom::batch, const row_batch& batch) -> caf::result<caf::ok_atom> {
      failure err;
      if (!self->state.store->append(batch, err))
        return fail(err);
      report(false);
      checkpoint();
      return caf::ok_atom::value;
    },
    [=](atom::tab, std::string& title, std::string& table,
        std::string& previous_hash) {
      auto& s = self->state;
      failure err;
      if (s.store->staging()) {
        s.store->give_content_hash(std::move(previous_hash));
        if (!s.store->set_aside(err)) {
          fail(err);
          return;
        }
      }
      if (!s.store->begin(table, err)) {
        fail(err);
        return;
      }
      s.tabs.push_back({std::move(title), std::move(table)});
    },
    [=](atom::eof, std::string& content_hash) {
      auto& s = self->state;
      s.store->give_content_hash(std::move(content_hash));
      if (job.plan.tabbed())
        s.store->record_tabs(job.source, s.tabs);
      report(true);
    },
    [=](atom::commit) -> caf::result<uint64_t> {
      auto& s = self->state;
      if (!s.checkpointing) {
        auto rows = swap_in();
        self->quit();
        if (!rows)
          return std::move(rows.error());
        return *rows;
      }
      s.held_commit = self->make_response_promise<uint64_t>();
      return s.held_commit;
    },
  };
}

} // namespace sheetsync
