#include "actors/downloader.hpp"

#include <caf/all.hpp>

#include "sources/sheet_values.hpp"
#include "store/tab_tables.hpp"

namespace sheetsync {

downloader_actor::behavior_type
downloader(downloader_actor::stateful_pointer<downloader_state> self,
           sync_job job, parser_actor next, coordinator_actor coordinator) {
  using phase = downloader_state::phase;
  auto values = job.plan.format == body_format::sheet_values;
  auto tabbed = job.plan.tabbed();
  // Summed over the transfers so far.
  auto received = [=] {
    auto& s = self->state;
    return s.bytes_before + s.transfer->bytes_received();
  };
  auto report = [=](bool finished) {
    auto& s = self->state;
    auto& t = *s.transfer;
    stage_report r;
    r.sync_id = job.id;
    r.from = stage::download;
    r.finished = finished;
    r.bytes = received();
    // The size announced for one range says nothing of the whole.
    r.expected_bytes = s.titles.empty() ? t.expected_bytes().value_or(0) : 0;
    if (tabbed && s.tab < s.titles.size()) {
      r.tab = s.titles[s.tab];
      r.tab_index = static_cast<uint32_t>(s.tab);
      r.tab_count = static_cast<uint32_t>(s.titles.size());
    }
    s.reported = r.bytes;
    self->send(coordinator, atom::progress::value, std::move(r));
  };
  auto fail = [=](failure f) {
    // Google's status codes get a message that says what to do.
    if (f.code == ec::http_status && !job.plan.spreadsheet_id.empty())
      f.text = http_failure_message(f.http_status, job.plan, job.client_email,
                                    "");
    auto& s = self->state;
    if (tabbed && s.tab < s.titles.size())
      f.text = "tab '" + s.titles[s.tab] + "': " + f.text;
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
    if (s.transfer && s.current == phase::sheet)
      s.bytes_before += s.transfer->bytes_received();
    // The cap counts the bytes of every range and tab.
    opts.max_bytes = p == phase::metadata
                       ? downloader_state::max_metadata_bytes
                       : std::max<uint64_t>(1, job.max_bytes
                                                 - std::min(job.max_bytes,
                                                            s.bytes_before));
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
  // The next row range of the current tab.
  auto begin_range = [=] {
    auto& s = self->state;
    if (job.api_batch_rows == 0) { // no ranges: the whole tab at once
      begin(phase::sheet, values_url(job.plan, s.titles[s.tab]));
      return;
    }
    auto last = s.first_row + job.api_batch_rows - 1;
    begin(phase::sheet,
          tab_rows_url(job.plan, s.titles[s.tab], s.first_row, last));
  };
  // The current tab from its first row (its header).
  auto begin_tab = [=] {
    auto& s = self->state;
    s.first_row = 1;
    s.blank_rows = 0;
    if (tabbed)
      self->send(next, atom::tab::value, s.titles[s.tab], s.tables[s.tab]);
    begin_range();
    if (tabbed)
      report(false); // names the tab in progress
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
    if (s.transfer_done && s.buffer.empty() && s.next_range) {
      // All of the range handed on: the next one, while the parser works.
      s.next_range = false;
      s.first_row += job.api_batch_rows;
      begin_range();
      return;
    }
    if (s.transfer_done && s.buffer.empty() && s.next_tab) {
      s.next_tab = false;
      ++s.tab;
      begin_tab();
      return;
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
        failure err;
        if (tabbed) {
          std::vector<sheet_tab> tabs;
          if (!sheet_tabs(s.buffer, tabs, err, job.plan.spreadsheet_id)
              || !select_tabs(tabs, job.plan.all_tabs, job.plan.tabs, s.titles,
                              err, job.plan.spreadsheet_id)) {
            fail(std::move(err));
            return;
          }
          s.tables = tab_tables(job.source, s.titles);
          for (auto& title : s.titles)
            for (auto& tab : tabs)
              if (tab.title == title) {
                s.row_counts.push_back(tab.row_count);
                break;
              }
        } else {
          std::string title;
          uint64_t row_count = 0;
          if (!tab_title_for_gid(s.buffer, job.plan.gid, title, err,
                                 job.plan.spreadsheet_id, &row_count)) {
            fail(std::move(err));
            return;
          }
          if (!job.plan.range.empty()) {
            begin(phase::sheet, values_url(job.plan, title));
            return;
          }
          s.titles.push_back(std::move(title));
          s.row_counts.push_back(row_count);
        }
        s.tab = 0;
        begin_tab();
        return;
      }
      // Every chunk, and at least every 250 ms when a slow server trickles.
      auto now = self->clock().now();
      if (s.transfer_done
          || received() - s.reported >= downloader_state::chunk_size
          || (received() != s.reported
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
        size_t rows = 0;
        auto ranged = !s.titles.empty() && job.api_batch_rows > 0;
        if (!values_to_csv(s.buffer, csv, err, &rows,
                           ranged ? s.blank_rows : 0)) {
          fail(std::move(err));
          return;
        }
        if (ranged) {
          // Blank rows written ahead of this range's data, or all of the
          // range blank so far (an answer without a cell is "").
          s.blank_rows = csv.empty() ? s.blank_rows + job.api_batch_rows
                                     : job.api_batch_rows - std::min<uint64_t>(
                                         rows, job.api_batch_rows);
        }
        s.buffer = std::move(csv);
        s.handed = 0;
        // The tab goes on to its rowCount (or, without one, while ranges
        // come back full).
        if (!s.titles.empty()) {
          if (more_row_ranges(s.first_row, job.api_batch_rows, rows,
                              s.row_counts[s.tab]))
            s.next_range = true;
          else if (s.tab + 1 < s.titles.size())
            s.next_tab = true;
        }
      }
      self->state.hand_on();
      // Credit answers drive the rest; or the next range began.
      if (s.transfer_done || s.transfer.get() != &t)
        return;
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
