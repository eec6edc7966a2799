// The cache's sources table on a real SQLite file: sources added at run time
// round-trip, and removing one drops its tables (`name`, `name__*`) but
// nothing else and keeps its history.

#define CAF_SUITE source_table
#include <caf/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "net/source_json.hpp"
#include "store/source_table.hpp"
#include "tests/store_fixture.hpp"

using namespace sheetsync;
using namespace sheetsync::test;
using namespace std::chrono_literals;

namespace {

using strings = std::vector<std::string>;

source_spec make_spec(const std::string& name) {
  source_spec x;
  x.name = name;
  x.location = "https://docs.google.com/spreadsheets/d/"
               "1aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdef/edit";
  x.gid = "42";
  x.access = access_mode::api;
  x.api_key = "AIza-secret";
  x.credentials = "/etc/sheetsync/sa.json";
  x.range = "A1:C9";
  x.interval = 15min;
  x.tabs = {"Sales \"2024\"", "Back\\slash", "line\nbreak", "Ünïcode"};
  return x;
}

bool same(const source_spec& x, const source_spec& y) {
  return x.name == y.name && x.location == y.location && x.gid == y.gid
         && x.access == y.access && x.api_key == y.api_key
         && x.credentials == y.credentials && x.range == y.range
         && x.interval == y.interval && x.tabs == y.tabs
         && x.all_tabs == y.all_tabs;
}

struct fixture : store_dir {
  std::shared_ptr<database> db;
  std::unique_ptr<source_table> table;

  fixture() : store_dir("source_table") {
    db = database::open(path, err);
    if (!db)
      CAF_FAIL("cannot open the cache: " << err.text);
    table = std::make_unique<source_table>(db);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(source_table_tests, fixture)

CAF_TEST(a cache without the table has no stored sources) {
  std::vector<stored_source> xs{stored_source{}};
  REQUIRE_OK(table->load(xs, err));
  CAF_CHECK(xs.empty());
}

CAF_TEST(stored sources come back field by field in the order added) {
  REQUIRE_OK(table->create(err));
  auto a = make_spec("sales");
  source_spec b;
  b.name = "plain";
  b.location = "https://example.com/x.csv";
  b.all_tabs = true;
  REQUIRE_OK(table->put(a, 1000, err));
  REQUIRE_OK(table->put(b, 2000, err));
  // Another connection (a restart) reads them.
  auto db2 = database::open(path, err);
  REQUIRE_OK(db2 != nullptr);
  std::vector<stored_source> xs;
  REQUIRE_OK(source_table{db2}.load(xs, err));
  CAF_REQUIRE_EQUAL(xs.size(), 2u);
  CAF_CHECK(same(xs[0].spec, a));
  CAF_CHECK(same(xs[1].spec, b));
  CAF_CHECK_EQUAL(xs[0].created_ms, 1000);
  CAF_CHECK_EQUAL(xs[1].created_ms, 2000);
}

CAF_TEST(storing a source again replaces it and keeps its creation time) {
  REQUIRE_OK(table->create(err));
  auto a = make_spec("sales");
  REQUIRE_OK(table->put(a, 1000, err));
  a.interval = 0s;
  a.tabs.clear();
  a.api_key.clear();
  REQUIRE_OK(table->put(a, 5000, err));
  std::vector<stored_source> xs;
  REQUIRE_OK(table->load(xs, err));
  CAF_REQUIRE_EQUAL(xs.size(), 1u);
  CAF_CHECK(same(xs[0].spec, a));
  CAF_CHECK_EQUAL(xs[0].created_ms, 1000);
  CAF_CHECK_EQUAL(xs[0].updated_ms, 5000);
  REQUIRE_OK(table->erase("sales", err));
  REQUIRE_OK(table->load(xs, err));
  CAF_CHECK(xs.empty());
}

CAF_TEST(dropping the tables of a source takes its tabs and spares the rest) {
  REQUIRE_OK(table->create(err));
  raw_db raw{path};
  for (auto name : {"sales", "Sales__north", "sales__south", "sales_x",
                    "salesx__y", "other", "other__sales"})
    CAF_REQUIRE_EQUAL(raw.query(std::string{"CREATE TABLE \""} + name
                                + "\"(x)"),
                      strings{});
  for (auto name : {"sales", "sales__north", "sales__south", "other"})
    CAF_REQUIRE_EQUAL(raw.query(std::string{"INSERT INTO sync_meta(name) "
                                            "VALUES ('"}
                                + name + "')"),
                      strings{});
  CAF_REQUIRE_EQUAL(raw.query("INSERT INTO sync_runs(id, source, status) "
                              "VALUES ('sync-1', 'sales', 'complete')"),
                    strings{});
  REQUIRE_OK(table->drop_tables("sales", err));
  CAF_CHECK_EQUAL(raw.query("SELECT name FROM sqlite_master WHERE type = "
                            "'table' AND name NOT IN ('sync_runs', "
                            "'sync_meta', 'sources') ORDER BY name"),
                  (strings{"other", "other__sales", "sales_x", "salesx__y"}));
  CAF_CHECK_EQUAL(raw.query("SELECT name FROM sync_meta ORDER BY name"),
                  strings{"other"});
  CAF_CHECK_EQUAL(raw.query("SELECT id FROM sync_runs"), strings{"sync-1"});
  // Nothing left: nothing to do.
  REQUIRE_OK(table->drop_tables("sales", err));
}

CAF_TEST(dropping the tables of a source forgets its tab list) {
  REQUIRE_OK(table->create(err));
  raw_db raw{path};
  // Without a sync_tabs table (no source ever had tabs) there is none to clean.
  REQUIRE_OK(table->drop_tables("sales", err));
  for (auto sql :
       {"CREATE TABLE sales__q1(x)",
        "CREATE TABLE sync_tabs(source TEXT NOT NULL, position INTEGER NOT "
        "NULL, title TEXT NOT NULL, table_name TEXT NOT NULL, PRIMARY "
        "KEY(source, position))",
        "INSERT INTO sync_tabs VALUES ('sales', 0, 'Q1', 'sales__q1')",
        "INSERT INTO sync_tabs VALUES ('other', 0, 'Q1', 'other__q1')"})
    CAF_REQUIRE_EQUAL(raw.query(sql), strings{});
  // The name as the user spelled it: the list keys sources lower-cased.
  REQUIRE_OK(table->drop_tables("Sales", err));
  CAF_CHECK_EQUAL(raw.query("SELECT source || ':' || title FROM sync_tabs"),
                  strings{"other:Q1"});
}

CAF_TEST(source names follow the table rules and have no double underscore) {
  CAF_CHECK(valid_source_name("sales"));
  CAF_CHECK(valid_source_name("sales_2024-q1"));
  CAF_CHECK(!valid_source_name("sales__north"));
  CAF_CHECK(!valid_source_name("Sources"));
  CAF_CHECK(!valid_source_name("sync_runs"));
  CAF_CHECK(!valid_source_name("../etc"));
  CAF_CHECK(!valid_source_name(""));
  CAF_CHECK(!valid_source_name("_x"));
}

CAF_TEST(tab titles encode as a JSON array) {
  CAF_CHECK_EQUAL(tabs_to_json({}), "[]");
  CAF_CHECK_EQUAL(tabs_to_json({"a\"b", "c\\d", "e\nf"}),
                  "[\"a\\\"b\",\"c\\\\d\",\"e\\u000af\"]");
}

CAF_TEST_FIXTURE_SCOPE_END()
