#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/row_batch.hpp"

struct evp_md_ctx_st;

namespace sheetsync {

/// SHA-256 (OpenSSL EVP) of a table's content as the cache holds it, fed
/// batch by batch in sheet order.
///
/// The encoding is length-prefixed, so it is unambiguous (["a,b"] and
/// ["a", "b"] differ): per row 'R', its row number, its cell count and every
/// cell as length + bytes; at the end 'H', the header's column count and every
/// name as length + bytes (all numbers 8 bytes little endian). A row's trailing
/// empty cells are left out, because the cache pads short rows with '' too:
/// the hash depends on what the table holds, not on where in the sheet the
/// header grew or how the rows were cut into batches.
class content_hasher {
public:
  content_hasher();
  ~content_hasher();

  content_hasher(const content_hasher&) = delete;
  content_hasher& operator=(const content_hasher&) = delete;

  /// Starts over (the hash of nothing).
  void reset();

  /// Adds the rows of a well-formed batch (cell ends in order, within data).
  void add(const row_batch& batch);

  /// The lowercase hex digest of the rows added so far followed by the
  /// column names of `header` (column_names()); adding may go on afterwards.
  std::string digest(const std::vector<std::string>& header) const;

private:
  evp_md_ctx_st* ctx_;
};

} // namespace sheetsync
