#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "messages/source_check.hpp"
#include "sources/fetch_plan.hpp"

namespace sheetsync {

/// The most a check of a source fetches and waits.
struct preview_limits {
  /// Data rows shown (after the header).
  size_t rows = 5;
  /// Bytes read per request: a check stops reading there (CSV) or refuses a
  /// larger answer (JSON).
  uint64_t max_bytes = uint64_t{1} << 20;
  /// Longest silence of the server.
  std::chrono::milliseconds fetch_timeout{20'000};
  /// Longest the whole check may take.
  std::chrono::milliseconds max_time{20'000};
};

/// Tries a planned source without saving anything, the way a sync would
/// read it: for the Sheets API, the spreadsheet's tab list and title first
/// (spreadsheets.get), then the header and first `limits.rows` rows of the
/// plan's tab; for the CSV export and CSV URLs, the first bytes until the
/// header and `limits.rows` rows are complete (the transfer stops there).
/// Parses them with the sync's CSV parser, so the columns are named as the
/// cache would name them.
///
/// Never fails: a problem comes back as `ok = false` with the downloader's
/// texts (Google's 401/403/404 explained with http_failure_message, the
/// sign-in page and other HTML pages, time-outs, unreachable hosts, a bad
/// token, an empty sheet). Blocks in libcurl for at most about
/// `limits.max_time`: call it from a detached actor.
/// @param bearer The access token when plan.needs_token (a secret), else "".
/// @param client_email The service account's e-mail, for a 403; "" if none.
/// @param cancel Aborts the transfer at once when set; may be null.
source_check preview_source(const fetch_plan& plan, const std::string& bearer,
                            const std::string& client_email,
                            const preview_limits& limits,
                            std::shared_ptr<std::atomic<bool>> cancel = nullptr);

/// A source name proposed for a plan: the spreadsheet's `title` when known,
/// else a plain URL's file name, else "sheet_" and the start of the id or
/// publish key; lower-cased, each run of characters other than [a-z0-9]
/// one '_' (so never "__"), at most 40 characters; always a valid --name.
std::string proposed_source_name(const fetch_plan& plan, const std::string& title);

} // namespace sheetsync
