#include "actors/history.hpp"

#include <algorithm>
#include <cstdio>

#include <caf/all.hpp>

#include "actors/coordinator.hpp"

namespace sheetsync {

sync_record to_record(const sync_status& st) {
  sync_record rec;
  rec.id = st.id;
  rec.source = st.source;
  rec.status = to_string(st.state);
  rec.progress = st.progress;
  rec.message = st.message;
  rec.error = st.error;
  rec.started_ms = st.started_ms;
  rec.updated_ms = st.updated_ms;
  rec.finished_ms = st.finished_ms;
  rec.bytes = st.bytes;
  rec.rows = st.rows;
  return rec;
}

sync_status to_status(const sync_record& rec) {
  sync_status st;
  st.id = rec.id;
  st.source = rec.source;
  if (!from_string(rec.status, st.state))
    st.state = sync_state::error;
  st.message = rec.message;
  st.error = rec.error;
  st.started_ms = rec.started_ms;
  st.updated_ms = rec.updated_ms;
  st.finished_ms = rec.finished_ms;
  st.bytes = rec.bytes;
  st.rows = rec.rows;
  // A complete sync is at 100 even in records from before progress was kept.
  st.progress = st.state == sync_state::complete
                  ? 100
                  : std::min<uint8_t>(rec.progress, 100);
  return st;
}

history_actor::behavior_type
history(history_actor::stateful_pointer<history_state> self,
        std::string db_path, history_options options) {
  if (!options.wall_clock_ms)
    options.wall_clock_ms = system_wall_clock_ms;
  self->state.options = std::move(options);
  failure err;
  self->state.store = sheet_store::open(db_path, err);
  if (!self->state.store) {
    self->state.open_error = err.text;
    std::fprintf(stderr, "sheetsync: history disabled: %s\n", err.text.c_str());
  } else {
    // Syncs that were running in a process that is gone never finish: say
    // so. Live processes' syncs (a serve next to this CLI) stay as they are.
    failure rerr;
    self->state.store->recover_interrupted(
      self->state.options.wall_clock_ms(), rerr);
    if (rerr)
      std::fprintf(stderr, "sheetsync: %s\n", rerr.text.c_str());
  }
  return {
    [=](caf::put_atom, const sync_status& st) {
      if (!self->state.store)
        return;
      auto& store = *self->state.store;
      failure err;
      if (!store.put_run(to_record(st), err)) {
        // Losing a history row must not stop a sync; say it once per row.
        std::fprintf(stderr, "sheetsync: cannot record sync %s: %s\n",
                     st.id.c_str(), err.text.c_str());
        return;
      }
      if (!finished(st.state))
        return;
      // Bounded growth: one DELETE per finished sync keeps the table at
      // `keep_per_source` finished syncs per source (plus running ones).
      store.prune(st.source, self->state.options.keep_per_source, err);
      if (err)
        std::fprintf(stderr, "sheetsync: %s\n", err.text.c_str());
    },
    [=](atom::last, const std::string& source) -> sync_status {
      if (self->state.store)
        if (auto rec = self->state.store->last_complete(source))
          return to_status(*rec);
      return {};
    },
    [=](atom::status, const std::string& id) -> caf::result<sync_status> {
      if (self->state.store)
        if (auto rec = self->state.store->get_run(id))
          return to_status(*rec);
      return make_error(ec::unknown_sync, "no sync with id '" + id + "'");
    },
    [=](atom::history, const std::string& source,
        uint64_t limit) -> caf::result<std::vector<sync_status>> {
      if (!self->state.store)
        return make_error(ec::cache_failed, "the sync history is unavailable: "
                                              + self->state.open_error);
      auto n = std::clamp<uint64_t>(limit, 1, history_state::max_limit);
      std::vector<sync_status> result;
      for (auto& rec : self->state.store->runs(source, n))
        result.push_back(to_status(rec));
      return result;
    },
  };
}

} // namespace sheetsync
