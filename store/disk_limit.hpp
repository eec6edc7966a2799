#pragma once

#include <cstdint>

namespace sheetsync {

/// A test knob: every SQLite connection of this process then behaves as if
/// the cache's directory were a disk of `capacity` bytes. What counts as used
/// is what a disk counts: the allocated blocks of every file in the directory
/// of the file being grown, plus SQLite's open files that are already
/// deleted (temporary files, the space reserve). A write that would grow a
/// file past the capacity fails with SQLITE_FULL, as on a full disk, also
/// for the WAL (which PRAGMA max_page_count does not limit); deleting a file
/// in the directory frees space again. Installs a wrapping VFS as SQLite's
/// default on the first call (before any connection is opened); later calls
/// change the capacity; 0 lifts the limit.
void limit_disk_for_tests(uint64_t capacity);

/// Applies SHEETSYNC_TEST_DISK_LIMIT (bytes; how the process tests fill the
/// disk) once per process; a no-op when unset.
void limit_disk_from_env();

} // namespace sheetsync
