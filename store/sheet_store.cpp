#include "store/sheet_store.hpp"

namespace sheetsync {

sheet_store::sheet_store(const std::shared_ptr<database>& db)
  : table_writer(db), run_history(db), table_reader(db) {
  // nop
}

std::unique_ptr<sheet_store> sheet_store::open(const std::string& path,
                                               failure& err) {
  auto db = database::open(path, err);
  if (!db)
    return nullptr;
  failure ignored;
  table_writer::drop_leftovers(*db, ignored);
  return std::unique_ptr<sheet_store>{new sheet_store(db)};
}

std::unique_ptr<sheet_store>
sheet_store::open_for_reading(const std::string& path, failure& err,
                              int busy_ms) {
  auto db = database::open(path, err, busy_ms);
  if (!db)
    return nullptr;
  return std::unique_ptr<sheet_store>{new sheet_store(db)};
}

} // namespace sheetsync
