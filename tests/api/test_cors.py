#!/usr/bin/env python3
"""CORS against a real `sheetsync serve` on loopback: --cors-origin (repeatable) and cors-origins
in the config file, preflights answered before the token filter, every answer to an allowed
Origin naming it (errors, /sheetsync.js and the event stream too), no CORS field for any other
origin, and origins that are refused at start-up with a message naming the flag. Python 3 stdlib
only. Run:
  python3 tests/api/test_cors.py [-v]
"""

import http.client
import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402

APP = 'http://127.0.0.1:3000'
OTHER_APP = 'https://app.example.com'
TOKEN = 's3cret'
AUTH = {'Authorization': 'Bearer ' + TOKEN}


def cors_fields(r):
    return {k.lower(): v for k, v in r.header_list if k.lower().startswith('access-control-')}


class CorsTest(h.FakeSheetCase):

    def serve(self, args=()):
        db = os.path.join(h.temp_dir(self), 'cache.db')
        srv = h.Server(self.sheet.url('/ok.csv'), db, list(args))
        self.addCleanup(srv.close)
        return srv

    def test_preflight_and_answers_to_allowed_origins(self):
        srv = self.serve(['--cors-origin=' + APP, '--cors-origin', OTHER_APP + '/',
                          '--api-token=' + TOKEN])
        for origin in (APP, OTHER_APP):
            r = srv.request('OPTIONS', '/api/sync-sheets-bg', headers={
                'Origin': origin, 'Access-Control-Request-Method': 'POST',
                'Access-Control-Request-Headers': 'authorization'})
            self.assertEqual(r.status, 204, r.body)
            self.assertEqual(r.body, b'')
            self.assertEqual(r.header('Access-Control-Allow-Origin'), origin)
            self.assertEqual(r.header('Access-Control-Allow-Methods'), 'GET, HEAD, POST, DELETE')
            self.assertEqual(r.header('Access-Control-Allow-Headers'),
                             'authorization, content-type, last-event-id')
            self.assertEqual(r.header('Access-Control-Max-Age'), '600')
            self.assertEqual(r.header('Vary'), 'Origin')
        # A start with the token, its 202 readable by the page (Location exposed).
        r = srv.post('/api/sync-sheets-bg', headers=dict(AUTH, Origin=APP))
        self.assertEqual(r.status, 202, r.body)
        self.assertEqual(r.header('Access-Control-Allow-Origin'), APP)
        self.assertIn('Location', r.header('Access-Control-Expose-Headers'))
        self.assertIn('Retry-After', r.header('Access-Control-Expose-Headers'))
        srv.wait_finished(r.json()['syncId'], headers=AUTH)
        # Errors carry the fields too: 401 without the token, 404, 405.
        for method, path, headers in (('GET', '/api/data', {}),
                                      ('GET', '/nope', {}),
                                      ('PUT', '/api/sync-sheets-bg', AUTH)):
            r = srv.request(method, path, headers=dict(headers, Origin=APP))
            self.assertGreaterEqual(r.status, 400)
            self.assertEqual(r.header('Access-Control-Allow-Origin'), APP, (method, path))
            self.assertEqual(r.header('Vary'), 'Origin')
        # The module, with the type browsers need for a module script.
        r = srv.get('/sheetsync.js', headers={'Origin': APP})
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header('Content-Type').startswith('text/javascript'))
        self.assertEqual(r.header('Access-Control-Allow-Origin'), APP)
        self.assertIn(b'customElements.define', r.body)
        # The event stream's head.
        conn = http.client.HTTPConnection('127.0.0.1', srv.port, timeout=10)
        try:
            conn.request('GET', '/api/sync-sheets-bg/events', headers=dict(AUTH, Origin=APP))
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.getheader('Access-Control-Allow-Origin'), APP)
            self.assertTrue(resp.getheader('Content-Type').startswith('text/event-stream'))
        finally:
            conn.close()

    def test_other_origins_get_no_cors_field(self):
        srv = self.serve(['--cors-origin=' + APP])
        for origin in ('http://127.0.0.1:3001', 'http://localhost:3000', 'null',
                       'https://127.0.0.1:3000', APP + '.evil.example'):
            r = srv.request('OPTIONS', '/api/sync-sheets-bg', headers={
                'Origin': origin, 'Access-Control-Request-Method': 'POST'})
            self.assertEqual(r.status, 204)
            self.assertEqual(r.header('Allow'), 'GET, HEAD, POST, DELETE, OPTIONS')
            self.assertEqual(cors_fields(r), {}, origin)
            r = srv.get('/api/sync-sheets-bg', headers={'Origin': origin})
            self.assertEqual(r.status, 200)
            self.assertEqual(cors_fields(r), {}, origin)
        # No Origin at all (curl, a server): no CORS field either.
        r = srv.get('/api/sync-sheets-bg')
        self.assertEqual(cors_fields(r), {})

    def test_without_the_flag_nothing_is_allowed(self):
        srv = self.serve()
        r = srv.request('OPTIONS', '/api/sync-sheets-bg', headers={'Origin': APP})
        self.assertEqual(r.status, 204)
        self.assertEqual(cors_fields(r), {})

    def test_config_file_origins(self):
        d = h.temp_dir(self)
        conf = os.path.join(d, 'sheetsync.conf')
        with open(conf, 'w') as f:
            f.write('[sheetsync]\ndb = "cache.db"\ncors-origins = ["%s", "HTTPS://App.Example.com:443"]\n'
                    'sources = { sales = { url = "%s" } }\n' % (APP, self.sheet.url('/ok.csv')))
        srv = h.Server.__new__(h.Server)
        srv._start(['--config-file=' + conf])
        self.addCleanup(srv.close)
        for origin in (APP, OTHER_APP):
            r = srv.get('/api/sources', headers={'Origin': origin})
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header('Access-Control-Allow-Origin'), origin)

    def test_bad_origins_are_refused_naming_the_flag(self):
        db = os.path.join(h.temp_dir(self), 'cache.db')
        for bad, why in (('*', 'wildcard'), ('https://app.example.com/page', 'path'),
                         ('app.example.com', 'scheme://host'), ('http://x:99999', 'port')):
            p = subprocess.run([h.sheetsync_binary(), 'serve', '--port=0', '--db=' + db,
                                '--source=' + self.sheet.url('/ok.csv'), '--cors-origin=' + bad],
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn('--cors-origin', p.stderr)
            self.assertIn(why, p.stderr)


if __name__ == '__main__':
    h.main()
