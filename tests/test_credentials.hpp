#pragma once

// What the suites that handle service-account credentials share: a key pair
// generated at run time (no key is ever committed) and a temporary directory
// for credentials files.

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <unistd.h>

#include <caf/test/unit_test.hpp>

namespace sheetsync::test {

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

/// The bytes written to a memory BIO.
inline std::string bio_text(BIO* bio) {
  char* data = nullptr;
  auto n = BIO_get_mem_data(bio, &data);
  return {data, static_cast<size_t>(n)};
}

/// A test key pair: RSA 2048 (what RS256 needs), or EC P-256 for a key of the
/// wrong kind.
struct key_pair {
  pkey_ptr key{nullptr, &EVP_PKEY_free};
  /// PKCS#8 ("-----BEGIN PRIVATE KEY-----"), like Google's files.
  std::string private_pem;
  /// SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----").
  std::string public_pem;

  static key_pair generate(bool rsa = true) {
    key_pair result;
    result.key.reset(rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
    if (!result.key)
      CAF_FAIL("cannot generate a test key");
    std::unique_ptr<BIO, decltype(&BIO_free)> priv{BIO_new(BIO_s_mem()), &BIO_free};
    std::unique_ptr<BIO, decltype(&BIO_free)> pub{BIO_new(BIO_s_mem()), &BIO_free};
    if (PEM_write_bio_PrivateKey(priv.get(), result.key.get(), nullptr, nullptr, 0,
                                 nullptr, nullptr)
          != 1
        || PEM_write_bio_PUBKEY(pub.get(), result.key.get()) != 1)
      CAF_FAIL("cannot write the test key as PEM");
    result.private_pem = bio_text(priv.get());
    result.public_pem = bio_text(pub.get());
    return result;
  }
};

/// The RSA key pair of the credentials under test, generated once per test run.
inline const key_pair& test_key() {
  static key_pair kp = key_pair::generate();
  return kp;
}

/// A temporary directory for credentials files, removed afterwards. The
/// process id in its name keeps parallel test runs apart.
struct temp_dir {
  std::filesystem::path path;

  explicit temp_dir(const std::string& prefix) {
    path = std::filesystem::temp_directory_path()
           / (prefix + std::to_string(getpid()));
    std::filesystem::create_directories(path);
  }

  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }

  std::string write(const std::string& name, const std::string& text) {
    auto file = (path / name).string();
    std::ofstream out{file, std::ios::binary};
    out << text;
    return file;
  }
};

} // namespace sheetsync::test
