#!/usr/bin/env python3
"""Sources added at run time against a real `sheetsync serve`: stored in the cache's `sources`
table and back after a restart (scheduled again), fixed sources refused with 409, a stored name
that clashes with a fixed source skipped with one warning line, and a delete that drops the
source's tables but keeps its history, also across a restart. Python 3 stdlib only. Run:
  python3 tests/api/test_sources_restart.py [-v]
"""

import json
import os
import sqlite3
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402

JSON = {'Content-Type': 'application/json'}


def tables(db):
    conn = sqlite3.connect(db, timeout=5)
    try:
        return sorted(r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"))
    finally:
        conn.close()


def query(db, sql):
    conn = sqlite3.connect(db, timeout=5)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


class SourcesRestartTest(h.FakeSheetCase):

    def setUp(self):
        self.dir = h.temp_dir(self)
        self.db = os.path.join(self.dir, 'cache.db')

    def serve(self):
        srv = h.Server(self.sheet.url('/ok.csv'), self.db, ['--name=fixed'])
        self.addCleanup(srv.close)
        return srv

    def add(self, srv, body):
        return srv.post('/api/sources', headers=JSON, body=json.dumps(body))

    def test_added_source_survives_a_restart_and_its_delete_keeps_history(self):
        srv = self.serve()
        r = self.add(srv, {'name': 'added', 'url': self.sheet.url('/ok.csv'),
                           'interval': '1h'})
        self.assertEqual(r.status, 201, r.body)
        self.assertIn('sources', tables(self.db))
        self.assertEqual(query(self.db, 'SELECT name, interval_ms FROM sources'),
                         [('added', 3600000)])
        r = srv.post('/api/sync-sheets-bg?source=added')
        self.assertEqual(r.status, 202, r.body)
        sync_id = r.json()['syncId']
        self.assertEqual(srv.wait_finished(sync_id)[-1]['status'], 'complete')
        self.assertIn('added', tables(self.db))
        self.assertEqual(srv.stop(), 0)

        srv = self.serve()
        r = srv.get('/api/sources/added')
        self.assertEqual(r.status, 200, r.body)
        self.assertFalse(r.json().get('fixed'))
        names = [x['name'] for x in srv.get('/api/sources').json()['sources']]
        self.assertEqual(names, ['fixed', 'added'])
        # The fixed one says where it is defined and cannot change.
        r = srv.request('PATCH', '/api/sources/fixed', headers=JSON,
                        body=json.dumps({'interval': '1h'}))
        self.assertEqual(r.status, 409, r.body)
        self.assertEqual(r.json()['error'], 'fixed_source')
        self.assertIn('--source', r.json()['message'])
        self.assertEqual(srv.delete('/api/sources/fixed').status, 409)
        # A change is stored too.
        r = srv.request('PATCH', '/api/sources/added', headers=JSON,
                        body=json.dumps({'interval': '2h'}))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(query(self.db, 'SELECT interval_ms FROM sources'), [(7200000,)])
        # Delete: table gone, history kept.
        r = srv.delete('/api/sources/added')
        self.assertEqual(r.status, 200, r.body)
        self.assertNotIn('added', tables(self.db))
        self.assertEqual(query(self.db, 'SELECT count(*) FROM sources'), [(0,)])
        self.assertEqual(query(self.db, "SELECT id FROM sync_runs WHERE source = 'added'"),
                         [(sync_id,)])
        self.assertEqual(srv.get('/api/sources/added').status, 404)
        self.assertEqual(srv.stop(), 0)

        srv = self.serve()
        self.assertEqual(srv.get('/api/sources/added').status, 404)
        self.assertEqual(srv.get('/api/sync-sheets-bg?syncId=' + sync_id).status, 200)

    def test_a_stored_source_named_like_a_fixed_one_is_skipped_with_a_warning(self):
        srv = self.serve()
        self.assertEqual(self.add(srv, {'name': 'other',
                                        'url': self.sheet.url('/ok.csv')}).status, 201)
        self.assertEqual(srv.stop(), 0)
        conn = sqlite3.connect(self.db, timeout=5)
        with conn:
            conn.execute("UPDATE sources SET name = 'FIXED'")
        conn.close()
        srv = self.serve()
        names = [x['name'] for x in srv.get('/api/sources').json()['sources']]
        self.assertEqual(names, ['fixed'])
        self.assertTrue(srv.get('/api/sources/fixed').json()['fixed'])
        warnings = [l for l in srv.stderr_text().splitlines() if 'FIXED' in l]
        self.assertEqual(len(warnings), 1, srv.stderr_text())


if __name__ == '__main__':
    h.main()
