#include "cli/config_file.hpp"

#include "cli/time_span.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include <caf/detail/parser/read_ini.hpp>
#include <caf/parser_state.hpp>
#include <caf/pec.hpp>

namespace sheetsync {

namespace {

/// Fills a map or list node for caf::detail::parser::read_ini. The parser is
/// sequential: a nested consumer is done before its parent continues, so the
/// pointer into the parent's vector stays valid while it is in use.
class node_consumer {
public:
  explicit node_consumer(config_node* node) : node_(node) {
    // nop
  }

  void key(std::string name) {
    key_ = std::move(name);
  }

  template <class T>
  void value(T&& x) {
    config_node child;
    child.value = caf::config_value{std::forward<T>(x)};
    add(std::move(child));
  }

  node_consumer begin_map() {
    config_node child;
    child.kind = config_node::map;
    return node_consumer{add(std::move(child))};
  }

  node_consumer begin_list() {
    config_node child;
    child.kind = config_node::list;
    return node_consumer{add(std::move(child))};
  }

  void end_map() {
    // nop
  }

  void end_list() {
    // nop
  }

private:
  config_node* add(config_node child) {
    if (node_->kind == config_node::list) {
      node_->items.push_back(std::move(child));
      return &node_->items.back();
    }
    node_->entries.emplace_back(std::move(key_), std::move(child));
    key_.clear();
    return &node_->entries.back().second;
  }

  config_node* node_;
  std::string key_;
};

} // namespace

const config_node* config_node::find(const std::string& key) const {
  for (auto& [k, v] : entries)
    if (k == key)
      return &v;
  return nullptr;
}

std::string parse_config_text(const std::string& text, const std::string& path,
                              config_node& root) {
  root = config_node{};
  root.kind = config_node::map;
  using iterator = std::string::const_iterator;
  // The parser's own line and column are off by one around line breaks.
  auto where = [&](iterator pos) {
    auto line = 1 + std::count(text.begin(), pos, '\n');
    auto line_start = std::find(std::make_reverse_iterator(pos), text.rend(),
                                '\n').base();
    return "config file " + path + ": line " + std::to_string(line)
           + ", column " + std::to_string(1 + (pos - line_start)) + ": ";
  };
  if (std::string why; true) {
    auto at = find_too_long_time_span(text, why);
    if (at != std::string::npos)
      return where(text.begin() + at) + why;
  }
  caf::parser_state<iterator, iterator> ps{text.begin(), text.end()};
  node_consumer consumer{&root};
  caf::detail::parser::read_ini(ps, consumer);
  if (ps.code == caf::pec::success && ps.i == ps.e)
    return {};
  std::ostringstream msg;
  msg << where(ps.i);
  switch (ps.code) {
    case caf::pec::unexpected_eof:
      msg << "unexpected end of file (a '}', ']' or '\"' missing?)";
      break;
    case caf::pec::unexpected_newline:
      msg << "unexpected line break (a '\"' missing?)";
      break;
    case caf::pec::success:
    case caf::pec::trailing_character:
    case caf::pec::unexpected_character:
      if (ps.i != ps.e && std::isprint(static_cast<unsigned char>(*ps.i)))
        msg << "unexpected '" << *ps.i << "'";
      else
        msg << "unexpected character";
      break;
    default:
      msg << "cannot read this (" << caf::to_string(ps.code) << ")";
  }
  if (ps.i != ps.e && *ps.i == '#')
    msg << "; comments start with ';', not '#'";
  else if (ps.i != ps.e && (std::isalpha(static_cast<unsigned char>(*ps.i))
                            || *ps.i == '/')
           && ps.i != text.begin() && ps.i[-1] != '\n')
    msg << "; strings need double quotes, e.g. url = \"https://...\"";
  return msg.str();
}

std::string read_config_file(const std::string& path, config_node& root) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return "config file " + path + ": cannot read it ("
           + std::strerror(errno) + ")";
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  return parse_config_text(text, path, root);
}

} // namespace sheetsync
