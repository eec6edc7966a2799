#include "actors/parser.hpp"

#include <caf/all.hpp>

namespace sheetsync {

namespace {

using self_ptr = parser_internal_actor::stateful_pointer<parser_state>;

void report(self_ptr self, const std::string& id, coordinator_actor& coord,
            bool finished) {
  auto& csv = *self->state.csv;
  stage_report r;
  r.sync_id = id;
  r.from = stage::parse;
  r.finished = finished;
  // Summed over the tabs so far.
  r.bytes = self->state.bytes_before + csv.bytes_consumed();
  r.rows = self->state.rows_before + csv.rows();
  self->send(coord, atom::progress::value, std::move(r));
}

/// Whether a step has work now: input (or its end) to parse, and fewer
/// batches waiting than the credit, so that output never piles up.
bool can_step(const parser_state& s) {
  return !s.eof && (!s.input.empty() || s.input_done)
         && s.pending.size() < parser_state::max_in_flight;
}

void schedule_step(self_ptr self) {
  auto& s = self->state;
  if (!s.step_pending && can_step(s)) {
    s.step_pending = true;
    self->send(self, atom::step::value);
  }
}

/// Sends waiting batches while credit lasts, releases held chunk answers,
/// ends the stage once everything was handed on after the end of input, and
/// else goes on parsing if there is room.
void pump(self_ptr self, const std::string& id, cache_writer_actor& writer,
          coordinator_actor& coord) {
  auto& s = self->state;
  while (s.in_flight < parser_state::max_in_flight && !s.pending.empty()) {
    auto& out = s.pending.front();
    if (out.tab) {
      // FIFO between two actors: after the previous tab's last batch.
      self->send(writer, atom::tab::value, std::move(out.title),
                 std::move(out.table), std::move(out.previous_hash));
      s.pending.pop_front();
      continue;
    }
    ++s.in_flight;
    self->request(writer, caf::infinite, atom::batch::value,
                  std::move(out.batch))
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
    self->send(writer, atom::eof::value, s.hash.digest(s.csv->columns()));
    report(self, id, coord, true);
    self->quit();
    return;
  }
  schedule_step(self);
}

void fail(self_ptr self, const std::string& id, coordinator_actor& coord) {
  auto& s = self->state;
  auto f = s.csv->error();
  if (!s.tab.empty())
    f.text = "tab '" + s.tab + "': " + f.text;
  auto err = make_error(f);
  self->send(coord, atom::failed::value, id, stage::parse, err);
  // The downloader stops on the error; the coordinator reports this one.
  for (auto& c : s.input)
    if (!c.tab) // tab starts have no answer
      c.answer.deliver(err);
  for (auto& answer : s.held)
    answer.deliver(err);
  s.input.clear();
  s.held.clear();
  self->quit();
}

/// Moves the parsed batches to the pending ones, hashing them; at the end of
/// the sheet (or a tab), a header-only one when there were none.
void take_batches(parser_state& s, bool end) {
  for (auto& b : s.csv->take_batches()) {
    s.hash.add(b);
    s.batches_made = true;
    s.pending.push_back({std::move(b)});
  }
  if (end && !s.batches_made) {
    // A header-only sheet: the cache still needs the columns.
    row_batch header_only;
    header_only.columns = s.csv->columns();
    s.batches_made = true;
    s.pending.push_back({std::move(header_only)});
  }
}

/// Where a tab starts: ends the previous one (as the end of a sheet) and
/// parses on from a new header.
bool start_tab(self_ptr self, parser_state::chunk& c) {
  auto& s = self->state;
  parser_state::output out;
  if (!s.tab.empty()) {
    if (!s.csv->finish())
      return false;
    take_batches(s, true);
    out.previous_hash = s.hash.digest(s.csv->columns());
    s.rows_before += s.csv->rows();
    s.bytes_before += s.csv->bytes_consumed();
    s.csv = std::make_unique<csv_parser>();
    s.hash.reset();
  }
  s.batches_made = false;
  s.tab = c.bytes;
  out.tab = true;
  out.title = std::move(c.bytes);
  out.table = std::move(c.table);
  s.pending.push_back(std::move(out));
  return true;
}

/// Parses one slice: at most slice_bytes of the oldest chunk and at most one
/// batch; after the last chunk, finishes the input.
void step(self_ptr self, const std::string& id, cache_writer_actor& writer,
          coordinator_actor& coord) {
  auto& s = self->state;
  s.step_pending = false;
  if (!can_step(s))
    return; // credit ran out meanwhile: pump() schedules the next step
  if (!s.input.empty() && s.input.front().tab) {
    if (!start_tab(self, s.input.front())) {
      fail(self, id, coord);
      return;
    }
    s.input.pop_front();
    pump(self, id, writer, coord);
    return;
  }
  if (!s.input.empty()) {
    auto& c = s.input.front();
    auto n = std::min(c.bytes.size() - c.parsed, parser_state::slice_bytes);
    c.parsed += s.csv->feed_some({c.bytes.data() + c.parsed, n});
    if (s.csv->error()) {
      fail(self, id, coord);
      return;
    }
    if (c.parsed == c.bytes.size()) {
      // Answered once its rows were handed on (see pump()).
      s.held.push_back(std::move(c.answer));
      s.input.pop_front();
      report(self, id, coord, false);
    }
  } else {
    if (!s.csv->finish()) {
      fail(self, id, coord);
      return;
    }
    s.eof = true;
  }
  take_batches(s, s.eof);
  pump(self, id, writer, coord);
}

} // namespace

parser_internal_actor::behavior_type
parser(parser_internal_actor::stateful_pointer<parser_state> self,
       std::string sync_id, cache_writer_actor writer,
       coordinator_actor coordinator) {
  self->state.csv = std::make_unique<csv_parser>();
  return {
    [=](atom::chunk, std::string& bytes) -> caf::result<caf::ok_atom> {
      auto& s = self->state;
      auto answer = self->make_response_promise<caf::ok_atom>();
      s.input.push_back({std::move(bytes), 0, answer});
      schedule_step(self);
      return answer;
    },
    [=](atom::tab, std::string& title, std::string& table) {
      auto& s = self->state;
      parser_state::chunk c;
      c.bytes = std::move(title);
      c.table = std::move(table);
      c.tab = true;
      s.input.push_back(std::move(c));
      schedule_step(self);
    },
    [=](atom::eof) {
      self->state.input_done = true;
      schedule_step(self);
    },
    [=](atom::step) mutable { step(self, sync_id, writer, coordinator); },
  };
}

} // namespace sheetsync
