#!/usr/bin/env python3
"""Process tests of /api/data on sheets with big cells: a page ends early past its byte cap and
says where to go on (`next`), and concurrent pages of a big sheet are answered or refused by the
cache reader (503 with Retry-After naming it), never left to time out as "the sync coordinator
did not answer".

Python 3 stdlib only; the sheet is a file:// CSV. Run: python3 tests/api/test_data_pages.py [-v]
"""

import os
import sys
import threading
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402

MIB = 1 << 20


def setUpModule():
    h.require_binary()


class DataPagesCase(unittest.TestCase):
    def serve_csv(self, rows):
        """Writes `rows` (header first) as a CSV, serves it and syncs it once."""
        d = h.temp_dir(self)
        path = os.path.join(d, 'big.csv')
        with open(path, 'w', newline='') as f:
            for row in rows:
                f.write(','.join(row) + '\n')
        server = h.Server('file://' + path, os.path.join(d, 'cache.db'))
        self.addCleanup(server.close)
        self.addCleanup(server.stop)
        final = server.sync(timeout=60)
        self.assertEqual(final['status'], 'complete', final)
        return server

    def page(self, server, query):
        r = server.get('/api/data?source=sheet&' + query, timeout=60)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_a_page_stops_past_8_mib_and_gives_next(self):
        letters = 'abcde'
        server = self.serve_csv([['big', 'small']]
                                + [[c * (3 * MIB), c] for c in letters])
        first = self.page(server, 'limit=100&offset=0')
        self.assertEqual(first['total'], 5)
        self.assertEqual([r[1] for r in first['rows']], ['a', 'b', 'c'])
        self.assertEqual(first['rows'][0][0], 'a' * (3 * MIB))
        self.assertEqual(first['next'], 3)
        rest = self.page(server, 'limit=100&offset=%d' % first['next'])
        self.assertEqual([r[1] for r in rest['rows']], ['d', 'e'])
        self.assertNotIn('next', rest)
        # A page that is not cut short has no next.
        small = self.page(server, 'limit=2&offset=0')
        self.assertEqual(len(small['rows']), 2)
        self.assertNotIn('next', small)

    def test_concurrent_big_pages_are_answered_or_refused_by_the_reader(self):
        server = self.serve_csv([['big', 'small'], ['x' * (50 * MIB), '1'], ['y', '2']])
        results = [None] * 10
        start = threading.Barrier(len(results))

        def fetch(i):
            start.wait()
            try:
                results[i] = server.get('/api/data?source=sheet&limit=1', timeout=60)
            except Exception as e:  # shown in the failure below
                results[i] = e

        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        served = 0
        for r in results:
            self.assertIsInstance(r, h.Response, r)
            if r.status == 200:
                page = r.json()
                self.assertEqual(len(page['rows']), 1)
                self.assertEqual(len(page['rows'][0][0]), 50 * MIB)
                served += 1
                continue
            self.assertEqual(r.status, 503, r)
            self.assertIsNotNone(r.header('Retry-After'), r)
            self.assertIn('cache reader', r.json()['message'], r)
            self.assertNotIn('coordinator', r.text(), r)
        self.assertGreaterEqual(served, 1)
        sys.stderr.write('\n[%d of %d served; server peak rss %.0f MiB]\n'
                         % (served, len(results), server.peak_mib()))


if __name__ == '__main__':
    unittest.main()
