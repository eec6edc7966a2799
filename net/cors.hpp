#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sheetsync {

/// Header fields as http_response keeps them.
using header_list = std::vector<std::pair<std::string, std::string>>;

/// Checks an origin given to --cors-origin (or in cors-origins) and writes
/// the form browsers send in their Origin header to `out`: scheme and host
/// lower-cased, a default port (http 80, https 443) and one trailing "/"
/// dropped. Returns "" or what is wrong with it (for a message naming the
/// flag). Refused: "*", a path, a query, user info, no scheme or no host.
std::string normalize_origin(std::string_view given, std::string& out);

/// Which pages on other origins may call the service (CORS), and the header
/// fields that tells their browsers. Pure: the facade asks it per request.
class cors_policy {
public:
  cors_policy() = default;

  /// `origins` as normalize_origin() writes them.
  explicit cors_policy(std::vector<std::string> origins);

  /// Whether `origin` (an Origin header's value) may call the service.
  bool allows(std::string_view origin) const;

  /// The fields of every answer to a request from `origin` ("": the request
  /// has no Origin; none unless it is allowed): Access-Control-Allow-Origin (that origin, never "*"),
  /// Access-Control-Expose-Headers and Vary: Origin.
  header_list answer_headers(std::string_view origin) const;

  /// The fields of a preflight's 204 for an allowed `origin` on a path that
  /// takes `methods` ("GET, HEAD, POST"): Allow-Methods, Allow-Headers and
  /// Max-Age on top of answer_headers(). None for another origin.
  header_list preflight_headers(std::string_view origin,
                                std::string_view methods) const;

  bool empty() const {
    return origins_.empty();
  }

  /// Request headers a page may send: the token, JSON bodies, and the event
  /// stream's resume point.
  static constexpr const char* allowed_headers
    = "authorization, content-type, last-event-id";

  /// Answer headers a page may read (the browser hides all but a few).
  static constexpr const char* exposed_headers
    = "Location, Retry-After, RateLimit, RateLimit-Policy";

  /// How long a browser may keep a preflight's answer, in seconds.
  static constexpr const char* max_age = "600";

private:
  std::vector<std::string> origins_;
};

} // namespace sheetsync
