#include "cli/pipeline_options.hpp"

#include <caf/config_option_adder.hpp>

#include "actors/pipeline.hpp"
#include "store/sheet_store.hpp"

namespace sheetsync {

void pipeline_options::add_to(caf::config_option_set& opts) {
  caf::config_option_adder{opts, "global"}
    .add(source, "source", "sheet to sync: http(s):// or file:// URL of its CSV")
    .add(db, "db", "SQLite cache file (created if missing)")
    .add(name, "name", "source name = cache table (default: default)")
    .add(fetch_timeout, "fetch-timeout",
         "fail when no byte arrives for this long (default: 90s)")
    .add(max_duration, "max-duration", "whole-sync limit (default: 5min)")
    .add(cooldown, "cooldown", "minimum time between two starts (default: 3s)")
    .add(evict_after, "evict-after",
         "forget finished syncs from memory after (default: 5min)")
    .add(max_bytes, "max-bytes", "cap on downloaded bytes (default: 1 GiB)");
}

std::string pipeline_options::validate() const {
  if (source.empty())
    return "--source is missing: give the sheet's CSV URL, e.g. "
           "--source=https://docs.google.com/spreadsheets/d/ID/export?format=csv";
  if (source.rfind("http://", 0) != 0 && source.rfind("https://", 0) != 0
      && source.rfind("file://", 0) != 0)
    return "--source must be an http://, https:// or file:// URL";
  if (db.empty())
    return "--db is missing: give the SQLite cache file, e.g. --db=sheets.db";
  if (!sheet_store::valid_table_name(name))
    return "--name '" + name
           + "' is not a valid source name: use letters, digits, '_' and '-' "
             "(at most 64, starting with a letter or digit)";
  if (fetch_timeout <= caf::timespan{0} || max_duration <= caf::timespan{0})
    return "--fetch-timeout and --max-duration must be positive";
  return {};
}

coordinator_config pipeline_options::to_coordinator_config() const {
  coordinator_config cfg;
  cfg.sources.push_back({name, source});
  cfg.db_path = db;
  cfg.cooldown = cooldown;
  cfg.max_duration = max_duration;
  cfg.evict_after = evict_after;
  cfg.fetch_timeout = fetch_timeout;
  cfg.max_bytes = max_bytes;
  cfg.make_pipeline = make_pipeline;
  return cfg;
}

const std::set<std::string>& switch_flags() {
  static const std::set<std::string> flags{"help", "long-help", "insecure-public",
                                           "dump-config"};
  return flags;
}

} // namespace sheetsync
