#!/usr/bin/env python3
"""sheetsync HTTP API benchmark: the status route against nginx, under load, at scale.

    bench/http [--duration 10s] [--connections 100] [--rounds 3] ...
    bench/http --cases idle,streams,history     (the scale cases; --cases all: everything)

(bench/http --help lists every option). Needs wrk and nginx (Debian packages
"wrk" and "nginx"; this script installs nothing), python3 and a built
sheetsync (--bin, default build/sheetsync). Scratch files go to a temporary
directory under bench/out/, removed afterwards.

Part 1, throughput of GET /api/sync-sheets-bg?syncId=<a completed sync>:
  Starts `sheetsync serve --port=0 --db=<tmp> --source=file://<repo>/config/demo.csv`,
  POSTs one sync and waits for it to complete, fetches the status JSON of
  that sync and writes it to a file that nginx serves as a static file at
  the same path (same body, Content-Type and Cache-Control; nginx adds Date,
  Server, Last-Modified, Accept-Ranges). nginx runs in the foreground with a
  temporary prefix and config on a free loopback port: `daemon off`,
  `master_process off` (one process, hence one worker), access_log off,
  sendfile, open_file_cache, keepalive_requests high enough that wrk's
  connections are never closed under it. sheetsync's HTTP side is one thread
  too (its CAF io broker runs on the middleman's single I/O thread), but each
  status answer is a request to the coordinator actor, which runs on CAF's
  scheduler threads, so sheetsync may use more than one core: the "server
  CPU" row (utime + stime of the server process over the run, from
  /proc/PID/stat) shows how much each one used.
  Then `wrk -t2 -c100 -d10s --latency URL` against each, alternating
  (a b, b a, a b, ...) for --rounds rounds, after an untimed warm-up of each;
  reports the medians of requests/s, p50 and p99, and the errors of all
  rounds (socket errors + non-2xx answers, as wrk counts them).
  Targets from the issue: sheetsync >= nginx in requests/s, p99 < 5 ms.

Part 2, the status route while a 1,000,000-row sync runs:
  Generates (or reuses) bench/out/sheets/sheet-N.csv with bench/make_sheet.py,
  serves it with bench/serve.py (chunked, no Content-Length, like Google),
  starts another `sheetsync serve` with --source at it. --pollers (200)
  keep-alive connections each send GET ?syncId=<running id> once per
  --poll-interval (1 s), their phases spread evenly over the interval, from
  just after the POST until the sync has ended (or --poll-max, 30 s). Debian
  has no wrk2, so two clients make that load, in turns (--poller):
    asyncio  this script: connections opened before the POST, requests on a
             fixed schedule (a tick missed while waiting for an answer is
             skipped); the latency is from writing a request to having read
             its whole answer; stops
             when an answer says the sync ended. "client lateness" is how late
             requests left against their schedule: when it is large the
             client was starved of CPU, and its latencies include that wait.
    wrk      wrk with a Lua script whose delay() paces each connection (one
             request, then INTERVAL ms, then the next); latencies from wrk's
             own histogram (C, far less disturbed by a busy machine); stopped
             with SIGINT (it then reports) when the event stream says the sync
             ended.
  Errors: non-200 answers, socket errors, and requests without an answer
  within 5 s. The requests of all --load-runs rounds are pooled for
  p50/p99/max. A sync's wall time is finishedAt - startedAt of its final
  status (the server's clock); a sync without pollers runs in each round too,
  for comparison, the order alternating.
  Targets: no errors, p99 < 50 ms.

The scale cases (--cases idle,streams,history), each beside nginx in the same
run, the load average printed with each. The script raises its own soft
RLIMIT_NOFILE to the hard one first (the servers and wrk inherit it).
  idle     a fresh sheetsync (--max-connections above the count) gets --idle
           (10,000) keep-alive connections, each sent GET /healthz once and
           its answer read; VmRSS (/proc/PID/status) before and 1 s
           (--settle) after the last answer, divided by the count; then the
           same against a fresh nginx (worker_connections raised), serving
           the same JSON at /healthz. Target: <= 1 KiB per connection.
  streams  the same with --streams (10,000) event streams (GET
           /api/sync-sheets-bg/events, the response head read). nginx has no
           event stream: its reference is as many requests left pending
           (headers unfinished), which it holds with a request buffer as
           sheetsync holds a stream (the idle case gives its idle figure).
           Target: <= 2 KiB per stream.
           Connections open 256 at a time, non-blocking: 10,000 in seconds.
  history  sheetsync syncs the demo sheet, stops, and starts again on the
           same cache, so the sync is known only from its history; nginx
           serves the status JSON sheetsync then answers. wrk as in part 1
           (--rounds, --duration, --threads, --warmup) at each of
           --history-connections (100,1000). Targets: requests/s >= 1.0x
           nginx; from 1,000 connections no request over 2 s (wrk's timeout
           count); p99 no worse than nginx's.

Exit status: 0 when everything ran, 1 when sheetsync failed (did not start,
a sync did not complete, a fetch failed), 2 when a tool or the binary is
missing (part 2 still runs without wrk/nginx). Timings are reported, never
asserted: this is a benchmark.
"""
import argparse
import asyncio
import ctypes
import http.client
import json
import math
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, "out")
SHEETS = os.path.join(OUT, "sheets")
DEMO = os.path.join(REPO, "config", "demo.csv")
ROUTE = "/api/sync-sheets-bg"

P99_TARGET_MS = 5.0
LOAD_P99_TARGET_MS = 50.0
FINISHED = ("complete", "error", "cancelled")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def rel(path):
    return os.path.relpath(path, REPO)


class Failed(Exception):
    """sheetsync did not do what the benchmark needs (exit status 1)."""


# -- processes -----------------------------------------------------------

_libc = None


def _die_with_parent():
    # Runs in the child between fork and exec: SIGTERM it when this script
    # dies, even by SIGKILL (the finally blocks cover everything else).
    try:
        _libc.prctl(1, signal.SIGTERM)     # PR_SET_PDEATHSIG
    except Exception:
        pass


class Proc:
    """A server this script started; stop() ends it (by its pid only)."""
    running = []

    def __init__(self, name, argv, stdout=subprocess.DEVNULL, errfile=None):
        global _libc
        if _libc is None:
            _libc = ctypes.CDLL(None)
        self.name = name
        self.errfile = errfile
        err = open(errfile, "wb") if errfile else subprocess.DEVNULL
        try:
            # A session of its own: a Ctrl-C goes to this script only, which
            # then stops the servers in order (sheetsync cancels its sync).
            self.p = subprocess.Popen(argv, stdout=stdout, stderr=err, cwd=REPO,
                                      text=True, start_new_session=True,
                                      preexec_fn=_die_with_parent)
        finally:
            if errfile:
                err.close()
        Proc.running.append(self)

    @property
    def pid(self):
        return self.p.pid

    def stderr_tail(self, n=20):
        if not self.errfile:
            return ""
        try:
            with open(self.errfile, errors="replace") as f:
                lines = f.read().strip().splitlines()[-n:]
        except OSError:
            return ""
        return "\n".join("  " + l for l in lines)

    def stop(self, sig=signal.SIGTERM, wait=10):
        if self.p.poll() is None:
            try:
                os.kill(self.p.pid, sig)
                self.p.wait(wait)
            except subprocess.TimeoutExpired:
                log("%s (pid %d) did not stop in %d s: killing it"
                    % (self.name, self.p.pid, wait))
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait()
            except ProcessLookupError:
                pass
        if self.p.stdout:
            try:
                self.p.stdout.read()
                self.p.stdout.close()
            except (OSError, ValueError):
                pass
        if self in Proc.running:
            Proc.running.remove(self)

    @classmethod
    def stop_all(cls):
        for p in reversed(list(cls.running)):
            try:
                p.stop()
            except Exception as e:          # keep stopping the others
                log("stopping %s: %s" % (p.name, e))


def cpu_seconds(pid):
    """utime + stime of a process so far, in seconds (all its threads)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.p.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


# -- HTTP helpers --------------------------------------------------------

def request(port, method, path, timeout=10):
    """(status, headers dict (lower-case names), body bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path)
        r = c.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


def response_size(port, path):
    """Bytes on the wire of one keep-alive response (status line, headers,
    body), as wrk receives them."""
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
                  % (path.encode(), port))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                raise Failed("connection closed before the headers ended")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        length = int(m.group(1)) if m else 0
        while len(rest) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        return len(head) + 4 + length


def iso_ms(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# -- sheetsync serve -----------------------------------------------------

class Sheetsync(Proc):
    def __init__(self, binary, source, db, workdir, extra=()):
        argv = [binary, "serve", "--port=0", "--db=" + db, "--source=" + source]
        argv += list(extra)
        errfile = os.path.join(workdir, "sheetsync-%s.err" % os.path.basename(db))
        super().__init__("sheetsync serve", argv, stdout=subprocess.PIPE,
                         errfile=errfile)
        line = self.p.stdout.readline()
        m = re.search(r"listening on http://[^ ]*:(\d+)", line)
        if not m:
            tail = self.stderr_tail()
            self.stop()
            raise Failed("sheetsync serve did not start (stdout %r); its stderr:\n%s"
                         % (line.strip(), tail or "  (empty)"))
        self.port = int(m.group(1))

    def start_sync(self, timeout=60):
        """POSTs a sync (waiting out a 429 cooldown); its id."""
        deadline = time.monotonic() + timeout
        while True:
            st, hdr, body = request(self.port, "POST", ROUTE)
            if st == 202:
                return json.loads(body)["syncId"]
            if st == 429 and time.monotonic() < deadline:
                time.sleep(min(float(hdr.get("retry-after", "1")), 5.0))
                continue
            raise Failed("POST %s answered %d: %s"
                         % (ROUTE, st, body.decode("utf-8", "replace")[:300]))

    def status(self, sync_id):
        st, _, body = request(self.port, "GET", "%s?syncId=%s" % (ROUTE, sync_id))
        if st != 200:
            raise Failed("GET %s?syncId=%s answered %d: %s"
                         % (ROUTE, sync_id, st, body.decode("utf-8", "replace")[:300]))
        return json.loads(body)

    def wait_finished(self, sync_id, timeout, every=0.1):
        deadline = time.monotonic() + timeout
        while True:
            s = self.status(sync_id)
            if s["status"] in FINISHED:
                return s
            if time.monotonic() > deadline:
                raise Failed("sync %s still %s after %d s" % (sync_id, s["status"], timeout))
            time.sleep(every)

    def rows(self):
        st, _, body = request(self.port, "GET", "/api/data?limit=1")
        return json.loads(body).get("total") if st == 200 else None


def sync_wall(status):
    try:
        return iso_ms(status["finishedAt"]) - iso_ms(status["startedAt"])
    except (KeyError, TypeError, ValueError):
        return None


# -- nginx ---------------------------------------------------------------

NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile {nofile};
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections {conns}; }}
http {{
    access_log off;
    server_tokens off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    # The scale cases hold half-sent requests while they measure.
    client_header_timeout 300s;
    keepalive_requests 100000000;
    open_file_cache max=64 inactive=10m;
    etag off;
    types {{ }}
    default_type "application/json; charset=utf-8";
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {d}/www;
        location = {route} {{
            add_header Cache-Control no-store;
        }}
    }}
}}
"""


HEALTHZ = b'{"status":"ok"}\n'


class Nginx(Proc):
    """nginx serving `body` at ROUTE and sheetsync's /healthz answer at
    /healthz, for up to `connections` connections at once."""

    def __init__(self, workdir, body, connections=4096):
        d = os.path.join(workdir, "nginx")
        os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
        for path, data in ((ROUTE, body), ("/healthz", HEALTHZ)):
            www = os.path.join(d, "www", path.lstrip("/"))
            os.makedirs(os.path.dirname(www), exist_ok=True)
            with open(www, "wb") as f:
                f.write(data)
        self.port = free_port()
        conf = os.path.join(d, "nginx.conf")
        conns = max(4096, connections + 64)
        # Not above the hard limit, which nginx could not set.
        nofile = min(conns + 128, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(d=d, port=self.port, route=ROUTE, conns=conns,
                                      nofile=nofile))
        self.error_log = os.path.join(d, "error.log")
        super().__init__("nginx", ["nginx", "-p", d + "/", "-e", self.error_log,
                                   "-c", conf],
                         errfile=os.path.join(d, "stderr"))
        if not wait_port(self.port, self):
            tail = self.stderr_tail()
            try:
                with open(self.error_log, errors="replace") as f:
                    tail += "\n" + f.read()[-2000:]
            except OSError:
                pass
            self.stop()
            raise Failed("nginx did not start on 127.0.0.1:%d:\n%s" % (self.port, tail))

    def stop(self, sig=signal.SIGTERM, wait=10):
        super().stop(signal.SIGQUIT if sig == signal.SIGTERM else sig, wait)


# -- wrk -----------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def parse_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


class WrkResult:
    def __init__(self, out):
        self.out = out
        m = re.search(r"Requests/sec:\s*([\d.]+)", out)
        self.rps = float(m.group(1)) if m else None
        self.pct = {}
        for p, v in re.findall(r"^\s*(50|75|90|99)%\s+(\S+)", out, re.M):
            self.pct[int(p)] = parse_ms(v)
        m = re.search(r"^\s*Latency\s+\S+\s+\S+\s+(\S+)", out, re.M)
        self.max_ms = parse_ms(m.group(1)) if m else None
        m = re.search(r"(\d+) requests in", out)
        self.requests = int(m.group(1)) if m else None
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        self.socket_errors = sum(map(int, m.groups())) if m else 0
        # wrk's timeouts: requests without an answer within its --timeout (2 s).
        self.timeouts = int(m.group(4)) if m else 0
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        self.non2xx = int(m.group(1)) if m else 0
        self.errors = self.socket_errors + self.non2xx
        self.cpu = None

    @property
    def ok(self):
        return self.rps is not None and 50 in self.pct and 99 in self.pct


def run_wrk(url, threads, connections, duration, server_pid=None):
    # --timeout 2s (wrk's default, said here): the "requests over 2 s" figure.
    cmd = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration,
           "--timeout", "2s", "--latency", url]
    c0 = cpu_seconds(server_pid) if server_pid else None
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    wall = time.perf_counter() - t0
    r = WrkResult(p.stdout)
    if p.returncode != 0 or not r.ok:
        raise Failed("wrk failed (exit %d): %s %s" % (p.returncode, p.stdout[-1000:],
                                                      p.stderr[-1000:]))
    c1 = cpu_seconds(server_pid) if server_pid else None
    if c0 is not None and c1 is not None:
        r.cpu = (c1 - c0) / wall
    return r


def alternate_wrk(args, servers, path, connections):
    """wrk -c`connections` against each server ({name: Proc with .port}) on
    `path`: an untimed warm-up of each, then --rounds rounds alternating
    (a b, b a, ...). {name: [WrkResult]}."""
    urls = {k: "http://127.0.0.1:%d%s" % (v.port, path) for k, v in servers.items()}
    names = list(servers)
    threads = min(args.threads, connections)
    for name in names:
        if args.warmup > 0:
            run_wrk(urls[name], threads, connections, args.warmup)
    res = {name: [] for name in names}
    for i in range(args.rounds):
        order = names if i % 2 == 0 else names[::-1]
        line = []
        for name in order:
            r = run_wrk(urls[name], threads, connections, args.duration, servers[name].pid)
            res[name].append(r)
            line.append("%s %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors (%d timeouts)"
                        % (name, r.rps, r.pct[50], r.pct[99], r.errors, r.timeouts))
        log("c%d round %d/%d (load %.2f): %s" % (connections, i + 1, args.rounds,
                                                 os.getloadavg()[0], "; ".join(line)))
    return res


def median_of(results, f):
    """Median of f(r) over results, None values left out (None if none)."""
    vals = [v for v in (f(r) for r in results) if v is not None]
    return statistics.median(vals) if vals else None


def tool_version(cmd, pattern):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
        m = re.search(pattern, p.stdout + p.stderr)
        return m.group(1) if m else "?"
    except OSError:
        return "?"


# -- part 1 --------------------------------------------------------------

def part1(args, workdir):
    """(heading, table rows) of the report."""
    log("\n== part 1: wrk, sheetsync vs nginx on the status of a completed sync")
    ss = Sheetsync(args.bin, "file://" + DEMO, os.path.join(workdir, "demo.db"), workdir,
                   # Finished syncs are forgotten after --evict-after (default
                   # 5 min; then 404): keep it for any --duration.
                   ["--evict-after=%ds" % (3600 + 10 * args.rounds * args.duration)])
    sync_id = ss.start_sync()
    final = ss.wait_finished(sync_id, 60)
    if final["status"] != "complete":
        raise Failed("the demo sync ended %s: %s" % (final["status"],
                                                     final.get("error", final.get("message"))))
    path = "%s?syncId=%s" % (ROUTE, sync_id)
    st, hdr, body = request(ss.port, "GET", path)
    if st != 200:
        raise Failed("GET %s answered %d" % (path, st))
    log("sheetsync serve (pid %d) on port %d; sync %s complete; status JSON %d bytes"
        % (ss.pid, ss.port, sync_id, len(body)))
    ng = Nginx(workdir, body)
    st2, hdr2, body2 = request(ng.port, "GET", path)
    if st2 != 200 or body2 != body:
        raise Failed("nginx does not serve the same body (status %d, %d bytes)"
                     % (st2, len(body2)))
    log("nginx (pid %d, one process) on port %d serves the same %d bytes as %s"
        % (ng.pid, ng.port, len(body), hdr2.get("content-type")))
    sizes = {"sheetsync": response_size(ss.port, path), "nginx": response_size(ng.port, path)}

    res = alternate_wrk(args, {"sheetsync": ss, "nginx": ng}, path, args.connections)

    # The same answer at the end (it was not evicted, nothing changed it).
    st3, _, body3 = request(ss.port, "GET", path)
    if st3 != 200 or body3 != body:
        raise Failed("after the runs, sheetsync answered %d with %d bytes (was 200, %d)"
                     % (st3, len(body3), len(body)))
    ss.stop()
    ng.stop()

    def med(name, f):
        return median_of(res[name], f)

    s_rps, n_rps = med("sheetsync", lambda r: r.rps), med("nginx", lambda r: r.rps)
    s50, n50 = med("sheetsync", lambda r: r.pct[50]), med("nginx", lambda r: r.pct[50])
    s99, n99 = med("sheetsync", lambda r: r.pct[99]), med("nginx", lambda r: r.pct[99])
    smax, nmax = med("sheetsync", lambda r: r.max_ms), med("nginx", lambda r: r.max_ms)
    scpu, ncpu = med("sheetsync", lambda r: r.cpu), med("nginx", lambda r: r.cpu)
    per_req = lambda r: None if r.cpu is None else 1e6 * r.cpu / r.rps
    sus, nus = med("sheetsync", per_req), med("nginx", per_req)
    serr = sum(r.errors for r in res["sheetsync"])
    nerr = sum(r.errors for r in res["nginx"])
    sreq = sum(r.requests or 0 for r in res["sheetsync"])
    nreq = sum(r.requests or 0 for r in res["nginx"])

    def ms(x):
        return "n/a" if x is None else "%.2f" % x

    def pct(x):
        return "n/a" if x is None else "%.0f %%" % (100 * x)

    wrk_v = tool_version(["wrk", "--version"], r"wrk\s+(\S+)")
    ng_v = tool_version(["nginx", "-v"], r"nginx/(\S+)")
    rows = [
        ("part 1: GET %s?syncId=<complete>" % ROUTE, ["sheetsync", "nginx %s" % ng_v], ""),
        ("requests/s, median of %d" % args.rounds, ["%.0f" % s_rps, "%.0f" % n_rps],
         "ratio %.2f (target >= 1.00)" % (s_rps / n_rps)),
        ("latency p50 (ms), median", [ms(s50), ms(n50)], ""),
        # Issue 10's target is for 100 connections; from 1,000 issue 15's.
        ("latency p99 (ms), median", [ms(s99), ms(n99)],
         "target <= nginx's" if args.connections >= HISTORY_TIMEOUT_AT
         else "sheetsync target < %.0f ms" % P99_TARGET_MS),
        ("latency max (ms), median", [ms(smax), ms(nmax)], ""),
        ("errors, all rounds", ["%d of %d" % (serr, sreq), "%d of %d" % (nerr, nreq)],
         "socket errors + non-2xx"),
        ("server CPU, median (of one core)", [pct(scpu), pct(ncpu)],
         "utime+stime / wall time"),
        ("server CPU per request (us), median", [ms(sus), ms(nus)],
         "CPU time / requests"),
        ("response bytes (headers + body)", [str(sizes["sheetsync"]), str(sizes["nginx"])],
         "body %d bytes, the same" % len(body)),
    ]
    head = ("wrk %s -t%d -c%d -d%ds --latency, %d round%s alternating; nginx: one "
            "process (master_process off), sheetsync: one broker thread (+ the "
            "coordinator on CAF's scheduler); %d cores, load average %s before"
            % (wrk_v, args.threads, args.connections, args.duration, args.rounds,
               "" if args.rounds == 1 else "s", os.cpu_count(), args.loadavg))
    return head, rows


# -- part 2 --------------------------------------------------------------

def ensure_sheet(rows):
    """Path of the generated sheet of `rows` rows: the same cache and
    generator as bench/run."""
    sys.path.insert(0, BENCH)
    import sync_bench
    return sync_bench.ensure_sheet(rows)


class SheetServer(Proc):
    def __init__(self, directory, mode="chunked"):
        super().__init__("serve.py", [sys.executable, os.path.join(BENCH, "serve.py"),
                                      directory, "--mode", mode],
                         stdout=subprocess.PIPE)
        line = self.p.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise Failed("serve.py did not start (got %r)" % line)
        self.port = int(line.split()[1])


class PollStats:
    def __init__(self):
        self.lat = []          # seconds
        self.late = []         # seconds behind schedule when sent
        self.errors = {}
        self.walls = []        # the syncs' wall times
        self.final = None      # the status JSON that said the sync ended

    def error(self, what):
        self.error_n(what, 1)

    def error_n(self, what, n):
        self.errors[what] = self.errors.get(what, 0) + n


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length, close = 0, False
    for l in lines[1:]:
        name, _, value = l.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    body = await reader.readexactly(length)
    return status, body, close


async def poll_load(port, sync_id, n, interval, max_seconds, stats, req_timeout=5.0,
                    conns=None):
    """n connections, each GET ?syncId= once an interval until the sync ends."""
    loop = asyncio.get_running_loop()
    req = (b"GET %s?syncId=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
           % (ROUTE.encode(), sync_id.encode(), port))
    stop = asyncio.Event()
    t0 = loop.time()
    deadline = t0 + max_seconds

    async def connect():
        return await asyncio.open_connection("127.0.0.1", port)

    async def one(i, conn):
        reader, writer = conn
        k = 0
        start = t0 + interval * i / n
        try:
            while True:
                target = start + k * interval
                now = loop.time()
                if target > now:
                    try:
                        await asyncio.wait_for(stop.wait(), target - now)
                    except asyncio.TimeoutError:
                        pass
                if stop.is_set() or loop.time() > deadline:
                    return
                if writer is None:
                    try:
                        reader, writer = await connect()
                    except OSError as e:
                        stats.error("connect: %s" % type(e).__name__)
                        k += 1
                        continue
                stats.late.append(max(0.0, loop.time() - target))
                t = time.perf_counter()
                try:
                    writer.write(req)
                    status, body, close = await asyncio.wait_for(read_response(reader),
                                                                 req_timeout)
                    stats.lat.append(time.perf_counter() - t)
                    if status != 200:
                        stats.error("HTTP %d" % status)
                    else:
                        st = json.loads(body)
                        if st.get("status") in FINISHED:
                            if stats.final is None:
                                stats.final = st
                            stop.set()
                    if close:
                        stats.error("closed by the server")
                        writer.close()
                        writer = None
                except asyncio.TimeoutError:
                    stats.error("no answer in %.0f s" % req_timeout)
                    writer.close()
                    writer = None
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                        ValueError, IndexError) as e:
                    stats.error(type(e).__name__)
                    writer.close()
                    writer = None
                # Next tick; ticks missed while waiting for an answer are skipped.
                k = max(k + 1, math.ceil((loop.time() - start) / interval))
        finally:
            if writer is not None:
                writer.close()

    await asyncio.gather(*(one(i, c) for i, c in enumerate(conns)))


async def open_conns(port, n):
    conns = []
    for _ in range(n):
        conns.append(await asyncio.open_connection("127.0.0.1", port))
    return conns


async def loaded_sync(ss, args, stats):
    """Opens the pollers' connections, starts the sync, polls it. Returns
    (sync id, pollers' seconds)."""
    conns = await open_conns(ss.port, args.pollers)
    sync_id = ss.start_sync()      # blocks the loop; the connections are idle
    t = time.perf_counter()
    await poll_load(ss.port, sync_id, args.pollers, args.poll_interval, args.poll_max,
                    stats, conns=conns)
    return sync_id, time.perf_counter() - t


def nearest_rank(sorted_vals, p):
    if not sorted_vals:
        return None
    return sorted_vals[max(0, math.ceil(p / 100.0 * len(sorted_vals)) - 1)]


WRK_POLL_LUA = """\
-- bench/http_bench.py: each connection sends one request per INTERVAL ms
-- (delay() is asked before every request, the first included); the first
-- delays spread the connections' phases evenly over one interval.
local interval, per_thread, threads, id, n = 1000, 1, 1, 0, 0
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  interval = tonumber(args[1])
  per_thread = tonumber(args[2])
  threads = tonumber(args[3])
end

function delay()
  n = n + 1
  if n <= per_thread then
    return math.floor(((n - 1) * threads + id) * interval / (per_thread * threads))
  end
  return interval
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("POLL %d %d %d %d %d %d %d\\n", summary.requests,
    summary.duration, e.connect, e.read, e.write, e.status, e.timeout))
  for i = 1, #latency do
    local v, c = latency(i)
    io.write(string.format("LAT %d %d\\n", v, c))
  end
end
"""


def wait_finished_stream(port, sync_id, timeout):
    """Waits on the event stream (one idle connection, no polling) until
    sync_id has ended; its final status, or None after timeout."""
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        s.sendall(b"GET %s/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
                  % (ROUTE.encode(), port))
        buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                raise Failed("the event stream closed before sync %s ended" % sync_id)
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                if line.startswith(b"data:"):
                    st = json.loads(line[5:])
                    if st.get("syncId") == sync_id and st.get("status") in FINISHED:
                        return st


def wrk_poll(ss, args, workdir, stats):
    """The same load as poll_load, from wrk (C): --pollers connections, each
    paced by delay(); wrk is stopped (SIGINT: it then reports) as soon as
    the event stream says the sync has ended. Returns (sync id, seconds
    polled)."""
    script = os.path.join(workdir, "poll.lua")
    if not os.path.exists(script):
        with open(script, "w") as f:
            f.write(WRK_POLL_LUA)
    threads = min(args.threads, args.pollers)
    per_thread = args.pollers // threads      # wrk: whole connections per thread
    interval_ms = int(round(args.poll_interval * 1000))
    sync_id = ss.start_sync()
    url = "http://127.0.0.1:%d%s?syncId=%s" % (ss.port, ROUTE, sync_id)
    cmd = ["wrk", "-t%d" % threads, "-c%d" % (per_thread * threads),
           "-d%ds" % math.ceil(args.poll_max), "--timeout", "5s", "-s", script, url,
           "--", str(interval_ms), str(per_thread), str(threads)]
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stats.final = wait_finished_stream(ss.port, sync_id, args.poll_max)
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    polled = time.perf_counter() - t
    m = re.search(r"^POLL (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.M)
    if not m:
        raise Failed("wrk (poller) failed (exit %s): %s %s"
                     % (p.returncode, out[-1000:], err[-1000:]))
    _, _, conn, read, write, status, timeout = map(int, m.groups())
    for what, n in (("connect", conn), ("read", read), ("write", write),
                    ("HTTP >= 400", status), ("no answer in 5 s", timeout)):
        if n:
            stats.error_n(what, n)
    m2 = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m2 and int(m2.group(1)) > status:
        stats.error_n("HTTP 1xx/3xx", int(m2.group(1)) - status)
    for v, c in re.findall(r"^LAT (\d+) (\d+)$", out, re.M):
        stats.lat.extend([int(v) / 1e6] * int(c))
    return sync_id, polled


def fmt_errors(errors):
    n = sum(errors.values())
    text = "%d" % n
    if n:
        text += " (" + ", ".join("%s: %d" % kv for kv in sorted(errors.items())) + ")"
    return text


def part2(args, workdir):
    """(heading, table rows) of the report."""
    log("\n== part 2: %d pollers during a %d-row sync" % (args.pollers, args.rows))
    sheet = ensure_sheet(args.rows)
    srv = SheetServer(SHEETS)
    url = "http://127.0.0.1:%d/%s" % (srv.port, os.path.basename(sheet))
    # Warm-up: the sheet into the page cache.
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    try:
        c.request("GET", "/" + os.path.basename(sheet))
        r = c.getresponse()
        while r.read(1 << 20):
            pass
    finally:
        c.close()
    ss = Sheetsync(args.bin, url, os.path.join(workdir, "load.db"), workdir,
                   ["--cooldown=1s"])
    log("serve.py (pid %d) serves %s; sheetsync serve (pid %d) on port %d"
        % (srv.pid, rel(sheet), ss.pid, ss.port))

    kinds = ["none"] + args.pollers_kinds
    stats = {k: PollStats() for k in kinds}
    for i in range(args.load_runs):
        order = kinds if i % 2 == 0 else kinds[::-1]
        line = []
        for kind in order:
            st = stats[kind]
            before, errs_before = len(st.lat), sum(st.errors.values())
            st.final = None
            if kind == "none":
                sync_id = ss.start_sync()
                final = ss.wait_finished(sync_id, args.timeout)
            else:
                if kind == "python":
                    sync_id, polled = asyncio.run(loaded_sync(ss, args, st))
                else:
                    sync_id, polled = wrk_poll(ss, args, workdir, st)
                # Past --poll-max (or wrk stopped first): wait for the end, unpolled.
                final = st.final or ss.wait_finished(sync_id, args.timeout)
            if final["status"] != "complete":
                raise Failed("sync %s ended %s: %s" % (sync_id, final["status"],
                                                       final.get("error", final.get("message"))))
            wall = sync_wall(final)
            st.walls.append(wall)
            if kind == "none":
                line.append("no pollers: sync %.2f s" % wall)
            else:
                lat = sorted(st.lat[before:])
                line.append("%s: sync %.2f s, %d requests in %.1f s, %d errors, p99 %.1f ms"
                            % (kind, wall, len(lat), polled,
                               sum(st.errors.values()) - errs_before,
                               1e3 * (nearest_rank(lat, 99) or 0)))
        log("run %d/%d: %s" % (i + 1, args.load_runs, "; ".join(line)))
    rows_cached = ss.rows()
    ss.stop()
    srv.stop()

    def ms(x):
        return "n/a" if x is None else "%.1f" % (1e3 * x)

    names = {"python": "asyncio poller", "wrk": "wrk poller", "none": "no pollers"}
    cols = args.pollers_kinds + ["none"]
    table = [("part 2: %s-row sync" % format(args.rows, ","),
              [names[k] for k in cols], "")]
    pk = args.pollers_kinds

    def row(label, f, note=""):
        table.append((label, [f(k) if k in pk else "" for k in cols], note))

    row("requests (all %d loaded syncs)" % args.load_runs, lambda k: str(len(stats[k].lat)))
    row("errors", lambda k: fmt_errors(stats[k].errors), "target 0")
    for label, p in (("latency p50 (ms)", 50), ("latency p99 (ms)", 99)):
        row(label, lambda k, p=p: ms(nearest_rank(sorted(stats[k].lat), p)),
            "target < %.0f ms" % LOAD_P99_TARGET_MS if p == 99 else "")
    row("latency max (ms)", lambda k: ms(max(stats[k].lat) if stats[k].lat else None))
    table.append(("sync wall time, median (s)",
                  ["%.2f" % statistics.median(stats[k].walls) for k in cols],
                  "finishedAt - startedAt"))
    if "python" in pk:
        late = sorted(stats["python"].late)
        table.append(("client lateness p99 / max (ms)",
                      ["%s / %s" % (ms(nearest_rank(late, 99)), ms(late[-1] if late else None))
                       if k == "python" else "" for k in cols],
                      "asyncio's own delay in sending"))
    table.append(("rows in cache", ["n/a" if rows_cached is None
                                     else format(rows_cached, ",")] + [""] * (len(cols) - 1),
                  "(generated: %s)" % format(args.rows, ",")))
    head = ("%d keep-alive connections, each GET ?syncId=<running> once per %g s until "
            "the sync ends (at most %g s); %d round%s of: %s, alternating; sheet served "
            "by serve.py, chunked; load average %s before"
            % (args.pollers, args.poll_interval, args.poll_max, args.load_runs,
               "" if args.load_runs == 1 else "s",
               ", ".join("a sync with the %s" % names[k] for k in pk) + ", a sync without",
               "%.2f" % os.getloadavg()[0]))
    if rows_cached is not None and rows_cached != args.rows:
        raise Failed("the cache holds %s rows, generated %d" % (rows_cached, args.rows))
    return head, table


# -- the scale cases: memory per connection, the status from the history ------

IDLE_KIB_TARGET = 1.0
STREAM_KIB_TARGET = 2.0
HISTORY_TIMEOUT_AT = 1000     # from this many connections: no request over 2 s


def rss_kib(pid):
    """VmRSS of a process, in KiB."""
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
    if not m:
        raise Failed("no VmRSS in /proc/%d/status" % pid)
    return int(m.group(1))


def raise_own_fd_limit():
    """Soft RLIMIT_NOFILE to the hard one (the servers inherit it); the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft == resource.RLIM_INFINITY or soft >= hard:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def need_fds(n):
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if limit != resource.RLIM_INFINITY and n + 256 > limit:
        raise Failed("%d connections need a file descriptor limit above %d; this script's is "
                     "%d: raise the hard limit (ulimit -Hn, as root)" % (n, n + 256, limit))


def answered(buf, until):
    """True once buf holds what `until` waits for: "head" (the response
    headers) or "answer" (headers and a Content-Length body)."""
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return False
    if not head.startswith(b"HTTP/1.1 200"):
        raise Failed("answered %r" % head.split(b"\r\n", 1)[0].decode("latin-1"))
    if until == "head":
        return True
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return len(body) >= (int(m.group(1)) if m else 0)


def hold_connections(port, n, request, until, window=256, timeout=120):
    """n connections to 127.0.0.1:port, each sent `request` once; returns
    the open sockets once each got what `until` names ("answer", "head", or
    None: nothing, the request is left pending). Non-blocking, `window`
    connections in flight at a time so the listen queue never overflows
    (a dropped SYN costs a 1 s retransmit)."""
    sel = selectors.DefaultSelector()
    held, bufs, started = [], {}, 0
    deadline = time.monotonic() + timeout
    try:
        while len(held) < n:
            while started < n and started - len(held) < window:
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", port))
                sel.register(s, selectors.EVENT_WRITE, "connect")
                started += 1
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failed("%d of %d connections done after %d s" % (len(held), n, timeout))
            for key, _ in sel.select(left):
                s = key.fileobj
                if key.data == "connect":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise Failed("connection %d: %s" % (len(held) + 1, os.strerror(err)))
                    s.send(request)     # a few bytes: the send buffer takes them
                    if until is None:
                        sel.unregister(s)
                        held.append(s)
                    else:
                        sel.modify(s, selectors.EVENT_READ, "read")
                        bufs[s] = b""
                    continue
                chunk = s.recv(65536)
                if not chunk:
                    raise Failed("the server closed connection %d before answering"
                                 % (len(held) + 1))
                bufs[s] += chunk
                try:
                    done = answered(bufs[s], until)
                except Failed as e:
                    raise Failed("connection %d %s" % (len(held) + 1, e))
                if done:
                    sel.unregister(s)
                    del bufs[s]
                    held.append(s)
    except BaseException:
        for s in held + list(bufs):
            s.close()
        raise
    finally:
        sel.close()
    return held


class Held:
    """What opening connections cost a server: RSS and CPU before and after."""

    def __init__(self, server, n, request, until, settle):
        pid = server.pid
        self.n = n
        self.before = rss_kib(pid)
        c0, t0 = cpu_seconds(pid), time.perf_counter()
        socks = hold_connections(server.port, n, request, until)
        self.open_s = time.perf_counter() - t0
        # The server may still be reading the last requests (a pending one
        # gets no answer to wait for).
        time.sleep(settle)
        self.after = rss_kib(pid)
        c1 = cpu_seconds(pid)
        self.cpu = None if c0 is None or c1 is None else c1 - c0
        self.load = os.getloadavg()[0]
        alive = server.p.poll() is None
        for s in socks:
            s.close()
        if not alive:
            raise Failed("%s exited while holding %d connections" % (server.name, n))

    @property
    def per_conn(self):
        return (self.after - self.before) / self.n


def healthz_request(port):
    return b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port


# What each case opens, on sheetsync and on nginx (which has no event
# stream: its reference is a request left pending, headers unfinished, which
# it must hold with its request buffer, as sheetsync holds a stream).
MEMORY_CASES = {
    "idle": ("idle keep-alive connections, each after one GET /healthz",
             lambda port: (healthz_request(port), "answer"),
             lambda port: (healthz_request(port), "answer"),
             IDLE_KIB_TARGET),
    "streams": ("open event streams (GET %s/events, head read); nginx: as many "
                "requests left pending (headers unfinished)" % ROUTE,
                lambda port: (b"GET %s/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
                              % (ROUTE.encode(), port), "head"),
                lambda port: (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port,
                              None),
                STREAM_KIB_TARGET),
}


def part_memory(args, workdir, case):
    """(heading, table rows) of one memory case: a fresh sheetsync, then a
    fresh nginx, each given `n` connections."""
    title, ss_req, ng_req, target = MEMORY_CASES[case]
    n = getattr(args, case)
    log("\n== %s: %d %s" % (case, n, title))
    need_fds(n)
    ss = Sheetsync(args.bin, "file://" + DEMO, os.path.join(workdir, "%s.db" % case), workdir,
                   ["--max-connections=%d" % (n + 64)])
    try:
        s = Held(ss, n, *ss_req(ss.port), args.settle)
    finally:
        ss.stop()
    ng = Nginx(workdir, b"{}\n", connections=n)
    try:
        g = Held(ng, n, *ng_req(ng.port), args.settle)
    finally:
        ng.stop()
    for name, h in (("sheetsync", s), ("nginx", g)):
        log("%s: %d connections in %.1f s, RSS %.1f -> %.1f MiB, %.2f KiB each, "
            "CPU %.2f s, load %.2f" % (name, n, h.open_s, h.before / 1024, h.after / 1024,
                                       h.per_conn, h.cpu or 0, h.load))

    def both(f):
        return [f(s), f(g)]

    ng_v = tool_version(["nginx", "-v"], r"nginx/(\S+)")
    rows = [
        ("%s: %s connections" % (case, format(n, ",")), ["sheetsync", "nginx %s" % ng_v], ""),
        ("RSS growth per connection (KiB)", both(lambda h: "%.2f" % h.per_conn),
         "sheetsync target <= %g KiB" % target),
        ("RSS before -> after (MiB)",
         both(lambda h: "%.1f -> %.1f" % (h.before / 1024, h.after / 1024)), "VmRSS"),
        ("time to open all (s)", both(lambda h: "%.1f" % h.open_s),
         "%d in flight at a time" % 256),
        ("server CPU while opening (s)",
         both(lambda h: "n/a" if h.cpu is None else "%.2f" % h.cpu), "utime+stime"),
        ("load average after opening", both(lambda h: "%.2f" % h.load), ""),
    ]
    head = ("%s %s, measured %g s after the last one, then closed; a fresh server "
            "each; %d cores, load average %.2f before"
            % (format(n, ","), title, args.settle, os.cpu_count(), args.case_load))
    return head, rows


def part_history(args, workdir):
    """(heading, table rows): wrk on the status of a sync that sheetsync
    knows only from its history (synced, then restarted on the same cache),
    beside nginx serving the same JSON, at each --history-connections."""
    conns = args.history_connections
    log("\n== history: wrk at %s connections on the status of a sync only in the history"
        % ", ".join(map(str, conns)))
    need_fds(max(conns))
    db = os.path.join(workdir, "history.db")
    first = Sheetsync(args.bin, "file://" + DEMO, db, workdir)
    try:
        sync_id = first.start_sync()
        final = first.wait_finished(sync_id, 60)
    finally:
        first.stop()
    if final["status"] != "complete":
        raise Failed("the demo sync ended %s" % final["status"])
    ss = Sheetsync(args.bin, "file://" + DEMO, db, workdir,
                   ["--max-connections=%d" % (max(conns) + 64)])
    path = "%s?syncId=%s" % (ROUTE, sync_id)
    st, _, body = request(ss.port, "GET", path)
    if st != 200 or json.loads(body).get("status") != "complete":
        raise Failed("after the restart GET %s answered %d: %s"
                     % (path, st, body[:300].decode("utf-8", "replace")))
    ng = Nginx(workdir, body, connections=max(conns))
    log("sheetsync serve (pid %d) restarted on the cache of sync %s; nginx (pid %d) "
        "serves its %d bytes" % (ss.pid, sync_id, ng.pid, len(body)))
    results = {c: alternate_wrk(args, {"sheetsync": ss, "nginx": ng}, path, c) for c in conns}
    st3, _, body3 = request(ss.port, "GET", path)
    ss.stop()
    ng.stop()
    if st3 != 200 or body3 != body:
        raise Failed("after the runs sheetsync answered %d with %d bytes (was 200, %d)"
                     % (st3, len(body3), len(body)))

    ng_v = tool_version(["nginx", "-v"], r"nginx/(\S+)")
    rows = [("history: GET %s?syncId=<only in the history>" % ROUTE,
             ["sheetsync", "nginx %s" % ng_v], "")]

    def fmt(x, f="%.2f"):
        return "n/a" if x is None else f % x

    for c in conns:
        res = results[c]

        def med(f):
            return [median_of(res["sheetsync"], f), median_of(res["nginx"], f)]

        rps, p99 = med(lambda r: r.rps), med(lambda r: r.pct[99])
        total = lambda name, f: sum(f(r) for r in res[name])
        rows += [
            ("c%d requests/s, median" % c, [fmt(x, "%.0f") for x in rps],
             "ratio %.2f (target >= 1.00)" % (rps[0] / rps[1])),
            ("c%d latency p99 (ms), median" % c, [fmt(x) for x in p99],
             "target <= nginx's" if c >= HISTORY_TIMEOUT_AT else ""),
            ("c%d latency max (ms), median" % c,
             [fmt(x) for x in med(lambda r: r.max_ms)], ""),
            ("c%d requests over 2 s, all rounds" % c,
             [str(total(k, lambda r: r.timeouts)) for k in ("sheetsync", "nginx")],
             "wrk's timeouts" + ("; target 0" if c >= HISTORY_TIMEOUT_AT else "")),
            ("c%d errors, all rounds" % c,
             ["%d of %d" % (total(k, lambda r: r.errors), total(k, lambda r: r.requests or 0))
              for k in ("sheetsync", "nginx")], "socket errors + non-2xx"),
            ("c%d server CPU, median (of one core)" % c,
             [fmt(None if x is None else 100 * x, "%.0f %%") for x in med(lambda r: r.cpu)],
             "utime+stime / wall time"),
        ]
    rows.append(("load average after the runs", ["%.2f" % os.getloadavg()[0], ""], ""))
    head = ("wrk -t%d -d%ds --latency --timeout 2s, %d round%s alternating at each of -c%s; "
            "sheetsync restarted on the cache, so the sync is only in its history; nginx one "
            "process; %d cores, load average %.2f before"
            % (args.threads, args.duration, args.rounds, "" if args.rounds == 1 else "s",
               ", -c".join(map(str, conns)), os.cpu_count(), args.case_load))
    return head, rows


# -- main ----------------------------------------------------------------

def seconds(text):
    m = re.fullmatch(r"(\d+)(s|m)?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError("a duration like 10s or 1m, got %r" % text)
    return int(m.group(1)) * (60 if m.group(2) == "m" else 1)


CASES = ("status", "load", "idle", "streams", "history")


def case_list(text):
    cases = CASES if text.strip() == "all" else [c.strip() for c in text.split(",")]
    unknown = [c for c in cases if c not in CASES]
    if unknown or not cases:
        raise argparse.ArgumentTypeError("cases are %s or all, got %r" % (",".join(CASES), text))
    return [c for c in CASES if c in cases]


def connection_counts(text):
    try:
        return [int(c) for c in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("counts like 100,1000, got %r" % text)


def print_table(head, rows):
    """rows: (label, [cell, ...], note)."""
    print()
    print(head)
    w = max(len(r[0]) for r in rows) + 1
    cw = [max(len(r[1][i]) for r in rows if i < len(r[1])) + 2
          for i in range(max(len(r[1]) for r in rows))]
    for label, cells, note in rows:
        line = "%-*s" % (w, label) + "".join("%-*s" % (cw[i], c) for i, c in enumerate(cells))
        print((line + " " + note).rstrip())
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(
        description="Benchmarks sheetsync's status route against nginx, then under load.")
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "sheetsync"),
                    help="the sheetsync binary (default build/sheetsync)")
    g = ap.add_argument_group("part 1 (wrk vs nginx)")
    g.add_argument("--duration", type=seconds, default=10, help="per wrk run (default 10s)")
    g.add_argument("--connections", type=int, default=100, help="wrk -c (default 100)")
    g.add_argument("--threads", type=int, default=2, help="wrk -t (default 2)")
    g.add_argument("--rounds", type=int, default=3,
                   help="wrk runs of each, alternating (default 3)")
    g.add_argument("--warmup", type=seconds, default=1,
                   help="untimed wrk run of each first (default 1s; 0: none)")
    g.add_argument("--skip-static", action="store_true", help="skip part 1")
    g = ap.add_argument_group("part 2 (pollers during a sync)")
    g.add_argument("--rows", type=int, default=1000000, help="sheet rows (default 1000000)")
    g.add_argument("--pollers", type=int, default=200, help="connections (default 200)")
    g.add_argument("--poll-interval", type=float, default=1.0,
                   help="seconds between two requests of a connection (default 1)")
    g.add_argument("--poll-max", type=float, default=30.0,
                   help="stop polling after this many seconds (default 30)")
    g.add_argument("--load-runs", type=int, default=3,
                   help="rounds of: a sync per poller, one without (default 3)")
    g.add_argument("--timeout", type=int, default=600,
                   help="seconds a sync may take before the benchmark gives up (default 600)")
    g.add_argument("--poller", choices=["both", "python", "wrk"], default="both",
                   help="who polls: the asyncio poller, wrk with a pacing script, or "
                        "both, in turns (default both)")
    g.add_argument("--skip-load", action="store_true", help="skip part 2")
    g = ap.add_argument_group("the scale cases (each beside nginx)")
    g.add_argument("--cases", type=case_list, default="status,load",
                   help="comma-separated, in this order: status (part 1), load (part 2), "
                        "idle (RSS per idle keep-alive connection), streams (RSS per open "
                        "event stream), history (wrk on the status of a sync only in the "
                        "history); or all (default: status,load)")
    g.add_argument("--idle", type=int, default=10000,
                   help="idle connections of the idle case (default 10000)")
    g.add_argument("--streams", type=int, default=10000,
                   help="event streams of the streams case (default 10000)")
    g.add_argument("--history-connections", type=connection_counts, default=[100, 1000],
                   help="wrk -c of the history case, comma-separated (default 100,1000); "
                        "its rounds, duration, threads and warm-up are part 1's")
    g.add_argument("--settle", type=float, default=1.0,
                   help="seconds between the last connection and reading RSS (default 1)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the scratch directory (databases, nginx config, logs)")
    args = ap.parse_args()
    if min(args.duration, args.connections, args.threads, args.rounds, args.rows,
           args.pollers, args.load_runs, args.idle, args.streams,
           *args.history_connections) < 1 or args.poll_interval <= 0 or args.settle < 0:
        ap.error("counts and durations must be positive")
    if args.skip_static and "status" in args.cases:
        args.cases.remove("status")
    if args.skip_load and "load" in args.cases:
        args.cases.remove("load")
    if args.threads > args.connections:
        ap.error("--threads must not exceed --connections")

    if not (os.path.isfile(args.bin) and os.access(args.bin, os.X_OK)):
        log("http_bench: %s not found or not executable: build it first (scripts/build) "
            "or pass --bin" % args.bin)
        return 2
    status = 0
    if not shutil.which("nginx") and os.access("/usr/sbin/nginx", os.X_OK):
        os.environ["PATH"] += ":/usr/sbin"
    missing = [t for t in ("wrk", "nginx") if not shutil.which(t)]
    if missing:
        log("http_bench: %s not found: install the Debian package%s %s "
            "(apt-get install %s; scripts/install-deps)"
            % (" and ".join(missing), "s" if len(missing) > 1 else "",
               " and ".join(missing), " ".join(missing)))
        status = 2
    # Every case but part 2 compares with nginx; history and part 1 run wrk.
    for case in [c for c in args.cases if c != "load"]:
        if "nginx" in missing or (case in ("status", "history") and "wrk" in missing):
            args.cases.remove(case)
            log("http_bench: skipping the %s case" % case)
    args.pollers_kinds = {"both": ["python", "wrk"], "python": ["python"],
                          "wrk": ["wrk"]}[args.poller]
    if "wrk" in missing and "wrk" in args.pollers_kinds:
        args.pollers_kinds.remove("wrk")
        log("http_bench: part 2 without the wrk poller")
        if not args.pollers_kinds and "load" in args.cases:
            args.cases.remove("load")
    args.loadavg = "%.2f" % os.getloadavg()[0]
    # Thousands of sockets here, and in the servers and wrk, which inherit it.
    raise_own_fd_limit()

    # SIGTERM/SIGHUP end the script like Ctrl-C: the finally below cleans up.
    def on_signal(sig, _frame):
        raise KeyboardInterrupt("signal %d" % sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    # Ctrl-C too, even where SIGINT came ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)

    os.makedirs(OUT, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="http.", dir=OUT)
    tables = []
    try:
        for case in args.cases:
            args.case_load = os.getloadavg()[0]
            if case == "status":
                tables.append(part1(args, workdir))
            elif case == "load":
                tables.append(part2(args, workdir))
            elif case == "history":
                tables.append(part_history(args, workdir))
            else:
                tables.append(part_memory(args, workdir, case))
    except Failed as e:
        log("\nhttp_bench: %s" % e)
        for p in Proc.running:
            tail = p.stderr_tail()
            if tail:
                log("%s stderr:\n%s" % (p.name, tail))
        status = 1
    except KeyboardInterrupt:
        log("\nhttp_bench: interrupted; stopping the servers")
        status = 130
    finally:
        Proc.stop_all()
        if args.keep:
            log("scratch files kept in %s" % rel(workdir))
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    for head, rows in tables:
        print_table(head, rows)
    return status


if __name__ == "__main__":
    sys.exit(main())
