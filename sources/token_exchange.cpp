#include "sources/token_exchange.hpp"

#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <rapidjson/document.h>

#include "net/curl_transfer.hpp"
#include "net/http_post.hpp"
#include "net/redact.hpp"
#include "net/text.hpp"
#include "sources/fetch_plan.hpp"

namespace sheetsync {

namespace {

/// Token answers are a few hundred bytes; a larger body is not one.
constexpr size_t max_body_bytes = 64 * 1024;

/// Longest part of a server's error text that is repeated to the user.
constexpr size_t max_server_text = 300;

constexpr std::chrono::milliseconds max_connect_timeout{10'000};

/// Replaces every occurrence of each secret (and of a secret's larger
/// dot-separated parts, as a JWT has) in `text` by "***": a server or library
/// that echoes the request must not carry a credential into an error text.
std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  auto erase = [&](const std::string& part) {
    if (part.size() < 16)
      return;
    for (size_t pos = 0; (pos = text.find(part, pos)) != std::string::npos;)
      text.replace(pos, part.size(), "***"), pos += 3;
  };
  for (auto& secret : secrets) {
    erase(secret);
    size_t start = 0;
    for (;;) {
      auto dot = secret.find('.', start);
      erase(secret.substr(start, dot == std::string::npos ? std::string::npos
                                                          : dot - start));
      if (dot == std::string::npos)
        break;
      start = dot + 1;
    }
  }
  return text;
}

/// A server-provided text fit for an error message: one line, bounded.
std::string tidy(std::string text) {
  for (auto& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = ' ';
  if (text.size() > max_server_text)
    text = text.substr(0, max_server_text) + "...";
  return text;
}

std::string string_member(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject())
    return {};
  auto i = obj.FindMember(name);
  if (i == obj.MemberEnd() || !i->value.IsString())
    return {};
  return {i->value.GetString(), i->value.GetStringLength()};
}

std::string format_seconds(std::chrono::milliseconds ms) {
  auto text = std::to_string(ms.count() / 1000);
  if (auto rest = ms.count() % 1000; rest != 0) {
    auto frac = std::to_string(1000 + rest).substr(1);
    while (frac.back() == '0')
      frac.pop_back();
    text += "." + frac;
  }
  return text + " s";
}

/// What differs between the grants: the form (a secret) and what to add to
/// an OAuth error the endpoint answered.
struct grant {
  std::string form;
  /// The secrets the form carries, as given and percent-encoded: never in a
  /// text (an endpoint may echo either).
  std::vector<std::string> secrets;
  /// Advice for an OAuth `error` code, e.g. "invalid_grant"; "" = none.
  std::function<std::string(const std::string&)> advice;

  grant() = default;
  grant(grant&&) = default;

  ~grant() {
    OPENSSL_cleanse(form.data(), form.size());
    for (auto& x : secrets)
      OPENSSL_cleanse(x.data(), x.size());
  }

  /// Appends "&name=value" to the form; the value is a secret when `secret`.
  void add(const char* name, const std::string& value, bool secret) {
    auto escaped = percent_encode(value);
    // Appended piece by piece: a temporary would keep a copy of a secret.
    if (!form.empty())
      form.append("&");
    form.append(name).append("=").append(escaped);
    if (secret) {
      secrets.push_back(value);
      secrets.push_back(std::move(escaped));
    } else {
      OPENSSL_cleanse(escaped.data(), escaped.size());
    }
  }
};

/// POSTs a grant's form to the token endpoint and reads the token answer.
bool post_token_form(const std::string& token_uri, grant g,
                     std::chrono::milliseconds timeout, access_token& out,
                     failure& err) {
  auto where = redact_url(token_uri);
  auto fail = [&](std::string text, uint16_t status = 0) {
    err = failure{ec::auth_failed, scrub(std::move(text), g.secrets)};
    err.http_status = status;
    return false;
  };
  post_options opts;
  opts.timeout = std::max(timeout, std::chrono::milliseconds{1});
  opts.connect_timeout = std::min(opts.timeout, max_connect_timeout);
  opts.max_answer_bytes = max_body_bytes;
  opts.keep_answer = true;
  opts.user_agent = "sheetsync/0.1";
  // The request carries a credential: http_post follows no redirect, so it
  // goes nowhere but to token_uri.
  auto res = http_post(token_uri,
                       {"Accept: application/json",
                        "Content-Type: application/x-www-form-urlencoded"},
                       g.form, opts, nullptr);
  OPENSSL_cleanse(g.form.data(), g.form.size());
  auto status = res.status;
  if (res.cut_off)
    return fail("the token endpoint " + where + " answered with more than "
                  + std::to_string(max_body_bytes / 1024) + " KiB: not a token answer",
                status);
  if (auto rc = static_cast<CURLcode>(res.curl_code); rc != CURLE_OK) {
    auto reason = std::move(res.curl_error);
    if (rc == CURLE_OPERATION_TIMEDOUT)
      reason = "no answer within " + format_seconds(opts.timeout) + " (" + reason + ")";
    // libcurl's texts name hosts, not URLs; redact_url-worthy parts are unlikely,
    // but the text is scrubbed of the secrets all the same.
    fail("cannot reach the token endpoint " + where + ": "
         + tidy(scrub(std::move(reason), g.secrets)));
    // A connection failure is worth another attempt, like a download's; a
    // refused certificate or a malformed token_uri is not (same rule as there).
    if (classify_curl_code(rc) == ec::download_failed)
      err.code = ec::download_failed;
    return false;
  }
  rapidjson::Document doc;
  // Iterative: an answer nested 64 KiB deep must not exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag>(res.answer.data(), res.answer.size());
  auto json_ok = !doc.HasParseError() && doc.IsObject();
  if (status < 200 || status > 299) {
    std::string text = "the token endpoint " + where + " answered HTTP "
                       + std::to_string(status);
    // Scrubbed before tidy() cuts them short: a cut-off copy of a secret
    // would no longer be found in the final text.
    auto error = json_ok ? tidy(scrub(string_member(doc, "error"), g.secrets))
                         : std::string{};
    auto description
      = json_ok ? tidy(scrub(string_member(doc, "error_description"), g.secrets))
                : std::string{};
    if (!error.empty())
      text += ": " + error;
    if (!description.empty())
      text += ": " + description;
    if (error.empty() && description.empty())
      text += status >= 300 && status < 400 ? " (a redirect: not followed)"
                                            : " without error details";
    if (auto advice = g.advice(error); !advice.empty())
      text += " (" + advice + ")";
    return fail(std::move(text), static_cast<uint16_t>(status));
  }
  if (!json_ok)
    return fail("the token endpoint " + where + " answered HTTP " + std::to_string(status)
                  + " without a JSON object",
                static_cast<uint16_t>(status));
  auto token = string_member(doc, "access_token");
  if (token.empty())
    return fail("the token endpoint " + where + " answered without an access_token",
                static_cast<uint16_t>(status));
  auto type_it = doc.FindMember("token_type");
  if (type_it != doc.MemberEnd()
      && (!type_it->value.IsString()
          || !equals_ignore_case({type_it->value.GetString(), type_it->value.GetStringLength()},
                                  "bearer")))
    return fail("the token endpoint " + where
                  + " answered a token_type other than \"Bearer\"",
                static_cast<uint16_t>(status));
  int64_t expires_in = 3600;
  if (auto i = doc.FindMember("expires_in"); i != doc.MemberEnd()) {
    // Saturated, never wrapped or cast out of range: a huge lifetime is a
    // long one (token_renew_at copes), not a negative or a small one.
    constexpr auto max = std::numeric_limits<int64_t>::max();
    const auto& v = i->value;
    bool ok = true;
    if (v.IsInt64()) {
      expires_in = v.GetInt64();
    } else if (v.IsUint64()) {
      expires_in = max;
    } else if (v.IsNumber()) {
      auto d = v.GetDouble();
      ok = d > 0; // false for NaN as well
      expires_in = !ok ? 0 : d >= 9.2e18 ? max : static_cast<int64_t>(d);
    } else if (v.IsString()) {
      uint64_t n = 0;
      ok = parse_saturated({v.GetString(), v.GetStringLength()}, n);
      expires_in = static_cast<int64_t>(std::min<uint64_t>(n, max));
    } else {
      ok = false;
    }
    if (!ok || expires_in <= 0)
      return fail("the token endpoint " + where + " answered an invalid expires_in",
                  static_cast<uint16_t>(status));
  }
  out.value = std::move(token);
  out.expires_in_s = expires_in;
  return true;
}

} // namespace s} // namespace

bool exchange_jwt(const std::string& token_uri, const std::string& assertion,
                  std::chrono::milliseconds timeout, access_token& out,
                  failure& err) {
  grant g;
  // ':' percent-encoded, as the form needs.
  g.form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";
  g.add("assertion", assertion, true);
  g.advice = [](const std::string& error) -> std::string {
    if (error == "invalid_grant")
      return "check that the service account key still exists and that this "
             "machine's clock is right";
    if (error == "invalid_client" || error == "unauthorized_client")
      return "the service account may have been deleted or disabled";
    return {};
  };
  return post_token_form(token_uri, std::move(g), timeout, out, err);
}

bool exchange_refresh_token(const authorized_user& user,
                            std::chrono::milliseconds timeout,
                            access_token& out, failure& err) {
  grant g;
  g.form = "grant_type=refresh_token";
  g.add("client_id", user.client_id, false);
  g.add("client_secret", user.client_secret, true);
  g.add("refresh_token", user.refresh_token, true);
  g.advice = [](const std::string& error) -> std::string {
    if (error == "invalid_grant")
      return "the refresh token was revoked or has expired: sign in again "
             "with gcloud auth application-default login";
    if (error == "invalid_client" || error == "unauthorized_client")
      return "check client_id and client_secret in the credentials file";
    return {};
  };
  return post_token_form(user.token_uri, std::move(g), timeout, out, err);
}

} // namespace sheetsync
