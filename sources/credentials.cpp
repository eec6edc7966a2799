#include "sources/credentials.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <openssl/crypto.h>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "net/redact.hpp"

namespace sheetsync {

namespace {

/// Credentials files are about 2.3 KB; anything this large is something else.
constexpr size_t max_file_bytes = 1 << 20;

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

/// Reads a string member into `out`. Absent: an error when the field is
/// required, else true with `out` untouched. Present: a non-empty string,
/// else an error.
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

/// token_uri: optional, default_token_uri when absent, an http(s) URL.
bool token_uri_field(const rapidjson::Value& obj, const std::string& path,
                     std::string& out, failure& err) {
  out = default_token_uri;
  if (!string_field(obj, "token_uri", path, false, out, err))
    return false;
  if (!starts_with(out, "https://") && !starts_with(out, "http://"))
    return fail(err, path,
                "token_uri " + redact_url(out)
                  + " is not an http:// or https:// URL");
  return true;
}

void cleanse(std::string& secret) {
  OPENSSL_cleanse(secret.data(), secret.size());
}

bool read_service_account(const rapidjson::Value& doc, const std::string& path,
                          service_account& sa, failure& err) {
  if (!string_field(doc, "client_email", path, true, sa.client_email, err)
      || !string_field(doc, "private_key", path, true, sa.private_key_pem, err)
      || !string_field(doc, "private_key_id", path, false, sa.private_key_id,
                       err)
      || !token_uri_field(doc, path, sa.token_uri, err))
    return false;
  std::string reason;
  if (!check_rsa_private_key(sa.private_key_pem, reason))
    return fail(err, path, "private_key is not a PEM RSA private key (" + reason + ")");
  return true;
}

bool read_authorized_user(const rapidjson::Value& doc, const std::string& path,
                          authorized_user& user, failure& err) {
  return string_field(doc, "client_id", path, true, user.client_id, err)
         && string_field(doc, "client_secret", path, true, user.client_secret, err)
         && string_field(doc, "refresh_token", path, true, user.refresh_token, err)
         && token_uri_field(doc, path, user.token_uri, err);
}

} // namespace

std::string google_credentials::client_email() const {
  if (auto* sa = std::get_if<service_account>(&account))
    return sa->client_email;
  return {};
}

const std::string& google_credentials::token_uri() const {
  if (auto* sa = std::get_if<service_account>(&account))
    return sa->token_uri;
  return std::get<authorized_user>(account).token_uri;
}

void google_credentials::set_token_uri(std::string uri) {
  if (auto* sa = std::get_if<service_account>(&account))
    sa->token_uri = std::move(uri);
  else
    std::get<authorized_user>(account).token_uri = std::move(uri);
}

std::string google_credentials::who() const {
  if (auto* sa = std::get_if<service_account>(&account))
    return "service account " + sa->client_email;
  return "the Google account of the authorized_user credentials file " + path;
}

bool parse_credentials(const std::string& json, const std::string& path,
                       google_credentials& out, failure& err) {
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
  std::string type = doc.HasMember("refresh_token") ? "authorized_user"
                                                    : "service_account";
  if (auto i = doc.FindMember("type"); i != doc.MemberEnd()) {
    type.clear();
    if (i->value.IsString())
      type.assign(i->value.GetString(), i->value.GetStringLength());
  }
  google_credentials result;
  result.path = path;
  if (type == "service_account") {
    service_account sa;
    if (!read_service_account(doc, path, sa, err)) {
      cleanse(sa.private_key_pem);
      return false;
    }
    result.account = std::move(sa);
  } else if (type == "authorized_user") {
    authorized_user user;
    if (!read_authorized_user(doc, path, user, err)) {
      cleanse(user.client_secret);
      cleanse(user.refresh_token);
      return false;
    }
    result.account = std::move(user);
  } else {
    auto shown = quotable(type);
    return fail(err, path,
                "type is " + (shown.empty() ? std::string{} : shown + ", ")
                  + "not \"service_account\" or \"authorized_user\"; sheetsync "
                    "reads a service account key (Google Cloud console: IAM, "
                    "Service accounts, Keys, JSON) or the file `gcloud auth "
                    "application-default login` writes");
  }
  out = std::move(result);
  return true;
}

bool load_credentials(const std::string& path, google_credentials& out,
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
      cleanse(json);
      return fail(err, path, "larger than 1 MiB: not a credentials file");
    }
    if (n < sizeof(buf)) {
      if (std::ferror(file.get())) {
        auto code = errno;
        cleanse(json);
        return fail(err, path, std::string{"cannot read: "} + std::strerror(code));
      }
      break;
    }
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  auto ok = parse_credentials(json, path, out, err);
  // The file text holds the key or the refresh token: leave no copy behind.
  cleanse(json);
  return ok;
}

} // namespace sheetsync
