#pragma once

#include "messages/ec.hpp"
#include "store/database.hpp"

namespace sheetsync {

/// The table of a source that no one named (a single --source without
/// --name): a name that SQL takes unquoted (`select count(*) from sheet`).
constexpr const char* default_table = "sheet";

/// What older versions called that table: `default`, an SQL keyword that
/// needs quotes.
constexpr const char* old_default_table = "default";

/// Renames a cache's `default` table to `sheet`, with its sync_meta row and
/// its sync_runs records, in one transaction: once, for a cache written by
/// an older version. Does nothing when there is no `default` table or a
/// `sheet` table already exists. `renamed` tells whether it renamed.
/// @returns false (with `err`) when the transaction failed: nothing changed.
bool rename_old_default_table(database& db, bool& renamed, failure& err);

} // namespace sheetsync
