#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "messages/ec.hpp"
#include "messages/row_batch.hpp"
#include "store/content_hasher.hpp"
#include "store/database.hpp"
#include "store/space_reserve.hpp"

namespace sheetsync {

/// Writes a new version of a source's table aside and swaps it in
/// atomically.
///
/// Each source's table has the header as column names (all TEXT NOT NULL
/// DEFAULT '') plus `_row INTEGER PRIMARY KEY`, the 1-based sheet row. A new
/// version is written into a staging table and renamed over the old table by
/// commit() in one transaction, together with the content's hash and row
/// count in `sync_meta` (so table, hash and count never disagree). A sync
/// whose content equals the cached one (same hash) leaves the table untouched.
///
/// Staging tables are named `_staging_<pid>_<table>`, so that processes
/// sharing the file never drop each other's.
///
/// Every append() is its own write transaction (split every `chunk_rows`
/// rows), so the write lock is never held between calls (e.g. while the next
/// batch is being downloaded) and other connections can write sync_runs in
/// between. Within this process, all connections to one file take turns for
/// their write transactions first come, first served (write_turn), so a
/// history write waits for at most one chunk instead of polling for a gap it
/// may never hit.
class table_writer {
public:
  /// Rows per write transaction within one append(); about 40 ms of work.
  static constexpr size_t chunk_rows = 50000;

  /// Bytes of batches that begin() may hold back in memory instead of writing
  /// them aside while the content may still turn out unchanged. Small, so a
  /// re-sync of a large sheet (and several in parallel) stays within the
  /// memory bench/run measures; larger sheets are written aside and dropped
  /// at commit when unchanged.
  static constexpr size_t default_defer_bytes = size_t{8} << 20;

  explicit table_writer(std::shared_ptr<database> db);

  /// Aborts an unfinished staging.
  ~table_writer();

  table_writer(const table_writer&) = delete;
  table_writer& operator=(const table_writer&) = delete;

  /// Drops staging tables left by a process that died mid-sync (not those of
  /// live processes, nor those that a writer of this process is writing).
  static bool drop_leftovers(database& db, failure& err);

  /// Starts writing a new version of `table` aside. When the table exists
  /// with a content hash, batches are held back in memory (up to
  /// defer_bytes()) and written aside only once they exceed that or commit()
  /// finds the content changed: an unchanged sync writes nothing. Fails with
  /// ec::invalid_argument for an invalid name or while already staging, and
  /// with ec::cache_failed while another writer of this process stages the
  /// same table or when the file is read-only. The first row written aside
  /// takes space_reserve::default_bytes of disk (ec::cache_failed, "the disk
  /// is full", when there are fewer), given back when the staging ends.
  bool begin(const std::string& table, failure& err);

  /// Writes rows in sheet order (`_row` = batch.first_row + i; rows never go
  /// back) and adds them to the content hash. A batch whose columns extend
  /// the previous ones adds columns; any other header change fails. The
  /// first batch's header creates the table, so a header-only sheet is one
  /// batch without rows. On failure the staging is aborted.
  bool append(const row_batch& batch, failure& err);

  /// The hex SHA-256 of what was appended since begin() (see content_hasher):
  /// the writer's own or the one given to give_content_hash().
  std::string content_hash() const;

  /// Whether append() adds batches to the content hash (the default). Off
  /// when the caller hashes the same batches on another thread (the parser)
  /// and hands the digest to give_content_hash() before unchanged() or
  /// commit(): the thread that writes, the pipeline's slowest, then only
  /// writes.
  void hash_appends(bool on);

  /// The digest of what was appended since begin(), computed by the caller
  /// (with hash_appends(false); commit() fails without it). begin() forgets
  /// it.
  void give_content_hash(std::string hex);

  /// Whether the table being staged exists and holds exactly what was
  /// appended (its stored hash equals content_hash()). False when not
  /// staging, without a header, or when reading fails.
  bool unchanged();

  /// Swaps the new rows in and stores their hash and row count, in one
  /// transaction: readers see the old or the new table, never a mix. If
  /// unchanged() (asked again here), drops the staging instead and leaves the
  /// table untouched; kept() then says so. Fails if no batch with a header
  /// was appended. On failure the staging is aborted and the old table stays
  /// as it was. After a swap, truncates the WAL unless a reader still uses
  /// it (then the next swap does).
  bool commit(failure& err);

  /// Whether the last commit() kept the table because it was unchanged
  /// (with tabs: every table and the tab map).
  bool kept() const;

  // -- several tables swapped at once (the tabs of a spreadsheet) -------------

  /// Ends the current table's staging without swapping it in: written aside
  /// (or found unchanged and dropped), it waits for the commit() that swaps
  /// it in with every other table set aside and the current one, in one
  /// transaction. begin() then starts the next table. Fails as commit()
  /// would (no header, no hash), and then aborts every table.
  bool set_aside(failure& err);

  /// One tab: its title and its table (see tab_tables()).
  struct tab_entry {
    std::string title;
    std::string table;
  };

  /// Makes the next commit() also record `tabs` as the tabs of `source` in
  /// the cache's `sync_tabs` table (source, position, title, table), drop
  /// the tables of its tabs that are gone, and count a changed tab list as a
  /// change. Kept until the staging ends.
  void record_tabs(std::string source, std::vector<tab_entry> tabs);

  /// The tabs recorded for `source` in sync_tabs, in order; empty when it has
  /// none (or reading fails).
  std::vector<tab_entry> recorded_tabs(const std::string& source);

  /// Drops what was written aside; the old table stays exactly as it was.
  /// On a full disk too: the reserve pays for the drop and for the history's
  /// next records. A no-op when not staging.
  void abort();

  /// Whether begin() was called and neither commit(), abort() nor a failure
  /// ended the staging yet.
  bool staging() const;

  /// Rows appended since the last begin(), held back ones included, plus
  /// those of the tables set aside (still valid after commit(); equals the
  /// tables' rows after a kept commit).
  uint64_t rows_written() const;

  /// WAL frames after which a caller that checkpoints elsewhere should ask
  /// for a checkpoint (4 MiB with 16 KiB pages).
  static constexpr int checkpoint_frames = 256;

  /// Leaves the WAL's checkpoints to another connection while staging (the
  /// checkpointer, on its own thread; ask it once wal_frames() reaches
  /// checkpoint_frames): this connection's commits then only append to the
  /// WAL. Should the other fall behind, this one still checkpoints past
  /// four times SQLite's usual threshold, so the WAL stays bounded. Takes
  /// effect at the next begin().
  void checkpoint_elsewhere(bool on);

  /// Frames in the WAL after this connection's last commit while
  /// checkpointing elsewhere (0 otherwise, or once another connection's
  /// checkpoint let the WAL start over).
  int wal_frames() const;

  /// How many bytes of batches a begin() may hold back (0: write at once).
  void defer_bytes(size_t n);
  size_t defer_bytes() const;

  /// The hash stored with `table` by its last commit(), "" if none (never
  /// synced, synced before hashes were kept, or reading fails).
  std::string stored_hash(const std::string& table);

private:
  bool flush_deferred(failure& err);
  bool ensure_columns(const std::vector<std::string>& columns, failure& err);
  bool prepare_inserts(failure& err);
  bool insert_rows(const row_batch& batch, failure& err);
  void finalize_inserts();
  void end_staging();
  void truncate_wal();
  static int on_wal_commit(void* self, sqlite3* db, const char* name,
                           int frames);
  std::string staging_name() const;
  bool finish_table(failure& err);
  bool tabs_unchanged();
  bool swap_all(failure& err);
  void drop_staging(const std::vector<std::string>& names);

  std::shared_ptr<database> db_;
  /// The table being staged; empty when not staging.
  std::string table_;
  /// The header as received so far (the content's header).
  std::vector<std::string> header_;
  /// Header of the staging table as received, and the SQL column names
  /// (made unique: see table_writer.cpp).
  std::vector<std::string> columns_;
  std::vector<std::string> sql_columns_;
  /// INSERT of multi_rows_ rows, and of one row for the remainder.
  sqlite3_stmt* insert_multi_ = nullptr;
  sqlite3_stmt* insert_one_ = nullptr;
  size_t multi_rows_ = 0;
  uint64_t rows_written_ = 0;
  /// The _row that SQLite would assign next (the staging table only grows).
  uint64_t next_row_ = 1;
  /// The row the next batch may start at, at least (rows only go forward).
  uint64_t min_row_ = 1;
  /// Hash of the rows appended since begin(), unless hashed by the caller.
  content_hasher hash_;
  bool hash_appends_ = true;
  std::string given_hash_;
  /// Batches held back while the content may be unchanged, and their size.
  std::vector<row_batch> deferred_;
  size_t deferred_bytes_ = 0;
  bool deferring_ = false;
  size_t defer_limit_ = default_defer_bytes;
  bool kept_ = false;
  bool checkpoint_elsewhere_ = false;
  int wal_frames_ = 0;
  /// Held from the first row written aside until the staging ends.
  space_reserve reserve_;
  /// A table set aside (see set_aside()), or the current one at commit().
  struct aside {
    std::string table;
    std::string staging;
    std::string hash;
    uint64_t rows = 0;
    /// Unchanged: nothing to swap in.
    bool same = false;
  };
  std::vector<aside> aside_;
  /// Rows of the tables set aside.
  uint64_t rows_aside_ = 0;
  /// The tab map for commit() (record_tabs()); no source: none.
  std::string tabs_source_;
  std::vector<tab_entry> tabs_;
};

} // namespace sheetsync
