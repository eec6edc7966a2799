#pragma once

// Scheduled fakes of a sync's pipeline stages, of the history and of a status
// listener, for the suites that run the coordinator on the deterministic test
// scheduler (coordinator, nodes): the real stages run detached, outside it.
// Include after caf/test/dsl.hpp (or io_dsl.hpp).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/test/unit_test.hpp>

#include "actors/coordinator.hpp"
#include "messages/error.hpp"

namespace sheetsync::test {

// -- helpers ------------------------------------------------------------------

inline bool starts_with(const std::string& str, const std::string& prefix) {
  return str.compare(0, prefix.size(), prefix) == 0;
}

inline bool contains(const std::string& str, const std::string& part) {
  return str.find(part) != std::string::npos;
}

/// The error of a refused request (none if it was answered with a value).
template <class T>
caf::error error_of(const caf::expected<T>& x) {
  return x ? caf::error{} : x.error();
}

// -- fake stages --------------------------------------------------------------

/// How a fake stage ended.
struct stage_end {
  bool down = false;
  caf::error reason;
};

/// The fake pipeline of one sync: the job the coordinator handed to the
/// factory, the stages, and what they lived through.
struct fake_pipeline {
  sync_job job;
  pipeline stages;
  stage_end downloader;
  stage_end parser;
  stage_end writer;
  /// Commit requests the writer received.
  size_t commits = 0;
  /// The writer's answer to commit: rows now in the cache, or an error.
  caf::expected<uint64_t> commit_answer = uint64_t{0};
  /// The writer leaves the commit unanswered (a long swap).
  bool hold_commit = false;
};

using fake_pipeline_ptr = std::shared_ptr<fake_pipeline>;

/// A fake ends with the reason of an exit message, even a normal one (as the
/// real stages end by themselves once their part is done), and records it.
template <class Self>
void record_end(Self* self, fake_pipeline_ptr p, stage_end fake_pipeline::*end) {
  self->set_exit_handler([self](caf::exit_msg& msg) { self->quit(msg.reason); });
  self->attach_functor([p, end](const caf::error& reason) {
    (*p).*end = stage_end{true, reason};
  });
}

inline downloader_actor::behavior_type
fake_downloader(downloader_actor::pointer self, fake_pipeline_ptr p) {
  record_end(self, p, &fake_pipeline::downloader);
  return {
    [](atom::step) {
      CAF_FAIL("fake downloader: step (the test drives the download)");
    },
  };
}

inline parser_actor::behavior_type
fake_parser(parser_actor::pointer self, fake_pipeline_ptr p) {
  record_end(self, p, &fake_pipeline::parser);
  return {
    [](atom::chunk, const std::string&) -> caf::result<caf::ok_atom> {
      CAF_FAIL("fake parser: chunk (the coordinator never sends data)");
    },
    [](atom::tab, const std::string&, const std::string&) {
      CAF_FAIL("fake parser: tab (the coordinator never sends data)");
    },
    [](atom::eof) {
      CAF_FAIL("fake parser: eof (the coordinator never sends data)");
    },
  };
}

struct fake_writer_state {
  static inline const char* name = "fake_writer";
  caf::typed_response_promise<uint64_t> held_commit;
};

inline cache_writer_actor::behavior_type
fake_writer(cache_writer_actor::stateful_pointer<fake_writer_state> self,
            fake_pipeline_ptr p) {
  record_end(self, p, &fake_pipeline::writer);
  return {
    [](atom::batch, const row_batch&) -> caf::result<caf::ok_atom> {
      CAF_FAIL("fake writer: batch (the coordinator never sends data)");
    },
    [](atom::tab, const std::string&, const std::string&,
       const std::string&) {
      CAF_FAIL("fake writer: tab (the coordinator never sends data)");
    },
    [](atom::eof, const std::string&) {
      CAF_FAIL("fake writer: eof (the coordinator never sends data)");
    },
    [=](atom::commit) -> caf::result<uint64_t> {
      ++p->commits;
      if (p->hold_commit) {
        self->state.held_commit = self->make_response_promise<uint64_t>();
        return self->state.held_commit;
      }
      // Like the real writer: answer, then end.
      self->quit();
      if (p->commit_answer)
        return *p->commit_answer;
      return p->commit_answer.error();
    },
  };
}

/// A coordinator_config::make_pipeline that spawns the fakes on the
/// coordinator's system and appends each pipeline to `made`. Its writer
/// answers a commit with `commit_rows` unless the test says otherwise.
inline pipeline_factory
make_fake_pipelines(std::shared_ptr<std::vector<fake_pipeline_ptr>> made,
                    uint64_t commit_rows = 0) {
  return [made, commit_rows](caf::local_actor* self, const sync_job& job,
                             coordinator_actor) {
    auto p = std::make_shared<fake_pipeline>();
    p->job = job;
    p->commit_answer = commit_rows;
    auto& sys = self->system();
    p->stages.downloader = sys.spawn(fake_downloader, p);
    p->stages.parser = sys.spawn(fake_parser, p);
    p->stages.writer = sys.spawn(fake_writer, p);
    made->push_back(p);
    return p->stages;
  };
}

/// Stops every stage still running, so the fixture's last run() ends.
inline void stop_stages(const std::vector<fake_pipeline_ptr>& made) {
  for (auto& p : made) {
    caf::anon_send_exit(p->stages.downloader, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(p->stages.parser, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(p->stages.writer, caf::exit_reason::user_shutdown);
  }
}

/// The current (latest) attempt's pipeline of a sync.
inline fake_pipeline&
latest_pipeline(const std::vector<fake_pipeline_ptr>& made,
                const std::string& id) {
  for (auto i = made.rbegin(); i != made.rend(); ++i)
    if ((*i)->job.id == id)
      return **i;
  CAF_FAIL("no pipeline was made for " << id);
}

/// The stage of a pipeline, as the sender of what a test sends in its name
/// (a caf::actor: send_as() needs a handle type, inject() takes any).
inline caf::actor stage_actor(const fake_pipeline& p, stage which) {
  switch (which) {
    case stage::download:
      return caf::actor_cast<caf::actor>(p.stages.downloader);
    case stage::parse:
      return caf::actor_cast<caf::actor>(p.stages.parser);
    default:
      return caf::actor_cast<caf::actor>(p.stages.writer);
  }
}

// -- fake listener and history ------------------------------------------------

using seen_ptr = std::shared_ptr<std::vector<sync_status>>;

/// Records every status it hears about.
inline status_listener_actor::behavior_type status_listener(seen_ptr seen) {
  return {
    [=](const sync_status& st) { seen->push_back(st); },
  };
}

/// The history as a map: what the coordinator recorded, answered back.
using recorded_map = std::map<std::string, sync_status>;

inline history_actor::behavior_type
fake_history(std::shared_ptr<recorded_map> rec) {
  auto newest_first = [=](const std::string& source) {
    std::vector<sync_status> xs;
    for (auto& [id, st] : *rec)
      if (source.empty() || st.source == source)
        xs.push_back(st);
    std::sort(xs.begin(), xs.end(), [](auto& x, auto& y) {
      return x.started_ms > y.started_ms;
    });
    return xs;
  };
  return {
    [=](caf::put_atom, const sync_status& st) { (*rec)[st.id] = st; },
    [=](atom::last, const std::string& source) -> sync_status {
      for (auto& st : newest_first(source))
        if (st.state == sync_state::complete)
          return st;
      return {};
    },
    [=](atom::status, const std::string& id) -> caf::result<sync_status> {
      if (auto i = rec->find(id); i != rec->end())
        return i->second;
      return sheetsync::make_error(ec::unknown_sync, "not recorded");
    },
    [=](atom::history, const std::string& source,
        uint64_t limit) -> std::vector<sync_status> {
      auto xs = newest_first(source);
      if (xs.size() > limit)
        xs.resize(limit);
      return xs;
    },
  };
}

/// The statuses in `seen` of one sync id, in order.
inline std::vector<sync_status>
statuses_for(const std::vector<sync_status>& seen, const std::string& id) {
  std::vector<sync_status> result;
  for (auto& st : seen)
    if (st.id == id)
      result.push_back(st);
  return result;
}

} // namespace sheetsync::test
