#!/usr/bin/env python3
"""Process tests of Google's usual credentials against the fake Google (tests/fake_google.py):
Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS when --credentials is not given)
with a service account and with an authorized_user file (what `gcloud auth application-default
login` writes: the refresh-token grant, at --google-token-url), the start-up checks naming the
field, and that no secret (private key, client secret, refresh token, access token) shows in an
answer, the output or the history.

Python 3 stdlib only. The binary is $SHEETSYNC_BIN (default <repo>/build/sheetsync). Run:
  python3 tests/api/test_credentials.py [-v] [TestClass[.test]]
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402
import googlehelpers as g  # noqa: E402

V1 = [['k', 'v'], ['one', '1'], ['two', '2']]
V2 = [['k', 'v'], ['one', '10'], ['two', '20'], ['three', '30']]
USER_EMAIL = 'someone@example.com'
CLIENT_ID = '764086051850-fake.apps.googleusercontent.com'
CLIENT_SECRET = 'GOCSPX-' + os.urandom(12).hex()
REFRESH_TOKEN = '1//0g' + os.urandom(20).hex()
API_KEY = 'AIzaSyFake-' + os.urandom(12).hex()


FOR_SA = g.sheet_id('SharedWithTheServiceAccount')
FOR_USER = g.sheet_id('SharedWithTheUser')
PUBLIC = g.sheet_id('PublicSheet')

SA = None
FAKE = None
DIR = None


def setUpModule():
    global SA, FAKE, DIR
    DIR = tempfile.mkdtemp(prefix='sheetsync-creds-')
    SA = g.ServiceAccount(DIR)
    sheets = {
        FOR_SA: {'public': False, 'shared_with': [SA.email],
                 'tabs': [{'gid': 0, 'title': 'Sheet1', 'values': V1}]},
        FOR_USER: {'public': False, 'shared_with': [USER_EMAIL],
                   'tabs': [{'gid': 0, 'title': 'Sheet1', 'values': V1}]},
        PUBLIC: {'public': True, 'tabs': [{'gid': 0, 'title': 'Sheet1', 'values': V1}]},
    }
    FAKE = g.FakeGoogle(sheets, ['--public-key', SA.pub_path, '--client-email', SA.email,
                                 '--api-key', API_KEY, '--authorized-user',
                                 ','.join([CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, USER_EMAIL])],
                        directory=DIR)
    SA.write_credentials(FAKE.token_uri)


def tearDownModule():
    if FAKE:
        FAKE.stop()
    if DIR:
        shutil.rmtree(DIR, True)


def user_file(directory, **fields):
    """An authorized_user credentials file as gcloud writes it (no token_uri); fields override
    (None removes one). Returns its path."""
    creds = {'account': '', 'client_id': CLIENT_ID, 'client_secret': CLIENT_SECRET,
             'quota_project_id': 'fake-project', 'refresh_token': REFRESH_TOKEN,
             'type': 'authorized_user', 'universe_domain': 'googleapis.com'}
    creds.update(fields)
    creds = {k: v for k, v in creds.items() if v is not None}
    path = os.path.join(directory, 'application_default_credentials.json')
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(creds, f)
    os.chmod(path, 0o600)
    return path


class CredentialsCase(unittest.TestCase):
    """Starts `sheetsync serve` against the fake; after each test, checks that no secret showed
    in any answer, in the process's output or in the history."""

    @classmethod
    def setUpClass(cls):
        problem = h.check_binary()
        if problem:
            raise unittest.SkipTest(problem) if os.environ.get('SHEETSYNC_SKIP_MISSING') \
                else RuntimeError(problem)

    def secrets(self):
        return ([CLIENT_SECRET, REFRESH_TOKEN, API_KEY] + SA.key_fragments()
                + FAKE.stats()['issued_tokens'])

    def start(self, args, env=None):
        db = os.path.join(h.temp_dir(self), 'cache.db')
        server = g.GServer(db, FAKE.base_flags() + ['--cooldown=100ms'] + list(args), env=env)
        self.addCleanup(server.close)
        self.addCleanup(self.assertNoSecrets, server)
        self.addCleanup(server.stop)
        return server

    def run_cli(self, command, args, env=None):
        """Runs `sheetsync COMMAND ARGS` to its end; returns (exit code, stdout + stderr)."""
        full_env = dict(os.environ)
        full_env.pop('GOOGLE_APPLICATION_CREDENTIALS', None)
        full_env.update(env or {})
        db = os.path.join(h.temp_dir(self), 'cache.db')
        p = subprocess.run([h.sheetsync_binary(), command, '--db=' + db] + FAKE.base_flags()
                           + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=full_env, timeout=60)
        out = p.stdout.decode(errors='replace') + p.stderr.decode(errors='replace')
        for secret in self.secrets():
            self.assertNotIn(secret, out)
        return p.returncode, out

    def assertNoSecrets(self, server):
        texts = [('response %d' % i, r.raw()) for i, r in enumerate(server.responses)]
        texts.append(('stderr/stdout', server.output_text()))
        if os.path.exists(server.db):
            conn = sqlite3.connect(server.db)
            try:
                texts.append(('sync_runs', repr(conn.execute('SELECT * FROM sync_runs')
                                                .fetchall())))
            except sqlite3.Error:
                pass
            finally:
                conn.close()
        for secret in self.secrets():
            for where, text in texts:
                if secret in text:
                    self.fail('secret %s... appears in the %s: %s' % (secret[:12], where,
                                                                      text[:2000]))

    def sync(self, server):
        st = server.sync_source()
        return st

    def assertData(self, server, grid, source=None):
        page = server.data(source)
        self.assertEqual(page['columns'], grid[0])
        self.assertEqual(page['rows'], grid[1:])

    def auth_log(self, before, sid):
        """How the requests of sheet `sid` since `before` were authorized."""
        return [e['auth'] for e in FAKE.stats()['log'][len(before['log']):]
                if e['sheet'] == sid and e['route'] in ('export', 'api', 'api-meta')]


class TestApplicationDefaultCredentials(CredentialsCase):

    def test_service_account_from_the_environment(self):
        before = FAKE.stats()
        server = self.start(['--source=' + FOR_SA, '--gid=0', '--access=api'],
                            env={'GOOGLE_APPLICATION_CREDENTIALS': SA.credentials_path})
        self.assertIn('credentials %s (GOOGLE_APPLICATION_CREDENTIALS) for source sheet'
                      % SA.credentials_path, server.output_text())
        self.assertEqual(server.sync_source()['status'], 'complete')
        self.assertData(server, V1)
        self.assertEqual(set(self.auth_log(before, FOR_SA)), {'bearer'})

    def test_authorized_user_from_the_environment_with_the_token_url_flag(self):
        path = user_file(h.temp_dir(self))
        before = FAKE.stats()
        for access in ('export', 'api'):
            with self.subTest(access=access):
                FAKE.set_tab(FOR_USER, 0, values=V1)
                server = self.start(['--source=' + FOR_USER, '--gid=0', '--access=' + access,
                                     '--google-token-url=' + FAKE.token_uri],
                                    env={'GOOGLE_APPLICATION_CREDENTIALS': path})
                self.assertEqual(server.sync_source()['status'], 'complete')
                self.assertData(server, V1)
                FAKE.set_tab(FOR_USER, 0, values=V2)
                self.assertEqual(server.sync_source()['status'], 'complete')
                self.assertData(server, V2)
                server.stop()
        after = FAKE.stats()
        # One refresh per server: the token is cached across syncs.
        self.assertEqual(after['token_exchanges'] - before['token_exchanges'], 2)
        self.assertEqual(after['token_failures'], before['token_failures'])
        self.assertEqual(set(self.auth_log(before, FOR_USER)), {'bearer'})

    def test_explicit_settings_win_and_plain_urls_get_no_token(self):
        env = {'GOOGLE_APPLICATION_CREDENTIALS': SA.credentials_path}
        # An API key given: the key is used, not the environment's credentials.
        before = FAKE.stats()
        server = self.start(['--source=' + PUBLIC, '--gid=0', '--api-key=' + API_KEY], env=env)
        self.assertNotIn('GOOGLE_APPLICATION_CREDENTIALS', server.output_text())
        self.assertEqual(server.sync_source()['status'], 'complete')
        self.assertEqual(set(self.auth_log(before, PUBLIC)), {'key'})
        server.stop()
        # A plain CSV URL: no token is ever sent to another host, and it still starts.
        csv_path = os.path.join(h.temp_dir(self), 'plain.csv')
        with open(csv_path, 'w') as f:
            f.write('a,b\n1,2\n')
        server = self.start(['--source=file://' + csv_path], env=env)
        self.assertNotIn('GOOGLE_APPLICATION_CREDENTIALS', server.output_text())
        self.assertEqual(server.sync_source()['status'], 'complete')

    def test_a_missing_file_is_refused_at_start_naming_the_variable(self):
        missing = os.path.join(h.temp_dir(self), 'none.json')
        for command in ('serve', 'sync'):
            with self.subTest(command=command):
                rc, out = self.run_cli(command, ['--source=' + FOR_SA],
                                       env={'GOOGLE_APPLICATION_CREDENTIALS': missing})
                self.assertEqual(rc, 2, out)
                self.assertIn('credentials file %s: cannot open' % missing, out)
                self.assertIn('GOOGLE_APPLICATION_CREDENTIALS', out)


class TestCredentialsNamedAtRunTime(CredentialsCase):
    """A source added through the API with a credentials file the service had not loaded: the
    file is read then (by a loader, not the coordinator), the sync uses its token, and the
    stored source gets it again after a restart; a file that cannot be read is named."""

    def add(self, server, body):
        return server.request('POST', '/api/sources',
                              headers={'Content-Type': 'application/json'},
                              body=json.dumps(body))

    def test_added_with_a_new_file_then_restarted(self):
        db = os.path.join(h.temp_dir(self), 'cache.db')
        FAKE.set_tab(FOR_SA, 0, values=V1)
        before = FAKE.stats()
        flags = FAKE.base_flags() + ['--source=' + PUBLIC, '--gid=0', '--cooldown=100ms']
        server = g.GServer(db, flags)
        self.addCleanup(server.close)
        self.addCleanup(self.assertNoSecrets, server)
        r = self.add(server, {'name': 'private', 'id': FOR_SA, 'gid': '0', 'access': 'api',
                              'credentials': SA.credentials_path})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()['credentials'], SA.credentials_path)
        self.assertEqual(server.sync_source('private')['status'], 'complete')
        self.assertData(server, V1, 'private')
        self.assertEqual(set(self.auth_log(before, FOR_SA)), {'bearer'})
        server.stop()
        FAKE.set_tab(FOR_SA, 0, values=V2)
        again = g.GServer(db, flags)
        self.addCleanup(again.close)
        self.addCleanup(self.assertNoSecrets, again)
        st = again.sync_source('private')
        self.assertEqual(st['status'], 'complete', st)
        self.assertData(again, V2, 'private')
        again.stop()

    def test_a_file_that_cannot_be_read_is_named(self):
        server = self.start(['--source=' + PUBLIC, '--gid=0'])
        missing = os.path.join(h.temp_dir(self), 'none.json')
        r = self.add(server, {'name': 'private', 'id': FOR_SA, 'credentials': missing})
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(r.json()['error'], 'invalid_argument')
        self.assertTrue(r.json()['message'].startswith(
            'credentials: credentials file %s: cannot open' % missing), r.body)
        self.assertEqual(server.get('/api/sources/private').status, 404)
        # The service kept serving: the file is read again once it exists.
        shutil.copy(SA.credentials_path, missing)
        r = self.add(server, {'name': 'private', 'id': FOR_SA, 'credentials': missing})
        self.assertEqual(r.status, 201, r.body)


class TestAuthorizedUser(CredentialsCase):

    def test_sync_with_the_file_token_uri(self):
        path = user_file(h.temp_dir(self), token_uri=FAKE.token_uri)
        FAKE.set_tab(FOR_USER, 0, values=V1)
        rc, out = self.run_cli('sync', ['--source=' + FOR_USER, '--credentials=' + path])
        self.assertEqual(rc, 0, out)

    def test_not_shared_with_the_user_says_what_to_do(self):
        path = user_file(h.temp_dir(self))
        server = self.start(['--source=' + FOR_SA, '--gid=0', '--access=api',
                             '--credentials=' + path, '--google-token-url=' + FAKE.token_uri])
        st = server.sync_source()
        self.assertEqual(st['status'], 'error', st)
        text = st.get('error') or ''
        self.assertIn('HTTP 403', text)
        self.assertIn('share the sheet with the Google account of the credentials', text)

    def test_a_revoked_refresh_token_fails_with_advice(self):
        path = user_file(h.temp_dir(self), refresh_token='1//0gRevoked' + os.urandom(8).hex())
        server = self.start(['--source=' + FOR_USER, '--gid=0', '--credentials=' + path,
                             '--google-token-url=' + FAKE.token_uri])
        st = server.sync_source()
        self.assertEqual(st['status'], 'error', st)
        text = st.get('error') or ''
        self.assertIn('invalid_grant', text)
        self.assertIn('gcloud auth application-default login', text)
        self.assertIn(path, text)
        self.assertNotIn('Revoked', text)

    def test_start_up_names_the_missing_or_bad_field(self):
        d = h.temp_dir(self)
        cases = [({'client_secret': None}, 'no client_secret field'),
                 ({'refresh_token': ''}, 'refresh_token is empty'),
                 ({'client_id': 42}, 'client_id is not a string'),
                 ({'type': 'external_account'}, 'type is "external_account"'),
                 ({'token_uri': 'ftp://x/token'}, 'token_uri ftp://x/token is not an http')]
        for fields, what in cases:
            with self.subTest(what=what):
                path = user_file(d, **fields)
                rc, out = self.run_cli('serve', ['--source=' + FOR_USER, '--credentials=' + path])
                self.assertEqual(rc, 2, out)
                self.assertIn("source 'sheet': credentials file %s: %s" % (path, what), out)
        rc, out = self.run_cli('serve', ['--source=' + FOR_USER, '--credentials=' + user_file(d),
                                         '--google-token-url=file:///token'])
        self.assertEqual(rc, 2, out)
        self.assertIn('--google-token-url must be an http:// or https:// URL', out)


if __name__ == '__main__':
    unittest.main(verbosity=2)
