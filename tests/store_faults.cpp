#define CAF_SUITE store_faults
#include <caf/test/unit_test.hpp>

// The store under faults (issue 10, defect 7): a full disk, a reader that
// holds the WAL. A full disk is the disk-limit VFS (store/disk_limit.hpp),
// which limits the WAL too, as a real disk does.

#include "store/disk_limit.hpp"
#include "store/sheet_store.hpp"
#include "tests/check_msg.hpp"
#include "tests/store_fixture.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

using namespace sheetsync;
using namespace sheetsync::test;
using caf::term; // for CAF_CHECK_PASSED / CAF_CHECK_FAILED

namespace {

/// `rows` rows of `cols` cells of about `cell` bytes, starting at `first`.
row_batch fill_batch(size_t first, size_t rows, size_t cols, size_t cell,
                     const std::string& tag) {
  row_batch b;
  for (size_t c = 0; c < cols; ++c)
    b.columns.push_back("c" + std::to_string(c));
  b.first_row = first;
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) {
      auto text = tag + std::to_string(first + r) + ":" + std::to_string(c);
      text.resize(std::max(cell, text.size()), '.');
      b.data += text;
      b.ends.push_back(static_cast<uint32_t>(b.data.size()));
    }
  return b;
}

struct fixture : store_dir {
  fixture() : store_dir("store_faults") {
    // nop
  }

  ~fixture() {
    limit_disk_for_tests(0);
  }

  /// Bytes allocated to the files of the directory (what the VFS counts).
  uint64_t usage() {
    uint64_t total = 0;
    for (auto& e : std::filesystem::directory_iterator(dir)) {
      struct stat st;
      if (lstat(e.path().c_str(), &st) == 0 && S_ISREG(st.st_mode))
        total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
    return total;
  }

  uint64_t wal_size() {
    std::error_code ec;
    auto n = std::filesystem::file_size(path + "-wal", ec);
    return ec ? 0 : n;
  }

  /// Writes `batches` batches of 2,000 rows into `table` and swaps them in.
  void sync(sheet_store& store, const std::string& table, size_t batches,
            const std::string& tag) {
    REQUIRE_OK(store.begin(table, err));
    for (size_t i = 0; i < batches; ++i)
      REQUIRE_OK(store.append(fill_batch(1 + i * 2000, 2000, 4, 50, tag), err));
    REQUIRE_OK(store.commit(err));
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(store_faults_tests, fixture)

CAF_TEST(a sync that fills the disk drops its table at once and the history
           records the failure) {
  limit_disk_for_tests(0); // the VFS, without a limit yet
  auto writer = sheet_store::open(path, err);
  REQUIRE_OK(writer);
  writer->defer_bytes(0);
  sync(*writer, "t", 1, "old");
  auto history = sheet_store::open(path, err);
  REQUIRE_OK(history);
  sync_record run;
  run.id = "sync-1";
  run.source = "t";
  run.status = "saving";
  REQUIRE_OK(history->put_run(run, err));
  // 8 MiB free: the writer fills them (its table in the WAL and the file).
  limit_disk_for_tests(usage() + (uint64_t{8} << 20));
  REQUIRE_OK(writer->begin("t", err));
  bool failed = false;
  for (size_t i = 0; i < 200 && !failed; ++i)
    failed = !writer->append(fill_batch(1 + i * 2000, 2000, 4, 50, "new"), err);
  CAF_REQUIRE(failed);
  CAF_CHECK_EQUAL(err.code, ec::cache_failed);
  CHECK_MSG(err.text.find("full") != std::string::npos, err.text);
  CHECK_MSG(err.text.find("free disk space") != std::string::npos, err.text);
  CAF_CHECK(!writer->staging());
  // Still on the full disk: the staging table is gone, the old table is as
  // it was, and the history can record the failure.
  raw_db raw{path};
  CAF_CHECK_EQUAL(raw.query("SELECT name FROM sqlite_master WHERE name LIKE "
                            "'\\_staging\\_%' ESCAPE '\\'"),
                  std::vector<std::string>{});
  CAF_CHECK_EQUAL(raw.one("SELECT count(*) FROM t"), "2000");
  CAF_CHECK_EQUAL(raw.one("SELECT c0 FROM t WHERE _row = 1").substr(0, 5),
                  "old1:");
  run.status = "error";
  CHECK_MSG(history->put_run(run, err), err.text);
  CAF_CHECK_EQUAL(raw.one("SELECT status FROM sync_runs WHERE id = 'sync-1'"),
                  "error");
  CAF_CHECK_EQUAL(raw.one("PRAGMA integrity_check"), "ok");
  // Space freed: the next sync of the same process succeeds.
  limit_disk_for_tests(usage() + (uint64_t{64} << 20));
  sync(*writer, "t", 3, "new");
  CAF_CHECK_EQUAL(raw.one("SELECT count(*) FROM t"), "6000");
  CAF_CHECK_EQUAL(raw.one("SELECT c0 FROM t WHERE _row = 1").substr(0, 5),
                  "new1:");
}

CAF_TEST(a sync on a disk without room for its reserve fails before writing) {
  limit_disk_for_tests(0);
  auto writer = sheet_store::open(path, err);
  REQUIRE_OK(writer);
  writer->defer_bytes(0);
  sync(*writer, "t", 1, "old");
  limit_disk_for_tests(usage() + (uint64_t{1} << 20));
  REQUIRE_OK(writer->begin("t", err));
  CAF_CHECK(!writer->append(fill_batch(1, 10, 4, 50, "new"), err));
  CAF_CHECK_EQUAL(err.code, ec::cache_failed);
  CHECK_MSG(err.text.find("full") != std::string::npos, err.text);
  raw_db raw{path};
  CAF_CHECK_EQUAL(raw.one("SELECT count(*) FROM t"), "2000");
}

CAF_TEST(the WAL is truncated after each swap) {
  auto writer = sheet_store::open(path, err);
  REQUIRE_OK(writer);
  sync(*writer, "t", 5, "a");
  CAF_CHECK_EQUAL(wal_size(), 0u);
  sync(*writer, "t", 5, "b");
  CAF_CHECK_EQUAL(wal_size(), 0u);
}

CAF_TEST(a reader that holds the WAL does not fail the swap and the next swap
           truncates) {
  auto writer = sheet_store::open(path, err);
  REQUIRE_OK(writer);
  sync(*writer, "t", 1, "a");
  raw_db reader{path};
  CAF_REQUIRE(reader.exec("BEGIN"));
  CAF_CHECK_EQUAL(reader.one("SELECT count(*) FROM t"), "2000");
  sync(*writer, "t", 5, "b");
  // The reader still sees its snapshot; the WAL could not be truncated.
  CAF_CHECK_EQUAL(reader.one("SELECT count(*) FROM t"), "2000");
  CAF_CHECK_GREATER(wal_size(), 0u);
  CAF_REQUIRE(reader.exec("COMMIT"));
  sync(*writer, "t", 2, "c");
  CAF_CHECK_EQUAL(wal_size(), 0u);
  CAF_CHECK_EQUAL(reader.one("SELECT count(*) FROM t"), "4000");
}

CAF_TEST_FIXTURE_SCOPE_END()
