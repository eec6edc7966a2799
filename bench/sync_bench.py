#!/usr/bin/env python3
"""sheetsync benchmark: sheetsync sync vs curl + sqlite3 .import.

    bench/run [--rows N] [--runs K] [--sources http,file] [--skip-large]
              [--allow-load] [--profile] [--out DIR] ...

1. Generates the sheet (bench/make_sheet.py; cached as
   OUT/sheets/sheet-N.csv, remade when make_sheet.py changes; OUT is
   bench/out unless --out) and, for the http source, serves it on 127.0.0.1
   with bench/serve.py (by default without a Content-Length, chunked, like
   Google's CSV export).
2. For each source, times K pairs, alternating (a b, b a, a b, ...), of
     (a) build/sheetsync sync --source=URL --db=OUT/s.db --name=sheet
         (the db deleted before each run; its stdout discarded)
     (b) http: curl -s URL -o f.csv && sqlite3 f.db ".import --csv f.csv t"
         file: sqlite3 f.db ".import --csv SHEET t" (the file alone)
         (fresh f.csv and f.db each run, in OUT/baseline/)
   waiting up to --settle seconds before each pair for the 1-minute load
   average to fall to --max-load, and printing it. Reports the median
   wall and CPU (user + sys, from wait4) of both sides and their ratios
   (targets: wall <= 0.6, CPU <= 1.0), rows/s and the peak RSS (ru_maxrss,
   taken by GNU time: see run(); target <= 64 MiB). A ratio is withheld
   when the load average before any pair was above --max-load (1.0): on a
   loaded machine the two sides slow down unequally. --allow-load reports
   it anyway, marked as loaded.
3. Checks once per source that the cache holds as many rows as the
   baseline (SELECT count(*)) and as were generated.
4. Runs sheetsync on a 4x larger sheet for its peak RSS (target: the same
   64 MiB); --skip-large omits it.
5. --profile: one more sheetsync run per source under perf record, and the
   top of its report.

Exit status: 0 when every sheetsync run succeeded and the row counts agree,
1 when sheetsync failed or the counts differ, 2 when build/sheetsync is
missing (after timing the baseline anyway) or a tool is missing. Timings
are reported, never asserted.
"""
import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, "out")

TIME = "/usr/bin/time"     # GNU time (Debian package "time")
RATIO_TARGET = 0.6
CPU_RATIO_TARGET = 1.0
RSS_TARGET_MIB = 64.0


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def rel(path):
    return os.path.relpath(path, REPO)


# -- the sheet -----------------------------------------------------------

def ensure_sheet(rows, sheets_dir):
    """Path of the generated sheet of `rows` rows, made if missing/stale."""
    os.makedirs(sheets_dir, exist_ok=True)
    path = os.path.join(sheets_dir, "sheet-%d.csv" % rows)
    gen = os.path.join(BENCH, "make_sheet.py")
    if os.path.exists(path) and os.path.getmtime(path) >= os.path.getmtime(gen):
        log("sheet: %s (cached)" % rel(path))
        return path
    log("sheet: generating %s ..." % rel(path))
    t = time.perf_counter()
    subprocess.run([sys.executable, gen, "--rows", str(rows), "--out", path],
                   check=True)
    log("sheet: generated in %.1f s" % (time.perf_counter() - t))
    return path


class Server:
    def __init__(self, directory, mode):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(BENCH, "serve.py"), directory,
             "--mode", mode],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise SystemExit("sync_bench: serve.py did not start (got %r)" % line)
        self.port = int(line.split()[1])

    def url(self, path):
        return "http://127.0.0.1:%d/%s" % (self.port, os.path.basename(path))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- running and measuring ----------------------------------------------

class Result:
    """One run: exit code, wall seconds, user and system CPU seconds, peak
    RSS (KiB) and stderr. Results of several commands run one after the other
    add up (wall, CPU) or take the larger (RSS)."""

    def __init__(self, rc, wall, maxrss_kib, err, user=0.0, sys_=0.0):
        self.rc, self.wall, self.maxrss_kib, self.err = rc, wall, maxrss_kib, err
        self.user, self.sys = user, sys_

    @property
    def rss_mib(self):
        return self.maxrss_kib / 1024.0

    @property
    def cpu(self):
        return self.user + self.sys

    def then(self, b):
        return Result(b.rc, self.wall + b.wall, max(self.maxrss_kib, b.maxrss_kib),
                      self.err + b.err, self.user + b.user, self.sys + b.sys)


def run(cmd, timeout, stdout=subprocess.DEVNULL, out_dir=None):
    """Runs cmd: its wall time, exit code, stderr, CPU time and peak RSS.

    The peak RSS is the child's ru_maxrss as wait4(2) returns it, but taken
    by GNU time (/usr/bin/time -f %M), not by os.wait4 here: Linux carries
    the high-water RSS of the process that exec()s into the new program
    (signal->maxrss), and a child of this script starts as a (v)fork of
    Python, so os.wait4 would report at least this script's own RSS (~14 MiB
    measured for /bin/true; more if the script grows). GNU time's own floor
    is ~1 MiB. User and system CPU (%U %S) come from the same wait4: the
    command and the children it waited for. Its exit status is the
    command's, or 128+N if signal N.
    """
    with tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", prefix="rss.", dir=out_dir or OUT) as rss:
        argv = [TIME, "-q", "-f", "%M %U %S", "-o", rss.name] + cmd
        t0 = time.perf_counter()
        # A session of its own, so that a timeout kills GNU time and the
        # command (and anything the command started) together.
        p = subprocess.Popen(argv, stdout=stdout, stderr=err, cwd=REPO,
                             start_new_session=True)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            rc = p.wait()
        wall = time.perf_counter() - t0
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
        if wall >= timeout:
            text += "\n(killed after the %d s timeout)" % timeout
            rc = rc or 124
        # The last line is ours; a command killed by a signal gets a
        # "Command terminated by signal" line before it.
        fields = (rss.read().strip().splitlines() or [""])[-1].split()
        try:
            maxrss, user, sys_ = int(fields[0]), float(fields[1]), float(fields[2])
        except (IndexError, ValueError):
            maxrss, user, sys_ = 0, 0.0, 0.0
        return Result(rc, wall, maxrss, text, user, sys_)


def remove(*paths):
    for p in paths:
        for q in (p, p + "-wal", p + "-shm", p + "-journal"):
            try:
                os.remove(q)
            except FileNotFoundError:
                pass


def settle():
    """Untimed: flush the previous run's dirty pages so that their writeback
    does not land in the next run's time."""
    os.sync()
    time.sleep(0.2)


def run_sheetsync(binary, url, db, timeout, out_dir):
    remove(db)
    settle()
    return run([binary, "sync", "--source=" + url, "--db=" + db, "--name=sheet"],
               timeout, out_dir=out_dir)


def run_baseline(url, path, timeout, base_dir):
    """curl URL -o f.csv && sqlite3 .import f.csv; with url None, the import
    of `path` alone (the baseline of a file:// source)."""
    os.makedirs(base_dir, exist_ok=True)
    csv, db = os.path.join(base_dir, "f.csv"), os.path.join(base_dir, "f.db")
    remove(csv, db)
    settle()
    a = Result(0, 0.0, 0, "")
    if url is not None:
        a = run(["curl", "-sS", "--fail", url, "-o", csv], timeout, out_dir=base_dir)
        if a.rc != 0:
            return a
        path = csv
    b = run(["sqlite3", db, ".import --csv %s t" % path], timeout, out_dir=base_dir)
    # .import reports bad rows on stderr but still exits 0: keep them.
    return a.then(b)


def load_average():
    """The 1-minute load average (None where /proc/loadavg is missing)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def wait_for_quiet(max_load, seconds):
    """Waits up to `seconds` for the 1-minute load average to fall to
    max_load (the runs themselves raise it: without a pause every pair after
    the first starts loaded), and returns the load it ends with."""
    load = load_average()
    deadline = time.monotonic() + seconds
    while load is not None and load > max_load and time.monotonic() < deadline:
        time.sleep(2)
        load = load_average()
    return load


def count_rows(db, table):
    """(count, None) or (None, why)."""
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    except sqlite3.Error as e:
        return None, "cannot open %s: %s" % (rel(db), e)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table','view')")]
        if table not in tables:
            return None, "%s has no table %r (tables: %s)" % (
                rel(db), table, ", ".join(tables) or "none")
        return con.execute('SELECT count(*) FROM "%s"' % table).fetchone()[0], None
    except sqlite3.Error as e:
        return None, "%s: %s" % (rel(db), e)
    finally:
        con.close()


def fail_sheetsync(res, what):
    log("\nsync_bench: sheetsync failed on %s (exit %s, %.2f s). Its stderr:"
        % (what, res.rc, res.wall))
    tail = res.err.strip().splitlines()[-30:]
    log("\n".join("  " + l for l in tail) if tail else "  (empty)")


def tool_version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True).stdout
        return out.split()[1] if cmd[0] == "curl" else out.split()[0]
    except (OSError, IndexError):
        return "?"


# -- main ---------------------------------------------------------------

def median(xs):
    return statistics.median(xs) if xs else None


def profile(binary, url, db, timeout, out_dir):
    """One extra sheetsync run under perf record; the top of its report."""
    if not shutil.which("perf"):
        return "perf not found: no profile (apt-get install linux-perf)"
    data = os.path.join(out_dir, "perf.data")
    remove(db)
    r = run(["perf", "record", "-q", "-g", "-F", "499", "-o", data, "--",
             binary, "sync", "--source=" + url, "--db=" + db, "--name=sheet"],
            timeout, out_dir=out_dir)
    if r.rc != 0:
        return "perf record failed (exit %d): %s" % (r.rc, r.err.strip()[-300:])
    rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                          "--sort", "dso,symbol", "--percent-limit", "1.5", "-g", "none"],
                         capture_output=True, text=True)
    lines = [l for l in rep.stdout.splitlines() if l.strip() and not l.startswith("#")]
    return "\n".join("  " + l for l in lines[:30]) or "  (empty report)"


def main():
    ap = argparse.ArgumentParser(
        description="Times sheetsync sync against curl + sqlite3 .import.")
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sources", default="http,file",
                    help="comma-separated: http (served by serve.py, against curl + "
                         "sqlite3 .import) and/or file (a file:// URL, against sqlite3 "
                         ".import of the file alone); default %(default)s")
    ap.add_argument("--large-factor", type=int, default=4,
                    help="the large sheet has this many times --rows rows (default 4)")
    ap.add_argument("--large-runs", type=int, default=1)
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--baseline-only", action="store_true",
                    help="time the baseline only (no build/sheetsync needed)")
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "sheetsync"))
    ap.add_argument("--serve-mode", choices=["length", "chunked", "close"],
                    default="chunked",
                    help="how serve.py delimits the body (default chunked, "
                         "i.e. no Content-Length, like Google)")
    ap.add_argument("--timeout", type=int, default=900,
                    help="seconds before a run is killed (default 900)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the databases and f.csv in the out directory afterwards")
    ap.add_argument("--out", default=OUT,
                    help="scratch directory: sheets, databases (default bench/out)")
    ap.add_argument("--max-load", type=float, default=1.0,
                    help="highest 1-minute load average before a pair at which "
                         "ratios are reported (default %(default)s)")
    ap.add_argument("--settle", type=float, default=90,
                    help="seconds to wait before each pair for the load average "
                         "to fall to --max-load (default 90; 0 does not wait)")
    ap.add_argument("--allow-load", action="store_true",
                    help="report ratios even when the load average was above "
                         "--max-load (they are marked as loaded)")
    ap.add_argument("--profile", action="store_true",
                    help="after the timed runs, one sheetsync run per source under "
                         "perf record, and the top of its report")
    args = ap.parse_args()
    if args.runs < 1 or args.rows < 1:
        ap.error("--rows and --runs must be >= 1")
    sources = [x.strip() for x in args.sources.split(",") if x.strip()]
    if not sources or any(x not in ("http", "file") for x in sources):
        ap.error("--sources takes http and/or file")

    for tool in ("curl", "sqlite3"):
        if not shutil.which(tool):
            log("sync_bench: %s not found: install it (apt-get install %s)" % (tool, tool))
            return 2

    if not os.access(TIME, os.X_OK):
        log("sync_bench: %s (GNU time, for the peak RSS and CPU) not found: "
            "apt-get install time" % TIME)
        return 2

    have_bin = os.access(args.bin, os.X_OK) and os.path.isfile(args.bin)
    do_sync = not args.baseline_only
    if do_sync and not have_bin:
        log("sync_bench: %s not found or not executable: build it first "
            "(scripts/build). Timing the baseline only." % rel(args.bin))
        do_sync = False
    missing_bin = not args.baseline_only and not have_bin

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    sheets_dir = os.path.join(out, "sheets")
    base_dir = os.path.join(out, "baseline")
    sheet = ensure_sheet(args.rows, sheets_dir)
    large = None
    if do_sync and not args.skip_large:
        large = ensure_sheet(args.rows * args.large_factor, sheets_dir)
    sdb = os.path.join(out, "s.db")

    server = Server(sheets_dir, args.serve_mode) if "http" in sources else None
    status = 0
    results = {}   # source -> dict(sync=[], base=[], loads=[], counts...)
    profiles = {}
    try:
        def url_of(source, path):
            return server.url(path) if source == "http" else "file://" + path

        if server:
            url = server.url(sheet)
            log("serving %s at %s (%s)" % (rel(sheets_dir), url,
                                           {"chunked": "chunked, no Content-Length",
                                            "close": "no Content-Length, close",
                                            "length": "Content-Length"}[args.serve_mode]))
            # Warm-up: the served file into the page cache, curl's code into memory.
            w = run(["curl", "-sS", "--fail", url, "-o", os.devnull], args.timeout,
                    out_dir=out)
            if w.rc != 0:
                log("sync_bench: fetching %s failed: %s" % (url, w.err.strip()))
                return 2

        for source in sources:
            res = results[source] = {"sync": [], "base": [], "loads": [],
                                     "sync_count": None, "base_count": None,
                                     "note": "", "large": [], "large_count": None}
            url = url_of(source, sheet)
            for i in range(args.runs):
                order = ["a", "b"] if i % 2 == 0 else ["b", "a"]
                load = wait_for_quiet(args.max_load, args.settle)
                res["loads"].append(load)
                line = []
                for which in order:
                    if which == "a":
                        if not do_sync:
                            continue
                        r = run_sheetsync(args.bin, url, sdb, args.timeout, out)
                        if r.rc != 0:
                            fail_sheetsync(r, "%s run %d" % (source, i + 1))
                            return 1
                        res["sync"].append(r)
                        line.append("sheetsync %.2f s wall, %.2f s CPU, %.1f MiB"
                                    % (r.wall, r.cpu, r.rss_mib))
                        if res["sync_count"] is None:
                            res["sync_count"], why = count_rows(sdb, "sheet")
                            if why:
                                res["note"] = why
                    else:
                        r = run_baseline(url if source == "http" else None, sheet,
                                         args.timeout, base_dir)
                        if r.rc != 0:
                            log("sync_bench: the baseline failed (exit %d): %s"
                                % (r.rc, r.err.strip()))
                            return 2
                        res["base"].append(r)
                        line.append("baseline %.2f s wall, %.2f s CPU" % (r.wall, r.cpu))
                        if res["base_count"] is None:
                            res["base_count"], why = count_rows(
                                os.path.join(base_dir, "f.db"), "t")
                            if why:
                                log("sync_bench: baseline: " + why)
                                return 2
                            if r.err.strip():
                                log("sync_bench: sqlite3 .import said: " + r.err.strip()[:500])
                log("%s run %d/%d (load %s): %s"
                    % (source, i + 1, args.runs, fmt_load(load), "; ".join(line)))

            if large:
                lurl = url_of(source, large)
                if source == "http":
                    run(["curl", "-sS", "--fail", lurl, "-o", os.devnull], args.timeout,
                        out_dir=out)
                for i in range(args.large_runs):
                    r = run_sheetsync(args.bin, lurl, sdb, args.timeout, out)
                    if r.rc != 0:
                        fail_sheetsync(r, "the %dx sheet (%s)" % (args.large_factor, source))
                        status = 1
                        break
                    res["large"].append(r)
                    log("%s %dx run %d/%d: sheetsync %.2f s wall, %.2f s CPU, %.1f MiB"
                        % (source, args.large_factor, i + 1, args.large_runs, r.wall,
                           r.cpu, r.rss_mib))
                    if res["large_count"] is None:
                        res["large_count"], why = count_rows(sdb, "sheet")
                        if why:
                            log("sync_bench: %dx sheet: %s" % (args.large_factor, why))
            if args.profile and do_sync:
                profiles[source] = profile(args.bin, url, sdb, args.timeout, out)
    finally:
        if server:
            server.stop()
        if not args.keep:
            remove(sdb, os.path.join(base_dir, "f.db"), os.path.join(base_dir, "f.csv"))

    # -- report ----------------------------------------------------------
    size_mb = os.path.getsize(sheet) / 1e6
    na = "n/a"

    def fmt(x, f="%.2f"):
        return na if x is None else f % x

    print()
    print("baseline: curl %s, sqlite3 %s; http server: serve.py --mode %s; "
          "%d run%s each, alternating; sheet: %d rows, %.1f MB"
          % (tool_version(["curl", "--version"]), tool_version(["sqlite3", "--version"]),
             args.serve_mode, args.runs, "" if args.runs == 1 else "s", args.rows, size_mb))
    W = 34
    for source in sources:
        res = results[source]
        sync_res, base_res = res["sync"], res["base"]
        loads = [x for x in res["loads"] if x is not None]
        max_load = max(loads) if loads else None
        loaded = max_load is None or max_load > args.max_load
        base_name = ("curl + sqlite3 .import" if source == "http"
                     else "sqlite3 .import of the file")
        rows = [("%s source" % source, "sheetsync", "baseline", "(%s)" % base_name)]
        sw, bw = median([r.wall for r in sync_res]), median([r.wall for r in base_res])
        sc, bc = median([r.cpu for r in sync_res]), median([r.cpu for r in base_res])

        def ratio(a, b, target):
            if a is None or not b:
                return ""
            if loaded and not args.allow_load:
                return "ratio withheld: load %s > %.1f (--allow-load)" % (
                    fmt_load(max_load), args.max_load)
            return "ratio %.2f (target <= %.2f)%s" % (
                a / b, target, " LOADED (%s): not comparable" % fmt_load(max_load)
                if loaded else "")

        rows.append(("wall, median of %d (s)" % args.runs, fmt(sw), fmt(bw),
                     ratio(sw, bw, RATIO_TARGET)))
        rows.append(("CPU user+sys, median (s)", fmt(sc), fmt(bc),
                     ratio(sc, bc, CPU_RATIO_TARGET)))
        rows.append(("rows/s (wall)", fmt(sw and args.rows / sw, "%.0f"),
                     fmt(bw and args.rows / bw, "%.0f"), ""))
        rows.append(("peak RSS (MiB)", fmt(sync_res and max(r.rss_mib for r in sync_res), "%.1f"),
                     fmt(base_res and max(r.rss_mib for r in base_res), "%.1f"),
                     "(target <= %.0f)" % RSS_TARGET_MIB))
        rows.append(("load average before pairs", "", "",
                     ", ".join(fmt_load(x) for x in res["loads"])))
        if sync_res:
            ok = res["sync_count"] == res["base_count"] == args.rows
            note = "(generated: %d)" % args.rows
            if not ok:
                note += "  MISMATCH" + (": " + res["note"] if res["note"] else "")
                status = status or 1
            rows.append(("rows in cache", fmt(res["sync_count"], "%d"),
                         fmt(res["base_count"], "%d"), note))
        if res["large"]:
            lr = max(r.rss_mib for r in res["large"])
            n = args.rows * args.large_factor
            rows.append(("%dx sheet: %d rows, %.1f MB" % (args.large_factor, n,
                         os.path.getsize(large) / 1e6), "", "", ""))
            rows.append(("  peak RSS (MiB)", "%.1f" % lr, "",
                         "(target <= %.0f)" % RSS_TARGET_MIB))
            lw = statistics.median(r.wall for r in res["large"])
            rows.append(("  wall (s), rows/s", "%.2f" % lw, "%.0f" % (n / lw), ""))
            if res["large_count"] != n:
                rows.append(("  rows in cache", fmt(res["large_count"], "%d"), "",
                             "MISMATCH (generated: %d)" % n))
                status = status or 1
        print()
        for label, a, b, note in rows:
            print(("%-*s %-10s %-10s %s" % (W, label, a, b, note)).rstrip())
        if source in profiles:
            print("profile of one %s sync (perf, >= 1.5%% of samples):" % source)
            print(profiles[source])
    sys.stdout.flush()

    if missing_bin:
        log("\nsync_bench: %s is missing: only the baseline was timed." % rel(args.bin))
        return 2
    if status:
        log("\nsync_bench: row counts differ from the generated %d (see the table)"
            % args.rows)
    return status


def fmt_load(x):
    return "?" if x is None else "%.2f" % x


if __name__ == "__main__":
    sys.exit(main())
