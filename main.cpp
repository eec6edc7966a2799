#include <csignal>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <curl/curl.h>

#include "cli/commands.hpp"
#include "store/disk_limit.hpp"

namespace {

const char* usage = R"(sheetsync: keeps a local SQLite copy of a Google Sheet fresh.

Usage: sheetsync COMMAND [FLAGS]

Commands:
  sync    download, parse and save one sheet now, with a progress bar
          sheetsync sync --source=URL|ID --db=FILE [--name=NAME]
          sheetsync sync --config-file=FILE [--source=NAME]
  serve   run the HTTP API, the event stream and the pages, and sync each
          source with an interval on its schedule
          sheetsync serve --source=URL|ID --db=FILE [--host=127.0.0.1] [--port=8080]
          sheetsync serve --config-file=FILE
          sheetsync serve ... --node-port=4242   (publish the coordinator to
                                                 other nodes, loopback)
          sheetsync serve --coordinator=HOST:PORT (only the API and pages,
                                                 of another node's coordinator)
  remote  drive the coordinator of another node: sync (with the progress
          bar), status [ID], watch, cancel ID
          sheetsync remote --node=HOST:PORT sync [--source=NAME]

A config file names several sources (see config/sheetsync.conf.example).

Run `sheetsync COMMAND --help` for a command's flags.
)";

} // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0
      || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "help") == 0) {
    std::cout << usage;
    return argc < 2 ? 2 : 0;
  }
  // libcurl runs with CURLOPT_NOSIGNAL; a peer closing a socket must not
  // kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  // Before any thread exists: libcurl's global state is not thread-safe.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  // A test knob (simulated full disk); before any SQLite connection exists.
  sheetsync::limit_disk_from_env();
  std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  int rc;
  if (command == "sync") {
    rc = sheetsync::run_sync_command(args);
  } else if (command == "serve") {
    rc = sheetsync::run_serve_command(args);
  } else if (command == "remote") {
    rc = sheetsync::run_remote_command(args);
  } else {
    std::cerr << "sheetsync: unknown command '" << command << "'\n\n" << usage;
    rc = 2;
  }
  curl_global_cleanup();
  return rc;
}
