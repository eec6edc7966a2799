#!/usr/bin/env python3
"""sheetsync benchmark: sheetsync sync vs curl + sqlite3 .import.

    bench/run [--rows N] [--runs K] [--skip-large] [--baseline-only] ...

1. Generates the sheet (bench/make_sheet.py; cached as
   bench/out/sheets/sheet-N.csv, remade when make_sheet.py changes) and
   serves it on 127.0.0.1 with bench/serve.py (by default without a
   Content-Length, chunked, like Google's CSV export).
2. Times K runs each, alternating (a b, b a, a b, ...), of
     (a) build/sheetsync sync --source=URL --db=bench/out/s.db --name=sheet
         (the db deleted before each run; its stdout discarded)
     (b) curl -s URL -o f.csv && sqlite3 f.db ".import --csv f.csv t"
         (fresh f.csv and f.db each run, in bench/out/baseline/)
   and reports the median wall times, their ratio (target <= 0.6) and
   sheetsync's peak RSS (ru_maxrss from wait4, taken by GNU time: see
   run(); target <= 64 MiB).
3. Checks once that the cache holds as many rows as the baseline
   (SELECT count(*)) and as were generated.
4. Runs sheetsync on a 4x larger sheet for its peak RSS (target: the same
   as for 1x); --skip-large omits it.

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
SHEETS = os.path.join(OUT, "sheets")
BASE_DIR = os.path.join(OUT, "baseline")

TIME = "/usr/bin/time"     # GNU time (Debian package "time")
RATIO_TARGET = 0.6
RSS_TARGET_MIB = 64.0


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def rel(path):
    return os.path.relpath(path, REPO)


# -- the sheet -----------------------------------------------------------

def ensure_sheet(rows):
    """Path of the generated sheet of `rows` rows, made if missing/stale."""
    os.makedirs(SHEETS, exist_ok=True)
    path = os.path.join(SHEETS, "sheet-%d.csv" % rows)
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
    def __init__(self, rc, wall, maxrss_kib, err):
        self.rc, self.wall, self.maxrss_kib, self.err = rc, wall, maxrss_kib, err

    @property
    def rss_mib(self):
        return self.maxrss_kib / 1024.0


def run(cmd, timeout, stdout=subprocess.DEVNULL):
    """Runs cmd: its wall time, exit code, stderr and peak RSS.

    The peak RSS is the child's ru_maxrss as wait4(2) returns it, but taken
    by GNU time (/usr/bin/time -f %M), not by os.wait4 here: Linux carries
    the high-water RSS of the process that exec()s into the new program
    (signal->maxrss), and a child of this script starts as a (v)fork of
    Python, so os.wait4 would report at least this script's own RSS (~14 MiB
    measured for /bin/true; more if the script grows). GNU time's own floor
    is ~1 MiB. Its exit status is the command's, or 128+N if signal N.
    """
    with tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", prefix="rss.", dir=OUT) as rss:
        argv = [TIME, "-q", "-f", "%M", "-o", rss.name] + cmd
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
        lines = rss.read().split()
        maxrss = int(lines[-1]) if lines and lines[-1].isdigit() else 0
        return Result(rc, wall, maxrss, text)


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


def run_sheetsync(binary, url, db, timeout):
    remove(db)
    settle()
    return run([binary, "sync", "--source=" + url, "--db=" + db, "--name=sheet"],
               timeout)


def run_baseline(url, timeout):
    os.makedirs(BASE_DIR, exist_ok=True)
    csv, db = os.path.join(BASE_DIR, "f.csv"), os.path.join(BASE_DIR, "f.db")
    remove(csv, db)
    settle()
    a = run(["curl", "-sS", "--fail", url, "-o", csv], timeout)
    if a.rc != 0:
        return a
    b = run(["sqlite3", db, ".import --csv %s t" % csv], timeout)
    # .import reports bad rows on stderr but still exits 0: keep them.
    return Result(b.rc, a.wall + b.wall, max(a.maxrss_kib, b.maxrss_kib),
                  a.err + b.err)


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

def main():
    ap = argparse.ArgumentParser(
        description="Times sheetsync sync against curl + sqlite3 .import.")
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=5)
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
                    help="keep the databases and f.csv in bench/out afterwards")
    args = ap.parse_args()
    if args.runs < 1 or args.rows < 1:
        ap.error("--rows and --runs must be >= 1")

    for tool in ("curl", "sqlite3"):
        if not shutil.which(tool):
            log("sync_bench: %s not found: install it (apt-get install %s)" % (tool, tool))
            return 2

    if not os.access(TIME, os.X_OK):
        log("sync_bench: %s (GNU time, for the peak RSS) not found: "
            "apt-get install time" % TIME)
        return 2

    have_bin = os.access(args.bin, os.X_OK) and os.path.isfile(args.bin)
    do_sync = not args.baseline_only
    if do_sync and not have_bin:
        log("sync_bench: %s not found or not executable: build it first "
            "(scripts/build). Timing the baseline only." % rel(args.bin))
        do_sync = False
    missing_bin = not args.baseline_only and not have_bin

    os.makedirs(OUT, exist_ok=True)
    sheet = ensure_sheet(args.rows)
    large = None
    if do_sync and not args.skip_large:
        large = ensure_sheet(args.rows * args.large_factor)
    sdb = os.path.join(OUT, "s.db")

    server = Server(SHEETS, args.serve_mode)
    status = 0
    sync_res, base_res = [], []
    sync_count = base_count = None
    count_note = ""
    large_res = []
    large_count = None
    try:
        url = server.url(sheet)
        log("serving %s at %s (%s)" % (rel(SHEETS), url,
                                       {"chunked": "chunked, no Content-Length",
                                        "close": "no Content-Length, close",
                                        "length": "Content-Length"}[args.serve_mode]))
        # Warm-up: the served file into the page cache, curl's code into memory.
        w = run(["curl", "-sS", "--fail", url, "-o", os.devnull], args.timeout)
        if w.rc != 0:
            log("sync_bench: fetching %s failed: %s" % (url, w.err.strip()))
            return 2

        for i in range(args.runs):
            order = ["a", "b"] if i % 2 == 0 else ["b", "a"]
            line = []
            for which in order:
                if which == "a":
                    if not do_sync:
                        continue
                    r = run_sheetsync(args.bin, url, sdb, args.timeout)
                    if r.rc != 0:
                        fail_sheetsync(r, "run %d" % (i + 1))
                        return 1
                    sync_res.append(r)
                    line.append("sheetsync %.2f s, %.1f MiB" % (r.wall, r.rss_mib))
                    if sync_count is None:
                        sync_count, why = count_rows(sdb, "sheet")
                        if why:
                            count_note = why
                else:
                    r = run_baseline(url, args.timeout)
                    if r.rc != 0:
                        log("sync_bench: the baseline failed (exit %d): %s"
                            % (r.rc, r.err.strip()))
                        return 2
                    base_res.append(r)
                    line.append("baseline %.2f s" % r.wall)
                    if base_count is None:
                        base_count, why = count_rows(os.path.join(BASE_DIR, "f.db"), "t")
                        if why:
                            log("sync_bench: baseline: " + why)
                            return 2
                        if r.err.strip():
                            log("sync_bench: sqlite3 .import said: " + r.err.strip()[:500])
            log("run %d/%d: %s" % (i + 1, args.runs, "; ".join(line)))

        if large:
            lurl = server.url(large)
            run(["curl", "-sS", "--fail", lurl, "-o", os.devnull], args.timeout)
            for i in range(args.large_runs):
                r = run_sheetsync(args.bin, lurl, sdb, args.timeout)
                if r.rc != 0:
                    fail_sheetsync(r, "the %dx sheet" % args.large_factor)
                    status = 1
                    break
                large_res.append(r)
                log("%dx run %d/%d: sheetsync %.2f s, %.1f MiB"
                    % (args.large_factor, i + 1, args.large_runs, r.wall, r.rss_mib))
                if large_count is None:
                    large_count, why = count_rows(sdb, "sheet")
                    if why:
                        log("sync_bench: %dx sheet: %s" % (args.large_factor, why))
    finally:
        server.stop()
        if not args.keep:
            remove(sdb, os.path.join(BASE_DIR, "f.db"), os.path.join(BASE_DIR, "f.csv"))

    # -- report ----------------------------------------------------------
    size_mb = os.path.getsize(sheet) / 1e6
    base_med = statistics.median(r.wall for r in base_res)
    base_rss = max(r.rss_mib for r in base_res)
    sync_med = statistics.median(r.wall for r in sync_res) if sync_res else None
    sync_rss = max(r.rss_mib for r in sync_res) if sync_res else None
    na = "n/a"

    def fmt(x, f="%.2f"):
        return na if x is None else f % x

    W = 39
    rows = []
    rows.append(("sheet: %d rows, %.1f MB" % (args.rows, size_mb),
                 "sheetsync", "baseline (curl + sqlite3 .import)", ""))
    ratio = ""
    if sync_med is not None:
        ratio = "ratio %.2f (target <= %.2f)" % (sync_med / base_med, RATIO_TARGET)
    rows.append(("wall time, median of %d (s)" % args.runs,
                 fmt(sync_med), "%.2f" % base_med, ratio))
    rows.append(("rows/s", fmt(sync_med and args.rows / sync_med, "%.0f"),
                 "%.0f" % (args.rows / base_med), ""))
    rows.append(("peak RSS (MiB)", fmt(sync_rss, "%.1f"), "%.1f" % base_rss,
                 "(target <= %.0f; baseline: max of curl, sqlite3)" % RSS_TARGET_MIB))
    cnt_ok = None
    if sync_res:
        cnt_ok = sync_count == base_count == args.rows
        note = "(generated: %d)" % args.rows
        if not cnt_ok:
            note += "  MISMATCH" + (": " + count_note if count_note else "")
        rows.append(("rows in cache", fmt(sync_count, "%d"), str(base_count), note))
    else:
        rows.append(("rows in cache", na, str(base_count), "(generated: %d)" % args.rows))
    if large_res:
        lr = max(r.rss_mib for r in large_res)
        lsize = os.path.getsize(large) / 1e6
        rows.append(("%dx sheet: %d rows, %.1f MB" % (args.large_factor,
                     args.rows * args.large_factor, lsize), "", "", ""))
        rows.append(("  peak RSS (MiB)", "%.1f" % lr, "",
                     "(target: same as 1x: %.1f; x%.2f)" % (sync_rss, lr / sync_rss)))
        rows.append(("  wall time (s)", "%.2f" % statistics.median(r.wall for r in large_res),
                     "", ""))
        if large_count != args.rows * args.large_factor:
            rows.append(("  rows in cache", fmt(large_count, "%d"), "",
                         "MISMATCH (generated: %d)" % (args.rows * args.large_factor)))
            status = status or 1

    print()
    print("baseline: curl %s, sqlite3 %s; server: serve.py --mode %s; %d run%s each, alternating"
          % (tool_version(["curl", "--version"]), tool_version(["sqlite3", "--version"]),
             args.serve_mode, args.runs, "" if args.runs == 1 else "s"))
    for label, a, b, note in rows:
        print(("%-*s %-12s %-12s %s" % (W, label, a, b, note)).rstrip())
    sys.stdout.flush()

    if missing_bin:
        log("\nsync_bench: %s is missing: only the baseline was timed." % rel(args.bin))
        return 2
    if cnt_ok is False:
        log("\nsync_bench: row counts differ: sheetsync %s, baseline %s, generated %d%s"
            % (fmt(sync_count, "%d"), base_count, args.rows, ("; " + count_note) if count_note else ""))
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
