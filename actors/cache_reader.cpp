#include "actors/cache_reader.hpp"

#include <algorithm>

#include <sys/stat.h>

#include <caf/all.hpp>

namespace sheetsync {

namespace {

/// Forwards a request to the page reader and delivers its answer to `rp`; a
/// request the page reader does not answer within `timeout` fails with
/// ec::unavailable naming the cache reader.
template <class Answer, class... Ts>
void forward(cache_reader_actor::stateful_pointer<cache_reader_state> self,
             caf::typed_response_promise<Answer> rp, Ts... xs) {
  auto timeout = self->state.limits.timeout;
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
  self->request(self->state.pages, timeout, xs...)
    .then([=](Answer& x) mutable { rp.deliver(std::move(x)); },
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
}

using page_reader_ptr
  = cache_reader_actor::stateful_pointer<page_reader_state>;

/// The page reader's connection to the file that `path` names now: (re)opened
/// when there is none or the path names another file than the one open (so a
/// replaced or restored cache is read, and a cache replaced by something that
/// is no file is reported). Null, with `err`, when it cannot be opened.
sheet_store* current_store(page_reader_ptr self, const std::string& path,
                           failure& err) {
  auto& s = self->state;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      s.store.reset();
      err = failure{ec::cache_failed, "cannot open the cache " + path
                                        + ": it is not a regular file"};
      return nullptr;
    }
    if (s.store && st.st_dev == s.dev && st.st_ino == s.ino)
      return s.store.get();
  }
  // A missing file is created, so a cache that appears later works.
  s.store = sheet_store::open_for_reading(path, err, page_reader_state::busy_ms);
  if (!s.store)
    return nullptr;
  if (::stat(path.c_str(), &st) == 0) {
    s.dev = st.st_dev;
    s.ino = st.st_ino;
  }
  return s.store.get();
}

/// The error for a failed read; a locked cache says when to ask again.
/// "'A', 'B', ..." for messages.
std::string join_titles(const std::vector<std::string>& titles) {
  std::string result;
  for (auto& t : titles)
    result += (result.empty() ? "'" : ", '") + t + "'";
  return result;
}

caf::error read_error(const failure& err) {
  if (err.code == ec::cache_busy)
    return make_error(ec::cache_busy,
                      err.text + "; retry in "
                        + std::to_string(cache_busy_retry_seconds) + " s");
  return make_error(err);
}

} // namespace

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
    [=](caf::get_atom, atom::data, const std::string& source,
        const std::string& tab, uint64_t limit,
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
      forward(self, rp, caf::get_atom::value, atom::data::value, source, tab,
              limit, offset);
      return rp;
    },
    [=](caf::get_atom, atom::ready) -> caf::result<caf::ok_atom> {
      // Not counted as a page: it reads no rows.
      auto rp = self->make_response_promise<caf::ok_atom>();
      forward(self, rp, caf::get_atom::value, atom::ready::value);
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
    [=](caf::get_atom, atom::data, const std::string& source,
        const std::string& tab, uint64_t limit,
        uint64_t offset) -> caf::result<data_page> {
      struct count_down {
        std::atomic<size_t>& n;
        ~count_down() {
          --n;
        }
      } done{*pending};
      failure err;
      auto store = current_store(self, db_path, err);
      if (!store)
        return read_error(err);
      sheet_store::page page;
      data_page result;
      result.source = source;
      // A source synced tab by tab: its tabs' tables, by title.
      auto table = source;
      auto tabs = store->recorded_tabs(source);
      for (auto& t : tabs)
        result.tabs.push_back(t.title);
      if (!tabs.empty()) {
        auto i = tab.empty() ? tabs.begin()
                             : std::find_if(tabs.begin(), tabs.end(),
                                            [&](auto& t) {
                                              return t.title == tab;
                                            });
        if (i == tabs.end())
          return make_error(ec::invalid_argument,
                            "source " + source + " has no tab titled '" + tab
                              + "'; its tabs: " + join_titles(result.tabs));
        result.tab = i->title;
        table = i->table;
      } else if (!tab.empty()) {
        return make_error(ec::invalid_argument,
                          "source " + source + " has no tabs (or was not "
                          "synced tab by tab yet): leave out tab");
      }
      if (!store->read(table, limit, offset, page, err)) {
        if (err.code == ec::no_data)
          return result;
        return read_error(err);
      }
      result.columns = std::move(page.columns);
      result.rows = std::move(page.rows);
      result.total = page.total;
      result.next = page.next;
      if (auto rec = store->last_complete(source))
        result.synced_ms = rec->finished_ms;
      return result;
    },
    [=](caf::get_atom, atom::ready) -> caf::result<caf::ok_atom> {
      failure err;
      auto store = current_store(self, db_path, err);
      if (!store || !store->readable(err))
        return read_error(err);
      return caf::ok_atom::value;
    },
  };
}

} // namespace sheetsync
