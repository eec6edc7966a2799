#include "net/base64.hpp"

#include <cstdint>

#include <openssl/crypto.h>

namespace sheetsync {

namespace {

constexpr char standard[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char url_safe[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  auto at = [&](size_t k) { return uint32_t{uint8_t(bytes[k])}; };
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    auto v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (auto rest = bytes.size() - i; rest > 0) {
    auto v = at(i) << 16;
    if (rest == 2)
      v |= at(i + 1) << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (rest == 2)
      out += alphabet[(v >> 6) & 63];
    if (pad)
      out.append(3 - rest, '=');
  }
  return out;
}

int sextet(char c, const char* alphabet) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == alphabet[62])
    return 62;
  if (c == alphabet[63])
    return 63;
  return -1;
}

bool decode(std::string_view text, const char* alphabet, std::string& out) {
  // Padding only at the end, at most two, and only to a multiple of four.
  auto data = text;
  while (!data.empty() && data.back() == '=')
    data.remove_suffix(1);
  auto pads = text.size() - data.size();
  if (pads > 2 || (pads > 0 && text.size() % 4 != 0) || data.size() % 4 == 1)
    return false;
  std::string result;
  result.reserve(data.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (auto c : data) {
    auto v = sextet(c, alphabet);
    if (v < 0) {
      OPENSSL_cleanse(result.data(), result.size()); // may be a secret's part
      return false;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      result += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // The bits left over must be zero (a canonical encoding).
  if ((acc & ((1u << bits) - 1)) != 0) {
    OPENSSL_cleanse(result.data(), result.size());
    return false;
  }
  out = std::move(result);
  return true;
}

} // namespace

std::string base64_encode(std::string_view bytes) {
  return encode(bytes, standard, true);
}

bool base64_decode(std::string_view text, std::string& out) {
  return decode(text, standard, out);
}

std::string base64url_encode(std::string_view bytes) {
  return encode(bytes, url_safe, false);
}

bool base64url_decode(std::string_view text, std::string& out) {
  return decode(text, url_safe, out);
}

} // namespace sheetsync
