#pragma once

#include <string>
#include <vector>

namespace sheetsync {

/// Separates a source's name from its tabs' in table names; forbidden in
/// source names, so a tab's table never takes another source's name.
constexpr const char* tab_separator = "__";

/// Text as a name part: lower-cased, each run of characters other than
/// [a-z0-9] turned into one '_', without '_' at either end; "" when nothing is
/// left (e.g. a title in another script). Tab tables and proposed source names
/// follow this one rule.
std::string slug_of(const std::string& text);

/// A tab title as a table name part: slug_of(title), or "tab" when that is
/// empty.
std::string tab_slug(const std::string& title);

/// The table of each tab of `source`, in the order of `titles`:
/// `<source>__<slug>`, cut to fit the cache's 64 characters. A name already
/// taken (ignoring case) by an earlier tab gets "_2", "_3", ... so two tabs
/// never share a table; the numbering follows the order of `titles`.
std::vector<std::string> tab_tables(const std::string& source,
                                    const std::vector<std::string>& titles);

} // namespace sheetsync
