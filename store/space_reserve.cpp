#include "store/space_reserve.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include <sqlite3.h>
#include <unistd.h>

namespace sheetsync {

space_reserve::~space_reserve() {
  release();
}

bool space_reserve::take(const std::string& beside, uint64_t bytes,
                         const std::string& what, failure& err) {
  if (held())
    return true;
  auto fail = [&](const std::string& why) {
    release();
    err = failure{ec::cache_failed,
                  "cannot " + what + " " + beside + ": " + why};
    return false;
  };
  auto* vfs = sqlite3_vfs_find(nullptr);
  if (vfs == nullptr)
    return fail("no SQLite VFS");
  static std::atomic<uint64_t> counter{0};
  name_ = beside + "-reserve-" + std::to_string(getpid()) + "-"
          + std::to_string(counter++);
  // SQLite hands VFSs names followed by a second NUL (URI parameters).
  name_.push_back('\0');
  auto* file = static_cast<sqlite3_file*>(sqlite3_malloc(vfs->szOsFile));
  if (file == nullptr)
    return fail("out of memory");
  std::memset(file, 0, static_cast<size_t>(vfs->szOsFile));
  // Deleted at once by the VFS; the space stays ours until closed.
  auto flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
               | SQLITE_OPEN_EXCLUSIVE | SQLITE_OPEN_DELETEONCLOSE
               | SQLITE_OPEN_TEMP_JOURNAL;
  if (vfs->xOpen(vfs, name_.c_str(), file, flags, nullptr) != SQLITE_OK
      || file->pMethods == nullptr) {
    sqlite3_free(file);
    return fail("cannot create a file beside it (check that the directory "
                "exists and is writable)");
  }
  file_ = file;
  // Written, not just sized: the blocks must really be taken.
  static const char zeros[64 * 1024] = {};
  for (uint64_t off = 0; off < bytes; off += sizeof(zeros)) {
    auto n = static_cast<int>(std::min<uint64_t>(sizeof(zeros), bytes - off));
    auto rc = file_->pMethods->xWrite(file_, zeros, n,
                                      static_cast<sqlite3_int64>(off));
    if (rc != SQLITE_OK)
      return fail(std::string{"the disk is full: a sync needs "}
                  + std::to_string(bytes >> 20)
                  + " MiB free before it writes aside (free disk space)");
  }
  return true;
}

void space_reserve::release() {
  if (file_ == nullptr)
    return;
  file_->pMethods->xClose(file_);
  sqlite3_free(file_);
  file_ = nullptr;
}

} // namespace sheetsync
