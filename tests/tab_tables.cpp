#define CAF_SUITE tab_tables
#include <caf/test/unit_test.hpp>

#include "store/tab_tables.hpp"
#include "store/sheet_store.hpp"
#include "tests/store_fixture.hpp"

#include <string>
#include <vector>

using namespace sheetsync;
using namespace sheetsync::test;
using caf::term; // for CAF_CHECK_PASSED / CAF_CHECK_FAILED

namespace {

using rows_t = std::vector<std::vector<std::string>>;
using strings = std::vector<std::string>;

struct fixture : store_dir {
  fixture() : store_dir("tab_tables") {
    // nop
  }

  std::unique_ptr<sheet_store> open() {
    auto store = sheet_store::open(path, err);
    if (!store)
      CAF_FAIL("open failed: " << err.text);
    return store;
  }

  /// Stages one tab's rows (one batch) in `store`.
  void stage(sheet_store& store, const std::string& table, const strings& cols,
             const rows_t& rows) {
    REQUIRE_OK(store.begin(table, err));
    REQUIRE_OK(store.append(make_batch(cols, rows, 1), err));
  }

  using tabs_t = std::vector<table_writer::tab_entry>;

  /// Syncs two tabs of "book": A (`a_rows`) and B (`b_rows`).
  void sync_two(sheet_store& store, const rows_t& a_rows,
                const rows_t& b_rows) {
    store.record_tabs("book", tabs_t{{"A", "book__a"}, {"B", "book__b"}});
    stage(store, "book__a", {"x"}, a_rows);
    REQUIRE_OK(store.set_aside(err));
    stage(store, "book__b", {"y", "z"}, b_rows);
    REQUIRE_OK(store.commit(err));
  }
};

} // namespace

CAF_TEST(tab titles become slugs) {
  CAF_CHECK_EQUAL(tab_slug("Sheet1"), "sheet1");
  CAF_CHECK_EQUAL(tab_slug("Q1 Sales (EU)"), "q1_sales_eu");
  CAF_CHECK_EQUAL(tab_slug("  --a--b  "), "a_b");
  CAF_CHECK_EQUAL(tab_slug("Données 2024"), "donn_es_2024");
  CAF_CHECK_EQUAL(tab_slug("日本"), "tab");
  CAF_CHECK_EQUAL(tab_slug(""), "tab");
}

CAF_TEST(tab tables are named after the source and numbered on collisions) {
  CAF_CHECK_EQUAL(tab_tables("book", {"Sheet1", "Q1 Sales"}),
                  (strings{"book__sheet1", "book__q1_sales"}));
  // Same slug: numbered in the order of the tabs; a title that looks like
  // a numbered one does not take a name twice.
  CAF_CHECK_EQUAL(tab_tables("book", {"A b", "a-b", "A_B", "a b 2"}),
                  (strings{"book__a_b", "book__a_b_2", "book__a_b_3",
                           "book__a_b_2_2"}));
  // Case never separates two tables (SQLite ignores it).
  CAF_CHECK_EQUAL(tab_tables("Book", {"x", "X"}),
                  (strings{"Book__x", "Book__x_2"}));
  // Cut to the cache's 64 characters, numbers included.
  auto long_title = std::string(80, 'q');
  auto names = tab_tables("book", {long_title, long_title});
  CAF_REQUIRE_EQUAL(names.size(), 2u);
  CAF_CHECK_EQUAL(names[0], "book__" + std::string(58, 'q'));
  CAF_CHECK_EQUAL(names[1], "book__" + std::string(56, 'q') + "_2");
  for (auto& name : names)
    CAF_CHECK(sheet_store::valid_table_name(name));
  CAF_CHECK(!sheet_store::valid_table_name("sync_tabs"));
}

CAF_TEST_FIXTURE_SCOPE(tab_table_tests, fixture)

CAF_TEST(every tab is swapped in with the tab list in one transaction) {
  auto store = open();
  raw_db raw{path};
  store->record_tabs("book", tabs_t{{"A", "book__a"}, {"B", "book__b"}});
  stage(*store, "book__a", {"x"}, {{"1"}, {"2"}});
  REQUIRE_OK(store->set_aside(err));
  CAF_CHECK(!store->staging());
  stage(*store, "book__b", {"y", "z"}, {{"3", "4"}});
  // Nothing is visible before the commit.
  CAF_CHECK_EQUAL(raw.one("SELECT count(*) FROM sqlite_master WHERE name "
                          "LIKE 'book__%'"),
                  "0");
  CAF_CHECK_EQUAL(raw.staging_tables().size(), 2u);
  CAF_CHECK_EQUAL(store->rows_written(), 3u);
  REQUIRE_OK(store->commit(err));
  CAF_CHECK(!store->kept());
  CAF_CHECK_EQUAL(store->rows_written(), 3u);
  CAF_CHECK(raw.staging_tables().empty());
  CAF_CHECK_EQUAL(raw.query("SELECT x FROM book__a ORDER BY _row"),
                  (strings{"1", "2"}));
  CAF_CHECK_EQUAL(raw.query("SELECT y || z FROM book__b"), (strings{"34"}));
  CAF_CHECK_EQUAL(raw.query("SELECT name || '=' || rows FROM sync_meta "
                            "ORDER BY name"),
                  (strings{"book__a=2", "book__b=1"}));
  CAF_CHECK_EQUAL(raw.query("SELECT source || '|' || position || '|' || title "
                            "|| '|' || table_name FROM sync_tabs ORDER BY "
                            "position"),
                  (strings{"book|0|A|book__a", "book|1|B|book__b"}));
  auto tabs = store->recorded_tabs("book");
  CAF_REQUIRE_EQUAL(tabs.size(), 2u);
  CAF_CHECK_EQUAL(tabs[1].title, "B");
  CAF_CHECK_EQUAL(tabs[1].table, "book__b");
  CAF_CHECK(store->recorded_tabs("other").empty());
}

CAF_TEST(a failed tab keeps every table as it was) {
  auto store = open();
  store->defer_bytes(0);
  sync_two(*store, {{"1"}, {"2"}}, {{"3", "4"}});
  raw_db raw{path};
  auto a = raw.dump("book__a");
  auto b = raw.dump("book__b");
  auto meta = raw.query("SELECT * FROM sync_meta ORDER BY name");
  auto tabs = raw.query("SELECT * FROM sync_tabs ORDER BY position");
  // The second tab's header changes the wrong way: that append fails, and
  // the first tab, already set aside, goes too.
  store->record_tabs("book", tabs_t{{"A", "book__a"}, {"B", "book__b"}});
  stage(*store, "book__a", {"x"}, {{"new 1"}});
  REQUIRE_OK(store->set_aside(err));
  stage(*store, "book__b", {"y", "z"}, {{"new", "rows"}});
  CAF_CHECK(!store->append(make_batch({"q"}, {{"5"}}, 3), err));
  CAF_CHECK(!store->staging());
  CAF_CHECK(raw.staging_tables().empty());
  CAF_CHECK(raw.dump("book__a") == a);
  CAF_CHECK(raw.dump("book__b") == b);
  CAF_CHECK(raw.query("SELECT * FROM sync_meta ORDER BY name") == meta);
  CAF_CHECK(raw.query("SELECT * FROM sync_tabs ORDER BY position") == tabs);
  // The download of the second tab fails (the writer ends): the same.
  stage(*store, "book__a", {"x"}, {{"new 1"}});
  REQUIRE_OK(store->set_aside(err));
  stage(*store, "book__b", {"y", "z"}, {{"5", "6"}});
  store.reset();
  CAF_CHECK(raw.staging_tables().empty());
  CAF_CHECK(raw.dump("book__a") == a);
  CAF_CHECK(raw.dump("book__b") == b);
  // A tab without any rows or header fails the commit, and with it all.
  store = open();
  stage(*store, "book__a", {"x"}, {{"new 1"}});
  REQUIRE_OK(store->set_aside(err));
  REQUIRE_OK(store->begin("book__b", err));
  CAF_CHECK(!store->commit(err));
  CAF_CHECK_EQUAL(to_string(err.code), std::string{"cache_failed"});
  CAF_CHECK(raw.staging_tables().empty());
  CAF_CHECK(raw.dump("book__a") == a);
  // A swap that fails in its transaction, after the tables were renamed,
  // rolls all of it back: the tab list cannot be written (a view now).
  CAF_REQUIRE(raw.exec("ALTER TABLE sync_tabs RENAME TO old_tabs; CREATE "
                       "VIEW sync_tabs AS SELECT * FROM old_tabs"));
  store->record_tabs("book", tabs_t{{"A", "book__a"}, {"B", "book__b"}});
  stage(*store, "book__a", {"x"}, {{"new 1"}});
  REQUIRE_OK(store->set_aside(err));
  stage(*store, "book__b", {"y", "z"}, {{"5", "6"}});
  CAF_CHECK(!store->commit(err));
  CAF_CHECK(err.text.find("book") != std::string::npos);
  CAF_CHECK(!store->staging());
  CAF_CHECK(raw.staging_tables().empty());
  CAF_CHECK(raw.dump("book__a") == a);
  CAF_CHECK(raw.dump("book__b") == b);
  CAF_CHECK(raw.query("SELECT * FROM sync_meta ORDER BY name") == meta);
  CAF_CHECK(raw.query("SELECT * FROM sync_tabs ORDER BY position") == tabs);
}

CAF_TEST(unchanged tabs keep their tables and a changed one is swapped) {
  for (size_t defer : {size_t{0}, sheet_store::default_defer_bytes}) {
    CAF_MESSAGE("holding back up to " << defer << " bytes");
    auto store = open();
    store->defer_bytes(defer);
    sync_two(*store, {{"1"}, {"2"}}, {{"3", "4"}});
    raw_db raw{path};
    auto a = raw.dump("book__a");
    auto meta_a = raw.one("SELECT * FROM sync_meta WHERE name = 'book__a'");
    // The same content in both: unchanged, kept, nothing written.
    store->record_tabs("book", tabs_t{{"A", "book__a"}, {"B", "book__b"}});
    stage(*store, "book__a", {"x"}, {{"1"}, {"2"}});
    REQUIRE_OK(store->set_aside(err));
    stage(*store, "book__b", {"y", "z"}, {{"3", "4"}});
    CAF_CHECK(store->unchanged());
    REQUIRE_OK(store->commit(err));
    CAF_CHECK(store->kept());
    CAF_CHECK_EQUAL(store->rows_written(), 3u);
    CAF_CHECK(raw.staging_tables().empty());
    // Only the second tab changed: not unchanged; the first stays untouched.
    store->record_tabs("book", tabs_t{{"A", "book__a"}, {"B", "book__b"}});
    stage(*store, "book__a", {"x"}, {{"1"}, {"2"}});
    REQUIRE_OK(store->set_aside(err));
    stage(*store, "book__b", {"y", "z"}, {{"3", "5"}});
    CAF_CHECK(!store->unchanged());
    REQUIRE_OK(store->commit(err));
    CAF_CHECK(!store->kept());
    CAF_CHECK(raw.dump("book__a") == a);
    CAF_CHECK_EQUAL(raw.one("SELECT * FROM sync_meta WHERE name = 'book__a'"),
                    meta_a);
    CAF_CHECK_EQUAL(raw.query("SELECT y || z FROM book__b"), (strings{"35"}));
    // Same content, but a tab renamed: the tab list changed, so not
    // unchanged; the old tab's table goes with its hash.
    store->record_tabs("book", tabs_t{{"A", "book__a"}, {"C", "book__c"}});
    stage(*store, "book__a", {"x"}, {{"1"}, {"2"}});
    REQUIRE_OK(store->set_aside(err));
    stage(*store, "book__c", {"y", "z"}, {{"3", "5"}});
    CAF_CHECK(!store->unchanged());
    REQUIRE_OK(store->commit(err));
    CAF_CHECK(!store->kept());
    CAF_CHECK_EQUAL(raw.one("SELECT count(*) FROM sqlite_master WHERE name = "
                            "'book__b'"),
                    "0");
    CAF_CHECK_EQUAL(raw.one("SELECT count(*) FROM sync_meta WHERE name = "
                            "'book__b'"),
                    "0");
    CAF_CHECK_EQUAL(raw.query("SELECT title FROM sync_tabs ORDER BY position"),
                    (strings{"A", "C"}));
    CAF_CHECK_EQUAL(raw.query("SELECT y || z FROM book__c"), (strings{"35"}));
    // Clean up for the next round.
    store.reset();
    CAF_REQUIRE(raw.exec("DROP TABLE book__a; DROP TABLE book__c; DELETE "
                         "FROM sync_meta; DELETE FROM sync_tabs"));
  }
}

CAF_TEST_FIXTURE_SCOPE_END()
