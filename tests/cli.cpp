// The sheetsync binary as scripts use it: flags in both forms, exit codes,
// progress on stdout, errors on stderr.
#define CAF_SUITE cli
#include <caf/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/wait.h>

#include "cli/args.hpp"
#include "cli/progress_view.hpp"
#include "tests/fake_server.hpp"

using namespace sheetsync;

namespace {

const std::string binary = SHEETSYNC_BINARY_DIR "/sheetsync";
const std::string demo_csv = SHEETSYNC_SOURCE_DIR "/config/demo.csv";

struct result {
  int code;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

struct fixture {
  std::string dir;

  fixture() {
    char tmpl[] = "/tmp/sheetsync-cli-XXXXXX";
    dir = mkdtemp(tmpl);
  }

  ~fixture() {
    auto cmd = "rm -rf '" + dir + "'";
    CAF_CHECK_EQUAL(std::system(cmd.c_str()), 0);
  }

  result run(const std::string& args) {
    auto cmd = binary + " " + args + " > '" + dir + "/out' 2> '" + dir
               + "/err' < /dev/null";
    auto status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir + "/out"),
            slurp(dir + "/err")};
  }

  bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }
};

} // namespace

CAF_TEST(normalize args joins values to their flags) {
  std::set<std::string> switches{"help"};
  using v = std::vector<std::string>;
  CAF_CHECK_EQUAL(normalize_args(v{"--port", "8080"}, switches),
                  v{"--port=8080"});
  CAF_CHECK_EQUAL(normalize_args(v{"--port=8080", "--db", "x.db"}, switches),
                  (v{"--port=8080", "--db=x.db"}));
  CAF_CHECK_EQUAL(normalize_args(v{"--help", "--db", "x"}, switches),
                  (v{"--help", "--db=x"}));
  CAF_CHECK_EQUAL(normalize_args(v{"--offset", "-1"}, switches),
                  v{"--offset=-1"});
  CAF_CHECK_EQUAL(normalize_args(v{"--db", "--name=x"}, switches),
                  (v{"--db", "--name=x"}));
  CAF_CHECK_EQUAL(normalize_args(v{"--", "--db", "x"}, switches),
                  (v{"--", "--db", "x"}));
}

CAF_TEST(status lines and bars show phase percent bytes and rows) {
  sync_status st;
  st.state = sync_state::saving;
  st.progress = 85;
  st.bytes = 3 * 1048576 + 104858;
  st.rows = 1234;
  st.message = "Saving rows to the cache";
  auto line = status_line(st);
  CAF_CHECK_EQUAL(line.rfind("saving", 0), 0u);
  CAF_CHECK_NOT_EQUAL(line.find("85%"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(line.find("3.1 MiB"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(line.find("1234 rows"), std::string::npos);
  auto bar = status_bar(st, 20);
  CAF_CHECK_EQUAL(bar.substr(0, 22), "[#################...]");
}

CAF_TEST_FIXTURE_SCOPE(cli_tests, fixture)

CAF_TEST(help lists every flag) {
  auto r = run("sync --help");
  CAF_CHECK_EQUAL(r.code, 0);
  for (auto flag : {"--source", "--db", "--name", "--fetch-timeout",
                    "--max-duration"})
    CAF_CHECK(contains(r.out, flag));
  auto top = run("--help");
  CAF_CHECK_EQUAL(top.code, 0);
  CAF_CHECK(contains(top.out, "sync"));
}

CAF_TEST(a sync exits 0 with one line per change when not on a terminal) {
  auto db = dir + "/cache.db";
  auto r = run("sync --source file://" + demo_csv + " --db " + db
               + " --name demo");
  CAF_CHECK_EQUAL(r.code, 0);
  CAF_CHECK_EQUAL(r.err, "");
  CAF_CHECK(contains(r.out, "downloading"));
  CAF_CHECK(contains(r.out, "complete    100%"));
  CAF_CHECK(contains(r.out, "Synced 300 rows"));
  CAF_CHECK(!contains(r.out, "\r"));
  // The = form and a time span.
  auto again = run("sync --source=file://" + demo_csv + " --db=" + db
                   + " --name=demo --fetch-timeout=2s --max-duration 1min");
  CAF_CHECK_EQUAL(again.code, 0);
}

CAF_TEST(failures exit non zero with the error on stderr) {
  auto db = dir + "/cache.db";
  test::fake_server server{{"--csv", demo_csv}};
  auto r = run("sync --source=" + server.url("/html") + " --db=" + db);
  CAF_CHECK_EQUAL(r.code, 1);
  CAF_CHECK(contains(r.err, "sync failed"));
  CAF_CHECK(contains(r.err, "share it"));
  auto missing = run("sync --db=" + db);
  CAF_CHECK_EQUAL(missing.code, 2);
  CAF_CHECK(contains(missing.err, "--source is missing"));
  auto bad_name = run("sync --source=file://" + demo_csv + " --db=" + db
                      + " --name=../etc");
  CAF_CHECK_EQUAL(bad_name.code, 2);
  CAF_CHECK(contains(bad_name.err, "not a valid source name"));
  auto unknown = run("sync --frobnicate=1");
  CAF_CHECK_EQUAL(unknown.code, 2);
  auto secret = run("sync --source=" + server.url("/status/404?key=SECRET123")
                    + " --db=" + db);
  CAF_CHECK_EQUAL(secret.code, 1);
  CAF_CHECK(!contains(secret.err + secret.out, "SECRET123"));
}

CAF_TEST(sigterm cancels and keeps the cache) {
  auto db = dir + "/cache.db";
  CAF_REQUIRE_EQUAL(run("sync --source=file://" + demo_csv + " --db=" + db).code,
                    0);
  test::fake_server server{{"--csv", demo_csv}};
  // A script file: $! must reach bash, not the shell behind std::system.
  std::ofstream script{dir + "/term.sh"};
  script << binary << " sync --source='" << server.url("/slow?interval_ms=20")
         << "' --db=" << db << " > /dev/null 2> '" << dir << "/err' &\n"
         << "pid=$!\nsleep 1\nkill -TERM $pid\nwait $pid\n";
  script.close();
  auto status = std::system(("bash '" + dir + "/term.sh'").c_str());
  CAF_CHECK_EQUAL(WEXITSTATUS(status), 130);
  CAF_CHECK(contains(slurp(dir + "/err"), "Cancelled"));
  auto r = run("sync --source=file://" + demo_csv + " --db=" + db);
  CAF_CHECK_EQUAL(r.code, 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
