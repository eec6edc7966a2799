#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/typed_response_promise.hpp>
#include <caf/timespan.hpp>

#include "actors/sync_job.hpp"
#include "messages/actors.hpp"
#include "sources/source_spec.hpp"

namespace sheetsync {

/// How the coordinator runs syncs.
struct coordinator_config {
  /// The sources; the first is the default. At least one.
  std::vector<source_spec> sources;
  /// Where Google lives (tests point it at a fake).
  google_endpoints endpoints;
  /// Syncs of different sources that may run at once; the rest queue.
  size_t max_parallel = 2;
  /// Attempts per sync for retryable failures (429, 5xx, connection).
  unsigned max_attempts = 5;
  /// Longest backoff between two attempts (Google: 32-64 s).
  caf::timespan backoff_cap = std::chrono::seconds{32};
  /// Random part of each backoff, in [0, 1 s); tests pin it.
  std::function<caf::timespan()> jitter;
  /// Token providers by credentials path, spawned by the command.
  std::map<std::string, token_provider_actor> tokens;
  /// Service account e-mails by credentials path: a 403 names the address
  /// the sheet must be shared with.
  std::map<std::string, std::string> client_emails;
  /// The SQLite cache file.
  std::string db_path;
  /// Minimum time between two starts.
  caf::timespan cooldown = std::chrono::seconds{3};
  /// Whole-sync limit.
  caf::timespan max_duration = std::chrono::minutes{5};
  /// Finished syncs are forgotten from memory this long after they end.
  caf::timespan evict_after = std::chrono::minutes{5};
  /// Longest silence of the server during a download.
  caf::timespan fetch_timeout = std::chrono::seconds{90};
  /// Cap on the downloaded bytes.
  uint64_t max_bytes = uint64_t{1} << 30;
  /// Spawns the stages of a sync.
  pipeline_factory make_pipeline;
  /// Persists statuses and knows the previous sync's size; may be null.
  history_actor history;
  /// Reads cached rows for clients; may be null (then data requests fail).
  cache_reader_actor reader;
  /// Unix milliseconds for a sync's start time (tests pin it); its later
  /// timestamps add the time elapsed on the actor clock.
  std::function<int64_t()> wall_clock_ms;
};

/// Returns Unix milliseconds from the system clock.
int64_t system_wall_clock_ms();

/// A new sync id: "sync-", then time and randomness, unique across restarts.
std::string make_sync_id(int64_t wall_ms);

/// The percentage a sync shows, from what its stages reported. Downloading
/// covers 0-60, processing 60-80, saving 80-100; no phase reaches its upper
/// bound before it is done, and 100 only when the sync completes.
struct progress_tracker {
  bool download_done = false;
  bool parse_done = false;
  bool save_ready = false;
  /// Bytes announced by the server, 0 when unknown.
  uint64_t expected_bytes = 0;
  /// The previous sync's size: the estimate when nothing is announced.
  uint64_t estimate_bytes = 0;
  uint64_t downloaded_bytes = 0;
  uint64_t parsed_bytes = 0;
  uint64_t parsed_rows = 0;
  uint64_t saved_rows = 0;

  sync_state state() const;
  uint8_t percent() const;
};

/// A started sync waiting for a free slot.
struct queued_sync {
  std::string id;
  /// When it was started, on the actor clock (see active_sync::started_at).
  caf::actor_clock::time_point started_at;
};

/// One sync in flight: running its stages, or waiting between two attempts.
struct active_sync {
  std::string id;
  std::string source;
  /// When it was started, on the actor clock: its later timestamps are its
  /// started_ms plus the time since, so that the durations shown never go
  /// negative or jump when the wall clock steps.
  caf::actor_clock::time_point started_at;
  pipeline stages;
  std::shared_ptr<std::atomic<bool>> cancel;
  progress_tracker progress;
  /// The swap was requested: too late to cancel or time out.
  bool committing = false;
  /// The current attempt, from 1.
  unsigned attempt = 1;
  /// Between two attempts: no stages run, a retry message is scheduled.
  bool backing_off = false;
  /// The backoff ended while the previous attempt's stages were stopping.
  bool retry_when_drained = false;
  /// The writer found the content equal to the cached one.
  bool unchanged = false;
  /// Bytes in the last published status and when it was published: counts
  /// are published every MiB or half second even if the percentage stands.
  uint64_t published_bytes = 0;
  caf::actor_clock::time_point published_at;
  /// When the whole-sync limit expires, on the actor clock.
  caf::actor_clock::time_point deadline;
};

/// The coordinator's state: the single owner of every sync's status.
struct coordinator_state {
  static inline const char* name = "coordinator";

  coordinator_config cfg;
  /// Statuses of the running, queued and finished, not yet evicted syncs.
  std::unordered_map<std::string, sync_status> syncs;
  /// The running syncs, by source (one per source, at most max_parallel).
  std::map<std::string, active_sync> active;
  /// Started syncs waiting for a free slot, first come first served.
  std::deque<queued_sync> queue;
  /// Stages of ended syncs that have not terminated yet, by source: the next
  /// sync of that source waits for them so two writers never share a table.
  /// A source's entry goes once its last stage is down.
  std::unordered_map<std::string, std::vector<caf::actor_addr>> draining;
  /// The id of the most recently started sync, overall and by source.
  std::string latest_id;
  std::unordered_map<std::string, std::string> latest_by_source;
  /// When each source's last sync was started, on the actor clock.
  std::unordered_map<std::string, caf::actor_clock::time_point> last_start;
  /// Size of each source's last complete sync, for progress estimates.
  std::unordered_map<std::string, uint64_t> last_size;
  /// When each source's last complete sync ended (Unix ms): what data pages
  /// report as synced, without waiting for the history to record it.
  std::unordered_map<std::string, int64_t> synced_ms;
  /// Each source's fetch plan, or why it has none (start refuses those).
  std::unordered_map<std::string, fetch_plan> plans;
  std::unordered_map<std::string, failure> plan_errors;
  /// Listeners and the sync id each wants ("" = every sync). A subscription
  /// to one sync ends with the sync (after its final status), one to every
  /// sync with the listener.
  std::vector<std::pair<status_listener_actor, std::string>> subscribers;
  evictor_actor evictor;
};

/// Spawnable behavior of the coordinator.
/// @param self The coordinator.
/// @param cfg Sources, limits and the stage factory.
coordinator_actor::behavior_type
coordinator(coordinator_actor::stateful_pointer<coordinator_state> self,
            coordinator_config cfg);

} // namespace sheetsync
