#!/usr/bin/env python3
"""Differential CSV test: random RFC 4180 sheets synced through the real binary (`sheetsync sync`
of a file:// sheet) and compared cell by cell with Python's csv module plus the normalisation the
docs/usage.md documents ("What the download and parse accept"):

- a UTF-8 BOM is dropped; blank lines before the header are skipped;
- header names: an empty one becomes column_N (1-based position), one that collides with an
  earlier name or with the cache's "_row" (ignoring ASCII case, as SQLite does) gets _2, _3, ...
  (the first free one); NUL would become '_' (not generated: Python's csv has no say there);
- short rows are padded with empty cells, extra cells add columns named like empty header cells;
- blank rows are kept (as rows of empty cells), the final line end adds no row.

The sheets have quoted cells with doubled quotes, commas and CR, LF and CRLF inside, CRLF or LF
line ends (mixed), an optional BOM, unicode, ragged and blank rows, empty and duplicate header
names, and sometimes no final line end. The seed is fixed and printed (SHEETSYNC_DIFF_SEED
overrides it, SHEETSYNC_DIFF_SHEETS the number of sheets); on a mismatch the test prints the seed
and the smallest failing sheet with what differs.

Python 3 stdlib only. Run: SHEETSYNC_BIN=build/sheetsync python3 tests/api/test_csv_differential.py
"""

import concurrent.futures
import csv
import io
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402

SEED = int(os.environ.get('SHEETSYNC_DIFF_SEED', '20261202'))
SHEETS = int(os.environ.get('SHEETSYNC_DIFF_SHEETS', '250'))
WORKERS = 6  # concurrent syncs (mostly waiting), each into its own cache file

PLAIN = ['', '', 'a', 'A', 'x y', ' padded ', '42', '-1.5', 'Straße', 'ünïcødé', '日本語',
         '\u2603', '\U0001F600', 'tab\there', "it's", 'a_2', 'column_1', 'column_3', '_row',
         '_ROW']
SPECIAL = ['"', '""', 'say "hi"', 'a,b', ',', 'line\nbreak', 'cr\ronly', 'crlf\r\nend', '\n',
           '\r\n', '"quoted, with\r\nall"', ' , ']
HEADER = ['', 'id', 'ID', 'name', 'Name', 'a', 'a_2', '_row', 'column_2', 'x,y', 'q"q',
          'multi\nline', 'ünï', 'Ünï']


def ascii_lower(text):
    return ''.join(chr(ord(c) + 32) if 'A' <= c <= 'Z' else c for c in text)


def column_names(header):
    """The naming rule of docs/usage.md, written independently of the C++ one."""
    taken = {'_row'}
    out = []
    for i, cell in enumerate(header):
        name = cell.replace('\0', '_') or 'column_%d' % (i + 1)
        candidate, n = name, 2
        while ascii_lower(candidate) in taken:
            candidate, n = '%s_%d' % (name, n), n + 1
        taken.add(ascii_lower(candidate))
        out.append(candidate)
    return out


# -- generating sheets ------------------------------------------------------------------------

def random_cell(rng, pool):
    if rng.random() < 0.25:
        return rng.choice(SPECIAL)
    return rng.choice(pool)


def encode_cell(rng, cell):
    if any(c in cell for c in ',"\r\n') or rng.random() < 0.1:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def random_sheet(rng):
    """Returns the sheet's bytes. Rows are lists of cells; [] is a blank line."""
    width = rng.randint(1, 6)
    header = [rng.choice(HEADER) if rng.random() < 0.8 else random_cell(rng, PLAIN)
              for _ in range(width)]
    rows = [header]
    for _ in range(rng.randint(0, 12)):
        if rng.random() < 0.1:
            rows.append([])  # a blank line
            continue
        n = max(1, min(width + 3, int(rng.gauss(width, 1.5))))
        rows.append([random_cell(rng, PLAIN) for _ in range(n)])
    lines = []
    for row in rows:
        if row == ['']:
            text = '""'  # one empty cell, not a blank line
        else:
            text = ','.join(encode_cell(rng, c) for c in row)
        lines.append(text + rng.choice(['\n', '\r\n']))
    # Blank lines before the header are skipped; sometimes no final line end.
    prefix = rng.choice(['', '', '', '\n', '\r\n\n'])
    if rows[-1] and rng.random() < 0.3:
        lines[-1] = lines[-1][:-2] if lines[-1].endswith('\r\n') else lines[-1][:-1]
    text = prefix + ''.join(lines)
    bom = b'\xef\xbb\xbf' if rng.random() < 0.2 else b''
    return bom + text.encode('utf-8')


def expected_table(data):
    """(column names, rows) the cache should hold, from Python's csv module plus the rules."""
    text = data.decode('utf-8-sig')
    records = list(csv.reader(io.StringIO(text, newline=''), strict=True))
    while records and records[0] == []:
        records.pop(0)  # blank lines before the header are skipped
    header, body = records[0], records[1:]
    width = max([len(header)] + [len(r) for r in body])
    names = column_names(header + [''] * (width - len(header)))
    return names, [r + [''] * (width - len(r)) for r in body]


# -- syncing ----------------------------------------------------------------------------------

def sync_and_read(path, db, table):
    """Syncs the sheet file into `db` as `table`: (names, rows) read back, or an error text."""
    cmd = [h.sheetsync_binary(), 'sync', '--source=file://' + path, '--db=' + db,
           '--name=' + table]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=60)
    if proc.returncode != 0:
        return 'exit %d: %s' % (proc.returncode, proc.stderr.decode(errors='replace').strip())
    conn = sqlite3.connect(db)
    try:
        names = [r[1] for r in conn.execute('PRAGMA table_info("%s")' % table)]
        got = conn.execute('SELECT * FROM "%s" ORDER BY "_row"' % table).fetchall()
    finally:
        conn.close()
    if names[:1] != ['_row'] or [r[0] for r in got] != list(range(1, len(got) + 1)):
        return 'bad _row column: %r / %r' % (names[:1], [r[0] for r in got])
    return names[1:], [list(r[1:]) for r in got]


def first_difference(want, got):
    if isinstance(got, str):
        return got
    if want[0] != got[0]:
        return 'columns: expected %r, got %r' % (want[0], got[0])
    if len(want[1]) != len(got[1]):
        return 'rows: expected %d, got %d' % (len(want[1]), len(got[1]))
    for i, (w, g) in enumerate(zip(want[1], got[1])):
        if w != g:
            for c, (wc, gc) in enumerate(zip(w, g)):
                if wc != gc:
                    return 'row %d, column %r: expected %r, got %r' % (
                        i + 1, want[0][c], wc, gc)
    return None


class CsvDifferential(unittest.TestCase):
    def test_random_sheets_match_pythons_csv(self):
        sys.stderr.write('\n  seed %d, %d sheets (SHEETSYNC_DIFF_SEED=%d to repeat)\n'
                         % (SEED, SHEETS, SEED))
        rng = random.Random(SEED)
        sheets = [random_sheet(rng) for _ in range(SHEETS)]
        with tempfile.TemporaryDirectory(prefix='sheetsync-diff-') as tmp:
            def check(i):
                path = os.path.join(tmp, 'sheet%d.csv' % i)
                with open(path, 'wb') as f:
                    f.write(sheets[i])
                db = os.path.join(tmp, 'cache%d.db' % (i % WORKERS))
                want = expected_table(sheets[i])
                return i, first_difference(want, sync_and_read(path, db, 's%d' % i))

            # Each worker takes every WORKERS-th sheet, so that a cache file has one writer.
            def worker(w):
                return [check(i) for i in range(w, SHEETS, WORKERS)]
            with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
                results = [r for part in pool.map(worker, range(WORKERS)) for r in part]
        failures = sorted((len(sheets[i]), i, diff) for i, diff in results if diff)
        if failures:
            size, i, diff = failures[0]
            self.fail('%d of %d sheets differ (seed %d). Smallest failing sheet (#%d, %d bytes):\n'
                      '%r\n%s' % (len(failures), SHEETS, SEED, i, size, sheets[i], diff))


if __name__ == '__main__':
    problem = h.check_binary()
    if problem:
        sys.exit(problem)
    unittest.main()
