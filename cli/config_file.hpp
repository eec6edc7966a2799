#pragma once

#include <string>
#include <utility>
#include <vector>

#include <caf/config_value.hpp>

namespace sheetsync {

/// A config file's content in file order (CAF's own settings are sorted by
/// key, which loses the order of the sources and silently merges keys given
/// twice).
struct config_node {
  enum kind_t { scalar, map, list };
  kind_t kind = scalar;
  /// The value of a scalar: string, integer, real, bool, atom, timespan, uri.
  caf::config_value value;
  /// The entries of a map, in file order (a key may appear twice).
  std::vector<std::pair<std::string, config_node>> entries;
  /// The items of a list.
  std::vector<config_node> items;

  /// The entry `key` of a map, or null.
  const config_node* find(const std::string& key) const;
};

/// Reads a file in CAF 0.17's config format (INI sections, `key = value`,
/// nested `{ ... }` maps, `[ ... ]` lists, time spans like `15min`, comments
/// after `;`) with CAF's own parser. The root is a map of sections; keys
/// before the first section land in section "global".
/// @returns "" or what is wrong, with the line and column.
std::string read_config_file(const std::string& path, config_node& root);

/// Parses text in the same format; `path` only names it in messages.
std::string parse_config_text(const std::string& text, const std::string& path,
                              config_node& root);

} // namespace sheetsync
