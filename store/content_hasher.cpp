#include "store/content_hasher.hpp"

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

void content_hasher::update(const std::string& bytes) {
  EVP_DigestUpdate(ctx_, bytes.data(), bytes.size());
}

void content_hasher::add(const row_batch& batch) {
  const auto cols = batch.columns.size();
  const auto rows = batch.rows();
  std::string buf;
  buf.reserve(flush_bytes + 1024);
  for (size_t row = 0; row < rows; ++row) {
    // Leave out trailing empty cells.
    auto n = cols;
    while (n > 0 && batch.cell(row, n - 1).empty())
      --n;
    buf += 'R';
    put_u64(buf, batch.first_row + row);
    put_u64(buf, n);
    for (size_t c = 0; c < n; ++c) {
      auto cell = batch.cell(row, c);
      put_u64(buf, cell.size());
      if (cell.size() >= flush_bytes) {
        update(buf);
        buf.clear();
        EVP_DigestUpdate(ctx_, cell.data(), cell.size());
      } else {
        buf.append(cell.data(), cell.size());
      }
    }
    if (buf.size() >= flush_bytes) {
      update(buf);
      buf.clear();
    }
  }
  update(buf);
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
