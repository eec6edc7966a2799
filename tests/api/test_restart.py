#!/usr/bin/env python3
"""Restart test of `sheetsync serve`: SIGKILL in the middle of a sync, start again on the same
cache. The previous data must be intact (PRAGMA integrity_check ok), the interrupted sync must read
"error" / "interrupted by restart", the earlier complete sync must still answer, unknown ids stay
404, and /api/sync-history lists both, newest first.

The sheet comes from tests/fake_google.py (its CSV export, 307 to a second host, chunked, trickled
slowly so that the kill lands mid-download). Python 3 stdlib only. Run:
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
    problem = h.check_binary()
    if problem:
        raise RuntimeError(problem)
    FAKE = g.FakeGoogle({SHEET: {'public': True, 'tabs': [{'gid': 0, 'values': V1}]}})


def tearDownModule():
    if FAKE:
        FAKE.stop()


def table(db, name='default'):
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


def committed_rows(db, name='default'):
    """The rows of the table as sync_meta has them, written in the transaction that swaps it in."""
    conn = sqlite3.connect(db)
    try:
        row = conn.execute('SELECT "rows" FROM sync_meta WHERE name = ?', (name,)).fetchone()
    finally:
        conn.close()
    return row[0] if row else None


class TestRestart(unittest.TestCase):

    def start(self, db):
        server = g.GServer(db, ['--source=' + FAKE.export_url(SHEET, 0), '--cooldown=100ms'])
        self.addCleanup(server.close)
        self.addCleanup(server.stop)
        return server

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

        # 2. A large sheet trickling out (~9 MB at ~400 KB/s): SIGKILL while it downloads
        # (once the fake has sent 500 KB of it).
        FAKE.reset_stats()
        FAKE.put_sheet(SHEET, {'public': True, 'chunk_bytes': 8192, 'chunk_delay': 0.02,
                               'tabs': [{'gid': 0, 'generate': {'rows': 200000, 'cols': 4}}]})
        r = first.start_sync()
        self.assertEqual(r.status, 202, r)
        killed_id = r.json()['syncId']
        self.assertNotEqual(killed_id, complete_id)
        deadline = time.monotonic() + 30
        while True:
            st = self.status(first, killed_id)
            self.assertIn(st['status'], RUNNING + ('idle',), st)
            sent = FAKE.stats()['bytes_sent'].get('export-host ' + SHEET, 0)
            if st['status'] in RUNNING and sent > 500000:
                break
            self.assertLess(time.monotonic(), deadline, 'the big sync did not get going: %r' % st)
            time.sleep(0.05)
        first.kill()  # SIGKILL
        self.assertEqual(first.proc.returncode, -9)
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

        r = second.get('/api/sync-history?source=default&limit=10')
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

    def test_sigkill_while_saving(self):
        """A kill late in the sync (processing or saving: the download is over, rows go into the
        staging table): still v1. Skipped when the sync ends before a poll sees those phases."""
        db = os.path.join(h.temp_dir(self), 'cache.db')
        FAKE.put_sheet(SHEET, {'public': True, 'tabs': [{'gid': 0, 'values': V1}]})
        first = self.start(db)
        st = first.sync()
        self.assertEqual(st['status'], 'complete', st)
        FAKE.put_sheet(SHEET, {'public': True, 'chunk_bytes': 65536,
                               'chunk_delay': 0.001,
                               'tabs': [{'gid': 0, 'generate': {'rows': 300000, 'cols': 4}}]})
        time.sleep(0.2)  # the cooldown
        r = first.start_sync()
        self.assertEqual(r.status, 202, r)
        sync_id = r.json()['syncId']
        deadline = time.monotonic() + 60
        while True:
            st = self.status(first, sync_id)
            if st['status'] in ('processing', 'saving'):
                break
            if st['status'] in ('complete', 'error', 'cancelled'):
                self.skipTest('the sync ended before a kill could land: %r' % st)
            self.assertLess(time.monotonic(), deadline, 'sync did not progress: %r' % st)
            time.sleep(0.01)
        first.kill()
        if committed_rows(db) == 300000:
            # On a loaded machine the commit can still win the race against the signal (the
            # table and its sync_meta row are swapped in by one transaction).
            self.skipTest('the sync committed before the kill landed')
        self.status_after_kill_checks(db)
        second = self.start(db)
        page = second.data()
        self.assertEqual(page['rows'], V1[1:])
        killed = self.status(second, sync_id)
        self.assertEqual(killed['status'], 'error', killed)
        self.assertIn('interrupted by restart', (killed.get('error') or '').lower(), killed)


if __name__ == '__main__':
    problem = h.check_binary()
    if problem:
        print('test_restart.py: ' + problem, file=sys.stderr)
        sys.exit(2)
    unittest.main(verbosity=2)
