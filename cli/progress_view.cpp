#include "cli/progress_view.hpp"

#include <cinttypes>
#include <iostream>
#include <unistd.h>

namespace sheetsync {

std::string status_line(const sync_status& st) {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%-11s %3u%%  %10s  %10" PRIu64 " rows  ",
                to_string(st.state), static_cast<unsigned>(st.progress),
                human_size(st.bytes).c_str(), st.rows);
  return buf + st.message;
}

std::string status_bar(const sync_status& st, size_t width) {
  auto filled = width * st.progress / 100;
  std::string bar = "[";
  bar.append(filled, '#');
  bar.append(width - filled, '.');
  bar += "] ";
  char buf[128];
  std::snprintf(buf, sizeof(buf), "%3u%%  %-11s %10s  %" PRIu64 " rows",
                static_cast<unsigned>(st.progress), to_string(st.state),
                human_size(st.bytes).c_str(), st.rows);
  return bar + buf;
}

progress_view::progress_view(std::FILE* out)
  : out_(out), tty_(isatty(fileno(out)) != 0) {
  // nop
}

void progress_view::show(const sync_status& st) {
  if (tty_) {
    // \r and erase-line: redraw the bar in place.
    std::fprintf(out_, "\r\033[2K%s", status_bar(st).c_str());
    open_ = true;
  } else {
    // The final status is report_final's line: shown here too it would be
    // printed twice.
    if (finished(st.state))
      return;
    auto line = status_line(st);
    if (line == last_)
      return;
    std::fprintf(out_, "%s\n", line.c_str());
    last_ = std::move(line);
  }
  std::fflush(out_);
}

void progress_view::close() {
  if (open_) {
    std::fprintf(out_, "\n");
    std::fflush(out_);
    open_ = false;
  }
}

int report_final(progress_view& view, const sync_status& st, const char* prog,
                 const std::string& table, const std::string& db) {
  view.close();
  if (st.state == sync_state::complete) {
    std::cout << st.message;
    if (!table.empty()) {
      // "Synced 300 rows (...) in 0.1 s into table sheet of x.db"; an
      // unchanged sheet wrote nothing, so it only names the table.
      if (st.message.compare(0, 17, "Synced: unchanged") == 0)
        std::cout << " (table " << table << " of " << db << ")";
      else
        std::cout << " into table " << table << " of " << db;
    }
    std::cout << std::endl;
    return 0;
  }
  if (st.state == sync_state::cancelled) {
    std::cerr << prog << ": " << st.message << "\n";
    return 130;
  }
  std::cerr << prog << ": sync failed: " << st.error << "\n";
  return 1;
}

} // namespace sheetsync
