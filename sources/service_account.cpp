#include "sources/service_account.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "net/redact.hpp"

namespace sheetsync {

namespace {

/// Credentials files are about 2.3 KB; anything this large is something else.
constexpr size_t max_file_bytes = 1 << 20;

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

bool fail(failure& err, const std::string& path, const std::string& what) {
  err = failure{ec::bad_credentials, "credentials file " + path + ": " + what};
  return false;
}

/// A short, printable value from the file, for error texts; "" if the value
/// is long or odd enough that it should not be repeated.
std::string quotable(const std::string& value) {
  if (value.empty() || value.size() > 40)
    return {};
  for (char c : value)
    if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == 0x7f)
      return {};
  return "\"" + value + "\"";
}

/// Reads a string member into `out`. Absent: `absent` (false when the field is
/// required, true with `out` untouched when it is optional). Present: a
/// non-empty string, else an error.
bool string_field(const rapidjson::Value& obj, const char* name,
                  const std::string& path, bool required, std::string& out,
                  failure& err) {
  auto i = obj.FindMember(name);
  if (i == obj.MemberEnd()) {
    if (required)
      return fail(err, path, std::string{"no "} + name + " field");
    return true;
  }
  if (!i->value.IsString())
    return fail(err, path, std::string{name} + " is not a string");
  if (i->value.GetStringLength() == 0)
    return fail(err, path, std::string{name} + " is empty");
  out.assign(i->value.GetString(), i->value.GetStringLength());
  return true;
}

bool starts_with(const std::string& str, const char* prefix) {
  return str.compare(0, std::strlen(prefix), prefix) == 0;
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

bool parse_service_account(const std::string& json, const std::string& path,
                           service_account& out, failure& err) {
  rapidjson::Document doc;
  // Iterative: a deeply nested file must not exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError())
    return fail(err, path,
                std::string{"not valid JSON: "}
                  + rapidjson::GetParseError_En(doc.GetParseError())
                  + " at offset " + std::to_string(doc.GetErrorOffset()));
  if (!doc.IsObject())
    return fail(err, path, "not a JSON object");
  if (auto i = doc.FindMember("type"); i != doc.MemberEnd()) {
    std::string type;
    if (i->value.IsString())
      type.assign(i->value.GetString(), i->value.GetStringLength());
    if (type != "service_account") {
      auto shown = quotable(type);
      return fail(err, path,
                  "type is " + (shown.empty() ? std::string{} : shown + ", ")
                    + "not \"service_account\"; sheetsync needs a service "
                      "account key (Google Cloud console: IAM, Service "
                      "accounts, Keys, JSON)");
    }
  }
  service_account sa;
  if (!string_field(doc, "client_email", path, true, sa.client_email, err)
      || !string_field(doc, "private_key", path, true, sa.private_key_pem, err)
      || !string_field(doc, "private_key_id", path, false, sa.private_key_id,
                       err))
    return false;
  sa.token_uri = default_token_uri;
  if (!string_field(doc, "token_uri", path, false, sa.token_uri, err))
    return false;
  if (!starts_with(sa.token_uri, "https://") && !starts_with(sa.token_uri, "http://"))
    return fail(err, path,
                "token_uri " + redact_url(sa.token_uri)
                  + " is not an http:// or https:// URL");
  std::string reason;
  if (!check_rsa_private_key(sa.private_key_pem, reason)) {
    OPENSSL_cleanse(sa.private_key_pem.data(), sa.private_key_pem.size());
    return fail(err, path, "private_key is not a PEM RSA private key (" + reason + ")");
  }
  out = std::move(sa);
  return true;
}

bool load_service_account(const std::string& path, service_account& out,
                          failure& err) {
  std::unique_ptr<FILE, decltype(&std::fclose)> file{std::fopen(path.c_str(), "rb"),
                                                     &std::fclose};
  if (!file)
    return fail(err, path, std::string{"cannot open: "} + std::strerror(errno));
  std::string json;
  char buf[4096];
  for (;;) {
    auto n = std::fread(buf, 1, sizeof(buf), file.get());
    json.append(buf, n);
    if (json.size() > max_file_bytes) {
      OPENSSL_cleanse(json.data(), json.size());
      return fail(err, path, "larger than 1 MiB: not a credentials file");
    }
    if (n < sizeof(buf)) {
      if (std::ferror(file.get())) {
        auto code = errno;
        OPENSSL_cleanse(json.data(), json.size());
        return fail(err, path, std::string{"cannot read: "} + std::strerror(code));
      }
      break;
    }
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  auto ok = parse_service_account(json, path, out, err);
  // The file text holds the private key: leave no copy behind.
  OPENSSL_cleanse(json.data(), json.size());
  return ok;
}

} // namespace sheetsync
