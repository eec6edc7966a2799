#pragma once

// Every typed actor interface of sheetsync, in one place. Control flows down
// (coordinator -> stages), progress flows up (stages -> coordinator), data
// flows left to right (downloader -> parser -> cache writer) under credit:
// a data message is a request, its answer returns the credit.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "messages/error.hpp"
#include "messages/type_ids.hpp"

namespace sheetsync {

/// Anyone who wants to hear about status changes.
using status_listener_actor = caf::typed_actor<
  // Receives a sync's status after every change.
  caf::reacts_to<sync_status>>;

/// The coordinator as everyone but its own stages sees it (facades, the
/// scheduler, the CLI, remote nodes): owns the sync lock, all sync state and
/// the sources.
using coordinator_api = caf::typed_actor<
  // Starts a sync of a source ("" = the default source); answers its new id,
  // or ec::busy (with the running id) or ec::cooldown (with seconds left).
  caf::replies_to<atom::start, std::string>::with<std::string>,
  // Answers a sync's status ("" = the running or latest one; idle if none),
  // or ec::unknown_sync.
  caf::replies_to<atom::status, std::string>::with<sync_status>,
  // Cancels a running sync; answers its final status, or ec::unknown_sync /
  // ec::not_running.
  caf::replies_to<atom::cancel, std::string>::with<sync_status>,
  // Answers the running sync of a source ("" = default), else its latest
  // (from the history after a restart), else idle; ec::invalid_argument for
  // an unknown source.
  caf::replies_to<atom::last, std::string>::with<sync_status>,
  // Subscribes a listener to every status change of every sync.
  caf::reacts_to<atom::subscribe, status_listener_actor>,
  // Subscribes a listener to the status changes of one sync id (its current
  // status is sent at once, so nothing is missed between start and subscribe).
  caf::reacts_to<atom::subscribe, status_listener_actor, std::string>,
  // Answers every configured source with its running and latest sync; the
  // default source comes first.
  caf::replies_to<caf::get_atom, atom::sources>::with<std::vector<source_info>>,
  // Answers past syncs of a source ("" = all), newest first, at most limit.
  caf::replies_to<caf::get_atom, atom::history, std::string,
                  uint64_t>::with<std::vector<sync_status>>,
  // Answers a page of a source's cached rows: (source ("" = default), tab
  // title ("" = the first tab of a tabbed source), limit, offset); an empty
  // page when the source was never synced; ec::invalid_argument for a tab
  // the source does not have.
  caf::replies_to<caf::get_atom, atom::data, std::string, std::string,
                  uint64_t, uint64_t>::with<data_page>,
  // Answers ok when the service can serve its cache (readiness); otherwise
  // an error whose text says why (ec::cache_failed, ec::cache_busy,
  // ec::unavailable).
  caf::replies_to<caf::get_atom, atom::ready>::with<caf::ok_atom>,
  // Answers one source as the list shows it; ec::unknown_source.
  caf::replies_to<caf::get_atom, atom::sources, std::string>::with<source_info>,
  // Adds a source at run time (stored in the cache's sources table); fields
  // left empty take the service's settings. Answers it as the list shows it;
  // ec::invalid_argument naming the field, ec::source_exists.
  caf::replies_to<caf::put_atom, atom::sources, source_spec>::with<source_info>,
  // Changes the listed fields ("url", "id", "gid", "access", "apiKey",
  // "credentials", "interval", "tabs") of the source spec.name names; answers
  // it; ec::unknown_source, ec::fixed_source (saying where it is defined),
  // ec::invalid_argument.
  caf::replies_to<atom::update, source_spec,
                  std::vector<std::string>>::with<source_info>,
  // Removes a run-time source: cancels its running or queued sync, drops its
  // table(s), keeps its history; ec::unknown_source, ec::fixed_source.
  caf::replies_to<caf::delete_atom, atom::sources, std::string>::with<
    caf::ok_atom>,
  // Tries a source without saving anything: its header and first rows, or
  // ok=false with what is wrong (problems are not errors).
  caf::replies_to<atom::check, source_spec>::with<source_check>>;

/// The coordinator's own view: the public interface plus what its stages,
/// its evictor and its timers send it.
using coordinator_actor = coordinator_api::extend<
  // A stage's progress or completion (sent by the stages).
  caf::reacts_to<atom::progress, stage_report>,
  // A stage failed: (sync id, stage, error) (sent by the stages).
  caf::reacts_to<atom::failed, std::string, stage, caf::error>,
  // Forgets a finished sync (sent by the evictor).
  caf::reacts_to<atom::forget, std::string>,
  // The whole-sync limit of a sync expired (sent to itself).
  caf::reacts_to<atom::deadline, std::string>,
  // A failed attempt's backoff is over: run the sync again (sent to itself).
  caf::reacts_to<atom::retry, std::string>>;

/// A local stand-in for the coordinator of another node (serve
/// --coordinator): the coordinator's public interface, forwarded while
/// connected and answered with ec::unavailable while not.
using remote_coordinator_actor = coordinator_api::extend<
  // Time to connect again (sent to itself on the actor clock).
  caf::reacts_to<atom::tick>>;

/// The cache writer: writes row batches aside and swaps them in.
using cache_writer_actor = caf::typed_actor<
  // Writes a batch aside; the answer returns one credit to the parser.
  caf::replies_to<atom::batch, row_batch>::with<caf::ok_atom>,
  // The batches that follow are the tab (title, table) of a spreadsheet
  // synced tab by tab; with the content hash of the previous tab ("" before
  // the first). The writer sets the previous tab's table aside and writes
  // the next one aside too; the commit swaps every tab in at once.
  caf::reacts_to<atom::tab, std::string, std::string, std::string>,
  // No more batches; with the content hash of all of them (content_hasher),
  // which the parser computes as it touches the bytes anyway, so that the
  // writer's thread (the pipeline's slowest) only writes. Reports save
  // finished (ready to swap) to the coordinator.
  caf::reacts_to<atom::eof, std::string>,
  // Swaps the new rows in; answers the rows now in the cache. Only the
  // coordinator sends it, once it has decided the sync is still wanted.
  caf::replies_to<atom::commit>::with<uint64_t>>;

/// Copies the cache's WAL into its file (a passive checkpoint) on its own
/// connection and thread, beside a cache writer, so that the writer's thread
/// neither copies pages nor waits for fsync.
using checkpointer_actor = caf::typed_actor<
  // Runs one passive checkpoint; answers once it ran (also when readers or
  // newer frames held part of the WAL back).
  caf::replies_to<atom::checkpoint>::with<caf::ok_atom>>;

/// The parser: turns downloaded chunks into row batches.
using parser_actor = caf::typed_actor<
  // Parses a chunk; the answer returns one credit to the downloader once the
  // chunk's rows were handed on.
  caf::replies_to<atom::chunk, std::string>::with<caf::ok_atom>,
  // The chunks that follow are the tab (title, table) of a spreadsheet synced
  // tab by tab: the chunks before it end the previous tab (header first
  // again).
  caf::reacts_to<atom::tab, std::string, std::string>,
  // The download is complete: parse the rest, hand on the last batch.
  caf::reacts_to<atom::eof>>;

/// The parser's own view of itself: the public interface plus the message it
/// sends itself to parse in bounded slices.
using parser_internal_actor = parser_actor::extend<
  // Parses the next slice of the chunks received (sent to itself).
  caf::reacts_to<atom::step>>;

/// The downloader: fetches the sheet in short steps and feeds the parser.
using downloader_actor = caf::typed_actor<
  // Drives the transfer for one short step (sent to itself).
  caf::reacts_to<atom::step>>;

/// The evictor: forgets finished syncs after a delay, on the actor clock.
using evictor_actor = caf::typed_actor<
  // Schedules forgetting a finished sync.
  caf::reacts_to<atom::evict, std::string>,
  // The delay for a sync expired (sent to itself).
  caf::reacts_to<atom::forget, std::string>>;

/// The cache reader: reads pages of cached rows on its own connection.
using cache_reader_actor = caf::typed_actor<
  // Answers (source, tab, limit, offset) -> page; with tabs recorded for
  // the source (sync_tabs), the tab's table ("" = the first tab) and the
  // titles; ec::invalid_argument for an unknown tab; ec::cache_busy while
  // another process holds the cache locked, ec::cache_failed on other errors.
  caf::replies_to<caf::get_atom, atom::data, std::string, std::string,
                  uint64_t, uint64_t>::with<data_page>,
  // Answers ok when the cache file can be opened and read; otherwise the
  // reason (naming the file) as ec::cache_failed or ec::cache_busy.
  caf::replies_to<caf::get_atom, atom::ready>::with<caf::ok_atom>>;

/// The history: persists every sync's status in the cache's sync_runs table.
using history_actor = caf::typed_actor<
  // Records a status (insert or update by id).
  caf::reacts_to<caf::put_atom, sync_status>,
  // Answers the last complete sync of a source (empty id if none): its size is
  // the download's estimate when the server sends no Content-Length.
  caf::replies_to<atom::last, std::string>::with<sync_status>,
  // Answers the recorded status of a sync id; ec::unknown_sync if none.
  caf::replies_to<atom::status, std::string>::with<sync_status>,
  // Answers recorded syncs of a source ("" = all), newest first, at most limit.
  caf::replies_to<atom::history, std::string, uint64_t>::with<
    std::vector<sync_status>>>;

/// The source store: keeps the sources added at run time in the cache's
/// sources table, on its own connection and thread.
using source_store_actor = caf::typed_actor<
  // Stores a source (insert or replace by name); answers once it is stored.
  caf::replies_to<caf::put_atom, source_spec>::with<caf::ok_atom>,
  // Removes a source's row and drops its tables (`name`, `name__*`); its
  // history stays. Answers once done.
  caf::replies_to<caf::delete_atom, std::string>::with<caf::ok_atom>>;

/// The token provider: one per credentials file. Exchanges a signed JWT
/// (service account) or the refresh token (authorized user) for an access
/// token at the credentials' token_uri and caches it until shortly before it
/// expires.
using token_provider_actor = caf::typed_actor<
  // Answers a valid access token (a secret: never log it); ec::auth_failed
  // with a message that names no secret.
  caf::replies_to<caf::get_atom, atom::token>::with<std::string>>;

/// A credentials loader: reads one credentials file first named at run time
/// and spawns its token provider (spawned per file, detached: it reads the
/// file), then quits.
using credentials_loader_actor = caf::typed_actor<
  // Answers the file's token provider and the service account's e-mail (""
  // for other credentials); ec::bad_credentials with a message that names
  // the file and no secret.
  caf::replies_to<caf::get_atom, atom::token>::with<token_provider_actor,
                                                    std::string>>;

/// A source checker: tries one planned source once, without saving anything
/// (spawned per check, detached: it blocks in libcurl), then quits.
using source_checker_actor = caf::typed_actor<
  // Fetches the header and first rows (and the tab list with API access) and
  // answers what it found; a problem is ok = false with a message in words,
  // never an error.
  caf::replies_to<atom::check>::with<source_check>>;

/// The scheduler: starts each scheduled source's sync every interval.
using scheduler_actor = caf::typed_actor<
  // Schedules a source every interval from now on, replacing its schedule;
  // 0 (or less) = not any more (sent by the coordinator as sources change).
  caf::reacts_to<caf::put_atom, std::string, caf::timespan>,
  // A source's interval elapsed: (source, generation of its schedule) (sent
  // to itself on the actor clock; ticks of a replaced schedule are ignored).
  caf::reacts_to<atom::tick, std::string, uint64_t>>;

/// A webhook poster: makes one delivery attempt at a time (spawned detached:
/// it blocks in libcurl for up to its time-out).
using webhook_poster_actor = caf::typed_actor<
  // POSTs (url, headers, body); answers the HTTP status (0 = no answer) and
  // why the attempt failed ("" = the receiver answered 2xx).
  caf::replies_to<atom::post, std::string, std::vector<std::string>,
                  std::string>::with<uint16_t, std::string>>;

/// The webhook store: keeps deliveries in the cache's webhook_deliveries
/// table, on its own connection and thread.
using webhook_store_actor = caf::typed_actor<
  // Records a delivery (insert or update by id); a finished one also prunes
  // the finished deliveries beyond the newest the store keeps.
  caf::reacts_to<caf::put_atom, webhook_delivery>,
  // Answers every pending delivery and the newest finished ones (at most
  // limit), newest first; also what a shutdown waits on (earlier puts are
  // written by then).
  caf::replies_to<caf::get_atom, atom::webhooks,
                  uint64_t>::with<std::vector<webhook_delivery>>>;

/// The webhook sender as the HTTP facade sees it.
using webhook_api = caf::typed_actor<
  // Answers the latest deliveries (pending and finished), newest first, at
  // most limit.
  caf::replies_to<caf::get_atom, atom::webhooks,
                  uint64_t>::with<std::vector<webhook_delivery>>,
  // Answers its /metrics lines (Prometheus text, ending in a line break).
  caf::replies_to<caf::get_atom, atom::metrics>::with<std::string>>;

/// The webhook sender: listens to every status of the coordinator and turns
/// each sync's final status into one signed delivery per matching receiver,
/// retried on the actor clock.
using webhook_sender_actor = webhook_api::extend_with<status_listener_actor>::extend<
  // A delivery's next attempt is due: (id, attempts made when it was
  // scheduled; a stale one is ignored) (sent to itself).
  caf::reacts_to<atom::retry, std::string, uint32_t>>;

} // namespace sheetsync

// Actor handles that cross nodes (a remote node subscribes its own listener)
// need type IDs too; they can only be declared after the interfaces above.
CAF_BEGIN_TYPE_ID_BLOCK(sheetsync_actors, caf::id_block::sheetsync::end)
  CAF_ADD_TYPE_ID(sheetsync_actors, (sheetsync::status_listener_actor))
CAF_END_TYPE_ID_BLOCK(sheetsync_actors)
