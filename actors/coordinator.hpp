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

/// What a source added at run time takes for the fields left empty: the
/// service's own settings (flags or the config file's [sheetsync]).
struct source_defaults {
  /// --api-key (or SHEETSYNC_GOOGLE_API_KEY).
  std::string api_key;
  /// --credentials.
  std::string credentials;
  /// --access.
  access_mode access = access_mode::automatic;
  /// Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS): for a
  /// spreadsheet with neither credentials nor an API key.
  std::string default_credentials;
};

/// How the coordinator runs syncs.
struct coordinator_config {
  /// The sources from flags or the config file (fixed); the first is the
  /// default.
  std::vector<source_spec> sources;
  /// Where each of `sources` is defined, by name (e.g. "the --source flag",
  /// "config file /etc/x.conf").
  std::map<std::string, std::string> defined_in;
  /// Sources added at run time before (the cache's sources table), as given:
  /// the defaults apply as for new ones. A name of a fixed source is skipped
  /// with a warning.
  std::vector<source_spec> stored_sources;
  /// The defaults of run-time sources.
  source_defaults defaults;
  /// Keeps run-time sources; may be null (then nothing is stored).
  source_store_actor store;
  /// Spawns a loader for a credentials path that has no token provider yet (a
  /// run-time or stored source's): it reads the file off this actor's thread.
  /// Null = none is loaded (tests without tokens: the stages get none).
  std::function<credentials_loader_actor(caf::local_actor* self,
                                         const std::string& path)>
    spawn_credentials_loader;
  /// Spawn the scheduler (which starts every source with an interval) and
  /// keep it told as sources come, change and go.
  bool run_scheduler = false;
  /// Where Google lives (tests point it at a fake).
  google_endpoints endpoints;
  /// Syncs of different sources that may run at once; the rest queue.
  size_t max_parallel = 2;
  /// Sources that may be added at run time (each costs a slot, a schedule
  /// and tables): an API client cannot grow the service without bound.
  size_t max_runtime_sources = 1000;
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
  /// Sheets API: rows per request when a whole tab is read.
  uint64_t api_batch_rows = 50000;
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
  /// A spreadsheet synced tab by tab: the tab being downloaded (title,
  /// 0-based index) and how many; 0 tabs otherwise.
  std::string tab;
  uint32_t tab_index = 0;
  uint32_t tab_count = 0;

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

/// One source and everything the coordinator keeps about it: one entry per
/// source instead of parallel maps that could drift apart.
struct source_slot {
  /// Hidden from clients while its row is stored (adding) or while its sync
  /// stops and its tables are dropped (removing); its name stays taken.
  enum class phase : uint8_t { adding, live, removing };

  /// As it runs (run-time sources: the defaults applied).
  source_spec spec;
  /// A run-time source as given and stored (fields left empty stay empty).
  source_spec given;
  phase state = phase::live;
  /// Defined by a flag or the config file: not changed or removed at run time.
  bool fixed = false;
  /// Where a fixed source is defined, e.g. "the --sheet flag".
  std::string defined_in;
  /// How to fetch it, or why it cannot be fetched (start refuses those).
  std::optional<fetch_plan> plan;
  failure plan_error;
  /// Its running sync (or one between attempts): the source's lock.
  std::optional<active_sync> active;
  /// Its started sync waiting for a free slot in the queue; "" if none.
  std::string queued_id;
  /// Stages of its ended syncs that have not terminated yet: its next sync
  /// waits for them so two writers never share a table.
  std::vector<caf::actor_addr> draining;
  /// When its last sync was started, on the actor clock.
  std::optional<caf::actor_clock::time_point> last_start;
  /// Size of its last complete sync, for progress estimates.
  std::optional<uint64_t> last_size;
  /// When its last complete sync ended (Unix ms): what data pages report as
  /// synced, without waiting for the history to record it.
  std::optional<int64_t> synced_ms;
  /// The id of its most recently started sync; "" if none since start-up.
  std::string latest_id;
  /// The answer to a delete, once its sync stopped and its tables are gone.
  caf::typed_response_promise<caf::ok_atom> removed;
};

/// The coordinator's state: the single owner of every sync's status.
struct coordinator_state {
  static inline const char* name = "coordinator";

  coordinator_config cfg;
  /// Statuses of the running, queued and finished, not yet evicted syncs.
  /// Each names its source: this is also the index from a sync id to its
  /// source's slot (a running or queued sync is never evicted).
  std::unordered_map<std::string, sync_status> syncs;
  /// The sources by name.
  std::unordered_map<std::string, source_slot> slots;
  /// Source names in listing order; the default source comes first.
  std::vector<std::string> order;
  /// Started syncs waiting for a free slot, first come first served.
  std::deque<queued_sync> queue;
  /// Syncs running or between attempts (at most max_parallel).
  size_t running = 0;
  /// The id of the most recently started sync.
  std::string latest_id;
  /// Listeners and the sync id each wants ("" = every sync). A subscription
  /// to one sync ends with the sync (after its final status), one to every
  /// sync with the listener.
  std::vector<std::pair<status_listener_actor, std::string>> subscribers;
  evictor_actor evictor;
  /// Starts scheduled syncs (null unless cfg.run_scheduler).
  scheduler_actor scheduler;
  /// Token providers spawned for run-time credentials (stopped with us).
  std::vector<token_provider_actor> spawned_tokens;
  /// Credentials files being read, and what waits for each (one load per
  /// file however many sources name it).
  std::map<std::string, std::vector<std::function<void(const failure&)>>>
    loading;
};

/// Spawnable behavior of the coordinator.
/// @param self The coordinator.
/// @param cfg Sources, limits and the stage factory.
coordinator_actor::behavior_type
coordinator(coordinator_actor::stateful_pointer<coordinator_state> self,
            coordinator_config cfg);

} // namespace sheetsync
