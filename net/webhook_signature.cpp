#include "net/webhook_signature.hpp"

#include <array>
#include <random>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace sheetsync {

std::string parse_webhook_secret(std::string_view secret, std::string& key) {
  constexpr std::string_view prefix = "whsec_";
  key.clear();
  if (secret.substr(0, prefix.size()) != prefix)
    return "the webhook secret must start with whsec_ (whsec_ followed by "
           "base64, as Standard Webhooks secrets are written)";
  if (!base64_decode(secret.substr(prefix.size()), key)) {
    OPENSSL_cleanse(key.data(), key.size());
    key.clear();
    return "the webhook secret is not whsec_ followed by valid base64";
  }
  // The spec asks for 24 to 64 bytes; fewer is too easy to guess.
  if (key.size() < 24 || key.size() > 64) {
    auto n = key.size();
    OPENSSL_cleanse(key.data(), key.size());
    key.clear();
    return "the webhook secret's key has " + std::to_string(n)
           + " bytes; it must have 24 to 64 (e.g. whsec_ and the base64 of "
             "32 random bytes: openssl rand -base64 32)";
  }
  return {};
}

std::string webhook_signature(std::string_view key, std::string_view id,
                              int64_t timestamp_s, std::string_view body) {
  std::string content;
  content.reserve(id.size() + body.size() + 24);
  content.append(id).append(".").append(std::to_string(timestamp_s))
    .append(".").append(body);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  auto ok = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                 reinterpret_cast<const unsigned char*>(content.data()),
                 content.size(), mac.data(), &len)
            != nullptr;
  if (!ok)
    return "v1,";
  return "v1," + base64_encode(std::string_view{
                   reinterpret_cast<const char*>(mac.data()), len});
}

std::string new_webhook_id() {
  std::array<unsigned char, 12> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    // Unique is what matters here, not secret.
    std::random_device rd;
    for (auto& b : bytes)
      b = static_cast<unsigned char>(rd());
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "msg_";
  for (auto b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

} // namespace sheetsync
