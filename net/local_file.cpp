#include "net/local_file.hpp"

#include <cerrno>
#include <optional>

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sheetsync {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// The path of a file:// URL as libcurl's file protocol opens it: parsed
/// with the flags a transfer uses, then %XX-decoded (a '%' without two hex
/// digits stays), refusing a NUL. None when libcurl would refuse the URL.
std::optional<std::string> file_path(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> h{curl_url(),
                                                         &curl_url_cleanup};
  if (!h || curl_url_set(h.get(), CURLUPART_URL, url.c_str(),
                         CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME)
              != CURLUE_OK)
    return std::nullopt;
  char* scheme = nullptr;
  char* raw = nullptr;
  std::optional<std::string> result;
  if (curl_url_get(h.get(), CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK
      && std::string{scheme} == "file"
      && curl_url_get(h.get(), CURLUPART_PATH, &raw, 0) == CURLUE_OK) {
    std::string path;
    bool ok = true;
    for (const char* p = raw; *p != '\0'; ++p) {
      int hi, lo;
      if (*p == '%' && (hi = hex_value(p[1])) >= 0 && (lo = hex_value(p[2])) >= 0) {
        auto c = static_cast<char>(hi * 16 + lo);
        ok = ok && c != '\0';
        path += c;
        p += 2;
      } else {
        path += *p;
      }
    }
    if (ok && !path.empty())
      result = std::move(path);
  }
  curl_free(scheme);
  curl_free(raw);
  return result;
}

} // namespace

std::unique_ptr<local_file> local_file::open(const std::string& url) {
  auto path = file_path(url);
  if (!path)
    return nullptr;
  int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return nullptr;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0) {
    ::close(fd);
    return nullptr;
  }
  return std::unique_ptr<local_file>{
    new local_file(fd, static_cast<uint64_t>(st.st_size))};
}

local_file::local_file(int fd, uint64_t size)
  : fd_(fd), size_(size), left_(size) {
  // nop
}

local_file::~local_file() {
  ::close(fd_);
}

size_t local_file::read(char* out, size_t n) {
  if (left_ < n)
    n = static_cast<size_t>(left_);
  if (n == 0)
    return 0;
  ssize_t got;
  do {
    got = ::read(fd_, out, n);
  } while (got < 0 && errno == EINTR);
  if (got <= 0) {
    left_ = 0;
    return 0;
  }
  left_ -= static_cast<uint64_t>(got);
  return static_cast<size_t>(got);
}

} // namespace sheetsync
