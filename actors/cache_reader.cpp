#include "actors/cache_reader.hpp"

#include <caf/all.hpp>

namespace sheetsync {

cache_reader_actor::behavior_type
cache_reader(cache_reader_actor::stateful_pointer<cache_reader_state> self,
             std::string db_path) {
  return {
    [=](caf::get_atom, atom::data, const std::string& source, uint64_t limit,
        uint64_t offset) -> caf::result<data_page> {
      failure err;
      if (!self->state.store) {
        // Opened on first use, so a cache file that appears later works.
        self->state.store = sheet_store::open(db_path, err);
        if (!self->state.store)
          return make_error(err);
      }
      auto& store = *self->state.store;
      sheet_store::page page;
      data_page result;
      result.source = source;
      if (!store.read(source, limit, offset, page, err)) {
        if (err.code == ec::no_data)
          return result;
        return make_error(err);
      }
      result.columns = std::move(page.columns);
      result.rows = std::move(page.rows);
      result.total = page.total;
      if (auto rec = store.last_complete(source))
        result.synced_ms = rec->finished_ms;
      return result;
    },
  };
}

} // namespace sheetsync
