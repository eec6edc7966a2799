#!/usr/bin/env python3
"""The cache after faults (issue 10, defect 7), against the running binary: a full disk, a cache
locked by another process, a read-only cache, a cache that cannot be opened (readiness), and the
WAL after a swap. Every fault keeps the previous cached data exactly as it was and the service
keeps serving.

A full disk is simulated without root: SHEETSYNC_TEST_DISK_LIMIT=<bytes> makes every SQLite
connection of the process see the cache's directory as a disk of that size (store/disk_limit.hpp;
unlike PRAGMA max_page_count it also limits the WAL, which is what made dropping a failed sync's
table fail on a real full disk). The test fills it with a ballast file and frees space by deleting
that file. The read-only cache needs a non-root user (root ignores file modes): as root the sync
runs as `nobody` through setpriv.

Python 3 stdlib only. Run: python3 tests/api/test_cache_faults.py [-v]
"""

import csv
import io
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import apihelpers as h  # noqa: E402
from fake_server import generated_csv  # noqa: E402

SYNC = '/api/sync-sheets-bg'
MIB = 1 << 20


def setUpModule():
    h.require_binary()


def read_table(db, name='sheet'):
    """(integrity_check, columns without _row, rows, staging tables) straight from the file."""
    conn = sqlite3.connect(db)
    try:
        check = conn.execute('PRAGMA integrity_check').fetchall()
        cols = [r[1] for r in conn.execute('PRAGMA table_info("%s")' % name)][1:]
        rows = [list(r[1:]) for r in conn.execute('SELECT * FROM "%s" ORDER BY "_row"' % name)]
        staging = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_staging\\_%' "
            "ESCAPE '\\'")]
    finally:
        conn.close()
    return check, cols, rows, staging


def run_status(db, sync_id):
    """The sync's status in sync_runs, read straight from the file."""
    conn = sqlite3.connect(db)
    try:
        row = conn.execute('SELECT status, error FROM sync_runs WHERE id = ?', (sync_id,)).fetchone()
    finally:
        conn.close()
    return row


def disk_usage(directory):
    """Bytes allocated to the files of a directory: what store/disk_limit.cpp counts."""
    total = 0
    for name in os.listdir(directory):
        st = os.lstat(os.path.join(directory, name))
        if os.path.isfile(os.path.join(directory, name)):
            total += st.st_blocks * 512
    return total


def big_rows(size):
    """The data rows of the fake server's /big?bytes=size, short rows padded as the cache does."""
    text = b''.join(generated_csv(size)).decode()
    rows = list(csv.reader(io.StringIO(text)))
    return [r + [''] * (len(rows[0]) - len(r)) for r in rows[1:]]


class CacheTestCase(unittest.TestCase):
    """One fake sheet server per class; a cache holding the demo sheet per test."""

    @classmethod
    def setUpClass(cls):
        cls.sheet = h.FakeSheet()
        cls.addClassCleanup(cls.sheet.stop)

    def setUp(self):
        self.dir = h.temp_dir(self)

    def start(self, path, db, args=(), env=None):
        server = h.Server(self.sheet.url(path), db, args=args, env=env)
        self.addCleanup(server.close)
        return server

    def make_cache(self):
        """A cache holding the demo sheet, written by a server that is then stopped. Returns
        (db, columns, rows)."""
        db = os.path.join(self.dir, 'cache.db')
        server = self.start('/ok.csv', db)
        st = server.sync()
        self.assertEqual(st['status'], 'complete', st)
        self.assertEqual(server.stop(), 0, server.stderr_text())
        check, cols, rows, _ = read_table(db)
        self.assertEqual(check, [('ok',)])
        self.assertEqual(len(rows), h.DEMO_ROWS)
        return db, cols, rows

    def assertJson(self, r, status):
        self.assertEqual(r.status, status, r)
        self.assertIn('application/json', r.header('Content-Type') or '', r)
        return r.json()

    def assertServesOldRows(self, server, cols, rows):
        page = self.assertJson(server.get('/api/data?limit=1000'), 200)
        self.assertEqual(page['total'], len(rows), page)
        self.assertEqual(page['columns'], cols)
        self.assertEqual(page['rows'], rows)


# -- a full disk --------------------------------------------------------------------------------

class TestFullDisk(CacheTestCase):

    def test_a_sync_failing_on_a_full_disk_cleans_up_and_the_next_one_succeeds(self):
        db, cols, rows = self.make_cache()
        # A disk of 64 MiB, 6 MiB of it free: too little for the 6 MB sheet (its table and WAL).
        capacity = disk_usage(self.dir) + 64 * MIB
        ballast = os.path.join(self.dir, 'ballast')
        with open(ballast, 'wb') as f:
            f.write(b'\0' * (capacity - disk_usage(self.dir) - 6 * MIB))
        size = 6000000
        server = self.start('/big?bytes=%d' % size, db, args=['--cooldown=0s'],
                            env={'SHEETSYNC_TEST_DISK_LIMIT': str(capacity)})
        r = server.post(SYNC)
        self.assertEqual(r.status, 202, r)
        failed_id = r.json()['syncId']
        st = server.wait_finished(failed_id, timeout=60)[-1]
        self.assertEqual(st['status'], 'error', st)
        self.assertIn('full', st['error'], st)
        self.assertIn('free disk space', st['error'], st)
        # Its staging table is gone at once; the old table is exactly as it was.
        check, now_cols, now_rows, staging = read_table(db)
        self.assertEqual(check, [('ok',)])
        self.assertEqual(staging, [])
        self.assertEqual((now_cols, now_rows), (cols, rows))
        # The history has the failure, in the file and through the API.
        self.assertEqual(run_status(db, failed_id)[0], 'error')
        hist = self.assertJson(server.get('/api/sync-history?source=sheet'), 200)
        self.assertEqual([s['status'] for s in hist['syncs'] if s['syncId'] == failed_id],
                         ['error'], hist)
        # The first data request after the failure serves the old rows.
        self.assertServesOldRows(server, cols, rows)
        # Space freed: the next sync of the same process succeeds.
        os.remove(ballast)
        st = server.sync(timeout=60)
        self.assertEqual(st['status'], 'complete', st)
        expected = big_rows(size)
        check, now_cols, now_rows, staging = read_table(db)
        self.assertEqual(check, [('ok',)])
        self.assertEqual(staging, [])
        self.assertEqual(now_cols, ['row', 'name', 'value'])
        self.assertEqual(len(now_rows), len(expected))
        self.assertEqual(now_rows[-1], expected[-1])
        page = self.assertJson(server.get('/api/data?limit=1'), 200)
        self.assertEqual(page['total'], len(expected))
        self.assertEqual(run_status(db, failed_id)[0], 'error')


# -- a read-only cache --------------------------------------------------------------------------

def as_unprivileged():
    """The command prefix that runs the binary as a user subject to file modes, or None (with
    the reason) when that is impossible here."""
    if os.geteuid() != 0:
        return [], None
    setpriv = shutil.which('setpriv')
    if not setpriv:
        return None, 'running as root without setpriv: cannot drop to a user that file modes stop'
    try:
        nobody = pwd.getpwnam('nobody')
    except KeyError:
        return None, 'no user nobody'
    return [setpriv, '--reuid=%d' % nobody.pw_uid, '--regid=%d' % nobody.pw_gid,
            '--clear-groups', '--'], None


class TestReadOnlyCache(CacheTestCase):

    def test_a_read_only_cache_fails_the_sync_before_the_download(self):
        prefix, why = as_unprivileged()
        if prefix is None:
            self.skipTest(why)
        db, cols, rows = self.make_cache()
        os.chmod(self.dir, 0o777)  # the directory stays writable; the file is not
        os.chmod(db, 0o444)
        binary = h.sheetsync_binary()
        if prefix and subprocess.run(prefix + [binary, '--help'], capture_output=True).returncode:
            self.skipTest('%s cannot run %s' % (prefix[1:3], binary))
        # The sheet stalls after 100 bytes: a sync that waits for the download to find out never
        # gets to the cache before the time-out below.
        cmd = prefix + [binary, 'sync', '--source=' + self.sheet.url('/stall?seconds=120'),
                        '--db=' + db, '--max-attempts=1', '--fetch-timeout=100s']
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            self.fail('the sync did not fail at once on a read-only cache (still waiting for the '
                      'download after 30 s)')
        err = done.stderr.decode(errors='replace')
        self.assertEqual(done.returncode, 1, err)
        self.assertIn('read-only', err)
        self.assertIn(db, err)
        os.chmod(db, 0o644)
        check, now_cols, now_rows, staging = read_table(db)
        self.assertEqual(check, [('ok',)])
        self.assertEqual((now_cols, now_rows, staging), (cols, rows, []))


# -- a cache locked by another process ----------------------------------------------------------

LOCKER = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
for stmt in sys.argv[2:]:
    conn.execute(stmt)
print('held', flush=True)
sys.stdin.readline()
conn.execute('ROLLBACK')
conn.close()
print('released', flush=True)
"""


class Locker:
    """Another process that runs `statements` on the cache (leaving the transaction open, so
    its locks stay held) until release() rolls back."""

    def __init__(self, test, db, statements):
        self.proc = subprocess.Popen([sys.executable, '-c', LOCKER, db] + list(statements),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        test.addCleanup(self.close)
        line = self.proc.stdout.readline()
        test.assertEqual(line.strip(), 'held', 'the locker could not lock %s' % db)

    def release(self):
        self.proc.stdin.write('\n')
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == 'released'
        self.proc.wait(10)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


class TestLockedCache(CacheTestCase):

    def test_a_writer_in_another_process_does_not_stop_the_first_page(self):
        db, cols, rows = self.make_cache()
        server = self.start('/ok.csv', db)
        # A write lock (WAL: readers go on) taken before the server first reads the cache.
        locker = Locker(self, db, ['BEGIN EXCLUSIVE', 'DELETE FROM "sheet"'])
        self.assertServesOldRows(server, cols, rows)
        self.assertEqual(self.assertJson(server.get('/readyz'), 200), {'status': 'ready'})
        locker.release()
        self.assertServesOldRows(server, cols, rows)

    def check_locked_against_reads(self, statements):
        """A lock that keeps readers out, taken before the server starts (an open WAL
        connection, as the server keeps one, keeps such a lock out): 503 cache_busy that says
        what and when, then the old rows once it is released."""
        db, cols, rows = self.make_cache()
        locker = Locker(self, db, statements)
        server = self.start('/ok.csv', db)
        r = server.get('/api/data')
        body = self.assertJson(r, 503)
        self.assertEqual(body['error'], 'cache_busy', body)
        self.assertEqual(r.header('Retry-After'), '2', r)
        self.assertIn(db, body['message'])
        self.assertIn('locked', body['message'])
        self.assertIn('retry in 2 s', body['message'])
        r = server.get('/readyz')
        body = self.assertJson(r, 503)
        self.assertEqual(body['status'], 'not ready', body)
        self.assertIn(db, body['reason'])
        self.assertEqual(r.header('Retry-After'), '2', r)
        self.assertEqual(self.assertJson(server.get('/healthz'), 200), {'status': 'ok'})
        locker.release()
        self.assertServesOldRows(server, cols, rows)
        self.assertEqual(self.assertJson(server.get('/readyz'), 200), {'status': 'ready'})
        check, now_cols, now_rows, staging = read_table(db)
        self.assertEqual(check, [('ok',)])
        self.assertEqual((now_cols, now_rows, staging), (cols, rows, []))

    def test_an_exclusive_lock_answers_503_cache_busy_then_the_old_rows(self):
        self.check_locked_against_reads(
            ['PRAGMA locking_mode = EXCLUSIVE', 'BEGIN EXCLUSIVE', 'DELETE FROM "sheet"'])

    def test_a_rollback_journal_write_answers_503_cache_busy_then_the_old_rows(self):
        self.check_locked_against_reads(
            ['PRAGMA journal_mode = DELETE', 'BEGIN EXCLUSIVE', 'DELETE FROM "sheet"'])


# -- readiness ----------------------------------------------------------------------------------

class TestReadiness(CacheTestCase):

    def test_readyz_says_why_the_cache_cannot_be_opened_and_healthz_stays_ok(self):
        db, cols, rows = self.make_cache()
        server = self.start('/ok.csv', db)
        self.assertEqual(self.assertJson(server.get('/readyz'), 200), {'status': 'ready'})
        self.assertServesOldRows(server, cols, rows)
        # Replaced by a directory: no file mode that root ignores.
        aside = os.path.join(self.dir, 'aside.db')
        os.rename(db, aside)
        os.mkdir(db)
        r = server.get('/readyz')
        body = self.assertJson(r, 503)
        self.assertEqual(body['status'], 'not ready', body)
        self.assertIn(db, body['reason'])
        self.assertIn('not a regular file', body['reason'])
        self.assertIsNone(r.header('Retry-After'), r)
        self.assertEqual(self.assertJson(server.get('/healthz'), 200), {'status': 'ok'})
        r = server.request('HEAD', '/readyz')
        self.assertEqual(r.status, 503, r)
        # Fixed: ready again, and the rows are served.
        os.rmdir(db)
        os.rename(aside, db)
        self.assertEqual(self.assertJson(server.get('/readyz'), 200), {'status': 'ready'})
        self.assertServesOldRows(server, cols, rows)


# -- the WAL after a swap -----------------------------------------------------------------------

class TestWalAfterSwap(CacheTestCase):

    SIZE = 6000000

    def test_wal_is_truncated_after_the_swap(self):
        db, _, _ = self.make_cache()
        server = self.start('/big?bytes=%d' % self.SIZE, db)
        self.assertEqual(server.sync(timeout=60)['status'], 'complete')
        # Only the history's last records may follow the swap's checkpoint.
        self.assertLess(os.path.getsize(db + '-wal'), 256 * 1024)

    def test_a_reader_that_blocks_the_checkpoint_does_not_fail_the_sync(self):
        db, cols, rows = self.make_cache()
        server = self.start('/big?bytes=%d' % self.SIZE, db)
        reader = sqlite3.connect(db, isolation_level=None)
        self.addCleanup(reader.close)
        reader.execute('BEGIN')
        self.assertEqual(len(reader.execute('SELECT * FROM "sheet"').fetchall()), len(rows))
        st = server.sync(timeout=60)
        self.assertEqual(st['status'], 'complete', st)
        # The reader still sees its snapshot; the WAL could not be truncated under it.
        self.assertEqual(len(reader.execute('SELECT * FROM "sheet"').fetchall()), len(rows))
        self.assertGreater(os.path.getsize(db + '-wal'), 1 * MIB)
        reader.execute('COMMIT')
        page = self.assertJson(server.get('/api/data?limit=1'), 200)
        self.assertEqual(page['total'], len(big_rows(self.SIZE)))


if __name__ == '__main__':
    h.main()
