"""Every tab of a spreadsheet (issue 13): a source with tabs = "all" (or a list of titles) and
API access syncs each tab into its own table <source>__<slug> in one sync, reads large tabs in
row ranges (--api-batch-rows), and swaps all tabs in at once: a failed tab keeps every table as it
was. Runs sheetsync serve against tests/fake_google.py."""

import json
import os
import shutil
import sqlite3
import sys
import tempfile
import unittest
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402
import googlehelpers as g  # noqa: E402

API_KEY = 'AIzaSyFake-' + os.urandom(12).hex()
BOOK = ('1TabsBook' + '_' * 44)[:44]
SALES = [['region', 'amount']] + [['r%d' % i, str(i * 10)] for i in range(1, 6)]
COSTS = [['item', 'cost', 'note'], ['paper', '3', ''], ['ink', '12', 'black, 2x']]
# Its slug collides with Sales' ("sales"): numbered.
SALES2 = [['x'], ['only']]

FAKE = None
DIR = None


def setUpModule():
    global FAKE, DIR
    DIR = tempfile.mkdtemp(prefix='sheetsync-tabs-')
    FAKE = g.FakeGoogle({BOOK: book()}, ['--api-key', API_KEY], directory=DIR)


def tearDownModule():
    if FAKE:
        FAKE.stop()
    if DIR:
        shutil.rmtree(DIR, True)


def book(**extra):
    sheet = {'public': True,
             'tabs': [{'gid': 0, 'title': 'Sales', 'values': SALES},
                      {'gid': 7, 'title': 'Q1 Costs', 'values': COSTS},
                      {'gid': 9, 'title': 'Sales!', 'values': SALES2}]}
    sheet.update(extra)
    return sheet


def dump(db, table):
    conn = sqlite3.connect(db)
    try:
        return conn.execute('SELECT * FROM "%s" ORDER BY _row' % table).fetchall()
    finally:
        conn.close()


def query(db, sql):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


class TabsCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        problem = h.check_binary()
        if problem:
            raise unittest.SkipTest(problem) if os.environ.get('SHEETSYNC_SKIP_MISSING') \
                else RuntimeError(problem)

    def setUp(self):
        FAKE.put_sheet(BOOK, book())
        FAKE.clear_failures()
        FAKE.reset_stats()

    def start(self, tabs='"all"', extra=(), batch_rows=2):
        d = h.temp_dir(self)
        conf = os.path.join(d, 'sheetsync.conf')
        with open(conf, 'w') as f:
            f.write('[sheetsync]\nsources = {\n  book = { id = "%s", api-key = "%s", '
                    'tabs = %s }\n}\n' % (BOOK, API_KEY, tabs))
        db = os.path.join(d, 'cache.db')
        server = g.GServer(db, FAKE.base_flags() + ['--config-file=' + conf, '--cooldown=0s',
                                                   '--api-batch-rows=%d' % batch_rows]
                           + list(extra))
        self.addCleanup(server.close)
        self.addCleanup(self.assertNoKey, server)
        self.addCleanup(server.stop)
        return server

    def assertNoKey(self, server):
        for r in server.responses:
            self.assertNotIn(API_KEY, r.raw())
        self.assertNotIn(API_KEY, server.output_text())

    def sync(self, server):
        r = server.start_sync('book')
        self.assertEqual(r.status, 202, r)
        seen = server.wait_finished(r.json()['syncId'], timeout=60, interval=0.02)
        return seen

    def test_every_tab_becomes_its_own_table_in_one_sync(self):
        server = self.start()
        seen = self.sync(server)
        st = seen[-1]
        self.assertEqual(st['status'], 'complete', st)
        # Rows summed over the tabs.
        self.assertEqual(st['stats']['lines'], 5 + 2 + 1, st)
        db = server.db
        self.assertEqual(dump(db, 'book__sales'),
                         [(i, r[0], r[1]) for i, r in enumerate(SALES[1:], 1)])
        self.assertEqual(dump(db, 'book__q1_costs'),
                         [(1, 'paper', '3', ''), (2, 'ink', '12', 'black, 2x')])
        self.assertEqual(dump(db, 'book__sales_2'), [(1, 'only')])
        # Which table holds which tab, for readers.
        self.assertEqual(query(db, 'SELECT position, title, table_name FROM sync_tabs WHERE '
                                   "source = 'book' ORDER BY position"),
                         [(0, 'Sales', 'book__sales'), (1, 'Q1 Costs', 'book__q1_costs'),
                          (2, 'Sales!', 'book__sales_2')])
        # Row ranges of 2 rows up to each tab's rowCount; only the first has the header.
        ranges = [r for sid, r in FAKE.stats()['ranges'] if sid == BOOK]
        self.assertEqual(ranges, ["'Sales'!1:2", "'Sales'!3:4", "'Sales'!5:6",
                                  "'Q1 Costs'!1:2", "'Q1 Costs'!3:4",
                                  "'Sales!'!1:2"])
        # /api/data: the first tab without tab=, any tab by its title, the titles listed.
        page = server.data('book')
        self.assertEqual(page['tab'], 'Sales')
        self.assertEqual(page['tabs'], ['Sales', 'Q1 Costs', 'Sales!'])
        self.assertEqual(page['columns'], SALES[0])
        self.assertEqual(page['rows'], SALES[1:])
        r = server.get('/api/data?source=book&tab=' + urllib.parse.quote('Q1 Costs'))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['tab'], 'Q1 Costs')
        self.assertEqual(r.json()['columns'], COSTS[0])
        self.assertEqual(r.json()['rows'], COSTS[1:])
        self.assertEqual(r.json()['total'], 2)
        r = server.get('/api/data?source=book&tab=Nope')
        self.assertEqual(r.status, 400, r)
        self.assertIn("no tab titled 'Nope'", r.json()['message'])
        # A second sync of the same content changes nothing.
        before = {t: dump(db, t) for t in ('book__sales', 'book__q1_costs', 'book__sales_2')}
        st = self.sync(server)[-1]
        self.assertEqual(st['status'], 'complete', st)
        self.assertIn('unchanged', (st.get('message') or '').lower(), st)
        self.assertEqual({t: dump(db, t) for t in before}, before)

    def test_the_status_names_the_tab_in_progress(self):
        FAKE.put_sheet(BOOK, book(chunk_bytes=32, chunk_delay=0.03))
        server = self.start(batch_rows=50000)
        seen = self.sync(server)
        self.assertEqual(seen[-1]['status'], 'complete', seen[-1])
        messages = [s.get('message') or '' for s in seen]
        self.assertTrue(any("tab 2 of 3 'Q1 Costs'" in m for m in messages), messages)
        progress = [s.get('progress', 0) for s in seen]
        self.assertEqual(progress, sorted(progress))

    def test_a_failed_second_tab_keeps_every_table_as_it_was(self):
        server = self.start()
        self.assertEqual(self.sync(server)[-1]['status'], 'complete')
        db = server.db
        tables = ('book__sales', 'book__q1_costs', 'book__sales_2')
        before = {t: dump(db, t) for t in tables}
        meta = query(db, 'SELECT * FROM sync_meta ORDER BY name')
        # New content in every tab, and the second tab's read fails for good (403).
        FAKE.set_tab(BOOK, 0, values=[['region', 'amount'], ['new', '1']])
        FAKE.set_tab(BOOK, 9, values=[['x'], ['new']])
        FAKE.fail(sheet=BOOK, route='api', status=403, tab='Q1 Costs', count=10)
        st = self.sync(server)[-1]
        self.assertEqual(st['status'], 'error', st)
        self.assertIn("tab 'Q1 Costs'", st.get('error') or '', st)
        self.assertEqual({t: dump(db, t) for t in tables}, before)
        self.assertEqual(query(db, 'SELECT * FROM sync_meta ORDER BY name'), meta)
        self.assertEqual(query(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE "
                                   "'\\_staging\\_%' ESCAPE '\\'"), [(0,)])
        # Once it reads again, every tab is new.
        FAKE.clear_failures()
        self.assertEqual(self.sync(server)[-1]['status'], 'complete')
        self.assertEqual(dump(db, 'book__sales'), [(1, 'new', '1')])
        self.assertEqual(dump(db, 'book__sales_2'), [(1, 'new')])

    def test_blank_rows_between_ranges_lose_no_rows(self):
        # Rows 3-4 blank: the API answers 'Gaps'!3:4 with no values at all, yet rows 5-6 hold
        # data; the grid goes on blank to row 9 (rowCount), and those rows are not written.
        gaps = [['k', 'v'], ['a', '1'], [], ['', ''], ['b', '2'], ['c', '3']]
        sheet = book()
        sheet['tabs'].append({'gid': 11, 'title': 'Gaps', 'values': gaps, 'rowCount': 9})
        FAKE.put_sheet(BOOK, sheet)
        server = self.start(tabs='["Gaps"]')
        st = self.sync(server)[-1]
        self.assertEqual(st['status'], 'complete', st)
        ranges = [r for sid, r in FAKE.stats()['ranges'] if sid == BOOK]
        self.assertEqual(ranges, ["'Gaps'!%d:%d" % (i, i + 1) for i in (1, 3, 5, 7, 9)])
        rows = dump(server.db, 'book__gaps')
        self.assertEqual([r[1:] for r in rows if r[1] or r[2]], [('a', '1'), ('b', '2'),
                                                                 ('c', '3')])
        server.stop()
        # Blank rows come out as when the whole tab is one answer.
        whole = self.start(tabs='["Gaps"]', batch_rows=50000)
        self.assertEqual(self.sync(whole)[-1]['status'], 'complete')
        self.assertEqual(dump(whole.db, 'book__gaps'), rows)

    def test_listed_tabs_only_and_an_unknown_title_fails(self):
        server = self.start(tabs='["Q1 Costs"]')
        self.assertEqual(self.sync(server)[-1]['status'], 'complete')
        self.assertEqual(query(server.db, 'SELECT title, table_name FROM sync_tabs'),
                         [('Q1 Costs', 'book__q1_costs')])
        self.assertEqual(query(server.db, "SELECT count(*) FROM sqlite_master WHERE name = "
                                          "'book__sales'"), [(0,)])
        server.stop()
        server = self.start(tabs='["Q1 Costs", "Nope"]')
        st = self.sync(server)[-1]
        self.assertEqual(st['status'], 'error', st)
        self.assertIn("no tab titled 'Nope'", st.get('error') or '', st)
        self.assertIn("'Q1 Costs'", st.get('error') or '', st)


if __name__ == '__main__':
    unittest.main()
