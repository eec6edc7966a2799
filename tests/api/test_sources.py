#!/usr/bin/env python3
"""Process tests of the sources API (issue 13): POST /api/sources/check, POST /api/sources,
GET/PATCH/DELETE /api/sources/NAME, against the real binary on loopback with the fake sheet
server and the fake Google.

    python3 tests/api/test_sources.py        (SHEETSYNC_BIN overrides build/sheetsync)
"""

import json
import os
import shutil
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402
import googlehelpers as g  # noqa: E402

API_KEY = 'AIzaSyFake-' + os.urandom(12).hex()
SHEET_ID = ('1SourcesApiSheet' + '_' * 44)[:44]
GRID = [['sku', 'qty'], ['A-1', '5'], ['B-2', '7']]
JSON = {'Content-Type': 'application/json'}

SHEET = None    # the fake sheet server (tests/fake_server.py)
GOOGLE = None   # the fake Google (tests/fake_google.py)
DIR = None


def setUpModule():
    global SHEET, GOOGLE, DIR
    h.require_binary()
    DIR = tempfile.mkdtemp(prefix='sheetsync-sources-')
    SHEET = h.FakeSheet()
    GOOGLE = g.FakeGoogle({SHEET_ID: {'public': True,
                                      'tabs': [{'gid': 0, 'title': 'Stock', 'values': GRID}]}},
                          ['--api-key', API_KEY], directory=DIR)


def tearDownModule():
    for fake in (SHEET, GOOGLE):
        if fake:
            fake.stop()
    if DIR:
        shutil.rmtree(DIR, True)


class SourcesTest(unittest.TestCase):
    """Every test starts its own `sheetsync serve` with one fixed source (--source, named
    "main") and a fresh cache unless it passes one."""

    def start(self, db=None, args=(), source=None):
        db = db or os.path.join(h.temp_dir(self), 'cache.db')
        source = source or SHEET.url('/ok.csv')
        server = g.GServer(db, ['--source=' + source, '--name=main', '--cooldown=0s']
                           + GOOGLE.base_flags() + list(args))
        self.addCleanup(server.close)
        self.addCleanup(self.assertNoKey, server)
        self.addCleanup(server.stop)
        return server

    def call(self, server, method, path, body=None, headers=JSON):
        data = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
        return server.request(method, path, headers=dict(headers or {}), body=data)

    def add(self, server, **fields):
        r = self.call(server, 'POST', '/api/sources', fields)
        self.assertEqual(r.status, 201, r.body)
        return r.json()

    def assertError(self, r, status, code, *words):
        self.assertEqual(r.status, status, r.body)
        body = r.json()
        self.assertIs(body['success'], False)
        self.assertEqual(body['error'], code, body)
        for w in words:
            if w.endswith(':'):  # a field's problem starts with its name
                self.assertTrue(body['message'].startswith(w), body['message'])
            else:
                self.assertIn(w, body['message'])
        return body

    def assertNoKey(self, server):
        for i, r in enumerate(server.responses):
            self.assertNotIn(API_KEY, r.raw(), 'the API key in the answer to request %d' % i)
        self.assertNotIn(API_KEY, server.output_text())

    def listed(self, server):
        r = server.get('/api/sources')
        self.assertEqual(r.status, 200, r.body)
        return {x['name']: x for x in r.json()['sources']}

    def sync(self, server, name, timeout=30):
        return server.sync_source(name, timeout=h.time_bound(timeout))

    # -- the routes ---------------------------------------------------------------------------

    def test_add_get_patch_sync_delete(self):
        server = self.start()
        url = SHEET.url('/ok.csv')
        r = self.call(server, 'POST', '/api/sources', {'name': 'extra', 'url': url})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.header('Location'), '/api/sources/extra')
        added = r.json()
        self.assertEqual(added['name'], 'extra')
        self.assertIs(added['fixed'], False)
        self.assertIsNone(added['intervalSeconds'])
        self.assertNotIn('apiKey', added)

        listed = self.listed(server)
        self.assertEqual(list(listed), ['main', 'extra'])
        self.assertIs(listed['main']['default'], True)
        self.assertIs(listed['main']['fixed'], True)
        self.assertTrue(listed['main']['definedIn'], listed['main'])
        self.assertIs(listed['extra']['fixed'], False)
        self.assertIsNone(listed['extra']['definedIn'])

        r = server.get('/api/sources/extra')
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()['name'], 'extra')

        r = self.call(server, 'PATCH', '/api/sources/extra', {'interval': '1h'})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()['intervalSeconds'], 3600)
        self.assertEqual(self.listed(server)['extra']['intervalSeconds'], 3600)
        r = self.call(server, 'PATCH', '/api/sources/extra', {'interval': 'manual'})
        self.assertIsNone(r.json()['intervalSeconds'], r.body)

        st = self.sync(server, 'extra')
        self.assertEqual(st['status'], 'complete', st)
        self.assertEqual(st['source'], 'extra')
        self.assertEqual(server.data('extra')['total'], h.DEMO_ROWS)

        r = server.delete('/api/sources/extra')
        self.assertEqual(r.status, 200, r.body)
        self.assertIs(r.json()['success'], True)
        self.assertError(server.get('/api/sources/extra'), 404, 'unknown_source')
        self.assertEqual(list(self.listed(server)), ['main'])
        self.assertError(server.get('/api/data?source=extra'), 404, 'unknown_source')
        # Its history stays.
        syncs = server.get('/api/sync-history?limit=100').json()['syncs']
        self.assertIn(st['syncId'], [x['syncId'] for x in syncs])

    def test_check_reads_header_and_first_rows_and_saves_nothing(self):
        server = self.start()
        r = self.call(server, 'POST', '/api/sources/check', {'url': SHEET.url('/ok.csv')})
        self.assertEqual(r.status, 200, r.body)
        res = r.json()
        self.assertIs(res['ok'], True, res)
        with open(h.DEMO_CSV, encoding='utf-8') as f:
            header = f.readline().strip().split(',')
        self.assertEqual(res['columns'], header)
        self.assertTrue(1 <= len(res['rows']) <= 5, res['rows'])
        self.assertEqual(res['access'], 'export')
        self.assertTrue(res['name'], res)
        self.assertEqual(list(self.listed(server)), ['main'])

        for path in ('/status/404', '/html'):
            r = self.call(server, 'POST', '/api/sources/check', {'url': SHEET.url(path)})
            self.assertEqual(r.status, 200, r.body)
            res = r.json()
            self.assertIs(res['ok'], False, (path, res))
            self.assertTrue(res['message'], res)
            self.assertNotIn('columns', res)
        self.assertError(self.call(server, 'POST', '/api/sources/check', {'name': 'x'}),
                         400, 'invalid_argument', 'url:')
        self.assertEqual(list(self.listed(server)), ['main'])

    def test_bad_bodies_answer_400_naming_the_field(self):
        server = self.start()
        url = SHEET.url('/ok.csv')
        cases = [
            ({'url': url}, 'name:'),
            ({'name': 'a b', 'url': url}, 'name:'),
            ({'name': 'a__b', 'url': url}, 'name:'),
            ({'name': 7, 'url': url}, 'name:'),
            ({'name': 'x'}, 'url:'),
            ({'name': 'x', 'url': 'file:///etc/passwd'}, 'url:'),
            ({'name': 'x', 'url': 5}, 'url:'),
            ({'name': 'x', 'id': 'no/slashes'}, 'id:'),
            ({'name': 'x', 'url': url, 'id': 'abc'}, 'url:'),
            ({'name': 'x', 'url': url, 'interval': 15}, 'interval:'),
            ({'name': 'x', 'url': url, 'interval': 'soon'}, 'interval:'),
            ({'name': 'x', 'url': url, 'interval': '10ms'}, 'interval:'),
            ({'name': 'x', 'url': url, 'interval': '999999999999999991h'}, 'interval:'),
            ({'name': 'x', 'url': url, 'access': 'magic'}, 'access:'),
            ({'name': 'x', 'url': url, 'tabs': 3}, 'tabs:'),
            ({'name': 'x', 'url': url, 'tabs': ['A', 'A']}, 'tabs:'),
            ({'name': 'x', 'url': url, 'gid': 'first'}, 'gid:'),
            ({'name': 'x', 'url': url, 'apiKey': ['k']}, 'apiKey:'),
            ({'name': 'x', 'url': url, 'colour': 'red'}, '"colour"'),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                self.assertError(self.call(server, 'POST', '/api/sources', body), 400,
                                 'invalid_argument', field)
        for raw in ('not json', '[1, 2]', '{"name": "x", "name": "y", "url": "%s"}' % url,
                    '{' * 100000):
            with self.subTest(raw=raw[:20]):
                r = self.call(server, 'POST', '/api/sources', raw)
                self.assertIn(r.status, (400, 413), r.body)
        self.assertError(self.call(server, 'POST', '/api/sources',
                                   {'name': 'x', 'url': url, 'apiKey': 'k' * 20000}),
                         413, 'payload_too_large')
        self.assertError(self.call(server, 'POST', '/api/sources', {'name': 'x', 'url': url},
                                   headers={'Content-Type': 'text/plain'}),
                         415, 'unsupported_media_type')
        self.assertError(self.call(server, 'PATCH', '/api/sources/main', {'name': 'other'}),
                         400, 'invalid_argument', 'name:')
        self.assertError(self.call(server, 'PATCH', '/api/sources/main', {'interval': []}),
                         400, 'invalid_argument', 'interval:')
        # Nothing was added by any of them.
        self.assertEqual(list(self.listed(server)), ['main'])
        self.assertTrue(server.proc.poll() is None, 'the server still runs')

    def test_unknown_existing_and_fixed_sources(self):
        server = self.start()
        url = SHEET.url('/ok.csv')
        for method in ('GET', 'PATCH', 'DELETE'):
            with self.subTest(method=method):
                body = {'interval': '1h'} if method == 'PATCH' else None
                self.assertError(self.call(server, method, '/api/sources/nope', body),
                                 404, 'unknown_source')
        self.add(server, name='extra', url=url)
        self.assertError(self.call(server, 'POST', '/api/sources', {'name': 'extra', 'url': url}),
                         409, 'source_exists')
        self.assertError(self.call(server, 'POST', '/api/sources', {'name': 'main', 'url': url}),
                         409, 'source_exists')
        fixed = self.assertError(self.call(server, 'PATCH', '/api/sources/main',
                                           {'interval': '1h'}), 409, 'fixed_source')
        self.assertIn('--', fixed['message'])  # says which flag defines it
        self.assertError(server.delete('/api/sources/main'), 409, 'fixed_source')
        self.assertIsNone(self.listed(server)['main']['intervalSeconds'])
        r = server.request('PUT', '/api/sources/extra', headers=JSON, body='{}')
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header('Allow'), 'GET, HEAD, PATCH, DELETE')

    def test_a_config_file_source_is_fixed(self):
        d = h.temp_dir(self)
        conf = os.path.join(d, 'sheetsync.conf')
        with open(conf, 'w') as f:
            f.write('[sheetsync]\nsources = {\n  sales = { url = "%s" }\n}\n'
                    % SHEET.url('/ok.csv'))
        db = os.path.join(d, 'cache.db')
        server = g.GServer(db, ['--config-file=' + conf, '--cooldown=0s'])
        self.addCleanup(server.close)
        self.addCleanup(server.stop)
        sales = self.listed(server)['sales']
        self.assertIs(sales['fixed'], True)
        self.assertIn(conf, sales['definedIn'])
        body = self.assertError(server.delete('/api/sources/sales'), 409, 'fixed_source')
        self.assertIn(conf, body['message'])

    def test_an_added_source_is_back_after_a_restart(self):
        db = os.path.join(h.temp_dir(self), 'cache.db')
        server = self.start(db=db)
        self.add(server, name='extra', url=SHEET.url('/ok.csv'), interval='2h')
        st = self.sync(server, 'extra')
        self.assertEqual(st['status'], 'complete', st)
        self.assertEqual(server.stop(), 0)

        again = self.start(db=db)
        r = again.get('/api/sources/extra')
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()['intervalSeconds'], 7200)
        self.assertIs(r.json()['fixed'], False)
        self.assertEqual(again.data('extra')['total'], h.DEMO_ROWS)
        # A removed one stays removed.
        self.assertEqual(again.delete('/api/sources/extra').status, 200)
        self.assertEqual(again.stop(), 0)
        third = self.start(db=db)
        self.assertError(third.get('/api/sources/extra'), 404, 'unknown_source')

    def test_delete_cancels_a_running_sync_and_keeps_its_history(self):
        server = self.start()
        self.add(server, name='slow', url=SHEET.url('/slow?interval_ms=50&lines=2000'))
        r = server.start_sync('slow')
        self.assertEqual(r.status, 202, r.body)
        sync_id = r.json()['syncId']
        server.wait_running(sync_id)
        r = server.delete('/api/sources/slow')
        self.assertEqual(r.status, 200, r.body)
        deadline = time.monotonic() + h.time_bound(10)
        while True:
            syncs = server.get('/api/sync-history?limit=100').json()['syncs']
            mine = [x for x in syncs if x['syncId'] == sync_id]
            if mine and mine[0]['status'] in ('cancelled', 'error', 'complete'):
                break
            self.assertLess(time.monotonic(), deadline, 'the sync did not end: %r' % mine)
            time.sleep(0.1)
        self.assertEqual(mine[0]['status'], 'cancelled', mine[0])
        self.assertEqual(list(self.listed(server)), ['main'])

    def test_a_scheduled_added_source_runs(self):
        server = self.start()
        self.add(server, name='ticking', url=SHEET.url('/ok.csv'), interval='1s')
        deadline = time.monotonic() + h.time_bound(15)
        while True:
            last = server.get('/api/sources/ticking').json()['last']
            if last and last['status'] == 'complete':
                break
            self.assertLess(time.monotonic(), deadline, 'no scheduled sync ran: %r' % last)
            time.sleep(0.2)
        self.assertEqual(server.data('ticking')['total'], h.DEMO_ROWS)
        # Once removed, its schedule stops with it.
        self.assertEqual(server.delete('/api/sources/ticking').status, 200)
        time.sleep(2.5)
        syncs = server.get('/api/sync-history?limit=1000').json()['syncs']
        running = [x for x in syncs if x['source'] == 'ticking'
                   and x['status'] not in ('complete', 'error', 'cancelled')]
        self.assertEqual(running, [])

    def test_the_api_key_is_never_shown(self):
        server = self.start()
        r = self.call(server, 'POST', '/api/sources/check',
                      {'id': SHEET_ID, 'access': 'api', 'apiKey': API_KEY})
        self.assertEqual(r.status, 200, r.body)
        self.assertIs(r.json()['ok'], True, r.body)
        self.assertEqual(r.json()['columns'], GRID[0])
        added = self.add(server, name='keyed', id=SHEET_ID, access='api', apiKey=API_KEY)
        self.assertEqual(added['apiKey'], '***')
        self.assertEqual(self.listed(server)['keyed']['apiKey'], '***')
        self.assertEqual(server.get('/api/sources/keyed').json()['apiKey'], '***')
        st = self.sync(server, 'keyed')
        self.assertEqual(st['status'], 'complete', st)
        r = self.call(server, 'PATCH', '/api/sources/keyed', {'interval': '30min'})
        self.assertEqual(r.json()['apiKey'], '***')
        # A wrong key fails the check in words, without showing either key.
        r = self.call(server, 'POST', '/api/sources/check',
                      {'id': SHEET_ID, 'access': 'api', 'apiKey': 'AIzaWrong' + API_KEY[::-1]})
        self.assertIs(r.json()['ok'], False, r.body)
        self.assertNotIn(API_KEY[::-1], r.raw())
        # assertNoKey (a cleanup) checks every answer and the output.


if __name__ == '__main__':
    h.main()
