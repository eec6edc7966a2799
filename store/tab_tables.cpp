#include "store/tab_tables.hpp"

#include <set>

#include "net/text.hpp"

namespace sheetsync {

namespace {

/// Longest table name the cache takes (database::valid_table_name).
constexpr size_t max_table_name = 64;

/// `base` cut so that `suffix` still fits, without '_' left at the cut.
std::string fit(const std::string& base, const std::string& suffix) {
  auto room = max_table_name > suffix.size() ? max_table_name - suffix.size()
                                             : 0;
  auto name = base.substr(0, room);
  while (name.size() > 1 && name.back() == '_')
    name.pop_back();
  return name + suffix;
}

} // namespace

std::string slug_of(const std::string& text) {
  std::string slug;
  bool gap = false;
  for (auto ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 'A' && c <= 'Z')
      c = static_cast<unsigned char>(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      if (gap && !slug.empty())
        slug += '_';
      gap = false;
      slug += static_cast<char>(c);
    } else {
      gap = true;
    }
  }
  return slug;
}

std::string tab_slug(const std::string& title) {
  auto slug = slug_of(title);
  return slug.empty() ? "tab" : slug;
}

std::vector<std::string> tab_tables(const std::string& source,
                                    const std::vector<std::string>& titles) {
  std::vector<std::string> result;
  std::set<std::string> taken;
  for (auto& title : titles) {
    auto base = source + tab_separator + tab_slug(title);
    auto name = fit(base, "");
    for (int n = 2; taken.count(lower(name)) > 0; ++n)
      name = fit(base, "_" + std::to_string(n));
    taken.insert(lower(name));
    result.push_back(std::move(name));
  }
  return result;
}

} // namespace sheetsync
