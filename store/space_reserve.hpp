#pragma once

#include <cstdint>
#include <string>

#include "messages/ec.hpp"

struct sqlite3_file;

namespace sheetsync {

/// Disk space held back beside the cache while a sync writes aside. On a
/// full disk, dropping the unfinished table still needs a few pages in the
/// WAL (about one per 4 MB dropped) and the history one more record: giving
/// this space back first is what lets both happen at once, instead of
/// leaving the table (and a "downloading" record) behind until someone frees
/// space. An unnamed file on the cache's file system, made through SQLite's
/// VFS (so the disk-limit test knob sees it too); the kernel frees it if the
/// process dies.
class space_reserve {
public:
  /// Enough for dropping a table of several GB plus the history's records.
  static constexpr uint64_t default_bytes = uint64_t{4} << 20;

  space_reserve() = default;
  ~space_reserve();

  space_reserve(const space_reserve&) = delete;
  space_reserve& operator=(const space_reserve&) = delete;

  /// Takes `bytes` on the file system of the file `beside`; fails with
  /// ec::cache_failed when the disk has less free ("cannot <what> <beside>:
  /// ..."). A no-op while held.
  bool take(const std::string& beside, uint64_t bytes, const std::string& what,
            failure& err);

  /// Gives the space back. A no-op when not held.
  void release();

  bool held() const {
    return file_ != nullptr;
  }

private:
  sqlite3_file* file_ = nullptr;
  /// The VFS keeps a pointer to the name while the file is open.
  std::string name_;
};

} // namespace sheetsync
