#include "store/content_hasher.hpp"

#include <cstring>
#include <memory>
#include <new>

#include <openssl/evp.h>

#include "parse/column_names.hpp"

namespace sheetsync {

namespace {

/// Bytes gathered before they go to the digest: one EVP call per block
/// instead of two per cell.
constexpr size_t flush_bytes = 64 * 1024;

void put_u64(std::string& out, uint64_t x) {
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>((x >> (8 * i)) & 0xff);
}

/// Writes x as 8 bytes little endian at p; returns the end.
char* put_u64(char* p, uint64_t x) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  x = __builtin_bswap64(x);
#endif
  std::memcpy(p, &x, 8);
  return p + 8;
}

} // namespace

content_hasher::content_hasher() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr)
    throw std::bad_alloc{};
  reset();
}

content_hasher::~content_hasher() {
  EVP_MD_CTX_free(ctx_);
}

void content_hasher::reset() {
  EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
}

void content_hasher::add(const row_batch& batch) {
  const auto cols = batch.columns.size();
  const auto rows = batch.rows();
  const char* data = batch.data.data();
  // Encoded straight into a fixed block through a pointer: this runs once per
  // cell of the sheet (appending byte by byte cost more than the SHA-256).
  // Past `limit`, room for a row's 17-byte head or a cell (length and bytes).
  constexpr size_t slack = 64;
  std::unique_ptr<char[]> block{new char[flush_bytes + slack]};
  char* const first = block.get();
  char* const limit = first + flush_bytes;
  char* p = first;
  auto flush = [&] {
    EVP_DigestUpdate(ctx_, first, static_cast<size_t>(p - first));
    p = first;
  };
  const uint32_t* e = batch.ends.data();
  uint32_t row_begin = 0;
  for (size_t row = 0; row < rows; ++row, e += cols) {
    // Leave out trailing empty cells (a cell is empty when its end is the
    // previous one's).
    auto n = cols;
    while (n > 0 && e[n - 1] == (n == 1 ? row_begin : e[n - 2]))
      --n;
    if (p >= limit)
      flush();
    *p++ = 'R';
    p = put_u64(p, batch.first_row + row);
    p = put_u64(p, n);
    uint32_t begin = row_begin;
    for (size_t c = 0; c < n; ++c) {
      const size_t len = e[c] - begin;
      if (p >= limit)
        flush();
      p = put_u64(p, len);
      if (len > flush_bytes || p + len > limit + slack)
        flush();
      if (len <= flush_bytes) {
        std::memcpy(p, data + begin, len);
        p += len;
      } else {
        EVP_DigestUpdate(ctx_, data + begin, len);
      }
      begin = e[c];
    }
    row_begin = e[cols - 1];
  }
  flush();
}

std::string content_hasher::digest(const std::vector<std::string>& header) const {
  // The names the table gets, so that the hash and the table agree whatever
  // names the batches carried.
  std::string tail;
  tail += 'H';
  put_u64(tail, header.size());
  for (auto& name : column_names(header)) {
    put_u64(tail, name.size());
    tail += name;
  }
  auto* copy = EVP_MD_CTX_new();
  if (copy == nullptr)
    throw std::bad_alloc{};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX_copy_ex(copy, ctx_);
  EVP_DigestUpdate(copy, tail.data(), tail.size());
  EVP_DigestFinal_ex(copy, md, &len);
  EVP_MD_CTX_free(copy);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}

} // namespace sheetsync
