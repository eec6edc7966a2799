#!/usr/bin/env python3
"""Process tests of POST /api/sources/check through the real binary: the coordinator plans the
source and a detached source_checker fetches the header and first rows from the fake Google
(tests/fake_google.py) and the fake server (tests/fake_server.py), saving nothing. Covers a good
sheet, one not shared, a 404, an HTML page, the Sheets API with its tabs, and that the check reads
no further than it needs (the source_checker suite covers the rest: a service account's 403, a bad
key, bytes that are not CSV).

Python 3 stdlib only. The binary is $SHEETSYNC_BIN (default <repo>/build/sheetsync). Run:
  python3 tests/api/test_source_check.py [-v] [TestClass[.test]]
"""

import json
import os
import shutil
import sqlite3
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402
import googlehelpers as g  # noqa: E402

API_KEY = 'AIzaSyFake-' + os.urandom(12).hex()


GOOD = g.sheet_id('GoodTwelveRows')
NOT_SHARED = g.sheet_id('PrivateForSomeoneElse')
TWO_TABS = g.sheet_id('TwoTabs')
HUGE = g.sheet_id('HugeTrickling')
ROWS = [['id', 'name']] + [[str(i), 'row %d' % i] for i in range(1, 13)]

SA = None
FAKE = None
DIR = None


def setUpModule():
    global SA, FAKE, DIR
    DIR = tempfile.mkdtemp(prefix='sheetsync-check-')
    SA = g.ServiceAccount(DIR)
    sheets = {
        GOOD: {'public': True, 'tabs': [{'gid': 0, 'title': 'Sheet1', 'values': ROWS}]},
        NOT_SHARED: {'public': False, 'shared_with': ['else@example.com'],
                     'tabs': [{'gid': 0, 'title': 'Sheet1', 'values': ROWS}]},
        TWO_TABS: {'public': True, 'tabs': [
            {'gid': 0, 'title': 'Orders', 'values': [['order', 'qty'], ['A-1', '5']]},
            {'gid': 77, 'title': 'Stock 2', 'values': [['sku', 'left'], ['S-1', '0']]}]},
        # 200,000 rows trickling in 2 KB pieces every 50 ms: the whole would take minutes.
        HUGE: {'public': True, 'chunk_bytes': 2048, 'chunk_delay': 0.05,
               'tabs': [{'gid': 0, 'title': 'Sheet1', 'generate': {'rows': 200000, 'cols': 4}}]},
    }
    FAKE = g.FakeGoogle(sheets, ['--public-key', SA.pub_path, '--client-email', SA.email,
                                 '--api-key', API_KEY], directory=DIR)
    SA.write_credentials(FAKE.token_uri)


def tearDownModule():
    if FAKE:
        FAKE.stop()
    if DIR:
        shutil.rmtree(DIR, True)


class CheckCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        problem = h.check_binary()
        if problem:
            raise unittest.SkipTest(problem) if os.environ.get('SHEETSYNC_SKIP_MISSING') \
                else RuntimeError(problem)
        d = tempfile.mkdtemp(prefix='sheetsync-check-srv-')
        cls.addClassCleanup(shutil.rmtree, d, True)
        cls.db = os.path.join(d, 'cache.db')
        cls.server = g.GServer(cls.db, FAKE.base_flags() + ['--source=' + GOOD])
        cls.addClassCleanup(cls.server.close)
        cls.addClassCleanup(cls.server.stop)

    def check(self, body, status=200):
        r = self.server.post('/api/sources/check', body=json.dumps(body),
                             headers={'Content-Type': 'application/json'}, timeout=60)
        self.assertEqual(r.status, status, r)
        return r.json()

    def refused(self, body, *parts):
        x = self.check(body)
        self.assertFalse(x['ok'], x)
        for part in parts:
            self.assertIn(part, x['message'])
        return x

    def assertNothingSaved(self):
        conn = sqlite3.connect(self.db)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                                 "'table'")}
        finally:
            conn.close()
        self.assertFalse({t for t in tables if t.startswith('sheet_') or t == 'orders'}, tables)


class TestSourceCheck(CheckCase):

    def test_a_good_sheet_shows_its_header_and_five_rows(self):
        x = self.check({'url': FAKE.edit_url(GOOD), 'access': 'export'})
        self.assertTrue(x['ok'], x)
        self.assertEqual(x['columns'], ['id', 'name'])
        self.assertEqual(x['rows'], ROWS[1:6])
        self.assertEqual(x['access'], 'export')
        self.assertRegex(x['name'], r'^[a-z0-9]+(_[a-z0-9]+)*$')
        self.assertNothingSaved()

    def test_not_shared_404_and_html_are_explained(self):
        # Without credentials Google answers its sign-in page.
        self.refused({'id': NOT_SHARED, 'access': 'export'}, 'HTML page instead of CSV',
                     'Anyone with the link')
        self.refused({'id': g.sheet_id('NoSuchSheet')}, 'HTTP 404',
                     'check the spreadsheet id ' + g.sheet_id('NoSuchSheet'))
        fake = h.FakeProcess(os.path.join(h.REPO, 'tests', 'fake_server.py'), [])
        self.addCleanup(fake.stop)
        self.refused({'url': 'http://127.0.0.1:%d/html' % fake.port}, 'HTML page instead of CSV')

    def test_the_sheets_api_lists_the_tabs(self):
        x = self.check({'url': FAKE.edit_url(TWO_TABS, 77), 'access': 'api', 'apiKey': API_KEY})
        self.assertTrue(x['ok'], x)
        self.assertEqual(x['access'], 'api')
        self.assertEqual(x['tabs'], [{'gid': '0', 'title': 'Orders'},
                                     {'gid': '77', 'title': 'Stock 2'}])
        self.assertEqual(x['columns'], ['sku', 'left'])
        self.assertEqual(x['rows'], [['S-1', '0']])
        self.assertNotIn(API_KEY, json.dumps(x))

    def test_a_check_reads_no_further_than_it_needs(self):
        # Counted in bytes, not timed: the fake's bytes show how far it read.
        before = FAKE.stats()
        x = self.check({'id': HUGE, 'access': 'export'})
        self.assertTrue(x['ok'], x)
        self.assertEqual(len(x['rows']), 5)
        sent = sum(n for k, n in FAKE.stats()['bytes_sent'].items() if HUGE in k) - \
            sum(n for k, n in before['bytes_sent'].items() if HUGE in k)
        self.assertGreater(sent, 0)
        self.assertLess(sent, 256 * 1024)


if __name__ == '__main__':
    unittest.main(verbosity=2)
