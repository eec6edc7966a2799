#include "sources/jwt.hpp"

#include <memory>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace sheetsync {

namespace {

std::string header_json(const service_account& sa) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  w.StartObject();
  w.Key("alg");
  w.String("RS256");
  w.Key("typ");
  w.String("JWT");
  if (!sa.private_key_id.empty()) {
    w.Key("kid");
    w.String(sa.private_key_id.data(),
             static_cast<rapidjson::SizeType>(sa.private_key_id.size()));
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string claims_json(const service_account& sa, int64_t now_s,
                        const std::string& scope) {
  auto str = [](rapidjson::Writer<rapidjson::StringBuffer>& w,
                const std::string& x) {
    w.String(x.data(), static_cast<rapidjson::SizeType>(x.size()));
  };
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  w.StartObject();
  w.Key("iss");
  str(w, sa.client_email);
  w.Key("scope");
  str(w, scope.empty() ? std::string{default_sheets_scope} : scope);
  w.Key("aud");
  str(w, sa.token_uri);
  w.Key("iat");
  w.Int64(now_s);
  w.Key("exp");
  w.Int64(now_s + jwt_lifetime_s);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

} // namespace

std::string make_jwt(const service_account& sa, int64_t now_s,
                     const std::string& scope, failure& err) {
  std::string reason;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{
    read_rsa_private_key(sa.private_key_pem, reason), &EVP_PKEY_free};
  if (!key) {
    err = failure{ec::bad_credentials, "the private key of service account "
                                         + sa.client_email
                                         + " is not a PEM RSA private key ("
                                         + reason + ")"};
    return {};
  }
  auto input = base64url_encode(header_json(sa)) + '.'
               + base64url_encode(claims_json(sa, now_s, scope));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(),
                                                             &EVP_MD_CTX_free};
  size_t len = 0;
  std::string sig;
  bool ok = ctx
            && EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1
            && EVP_DigestSign(ctx.get(), nullptr, &len,
                              reinterpret_cast<const unsigned char*>(input.data()),
                              input.size())
                 == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                        reinterpret_cast<const unsigned char*>(input.data()), input.size())
         == 1;
    sig.resize(len);
  }
  if (!ok) {
    ERR_clear_error();
    err = failure{ec::auth_failed,
                  "cannot sign the token request of service account " + sa.client_email
                    + " (OpenSSL RS256 signing failed)"};
    return {};
  }
  return input + '.' + base64url_encode(sig);
}

} // namespace sheetsync
