// Fuzz target: Google credentials JSON of either kind (sources/credentials):
// service accounts and authorized users.
//
// No key is committed: "@RSA_KEY@" in an input stands for a PEM RSA key made
// once at start-up (JSON-escaped), so that seeds can reach the success path.
// Checks: a failure is ec::bad_credentials with a message naming the file
// and never holding a secret (neither the made key nor a long private_key,
// client_secret or refresh_token value of the input: the input is parsed again
// with that value replaced by two markers in turn, and a message showing the
// marker shows the secret; a secret that merely equals fixed message text or
// another field is no leak); a success has every field the header promises
// and, for a service account, a key OpenSSL reads.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "fuzz/check.hpp"
#include "sources/credentials.hpp"

using namespace sheetsync;

namespace {

constexpr std::string_view placeholder = "@RSA_KEY@";

/// A fresh RSA key, PEM (PKCS#8, as in Google's files).
std::string make_key_pem() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{
    EVP_RSA_gen(2048), &EVP_PKEY_free};
  FUZZ_CHECK(key != nullptr, "cannot make an RSA key");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), &BIO_free};
  PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                           nullptr);
  char* data = nullptr;
  auto n = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<size_t>(n)};
}

const std::string& key_pem() {
  static const std::string pem = make_key_pem();
  return pem;
}

/// The key as a JSON string body (line ends escaped).
const std::string& key_json() {
  static const std::string json = [] {
    std::string out;
    for (auto c : key_pem())
      out += c == '\n' ? std::string{"\\n"} : std::string{c};
    return out;
  }();
  return json;
}

/// A string member of the input's JSON object, or "".
std::string member(const rapidjson::Document& doc, const char* name) {
  if (!doc.IsObject())
    return {};
  auto i = doc.FindMember(name);
  if (i == doc.MemberEnd() || !i->value.IsString())
    return {};
  return {i->value.GetString(), i->value.GetStringLength()};
}

/// The error for `doc` with string member `name` set to `marker` repeated to
/// the value's length (the length decides what a message may quote).
std::string error_with(const rapidjson::Document& doc, const char* name,
                       std::string_view marker, size_t length,
                       std::string& shown_marker) {
  rapidjson::Document copy;
  copy.CopyFrom(doc, copy.GetAllocator());
  shown_marker.clear();
  while (shown_marker.size() < length)
    shown_marker += marker;
  shown_marker.resize(length);
  copy.FindMember(name)->value.SetString(shown_marker.data(),
                                         shown_marker.size(),
                                         copy.GetAllocator());
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> writer{out};
  copy.Accept(writer);
  google_credentials creds;
  failure err;
  if (parse_credentials(out.GetString(), "creds.json", creds, err))
    return {};
  return err.text;
}

} // namespace

// The key is made before the first input, outside its 1 s time limit.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  key_json();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::guarded(data, size, [](std::string_view input) {
    std::string json{input};
    for (auto pos = json.find(placeholder); pos != std::string::npos;
         pos = json.find(placeholder, pos + key_json().size()))
      json.replace(pos, placeholder.size(), key_json());
    const std::string path = "creds.json";
    google_credentials creds;
    creds.path = "untouched";
    failure err;
    if (parse_credentials(json, path, creds, err)) {
      FUZZ_CHECK(creds.path == path, creds.path);
      FUZZ_CHECK(creds.token_uri().rfind("https://", 0) == 0
                   || creds.token_uri().rfind("http://", 0) == 0,
                 creds.token_uri());
      if (auto* user = std::get_if<authorized_user>(&creds.account)) {
        FUZZ_CHECK(!user->client_id.empty() && !user->client_secret.empty()
                     && !user->refresh_token.empty(),
                   "an authorized user without a field");
        return;
      }
      auto& sa = std::get<service_account>(creds.account);
      FUZZ_CHECK(!sa.client_email.empty(), "no client_email");
      FUZZ_CHECK(!sa.private_key_pem.empty(), "no private key");
      std::string reason;
      FUZZ_CHECK(check_rsa_private_key(sa.private_key_pem, reason), reason);
      return;
    }
    FUZZ_CHECK(err.code == ec::bad_credentials, err.text);
    FUZZ_CHECK(err.text.rfind("credentials file " + path + ": ", 0) == 0, err.text);
    FUZZ_CHECK(creds.path == "untouched", "output changed on failure");
    rapidjson::Document doc;
    doc.Parse(json.data(), json.size());
    if (doc.HasParseError())
      return;
    // Values shown in errors (the token URI) may hold key text themselves.
    auto shown = member(doc, "token_uri");
    // The made key's second PEM line (base64 of key material).
    auto line_start = key_pem().find('\n') + 1;
    auto line = key_pem().substr(line_start, 64);
    if (shown.find(line) == std::string::npos)
      FUZZ_CHECK(err.text.find(line) == std::string::npos, "the key shows");
    for (auto field : {"private_key", "client_secret", "refresh_token"}) {
      auto secret = member(doc, field);
      if (secret.size() <= 40 || err.text.find(secret) == std::string::npos)
        continue;
      // Shown: because the message quotes the value, or because the same
      // text is there anyway? Only the first leaks into both markers' runs.
      std::string a, b;
      auto with_a = error_with(doc, field, "Qz7marker", secret.size(), a);
      auto with_b = error_with(doc, field, "Vw3secret", secret.size(), b);
      FUZZ_CHECK(with_a.find(a) == std::string::npos
                   || with_b.find(b) == std::string::npos,
                 std::string{field} + " shows");
    }
  });
}
