#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "messages/actors.hpp"
#include "sources/fetch_plan.hpp"

namespace sheetsync {

/// Everything the stages of one sync need to know.
struct sync_job {
  std::string id;
  /// Source name = cache table name.
  std::string source;
  std::string url;
  /// What to download and how (export or Sheets API, token or not).
  fetch_plan plan;
  /// Gives the bearer token when plan.needs_token.
  token_provider_actor token;
  /// The service account's e-mail, for the 403 message; "" if none.
  std::string client_email;
  std::string db_path;
  caf::timespan fetch_timeout = std::chrono::seconds{90};
  uint64_t max_bytes = uint64_t{1} << 30;
  /// Sheets API: rows per values.get request when a whole tab is read (one
  /// row range after the other), so that no single answer is huge.
  uint64_t api_batch_rows = 50000;
  /// Set to cancel the transfer at once, even while libcurl blocks.
  std::shared_ptr<std::atomic<bool>> cancel;
};

/// The three stages of one sync.
struct pipeline {
  downloader_actor downloader;
  parser_actor parser;
  cache_writer_actor writer;
};

/// Spawns the stages of a sync. Production spawns the libcurl downloader and
/// the SQLite writer detached; deterministic tests hand in scheduled fakes.
using pipeline_factory = std::function<pipeline(
  caf::local_actor* self, const sync_job& job, coordinator_actor coordinator)>;

} // namespace sheetsync
