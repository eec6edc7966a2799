#include "actors/source_store.hpp"

#include <caf/all.hpp>

#include "actors/coordinator.hpp"

namespace sheetsync {

source_store_actor::behavior_type
source_store(source_store_actor::stateful_pointer<source_store_state> self,
             std::string db_path, std::function<int64_t()> wall_clock_ms) {
  auto& s = self->state;
  s.wall_clock_ms
    = wall_clock_ms ? std::move(wall_clock_ms) : system_wall_clock_ms;
  failure err;
  if (auto db = database::open(db_path, err)) {
    s.table = std::make_unique<source_table>(std::move(db));
    if (!s.table->create(err)) {
      s.table.reset();
      s.open_error = err.text;
    }
  } else {
    s.open_error = err.text;
  }
  // Opened again at the first request when the cache was busy at start.
  auto ready = [=]() -> caf::error {
    auto& s = self->state;
    if (s.table)
      return {};
    failure err;
    if (auto db = database::open(db_path, err)) {
      auto table = std::make_unique<source_table>(std::move(db));
      if (table->create(err)) {
        s.table = std::move(table);
        s.open_error.clear();
        return {};
      }
    }
    s.open_error = err.text;
    return make_error(err.code == ec::none ? ec::cache_failed : err.code,
                      err.text);
  };
  return {
    [=](caf::put_atom, const source_spec& spec) -> caf::result<caf::ok_atom> {
      if (auto e = ready())
        return e;
      failure err;
      if (!self->state.table->put(spec, self->state.wall_clock_ms(), err))
        return make_error(err);
      return caf::ok_atom::value;
    },
    [=](caf::delete_atom, const std::string& name) -> caf::result<caf::ok_atom> {
      if (auto e = ready())
        return e;
      failure err;
      if (!self->state.table->erase(name, err)
          || !self->state.table->drop_tables(name, err))
        return make_error(err);
      return caf::ok_atom::value;
    },
  };
}

} // namespace sheetsync
