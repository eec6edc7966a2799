// The sheetsync binary as scripts use it: flags in both forms, exit codes,
// progress on stdout, errors on stderr.
#define CAF_SUITE cli
#include <caf/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "cli/args.hpp"
#include "cli/command_line.hpp"
#include "cli/config_file.hpp"
#include "cli/progress_view.hpp"
#include "cli/remote_options.hpp"
#include "cli/time_span.hpp"
#include "tests/fake_server.hpp"

using namespace sheetsync;

namespace {

const std::string binary = SHEETSYNC_BINARY_DIR "/sheetsync";
const std::string demo_csv = SHEETSYNC_SOURCE_DIR "/config/demo.csv";

using namespace std::chrono_literals;

const std::string sheet_id = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-ab";
const std::string sheet_id2 = "2ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210_-zz";

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

  /// Runs the binary with `args`; `prefix` goes before it (e.g. a timeout).
  result run(const std::string& args, const std::string& prefix = "") {
    auto cmd = prefix + binary + " " + args + " > '" + dir + "/out' 2> '" + dir
               + "/err' < /dev/null";
    auto status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir + "/out"),
            slurp(dir + "/err")};
  }

  bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }

  /// Writes `text` to `name` in the test directory; returns its path.
  std::string write(const std::string& name, const std::string& text) {
    auto path = dir + "/" + name;
    std::ofstream out{path, std::ios::binary};
    out << text;
    return path;
  }

  /// A service account's credentials JSON with a key generated here (never
  /// committed); returns its path.
  std::string write_credentials(const std::string& name) {
    auto key = EVP_RSA_gen(2048);
    auto bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    auto len = BIO_get_mem_data(bio, &data);
    std::string pem{data, static_cast<size_t>(len)}, escaped;
    BIO_free(bio);
    EVP_PKEY_free(key);
    for (auto c : pem)
      escaped += c == '\n' ? std::string{"\\n"} : std::string{c};
    return write(name, R"({"type": "service_account", "client_email": )"
                         R"("sync@test.iam.gserviceaccount.com", "private_key": ")"
                         + escaped
                         + R"(", "token_uri": "http://127.0.0.1:9/token"})");
  }

  /// Runs parse_command_line in-process; `error` gets what it printed.
  std::optional<int> parse(command_config& cfg,
                           const std::vector<std::string>& args) {
    std::ostringstream err;
    auto rc = parse_command_line(cfg, args, "", err);
    error = err.str();
    return rc;
  }

  /// Parses `args` for `command` and expects exit code 2 and a message
  /// containing `part`.
  void expect_error(const std::string& command,
                    const std::vector<std::string>& args,
                    const std::string& part) {
    command_config cfg{command};
    auto rc = parse(cfg, args);
    CAF_CHECK_EQUAL(rc.value_or(-1), 2);
    if (!contains(error, part))
      CAF_FAIL("expected '" << part << "' in: " << error);
  }

  /// Same for a config file with `text`.
  void expect_config_error(const std::string& text, const std::string& part,
                           std::vector<std::string> more = {}) {
    auto path = write("bad.conf", text);
    more.push_back("--config-file=" + path);
    more.push_back("--db=" + dir + "/x.db");
    expect_error("serve", more, part);
  }

  std::string error;
};

/// Every cell of a cache table straight from the file: the column names
/// first, then each row in order (the internal _row column left out).
std::vector<std::vector<std::string>> read_table(const std::string& db,
                                                 const std::string& table) {
  std::vector<std::vector<std::string>> out;
  sqlite3* conn = nullptr;
  if (sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(conn);
    CAF_FAIL("cannot open " << db);
  }
  sqlite3_busy_timeout(conn, 5000);
  sqlite3_stmt* stmt = nullptr;
  auto sql = "SELECT * FROM \"" + table + "\" ORDER BY \"_row\"";
  if (sqlite3_prepare_v2(conn, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(conn);
    sqlite3_close(conn);
    CAF_FAIL("cannot read table " << table << ": " << msg);
  }
  auto n = sqlite3_column_count(stmt);
  std::vector<std::string> names;
  for (int i = 1; i < n; ++i)
    names.emplace_back(sqlite3_column_name(stmt, i));
  out.push_back(std::move(names));
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 1; i < n; ++i) {
      auto text = sqlite3_column_text(stmt, i);
      row.emplace_back(text ? reinterpret_cast<const char*>(text) : "<null>");
    }
    out.push_back(std::move(row));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(conn);
  return out;
}

std::string join_cells(const std::vector<std::string>& cells) {
  std::string out;
  for (auto& c : cells)
    out += (out.empty() ? "" : ",") + c;
  return out;
}

std::string first_line(const std::string& text) {
  auto line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  return line;
}

/// The binary running with its stdout on a pipe.
struct child {
  pid_t pid = -1;
  std::FILE* out = nullptr;
};

/// Starts the binary with `args`, stdin from /dev/null, stderr to `err_path`.
child spawn_binary(const std::vector<std::string>& args, const std::string& err_path) {
  child result;
  int fds[2];
  if (pipe(fds) != 0)
    return result;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv{const_cast<char*>(binary.c_str())};
  for (auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (posix_spawn(&result.pid, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0)
    result.pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  result.out = fdopen(fds[0], "r");
  return result;
}

/// Reads the child's stdout until a line contains `part` (true) or it ends.
bool read_until(child& c, const std::string& part) {
  char line[4096];
  while (std::fgets(line, sizeof(line), c.out) != nullptr)
    if (std::string{line}.find(part) != std::string::npos)
      return true;
  return false;
}

/// Everything the child writes to stdout, until it closes it.
std::string read_all(child& c) {
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), c.out)) > 0;)
    out.append(buf, n);
  return out;
}

/// The first column of the first row `sql` answers in `db`, as text ("" if
/// none); fails the test when the query fails.
std::string query(const std::string& db, const std::string& sql) {
  sqlite3* conn = nullptr;
  sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(conn, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(conn);
    sqlite3_close(conn);
    CAF_FAIL("query failed: " << sql << ": " << msg);
  }
  std::string result;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0))
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(conn);
  return result;
}

size_t count_of(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (auto pos = text.find(part); pos != std::string::npos;
       pos = text.find(part, pos + 1))
    ++n;
  return n;
}

/// A socket listening on a free loopback port, as another program would.
struct busy_port {
  int fd = -1;
  uint16_t port = 0;

  busy_port() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0
        || ::listen(fd, 4) != 0
        || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      CAF_FAIL("cannot listen on a loopback port");
    port = ntohs(addr.sin_port);
  }

  ~busy_port() {
    ::close(fd);
  }
};

int wait_for(child& c) {
  std::fclose(c.out);
  c.out = nullptr;
  int status = 0;
  waitpid(c.pid, &status, 0);
  return status;
}

source_spec make_spec(std::string name, std::string location) {
  source_spec result;
  result.name = std::move(name);
  result.location = std::move(location);
  return result;
}

} // namespace

namespace sheetsync {

bool operator==(const source_spec& x, const source_spec& y) {
  return x.name == y.name && x.location == y.location && x.gid == y.gid
         && x.access == y.access && x.api_key == y.api_key
         && x.credentials == y.credentials && x.range == y.range
         && x.interval == y.interval;
}

std::string to_string(const source_spec& x) {
  return "{" + x.name + ", " + x.location + ", gid " + x.gid + ", "
         + to_string(x.access) + ", key " + x.api_key + ", cred "
         + x.credentials + ", range " + x.range + ", "
         + caf::deep_to_string(x.interval) + "}";
}

} // namespace sheetsync

namespace {

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
                    "--max-duration", "--gid", "--access", "--api-key",
                    "--credentials", "--range", "--docs-base-url",
                    "--sheets-api-base-url", "--max-parallel",
                    "--max-attempts", "--config-file"})
    CAF_CHECK(contains(r.out, flag));
  auto top = run("--help");
  CAF_CHECK_EQUAL(top.code, 0);
  CAF_CHECK(contains(top.out, "sync"));
}

CAF_TEST(each command has its own help and CAF options only under help all) {
  for (std::string command : {"sync", "serve"}) {
    CAF_MESSAGE(command);
    auto r = run(command + " --help");
    CAF_CHECK_EQUAL(r.code, 0);
    CAF_CHECK_EQUAL(r.err, "");
    CAF_CHECK_EQUAL(r.out.rfind("Usage: sheetsync " + command + " ", 0), 0u);
    std::vector<std::string> groups{"Source:", "Cache:", "Limits:", "Google:"};
    if (command == "serve") {
      groups.emplace_back("Serving:");
      groups.emplace_back("Nodes:");
    }
    for (auto& group : groups)
      CAF_CHECK(contains(r.out, "\n" + group + "\n"));
    CAF_CHECK(contains(r.out, "\nExamples:\n"));
    CAF_CHECK_EQUAL(count_of(r.out, "\n  sheetsync " + command + " --"), 2u);
    CAF_CHECK(contains(r.out, "(default: sheet)"));
    // Every flag of the command, and none of the framework's.
    command_config cfg{command};
    for (auto& opt : cfg.options()) {
      std::string name{opt.long_name().begin(), opt.long_name().end()};
      if (opt.category() != caf::string_view{"global"} || name == "help"
          || name == "long-help" || name == "dump-config")
        continue;
      if (!contains(r.out, "\n  --" + name))
        CAF_FAIL(command << " --help lacks --" << name);
    }
    for (auto framework : {"global options", "--long-help", "--dump-config",
                           "scheduler", "logger", "middleman", "STDERR"})
      CAF_CHECK(!contains(r.out, framework));
    auto all = run(command + " --help-all");
    CAF_CHECK_EQUAL(all.code, 0);
    CAF_CHECK_EQUAL(all.out.rfind("Usage: sheetsync " + command + " ", 0), 0u);
    CAF_CHECK(contains(all.out, "scheduler"));
    CAF_CHECK(contains(all.out, "logger"));
  }
}

CAF_TEST(a sync exits 0 with one line per change when not on a terminal) {
  auto db = dir + "/cache.db";
  auto r = run("sync --source file://" + demo_csv + " --db " + db
               + " --name demo");
  CAF_CHECK_EQUAL(r.code, 0);
  CAF_CHECK_EQUAL(r.err, "");
  CAF_CHECK(contains(r.out, "downloading"));
  CAF_CHECK(contains(r.out, "saving"));
  CAF_CHECK(contains(r.out, "Synced 300 rows"));
  CAF_CHECK(!contains(r.out, "\r"));
  // The = form and a time span.
  auto again = run("sync --source=file://" + demo_csv + " --db=" + db
                   + " --name=demo --fetch-timeout=2s --max-duration 1min");
  CAF_CHECK_EQUAL(again.code, 0);
}

CAF_TEST(a piped sync prints its final line once naming the table and the db) {
  auto db = dir + "/cache.db";
  auto proc = spawn_binary({"sync", "--source=file://" + demo_csv, "--db=" + db},
                           dir + "/err");
  CAF_REQUIRE(proc.pid > 0);
  auto out = read_all(proc);
  auto status = wait_for(proc);
  CAF_CHECK_EQUAL(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
  CAF_MESSAGE("stdout:\n" << out);
  CAF_CHECK_EQUAL(count_of(out, "Synced 300 rows"), 1u);
  CAF_CHECK_EQUAL(count_of(out, "complete"), 0u);
  CAF_REQUIRE(out.size() > 1 && out.back() == '\n');
  auto last = out.substr(out.rfind('\n', out.size() - 2) + 1);
  CAF_CHECK_EQUAL(last.rfind("Synced 300 rows", 0), 0u);
  CAF_CHECK(contains(last, " into table sheet of " + db + "\n"));
  // The default table needs no quotes.
  CAF_CHECK_EQUAL(query(db, "select count(*) from sheet"), "300");
  // Unchanged: the line still names them.
  proc = spawn_binary({"sync", "--source=file://" + demo_csv, "--db=" + db},
                      dir + "/err");
  out = read_all(proc);
  wait_for(proc);
  CAF_CHECK_EQUAL(count_of(out, "Synced: unchanged"), 1u);
  CAF_CHECK(contains(out, "(table sheet of " + db + ")\n"));
}

CAF_TEST(a cache in a missing folder stops the command before it starts) {
  auto folder = dir + "/no/such/folder";
  auto db = folder + "/cache.db";
  for (std::string command : {"sync", "serve"}) {
    CAF_MESSAGE(command);
    // serve would run until stopped if it started: bounded.
    auto r = run(command + " --source=file://" + demo_csv + " --db=" + db
                   + (command == "serve" ? " --port=0" : ""),
                 "timeout -s KILL 20 ");
    CAF_CHECK_EQUAL(r.code, 2);
    CAF_CHECK_EQUAL(r.out, "");
    CAF_CHECK_EQUAL(count_of(r.err, "\n"), 1u);
    CAF_CHECK(contains(r.err, "sheetsync " + command + ": the folder of the "
                              "cache " + db + " does not exist"));
    CAF_CHECK(contains(r.err, "mkdir -p " + folder));
    CAF_CHECK(contains(r.err, "--db"));
    CAF_CHECK(!contains(r.err, "history disabled"));
  }
  // From a config file: the line names the setting.
  auto conf = write("c.conf", "[sheetsync]\ndb = \"" + db
                                + "\"\nsources = { demo = { url = \"file://"
                                + demo_csv + "\" } }\n");
  auto r = run("sync --config-file=" + conf);
  CAF_CHECK_EQUAL(r.code, 2);
  CAF_CHECK(contains(r.err, "choose another db in " + conf));
}

CAF_TEST(serve on a busy port says so and exits 1 at once) {
  busy_port other;
  auto p = std::to_string(other.port);
  auto base = "serve --source=file://" + demo_csv + " --db=" + dir + "/c.db";
  for (auto [flag, args] :
       {std::pair{"--port", " --port=" + p},
        std::pair{"--node-port", " --port=0 --node-port=" + p}}) {
    CAF_MESSAGE(flag);
    auto t0 = std::chrono::steady_clock::now();
    auto r = run(base + args, "timeout -s KILL 30 ");
    auto took = std::chrono::steady_clock::now() - t0;
    CAF_CHECK_EQUAL(r.code, 1);
    CAF_CHECK(!contains(r.out, "listening"));
    CAF_CHECK(contains(r.err, "port " + p + " on 127.0.0.1 is already in use; "
                              "stop the other program or choose another with "
                              + std::string{flag} + "\n"));
    CAF_CHECK(!contains(r.err, "system_error"));
    CAF_CHECK_LESS(
      std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), 5000);
  }
}

CAF_TEST(an old cache default table becomes sheet once with its history) {
  auto db = dir + "/old.db";
  auto sync = [&](const std::string& more) {
    return run("sync --source=file://" + demo_csv + " --db=" + db + more);
  };
  // The old way: the unnamed source's table was "default" (what --name=default
  // still writes), with its history and content hash.
  CAF_REQUIRE_EQUAL(sync(" --name=default").code, 0);
  CAF_REQUIRE_EQUAL(sync(" --name=default").code, 0);
  auto before = read_table(db, "default");
  CAF_REQUIRE_EQUAL(query(db, "SELECT count(*) FROM sync_runs WHERE "
                              "source = 'default'"),
                    "2");
  auto r = sync("");
  CAF_CHECK_EQUAL(r.code, 0);
  CAF_CHECK(contains(r.err, "renamed the table default to sheet in " + db));
  // The content hash moved with the table: nothing to rewrite.
  CAF_CHECK(contains(r.out, "Synced: unchanged"));
  CAF_CHECK(read_table(db, "sheet") == before);
  CAF_CHECK_EQUAL(query(db, "SELECT count(*) FROM sqlite_master WHERE name = "
                            "'default'"),
                  "0");
  CAF_CHECK_EQUAL(query(db, "SELECT count(*) FROM sync_runs WHERE source = "
                            "'sheet'"),
                  "3");
  CAF_CHECK_EQUAL(query(db, "SELECT count(*) FROM sync_runs WHERE source != "
                            "'sheet'"),
                  "0");
  CAF_CHECK_EQUAL(query(db, "SELECT rows FROM sync_meta WHERE name = 'sheet'"),
                  "300");
  // Once: a source named default on purpose is left alone from now on.
  CAF_CHECK_EQUAL(sync(" --name=default").code, 0);
  r = sync("");
  CAF_CHECK_EQUAL(r.code, 0);
  CAF_CHECK(!contains(r.err, "renamed"));
  CAF_CHECK_EQUAL(read_table(db, "default").size(), 301u);
  CAF_CHECK_EQUAL(read_table(db, "sheet").size(), 301u);
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

CAF_TEST(a missing file fails at once) {
  // Retried five times this took 17 s; nothing can make the file appear.
  auto db = dir + "/cache.db";
  auto t0 = std::chrono::steady_clock::now();
  auto r = run("sync --source=file://" + dir + "/missing.csv --db=" + db
               + " --max-attempts=5");
  auto took = std::chrono::steady_clock::now() - t0;
  CAF_CHECK_EQUAL(r.code, 1);
  CAF_CHECK(contains(r.err, "missing or not readable"));
  CAF_CHECK(!contains(r.err + r.out, "gave up after"));
  CAF_CHECK(!contains(r.out, "retrying"));
  // One attempt is about a second at most even on a loaded machine; the first
  // backoff alone would be 1 s, all four 15 s.
  CAF_CHECK_LESS(std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), 5000);
}

CAF_TEST(sigterm cancels and keeps the cache) {
  auto db = dir + "/cache.db";
  CAF_REQUIRE_EQUAL(run("sync --source=file://" + demo_csv + " --db=" + db).code,
                    0);
  auto before = read_table(db, "sheet");
  // What the first sync left: demo.csv's header and its 300 rows.
  CAF_REQUIRE_EQUAL(before.size(), 301u);
  CAF_CHECK_EQUAL(join_cells(before[0]), first_line(slurp(demo_csv)));
  test::fake_server server{{"--csv", demo_csv}};
  // The signal goes out once the sync reports that it downloads (the handler
  // is installed before that): no sleep, no race with the start-up.
  auto proc = spawn_binary({"sync", "--source=" + server.url("/slow?interval_ms=20"),
                            "--db=" + db},
                           dir + "/err");
  CAF_REQUIRE(proc.pid > 0);
  CAF_REQUIRE(read_until(proc, "downloading"));
  ::kill(proc.pid, SIGTERM);
  read_until(proc, "\x01never"); // drains stdout to its end
  auto status = wait_for(proc);
  CAF_CHECK_EQUAL(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 130);
  CAF_CHECK(contains(slurp(dir + "/err"), "Cancelled"));
  // The table is exactly as before, cell for cell.
  auto after = read_table(db, "sheet");
  CAF_CHECK_EQUAL(after.size(), before.size());
  CAF_CHECK(after == before);
  auto r = run("sync --source=file://" + demo_csv + " --db=" + db);
  CAF_CHECK_EQUAL(r.code, 0);
}


// -- flags, the config file and start-up checks, in-process -------------------

CAF_TEST(every flag takes both forms) {
  auto cred = write_credentials("sa.json");
  for (bool joined : {true, false}) {
    std::vector<std::string> args;
    auto flag = [&](const std::string& name, const std::string& value) {
      if (joined) {
        args.push_back("--" + name + "=" + value);
      } else {
        args.push_back("--" + name);
        args.push_back(value);
      }
    };
    flag("source", sheet_id);
    flag("db", dir + "/x.db");
    flag("name", "sales");
    flag("gid", "123");
    flag("access", "api");
    flag("api-key", "k-123");
    flag("credentials", cred);
    flag("range", "A1:D");
    flag("docs-base-url", "http://127.0.0.1:1/docs/");
    flag("sheets-api-base-url", "http://127.0.0.1:2");
    flag("max-parallel", "3");
    flag("max-attempts", "7");
    flag("cooldown", "10s");
    flag("interval", "15min");
    command_config cfg{"serve"};
    auto rc = parse(cfg, args);
    CAF_CHECK(!rc);
    CAF_CHECK_EQUAL(error, "");
    auto expected = make_spec("sales", sheet_id);
    expected.gid = "123";
    expected.access = access_mode::api;
    expected.api_key = "k-123";
    expected.credentials = cred;
    expected.range = "A1:D";
    expected.interval = 15min;
    CAF_CHECK_EQUAL(cfg.opts.sources, std::vector<source_spec>{expected});
    auto ccfg = cfg.opts.to_coordinator_config();
    CAF_CHECK_EQUAL(ccfg.sources, std::vector<source_spec>{expected});
    CAF_CHECK_EQUAL(ccfg.endpoints.docs_base, "http://127.0.0.1:1/docs");
    CAF_CHECK_EQUAL(ccfg.endpoints.sheets_api_base, "http://127.0.0.1:2");
    CAF_CHECK_EQUAL(ccfg.max_parallel, 3u);
    CAF_CHECK_EQUAL(ccfg.max_attempts, 7u);
    CAF_CHECK_EQUAL(ccfg.cooldown, caf::timespan{10s});
    CAF_CHECK_EQUAL(ccfg.db_path, dir + "/x.db");
    CAF_CHECK_EQUAL(cfg.accounts.count(cred), 1u);
    CAF_CHECK_EQUAL(cfg.accounts[cred].client_email(),
                    "sync@test.iam.gserviceaccount.com");
  }
}

CAF_TEST(defaults without a config file) {
  command_config cfg{"sync"};
  CAF_REQUIRE(!parse(cfg, {"--source=file://" + demo_csv, "--db=x.db"}));
  CAF_CHECK_EQUAL(cfg.opts.sources,
                  std::vector<source_spec>{make_spec("sheet", "file://"
                                                                  + demo_csv)});
  auto ccfg = cfg.opts.to_coordinator_config();
  CAF_CHECK_EQUAL(ccfg.endpoints.docs_base, "https://docs.google.com");
  CAF_CHECK_EQUAL(ccfg.endpoints.sheets_api_base,
                  "https://sheets.googleapis.com");
  CAF_CHECK_EQUAL(ccfg.max_parallel, 2u);
  CAF_CHECK_EQUAL(ccfg.max_attempts, 5u);
}

CAF_TEST(the api key comes from the environment unless a flag gives one) {
  setenv("SHEETSYNC_GOOGLE_API_KEY", "env-key", 1);
  command_config cfg{"sync"};
  CAF_CHECK(!parse(cfg, {"--source=" + sheet_id, "--db=x.db"}));
  CAF_CHECK_EQUAL(cfg.opts.sources.at(0).api_key, "env-key");
  command_config flagged{"sync"};
  CAF_CHECK(!parse(flagged, {"--source=" + sheet_id, "--db=x.db",
                             "--api-key=flag-key"}));
  CAF_CHECK_EQUAL(flagged.opts.sources.at(0).api_key, "flag-key");
  unsetenv("SHEETSYNC_GOOGLE_API_KEY");
}

CAF_TEST(a config file with two sources gives their exact specs) {
  auto cred = write_credentials("sa.json");
  auto conf = write("sheetsync.conf", R"(; two sheets
[sheetsync]
db = ")" + dir + R"(/cache.db"
cooldown = 10s
max-parallel = 3
max-attempts = 4
docs-base-url = "http://127.0.0.1:1"
port = 9090
sources = {
  stock = { id = ")" + sheet_id2 + R"(", gid = 123, access = "api",
            credentials = ")" + cred + R"(" }
  sales = { url = "https://docs.google.com/spreadsheets/d/)" + sheet_id
                           + R"(/edit#gid=0", interval = 15min },
  csv = { url = "file://)" + demo_csv + R"(", interval = 90s, access = 'export' }
}
)");
  auto stock = make_spec("stock", sheet_id2);
  stock.gid = "123";
  stock.access = access_mode::api;
  stock.credentials = cred;
  auto sales = make_spec("sales", "https://docs.google.com/spreadsheets/d/"
                                    + sheet_id + "/edit#gid=0");
  sales.interval = 15min;
  auto csv = make_spec("csv", "file://" + demo_csv);
  csv.interval = 90s;
  csv.access = access_mode::export_csv;
  command_config cfg{"serve"};
  CAF_REQUIRE(!parse(cfg, {"--config-file", conf}));
  CAF_CHECK_EQUAL(error, "");
  // File order, the first is the default.
  CAF_CHECK_EQUAL(cfg.opts.sources, (std::vector<source_spec>{stock, sales, csv}));
  auto ccfg = cfg.opts.to_coordinator_config();
  CAF_CHECK_EQUAL(ccfg.db_path, dir + "/cache.db");
  CAF_CHECK_EQUAL(ccfg.cooldown, caf::timespan{10s});
  CAF_CHECK_EQUAL(ccfg.max_parallel, 3u);
  CAF_CHECK_EQUAL(ccfg.max_attempts, 4u);
  CAF_CHECK_EQUAL(ccfg.endpoints.docs_base, "http://127.0.0.1:1");
  CAF_CHECK_EQUAL(cfg.opts.port, 9090u);
  CAF_CHECK_EQUAL(cfg.accounts.size(), 1u);
  // default-source picks the default; --source=NAME beats it in serve.
  auto with_default = write("default.conf", slurp(conf) + "default-source = \"sales\"\n");
  command_config cfg2{"serve"};
  CAF_REQUIRE(!parse(cfg2, {"--config-file=" + with_default}));
  CAF_CHECK_EQUAL(cfg2.opts.sources,
                  (std::vector<source_spec>{sales, stock, csv}));
  command_config cfg3{"serve"};
  CAF_REQUIRE(!parse(cfg3, {"--config-file=" + with_default, "--source=csv"}));
  CAF_CHECK_EQUAL(cfg3.opts.sources,
                  (std::vector<source_spec>{csv, sales, stock}));
  // sync runs one source: the named one, else the default; the port of serve
  // is ignored.
  command_config sync1{"sync"};
  CAF_REQUIRE(!parse(sync1, {"--config-file=" + conf, "--source", "sales"}));
  CAF_CHECK_EQUAL(sync1.opts.sources, std::vector<source_spec>{sales});
  command_config sync2{"sync"};
  CAF_REQUIRE(!parse(sync2, {"--config-file=" + with_default}));
  CAF_CHECK_EQUAL(sync2.opts.sources, std::vector<source_spec>{sales});
}

CAF_TEST(flags win over the config file) {
  auto conf = write("sheetsync.conf", R"([sheetsync]
db = "from-file.db"
cooldown = 10s
max-parallel = 3
fetch-timeout = 20s
sources = {
  sales = { id = ")" + sheet_id + R"(", gid = 5, range = "A1:B" },
  stock = { id = ")" + sheet_id2 + R"(" }
}
)");
  command_config cfg{"serve"};
  CAF_REQUIRE(!parse(cfg, {"--config-file=" + conf, "--db", "from-flag.db",
                           "--max-parallel=4", "--source=stock", "--gid=9",
                           "--access=export", "--interval=1h"}));
  CAF_CHECK_EQUAL(error, "");
  CAF_CHECK_EQUAL(cfg.opts.db, "from-flag.db");
  CAF_CHECK_EQUAL(cfg.opts.max_parallel, 4u);
  CAF_CHECK_EQUAL(cfg.opts.cooldown, caf::timespan{10s});
  CAF_CHECK_EQUAL(cfg.opts.fetch_timeout, caf::timespan{20s});
  auto stock = make_spec("stock", sheet_id2);
  stock.gid = "9";
  stock.access = access_mode::export_csv;
  stock.interval = 1h;
  auto sales = make_spec("sales", sheet_id);
  sales.gid = "5";
  sales.range = "A1:B";
  CAF_CHECK_EQUAL(cfg.opts.sources, (std::vector<source_spec>{stock, sales}));
  // Without a source, the config file's settings still apply.
  auto settings = write("settings.conf", "[sheetsync]\ndb = \"s.db\"\n");
  command_config plain{"sync"};
  CAF_REQUIRE(!parse(plain, {"--config-file=" + settings,
                             "--source=" + sheet_id}));
  // (beside the config file)
  CAF_CHECK_EQUAL(plain.opts.db, dir + "/s.db");
  CAF_CHECK_EQUAL(plain.opts.sources,
                  std::vector<source_spec>{make_spec("sheet", sheet_id)});
}

CAF_TEST(start up checks say what is wrong and where) {
  auto src = [&](const std::string& body) {
    return "[sheetsync]\nsources = {\n  sales = { " + body + " }\n}\n";
  };
  auto id = "id = \"" + sheet_id + "\"";
  expect_config_error(src(id + ", colour = \"red\""),
                      "source 'sales': unknown key 'colour'");
  expect_config_error("[sheetsync]\nsorces = {}\n",
                      "[sheetsync]: unknown key 'sorces'");
  expect_config_error("[sheetsync]\ngid = 4\n",
                      "[sheetsync]: unknown key 'gid': sources are configured");
  expect_config_error("[sync]\ndb = \"x\"\n", "unknown section [sync]");
  expect_config_error(src(id + ", interval = \"soon\""),
                      "source 'sales': interval must be a time span");
  expect_config_error(src(id + ", interval = 10ms"),
                      "source 'sales': interval 10ms is too short");
  expect_config_error(src(id + ", interval = -5s"),
                      "source 'sales': interval must not be negative");
  expect_config_error(src(id + ", access = \"cloud\""),
                      "source 'sales': access must be \"export\", \"api\" or "
                      "\"auto\"");
  expect_config_error(src(id + ", gid = \"first\""),
                      "source 'sales': gid must be the tab's number");
  expect_config_error(src("gid = 1"), "source 'sales': url or id is missing");
  expect_config_error(src(id + ", url = \"http://x/y.csv\""),
                      "source 'sales': give either url or id, not both");
  expect_config_error(src(id + ", credentials = \"" + dir + "/missing.json\""),
                      "config file " + dir + "/bad.conf: source 'sales': "
                      "credentials file " + dir + "/missing.json");
  auto broken = write("broken.json", R"({"type": "service_account"})");
  expect_config_error(src(id + ", credentials = \"" + broken + "\""),
                      "source 'sales': credentials file " + broken);
  expect_config_error("[sheetsync]\nsources = { sales = { " + id
                        + " }, Sales = { " + id + " } }\n",
                      "source 'Sales' and source 'sales' would share one cache "
                      "table");
  expect_config_error("[sheetsync]\nsources = { sales = { " + id
                        + " }, sales = { " + id + " } }\n",
                      "source 'sales' is defined twice");
  expect_config_error("[sheetsync]\nsources = { "
                        + std::string(70, 'a') + " = { " + id + " } }\n",
                      "not a valid source name");
  expect_config_error(src("url = \"https://example.com/data.csv\", access = "
                          "\"api\""),
                      "source 'sales': the Sheets API (--access=api) needs a "
                      "spreadsheet");
  expect_config_error(src("id = \"short\""), "source 'sales': ");
  expect_config_error("[sheetsync]\ncooldown = \"3s\"\n",
                      "[sheetsync] cooldown: expected timespan");
  expect_config_error("[sheetsync]\n# a comment\n",
                      "line 2, column 1");
  expect_config_error("[sheetsync]\n# a comment\n", "comments start with ';'");
  expect_config_error(src(id) + "default-source = \"stock\"\n",
                      "default-source: 'stock' is not one of the sources "
                      "(sales)");
  expect_config_error(src(id) + "max-parallel = 0\n",
                      "--max-parallel (or max-parallel in");
  expect_config_error(src(id), "--source 'stock' is not a source of config file",
                      {"--source=stock"});
  expect_config_error(src(id), "--gid configures one source: name it with "
                               "--source=NAME",
                      {"--gid=4"});
  expect_config_error(src(id), "--name names the --source URL's source",
                      {"--name=x"});
  expect_error("sync", {"--config-file=" + dir + "/none.conf"},
               "config file " + dir + "/none.conf: cannot read it");
  // The command line.
  expect_error("sync", {"--db=x.db"}, "--source is missing");
  expect_error("sync", {"--source=" + sheet_id}, "--db is missing");
  expect_error("sync", {"--source=" + sheet_id, "--db=x", "--name=../etc"},
               "--name '../etc' is not a valid source name");
  expect_error("sync", {"--source=" + sheet_id, "--db=x", "--access=cloud"},
               "--access must be export, api or auto");
  expect_error("sync", {"--source=" + sheet_id, "--db=x", "--gid=first"},
               "--gid must be the tab's number");
  expect_error("sync", {"--source=" + sheet_id, "--db=x", "--max-attempts=0"},
               "--max-attempts must be at least 1");
  expect_error("sync", {"--source=" + sheet_id, "--db=x",
                        "--docs-base-url=docs.example"},
               "--docs-base-url must be an http:// or https:// URL");
  expect_error("sync", {"--source=" + sheet_id, "--db=x", "--credentials",
                        dir + "/none.json"},
               "source 'sheet': credentials file " + dir + "/none.json");
  expect_error("sync", {"--source=ftp://example.com/x.csv", "--db=x"},
               "source 'sheet': ");
  expect_error("sync", {"--source=" + sheet_id, "--db=x", "--interval=1h"},
               "unknown flag --interval");
  expect_error("sync", {"--frobnicate=1"}, "unknown flag --frobnicate");
  expect_error("sync", {"--max-parallel=many"},
               "invalid value for --max-parallel: expected uint64");
  expect_error("sync", {"--cooldown=soon"},
               "invalid value for --cooldown: expected timespan");
  expect_error("sync", {"--source=" + sheet_id, "--db=x", "stray"},
               "1 unexpected argument(s) without a flag");
}

// CAF 0.17 converts a time span to nanoseconds without a range check: the
// fuzz target config_file found "999999999999999991h" (signed overflow).
CAF_TEST(time spans too long to hold are refused before CAF reads them) {
  auto src = [&](const std::string& body) {
    return "[sheetsync]\nsources = {\n  sales = { id = \"" + sheet_id + "\", "
           + body + " }\n}\n";
  };
  expect_config_error(src("interval = 999999999999999991h"),
                      "line 3, column " + std::to_string(33 + sheet_id.size())
                        + ": a time span must be at most 2562047h (about 292 "
                          "years)");
  expect_config_error("[sheetsync]\ncooldown = 9223372036855ms\n",
                      "line 2, column 12: a time span must be at most "
                      "9223372036854ms");
  expect_config_error("[sheetsync]\ncooldown = 0x7fffffffffh\n",
                      "a time span must be at most 2562047h");
  expect_config_error("[sheetsync]\ncooldown = -153722868min\n",
                      "a time span must be at most 153722867min");
  expect_config_error(src("interval = \"99999999999s\""),
                      "source 'sales': interval: a time span must be at most "
                      "9223372036s");
  expect_error("sync", {"--cooldown=2562048h"},
               "invalid value for --cooldown: a time span must be at most "
               "2562047h");
  expect_error("sync", {"--max-duration", "9223372036854776us"},
               "invalid value for --max-duration: a time span must be at most "
               "9223372036854775us");
  // The longest that fits, and look-alikes in strings, comments and keys,
  // are CAF's to read.
  CAF_CHECK_EQUAL(too_long_time_span("2562047h"), "");
  CAF_CHECK_EQUAL(too_long_time_span("999999999999999999"), "");
  CAF_CHECK_EQUAL(too_long_time_span("https://x/99999999999h"), "");
  std::string why;
  CAF_CHECK_EQUAL(find_too_long_time_span("a = \"99999999999h\" ; 9999999999h\n"
                                          "b-99999999999h = 1\nc = 1.99999999999h",
                                          why),
                  std::string::npos);
  CAF_CHECK_EQUAL(find_too_long_time_span("a = [1h, 2562048h]", why), 9u);
  CAF_CHECK_EQUAL(why, "a time span must be at most 2562047h (about 292 "
                       "years)");
}

CAF_TEST(errors never show a secret) {
  auto secret = std::string{"SECRET-KEY-123"};
  auto check = [&](const std::string& command,
                   const std::vector<std::string>& args) {
    command_config cfg{command};
    auto rc = parse(cfg, args);
    CAF_CHECK_EQUAL(rc.value_or(-1), 2);
    CAF_CHECK_NOT_EQUAL(error, "");
    if (contains(error, secret))
      CAF_FAIL("secret shown in: " << error);
  };
  // An unknown flag, a flag that needs a source, a plan that fails.
  check("sync", {"--api-keyy=" + secret});
  check("sync", {"--source=https://example.com/x.csv?key=" + secret,
                 "--db=x", "--access=api", "--api-key=" + secret});
  auto conf = write("secret.conf", R"([sheetsync]
sources = {
  sales = { url = "https://example.com/x.csv?key=)"
                                     + secret + R"(", access = "api",
            api-key = ")" + secret + R"(" }
}
)");
  check("serve", {"--config-file=" + conf, "--db=x"});
  check("serve", {"--config-file=" + conf, "--db=x",
                  "--source=https://example.com/?key=" + secret});
  auto conf2 = write("secret2.conf", "[sheetsync]\nsources = { sales = { url = \"x?key="
                                       + secret + "\", api-key = \"" + secret
                                       + "\" } }\n");
  check("serve", {"--config-file=" + conf2, "--db=x"});
}

CAF_TEST(the binary reads a config file and exits 2 on a bad one) {
  auto db = dir + "/cache.db";
  auto conf = write("demo.conf", "[sheetsync]\ndb = \"" + db
                                   + "\"\nsources = {\n  demo = { url = \"file://"
                                   + demo_csv + "\" }\n}\n");
  auto r = run("sync --config-file " + conf + " --source demo");
  CAF_CHECK_EQUAL(r.code, 0);
  CAF_CHECK(contains(r.out, "Synced 300 rows"));
  auto bad = write("bad.conf", "[sheetsync]\nsources = { demo = { url = 1 } }\n");
  auto b = run("sync --config-file=" + bad);
  CAF_CHECK_EQUAL(b.code, 2);
  CAF_CHECK(contains(b.err, "source 'demo': url must be a string"));
  auto example = run("sync --help");
  for (auto flag : {"--gid", "--access", "--api-key", "--credentials",
                    "--range", "--docs-base-url", "--sheets-api-base-url",
                    "--max-parallel", "--max-attempts", "--config-file"})
    CAF_CHECK(contains(example.out, flag));
  auto serve_help = run("serve --help");
  CAF_CHECK(contains(serve_help.out, "--interval"));
  CAF_CHECK(contains(serve_help.out, "--port"));
}

CAF_TEST(paths in a config file are relative to its folder) {
  CAF_REQUIRE_EQUAL(::mkdir((dir + "/conf").c_str(), 0755), 0);
  auto cred = write_credentials("conf/sa.json");
  auto conf = write("conf/x.conf",
                    "[sheetsync]\ndb = \"x.db\"\nsources = { a = { url = "
                    "\"https://docs.google.com/spreadsheets/d/"
                      + sheet_id + "/edit#gid=0\", credentials = \"sa.json\" "
                      "} }\n");
  command_config cfg{"sync"};
  CAF_REQUIRE(!parse(cfg, {"--config-file=" + conf}));
  CAF_CHECK_EQUAL(error, "");
  CAF_CHECK_EQUAL(cfg.opts.db, dir + "/conf/x.db");
  CAF_CHECK_EQUAL(cfg.opts.sources.at(0).credentials, cred);
  CAF_CHECK_EQUAL(cfg.accounts.count(cred), 1u);
  // The command line's --db is relative to the working directory.
  command_config flag{"sync"};
  CAF_REQUIRE(!parse(flag, {"--config-file=" + conf, "--db=y.db"}));
  CAF_CHECK_EQUAL(flag.opts.db, "y.db");
  // Absolute paths stay as they are.
  auto abs = write("conf/abs.conf", "[sheetsync]\ndb = \"" + dir
                                        + "/z.db\"\nsources = { a = { url = "
                                          "\"file:///x.csv\" } }\n");
  command_config absolute{"sync"};
  CAF_REQUIRE(!parse(absolute, {"--config-file=" + abs}));
  CAF_CHECK_EQUAL(absolute.opts.db, dir + "/z.db");
}

CAF_TEST(the example config file is valid) {
  // Its credentials path does not exist here: replace it.
  auto cred = write_credentials("sa.json");
  auto text = slurp(SHEETSYNC_SOURCE_DIR "/config/sheetsync.conf.example");
  auto at = text.find("/etc/sheetsync/service-account.json");
  CAF_REQUIRE_NOT_EQUAL(at, std::string::npos);
  text.replace(at, std::string{"/etc/sheetsync/service-account.json"}.size(),
               cred);
  auto conf = write("example.conf", text);
  command_config cfg{"serve"};
  CAF_CHECK(!parse(cfg, {"--config-file=" + conf}));
  CAF_CHECK_EQUAL(error, "");
  CAF_CHECK(cfg.opts.sources.size() >= 2u);
}

// -- nodes: serve --node-port / --coordinator, remote ------------------------

CAF_TEST(host and port pairs are checked) {
  std::string host;
  uint16_t port = 0;
  CAF_CHECK_EQUAL(parse_host_port("127.0.0.1:4242", "--node", host, port), "");
  CAF_CHECK_EQUAL(host, "127.0.0.1");
  CAF_CHECK_EQUAL(port, 4242u);
  CAF_CHECK_EQUAL(parse_host_port("coord.internal:1", "--node", host, port), "");
  CAF_CHECK_EQUAL(host, "coord.internal");
  CAF_CHECK_EQUAL(port, 1u);
  CAF_CHECK_EQUAL(parse_host_port("[::1]:65535", "--node", host, port), "");
  CAF_CHECK_EQUAL(host, "::1");
  CAF_CHECK_EQUAL(port, 65535u);
  auto error_of = [&](const std::string& text) {
    return parse_host_port(text, "--coordinator", host, port);
  };
  for (auto [text, part] : std::vector<std::pair<std::string, std::string>>{
         {"", "--coordinator needs HOST:PORT"},
         {"127.0.0.1", "has no port"},
         {":4242", "has no host"},
         {"h:", "the port must be a number from 1 to 65535"},
         {"h:0", "from 1 to 65535"},
         {"h:65536", "from 1 to 65535"},
         {"h:123456", "from 1 to 65535"},
         {"h:42x", "from 1 to 65535"},
         {"h:-1", "from 1 to 65535"},
         {"::1:4242", "write an IPv6 address as [::1]:4242"},
         {"[::1]4242", "write an IPv6 address as [::1]:4242"},
         {"[::1", "write an IPv6 address as [::1]:4242"}}) {
    auto err = error_of(text);
    if (!contains(err, part))
      CAF_FAIL("'" << text << "': expected '" << part << "' in: " << err);
    CAF_CHECK(contains(err, "--coordinator"));
  }
}

CAF_TEST(serve takes a node port and a node host) {
  command_config cfg{"serve"};
  CAF_CHECK(!parse(cfg, {"--source=" + sheet_id, "--db=x", "--node-port",
                         "4242"}));
  CAF_CHECK_EQUAL(error, "");
  CAF_CHECK_EQUAL(cfg.opts.node_port, 4242u);
  CAF_CHECK_EQUAL(cfg.opts.node_host, "127.0.0.1");
  CAF_CHECK(cfg.given.count("node-port"));
  command_config any{"serve"};
  CAF_CHECK(!parse(any, {"--source=" + sheet_id, "--db=x", "--node-port=0",
                         "--node-host=::1"}));
  CAF_CHECK_EQUAL(any.opts.node_port, 0u);
  CAF_CHECK_EQUAL(any.opts.node_host, "::1");
  // The node port has no authentication: another address needs consent.
  expect_error("serve", {"--source=" + sheet_id, "--db=x", "--node-port=1",
                         "--node-host=0.0.0.0"},
               "refusing to publish the coordinator on 0.0.0.0: the node port "
               "is unauthenticated");
  expect_error("serve", {"--source=" + sheet_id, "--db=x", "--node-port=1",
                         "--node-host=10.0.0.5", "--api-token=t"},
               "--api-token does not guard it");
  command_config consent{"serve"};
  CAF_CHECK(!parse(consent, {"--source=" + sheet_id, "--db=x", "--node-port=1",
                             "--node-host=10.0.0.5", "--insecure-public"}));
  expect_error("serve", {"--source=" + sheet_id, "--db=x", "--node-host=::1"},
               "--node-host needs --node-port");
  expect_error("serve", {"--source=" + sheet_id, "--db=x", "--node-port=70000"},
               "invalid value for --node-port");
  expect_error("sync", {"--source=" + sheet_id, "--db=x", "--node-port=1"},
               "unknown flag --node-port");
  expect_error("sync", {"--source=" + sheet_id, "--db=x", "--coordinator=h:1"},
               "unknown flag --coordinator");
}

CAF_TEST(serve with a coordinator runs the facade alone) {
  command_config cfg{"serve"};
  // No --source, --db or config file: the other node has them.
  CAF_CHECK(!parse(cfg, {"--coordinator", "10.1.2.3:4242", "--port=0",
                         "--host=127.0.0.1", "--api-token=t",
                         "--max-connections=10"}));
  CAF_CHECK_EQUAL(error, "");
  CAF_CHECK_EQUAL(cfg.opts.coordinator, "10.1.2.3:4242");
  CAF_CHECK(cfg.opts.sources.empty());
  for (auto flag : {"--source=" + sheet_id, std::string{"--db=x.db"},
                    std::string{"--interval=1min"}, std::string{"--node-port=1"},
                    std::string{"--cooldown=1s"}, std::string{"--name=n"}})
    expect_error("serve", {"--coordinator=h:1", flag},
                 flag.substr(0, flag.find('='))
                   + " cannot be used with --coordinator: this node serves "
                     "only the API and pages");
  expect_error("serve", {"--coordinator=h:1", "--config-file=" + dir + "/c.conf"},
               "--config-file cannot be used with --coordinator");
  expect_error("serve", {"--coordinator=h"}, "--coordinator 'h' has no port");
  expect_error("serve", {"--coordinator="}, "--coordinator needs");
  expect_error("serve", {"--coordinator=h:99999"}, "from 1 to 65535");
}

CAF_TEST(loopback means a loopback address and not a name that looks like one) {
  for (auto host : {"localhost", "127.0.0.1", "127.1.2.3", "::1",
                    "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"}) {
    CAF_MESSAGE("loopback: " << host);
    CAF_CHECK(is_loopback_host(host));
  }
  for (auto host : {"127.example.com", "0.0.0.0", "10.0.0.1", "::",
                    "::ffff:10.0.0.1", "128.0.0.1", ""}) {
    CAF_MESSAGE("not loopback: " << host);
    CAF_CHECK(!is_loopback_host(host));
  }
  // A bracketed IPv6 address is taken as the address.
  command_config cfg{"serve"};
  CAF_CHECK(!parse(cfg, {"--host=[::1]", "--source=file:///x.csv", "--db=x.db"}));
  CAF_CHECK_EQUAL(error, "");
  CAF_CHECK_EQUAL(cfg.opts.host, "::1");
}

CAF_TEST(remote takes a node an action and its id) {
  auto parse_remote = [&](const std::vector<std::string>& args,
                          remote_options& opts) {
    std::ostringstream out, err;
    auto rc = parse_remote_args(args, opts, out, err);
    error = err.str();
    return rc;
  };
  remote_options sync;
  CAF_CHECK(!parse_remote({"--node=127.0.0.1:4242", "sync", "--source", "stock"},
                          sync));
  CAF_CHECK_EQUAL(error, "");
  CAF_CHECK_EQUAL(sync.host, "127.0.0.1");
  CAF_CHECK_EQUAL(sync.port, 4242u);
  CAF_CHECK_EQUAL(sync.action, "sync");
  CAF_CHECK_EQUAL(sync.source, "stock");
  remote_options status;
  CAF_CHECK(!parse_remote({"status", "--node", "[::1]:1"}, status));
  CAF_CHECK_EQUAL(status.action, "status");
  CAF_CHECK_EQUAL(status.id, "");
  CAF_CHECK_EQUAL(status.host, "::1");
  remote_options by_id;
  CAF_CHECK(!parse_remote({"--node=h:2", "status", "sync-1-ab"}, by_id));
  CAF_CHECK_EQUAL(by_id.id, "sync-1-ab");
  remote_options cancel;
  CAF_CHECK(!parse_remote({"--node=h:2", "cancel", "sync-1-ab"}, cancel));
  CAF_CHECK_EQUAL(cancel.action, "cancel");
  CAF_CHECK_EQUAL(cancel.id, "sync-1-ab");
  remote_options watch;
  CAF_CHECK(!parse_remote({"--node=h:2", "watch"}, watch));
  CAF_CHECK_EQUAL(watch.connect_timeout, std::chrono::seconds{10});
  for (auto [text, ms] : {std::pair{"500ms", 500}, {"1.5s", 1500}, {"2min", 120000}}) {
    remote_options timed;
    CAF_CHECK(!parse_remote({"--node=h:2", "watch", "--connect-timeout", text},
                            timed));
    CAF_CHECK_EQUAL(timed.connect_timeout.count(), ms);
  }
  remote_options help;
  CAF_CHECK_EQUAL(parse_remote({"--help"}, help).value_or(-1), 0);
  for (auto [args, part] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
         {{"sync"}, "--node is missing"},
         {{"--node=h", "sync"}, "--node 'h' has no port"},
         {{"--node=h:0", "sync"}, "from 1 to 65535"},
         {{"--node=h:1"}, "what to do is missing"},
         {{"--node=h:1", "frobnicate"}, "unknown action 'frobnicate'"},
         {{"--node=h:1", "cancel"}, "cancel needs exactly one sync id"},
         {{"--node=h:1", "status", "a", "b"}, "at most one sync id"},
         {{"--node=h:1", "watch", "x"}, "watch takes no argument"},
         {{"--node=h:1", "sync", "stock"}, "--source=NAME"},
         {{"--node=h:1", "watch", "--source=x"}, "--source is for sync only"},
         {{"--node=h:1", "sync", "--frobnicate=1"}, "unknown flag --frobnicate"},
         {{"--node=h:1", "sync", "--source"}, "--source needs a value"},
         {{"--node=h:1", "watch", "--connect-timeout=5"}, "e.g. --connect-timeout=5s"},
         {{"--node=h:1", "watch", "--connect-timeout=0s"}, "from 1ms to 1h"},
         {{"--node=h:1", "watch", "--connect-timeout=2h"}, "from 1ms to 1h"},
         {{"--node=h:1", "watch", "--connect-timeout"}, "needs a duration"}}) {
    remote_options opts;
    CAF_CHECK_EQUAL(parse_remote(args, opts).value_or(-1), 2);
    if (!contains(error, part))
      CAF_FAIL("expected '" << part << "' in: " << error);
  }
}

CAF_TEST(remote without a node to talk to exits 2 and says why) {
  auto help = run("remote --help");
  CAF_CHECK_EQUAL(help.code, 0);
  CAF_CHECK(contains(help.out, "--node=HOST:PORT"));
  CAF_CHECK(contains(help.out, "unauthenticated"));
  auto usage = run("remote sync");
  CAF_CHECK_EQUAL(usage.code, 2);
  CAF_CHECK(contains(usage.err, "--node is missing"));
  // Port 1 on loopback: nothing listens there.
  auto refused = run("remote --node=127.0.0.1:1 status");
  CAF_CHECK_EQUAL(refused.code, 2);
  CAF_CHECK(contains(refused.err, "cannot connect to 127.0.0.1:1"));
  // A listener that never accepts: the first client completes TCP but never
  // gets CAF's handshake; with the queue full, the next one's SYN is dropped.
  // Both give up after the time-out instead of waiting for the kernel's.
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  CAF_REQUIRE_EQUAL(::bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
  CAF_REQUIRE_EQUAL(::listen(listener, 0), 0);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  auto silent = "remote --node=127.0.0.1:" + std::to_string(ntohs(addr.sin_port))
                + " --connect-timeout=500ms status";
  for (int i = 0; i < 2; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto hung = run(silent);
    auto took = std::chrono::steady_clock::now() - t0;
    CAF_CHECK_EQUAL(hung.code, 2);
    CAF_CHECK(contains(hung.err, "no answer within 0.5 s (--connect-timeout)"));
    // Generous: the point is not minutes.
    CAF_CHECK_LESS(took, std::chrono::seconds{20});
  }
  ::close(listener);
  auto top = run("--help");
  CAF_CHECK(contains(top.out, "remote"));
  auto serve_help = run("serve --help");
  for (auto flag : {"--node-port", "--node-host", "--coordinator"})
    CAF_CHECK(contains(serve_help.out, flag));
}

CAF_TEST_FIXTURE_SCOPE_END()
