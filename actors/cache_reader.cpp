#include "actors/cache_reader.hpp"

#include <caf/all.hpp>

namespace sheetsync {

cache_reader_actor::behavior_type
cache_reader(cache_reader_actor::stateful_pointer<cache_reader_state> self,
             cache_reader_actor pages,
             std::shared_ptr<std::atomic<size_t>> pending,
             cache_reader_limits limits) {
  self->state.pages = pages;
  self->state.pending = std::move(pending);
  self->state.limits = limits;
  self->link_to(pages);
  return {
    [=](caf::get_atom, atom::data, const std::string& source, uint64_t limit,
        uint64_t offset) -> caf::result<data_page> {
      auto& s = self->state;
      // Counted here and counted down by the page reader once it read the
      // page (also after a time-out here), so the bound holds for the
      // pages really queued there.
      if (s.pending->load() >= s.limits.max_pending)
        return make_error(ec::unavailable,
                          "the cache reader is busy with "
                            + std::to_string(s.limits.max_pending)
                            + " other pages; try again in a moment");
      ++*s.pending;
      auto rp = self->make_response_promise<data_page>();
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(
                    s.limits.timeout)
                    .count();
      self
        ->request(s.pages, s.limits.timeout, caf::get_atom::value,
                  atom::data::value, source, limit, offset)
        .then([=](data_page& page) mutable { rp.deliver(std::move(page)); },
              [=](caf::error& err) mutable {
                if (err == caf::sec::request_timeout)
                  rp.deliver(make_error(
                    ec::unavailable,
                    "the cache reader did not answer within "
                      + std::to_string(secs)
                      + " s (a large page or a slow disk); try again in a "
                        "moment"));
                else
                  rp.deliver(std::move(err));
              });
      return rp;
    },
  };
}

cache_reader_actor spawn_cache_reader(caf::actor_system& sys,
                                      const std::string& db_path,
                                      cache_reader_limits limits) {
  auto pending = std::make_shared<std::atomic<size_t>>(0);
  auto pages = sys.spawn<caf::detached>(page_reader, db_path, pending);
  return sys.spawn(cache_reader, pages, pending, limits);
}

cache_reader_actor::behavior_type
page_reader(cache_reader_actor::stateful_pointer<page_reader_state> self,
            std::string db_path, std::shared_ptr<std::atomic<size_t>> pending) {
  return {
    [=](caf::get_atom, atom::data, const std::string& source, uint64_t limit,
        uint64_t offset) -> caf::result<data_page> {
      struct count_down {
        std::atomic<size_t>& n;
        ~count_down() {
          --n;
        }
      } done{*pending};
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
      result.next = page.next;
      if (auto rec = store.last_complete(source))
        result.synced_ms = rec->finished_ms;
      return result;
    },
  };
}

} // namespace sheetsync
