#include "store/disk_limit.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sheetsync {

namespace {

/// A file of the wrapping VFS; SQLite allocates szOsFile bytes for it, the
/// wrapped VFS's file follows. SQLite aligns these blocks to 8 bytes only
/// (the pager and the WAL carve them out of larger allocations), so the
/// struct must not ask for more (UBSan: misaligned member access).
struct limited_file {
  sqlite3_file base;
  sqlite3_file* real;
  /// Deleted while open (its blocks no longer show in the directory).
  bool unlinked;
  /// The directory whose files share the simulated disk.
  char dir[1024];
};

static_assert(alignof(limited_file) <= 8 && sizeof(limited_file) % 8 == 0,
              "SQLite's file blocks are 8-byte aligned; the real file follows");

std::atomic<uint64_t> capacity{0};
sqlite3_vfs* real_vfs = nullptr;
sqlite3_vfs vfs;
sqlite3_io_methods methods;

std::mutex unlinked_mtx;
std::set<limited_file*> unlinked_files;

sqlite3_file* real(sqlite3_file* f) {
  return reinterpret_cast<limited_file*>(f)->real;
}

/// Bytes the simulated disk holding `dir` uses.
uint64_t used(const char* dir) {
  uint64_t total = 0;
  if (auto* d = opendir(*dir ? dir : ".")) {
    while (auto* e = readdir(d)) {
      struct stat st;
      if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
          && S_ISREG(st.st_mode))
        total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
    closedir(d);
  }
  std::lock_guard<std::mutex> guard{unlinked_mtx};
  for (auto* f : unlinked_files) {
    sqlite3_int64 size = 0;
    if (f->real->pMethods->xFileSize(f->real, &size) == SQLITE_OK)
      total += static_cast<uint64_t>(size);
  }
  return total;
}

/// Whether growing `f` to `end` bytes fits on the simulated disk.
bool fits(sqlite3_file* f, sqlite3_int64 end) {
  auto cap = capacity.load();
  if (cap == 0)
    return true;
  sqlite3_int64 size = 0;
  if (real(f)->pMethods->xFileSize(real(f), &size) != SQLITE_OK || end <= size)
    return true;
  auto* lf = reinterpret_cast<limited_file*>(f);
  // SQLite's nameless temporary files live in the temp directory, not on
  // the simulated disk (used("") would count the working directory).
  if (lf->dir[0] == '\0')
    return true;
  return used(lf->dir) + static_cast<uint64_t>(end - size) <= cap;
}

int x_close(sqlite3_file* f) {
  auto* lf = reinterpret_cast<limited_file*>(f);
  if (lf->unlinked) {
    std::lock_guard<std::mutex> guard{unlinked_mtx};
    unlinked_files.erase(lf);
  }
  return lf->real->pMethods->xClose(lf->real);
}

int x_read(sqlite3_file* f, void* p, int n, sqlite3_int64 off) {
  return real(f)->pMethods->xRead(real(f), p, n, off);
}

int x_write(sqlite3_file* f, const void* p, int n, sqlite3_int64 off) {
  if (!fits(f, off + n))
    return SQLITE_FULL;
  return real(f)->pMethods->xWrite(real(f), p, n, off);
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (!fits(f, size))
    return SQLITE_FULL;
  return real(f)->pMethods->xTruncate(real(f), size);
}

int x_sync(sqlite3_file* f, int flags) {
  return real(f)->pMethods->xSync(real(f), flags);
}

int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return real(f)->pMethods->xFileSize(real(f), size);
}

int x_lock(sqlite3_file* f, int level) {
  return real(f)->pMethods->xLock(real(f), level);
}

int x_unlock(sqlite3_file* f, int level) {
  return real(f)->pMethods->xUnlock(real(f), level);
}

int x_check_reserved_lock(sqlite3_file* f, int* out) {
  return real(f)->pMethods->xCheckReservedLock(real(f), out);
}

int x_file_control(sqlite3_file* f, int op, void* arg) {
  if (op == SQLITE_FCNTL_SIZE_HINT
      && !fits(f, *static_cast<sqlite3_int64*>(arg)))
    return SQLITE_FULL;
  return real(f)->pMethods->xFileControl(real(f), op, arg);
}

int x_sector_size(sqlite3_file* f) {
  return real(f)->pMethods->xSectorSize(real(f));
}

int x_device_characteristics(sqlite3_file* f) {
  return real(f)->pMethods->xDeviceCharacteristics(real(f));
}

int x_shm_map(sqlite3_file* f, int page, int size, int extend,
              void volatile** out) {
  return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
}

int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}

void x_shm_barrier(sqlite3_file* f) {
  real(f)->pMethods->xShmBarrier(real(f));
}

int x_shm_unmap(sqlite3_file* f, int delete_flag) {
  return real(f)->pMethods->xShmUnmap(real(f), delete_flag);
}

int x_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return real(f)->pMethods->xFetch(real(f), off, n, out);
}

int x_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return real(f)->pMethods->xUnfetch(real(f), off, p);
}

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags,
           int* out_flags) {
  auto* lf = reinterpret_cast<limited_file*>(f);
  lf->base.pMethods = nullptr;
  lf->real = reinterpret_cast<sqlite3_file*>(lf + 1);
  lf->unlinked = name == nullptr || (flags & SQLITE_OPEN_DELETEONCLOSE) != 0;
  lf->dir[0] = '\0';
  if (name != nullptr) {
    if (auto* slash = std::strrchr(name, '/')) {
      auto n = std::min<size_t>(static_cast<size_t>(slash - name),
                                sizeof(lf->dir) - 1);
      std::memcpy(lf->dir, name, n);
      lf->dir[n] = '\0';
      if (n == 0)
        std::strcpy(lf->dir, "/");
    }
  }
  auto rc = real_vfs->xOpen(real_vfs, name, lf->real, flags, out_flags);
  if (rc != SQLITE_OK)
    return rc;
  if (lf->unlinked) {
    std::lock_guard<std::mutex> guard{unlinked_mtx};
    unlinked_files.insert(lf);
  }
  lf->base.pMethods = &methods;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return real_vfs->xDelete(real_vfs, name, sync_dir);
}

int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return real_vfs->xAccess(real_vfs, name, flags, out);
}

int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return real_vfs->xFullPathname(real_vfs, name, n, out);
}

int x_randomness(sqlite3_vfs*, int n, char* out) {
  return real_vfs->xRandomness(real_vfs, n, out);
}

int x_sleep(sqlite3_vfs*, int us) {
  return real_vfs->xSleep(real_vfs, us);
}

int x_current_time(sqlite3_vfs*, double* out) {
  return real_vfs->xCurrentTime(real_vfs, out);
}

int x_get_last_error(sqlite3_vfs*, int n, char* out) {
  return real_vfs->xGetLastError(real_vfs, n, out);
}

int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

void install() {
  sqlite3_initialize();
  real_vfs = sqlite3_vfs_find(nullptr);
  methods = sqlite3_io_methods{};
  methods.iVersion = 3;
  methods.xClose = x_close;
  methods.xRead = x_read;
  methods.xWrite = x_write;
  methods.xTruncate = x_truncate;
  methods.xSync = x_sync;
  methods.xFileSize = x_file_size;
  methods.xLock = x_lock;
  methods.xUnlock = x_unlock;
  methods.xCheckReservedLock = x_check_reserved_lock;
  methods.xFileControl = x_file_control;
  methods.xSectorSize = x_sector_size;
  methods.xDeviceCharacteristics = x_device_characteristics;
  methods.xShmMap = x_shm_map;
  methods.xShmLock = x_shm_lock;
  methods.xShmBarrier = x_shm_barrier;
  methods.xShmUnmap = x_shm_unmap;
  methods.xFetch = x_fetch;
  methods.xUnfetch = x_unfetch;
  vfs = sqlite3_vfs{};
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(sizeof(limited_file)) + real_vfs->szOsFile;
  vfs.mxPathname = real_vfs->mxPathname;
  vfs.zName = "sheetsync-disk-limit";
  vfs.xOpen = x_open;
  vfs.xDelete = x_delete;
  vfs.xAccess = x_access;
  vfs.xFullPathname = x_full_pathname;
  vfs.xRandomness = x_randomness;
  vfs.xSleep = x_sleep;
  vfs.xCurrentTime = x_current_time;
  vfs.xGetLastError = x_get_last_error;
  vfs.xCurrentTimeInt64 = x_current_time_int64;
  sqlite3_vfs_register(&vfs, 1);
}

} // namespace

void limit_disk_for_tests(uint64_t bytes) {
  static std::once_flag once;
  std::call_once(once, install);
  capacity = bytes;
}

void limit_disk_from_env() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (auto* env = std::getenv("SHEETSYNC_TEST_DISK_LIMIT"))
      if (auto bytes = std::strtoull(env, nullptr, 10); bytes > 0)
        limit_disk_for_tests(bytes);
  });
}

} // namespace sheetsync
