#include "net/redact.hpp"

#include <array>
#include <string_view>

#include "net/text.hpp"

namespace sheetsync {

namespace {

bool is_harmless_key(std::string_view key) {
  static constexpr std::array<std::string_view, 4> keys{"gid", "format", "single", "output"};
  for (auto k : keys)
    if (equals_ignore_case(key, k))
      return true;
  return false;
}

/// Redacts a `k=v&k=v` list (query or fragment); `;` separates as well, as some servers accept it.
void append_redacted_params(std::string_view params, std::string& out) {
  size_t pos = 0;
  while (pos <= params.size()) {
    auto end = params.find_first_of("&;", pos);
    if (end == std::string_view::npos)
      end = params.size();
    auto param = params.substr(pos, end - pos);
    auto eq = param.find('=');
    if (param.empty()) {
      // Keep empty pieces ("a=1&&b=2") as they were.
    } else if (eq == std::string_view::npos) {
      // A bare parameter may itself be the token.
      out += is_harmless_key(param) ? std::string{param} : "***";
    } else {
      auto key = param.substr(0, eq);
      auto value = param.substr(eq + 1);
      out.append(key.data(), key.size());
      out += '=';
      if (value.empty() || is_harmless_key(key))
        out.append(value.data(), value.size());
      else
        out += "***";
    }
    if (end == params.size())
      break;
    out += params[end];
    pos = end + 1;
  }
}

} // namespace

std::string redact_url(const std::string& url) {
  std::string_view in{url};
  std::string out;
  out.reserve(url.size());
  // The authority starts after "scheme://"; without a scheme the string starts with it (curl
  // guesses http:// for "user:pw@host/path").
  size_t authority = 0;
  if (auto sep = in.find("://"); sep != std::string_view::npos
                                 && in.find_first_of("/?#") > sep) {
    authority = sep + 3;
  }
  out.append(in.substr(0, authority));
  auto authority_end = in.find_first_of("/?#", authority);
  if (authority_end == std::string_view::npos)
    authority_end = in.size();
  auto host = in.substr(authority, authority_end - authority);
  // The last '@' ends the userinfo: a password may hold an unencoded '@'.
  if (auto at = host.rfind('@'); at != std::string_view::npos)
    host.remove_prefix(at + 1);
  out.append(host);
  auto path_end = in.find_first_of("?#", authority_end);
  if (path_end == std::string_view::npos)
    path_end = in.size();
  out.append(in.substr(authority_end, path_end - authority_end));
  if (path_end == in.size())
    return out;
  auto fragment = in.find('#', path_end);
  if (in[path_end] == '?') {
    out += '?';
    auto query_end = fragment == std::string_view::npos ? in.size() : fragment;
    append_redacted_params(in.substr(path_end + 1, query_end - path_end - 1), out);
  }
  if (fragment != std::string_view::npos) {
    // Fragments carry tokens too (OAuth's "#access_token=..."); Google's "#gid=0" stays.
    out += '#';
    append_redacted_params(in.substr(fragment + 1), out);
  }
  return out;
}

} // namespace sheetsync
