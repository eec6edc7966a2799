#include "cli/webhook_options.hpp"

#include <algorithm>

#include "net/redact.hpp"
#include "net/text.hpp"

namespace sheetsync {

namespace {

const std::vector<std::string>& event_names() {
  static const std::vector<std::string> names{"sync.completed", "sync.failed",
                                              "sync.cancelled"};
  return names;
}

/// A list of strings (a single string counts as a list of one).
bool read_strings(const config_node& node, std::vector<std::string>& out) {
  auto one = [&](const config_node& x) {
    auto str = x.kind == config_node::scalar
                 ? caf::get_if<std::string>(&x.value)
                 : nullptr;
    if (str == nullptr || str->empty())
      return false;
    out.push_back(*str);
    return true;
  };
  if (node.kind != config_node::list)
    return one(node);
  for (auto& item : node.items)
    if (!one(item))
      return false;
  return true;
}

} // namespace

std::string check_webhook_url(const std::string& url) {
  auto scheme_end = url.find("://");
  auto scheme = lower(url.substr(0, scheme_end == std::string::npos ? 0 : scheme_end));
  if (scheme != "http" && scheme != "https")
    return "webhook URL \"" + shown_location(url)
           + "\" must start with http:// or https://";
  auto host_start = scheme_end + 3;
  if (host_start >= url.size() || url[host_start] == '/'
      || url[host_start] == '?' || url[host_start] == '#')
    return "webhook URL \"" + shown_location(url) + "\" has no host";
  return {};
}

std::string read_webhook_config(const config_node& root, const std::string& path,
                                std::vector<webhook_endpoint>& out) {
  auto section = root.find("sheetsync");
  auto node = section != nullptr ? section->find("webhooks") : nullptr;
  if (node == nullptr)
    return {};
  auto where = "config file " + path + ": [sheetsync] webhooks";
  auto example = std::string{": expected a list like webhooks = [{ url = "
                             "\"https://...\", events = [\"sync.completed\"], "
                             "sources = [\"sales\"] }]"};
  if (node->kind != config_node::list)
    return where + example;
  for (size_t i = 0; i < node->items.size(); ++i) {
    auto& item = node->items[i];
    auto at = where + " #" + std::to_string(i + 1);
    if (item.kind != config_node::map)
      return at + example;
    webhook_endpoint ep;
    bool has_url = false;
    for (auto& [key, value] : item.entries) {
      if (key == "url") {
        auto str = value.kind == config_node::scalar
                     ? caf::get_if<std::string>(&value.value)
                     : nullptr;
        if (str == nullptr)
          return at + ": url must be a string in double quotes";
        ep.url = *str;
        has_url = true;
        if (auto msg = check_webhook_url(ep.url); !msg.empty())
          return at + ": " + msg;
      } else if (key == "events") {
        if (!read_strings(value, ep.events))
          return at + ": events must be a list of strings, e.g. events = "
                      "[\"sync.completed\", \"sync.failed\"]";
        for (auto& e : ep.events)
          if (std::find(event_names().begin(), event_names().end(), e)
              == event_names().end())
            return at + ": unknown event \"" + e
                   + "\" (events are sync.completed, sync.failed, "
                     "sync.cancelled)";
      } else if (key == "sources") {
        if (!read_strings(value, ep.sources))
          return at + ": sources must be a list of source names, e.g. "
                      "sources = [\"sales\"]";
      } else {
        return at + ": unknown key '" + key
               + "' (a webhook takes url, events, sources)";
      }
    }
    if (!has_url)
      return at + ": url is missing";
    out.push_back(std::move(ep));
  }
  return {};
}

std::string parse_webhook_backoff(const std::string& text,
                                  std::vector<caf::timespan>& out) {
  out.clear();
  auto bad = [&](const std::string& why) {
    out.clear();
    return "--webhook-backoff '" + text + "': " + why
           + " (e.g. --webhook-backoff=5s,30s,2min,10min,30min)";
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find(',', pos);
    if (end == std::string::npos)
      end = text.size();
    auto item = text.substr(pos, end - pos);
    auto digits = item.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string::npos || digits > 6)
      return bad("each delay is a whole number and a unit (ms, s, min, h)");
    auto n = std::stoll(item.substr(0, digits));
    auto unit = item.substr(digits);
    caf::timespan d;
    if (unit == "ms")
      d = std::chrono::milliseconds{n};
    else if (unit == "s")
      d = std::chrono::seconds{n};
    else if (unit == "min")
      d = std::chrono::minutes{n};
    else if (unit == "h")
      d = std::chrono::hours{n};
    else
      return bad("unknown unit '" + unit + "' (ms, s, min, h)");
    if (d > std::chrono::hours{24 * 7})
      return bad("a delay may be a week at most");
    out.push_back(d);
    if (out.size() > 20)
      return bad("at most 20 delays");
    pos = end + 1;
  }
  return {};
}

} // namespace sheetsync
