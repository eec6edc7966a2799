#pragma once

#include <cstdio>
#include <string>

#include "messages/sync_status.hpp"

namespace sheetsync {

/// One line for logs and pipes: `downloading  42%  12.3 MiB  120345 rows  Downloading the sheet`.
std::string status_line(const sync_status& st);

/// A terminal progress bar of `width` cells followed by phase, percent, bytes, rows.
std::string status_bar(const sync_status& st, size_t width = 30);

/// Shows status changes: redraws one bar on a terminal, prints one line per
/// change otherwise (but for the final status: report_final prints that).
class progress_view {
public:
  explicit progress_view(std::FILE* out);
  void show(const sync_status& st);
  /// Ends the bar's line (on a terminal).
  void close();

private:
  std::FILE* out_;
  bool tty_;
  bool open_ = false;
  std::string last_;
};

/// Reports the final status of a sync once `view` showed it: closes `view`,
/// then prints the message to stdout when complete, else `prog: message`
/// (cancelled) or `prog: sync failed: error` to stderr. Returns the exit
/// code: 0 complete, 130 cancelled, 1 failed.
/// @param prog The program prefix, e.g. "sheetsync sync".
/// @param table, db When known (a local sync), the complete line names them:
///        "... into table sheet of x.db".
int report_final(progress_view& view, const sync_status& st, const char* prog,
                 const std::string& table = "", const std::string& db = "");

} // namespace sheetsync
