#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sheetsync {

/// The regular file a file:// URL names, read in pieces.
///
/// libcurl reads a file:// URL whole within one call and cannot pause it (a
/// write callback asking to pause fails the transfer), so a large file would
/// sit in memory at once. This reads it piece by piece instead, as libcurl
/// would: the same URL parser, the path percent-decoded with a NUL refused,
/// at most the size the file had when it was opened.
class local_file {
public:
  /// Opens the file, or returns null when libcurl should handle the URL
  /// (it fails to parse, names no regular file, or cannot be opened): libcurl
  /// then reports why in its own words.
  static std::unique_ptr<local_file> open(const std::string& url);

  ~local_file();

  local_file(const local_file&) = delete;
  local_file& operator=(const local_file&) = delete;

  /// The file's size when it was opened.
  uint64_t size() const {
    return size_;
  }

  /// Reads up to `n` bytes to `out`; 0 at the end (also on a read error, as
  /// libcurl's file:// does: a short file shows as bytes missing from size()).
  size_t read(char* out, size_t n);

private:
  local_file(int fd, uint64_t size);

  int fd_;
  uint64_t size_;
  uint64_t left_;
};

} // namespace sheetsync
