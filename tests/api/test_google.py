#!/usr/bin/env python3
"""Process tests of `sheetsync serve` against a fake Google (tests/fake_google.py): source forms
(browser URL, bare id + gid, published URL), access modes (CSV export, Sheets API with an API key or
a service account), retries (429 with and without Retry-After, 5xx, dropped connections), Google's
refusals (sign-in page, 403, 404), unchanged content, several sources in parallel with a queue,
and that no secret (API key, private key, access token) ever shows in an answer or in the output.

Python 3 stdlib only; the test key pair is made with the openssl CLI in a temp dir. The binary is
$SHEETSYNC_BIN (default <repo>/build/sheetsync). Run:
  python3 tests/api/test_google.py [-v] [TestClass[.test]]
TestFakeGoogle checks the fake itself and needs no binary.
"""

import json
import os
import sqlite3
import sys
import shutil
import tempfile
import time
import unittest
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402
import googlehelpers as g  # noqa: E402

SYNC = '/api/sync-sheets-bg'
FINAL = ('complete', 'error', 'cancelled')
API_KEY = 'AIzaSyFake-' + os.urandom(12).hex()
WRONG_KEY = 'AIzaSyWrong-' + os.urandom(12).hex()


class Raw(str):
    """A config value written as is (a time span like 15min), not as a quoted string."""


# A tab with everything that makes the Sheets API's rows ragged: trailing empty cells, a blank row
# in the middle, a data row longer than the header (its header cell is empty), trailing empty rows.
RAGGED = [
    ['Order ID', 'Customer', 'Note', 'Amount'],
    ['SO-1', 'Alice', 'likes "quotes"', '1.50'],
    ['SO-2', 'Bob', 'comma, inside', ''],
    [],
    ['SO-3', 'Zo\u00eb', 'line\nbreak', '', 'extra'],
    ['SO-4'],
    ['', ''],
    [],
]
TAB2 = [['sku', 'qty'], ['A-1', '5'], ['B-2', '']]
TAB2_GID = 1834629201
V1 = [['k', 'v'], ['one', '1'], ['two', '2']]
V2 = [['k', 'v'], ['one', '10'], ['two', '20'], ['three', '30']]

PUBLIC = g.sheet_id('PublicRagged')
PRIVATE = g.sheet_id('PrivateShared')
NOT_SHARED = g.sheet_id('PrivateNotShared')
UNKNOWN = g.sheet_id('NoSuchSheet')
PUBLISH_KEY = '2PACX-1vFake' + 'x' * 70


def expected_table(grid):
    """(columns, rows) sheetsync should cache for a grid: trailing empties trimmed, rows padded
    to the widest, empty header names column_N."""
    rows = [list(r) for r in grid]
    for r in rows:
        while r and r[-1] == '':
            r.pop()
    while rows and not rows[-1]:
        rows.pop()
    width = max(len(r) for r in rows)
    rows = [r + [''] * (width - len(r)) for r in rows]
    header = [name or 'column_%d' % (i + 1) for i, name in enumerate(rows[0])]
    return header, rows[1:]


SA = None
FAKE = None
DIR = None


def setUpModule():
    global SA, FAKE, DIR
    DIR = tempfile.mkdtemp(prefix='sheetsync-google-')
    SA = g.ServiceAccount(DIR)
    sheets = {
        PUBLIC: {'public': True, 'publish_key': PUBLISH_KEY,
                 'tabs': [{'gid': 0, 'title': 'Orders', 'values': RAGGED},
                          {'gid': TAB2_GID, 'title': 'Stock 2', 'values': TAB2}]},
        PRIVATE: {'public': False, 'shared_with': [SA.email],
                  'tabs': [{'gid': 0, 'title': 'Sheet1', 'values': V1}]},
        NOT_SHARED: {'public': False, 'shared_with': ['someone.else@example.com'],
                     'tabs': [{'gid': 0, 'title': 'Sheet1', 'values': V1}]},
    }
    FAKE = g.FakeGoogle(sheets, ['--public-key', SA.pub_path, '--client-email', SA.email,
                                 '--api-key', API_KEY], directory=DIR)
    SA.write_credentials(FAKE.token_uri)


def tearDownModule():
    if FAKE:
        FAKE.stop()
    if DIR:
        shutil.rmtree(DIR, True)


def error_text(st):
    return ((st.get('error') or '') + ' ' + (st.get('message') or '')).lower()


def requests_for(stats, route, sid):
    return stats['requests'].get(route, {}).get(sid, 0)


# -- the fake itself ------------------------------------------------------------------------------

class TestFakeGoogle(unittest.TestCase):
    """The fake behaves as the notes say (no sheetsync needed)."""

    def get(self, path, headers=None, host='127.0.0.1'):
        return FAKE.request('GET', path, headers=headers, host=host)

    def follow(self, r):
        loc = urllib.parse.urlsplit(r.header('Location'))
        return self.get(loc.path + '?' + loc.query, host=loc.hostname)

    def test_export_redirects_to_other_host_chunked_without_length(self):
        r = self.get('/spreadsheets/d/%s/export?format=csv&gid=0' % PUBLIC)
        self.assertEqual(r.status, 307)
        self.assertTrue(r.header('Location').startswith('http://localhost:%d/' % FAKE.port), r)
        csv_r = self.follow(r)
        self.assertEqual(csv_r.status, 200)
        self.assertIsNone(csv_r.header('Content-Length'))
        self.assertEqual(csv_r.header('Transfer-Encoding'), 'chunked')
        self.assertEqual(csv_r.body.decode(),
                         'Order ID,Customer,Note,Amount,\r\nSO-1,Alice,"likes ""quotes""",1.50,\r\n'
                         'SO-2,Bob,"comma, inside",,\r\n,,,,\r\n'
                         'SO-3,Zo\u00eb,"line\nbreak",,extra\r\n'
                         'SO-4,,,,\r\n')

    def test_private_sign_in_unknown_404_bad_gid_400(self):
        r = self.get('/spreadsheets/d/%s/export?format=csv&gid=0' % PRIVATE)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header('Content-Type').startswith('text/html'))
        self.assertIn(b'Sign in', r.body)
        r = self.get('/spreadsheets/d/%s/export?format=csv&gid=0' % UNKNOWN)
        self.assertEqual(r.status, 404)
        self.assertIn(b'Error 404 (Not Found)', r.body)
        self.assertEqual(self.get('/spreadsheets/d/%s/export?format=csv&gid=5' % PUBLIC).status,
                         400)

    def test_published_csv(self):
        r = self.get('/spreadsheets/d/e/%s/pub?gid=%d&single=true&output=csv'
                     % (PUBLISH_KEY, TAB2_GID))
        self.assertEqual(r.status, 307)
        self.assertEqual(self.follow(r).body, b'sku,qty\r\nA-1,5\r\nB-2,\r\n')

    def test_values_are_ragged(self):
        r = self.get('/v4/spreadsheets/%s/values/%s?key=%s'
                     % (PUBLIC, urllib.parse.quote("'Orders'!A1:Z"), API_KEY))
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body['majorDimension'], 'ROWS')
        self.assertEqual(body['values'], [
            ['Order ID', 'Customer', 'Note', 'Amount'], ['SO-1', 'Alice', 'likes "quotes"', '1.50'],
            ['SO-2', 'Bob', 'comma, inside'], [], ['SO-3', 'Zo\u00eb', 'line\nbreak', '', 'extra'],
            ['SO-4']])
        meta = self.get('/v4/spreadsheets/%s?fields=%s&key=%s' % (
            PUBLIC, urllib.parse.quote('sheets.properties(sheetId,title)'), API_KEY)).json()
        self.assertEqual(meta, {'sheets': [{'properties': {'sheetId': 0, 'title': 'Orders'}},
                                           {'properties': {'sheetId': TAB2_GID,
                                                           'title': 'Stock 2'}}]})

    def test_api_errors_are_google_shaped(self):
        r = self.get('/v4/spreadsheets/%s/values/Orders?key=%s' % (PUBLIC, WRONG_KEY))
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()['error']['details'][0]['reason'], 'API_KEY_INVALID')
        r = self.get('/v4/spreadsheets/%s/values/Sheet1?key=%s' % (PRIVATE, API_KEY))
        self.assertEqual((r.status, r.json()), (403, {'error': {
            'code': 403, 'message': 'The caller does not have permission',
            'status': 'PERMISSION_DENIED'}}))
        r = self.get('/v4/spreadsheets/%s/values/Sheet1?key=%s' % (UNKNOWN, API_KEY))
        self.assertEqual((r.status, r.json()['error']['status']), (404, 'NOT_FOUND'))
        r = self.get('/v4/spreadsheets/%s/values/Sheet1' % PRIVATE,
                     headers={'Authorization': 'Bearer ya29.unknown'})
        self.assertEqual((r.status, r.json()['error']['status']), (401, 'UNAUTHENTICATED'))

    def test_injected_429_then_success(self):
        FAKE.fail(PUBLIC, count=1, status=429, retry_after=1, route='api')
        path = '/v4/spreadsheets/%s/values/Orders?key=%s' % (PUBLIC, API_KEY)
        r = self.get(path)
        self.assertEqual((r.status, r.header('Retry-After')), (429, '1'))
        self.assertEqual(r.json()['error']['status'], 'RESOURCE_EXHAUSTED')
        self.assertEqual(self.get(path).status, 200)

    def test_token_endpoint_checks_signature_and_claims(self):
        before = FAKE.stats()['token_exchanges']
        r = g.exchange(FAKE, SA.jwt())
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual((body['token_type'], body['expires_in']), ('Bearer', 3599))
        token = body['access_token']
        r = self.get('/v4/spreadsheets/%s/values/Sheet1' % PRIVATE,
                     headers={'Authorization': 'Bearer ' + token})
        self.assertEqual(r.json()['values'], V1)
        r = self.get('/v4/spreadsheets/%s/values/Sheet1' % NOT_SHARED,
                     headers={'Authorization': 'Bearer ' + token})
        self.assertEqual(r.status, 403)
        now = int(time.time())
        jwt = SA.jwt()
        bad = {
            'signature': jwt[:-6] + ('AAAAAA' if not jwt.endswith('AAAAAA') else 'BBBBBB'),
            'audience': SA.jwt(aud='https://oauth2.googleapis.com/token'),
            'scope': SA.jwt(scope='https://www.googleapis.com/auth/userinfo.email'),
            'too long': SA.jwt(exp=now + 7200),
            'expired': SA.jwt(iat=now - 4000, exp=now - 400),
            'future': SA.jwt(iat=now + 3000, exp=now + 3600),
            'issuer': SA.jwt(iss='stranger@fake-project.iam.gserviceaccount.com'),
            'no exp': SA.jwt(exp=None),
        }
        for what, assertion in bad.items():
            with self.subTest(what):
                r = g.exchange(FAKE, assertion)
                self.assertEqual(r.status, 400, r)
                self.assertIn(r.json()['error'], ('invalid_grant', 'invalid_scope'))
        self.assertEqual(g.exchange(FAKE, jwt, grant_type='client_credentials').json()['error'],
                         'unsupported_grant_type')
        self.assertEqual(FAKE.stats()['token_exchanges'], before + 1)


# -- sheetsync against the fake -------------------------------------------------------------------

class GoogleCase(unittest.TestCase):
    """Starts `sheetsync serve` against the fake; after each test, checks that no secret showed
    in any answer or in the process's output."""

    @classmethod
    def setUpClass(cls):
        problem = h.check_binary()
        if problem:
            raise unittest.SkipTest(problem) if os.environ.get('SHEETSYNC_SKIP_MISSING') \
                else RuntimeError(problem)

    def setUp(self):
        self.extra_secrets = []

    def start(self, args=(), db=None, google=True, cooldown='100ms'):
        db = db or os.path.join(h.temp_dir(self), 'cache.db')
        flags = (FAKE.base_flags() if google else []) + ['--cooldown=' + cooldown] + list(args)
        server = g.GServer(db, flags)
        self.addCleanup(server.close)
        self.addCleanup(self.assertNoSecrets, server)
        self.addCleanup(server.stop)
        return server

    def secrets(self):
        out = [API_KEY] + self.extra_secrets + SA.key_fragments()
        out += FAKE.stats()['issued_tokens']
        return out

    def write_config(self, sources):
        """A CAF config file with [sheetsync] sources = { name = { k = v, ... }, ... } (Raw
        values unquoted)."""
        d = h.temp_dir(self)
        path = os.path.join(d, 'sheetsync.conf')
        lines = ['[sheetsync]', 'sources = {']
        for name, fields in sources:
            parts = []
            for k, v in fields.items():
                quoted = isinstance(v, str) and not isinstance(v, Raw)
                parts.append('%s = %s' % (k, json.dumps(v) if quoted else v))
            lines.append('  %s = { %s },' % (name, ', '.join(parts)))
        lines[-1] = lines[-1].rstrip(',')
        lines.append('}')
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        return path

    def assertNoSecrets(self, server):
        texts = [('response to request %d' % i, r.raw()) for i, r in enumerate(server.responses)]
        texts.append(('stderr/stdout', server.output_text()))
        if os.path.exists(server.db):  # the history's messages and errors
            conn = sqlite3.connect(server.db)
            try:
                rows = conn.execute('SELECT * FROM sync_runs').fetchall()
            except sqlite3.Error:
                rows = []
            finally:
                conn.close()
            texts.append(('sync_runs table', repr(rows)))
        for secret in self.secrets():
            for where, text in texts:
                if secret in text:
                    self.fail('secret %s... appears in the %s: %s'
                              % (secret[:12], where, text[:2000]))

    def sync(self, server, source=None, timeout=60):
        r = server.start_sync(source)
        self.assertEqual(r.status, 202, r)
        sync_id = r.json()['syncId']
        st = server.wait_finished(sync_id, timeout=timeout)[-1]
        st['_id'] = sync_id
        return st

    def assertComplete(self, st):
        self.assertEqual(st['status'], 'complete', st)
        self.assertEqual(st['progress'], 100, st)

    def assertError(self, st):
        self.assertEqual(st['status'], 'error', st)
        self.assertIsInstance(st.get('error'), str, st)
        return error_text(st)

    def assertData(self, server, grid, source=None):
        columns, rows = expected_table(grid)
        page = server.data(source)
        self.assertEqual(page['columns'], columns)
        self.assertEqual(page['rows'], rows)
        self.assertEqual(page['total'], len(rows))
        return page


class TestSourceForms(GoogleCase):
    """A sheet's browser URL, a bare id with --gid, a published URL, the export URL itself."""

    def test_plain_export_url_follows_307_to_csv_without_length(self):
        before = FAKE.stats()
        server = self.start(['--source=' + FAKE.export_url(PUBLIC, 0)], google=False)
        self.assertComplete(self.sync(server))
        self.assertData(server, RAGGED)
        after = FAKE.stats()
        self.assertEqual(requests_for(after, 'export-host', PUBLIC)
                         - requests_for(before, 'export-host', PUBLIC), 1)

    def test_browser_url_with_gid(self):
        before = FAKE.stats()
        server = self.start(['--source=' + FAKE.google_edit_url(PUBLIC, TAB2_GID)])
        self.assertComplete(self.sync(server))
        self.assertData(server, TAB2)
        after = FAKE.stats()
        self.assertEqual(requests_for(after, 'export', PUBLIC)
                         - requests_for(before, 'export', PUBLIC), 1)
        self.assertEqual(requests_for(after, 'export-host', PUBLIC)
                         - requests_for(before, 'export-host', PUBLIC), 1)

    def test_bare_id_with_gid(self):
        server = self.start(['--source=' + PUBLIC, '--gid=%d' % TAB2_GID])
        self.assertComplete(self.sync(server))
        self.assertData(server, TAB2)

    def test_bare_id_without_gid_is_the_first_tab(self):
        server = self.start(['--source=' + PUBLIC])
        self.assertComplete(self.sync(server))
        self.assertData(server, RAGGED)

    def test_published_url(self):
        url = ('https://docs.google.com/spreadsheets/d/e/%s/pub?gid=%d&single=true&output=csv'
               % (PUBLISH_KEY, TAB2_GID))
        server = self.start(['--source=' + url])
        self.assertComplete(self.sync(server))
        self.assertData(server, TAB2)

    def test_unknown_gid_fails(self):
        server = self.start(['--source=' + PUBLIC, '--gid=424242'])
        self.assertError(self.sync(server))
        self.assertEqual(server.data()['total'], 0)


class TestPrivateSheets(GoogleCase):

    def test_private_without_credentials_fails_and_keeps_old_data(self):
        sid = g.sheet_id('TurnsPrivate')
        FAKE.put_sheet(sid, {'public': True, 'tabs': [{'gid': 0, 'values': V1}]})
        server = self.start(['--source=' + FAKE.export_url(sid, 0)], google=False)
        self.assertComplete(self.sync(server))
        FAKE.put_sheet(sid, {'public': False, 'tabs': [{'gid': 0, 'values': V2}]})
        text = self.assertError(self.sync(server))
        self.assertTrue('shar' in text or 'sign' in text, text)
        self.assertData(server, V1)

    def test_private_browser_url_without_credentials_fails(self):
        server = self.start(['--source=' + FAKE.google_edit_url(PRIVATE, 0)])
        text = self.assertError(self.sync(server))
        self.assertTrue('shar' in text or 'sign' in text, text)
        self.assertEqual(server.data()['total'], 0)


class TestServiceAccount(GoogleCase):

    def two_syncs(self, access):
        sid = g.sheet_id('SharedWithSA' + access)
        FAKE.put_sheet(sid, {'public': False, 'shared_with': [SA.email],
                             'tabs': [{'gid': 0, 'title': 'Sheet1', 'values': V1}]})
        before = FAKE.stats()
        server = self.start(['--source=' + sid, '--gid=0', '--access=' + access,
                             '--credentials=' + SA.credentials_path])
        self.assertComplete(self.sync(server))
        self.assertData(server, V1)
        FAKE.set_tab(sid, 0, values=V2)
        self.assertComplete(self.sync(server))
        self.assertData(server, V2)
        after = FAKE.stats()
        self.assertEqual(after['token_exchanges'] - before['token_exchanges'], 1,
                         'the token must be exchanged once and cached')
        self.assertEqual(after['token_failures'], before['token_failures'])
        return sid, before, after

    def test_export_with_service_account(self):
        sid, before, after = self.two_syncs('export')
        self.assertEqual(requests_for(after, 'export-host', sid), 2)
        bearer = [e for e in after['log'] if e['sheet'] == sid and e['route'] == 'export'
                  and e['auth'] == 'bearer']
        self.assertEqual(len(bearer), 2)
        self.assertEqual(after['export_host_auth_headers'], before['export_host_auth_headers'],
                         'the bearer token went along to the second host of the redirect')

    def test_api_with_service_account(self):
        sid, before, after = self.two_syncs('api')
        self.assertGreaterEqual(requests_for(after, 'api', sid), 2)
        self.assertTrue(all(e['auth'] == 'bearer' for e in after['log']
                            if e['sheet'] == sid and e['route'] in ('api', 'api-meta')))

    def test_403_names_the_service_account(self):
        for access in ('api', 'export'):
            with self.subTest(access=access):
                before = FAKE.stats()
                server = self.start(['--source=' + NOT_SHARED, '--gid=0', '--access=' + access,
                                     '--credentials=' + SA.credentials_path])
                text = self.assertError(self.sync(server))
                self.assertIn(SA.email, text)
                self.assertIn('shar', text)
                after = FAKE.stats()
                route = 'api' if access == 'api' else 'export'
                tried = (requests_for(after, route, NOT_SHARED)
                         + requests_for(after, 'api-meta', NOT_SHARED)
                         - requests_for(before, route, NOT_SHARED)
                         - requests_for(before, 'api-meta', NOT_SHARED))
                self.assertLessEqual(tried, 2, 'a 403 is not retried')

    def test_expiring_token_is_exchanged_again(self):
        FAKE.control('config', {'token_expires_in': 2})
        self.addCleanup(FAKE.control, 'config', {'token_expires_in': 3599})
        before = FAKE.stats()
        server = self.start(['--source=' + PRIVATE, '--gid=0', '--access=api',
                             '--credentials=' + SA.credentials_path])
        self.assertComplete(self.sync(server))
        time.sleep(2.5)  # the token has expired
        self.assertComplete(self.sync(server))
        after = FAKE.stats()
        self.assertEqual(after['token_exchanges'] - before['token_exchanges'], 2)
        self.assertEqual(after['statuses']['api'].get('401', 0),
                         before['statuses'].get('api', {}).get('401', 0),
                         'an expired token was sent')

    def test_token_endpoint_503_then_success(self):
        before = FAKE.stats()
        FAKE.fail(count=1, status=503, route='token')
        self.addCleanup(FAKE.clear_failures)
        server = self.start(['--source=' + PRIVATE, '--gid=0', '--access=api',
                             '--credentials=' + SA.credentials_path])
        self.assertComplete(self.sync(server))
        self.assertData(server, V1)
        after = FAKE.stats()
        self.assertEqual(after['token_exchanges'] - before['token_exchanges'], 1)
        self.assertEqual(after['statuses']['token'].get('503', 0)
                         - before['statuses'].get('token', {}).get('503', 0), 1)

    def test_key_google_does_not_know_fails(self):
        stranger = g.ServiceAccount(h.temp_dir(self), email=SA.email, name='stranger')
        path = stranger.write_credentials(FAKE.token_uri)
        self.extra_secrets += stranger.key_fragments()
        before = FAKE.stats()
        server = self.start(['--source=' + PRIVATE, '--gid=0', '--access=api',
                             '--credentials=' + path])
        t0 = time.monotonic()
        text = self.assertError(self.sync(server))
        self.assertLess(time.monotonic() - t0, 5, 'invalid_grant is not retried')
        self.assertTrue('token' in text or 'credentials' in text, text)
        after = FAKE.stats()
        self.assertGreaterEqual(after['token_failures'] - before['token_failures'], 1)
        self.assertEqual(after['token_exchanges'], before['token_exchanges'])
        self.assertEqual(requests_for(after, 'api', PRIVATE), requests_for(before, 'api', PRIVATE))

    def test_bad_credentials_are_refused_at_start(self):
        d = h.temp_dir(self)
        db = os.path.join(d, 'cache.db')
        lines = SA.private_key.splitlines()
        truncated = '\n'.join(lines[:4] + lines[-1:]) + '\n'  # DER lengths no longer match
        cases = {
            'missing file': (os.path.join(d, 'nope.json'), 'nope.json'),
            'not json': (None, None),
            'no private_key': (SA.write_credentials(FAKE.token_uri, os.path.join(d, 'a.json'),
                                                    private_key=None), 'private_key'),
            'no client_email': (SA.write_credentials(FAKE.token_uri, os.path.join(d, 'b.json'),
                                                     client_email=None), 'client_email'),
            'truncated key': (SA.write_credentials(FAKE.token_uri, os.path.join(d, 'c.json'),
                                                   private_key=truncated), 'key'),
            'not a key': (SA.write_credentials(FAKE.token_uri, os.path.join(d, 'e.json'),
                                               private_key='not a key'), 'key'),
        }
        not_json = os.path.join(d, 'n.json')
        with open(not_json, 'w') as f:
            f.write('{"type": "service_account", "private_key": "-----BEGIN')
        cases['not json'] = (not_json, 'json')
        for what, (path, needle) in cases.items():
            with self.subTest(what):
                try:
                    server = g.GServer(db, FAKE.base_flags() + [
                        '--source=' + PRIVATE, '--credentials=' + path])
                except RuntimeError as e:
                    text = str(e)
                    self.assertIn('exited', text)
                    self.assertIn(needle.lower(), text.lower())
                    for secret in SA.key_fragments():
                        self.assertNotIn(secret, text)
                    continue
                server.close()
                self.fail('serve started with credentials: %s' % what)


class TestApiKey(GoogleCase):

    def test_ragged_values_give_the_same_data_as_the_csv_export(self):
        csv_server = self.start(['--source=' + PUBLIC, '--gid=0', '--access=export'])
        self.assertComplete(self.sync(csv_server))
        before = FAKE.stats()
        api_server = self.start(['--source=' + PUBLIC, '--gid=0', '--api-key=' + API_KEY])
        self.assertComplete(self.sync(api_server))
        after = FAKE.stats()
        self.assertGreater(requests_for(after, 'api', PUBLIC), requests_for(before, 'api', PUBLIC),
                           'an API key means access=api by default')
        csv_page = self.assertData(csv_server, RAGGED)
        api_page = self.assertData(api_server, RAGGED)
        self.assertEqual(csv_page['columns'], api_page['columns'])
        self.assertEqual(csv_page['rows'], api_page['rows'])

    def test_tab_with_space_in_title(self):
        server = self.start(['--source=' + FAKE.google_edit_url(PUBLIC, TAB2_GID),
                             '--access=api', '--api-key=' + API_KEY])
        self.assertComplete(self.sync(server))
        self.assertData(server, TAB2)

    def test_wrong_api_key_fails_without_showing_it(self):
        self.extra_secrets.append(WRONG_KEY)
        server = self.start(['--source=' + PUBLIC, '--gid=0', '--api-key=' + WRONG_KEY])
        text = self.assertError(self.sync(server))
        self.assertIn('key', text)

    def test_api_key_on_a_private_sheet_fails(self):
        server = self.start(['--source=' + PRIVATE, '--gid=0', '--api-key=' + API_KEY])
        text = self.assertError(self.sync(server))
        self.assertIn('shar', text)


class TestRefusals(GoogleCase):

    def test_404_says_check_the_id_and_gid(self):
        for access in ('export', 'api'):
            with self.subTest(access=access):
                before = FAKE.stats()
                args = ['--source=' + UNKNOWN, '--gid=0', '--access=' + access]
                if access == 'api':
                    args.append('--api-key=' + API_KEY)
                server = self.start(args)
                t0 = time.monotonic()
                text = self.assertError(self.sync(server))
                self.assertLess(time.monotonic() - t0, 5, 'a 404 is not retried')
                self.assertIn('404', text)
                self.assertIn(' id', text)
                self.assertIn('gid', text)
                after = FAKE.stats()
                total = sum(requests_for(after, r, UNKNOWN) - requests_for(before, r, UNKNOWN)
                            for r in ('export', 'api', 'api-meta'))
                self.assertLessEqual(total, 2, 'a 404 is not retried')


class TestRetries(GoogleCase):

    def sheet(self, name, grid=V1):
        sid = g.sheet_id(name)
        FAKE.put_sheet(sid, {'public': True, 'tabs': [{'gid': 0, 'title': 'Sheet1',
                                                       'values': grid}]})
        return sid

    def gaps(self, sid, routes):
        """(status, seconds since the previous request) of the sheet's requests on `routes`."""
        log = [e for e in FAKE.stats()['log'] if e['sheet'] == sid and e['route'] in routes]
        return [(e['status'], round(e['t'] - p['t'], 3)) for p, e in zip(log, log[1:])], log

    def test_429_with_retry_after_then_success(self):
        sid = self.sheet('Retry429After')
        FAKE.fail(sid, count=1, status=429, retry_after=2)
        server = self.start(['--source=' + sid, '--gid=0', '--api-key=' + API_KEY])
        t0 = time.monotonic()
        st = self.sync(server)
        self.assertComplete(st)
        self.assertGreaterEqual(time.monotonic() - t0, 2.0)
        self.assertData(server, V1)
        gaps, log = self.gaps(sid, ('api', 'api-meta'))
        self.assertEqual(log[0]['status'], 429, log)
        self.assertGreaterEqual(gaps[0][1], 1.95, 'Retry-After: 2 not honoured: %r' % gaps)

    def test_429_without_retry_after_then_success(self):
        sid = self.sheet('Retry429NoAfter')
        FAKE.fail(sid, count=1, status=429, route='export')
        server = self.start(['--source=' + sid, '--gid=0'])
        self.assertComplete(self.sync(server))
        self.assertData(server, V1)
        gaps, log = self.gaps(sid, ('export',))
        self.assertEqual([e['status'] for e in log], [429, 307], log)
        self.assertGreaterEqual(gaps[0][1], 0.9, 'no backoff after a 429: %r' % gaps)

    def test_500_then_success(self):
        sid = self.sheet('Retry500')
        FAKE.fail(sid, count=1, status=500, route='export')
        server = self.start(['--source=' + sid, '--gid=0'])
        self.assertComplete(self.sync(server))
        self.assertData(server, V1)

    def test_503_on_the_api_then_success(self):
        sid = self.sheet('Retry503')
        FAKE.fail(sid, count=1, status=503, route='api')
        server = self.start(['--source=' + sid, '--gid=0', '--api-key=' + API_KEY])
        self.assertComplete(self.sync(server))
        self.assertData(server, V1)

    def test_500_on_the_second_host_then_success(self):
        sid = self.sheet('Retry500Host')
        FAKE.fail(sid, count=1, status=500, route='export-host')
        server = self.start(['--source=' + sid, '--gid=0'])
        self.assertComplete(self.sync(server))
        self.assertData(server, V1)

    def test_dropped_connection_then_success(self):
        sid = self.sheet('RetryDrop')
        FAKE.fail(sid, count=1, status=0, route='export')
        server = self.start(['--source=' + sid, '--gid=0'])
        self.assertComplete(self.sync(server))
        self.assertData(server, V1)

    def test_body_cut_halfway_is_retried_never_partial(self):
        grid = [['n', 'text']] + [[str(i), 'row %d of a sheet cut in half' % i]
                                  for i in range(1, 2001)]
        for access, route in (('export', 'export-host'), ('api', 'api')):
            with self.subTest(access=access):
                sid = self.sheet('CutHalfway' + access, grid)
                FAKE.put_sheet(sid, {'public': True, 'chunk_bytes': 4096, 'tabs': [
                    {'gid': 0, 'title': 'Sheet1', 'values': grid}]})
                FAKE.fail(sid, count=1, status=-1, route=route)
                server = self.start(['--source=' + sid, '--gid=0', '--access=' + access,
                                     '--api-key=' + API_KEY])
                self.assertComplete(self.sync(server))
                self.assertEqual(server.data()['total'], 2000)
                page = server.get('/api/data?limit=5&offset=1995').json()
                self.assertEqual(page['rows'], grid[1996:])
                _, log = self.gaps(sid, (route,))
                self.assertEqual([e['status'] for e in log], [200, 200], log)

    def test_retry_after_beyond_the_sync_limit_fails_in_time(self):
        sid = self.sheet('RetryAfterTooLong')
        FAKE.fail(sid, count=1, status=429, retry_after=120)
        self.addCleanup(FAKE.clear_failures)
        server = self.start(['--source=' + sid, '--gid=0', '--max-duration=3s'])
        t0 = time.monotonic()
        text = self.assertError(self.sync(server, timeout=30))
        self.assertLess(time.monotonic() - t0, 10, 'waited for a Retry-After beyond --max-duration')
        self.assertTrue('429' in text or 'rate' in text or 'time' in text, text)

    def test_persistent_429_ends_in_error_and_keeps_data(self):
        sid = self.sheet('Persistent429')
        server = self.start(['--source=' + sid, '--gid=0', '--api-key=' + API_KEY,
                             '--max-attempts=3', '--max-duration=25s'])
        self.assertComplete(self.sync(server))
        FAKE.set_tab(sid, 0, values=V2)
        FAKE.fail(sid, count=1000, status=429, retry_after=1, route='api')
        self.addCleanup(FAKE.clear_failures)
        st = self.sync(server, timeout=60)
        text = self.assertError(st)
        self.assertTrue('429' in text or 'rate' in text or 'quota' in text, text)
        self.assertData(server, V1)
        tries = [e for e in FAKE.stats()['log'] if e['sheet'] == sid and e['status'] == 429]
        self.assertGreater(len(tries), 1, 'a 429 is retried')


class TestUnchanged(GoogleCase):

    def test_identical_content_completes_unchanged(self):
        sid = g.sheet_id('Unchanged')
        FAKE.put_sheet(sid, {'public': True, 'tabs': [{'gid': 0, 'values': V1}]})
        server = self.start(['--source=' + sid, '--gid=0'])
        first = self.sync(server)
        self.assertComplete(first)
        self.assertNotIn('unchanged', first['message'].lower())
        synced_at = server.data()['syncedAt']
        second = self.sync(server)
        self.assertComplete(second)
        self.assertIn('unchanged', second['message'].lower(), second)
        self.assertData(server, V1)
        FAKE.set_tab(sid, 0, values=V2)
        third = self.sync(server)
        self.assertComplete(third)
        self.assertNotIn('unchanged', third['message'].lower(), third)
        self.assertData(server, V2)
        self.assertIsNotNone(synced_at)


class TestProgress(GoogleCase):

    def test_bytes_keep_counting_past_the_estimate(self):
        """No Content-Length (Google's export): the percentage comes from the last sync's size.
        When the sheet grew far beyond it, the percentage must stay below 60 but the status must
        keep showing the bytes arriving (not freeze until the download ends)."""
        sid = g.sheet_id('GrewALot')
        FAKE.put_sheet(sid, {'public': True, 'tabs': [{'gid': 0, 'values': V1}]})
        server = self.start(['--source=' + sid, '--gid=0'])
        self.assertComplete(self.sync(server))
        FAKE.put_sheet(sid, {'public': True, 'chunk_bytes': 8192, 'chunk_delay': 0.05,
                             'tabs': [{'gid': 0, 'generate': {'rows': 20000, 'cols': 4}}]})
        r = server.start_sync()
        self.assertEqual(r.status, 202, r)
        seen = server.wait_finished(r.json()['syncId'], timeout=60, interval=0.1)
        self.assertComplete(seen[-1])
        sizes = sorted({st['stats']['size'] for st in seen if st['status'] == 'downloading'})
        self.assertGreaterEqual(len(sizes), 4, 'the downloaded size froze: %r' % sizes)
        self.assertTrue(all(st['progress'] < 60 for st in seen if st['status'] == 'downloading'))


class TestSeveralSources(GoogleCase):

    def slow_sheet(self, name, grid=None, rows=300):
        sid = g.sheet_id(name)
        tab = {'gid': 0, 'title': 'Sheet1'}
        tab.update({'values': grid} if grid else {'generate': {'rows': rows, 'cols': 4}})
        FAKE.put_sheet(sid, {'public': True, 'tabs': [tab], 'chunk_bytes': 1024,
                             'chunk_delay': 0.15})
        return sid

    def test_parallel_limit_queue_sources_and_history(self):
        a, b, c = (self.slow_sheet('ParallelA'), self.slow_sheet('ParallelB'),
                   self.slow_sheet('ParallelC', grid=V1))
        conf = self.write_config([
            ('alpha', {'url': 'https://docs.google.com/spreadsheets/d/%s/edit#gid=0' % a}),
            ('beta', {'id': b, 'gid': 0}),
            ('gamma', {'id': c, 'gid': 0, 'access': 'api', 'api-key': API_KEY}),
        ])
        server = self.start(['--config-file=' + conf, '--max-parallel=2'])
        ids = {}
        for name in ('alpha', 'beta', 'gamma'):
            r = server.start_sync(name, retry=False)
            self.assertEqual(r.status, 202, r)
            ids[name] = r.json()['syncId']
        self.assertEqual(len(set(ids.values())), 3)
        gamma = server.status(ids['gamma']).json()
        self.assertEqual(gamma['status'], 'idle', gamma)
        self.assertIn('queued', gamma['message'].lower(), gamma)
        self.assertEqual(gamma['source'], 'gamma')
        running = [server.status(ids[n]).json() for n in ('alpha', 'beta')]
        self.assertTrue(all(st['status'] in ('downloading', 'processing', 'saving')
                            for st in running), running)
        # The same source again while it runs: 409 with its id.
        r = server.start_sync('alpha', retry=False)
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json()['syncId'], ids['alpha'])

        sources = g.find_list(server.get('/api/sources').json(), 'sources')
        by_name = {s['name']: s for s in sources}
        self.assertEqual(set(by_name), {'alpha', 'beta', 'gamma'})
        self.assertTrue(by_name['gamma'].get('queued') or
                        'queued' in json.dumps(by_name['gamma']).lower(), by_name['gamma'])

        finals = {n: server.wait_finished(i, timeout=60)[-1] for n, i in ids.items()}
        for name, st in finals.items():
            self.assertComplete(st)
        # gamma's first request came only after alpha or beta had finished (each takes ~2 s).
        log = FAKE.stats()['log']
        first = {sid: min(e['t'] for e in log if e['sheet'] == sid) for sid in (a, b, c)}
        self.assertGreater(first[c] - max(first[a], first[b]), 1.0,
                           'the third source did not wait for a free slot')
        self.assertLess(abs(first[a] - first[b]), 1.0, 'the first two did not run in parallel')
        self.assertEqual(server.data('alpha')['total'], 300)
        self.assertEqual(server.data('beta')['total'], 300)
        self.assertData(server, V1, 'gamma')

        sources = g.find_list(server.get('/api/sources').json(), 'sources')
        for s in sources:
            self.assertIn(ids[s['name']], json.dumps(s), s)

        # History per source, newest first, limit honoured.
        self.assertComplete(self.sync(server, 'gamma'))
        r = server.get('/api/sync-history?source=gamma&limit=10')
        self.assertEqual(r.status, 200, r)
        runs = g.find_list(r.json(), 'syncs', 'history', 'runs')
        self.assertEqual(len(runs), 2, runs)
        self.assertEqual(runs[1]['syncId'], ids['gamma'])
        self.assertTrue(all(x['source'] == 'gamma' for x in runs))
        r = server.get('/api/sync-history?limit=1')
        self.assertEqual(len(g.find_list(r.json(), 'syncs', 'history', 'runs')), 1)

    def test_cancel_a_queued_sync(self):
        a, b, c = (self.slow_sheet('QueueCancelA'), self.slow_sheet('QueueCancelB'),
                   self.slow_sheet('QueueCancelC', grid=V1))
        conf = self.write_config([('a', {'id': a, 'gid': 0}), ('b', {'id': b, 'gid': 0}),
                                  ('c', {'id': c, 'gid': 0})])
        server = self.start(['--config-file=' + conf, '--max-parallel=2'])
        ids = {}
        for name in ('a', 'b', 'c'):
            r = server.start_sync(name, retry=False)
            self.assertEqual(r.status, 202, r)
            ids[name] = r.json()['syncId']
        self.assertIn('queued', server.status(ids['c']).json()['message'].lower())
        r = server.delete('%s?syncId=%s&source=c' % (SYNC, ids['c']))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['status'], 'cancelled', r)
        for name in ('a', 'b'):
            self.assertComplete(server.wait_finished(ids[name], timeout=30)[-1])
        time.sleep(0.3)
        self.assertEqual(server.status(ids['c']).json()['status'], 'cancelled')
        self.assertEqual(requests_for(FAKE.stats(), 'export', c), 0,
                         'a cancelled queued sync must not download')
        self.assertEqual(server.data('c')['total'], 0)

    def test_interval_syncs_without_clicking(self):
        sid = g.sheet_id('Scheduled')
        FAKE.put_sheet(sid, {'public': True, 'tabs': [{'gid': 0, 'values': V1}]})
        conf = self.write_config([('sched', {'id': sid, 'gid': 0, 'interval': Raw('2s')})])
        server = self.start(['--config-file=' + conf])
        deadline = time.monotonic() + 12
        runs = []
        while time.monotonic() < deadline:
            r = server.get('/api/sync-history?source=sched&limit=10')
            self.assertEqual(r.status, 200, r)
            runs = [x for x in g.find_list(r.json(), 'syncs') if x['status'] == 'complete']
            if len(runs) >= 2:
                break
            time.sleep(0.2)
        self.assertGreaterEqual(len(runs), 2, 'interval = 2s: no two scheduled syncs in 12 s')
        self.assertData(server, V1, 'sched')
        sources = g.find_list(server.get('/api/sources').json(), 'sources')
        self.assertEqual(sources[0].get('intervalSeconds'), 2, sources)

    def test_source_parameter_unknown_name(self):
        sid = self.slow_sheet('Named', grid=V1)
        conf = self.write_config([('only', {'id': sid, 'gid': 0, 'interval': Raw('1h')}),
                                  ('other', {'id': sid, 'gid': 0, 'interval': Raw('15min')})])
        server = self.start(['--config-file=' + conf])
        r = server.post(SYNC + '?source=nope')
        self.assertEqual(r.status, 404, r)
        self.assertComplete(self.sync(server))  # no source: the first one
        self.assertData(server, V1, 'only')


class TestNoSecrets(GoogleCase):
    """Every surface of a server holding an API key and a service account, after successful
    and failed syncs (the assertNoSecrets cleanup does the checking)."""

    def test_nothing_secret_anywhere(self):
        conf = self.write_config([
            ('keyed', {'id': PUBLIC, 'gid': 0, 'access': 'api', 'api-key': API_KEY}),
            ('private', {'id': PRIVATE, 'gid': 0, 'access': 'api',
                         'credentials': SA.credentials_path}),
            ('refused', {'id': NOT_SHARED, 'gid': 0, 'access': 'export',
                         'credentials': SA.credentials_path}),
        ])
        server = self.start(['--config-file=' + conf])
        ids = []
        for name, want in (('keyed', 'complete'), ('private', 'complete'),
                           ('refused', 'error')):
            st = self.sync(server, name)
            self.assertEqual(st['status'], want, st)
            ids.append(st['_id'])
        FAKE.fail(PUBLIC, count=1, status=400, route='api')
        st = self.sync(server, 'keyed')
        ids.append(st['_id'])
        for path in ['/api/sources', '/api/sync-history?limit=50', '/metrics', '/', '/settings',
                     '/api/data?source=keyed', '/api/data?source=private', SYNC] + \
                ['%s?syncId=%s' % (SYNC, i) for i in ids]:
            server.get(path)
        sock, reader, status, _ = h.open_event_stream(server)
        try:
            event = reader.read_event()
        finally:
            sock.close()
        for secret in self.secrets():
            self.assertNotIn(secret, event['data'])
        self.assertNotIn(API_KEY, json.dumps(server.get('/api/sources').json()))


if __name__ == '__main__':
    unittest.main(verbosity=2)
