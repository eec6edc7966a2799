#include "net/cors.hpp"

#include <algorithm>
#include <cctype>

namespace sheetsync {

namespace {

std::string lowered(std::string_view x) {
  std::string result{x};
  for (auto& c : result)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

bool valid_scheme(std::string_view scheme) {
  if (scheme.empty() || !std::isalpha(static_cast<unsigned char>(scheme[0])))
    return false;
  return std::all_of(scheme.begin(), scheme.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-'
           || c == '.';
  });
}

} // namespace

std::string normalize_origin(std::string_view given, std::string& out) {
  const std::string example = " (e.g. https://app.example.com or "
                              "http://127.0.0.1:3000)";
  if (given.empty())
    return "is empty: give scheme://host[:port]" + example;
  if (given.find('*') != std::string_view::npos)
    return "'" + std::string{given}
           + "' is a wildcard: name each origin (scheme://host[:port])";
  auto sep = given.find("://");
  if (sep == std::string_view::npos || !valid_scheme(given.substr(0, sep)))
    return "'" + std::string{given} + "' is not scheme://host[:port]" + example;
  auto scheme = lowered(given.substr(0, sep));
  auto rest = given.substr(sep + 3);
  if (rest.find_first_of(" \t\r\n,") != std::string_view::npos)
    return "'" + std::string{given}
           + "' contains a space or a comma: give one origin per flag";
  // A pasted page address often ends in "/": that is still the origin.
  if (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos)
    return "'" + std::string{given}
           + "' has a path: an origin is only scheme://host[:port]" + example;
  if (rest.find('@') != std::string_view::npos)
    return "'" + std::string{given} + "' has user info: give scheme://host[:port]";
  // The port follows the last ':' outside an IPv6 address's brackets.
  auto close = rest.rfind(']');
  auto colon = rest.rfind(':');
  std::string_view host = rest;
  std::string_view port;
  if (colon != std::string_view::npos
      && (close == std::string_view::npos || colon > close)) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5
        || port.find_first_not_of("0123456789") != std::string_view::npos
        || std::stoul(std::string{port}) == 0
        || std::stoul(std::string{port}) > 65535)
      return "'" + std::string{given}
             + "': the port must be a number from 1 to 65535";
  }
  if (host.empty() || host == "[]")
    return "'" + std::string{given} + "' has no host" + example;
  if (host.front() != '[' && host.find(':') != std::string_view::npos)
    return "'" + std::string{given}
           + "': write an IPv6 address in brackets, e.g. http://[::1]:3000";
  // Browsers leave a scheme's default port out of Origin.
  if ((scheme == "http" && port == "80") || (scheme == "https" && port == "443"))
    port = {};
  out = scheme + "://" + lowered(host);
  if (!port.empty())
    out += ":" + std::string{port};
  return {};
}

cors_policy::cors_policy(std::vector<std::string> origins)
  : origins_(std::move(origins)) {
  // nop
}

bool cors_policy::allows(std::string_view origin) const {
  // Exact: browsers send the serialized origin, so no folding is needed
  // (and "null", from sandboxed frames and files, is never allowed).
  return std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

header_list
cors_policy::answer_headers(std::string_view origin) const {
  if (origin.empty() || !allows(origin))
    return {};
  return {{"Access-Control-Allow-Origin", std::string{origin}},
          {"Access-Control-Expose-Headers", exposed_headers},
          {"Vary", "Origin"}};
}

header_list
cors_policy::preflight_headers(std::string_view origin,
                               std::string_view methods) const {
  auto result = answer_headers(origin);
  if (result.empty())
    return result;
  result.emplace_back("Access-Control-Allow-Methods", std::string{methods});
  result.emplace_back("Access-Control-Allow-Headers", allowed_headers);
  result.emplace_back("Access-Control-Max-Age", max_age);
  return result;
}

} // namespace sheetsync
