#include "actors/downloader.hpp"

#include <caf/all.hpp>

#include "sources/sheet_values.hpp"

namespace sheetsync {

downloader_actor::behavior_type
downloader(downloader_actor::stateful_pointer<downloader_state> self,
           sync_job job, parser_actor next, coordinator_actor coordinator) {
  using phase = downloader_state::phase;
  auto values = job.plan.format == body_format::sheet_values;
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
  auto fail = [=](failure f) {
    // Google's status codes get a message that says what to do.
    if (f.code == ec::http_status && !job.plan.spreadsheet_id.empty())
      f.text = http_failure_message(f.http_status, job.plan, job.client_email,
                                    "");
    self->send(coordinator, atom::failed::value, job.id, stage::download,
               make_error(f));
    self->quit();
  };
  auto schedule_step = [=] {
    if (!self->state.step_pending) {
      self->state.step_pending = true;
      self->send(self, atom::step::value);
    }
  };
  auto begin = [=](phase p, const std::string& url) {
    auto& s = self->state;
    transfer_options opts;
    opts.url = url;
    opts.fetch_timeout
      = std::chrono::duration_cast<std::chrono::milliseconds>(job.fetch_timeout);
    opts.max_bytes = p == phase::metadata ? downloader_state::max_metadata_bytes
                                          : job.max_bytes;
    opts.headers = s.headers;
    // Only the CSV export can answer a sign-in page in place of the data.
    opts.expect_csv = p == phase::sheet && !values;
    s.current = p;
    s.buffer.clear();
    s.handed = 0;
    s.transfer_done = false;
    s.transfer = std::make_unique<curl_transfer>(opts, job.cancel);
    schedule_step();
  };
  auto start = [=] {
    if (job.plan.metadata_url.empty())
      begin(phase::sheet, job.url);
    else
      begin(phase::metadata, job.plan.metadata_url);
  };
  // Hands full chunks (all bytes once the transfer is done) to the parser
  // while credit lasts; after the last one, tells parser and coordinator.
  self->state.hand_on = [=] {
    auto& s = self->state;
    auto left = [&] { return s.buffer.size() - s.handed; };
    while (s.in_flight < downloader_state::max_in_flight
           && (left() >= downloader_state::chunk_size
               || (s.transfer_done && left() > 0))) {
      auto n = std::min(left(), downloader_state::chunk_size);
      std::string chunk;
      if (n == s.buffer.size()) {
        chunk = std::move(s.buffer); // all of it: no copy
        s.buffer.clear();
      } else {
        chunk.assign(s.buffer, s.handed, n);
        s.handed += n;
      }
      if (s.handed == s.buffer.size()) {
        s.buffer.clear();
        s.handed = 0;
      }
      ++s.in_flight;
      self->request(next, caf::infinite, atom::chunk::value, std::move(chunk))
        .then(
          [=](caf::ok_atom) {
            auto& s = self->state;
            --s.in_flight;
            auto& t = *s.transfer;
            if (t.paused()
                && s.buffer.size() - s.handed < 2 * downloader_state::chunk_size) {
              t.resume();
              schedule_step();
            }
            self->state.hand_on();
          },
          [=](caf::error&) {
            // The parser reports its own failure to the coordinator.
            self->quit();
          });
    }
    if (s.transfer_done && s.buffer.empty() && s.in_flight == 0) {
      // Reported before the parser hears of the end, so the coordinator
      // always sees the download finish before the parse (the "processing"
      // phase): in the other order a quick parser could overtake the report.
      report(true);
      self->send(next, atom::eof::value);
      self->quit();
    }
  };
  if (job.plan.needs_token) {
    if (!job.token) {
      fail(failure{ec::auth_failed,
                   "no token provider for this source's credentials"});
    } else {
      // The provider exchanges or reuses a token; it has its own time-out.
      self->request(job.token, caf::infinite, caf::get_atom::value,
                    atom::token::value)
        .then(
          [=](const std::string& token) {
            self->state.headers.push_back("Authorization: Bearer " + token);
            start();
          },
          [=](caf::error& err) {
            self->send(coordinator, atom::failed::value, job.id,
                       stage::download, std::move(err));
            self->quit();
          });
    }
  } else {
    start();
  }
  return {
    [=](atom::step) {
      auto& s = self->state;
      s.step_pending = false;
      if (!s.transfer || s.transfer_done || s.transfer->paused())
        return;
      auto& t = *s.transfer;
      auto st = t.step(downloader_state::step_slice);
      if (s.handed > 0) {
        s.buffer.erase(0, s.handed);
        s.handed = 0;
      }
      t.take(s.buffer);
      if (st == curl_transfer::state::failed) {
        fail(t.error());
        return;
      }
      s.transfer_done = st == curl_transfer::state::done;
      if (s.current == phase::metadata) {
        if (!s.transfer_done) {
          schedule_step();
          return;
        }
        std::string title;
        failure err;
        if (!tab_title_for_gid(s.buffer, job.plan.gid, title, err,
                               job.plan.spreadsheet_id)) {
          fail(std::move(err));
          return;
        }
        begin(phase::sheet, values_url(job.plan, title));
        return;
      }
      // Every chunk, and at least every 250 ms when a slow server trickles.
      auto now = self->clock().now();
      if (s.transfer_done
          || t.bytes_received() - s.reported >= downloader_state::chunk_size
          || (t.bytes_received() != s.reported
              && now - s.reported_at >= std::chrono::milliseconds{250})) {
        s.reported_at = now;
        report(false);
      }
      if (values) {
        // The Sheets API answers one JSON document: convert it once whole
        // (bounded by the byte cap), then hand the CSV on like an export.
        if (!s.transfer_done) {
          schedule_step();
          return;
        }
        std::string csv;
        failure err;
        if (!values_to_csv(s.buffer, csv, err)) {
          fail(std::move(err));
          return;
        }
        s.buffer = std::move(csv);
      }
      self->state.hand_on();
      if (s.transfer_done)
        return; // Credit answers drive the rest.
      // Out of credit with a full buffer: stop reading the socket until the
      // parser catches up, which bounds memory whatever the sheet's size.
      if (s.buffer.size() - s.handed >= 2 * downloader_state::chunk_size) {
        t.pause();
        return;
      }
      schedule_step();
    },
  };
}

} // namespace sheetsync
