#include "actors/downloader.hpp"

#include <caf/all.hpp>

namespace sheetsync {

downloader_actor::behavior_type
downloader(downloader_actor::stateful_pointer<downloader_state> self,
           sync_job job, parser_actor next, coordinator_actor coordinator) {
  transfer_options opts;
  opts.url = job.url;
  opts.fetch_timeout
    = std::chrono::duration_cast<std::chrono::milliseconds>(job.fetch_timeout);
  opts.max_bytes = job.max_bytes;
  self->state.transfer = std::make_unique<curl_transfer>(opts, job.cancel);
  auto report = [=](bool finished) {
    auto& t = *self->state.transfer;
    stage_report r;
    r.sync_id = job.id;
    r.from = stage::download;
    r.finished = finished;
    r.bytes = t.bytes_received();
    r.expected_bytes = t.expected_bytes().value_or(0);
    self->state.reported = r.bytes;
    self->send(coordinator, atom::progress::value, std::move(r));
  };
  auto schedule_step = [=] {
    if (!self->state.step_pending) {
      self->state.step_pending = true;
      self->send(self, atom::step::value);
    }
  };
  // Hands full chunks (all bytes once the transfer is done) to the parser
  // while credit lasts; after the last one, tells parser and coordinator.
  self->state.hand_on = [=] {
    auto& s = self->state;
    while (s.in_flight < downloader_state::max_in_flight
           && (s.buffer.size() >= downloader_state::chunk_size
               || (s.transfer_done && !s.buffer.empty()))) {
      auto n = std::min(s.buffer.size(), downloader_state::chunk_size);
      ++s.in_flight;
      self->request(next, caf::infinite, atom::chunk::value, s.buffer.substr(0, n))
        .then(
          [=](caf::ok_atom) {
            auto& s = self->state;
            --s.in_flight;
            auto& t = *s.transfer;
            if (t.paused() && s.buffer.size() < 2 * downloader_state::chunk_size) {
              t.resume();
              schedule_step();
            }
            self->state.hand_on();
          },
          [=](caf::error&) {
            // The parser reports its own failure to the coordinator.
            self->quit();
          });
      s.buffer.erase(0, n);
    }
    if (s.transfer_done && s.buffer.empty() && s.in_flight == 0) {
      self->send(next, atom::eof::value);
      report(true);
      self->quit();
    }
  };
  schedule_step();
  return {
    [=](atom::step) {
      auto& s = self->state;
      auto& t = *s.transfer;
      s.step_pending = false;
      if (s.transfer_done || t.paused())
        return;
      auto st = t.step(downloader_state::step_slice);
      t.take(s.buffer);
      if (st == curl_transfer::state::failed) {
        self->send(coordinator, atom::failed::value, job.id, stage::download,
                   make_error(t.error()));
        self->quit();
        return;
      }
      s.transfer_done = st == curl_transfer::state::done;
      // Every chunk, and at least every 250 ms when a slow server trickles.
      auto now = self->clock().now();
      if (s.transfer_done
          || t.bytes_received() - s.reported >= downloader_state::chunk_size
          || (t.bytes_received() != s.reported
              && now - s.reported_at >= std::chrono::milliseconds{250})) {
        s.reported_at = now;
        report(false);
      }
      self->state.hand_on();
      if (s.transfer_done)
        return; // Credit answers drive the rest.
      // Out of credit with a full buffer: stop reading the socket until the
      // parser catches up, which bounds memory whatever the sheet's size.
      if (s.buffer.size() >= 2 * downloader_state::chunk_size) {
        t.pause();
        return;
      }
      schedule_step();
    },
  };
}

} // namespace sheetsync
