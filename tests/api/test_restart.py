#!/usr/bin/env python3
"""Restart test of `sheetsync serve`: SIGKILL in the middle of a sync, start again on the same
cache. The previous data must be intact (PRAGMA integrity_check ok), the interrupted sync must read
"error" / "interrupted by restart", the earlier complete sync must still answer, unknown ids stay
404, and /api/sync-history lists both, newest first.

The sheet comes from tests/fake_google.py (its CSV export, 307 to a second host, chunked). The fake
holds the body after a given number of bytes until the test releases it, so the kill always lands
mid-sync: no race, no skip. Python 3 stdlib only. Run:
  python3 tests/api/test_restart.py [-v]
"""

import os
import sqlite3
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402
import googlehelpers as g  # noqa: E402

SYNC = '/api/sync-sheets-bg'
SHEET = '1RestartSheet' + '_' * 31
V1 = [['k', 'v', 'note'], ['one', '1', 'first'], ['two', '2', 'comma, inside'],
      ['three', '3', 'line\nbreak']]
V3 = [['k', 'v'], ['after', 'restart']]
RUNNING = ('downloading', 'processing', 'saving')

FAKE = None


def setUpModule():
    global FAKE
    h.require_binary()
    FAKE = g.FakeGoogle({SHEET: {'public': True, 'tabs': [{'gid': 0, 'values': V1}]}})


def tearDownModule():
    if FAKE:
        FAKE.stop()


def table(db, name='sheet'):
    """(integrity_check rows, columns without _row, rows) read straight from the file."""
    conn = sqlite3.connect(db)
    try:
        check = conn.execute('PRAGMA integrity_check').fetchall()
        cols = [r[1] for r in conn.execute('PRAGMA table_info("%s")' % name)]
        rows = [list(r[1:]) for r in conn.execute('SELECT * FROM "%s" ORDER BY "_row"' % name)]
        runs = dict(conn.execute('SELECT id, status FROM sync_runs').fetchall())
    finally:
        conn.close()
    return check, cols[1:], rows, runs


def staged_rows(db):
    """{staging table: rows written aside} in the file, as another process reads it."""
    conn = sqlite3.connect(db, timeout=5)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_staging\\_%' "
            "ESCAPE '\\'")]
        return {n: conn.execute('SELECT count(*) FROM "%s"' % n).fetchone()[0] for n in names}
    finally:
        conn.close()




def held_sheet(rows, hold_after_bytes):
    """A big generated sheet whose export stops after `hold_after_bytes` until released."""
    return {'public': True, 'chunk_bytes': 65536, 'hold_after_bytes': hold_after_bytes,
            'tabs': [{'gid': 0, 'generate': {'rows': rows, 'cols': 4}}]}


class TestRestart(unittest.TestCase):

    def start(self, db):
        server = g.GServer(db, ['--source=' + FAKE.export_url(SHEET, 0), '--cooldown=100ms'])
        self.addCleanup(server.close)
        self.addCleanup(server.stop)
        return server

    def hold(self, sheet):
        """Puts a held sheet; the test's end releases whatever still waits."""
        FAKE.put_sheet(SHEET, sheet)
        self.addCleanup(FAKE.control, 'release')

    def holding(self):
        return FAKE.stats()['holding']

    def status(self, server, sync_id):
        r = server.status(sync_id)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_sigkill_mid_sync_then_restart(self):
        db = os.path.join(h.temp_dir(self), 'cache.db')
        FAKE.put_sheet(SHEET, {'public': True, 'tabs': [{'gid': 0, 'values': V1}]})

        # 1. A complete sync of v1.
        first = self.start(db)
        r = first.start_sync()
        self.assertEqual(r.status, 202, r)
        complete_id = r.json()['syncId']
        st = first.wait_finished(complete_id)[-1]
        self.assertEqual(st['status'], 'complete', st)
        page = first.data()
        self.assertEqual(page['columns'], V1[0])
        self.assertEqual(page['rows'], V1[1:])

        # 2. A large sheet (~9 MB) that the fake holds after 500 KB: SIGKILL while it waits.
        self.hold(held_sheet(200000, 500000))
        r = first.start_sync()
        self.assertEqual(r.status, 202, r)
        killed_id = r.json()['syncId']
        self.assertNotEqual(killed_id, complete_id)
        h.wait_until(self.holding, 'the export was not held after 500 KB')
        st = self.status(first, killed_id)
        self.assertIn(st['status'], RUNNING, st)
        first.kill()  # SIGKILL
        self.assertEqual(first.proc.returncode, -9)
        FAKE.control('release')
        self.status_after_kill_checks(db)

        # 3. Start again on the same cache.
        FAKE.put_sheet(SHEET, {'public': True, 'tabs': [{'gid': 0, 'values': V3}]})
        second = self.start(db)
        page = second.data()
        self.assertEqual(page['columns'], V1[0])
        self.assertEqual(page['rows'], V1[1:])
        self.assertEqual(page['total'], len(V1) - 1)

        killed = self.status(second, killed_id)
        self.assertEqual(killed['status'], 'error', killed)
        self.assertEqual(killed['syncId'], killed_id)
        self.assertIn('interrupted by restart', (killed.get('error') or '').lower(), killed)
        self.assertIsNotNone(killed['finishedAt'], killed)
        done = self.status(second, complete_id)
        self.assertEqual(done['status'], 'complete', done)
        self.assertEqual(done['progress'], 100, done)
        self.assertGreater(done['stats']['lines'], 0, done)
        r = second.status('sync-0-doesnotexist')
        self.assertEqual(r.status, 404, r)

        r = second.get('/api/sync-history?source=sheet&limit=10')
        self.assertEqual(r.status, 200, r)
        runs = g.find_list(r.json(), 'syncs', 'history', 'runs')
        self.assertEqual([x['syncId'] for x in runs], [killed_id, complete_id], runs)
        self.assertEqual([x['status'] for x in runs], ['error', 'complete'], runs)
        r = second.get('/api/sync-history?limit=1')
        self.assertEqual(r.status, 200, r)
        self.assertEqual([x['syncId'] for x in g.find_list(r.json(), 'syncs', 'history', 'runs')],
                         [killed_id])

        # The record on disk says so too.
        check, _, _, runs = table(db)
        self.assertEqual(check, [('ok',)])
        self.assertEqual(runs[killed_id], 'error')
        self.assertEqual(runs[complete_id], 'complete')

        # 4. And the next sync works (whatever the crash left behind is cleaned up).
        r = second.start_sync()
        self.assertEqual(r.status, 202, r)
        new_id = r.json()['syncId']
        self.assertNotIn(new_id, (killed_id, complete_id))
        st = second.wait_finished(new_id)[-1]
        self.assertEqual(st['status'], 'complete', st)
        page = second.data()
        self.assertEqual(page['columns'], V3[0])
        self.assertEqual(page['rows'], V3[1:])
        self.assertEqual(second.stop(), 0, second.stderr_text())
        check, cols, rows, _ = table(db)
        self.assertEqual(check, [('ok',)])
        self.assertEqual((cols, rows), (V3[0], V3[1:]))

    def status_after_kill_checks(self, db):
        """With the process dead: the file is consistent and still holds v1."""
        check, cols, rows, runs = table(db)
        self.assertEqual(check, [('ok',)])
        self.assertEqual(cols, V1[0])
        self.assertEqual(rows, V1[1:])

    def test_sigkill_with_rows_written_aside(self):
        """A kill once the writer has put rows into its staging table (the parser and writer work
        on the first chunks while the rest downloads; the fake holds the rest): still v1, and the
        next start drops the orphaned staging table."""
        db = os.path.join(h.temp_dir(self), 'cache.db')
        FAKE.put_sheet(SHEET, {'public': True, 'tabs': [{'gid': 0, 'values': V1}]})
        first = self.start(db)
        st = first.sync()
        self.assertEqual(st['status'], 'complete', st)
        # Held after 12 MiB (~18 MB in all): past the 8 MiB the writer holds back in memory while
        # the content may still equal the cached one, so rows reach the staging table.
        self.hold(held_sheet(400000, 12 << 20))
        r = first.start_sync()  # retries through the cooldown
        self.assertEqual(r.status, 202, r)
        sync_id = r.json()['syncId']
        h.wait_until(self.holding, 'the export was not held after 12 MiB')
        staged = h.wait_until(lambda: {n: c for n, c in staged_rows(db).items() if c > 0},
                            'no rows were written aside')
        self.assertIn(self.status(first, sync_id)['status'], RUNNING)
        first.kill()  # SIGKILL
        self.assertEqual(first.proc.returncode, -9)
        FAKE.control('release')
        # The orphan is still there after the crash, the table untouched.
        self.assertTrue(set(staged) <= set(staged_rows(db)), staged)
        self.status_after_kill_checks(db)
        FAKE.put_sheet(SHEET, {'public': True, 'tabs': [{'gid': 0, 'values': V1}]})
        second = self.start(db)
        page = second.data()
        self.assertEqual(page['rows'], V1[1:])
        killed = self.status(second, sync_id)
        self.assertEqual(killed['status'], 'error', killed)
        self.assertIn('interrupted by restart', (killed.get('error') or '').lower(), killed)
        h.wait_until(lambda: not staged_rows(db), 'the orphaned staging table was not dropped',
                   timeout=10)
        self.assertEqual(second.stop(), 0, second.stderr_text())
        self.status_after_kill_checks(db)


if __name__ == '__main__':
    h.main()
