// Google credentials and the signed JWT, without CAF actors or a network:
// load_credentials' start-up checks for service accounts and authorized users
// (each names the file and the field, never a secret), base64url, and make_jwt's header, claims and
// RS256 signature (checked with the public half of a key pair generated here;
// no key is ever committed).

#define CAF_SUITE service_account
#include <caf/test/unit_test.hpp>

#include "sources/credentials.hpp"
#include "sources/jwt.hpp"
#include "sources/service_account.hpp"
#include "tests/check_msg.hpp"
#include "tests/test_credentials.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

using namespace sheetsync;
using namespace sheetsync::test;
using caf::term; // for CAF_CHECK_PASSED / CAF_CHECK_FAILED

namespace {

bool contains(const std::string& str, const std::string& part) {
  return str.find(part) != std::string::npos;
}

/// Pieces of the private key's base64 body: none may show up in a text.
std::vector<std::string> key_fragments(const std::string& pem) {
  std::vector<std::string> result;
  size_t pos = 0;
  while ((pos = pem.find('\n', pos)) != std::string::npos) {
    auto end = pem.find('\n', pos + 1);
    if (end == std::string::npos)
      break;
    auto line = pem.substr(pos + 1, end - pos - 1);
    if (line.size() >= 32 && line.find("-----") == std::string::npos)
      result.push_back(line.substr(0, 24));
    pos = end;
  }
  return result;
}

/// True if `text` holds no part of any key material we know of.
bool free_of_secrets(const std::string& text, const std::string& pem) {
  if (contains(text, "BEGIN") || contains(text, "PRIVATE KEY"))
    return false;
  for (auto& frag : key_fragments(pem))
    if (contains(text, frag))
      return false;
  return true;
}

/// The credentials JSON, with fields left out or replaced: `fields` maps a
/// name to its raw JSON value; an empty raw value drops the field.
std::string credentials_json(const std::vector<std::pair<std::string, std::string>>& over
                             = {},
                             const std::string& pem = test_key().private_pem) {
  auto quote = [](const std::string& x) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w{buf};
    w.String(x.data(), static_cast<rapidjson::SizeType>(x.size()));
    return std::string{buf.GetString(), buf.GetSize()};
  };
  std::vector<std::pair<std::string, std::string>> fields{
    {"type", quote("service_account")},
    {"project_id", quote("sheetsync-test")},
    {"private_key_id", quote("0123456789abcdef")},
    {"private_key", quote(pem)},
    {"client_email", quote("syncer@sheetsync-test.iam.gserviceaccount.com")},
    {"client_id", quote("123456789")},
    {"auth_uri", quote("https://accounts.google.com/o/oauth2/auth")},
    {"token_uri", quote("https://oauth2.googleapis.com/token")},
  };
  for (auto& [name, raw] : over) {
    bool found = false;
    for (auto& f : fields)
      if (f.first == name) {
        f.second = raw;
        found = true;
      }
    if (!found)
      fields.emplace_back(name, raw);
  }
  std::string json = "{\n";
  bool first = true;
  for (auto& [name, raw] : fields) {
    if (raw.empty())
      continue;
    if (!first)
      json += ",\n";
    first = false;
    json += "  " + quote(name) + ": " + raw;
  }
  return json + "\n}\n";
}

struct fixture {
  temp_dir dir{"sheetsync-sa-test-"};

  /// Loads `text` from a file; returns the failure (code none on success).
  failure load(const std::string& text, service_account* out = nullptr) {
    google_credentials creds;
    auto err = load_any(text, &creds);
    if (!err && out) {
      CHECK_MSG(creds.is_service_account(), "not a service account");
      if (creds.is_service_account())
        *out = std::get<service_account>(creds.account);
    }
    return err;
  }

  /// Loads `text` from a file as credentials of either kind.
  failure load_any(const std::string& text, google_credentials* out = nullptr) {
    auto path = dir.write("sa.json", text);
    google_credentials creds;
    failure err;
    if (load_credentials(path, creds, err) && out)
      *out = creds;
    return err;
  }

  /// Checks a refusal: bad_credentials, naming the path and `what`, no secret.
  void check_refused(const std::string& text, const std::string& what,
                     const std::string& pem = test_key().private_pem) {
    auto err = load(text);
    auto path = (dir.path / "sa.json").string();
    CHECK_MSG(err.code == ec::bad_credentials, "code " << to_string(err.code)
                                                       << " for '" << what << "'");
    CHECK_MSG(contains(err.text, "credentials file " + path + ": "), err.text);
    CHECK_MSG(contains(err.text, what), "'" << err.text << "' lacks '" << what << "'");
    CHECK_MSG(free_of_secrets(err.text, pem), "secret in: " << err.text);
  }
};

/// Splits a JWT into its three parts.
std::vector<std::string> split_jwt(const std::string& jwt) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    auto dot = jwt.find('.', start);
    parts.push_back(jwt.substr(start, dot == std::string::npos ? dot : dot - start));
    if (dot == std::string::npos)
      return parts;
    start = dot + 1;
  }
}

/// RS256 verification with the public half.
bool verify_rs256(const std::string& signing_input, const std::string& sig_b64,
                  const std::string& public_pem) {
  std::string sig;
  if (!base64url_decode(sig_b64, sig))
    return false;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{
    BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())), &BIO_free};
  pkey_ptr pub{PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free};
  if (!pub)
    CAF_FAIL("cannot read the test public key");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(),
                                                             &EVP_MD_CTX_free};
  return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pub.get()) == 1
         && EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                             sig.size(),
                             reinterpret_cast<const unsigned char*>(signing_input.data()),
                             signing_input.size())
              == 1;
}

rapidjson::Document decode_json_part(const std::string& part) {
  std::string json;
  if (!base64url_decode(part, json))
    CAF_FAIL("JWT part is not base64url: " << part);
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject())
    CAF_FAIL("JWT part is not a JSON object: " << json);
  return doc;
}

service_account test_account() {
  service_account sa;
  sa.client_email = "syncer@sheetsync-test.iam.gserviceaccount.com";
  sa.private_key_pem = test_key().private_pem;
  sa.private_key_id = "0123456789abcdef";
  sa.token_uri = "https://oauth2.googleapis.com/token";
  return sa;
}

constexpr int64_t now_s = 1'700'000'000;

} // namespace

// -- base64url -----------------------------------------------------------------

CAF_TEST(base64url encodes without padding and round - trips) {
  CAF_CHECK_EQUAL(base64url_encode(""), "");
  CAF_CHECK_EQUAL(base64url_encode("f"), "Zg");
  CAF_CHECK_EQUAL(base64url_encode("fo"), "Zm8");
  CAF_CHECK_EQUAL(base64url_encode("foo"), "Zm9v");
  CAF_CHECK_EQUAL(base64url_encode("foob"), "Zm9vYg");
  CAF_CHECK_EQUAL(base64url_encode(std::string{"\xfb\xff\xbf", 3}), "-_-_");
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 7) {
    std::string back;
    auto enc = base64url_encode(all.substr(0, n));
    CHECK_MSG(enc.find_first_of("+/=") == std::string::npos, enc);
    CHECK_MSG(base64url_decode(enc, back) && back == all.substr(0, n), "length " << n);
  }
  std::string out;
  CAF_CHECK(base64url_decode("Zm8=", out) && out == "fo");
  CAF_CHECK(!base64url_decode("Zm8+", out));
  CAF_CHECK(!base64url_decode("Z", out));
  CAF_CHECK(!base64url_decode("Zm9v=", out));
}

CAF_TEST_FIXTURE_SCOPE(credentials_tests, fixture)

// -- loading credentials ---------------------------------------------------------

CAF_TEST(a complete credentials file loads) {
  service_account sa;
  auto err = load(credentials_json(), &sa);
  CHECK_MSG(!err, err.text);
  CAF_CHECK_EQUAL(sa.client_email, "syncer@sheetsync-test.iam.gserviceaccount.com");
  CAF_CHECK_EQUAL(sa.private_key_pem, test_key().private_pem);
  CAF_CHECK_EQUAL(sa.private_key_id, "0123456789abcdef");
  CAF_CHECK_EQUAL(sa.token_uri, "https://oauth2.googleapis.com/token");
}

CAF_TEST(optional fields have defaults) {
  service_account sa;
  auto err = load(credentials_json({{"type", ""},
                                    {"private_key_id", ""},
                                    {"token_uri", ""}}),
                  &sa);
  CHECK_MSG(!err, err.text);
  CAF_CHECK_EQUAL(sa.token_uri, default_token_uri);
  CAF_CHECK_EQUAL(sa.private_key_id, "");
  // A token endpoint on loopback (tests, proxies) is fine.
  err = load(credentials_json({{"token_uri", "\"http://127.0.0.1:8080/token\""}}), &sa);
  CHECK_MSG(!err, err.text);
  CAF_CHECK_EQUAL(sa.token_uri, "http://127.0.0.1:8080/token");
}

CAF_TEST(an unreadable file is named with the system error) {
  google_credentials creds;
  failure err;
  auto missing = (dir.path / "missing.json").string();
  CAF_CHECK(!load_credentials(missing, creds, err));
  CAF_CHECK(err.code == ec::bad_credentials);
  CHECK_MSG(contains(err.text, "credentials file " + missing + ": cannot open: ")
              && contains(err.text, "No such file or directory"),
            err.text);
  err = failure{};
  auto folder = dir.path.string();
  CAF_CHECK(!load_credentials(folder, creds, err));
  CAF_CHECK(err.code == ec::bad_credentials);
  CHECK_MSG(contains(err.text, folder) && contains(err.text, "Is a directory"), err.text);
}

CAF_TEST(a file that is not JSON is refused with the offset) {
  check_refused("", "not valid JSON");
  check_refused("{\"client_email\": \"x\",, }", "not valid JSON");
  check_refused("{\"client_email\": \"x\",, }", "at offset 21");
  check_refused("[1, 2]", "not a JSON object");
  // A truncated file ends in the middle of the key: still no key text.
  auto whole = credentials_json();
  check_refused(whole.substr(0, whole.find("MII") + 200), "not valid JSON");
  // Nested a million levels deep (under the 1 MiB cap): refused, not a stack
  // overflow.
  check_refused("{\"type\":" + std::string(1000000, '['), "not valid JSON");
}

CAF_TEST(credentials of another type are refused) {
  check_refused(credentials_json({{"type", "\"external_account\""}}),
                "type is \"external_account\", not \"service_account\" or "
                "\"authorized_user\"");
  check_refused(credentials_json({{"type", "42"}}),
                "type is not \"service_account\" or \"authorized_user\"");
  // Says where each kind comes from.
  check_refused(credentials_json({{"type", "\"impersonated_service_account\""}}),
                "gcloud auth application-default login");
}

CAF_TEST(each missing field is named) {
  check_refused(credentials_json({{"client_email", ""}}), "no client_email field");
  check_refused(credentials_json({{"private_key", ""}}), "no private_key field");
  check_refused(credentials_json({{"client_email", "\"\""}}), "client_email is empty");
  check_refused(credentials_json({{"private_key", "\"\""}}), "private_key is empty");
  check_refused(credentials_json({{"client_email", "17"}}), "client_email is not a string");
  check_refused(credentials_json({{"private_key", "null"}}), "private_key is not a string");
  check_refused(credentials_json({{"token_uri", "\"\""}}), "token_uri is empty");
  check_refused(credentials_json({{"token_uri", "[]"}}), "token_uri is not a string");
  check_refused(credentials_json({{"token_uri", "\"ftp://example.com/token\""}}),
                "token_uri ftp://example.com/token is not an http:// or https:// URL");
  check_refused(credentials_json({{"private_key_id", "7"}}),
                "private_key_id is not a string");
}

CAF_TEST(a key that does not parse is refused without showing it) {
  auto& pem = test_key().private_pem;
  // Damaged: a line of the base64 body altered.
  auto damaged = pem;
  damaged.replace(damaged.find('\n') + 1, 12, "!!!!????****");
  check_refused(credentials_json({}, damaged), "private_key is not a PEM RSA private key",
                damaged);
  // Cut short.
  auto truncated = pem.substr(0, pem.size() / 2);
  check_refused(credentials_json({}, truncated),
                "private_key is not a PEM RSA private key", truncated);
  // Not PEM at all (e.g. the key's base64 body pasted without the lines).
  auto body = pem.substr(pem.find('\n') + 1, 400);
  check_refused(credentials_json({}, body), "private_key is not a PEM RSA private key",
                body);
  // A public key instead of the private one.
  check_refused(credentials_json({}, test_key().public_pem),
                "private_key is not a PEM RSA private key", test_key().public_pem);
  // An EC key: RS256 needs RSA.
  auto ec_key = key_pair::generate(false);
  check_refused(credentials_json({}, ec_key.private_pem), "not an RSA key",
                ec_key.private_pem);
  // An encrypted key: never prompts for a password.
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), &BIO_free};
  char password[] = "secret";
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), test_key().key.get(), EVP_aes_128_cbc(),
                                    password, 6, nullptr, nullptr)
      != 1)
    CAF_FAIL("cannot write an encrypted key");
  auto encrypted = bio_text(bio.get());
  check_refused(credentials_json({}, encrypted), "encrypted", encrypted);
}

// -- authorized users --------------------------------------------------------------

namespace {

const std::string user_secret = "GOCSPX-not-a-real-client-secret-42";
const std::string user_refresh = "1//0gNotARealRefreshToken-abcdefghijklmnop";

/// What `gcloud auth application-default login` writes, with fields left out
/// or replaced: `over` maps a name to its raw JSON value ("" drops it).
std::string user_json(const std::vector<std::pair<std::string, std::string>>& over = {}) {
  std::vector<std::pair<std::string, std::string>> fields{
    {"account", "\"\""},
    {"client_id", "\"764086051850-x.apps.googleusercontent.com\""},
    {"client_secret", "\"" + user_secret + "\""},
    {"quota_project_id", "\"sheetsync-test\""},
    {"refresh_token", "\"" + user_refresh + "\""},
    {"type", "\"authorized_user\""},
    {"universe_domain", "\"googleapis.com\""},
  };
  for (auto& [name, raw] : over) {
    bool found = false;
    for (auto& f : fields)
      if (f.first == name)
        f.second = raw, found = true;
    if (!found)
      fields.emplace_back(name, raw);
  }
  std::string json = "{";
  for (auto& [name, raw] : fields)
    if (!raw.empty())
      json += (json.size() > 1 ? ", \"" : "\"") + name + "\": " + raw;
  return json + "}";
}

} // namespace

CAF_TEST(an authorized_user file loads with the default token endpoint) {
  google_credentials creds;
  auto err = load_any(user_json(), &creds);
  CHECK_MSG(!err, err.text);
  CAF_REQUIRE(!creds.is_service_account());
  auto& user = std::get<authorized_user>(creds.account);
  CAF_CHECK_EQUAL(user.client_id, "764086051850-x.apps.googleusercontent.com");
  CAF_CHECK_EQUAL(user.client_secret, user_secret);
  CAF_CHECK_EQUAL(user.refresh_token, user_refresh);
  CAF_CHECK_EQUAL(user.token_uri, default_token_uri);
  CAF_CHECK_EQUAL(creds.token_uri(), default_token_uri);
  CAF_CHECK_EQUAL(creds.client_email(), "");
  auto path = (dir.path / "sa.json").string();
  CAF_CHECK_EQUAL(creds.path, path);
  CAF_CHECK_EQUAL(creds.who(),
                  "the Google account of the authorized_user credentials file " + path);
  // The file's token_uri, when it has one; set_token_uri (--google-token-url)
  // replaces it.
  err = load_any(user_json({{"token_uri", "\"http://127.0.0.1:9/token\""}}), &creds);
  CHECK_MSG(!err, err.text);
  CAF_CHECK_EQUAL(creds.token_uri(), "http://127.0.0.1:9/token");
  creds.set_token_uri("http://127.0.0.1:10/token");
  CAF_CHECK_EQUAL(std::get<authorized_user>(creds.account).token_uri,
                  "http://127.0.0.1:10/token");
  // Without "type", a refresh token makes it an authorized user.
  err = load_any(user_json({{"type", ""}}), &creds);
  CHECK_MSG(!err, err.text);
  CAF_CHECK(!creds.is_service_account());
  // A service account is one too, with its e-mail.
  err = load_any(credentials_json(), &creds);
  CHECK_MSG(!err, err.text);
  CAF_CHECK(creds.is_service_account());
  CAF_CHECK_EQUAL(creds.who(), "service account syncer@sheetsync-test.iam.gserviceaccount.com");
}

CAF_TEST(each missing field of an authorized user is named without its secrets) {
  auto path = (dir.path / "sa.json").string();
  auto refused = [&](const std::string& text, const std::string& what) {
    auto err = load_any(text);
    CHECK_MSG(err.code == ec::bad_credentials, "code " << to_string(err.code));
    CHECK_MSG(contains(err.text, "credentials file " + path + ": " + what),
              "'" << err.text << "' lacks '" << what << "'");
    CHECK_MSG(!contains(err.text, user_secret) && !contains(err.text, user_refresh),
              "secret in: " << err.text);
  };
  refused(user_json({{"client_id", ""}}), "no client_id field");
  refused(user_json({{"client_secret", ""}}), "no client_secret field");
  refused(user_json({{"refresh_token", ""}}), "no refresh_token field");
  refused(user_json({{"client_id", "\"\""}}), "client_id is empty");
  refused(user_json({{"client_secret", "7"}}), "client_secret is not a string");
  refused(user_json({{"refresh_token", "\"\""}}), "refresh_token is empty");
  refused(user_json({{"token_uri", "\"file:///etc/passwd\""}}),
          "token_uri file:///etc/passwd is not an http:// or https:// URL");
  // A service account's fields do not make an authorized user.
  refused(user_json({{"refresh_token", ""}, {"private_key", "\"x\""}}),
          "no refresh_token field");
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- make_jwt --------------------------------------------------------------------

CAF_TEST(make_jwt builds the header and claims Google expects) {
  failure err;
  auto jwt = make_jwt(test_account(), now_s, "", err);
  CHECK_MSG(!err && !jwt.empty(), err.text);
  auto parts = split_jwt(jwt);
  CAF_REQUIRE_EQUAL(parts.size(), 3u);
  for (auto& part : parts)
    CHECK_MSG(part.find_first_of("+/=") == std::string::npos, part);
  auto header = decode_json_part(parts[0]);
  CAF_CHECK_EQUAL(std::string{header["alg"].GetString()}, "RS256");
  CAF_CHECK_EQUAL(std::string{header["typ"].GetString()}, "JWT");
  CAF_CHECK_EQUAL(std::string{header["kid"].GetString()}, "0123456789abcdef");
  CAF_CHECK_EQUAL(header.MemberCount(), 3u);
  auto claims = decode_json_part(parts[1]);
  CAF_CHECK_EQUAL(std::string{claims["iss"].GetString()},
                  "syncer@sheetsync-test.iam.gserviceaccount.com");
  CAF_CHECK_EQUAL(std::string{claims["scope"].GetString()},
                  "https://www.googleapis.com/auth/spreadsheets.readonly");
  CAF_CHECK_EQUAL(std::string{claims["aud"].GetString()},
                  "https://oauth2.googleapis.com/token");
  CAF_CHECK_EQUAL(claims["iat"].GetInt64(), now_s);
  CAF_CHECK_EQUAL(claims["exp"].GetInt64(), now_s + 3600);
  CAF_CHECK_EQUAL(claims.MemberCount(), 5u);
  // Another scope, no key id.
  auto sa = test_account();
  sa.private_key_id.clear();
  jwt = make_jwt(sa, now_s, "https://www.googleapis.com/auth/drive.readonly", err);
  parts = split_jwt(jwt);
  CAF_REQUIRE_EQUAL(parts.size(), 3u);
  header = decode_json_part(parts[0]);
  CAF_CHECK(!header.HasMember("kid"));
  CAF_CHECK_EQUAL(header.MemberCount(), 2u);
  claims = decode_json_part(parts[1]);
  CAF_CHECK_EQUAL(std::string{claims["scope"].GetString()},
                  "https://www.googleapis.com/auth/drive.readonly");
}

CAF_TEST(make_jwt signs RS256 and the public key verifies it) {
  failure err;
  auto jwt = make_jwt(test_account(), now_s, "", err);
  auto parts = split_jwt(jwt);
  CAF_REQUIRE_EQUAL(parts.size(), 3u);
  auto input = parts[0] + "." + parts[1];
  std::string sig;
  CAF_CHECK(base64url_decode(parts[2], sig));
  CAF_CHECK_EQUAL(sig.size(), 256u); // RSA-2048
  CAF_CHECK(verify_rs256(input, parts[2], test_key().public_pem));
  // A tampered payload (a later expiry) fails.
  auto claims_json = std::string{};
  base64url_decode(parts[1], claims_json);
  auto pos = claims_json.find(std::to_string(now_s + 3600));
  CAF_REQUIRE(pos != std::string::npos);
  claims_json.replace(pos, 10, std::to_string(now_s + 86400));
  auto tampered = parts[0] + "." + base64url_encode(claims_json);
  CAF_CHECK(!verify_rs256(tampered, parts[2], test_key().public_pem));
  // A tampered signature fails.
  auto bad_sig = sig;
  bad_sig[10] = static_cast<char>(bad_sig[10] ^ 1);
  CAF_CHECK(!verify_rs256(input, base64url_encode(bad_sig), test_key().public_pem));
  // Another key pair's public half does not verify it.
  auto other = key_pair::generate();
  CAF_CHECK(!verify_rs256(input, parts[2], other.public_pem));
}

CAF_TEST(make_jwt with a bad key fails without showing it) {
  auto sa = test_account();
  sa.private_key_pem = sa.private_key_pem.substr(0, sa.private_key_pem.size() / 2);
  failure err;
  auto jwt = make_jwt(sa, now_s, "", err);
  CAF_CHECK(jwt.empty());
  CAF_CHECK(err.code == ec::bad_credentials);
  CHECK_MSG(contains(err.text, sa.client_email), err.text);
  CHECK_MSG(free_of_secrets(err.text, test_key().private_pem), err.text);
}
