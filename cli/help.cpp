#include "cli/help.hpp"

namespace sheetsync {

namespace {

// The groups both commands share. A test checks that every declared flag
// appears in its command's help.

const char* source_flags = R"(Source:
  --source=SHEET           the sheet: its browser URL, a spreadsheet id (with
                           --gid), a published-to-web URL, or any http(s) or
                           file URL of a CSV; with --config-file, a source's
                           name
  --name=NAME              the source's name, which is also its cache table
                           (default: sheet)
  --gid=N                  the tab: the number after #gid= (default: the
                           URL's, else the first tab)
  --config-file=FILE       several sources and any flag below without its --
                           (see config/sheetsync.conf.example); flags win
)";

const char* cache_flags = R"(Cache:
  --db=FILE                the SQLite cache file, created if missing
                           (required; one table per source)
  --history-limit=N        finished syncs kept per source (default: 1000)
)";

const char* limit_flags = R"(Limits:
  --fetch-timeout=T        fail when no byte arrives for this long
                           (default: 90s)
  --max-duration=T         whole-sync limit (default: 5min)
  --max-bytes=N            cap on the downloaded bytes (default: 1073741824)
  --max-attempts=N         attempts on 429, 5xx, time-outs and connection
                           failures (default: 5)
  --cooldown=T             minimum time between two starts of a source
                           (default: 3s)
  --evict-after=T          finished syncs are forgotten from memory after
                           this (default: 5min)
  --max-parallel=N         syncs of different sources at once; the rest queue
                           (default: 2)
)";

const char* google_flags = R"(Google:
  --access=MODE            export (CSV export), api (Sheets API v4) or auto
                           (default: auto = api when an API key is given)
  --api-key=KEY            Sheets API key for public sheets (default: none;
                           or set SHEETSYNC_GOOGLE_API_KEY, kept out of ps)
  --credentials=FILE       Google credentials JSON for private sheets: a
                           service account's key (share the sheet with its
                           e-mail address) or an authorized_user file
                           (gcloud auth application-default login; the
                           account needs access to the sheet). Default: the
                           file GOOGLE_APPLICATION_CREDENTIALS names, for
                           spreadsheets without --credentials or an API key
  --range=A1               Sheets API range in A1 notation (default: the tab)
  --tabs=all|T1,T2         every tab, or these tab titles, each into its own
                           table NAME__TAB (Sheets API: API key or
                           credentials; default: one tab)
  --api-batch-rows=N       rows per Sheets API request when a whole tab is
                           read (default: 50000)
  --docs-base-url=URL      where Google Docs lives
                           (default: https://docs.google.com)
  --sheets-api-base-url=URL
                           where the Sheets API lives
                           (default: https://sheets.googleapis.com)
  --google-token-url=URL   where credentials get access tokens (default: the
                           credentials file's token_uri, else
                           https://oauth2.googleapis.com/token)
)";

const char* footer = R"(Time spans are written 500ms, 90s, 5min, 1h; flags take --flag=value or
--flag value. --help-all also lists the options of the actor framework (CAF).
)";

const char* sync_head = R"(Usage: sheetsync sync --source=SHEET --db=FILE [FLAGS]
       sheetsync sync --config-file=FILE [--source=NAME] [FLAGS]

Downloads a sheet, parses it and swaps it into its table of the cache, with a
progress bar; exits 0 when complete, 1 when the sync fails, 2 for bad flags
or config, 130 when interrupted (the cache keeps its previous data).

)";

const char* sync_examples = R"(Examples:
  sheetsync sync --source='https://docs.google.com/spreadsheets/d/ID/edit#gid=0' --db=sheets.db
  sheetsync sync --config-file=sheetsync.conf --source=sales

)";

const char* serve_head = R"(Usage: sheetsync serve --source=SHEET --db=FILE [--port=8080] [FLAGS]
       sheetsync serve --config-file=FILE [FLAGS]
       sheetsync serve --coordinator=HOST:PORT [--port=8080] [--api-token=T]

Serves the sync API, the event stream and the pages (/ and /settings), and
syncs each source that has an interval on its schedule; SIGINT or SIGTERM
stop it (a running sync is cancelled, the cache keeps its data).

)";

const char* serving_flags = R"(Serving:
  --host=ADDRESS           address to listen on (default: 127.0.0.1; another
                           needs --api-token or --insecure-public)
  --port=N                 port to listen on; 0 picks a free one
                           (default: 8080)
  --api-token=T            require 'Authorization: Bearer T' on /api/
                           (default: none; or set SHEETSYNC_API_TOKEN)
  --insecure-public        allow a public --host without a token
  --cors-origin=ORIGIN     let pages on ORIGIN (scheme://host[:port]) call
                           the API and load /sheetsync.js; repeatable
                           (default: none)
  --max-connections=N      connections beyond this get 503 (default: the
                           file descriptor limit less up to 256)
  --rate-limit=N/s|N/min   requests per client (API token, else address)
                           on /api/; beyond a burst of N: 429 (default: off)
  --interval=T             sync the --source URL's source every T
                           (default: only on demand)
)";

const char* node_flags = R"(Nodes:
  --node-port=N            publish the coordinator to other nodes (sheetsync
                           remote, serve --coordinator) on this port; 0 picks
                           a free one. Unauthenticated: keep it on a trusted
                           network (default: not published)
  --node-host=ADDRESS      address of the node port (default: 127.0.0.1;
                           another needs --insecure-public)
  --coordinator=HOST:PORT  serve only the API and the pages of the
                           coordinator published there (its --node-port)
)";

const char* webhook_flags = R"(Webhooks (docs/http-api.md#webhooks):
  --webhook=URL            POST signed sync.completed, sync.failed and
                           sync.cancelled events there (repeatable; per
                           receiver events and sources: webhooks = [...] in
                           the config file)
  --webhook-secret=whsec_B64
                           the Standard Webhooks signing secret (or set
                           SHEETSYNC_WEBHOOK_SECRET, which keeps it out of ps)
  --webhook-backoff=LIST   delays before each retry
                           (default: 5s,30s,2min,10min,30min, then failed)
)";

const char* serve_examples = R"(Examples:
  sheetsync serve --source='https://docs.google.com/spreadsheets/d/ID/edit#gid=0' --db=sheets.db
  sheetsync serve --config-file=sheetsync.conf --port=8081

)";

} // namespace

std::string command_help(const std::string& command) {
  std::string out = command == "serve" ? serve_head : sync_head;
  for (auto group : {source_flags, cache_flags, limit_flags, google_flags}) {
    out += group;
    out += '\n';
  }
  if (command == "serve") {
    out += serving_flags;
    out += '\n';
    out += node_flags;
    out += '\n';
    out += webhook_flags;
    out += '\n';
  }
  out += command == "serve" ? serve_examples : sync_examples;
  out += footer;
  return out;
}

} // namespace sheetsync
