#include "actors/parser.hpp"

#include <caf/all.hpp>

namespace sheetsync {

namespace {

using self_ptr = parser_actor::stateful_pointer<parser_state>;

void report(self_ptr self, const std::string& id, coordinator_actor& coord,
            bool finished) {
  auto& csv = *self->state.csv;
  stage_report r;
  r.sync_id = id;
  r.from = stage::parse;
  r.finished = finished;
  r.bytes = csv.bytes_consumed();
  r.rows = csv.rows();
  self->send(coord, atom::progress::value, std::move(r));
}

/// Sends waiting batches while credit lasts, releases held chunk answers,
/// and ends the stage once everything was handed on after the end of input.
void pump(self_ptr self, const std::string& id, cache_writer_actor& writer,
          coordinator_actor& coord) {
  auto& s = self->state;
  while (s.in_flight < parser_state::max_in_flight && !s.pending.empty()) {
    ++s.in_flight;
    s.batches_sent = true;
    self->request(writer, caf::infinite, atom::batch::value,
                  std::move(s.pending.front()))
      .then(
        [=](caf::ok_atom) mutable {
          --self->state.in_flight;
          pump(self, id, writer, coord);
        },
        [=](caf::error&) {
          // The writer reports its own failure to the coordinator.
          self->quit();
        });
    s.pending.pop_front();
  }
  while (!s.held.empty() && s.pending.size() < parser_state::max_in_flight) {
    s.held.front().deliver(caf::ok_atom::value);
    s.held.pop_front();
  }
  if (s.eof && s.pending.empty()) {
    // FIFO between two actors: the writer sees eof after the last batch.
    self->send(writer, atom::eof::value);
    report(self, id, coord, true);
    self->quit();
  }
}

void fail(self_ptr self, const std::string& id, coordinator_actor& coord) {
  self->send(coord, atom::failed::value, id, stage::parse,
             make_error(self->state.csv->error()));
  self->quit();
}

} // namespace

parser_actor::behavior_type
parser(parser_actor::stateful_pointer<parser_state> self, std::string sync_id,
       cache_writer_actor writer, coordinator_actor coordinator) {
  self->state.csv = std::make_unique<csv_parser>();
  return {
    [=](atom::chunk, const std::string& bytes) mutable
    -> caf::result<caf::ok_atom> {
      auto& s = self->state;
      if (!s.csv->feed(bytes)) {
        fail(self, sync_id, coordinator);
        return caf::ok_atom::value;
      }
      for (auto& b : s.csv->take_batches())
        s.pending.push_back(std::move(b));
      report(self, sync_id, coordinator, false);
      pump(self, sync_id, writer, coordinator);
      if (s.pending.size() < parser_state::max_in_flight)
        return caf::ok_atom::value;
      s.held.push_back(self->make_response_promise<caf::ok_atom>());
      return s.held.back();
    },
    [=](atom::eof) mutable {
      auto& s = self->state;
      if (!s.csv->finish()) {
        fail(self, sync_id, coordinator);
        return;
      }
      for (auto& b : s.csv->take_batches())
        s.pending.push_back(std::move(b));
      if (!s.batches_sent && s.pending.empty()) {
        // A header-only sheet: the cache still needs the columns.
        row_batch header_only;
        header_only.columns = s.csv->columns();
        s.pending.push_back(std::move(header_only));
      }
      s.eof = true;
      pump(self, sync_id, writer, coordinator);
    },
  };
}

} // namespace sheetsync
