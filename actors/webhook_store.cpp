#include "actors/webhook_store.hpp"

#include <cstdio>

#include <caf/all.hpp>

namespace sheetsync {

webhook_store_actor::behavior_type
webhook_store(webhook_store_actor::stateful_pointer<webhook_store_state> self,
              std::string db_path, uint64_t keep_finished) {
  auto& s = self->state;
  s.keep_finished = keep_finished;
  failure err;
  if (auto db = database::open(db_path, err)) {
    s.table = std::make_unique<webhook_deliveries>(std::move(db));
    if (!s.table->create(err))
      s.table.reset();
  }
  if (!s.table)
    std::fprintf(stderr,
                 "sheetsync: webhook deliveries are not kept in the cache "
                 "(not resumed after a restart): %s\n",
                 err.text.c_str());
  return {
    [=](caf::put_atom, const webhook_delivery& x) {
      auto& s = self->state;
      if (!s.table)
        return;
      failure err;
      if (!s.table->put(x, err)) {
        // Losing a row must not stop the deliveries; say it once per row.
        std::fprintf(stderr, "sheetsync: %s\n", err.text.c_str());
        return;
      }
      if (x.state != webhook_state::pending
          && !s.table->prune(s.keep_finished, err))
        std::fprintf(stderr, "sheetsync: %s\n", err.text.c_str());
    },
    [=](caf::get_atom, atom::webhooks,
        uint64_t limit) -> std::vector<webhook_delivery> {
      std::vector<webhook_delivery> out;
      if (!self->state.table)
        return out;
      failure err;
      if (!self->state.table->load(limit, out, err))
        std::fprintf(stderr, "sheetsync: %s\n", err.text.c_str());
      return out;
    },
  };
}

} // namespace sheetsync
