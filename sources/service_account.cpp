#include "sources/service_account.hpp"

#include <memory>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace sheetsync {

namespace {

/// Never asks for a password (OpenSSL's default would prompt on the terminal).
int no_password(char*, int, int, void*) {
  return 0;
}

/// OpenSSL's reason for the last failure (static text, never key material);
/// empties OpenSSL's error queue.
std::string openssl_reason() {
  std::string result;
  unsigned long code = 0;
  while (auto e = ERR_get_error())
    code = e;
  if (code != 0)
    if (auto* text = ERR_reason_error_string(code))
      result = text;
  ERR_clear_error();
  return result.empty() ? "unknown error" : result;
}

} // namespace

evp_pkey_st* read_rsa_private_key(const std::string& pem, std::string& reason) {
  ERR_clear_error();
  if (pem.find("ENCRYPTED") != std::string::npos) {
    reason = "the key is encrypted; use the unencrypted key Google issues";
    return nullptr;
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free};
  if (!bio) {
    reason = "OpenSSL: " + openssl_reason();
    return nullptr;
  }
  auto* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_password, nullptr);
  if (!key) {
    reason = "OpenSSL: " + openssl_reason();
    return nullptr;
  }
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    EVP_PKEY_free(key);
    reason = "the key is not an RSA key (RS256 needs one)";
    return nullptr;
  }
  ERR_clear_error();
  return key;
}

bool check_rsa_private_key(const std::string& pem, std::string& reason) {
  auto* key = read_rsa_private_key(pem, reason);
  if (!key)
    return false;
  EVP_PKEY_free(key);
  return true;
}

} // namespace sheetsync
