#!/usr/bin/env python3
"""The facade's status cache against a real `sheetsync serve`: after a restart the status of a
sync from before is in the history (SQLite) only; the first read by id asks the coordinator (which
reads the history), the next ones are answered from the facade's memory, byte for byte the same,
and /metrics says which was which. Python 3 stdlib only. Run:
  python3 tests/api/test_status_reads.py [-v]
"""

import os
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402

READS = 'sheetsync_status_reads_total{answered="%s"}'


def reads(srv):
    """(answered from the cache, asked of the coordinator) so far."""
    text = srv.get('/metrics').text()
    return h.metric(text, READS % 'cache'), h.metric(text, READS % 'coordinator')


class StatusCacheTest(h.FakeSheetCase):

    def serve(self, db):
        srv = h.Server(self.sheet.url('/ok.csv'), db)
        self.addCleanup(srv.close)
        return srv

    def test_a_status_from_the_history_is_read_from_sqlite_once(self):
        db = os.path.join(h.temp_dir(self), 'cache.db')
        srv = self.serve(db)
        final = srv.sync()
        self.assertEqual(final['status'], 'complete', final)
        sync_id = final['syncId']
        self.assertEqual(srv.stop(), 0)

        srv = self.serve(db)
        self.assertEqual(reads(srv), (0, 0))
        first = srv.status(sync_id)
        self.assertEqual(first.status, 200, first)
        self.assertEqual(reads(srv), (0, 1))
        second = srv.status(sync_id)
        self.assertEqual(second.status, 200, second)
        self.assertEqual(reads(srv), (1, 1))
        self.assertEqual(second.body, first.body)
        st = first.json()
        self.assertEqual((st['syncId'], st['status'], st['stats']['lines']),
                         (sync_id, 'complete', h.DEMO_ROWS), st)
        # An id nobody knows is asked each time (and not kept).
        for _ in range(2):
            self.assertEqual(srv.status('sync-unknown').status, 404)
        self.assertEqual(reads(srv), (1, 3))


if __name__ == '__main__':
    h.main()
