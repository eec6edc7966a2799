// Fuzz target: the config file reader (cli/config_file), CAF's INI parser
// underneath.
//
// Checks: a failure names the file, a line within the text and a column; a
// success gives a root map whose nodes are each one kind only (a scalar has
// no entries or items, a map no items, a list no entries) and whose values
// print.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <caf/config_value.hpp>

#include "cli/config_file.hpp"
#include "fuzz/check.hpp"

using namespace sheetsync;

namespace {

void check_node(const config_node& node, size_t depth) {
  FUZZ_CHECK(depth < 10000, "nesting");
  switch (node.kind) {
    case config_node::scalar:
      FUZZ_CHECK(node.entries.empty() && node.items.empty(),
                 "a scalar with children");
      caf::to_string(node.value);
      break;
    case config_node::map:
      FUZZ_CHECK(node.items.empty(), "a map with list items");
      for (auto& [key, child] : node.entries)
        check_node(child, depth + 1);
      break;
    case config_node::list:
      FUZZ_CHECK(node.entries.empty(), "a list with map entries");
      for (auto& child : node.items)
        check_node(child, depth + 1);
      break;
    default:
      FUZZ_CHECK(false, "an unknown node kind");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::guarded(data, size, [](std::string_view input) {
    std::string text{input};
    config_node root;
    auto msg = parse_config_text(text, "fuzz.conf", root);
    if (!msg.empty()) {
      const std::string prefix = "config file fuzz.conf: line ";
      FUZZ_CHECK(msg.rfind(prefix, 0) == 0, msg);
      auto line = std::stoull(msg.substr(prefix.size()));
      auto lines = 1 + std::count(text.begin(), text.end(), '\n');
      FUZZ_CHECK(line >= 1 && line <= static_cast<size_t>(lines), msg);
      FUZZ_CHECK(msg.find(", column ") != std::string::npos, msg);
      return;
    }
    FUZZ_CHECK(root.kind == config_node::map, "the root is not a map");
    check_node(root, 0);
  });
}
