"""Helpers for the tests against the fake Google (tests/fake_google.py); python3 stdlib only.

- FakeGoogle: starts tests/fake_google.py, scripts it through its /_control/ endpoints.
- ServiceAccount: an RSA key pair made with the openssl CLI in a temp dir (never committed) and a
  credentials JSON whose token_uri points at the fake.
- GServer: `sheetsync serve --port=0 ...` with any flags (a --source is optional, so a config file
  can name the sources); records every response so tests can check no secret leaked.
"""

import base64
import http.client
import json
import os
import subprocess
import tempfile
import time
import urllib.parse

import apihelpers as h

FAKE_GOOGLE = os.path.join(h.REPO, 'tests', 'fake_google.py')
SCOPE = 'https://www.googleapis.com/auth/spreadsheets.readonly'


def csv_text(rows):
    """Rows as Google's CSV export writes them (CRLF, quoted when needed, no padding)."""
    def cell(c):
        return '"' + c.replace('"', '""') + '"' if any(x in c for x in ',"\r\n') else c
    return ''.join(','.join(cell(c) for c in r) + '\r\n' for r in rows)


class FakeGoogle(h.FakeProcess):
    """tests/fake_google.py on a free loopback port."""

    def __init__(self, sheets=None, args=(), directory=None):
        directory = directory or tempfile.mkdtemp(prefix='fake-google-')
        flags = []
        if sheets is not None:
            path = os.path.join(directory, 'sheets.json')
            with open(path, 'w', encoding='utf-8') as f:
                json.dump(sheets, f)
            flags += ['--sheets', path]
        super().__init__(FAKE_GOOGLE, flags + list(args), keep_stderr=True, stop_timeout=3)
        self.base = 'http://127.0.0.1:%d' % self.port
        self.token_uri = self.base + '/token'

    def base_flags(self):
        return ['--docs-base-url=' + self.base, '--sheets-api-base-url=' + self.base]

    # -- plain HTTP to the fake -------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, host='127.0.0.1'):
        conn = http.client.HTTPConnection(host, self.port, timeout=30)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                headers = dict(headers or {}, **{'Content-Type': 'application/json'})
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return h.Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def control(self, path, body=None, method='POST'):
        r = self.request(method, '/_control/' + path, body if body is not None else {})
        if r.status != 200:
            raise AssertionError('fake control %s answered %d: %r' % (path, r.status, r.body))
        return r.json()

    def put_sheet(self, sheet_id, sheet):
        return self.control('sheets/' + sheet_id, sheet, 'PUT')

    def set_tab(self, sheet_id, gid, **content):
        return self.control('sheets/%s/tabs/%d' % (sheet_id, gid), content)

    def fail(self, sheet='*', count=1, status=500, retry_after=None, route='any', delay=0,
             tab=None):
        """Queues failures (see fake_google.py); with `tab`, only values.get of that tab."""
        return self.control('fail', {'sheet': sheet, 'count': count, 'status': status,
                                     'retry_after': retry_after, 'route': route, 'delay': delay,
                                     'tab': tab})

    def clear_failures(self):
        return self.control('clear-failures')

    def stats(self):
        r = self.request('GET', '/_control/stats')
        return r.json()

    def reset_stats(self):
        return self.control('reset-stats')

    # -- URLs -------------------------------------------------------------------------------------

    def edit_url(self, sheet_id, gid=0):
        return '%s/spreadsheets/d/%s/edit#gid=%d' % (self.base, sheet_id, gid)

    def export_url(self, sheet_id, gid=0):
        return '%s/spreadsheets/d/%s/export?format=csv&gid=%d' % (self.base, sheet_id, gid)

    def pub_url(self, key, gid=0):
        return '%s/spreadsheets/d/e/%s/pub?gid=%d&single=true&output=csv' % (self.base, key, gid)

    def google_edit_url(self, sheet_id, gid=0):
        """The real-looking browser URL: sheetsync must map it onto --docs-base-url."""
        return 'https://docs.google.com/spreadsheets/d/%s/edit#gid=%d' % (sheet_id, gid)


# -- service accounts ----------------------------------------------------------------------------

def sheet_id(name):
    """A spreadsheet id shaped like Google's (44 characters)."""
    return ('1' + name + '_' * 44)[:44]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


class ServiceAccount:
    """An RSA key pair (openssl genpkey) in `directory`; write_credentials(token_uri) writes the
    credentials JSON (the fake's port is known only after it started with the public key)."""

    def __init__(self, directory, email='sheetsync-test@fake-project.iam.gserviceaccount.com',
                 name='sa', bits=2048):
        self.email = email
        self.directory = directory
        self.name = name
        self.key_path = os.path.join(directory, name + '.key.pem')
        self.pub_path = os.path.join(directory, name + '.pub.pem')
        subprocess.run(['openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt',
                        'rsa_keygen_bits:%d' % bits, '-out', self.key_path],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(['openssl', 'pkey', '-in', self.key_path, '-pubout', '-out', self.pub_path],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(self.key_path, encoding='ascii') as f:
            self.private_key = f.read()
        self.key_id = os.urandom(20).hex()
        self.token_uri = None
        self.credentials_path = None

    def write_credentials(self, token_uri, path=None, **overrides):
        """Writes the credentials JSON (fields overridden or, with None, removed); returns its
        path. Without `path` it becomes this account's credentials file."""
        creds = {
            'type': 'service_account', 'project_id': 'fake-project',
            'private_key_id': self.key_id, 'private_key': self.private_key,
            'client_email': self.email, 'client_id': '100000000000000000001',
            'auth_uri': 'https://accounts.google.com/o/oauth2/auth', 'token_uri': token_uri,
            'auth_provider_x509_cert_url': 'https://www.googleapis.com/oauth2/v1/certs',
            'client_x509_cert_url': 'https://www.googleapis.com/robot/v1/metadata/x509/x',
        }
        creds.update(overrides)
        creds = {k: v for k, v in creds.items() if v is not None}
        own = path is None
        path = path or os.path.join(self.directory, self.name + '.json')
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(creds, f, indent=2)
        os.chmod(path, 0o600)
        if own:
            self.token_uri = token_uri
            self.credentials_path = path
        return path

    def key_fragments(self):
        """Pieces of the private key that must never appear anywhere."""
        body = ''.join(l for l in self.private_key.splitlines() if not l.startswith('-----'))
        return [body[i:i + 40] for i in range(0, len(body) - 40, 200)] + [self.key_id]

    def jwt(self, **overrides):
        """A signed assertion (openssl dgst -sign), for testing the fake itself."""
        now = int(time.time())
        claims = {'iss': self.email, 'scope': SCOPE, 'aud': self.token_uri, 'iat': now,
                  'exp': now + 3600}
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        header = {'alg': 'RS256', 'typ': 'JWT', 'kid': self.key_id}
        signing_input = b64url(json.dumps(header).encode()) + '.' + \
            b64url(json.dumps(claims).encode())
        sig = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', self.key_path],
                             input=signing_input.encode(), stdout=subprocess.PIPE,
                             check=True).stdout
        return signing_input + '.' + b64url(sig)


def exchange(fake, assertion, grant_type='urn:ietf:params:oauth:grant-type:jwt-bearer'):
    body = urllib.parse.urlencode({'grant_type': grant_type, 'assertion': assertion})
    return fake.request('POST', '/token', body,
                        {'Content-Type': 'application/x-www-form-urlencoded'})


# -- sheetsync serve with any flags --------------------------------------------------------------

class GServer(h.Server):
    """`sheetsync serve --port=0 --db=DB ARGS...` (no --source unless in ARGS). Every response
    is kept in .responses, for the "no secret anywhere" checks."""

    def __init__(self, db, args=(), env=None, start_timeout=15):
        self.source = None
        self.db = db
        self.responses = []
        self._start(['--db=' + db] + list(args), env, start_timeout)

    def request(self, method, path, headers=None, body=None, timeout=10):
        r = super().request(method, path, headers=headers, body=body, timeout=timeout)
        self.responses.append(r)
        return r

    def output_text(self):
        return self.stderr_text() + '\n' + ''.join(self.stdout_lines)

    def start_sync(self, source=None, retry=True, patience=8):
        """POST; returns the response (202 expected). With `retry`, a 409 (the previous sync
        of the source still cleaning up) or a 429 (its cooldown) is retried for `patience` s."""
        path = '/api/sync-sheets-bg' + ('?source=' + urllib.parse.quote(source) if source else '')
        deadline = time.monotonic() + patience
        while True:
            r = self.post(path)
            if not retry or r.status not in (409, 429) or time.monotonic() > deadline:
                return r
            time.sleep(0.05 if r.status == 409 else
                       min(1.0, float(r.header('Retry-After') or 1)))

    def sync_source(self, source=None, timeout=60):
        r = self.start_sync(source)
        if r.status != 202:
            raise AssertionError('POST (source %r) answered %d: %r' % (source, r.status, r.body))
        return self.wait_finished(r.json()['syncId'], timeout=timeout)[-1]

    def data(self, source=None, limit=1000):
        path = '/api/data?limit=%d' % limit + ('&source=' + urllib.parse.quote(source)
                                               if source else '')
        r = self.get(path)
        if r.status != 200:
            raise AssertionError('GET %s answered %d: %r' % (path, r.status, r.body))
        return r.json()


def find_list(obj, *keys):
    """The list in a JSON answer: obj itself, or obj[key] for the first key present."""
    if isinstance(obj, list):
        return obj
    for k in keys:
        if isinstance(obj.get(k), list):
            return obj[k]
    for v in obj.values():
        if isinstance(v, list):
            return v
    raise AssertionError('no list in %r' % (obj,))
