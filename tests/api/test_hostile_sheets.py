#!/usr/bin/env python3
"""Hostile sheets through the real binary: `sheetsync sync` of a file:// sheet into a temp cache.

Each sheet must end (complete, or fail with a clear error) within BOUND_S seconds and with a peak
RSS under 256 MiB (from wait4 in a small launcher process: a child forked straight from this test
would count the test's own memory, which it inherits until exec). Against a sanitized build the
time bound is longer and the memory bound only reported (apihelpers.time_bound and
check_memory_bound). Every sheet is synced into a cache that already holds a good sheet: a failure
must leave that table exactly as it was, cell for cell (read straight from the SQLite file), and
say what is wrong; a success must hold the new rows.

The sheets: the two of issue 10 (a row of 300,000 commas then 4,000 rows; 1,000 rows that each
grow by three cells), a 5,000-column header, an unterminated quote, 10 MB of blank lines (before
any header, and as CRLF blank rows after one), a 40 MB cell and NUL bytes.

Python 3 stdlib only. Run: SHEETSYNC_BIN=build/sheetsync python3 tests/api/test_hostile_sheets.py
"""

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402

BOUND_S = h.time_bound(20)  # per sync, on a loaded 2-core machine
MAX_RSS_MIB = 256
LIMIT = 1999  # columns a sheet may have (SQLite's 2000 less "_row")

GOOD = [['k', 'v'], ['1', 'one'], ['2', 'two, with a comma'], ['3', 'line\nbreak'],
        ['4', 'say "hi"']]


def csv_text(rows):
    """RFC 4180 text of `rows` (quotes only where needed), LF line ends."""
    def cell(x):
        if any(c in x for c in ',"\r\n'):
            return '"' + x.replace('"', '""') + '"'
        return x
    return ''.join(','.join(cell(x) for x in row) + '\n' for row in rows)


# Runs argv[2:] as its child and writes the child's peak RSS (KiB) to the file argv[1]; exits
# with the child's code (128 + signal if killed).
LAUNCHER = r"""
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], 'w') as f:
    f.write('%d' % usage.ru_maxrss)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_sync(sheet_path, db):
    """`sheetsync sync` of the file into `db`: (exit code, stderr, seconds, peak RSS in MiB).
    The process group is killed at BOUND_S (exit code None then)."""
    rss_file = db + '.rss'
    cmd = [sys.executable, '-c', LAUNCHER, rss_file, h.sheetsync_binary(), 'sync',
           '--source=file://' + sheet_path, '--db=' + db]
    err = tempfile.TemporaryFile()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                            start_new_session=True)
    h._live.append(proc)
    killed = []

    def kill():
        killed.append(True)
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher's own group: it and sheetsync
    timer = threading.Timer(BOUND_S, kill)
    timer.start()
    try:
        proc.wait()
    finally:
        timer.cancel()
    seconds = time.monotonic() - start
    err.seek(0)
    text = err.read().decode('utf-8', errors='replace')
    err.close()
    rss_mib = float('inf')
    if os.path.exists(rss_file):
        with open(rss_file) as f:
            rss_mib = int(f.read()) / 1024.0  # KiB on Linux
        os.unlink(rss_file)
    return (None if killed else proc.returncode), text, seconds, rss_mib


def read_table(db, name='sheet'):
    """(column names without _row, rows in order) straight from the SQLite file."""
    conn = sqlite3.connect(db)
    try:
        cols = [r[1] for r in conn.execute('PRAGMA table_info("%s")' % name)]
        rows = [list(r[1:]) for r in
                conn.execute('SELECT * FROM "%s" ORDER BY "_row"' % name)]
    finally:
        conn.close()
    return cols[1:], rows


def one(db, sql):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchone()
    finally:
        conn.close()


# -- the sheets -------------------------------------------------------------------------------

def wide_row_sheet():
    return b'a,b\n' + b',' * 300000 + b'\n' + b'1,2\n' * 4000


def growing_sheet():
    rows = [b'a,b,c']
    for r in range(1, 1001):
        rows.append(b','.join([b'x'] * (3 * (r + 1))))
    return b'\n'.join(rows) + b'\n'


def wide_header_sheet():
    return (','.join('c%d' % i for i in range(1, 5001)) + '\n1,2\n').encode()


def unterminated_quote_sheet():
    return b'a,b\n1,2\n3,"never closed\n' + b'5,6\n' * 10000


def blank_lines_only_sheet():
    return b'\n' * (10 * 1000 * 1000)


BLANK_ROWS = 5 * 1000 * 1000


def blank_rows_sheet():
    return b'a,b\n' + b'\r\n' * BLANK_ROWS


CELL_MB = 40


def big_cell_sheet():
    return b'a,b\n1,"' + b'x' * (CELL_MB * 1000 * 1000) + b'"\n2,3\n'


def nul_sheet():
    return b'a\x00b,c\n1\x00,2\n\x00,\x00\x00\n'


class HostileSheets(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix='sheetsync-hostile-')
        self.db = os.path.join(self.dir.name, 'cache.db')
        good = os.path.join(self.dir.name, 'good.csv')
        with open(good, 'w', newline='') as f:
            f.write(csv_text(GOOD))
        rc, err, _, _ = run_sync(good, self.db)
        self.assertEqual(rc, 0, err)
        self.assertEqual(read_table(self.db), (GOOD[0], GOOD[1:]))

    def tearDown(self):
        self.dir.cleanup()

    def sync(self, name, data):
        """Syncs the hostile sheet into the cache holding GOOD; checks time and memory."""
        path = os.path.join(self.dir.name, name + '.csv')
        with open(path, 'wb') as f:
            f.write(data)
        rc, err, seconds, rss = run_sync(path, self.db)
        sys.stderr.write('\n  %s (%d bytes): exit %s in %.1f s, peak RSS %.0f MiB%s\n'
                         % (name, len(data), rc, seconds, rss,
                            ('; ' + err.strip().splitlines()[-1]) if err.strip() else ''))
        self.assertIsNotNone(rc, '%s: still running after %d s' % (name, BOUND_S))
        h.check_memory_bound(self, rss, MAX_RSS_MIB, '%s: peak RSS' % name)
        return rc, err

    def assert_failed_keeping_old(self, name, data, *key_words):
        rc, err = self.sync(name, data)
        self.assertEqual(rc, 1, err)
        self.assertIn('sync failed', err)
        for words in key_words:
            self.assertIn(words, err)
        # The previous table, cell for cell.
        self.assertEqual(read_table(self.db), (GOOD[0], GOOD[1:]))

    # -- failures ---------------------------------------------------------------------------

    def test_row_of_300000_commas(self):
        self.assert_failed_keeping_old('wide_row', wide_row_sheet(),
                                       'row 2 has more than %d cells' % LIMIT,
                                       'at most %d columns' % LIMIT)

    def test_rows_growing_by_three_cells(self):
        # Row r (sheet row r + 1) has 3 (r + 1) cells: sheet row 667 has 2,001.
        self.assert_failed_keeping_old('growing', growing_sheet(),
                                       'row 667 has more than %d cells' % LIMIT,
                                       'at most %d columns' % LIMIT)

    def test_header_of_5000_columns(self):
        self.assert_failed_keeping_old('wide_header', wide_header_sheet(),
                                       'row 1 (the header) has more than %d cells' % LIMIT)

    def test_unterminated_quote(self):
        self.assert_failed_keeping_old('unterminated', unterminated_quote_sheet(),
                                       'unterminated quoted cell in row 3')

    def test_blank_lines_only(self):
        self.assert_failed_keeping_old('blank_only', blank_lines_only_sheet(),
                                       'the sheet is empty: no header row')

    # -- successes: bounded, and the new rows are there ---------------------------------------

    def test_blank_rows_after_the_header(self):
        rc, err = self.sync('blank_rows', blank_rows_sheet())
        self.assertEqual(rc, 0, err)
        # Blank rows are kept (docs/usage.md): five million rows of empty cells.
        self.assertEqual(one(self.db, 'SELECT count(*), min("_row"), max("_row") FROM "sheet"'),
                         (BLANK_ROWS, 1, BLANK_ROWS))
        self.assertEqual(one(self.db, 'SELECT count(*) FROM "sheet" WHERE a != \'\' OR b != \'\''),
                         (0,))

    def test_40_mb_cell(self):
        rc, err = self.sync('big_cell', big_cell_sheet())
        self.assertEqual(rc, 0, err)
        self.assertEqual(one(self.db, 'SELECT a, length(b), substr(b, 1, 3), substr(b, -3) '
                                      'FROM "sheet" WHERE "_row" = 1'),
                         ('1', CELL_MB * 1000 * 1000, 'xxx', 'xxx'))
        self.assertEqual(one(self.db, 'SELECT a, b FROM "sheet" WHERE "_row" = 2'), ('2', '3'))
        self.assertEqual(one(self.db, 'SELECT count(*) FROM "sheet"'), (2,))

    def test_nul_bytes(self):
        rc, err = self.sync('nul', nul_sheet())
        self.assertEqual(rc, 0, err)
        # NUL in a header name becomes '_' (SQL text ends at NUL); cells keep their bytes.
        self.assertEqual(read_table(self.db),
                         (['a_b', 'c'], [['1\x00', '2'], ['\x00', '\x00\x00']]))


if __name__ == '__main__':
    problem = h.check_binary()
    if problem:
        sys.exit(problem)
    unittest.main()
