#!/usr/bin/env python3
"""A fake Google for sheetsync's tests (python3 stdlib only): docs.google.com (CSV export,
published CSV), *.googleusercontent.com (where the export redirects), sheets.googleapis.com (Sheets
API v4) and the OAuth2 token endpoint, all on one loopback port. It behaves like the real service
as described in shared/notes/google-sheets.md, failures included.

Prints "PORT <n>" as the first stdout line and flushes, then serves until killed (or until stdin
closes, with --exit-on-stdin-eof). Point sheetsync at it with
  --docs-base-url=http://127.0.0.1:P --sheets-api-base-url=http://127.0.0.1:P
and a credentials file whose token_uri is http://127.0.0.1:P/token.

Sheets
------
A sheet is {"tabs": [TAB, ...], "public": bool, "shared_with": [emails], "publish_key": "KEY",
            "chunk_bytes": N, "chunk_delay": seconds}
where TAB is {"gid": int, "title": str} plus one of
  "values": [[cell, ...], ...]   the grid (strings; may be ragged, may hold trailing empty cells)
  "csv": "a,b\\r\\n1,2\\r\\n"       parsed into the grid
  "generate": {"rows": N, "cols": C}   a header row and N generated data rows
and optionally "rowCount": N (gridProperties.rowCount; default the grid's length), so a tab can
have trailing blank rows in its grid.
chunk_bytes/chunk_delay make the CSV and values bodies trickle (for slow-download tests).
"hold_after_bytes": N makes the CSV export stop after N bytes of its body until the test POSTs
/_control/release (deterministic "mid-download" for crash tests; /_control/stats counts the
requests "holding" there).
Sheets come from --sheets FILE (a JSON object: id -> sheet) and --sheet ID=CSVFILE (public, one
tab gid 0 "Sheet1"); they can be replaced at run time (see control endpoints).

Routes (GET unless noted)
-------------------------
/spreadsheets/d/{ID}/export?format=csv&gid=G
    Public sheet, or Authorization: Bearer <token of an e-mail the sheet is shared with>:
    307 to http://localhost:P/export-host/export/{ticket}?id=ID&gid=G (the other host name:
    127.0.0.1 <-> localhost, standing for *.googleusercontent.com). The ticket carries the access
    decision, like Google's signed links: the second host needs no credentials.
    Private sheet without a token: 200 text/html Google sign-in page.
    Bearer token unknown or expired: 401 HTML error page. Valid token, sheet not shared: 403 HTML.
    Unknown id: 404 HTML error page ("Error 404 (Not Found)!!1"). Unknown gid: 400 HTML error page.
    format other than csv: 400 HTML error page. No gid: the first tab.
/export-host/export/{ticket}?...
    200 text/csv, chunked, no Content-Length (CRLF line ends; every row padded to the data width;
    rows up to the last non-empty one); gzip-encoded when Accept-Encoding allows it (so is the
    API's JSON). Unknown ticket: 404 HTML.
/spreadsheets/d/e/{KEY}/pub?gid=G&single=true&output=csv
    Published to the web (sheet has "publish_key": KEY; sharing does not matter): 307 to the export
    host as above. Unknown key: 404 HTML. output other than csv: 200 HTML table.
/spreadsheets/d/{ID}/edit     200 text/html (a browser page, never CSV)
/v4/spreadsheets/{ID}?fields=...
    {"spreadsheetId", "properties": {"title"}, "sheets": [{"properties": {"sheetId", "title",
    "index", "sheetType": "GRID", "gridProperties": {"rowCount", "columnCount"}}}]}
    (with fields=sheets.properties(sheetId,title) only those two).
/v4/spreadsheets/{ID}/values/{RANGE}
    RANGE: 'Title'!A1:Z, Title, Title!A:C, A1:C5 (first tab), percent-encoded.
    {"range": "'Title'!A1:D20", "majorDimension": "ROWS", "values": [[...], ...]} with trailing
    empty cells and trailing empty rows omitted (ragged rows; a blank row inside is []); no "values"
    key when the range is empty. Unknown tab: 400 INVALID_ARGUMENT "Unable to parse range: ...".
/v4/spreadsheets/{ID}/values:batchGet?ranges=R&ranges=R2
    {"spreadsheetId", "valueRanges": [<as values.get>, ...]}
    API auth: ?key=K (valid keys: --api-key; valid only for public sheets, else 403
    PERMISSION_DENIED; an unknown key: 400 INVALID_ARGUMENT/API_KEY_INVALID) or Authorization:
    Bearer T (unknown/expired: 401 UNAUTHENTICATED; sheet neither public nor shared with the
    token's e-mail: 403 PERMISSION_DENIED "The caller does not have permission"); neither: 403
    "The request is missing a valid API key.". Unknown id: 404 NOT_FOUND.
POST /token   form grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT
    The JWT's RS256 signature is verified with the --public-key keys (pure-python RSA PKCS#1 v1.5),
    then: iss a known e-mail (--client-email; any e-mail when none given), aud == this endpoint's
    URL (http://127.0.0.1:P/token or http://localhost:P/token, or --token-audience), scope contains
    spreadsheets.readonly (or spreadsheets, drive.readonly, drive), iat/exp present, exp > now,
    exp - iat <= 3600, iat not more than 5 min in the future.
    Success: {"access_token": "ya29.fake-...", "expires_in": <--token-expires-in, 3599>,
    "token_type": "Bearer"}. Failure: 400 {"error": "invalid_grant"|"unsupported_grant_type"|
    "invalid_scope"|"invalid_request", "error_description": "..."}.
POST /token   form grant_type=refresh_token&client_id=C&client_secret=S&refresh_token=R
    An authorized user's grant (what `gcloud auth application-default login` credentials do):
    C must be a known client (--authorized-user) and S its secret, else 401 invalid_client
    ("The OAuth client was not found." / "Unauthorized", as Google answers); R a refresh token
    issued to that client, else 400 invalid_grant "Bad Request"; a missing field: 400
    invalid_request. Success as above; the access token acts for the user's e-mail (sharing).

Control endpoints (JSON in, JSON out; for tests to script scenarios)
--------------------------------------------------------------------
PUT|POST /_control/sheets/{ID}     body: a sheet (replaces or creates it)
DELETE   /_control/sheets/{ID}     removes it (404 from then on)
POST /_control/sheets/{ID}/tabs/{GID}   body: {"values"|"csv"|"generate": ..., "title"?} replaces
                                   one tab's content (creates the tab when missing)
POST /_control/fail   body: {"sheet": ID or "*", "route": "any"|"export"|"export-host"|"api"|
                                 "token", "count": N, "status": 429|500|503|0|-1,
                                 "retry_after": S|null, "delay": seconds before answering}
                      queues N failures: the next N matching requests answer `status` (Google-shaped
                      body: HTML for docs routes, JSON for the API and /token; 429 with Retry-After
                      when retry_after is set); status 0 drops the connection without an answer;
                      status -1 starts the normal 200 body (export-host, API values) and resets
                      the connection halfway, before the last chunk.
                      Rules are consumed in order; several may be queued. With "tab": TITLE a
                      rule matches only values.get requests of that tab (e.g. fail a second tab).
POST /_control/clear-failures
POST /_control/expire-tokens       every issued access token becomes expired (401 from then on)
POST /_control/config body: {"api_keys": [...], "client_emails": [...], "token_expires_in": N}
GET  /_control/stats  {"requests": {route: {sheet: n}}, "statuses": {route: {code: n}},
                       "token_exchanges": n (successful), "token_failures": n,
                       "issued_tokens": [...], "export_host_auth_headers": n (credentials sent to
                       the second host: should stay 0), "bytes_sent": {"<route> <sheet>": n}
                       (body bytes written so far), "ranges": [[sheet, range], ...] (every
                       values.get range as asked, e.g. 'Sales'!1:50000), "log": [{"t": monotonic seconds, "route",
                       "sheet", "status", "auth": "none"|"key"|"bearer"}, ...]}
POST /_control/reset-stats
GET  /_control/health  {"ok": true}

Flags
-----
  --port N                 port to listen on (default 0: a free one)
  --sheets FILE            JSON object id -> sheet
  --sheet ID=CSVFILE       a public one-tab sheet (repeatable)
  --public-key PEM         a service account's public key (SubjectPublicKeyInfo "PUBLIC KEY",
                           PKCS#1 "RSA PUBLIC KEY", or a private key PEM, whose public half is
                           used); repeatable; /token refuses every JWT when none is given
  --client-email EMAIL     a known service account (repeatable; none = any e-mail accepted)
  --api-key KEY            a valid API key (repeatable; default: none valid)
  --token-expires-in N     access token lifetime in seconds (default 3599)
  --token-audience URL     an extra accepted aud (default: this server's /token URLs)
  --authorized-user CLIENT_ID,CLIENT_SECRET,REFRESH_TOKEN,EMAIL
                           a user's credentials the refresh-token grant accepts (repeatable;
                           also POST /_control/authorized-users {"users": [[...4 strings], ...]}
                           which replaces them)
  --exit-on-stdin-eof      exit when stdin closes
  --verbose                log requests to stderr
"""

import base64
import csv
import hashlib
import io
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
import urllib.parse
import zlib

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also when run as python3 -P
import fake_http_common as common  # noqa: E402
from fake_http_common import REASONS, SIGN_IN_PAGE, google_error_page  # noqa: E402

NEED_ACCESS_PAGE = (
    '<!doctype html><html lang="en-US"><head><title>Google Drive - You need access</title></head>'
    '<body><h1>You need access</h1><p>Ask for access, or switch to an account with access.</p>'
    '</body></html>\n'
).encode('utf-8')

EDIT_PAGE = (
    '<!DOCTYPE html><html><head><title>Sheet - Google Sheets</title></head><body>'
    '<div id="docs-editor">Google Sheets</div></body></html>\n'
).encode('utf-8')

API_STATUS = {400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED',
              404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 502: 'UNAVAILABLE',
              503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED'}
API_MESSAGE = {
    401: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login '
         'cookie or other valid authentication credential. See '
         'https://developers.google.com/identity/sign-in/web/devconsole-project.',
    403: 'The caller does not have permission',
    404: 'Requested entity was not found.',
    429: "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per "
         "user' of service 'sheets.googleapis.com' for consumer 'project_number:123456789012'.",
    500: 'Internal error encountered.',
    502: 'Bad Gateway',
    503: 'The service is currently unavailable.',
    504: 'The request timed out. Please try again.',
}

JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
SCOPES_OK = ('https://www.googleapis.com/auth/spreadsheets.readonly',
             'https://www.googleapis.com/auth/spreadsheets',
             'https://www.googleapis.com/auth/drive.readonly',
             'https://www.googleapis.com/auth/drive')


def api_error(code, message=None, details=None):
    err = {'code': code, 'message': message or API_MESSAGE.get(code, 'Error'),
           'status': API_STATUS.get(code, 'UNKNOWN')}
    if details:
        err['details'] = details
    return {'error': err}


def rate_limit_details():
    return [{'@type': 'type.googleapis.com/google.rpc.ErrorInfo', 'reason': 'RATE_LIMIT_EXCEEDED',
             'domain': 'googleapis.com',
             'metadata': {'service': 'sheets.googleapis.com',
                          'quota_metric': 'sheets.googleapis.com/read_requests',
                          'quota_limit': 'ReadRequestsPerMinutePerUser',
                          'consumer': 'projects/123456789012'}}]


# -- RSA / JWT ------------------------------------------------------------------------------------

def b64url_decode(text):
    if isinstance(text, str):
        text = text.encode('ascii')
    if not re.fullmatch(rb'[A-Za-z0-9_-]*', text):
        raise ValueError('not base64url')
    return base64.urlsafe_b64decode(text + b'=' * (-len(text) % 4))


def _der_read(data, pos):
    """One DER TLV at pos: returns (tag, value bytes, next pos)."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7f
        length = int.from_bytes(data[pos:pos + n], 'big')
        pos += n
    return tag, data[pos:pos + length], pos + length


def _der_children(data):
    pos, out = 0, []
    while pos < len(data):
        tag, value, pos = _der_read(data, pos)
        out.append((tag, value))
    return out


def rsa_public_numbers(pem_text):
    """(n, e) from a PEM: PUBLIC KEY, RSA PUBLIC KEY, PRIVATE KEY or RSA PRIVATE KEY."""
    m = re.search(r'-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----', pem_text, re.S)
    if not m:
        raise ValueError('no PEM block')
    kind, der = m.group(1), base64.b64decode(''.join(m.group(2).split()))
    _, body, _ = _der_read(der, 0)
    items = _der_children(body)
    if kind == 'PUBLIC KEY':  # SEQ { SEQ alg, BIT STRING (0 unused bits, RSAPublicKey) }
        bits = items[1][1]
        _, rsa, _ = _der_read(bits[1:], 0)
        ints = _der_children(rsa)
        return int.from_bytes(ints[0][1], 'big'), int.from_bytes(ints[1][1], 'big')
    if kind == 'RSA PUBLIC KEY':
        return int.from_bytes(items[0][1], 'big'), int.from_bytes(items[1][1], 'big')
    if kind == 'PRIVATE KEY':  # SEQ { INT 0, SEQ alg, OCTET STRING (RSAPrivateKey) }
        _, rsa, _ = _der_read(items[2][1], 0)
        ints = _der_children(rsa)
        return int.from_bytes(ints[1][1], 'big'), int.from_bytes(ints[2][1], 'big')
    if kind == 'RSA PRIVATE KEY':
        return int.from_bytes(items[1][1], 'big'), int.from_bytes(items[2][1], 'big')
    raise ValueError('unsupported PEM block %s' % kind)


SHA256_DIGEST_INFO = bytes.fromhex('3031300d060960864801650304020105000420')


def rsa_sha256_verify(n, e, message, signature):
    """RSASSA-PKCS1-v1_5 with SHA-256."""
    k = (n.bit_length() + 7) // 8
    if len(signature) != k:
        return False
    s = int.from_bytes(signature, 'big')
    if s >= n:
        return False
    em = pow(s, e, n).to_bytes(k, 'big')
    t = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    expected = b'\x00\x01' + b'\xff' * (k - len(t) - 3) + b'\x00' + t
    return len(expected) == k and secrets.compare_digest(em, expected)


# -- sheets ---------------------------------------------------------------------------------------

def generated_values(rows, cols):
    grid = [['id'] + ['col_%d' % c for c in range(1, cols)]]
    for r in range(1, rows + 1):
        grid.append([str(r)] + ['r%dc%d %s' % (r, c, 'x' * (r % 7)) for c in range(1, cols)])
    return grid


def tab_grid(tab):
    if 'values' in tab:
        return [[('' if v is None else str(v)) for v in row] for row in tab['values']]
    if 'csv' in tab:
        return [row for row in csv.reader(io.StringIO(tab['csv'], newline=''))]
    if 'generate' in tab:
        g = tab['generate']
        return generated_values(int(g.get('rows', 1000)), int(g.get('cols', 4)))
    return []


def normalize_sheet(sheet):
    """Fills defaults and turns every tab into a grid."""
    tabs = []
    for i, tab in enumerate(sheet.get('tabs') or [{'gid': 0, 'title': 'Sheet1', 'values': []}]):
        tabs.append({'gid': int(tab.get('gid', 0 if i == 0 else 1000 + i)),
                     'title': tab.get('title', 'Sheet%d' % (i + 1)), 'grid': tab_grid(tab),
                     'row_count': tab.get('rowCount')})
    return {'tabs': tabs, 'public': bool(sheet.get('public', False)),
            'shared_with': [e.lower() for e in sheet.get('shared_with', [])],
            'publish_key': sheet.get('publish_key'),
            'chunk_bytes': int(sheet.get('chunk_bytes', 16384)),
            'chunk_delay': float(sheet.get('chunk_delay', 0)),
            'hold_after_bytes': sheet.get('hold_after_bytes')}


def trimmed(grid):
    """Trailing empty cells and trailing empty rows removed (what values.get returns)."""
    rows = []
    for row in grid:
        row = list(row)
        while row and row[-1] == '':
            row.pop()
        rows.append(row)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def csv_escape(cell):
    if any(c in cell for c in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def export_csv(grid):
    """Google's CSV export: rows up to the last non-empty one, all padded to the data width."""
    rows = trimmed(grid)
    width = max((len(r) for r in rows), default=0)
    return ''.join(','.join(csv_escape(c) for c in r + [''] * (width - len(r))) + '\r\n'
                   for r in rows).encode('utf-8')


def col_letters(n):
    """1 -> A, 27 -> AA."""
    s = ''
    while n > 0:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def col_number(letters):
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def quote_title(title):
    if re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', title) and not re.fullmatch(r'[A-Za-z]{1,3}\d+',
                                                                               title):
        return title
    return "'" + title.replace("'", "''") + "'"


def parse_range(text):
    """'Title'!A1:B2 -> (title or None, a1 or None); raises ValueError."""
    if text.startswith("'"):
        i, title = 1, ''
        while True:
            j = text.find("'", i)
            if j < 0:
                raise ValueError(text)
            if text[j + 1:j + 2] == "'":
                title += text[i:j] + "'"
                i = j + 2
                continue
            title += text[i:j]
            rest = text[j + 1:]
            break
        if rest == '':
            return title, None
        if not rest.startswith('!'):
            raise ValueError(text)
        return title, rest[1:]
    if '!' in text:
        title, _, a1 = text.rpartition('!')
        return title, a1
    if re.fullmatch(r'[A-Za-z]{0,3}\d*(:[A-Za-z]{0,3}\d*)?', text) and text:
        return None, text  # a bare A1 range: the first tab (a title that looks like A1 is a range)
    return text, None


def apply_a1(grid, a1):
    """The part of grid inside a1 (A1, A1:C5, A:C, 2:5); returns (rows, first row, first col)."""
    m = re.fullmatch(r'([A-Za-z]{0,3})(\d*)(?::([A-Za-z]{0,3})(\d*))?', a1 or '')
    if not m or not a1:
        raise ValueError(a1)
    c1, r1, c2, r2 = m.groups()
    col1 = col_number(c1) if c1 else 1
    row1 = int(r1) if r1 else 1
    if m.group(3) is None and m.group(4) is None:  # a single cell
        col2, row2 = col1, row1
    else:
        col2 = col_number(c2) if c2 else 10 ** 6
        row2 = int(r2) if r2 else 10 ** 9
    return [row[col1 - 1:col2] for row in grid[row1 - 1:row2]], row1, col1


class State:
    """Everything the fake knows, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sheets = {}
        self.tickets = {}  # export-host ticket -> (sheet id, gid)
        self.tokens = {}  # access token -> {"email", "expires"}
        self.failures = []
        self.api_keys = set()
        self.client_emails = set()
        self.public_keys = []  # (n, e)
        self.token_expires_in = 3599
        self.token_audiences = set()
        self.release = threading.Event()  # set: held bodies go on (hold_after_bytes)
        self.holding = 0
        self.reset_stats()

    def reset_stats(self):
        self.requests = {}
        self.statuses = {}
        self.token_exchanges = 0
        self.token_failures = 0
        self.export_host_auth = 0
        self.bytes_sent = {}
        self.log = []
        self.ranges = []  # every values.get range, as asked (sheet id, range)

    def count(self, route, sheet):
        with self.lock:
            per = self.requests.setdefault(route, {})
            per[sheet or ''] = per.get(sheet or '', 0) + 1

    def take_failure(self, route, sheet, tab=None):
        with self.lock:
            for rule in self.failures:
                if rule['route'] not in ('any', route):
                    continue
                if rule.get('tab') is not None and rule['tab'] != tab:
                    continue  # only values.get of that tab
                if rule['route'] == 'any' and route in ('token', 'export-host'):
                    continue  # "any" means the first request of a fetch: docs or API
                if rule['sheet'] not in ('*', sheet):
                    continue
                rule['count'] -= 1
                if rule['count'] <= 0:
                    self.failures.remove(rule)
                return dict(rule)
        return None


STATE = State()


# -- the server -----------------------------------------------------------------------------------

class Handler(common.Handler):
    server_version = 'GSE'
    log_name = 'fake_google'

    # -- plumbing ---------------------------------------------------------------------------------

    def dispatch(self, method):
        self.t0 = time.monotonic()
        self.route_name, self.sheet_id, self.auth_kind = None, None, 'none'
        parts = urllib.parse.urlsplit(self.path)
        self.query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        self.raw_path = parts.path
        body = b''
        length = int(self.headers.get('Content-Length') or 0)
        if length:
            body = self.rfile.read(length)
        try:
            for pattern, m, handler in ROUTES:
                if m != method:
                    continue
                match = pattern.fullmatch(parts.path)
                if match:
                    handler(self, body, *match.groups())
                    return
            if method == 'GET':
                self.send_body(404, google_error_page(404), 'text/html; charset=UTF-8')
            else:
                self.send_body(405, google_error_page(405), 'text/html; charset=UTF-8')
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self):
        self.dispatch('GET')

    def do_POST(self):
        self.dispatch('POST')

    def do_PUT(self):
        self.dispatch('PUT')

    def do_DELETE(self):
        self.dispatch('DELETE')

    def q(self, name, default=None):
        values = self.query.get(name)
        return values[-1] if values else default

    def record(self, code):
        if self.route_name is None:
            return
        with STATE.lock:
            per = STATE.statuses.setdefault(self.route_name, {})
            per[str(code)] = per.get(str(code), 0) + 1
            STATE.log.append({'t': time.monotonic(), 'route': self.route_name,
                              'sheet': self.sheet_id, 'status': code, 'auth': self.auth_kind})

    def send_body(self, code, body, content_type, headers=()):
        self.record(code)
        super().send_body(code, body, content_type, headers)

    def send_json(self, code, obj, headers=()):
        self.send_body(code, (json.dumps(obj, indent=2) + '\n').encode('utf-8'),
                       'application/json; charset=UTF-8', headers)

    def hold(self):
        """Waits (with the bytes so far flushed) until the test releases held bodies."""
        self.wfile.flush()
        with STATE.lock:
            release = STATE.release
            STATE.holding += 1
        try:
            release.wait()
        finally:
            with STATE.lock:
                STATE.holding -= 1

    def send_chunked(self, code, content_type, body, chunk_bytes=16384, chunk_delay=0.0,
                     hold_after=None):
        """Chunked, no Content-Length; gzip-encoded when the client accepts it (as Google
        does), compressed piece by piece so a slow body still trickles. With `hold_after`, the
        body stops after that many bytes until /_control/release."""
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31) if self.accepts_gzip() else None
        self.record(code)
        self.send_response(code)
        self.send_header('Content-Type', content_type)
        self.send_header('Transfer-Encoding', 'chunked')
        if compressor:
            self.send_header('Content-Encoding', 'gzip')
        self.send_header('Cache-Control', 'no-cache, no-store, max-age=0, must-revalidate')
        self.end_headers()
        step = max(1, chunk_bytes)
        if getattr(self, 'truncate', False):
            body = body[:len(body) // 2]
        for i in range(0, len(body), step):
            if hold_after is not None and i >= hold_after:
                self.hold()
                hold_after = None
            piece = body[i:i + step]
            self.write_chunk(compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH)
                             if compressor else piece)
            with STATE.lock:  # counts the bytes before encoding
                key = '%s %s' % (self.route_name, self.sheet_id)
                STATE.bytes_sent[key] = STATE.bytes_sent.get(key, 0) + len(piece)
            if chunk_delay:
                self.wfile.flush()
                time.sleep(chunk_delay)
        if getattr(self, 'truncate', False):  # no last chunk: the connection breaks
            self.truncate = False
            self.wfile.flush()
            self.close_connection = True
            self.reset_on_close()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if compressor:
            self.write_chunk(compressor.flush())
        self.wfile.write(b'0\r\n\r\n')

    def redirect(self, location, code=307):
        self.record(code)
        body = ('<HTML>\n<HEAD>\n<TITLE>Temporary Redirect</TITLE>\n</HEAD>\n'
                '<BODY BGCOLOR="#FFFFFF" TEXT="#000000">\n<H1>Temporary Redirect</H1>\n'
                'The document has moved <A HREF="%s">here</A>.\n</BODY>\n</HTML>\n'
                % location).encode('utf-8')
        self.send_response(code)
        self.send_header('Location', location)
        self.send_header('Content-Type', 'text/html; charset=UTF-8')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def other_host(self):
        host = (self.headers.get('Host') or '127.0.0.1').rsplit(':', 1)[0]
        other = 'localhost' if host != 'localhost' else '127.0.0.1'
        return '%s:%d' % (other, self.server.server_address[1])

    def own_token_urls(self):
        port = self.server.server_address[1]
        return {'http://127.0.0.1:%d/token' % port, 'http://localhost:%d/token' % port} \
            | STATE.token_audiences

    def bearer(self):
        auth = self.headers.get('Authorization') or ''
        if auth[:7].lower() == 'bearer ':
            return auth[7:].strip()
        return None

    def token_email(self, token):
        """The e-mail of a valid token; None for unknown; '' for expired."""
        with STATE.lock:
            info = STATE.tokens.get(token)
        if info is None:
            return None
        if info['expires'] <= time.time():
            return ''
        return info['email']

    def injected_failure(self, kind):
        """Answers a queued failure for this request, if any: returns True when it did."""
        rule = STATE.take_failure(self.route_name, self.sheet_id, getattr(self, 'tab_title', None))
        if not rule:
            return False
        if rule.get('delay'):
            time.sleep(float(rule['delay']))
        code = int(rule.get('status', 500))
        if code == -1:
            self.truncate = True  # send_chunked sends half the body, then resets
            return False
        if code == 0:
            self.record(0)
            self.close_connection = True
            try:
                self.reset_on_close()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        headers = []
        if rule.get('retry_after') is not None:
            headers.append(('Retry-After', str(rule['retry_after'])))
        if kind == 'api':
            self.send_json(code, api_error(code, details=rate_limit_details() if code == 429
                                           else None), headers)
        elif kind == 'token':
            self.send_json(code, {'error': 'internal_failure' if code >= 500 else 'rate_limited',
                                  'error_description': REASONS.get(code, 'Error')}, headers)
        else:
            self.send_body(code, google_error_page(code), 'text/html; charset=UTF-8', headers)
        return True


ROUTES = []


def route(method, pattern):
    def register(handler):
        ROUTES.append((re.compile(pattern), method, handler))
        return handler
    return register


def find_tab(sheet, gid):
    if gid is None or gid == '':
        return sheet['tabs'][0] if sheet['tabs'] else None
    try:
        gid = int(gid)
    except ValueError:
        return None
    for tab in sheet['tabs']:
        if tab['gid'] == gid:
            return tab
    return None


def issue_ticket(sheet_id, gid):
    ticket = secrets.token_hex(12)
    with STATE.lock:
        STATE.tickets[ticket] = (sheet_id, gid)
    return ticket


# -- docs.google.com ------------------------------------------------------------------------------

@route('GET', r'/spreadsheets/d/([A-Za-z0-9_-]+)/export')
def export(req, body, sheet_id):
    req.route_name, req.sheet_id = 'export', sheet_id
    STATE.count('export', sheet_id)
    token = req.bearer()
    if token:
        req.auth_kind = 'bearer'
    if req.injected_failure('docs'):
        return
    with STATE.lock:
        sheet = STATE.sheets.get(sheet_id)
    if sheet is None:
        req.send_body(404, google_error_page(404), 'text/html; charset=UTF-8')
        return
    if not sheet['public']:
        if not token:
            req.send_body(200, SIGN_IN_PAGE, 'text/html; charset=utf-8')
            return
        email = req.token_email(token)
        if not email:
            req.send_body(401, google_error_page(401), 'text/html; charset=UTF-8')
            return
        if email.lower() not in sheet['shared_with']:
            req.send_body(403, NEED_ACCESS_PAGE, 'text/html; charset=utf-8')
            return
    if req.q('format', 'xlsx') != 'csv':
        req.send_body(400, google_error_page(400), 'text/html; charset=UTF-8')
        return
    tab = find_tab(sheet, req.q('gid'))
    if tab is None:
        req.send_body(400, google_error_page(400), 'text/html; charset=UTF-8')
        return
    ticket = issue_ticket(sheet_id, tab['gid'])
    req.redirect('http://%s/export-host/export/%s?id=%s&gid=%d&format=csv'
                 % (req.other_host(), ticket, sheet_id, tab['gid']))


@route('GET', r'/spreadsheets/d/e/([A-Za-z0-9_-]+)/pub')
def published(req, body, key):
    req.route_name = 'export'
    with STATE.lock:
        found = [(sid, s) for sid, s in STATE.sheets.items() if s.get('publish_key') == key]
    req.sheet_id = found[0][0] if found else key
    STATE.count('export', req.sheet_id)
    if req.injected_failure('docs'):
        return
    if not found:
        req.send_body(404, google_error_page(404), 'text/html; charset=UTF-8')
        return
    sheet_id, sheet = found[0]
    tab = find_tab(sheet, req.q('gid'))
    if tab is None:
        req.send_body(400, google_error_page(400), 'text/html; charset=UTF-8')
        return
    if req.q('output') != 'csv':
        rows = ''.join('<tr>%s</tr>' % ''.join('<td>%s</td>' % c for c in r) for r in tab['grid'])
        req.send_body(200, ('<!DOCTYPE html><html><body><table>%s</table></body></html>'
                            % rows).encode('utf-8'), 'text/html; charset=utf-8')
        return
    ticket = issue_ticket(sheet_id, tab['gid'])
    req.redirect('http://%s/export-host/export/%s?id=%s&gid=%d&format=csv'
                 % (req.other_host(), ticket, sheet_id, tab['gid']))


@route('GET', r'/export-host/export/([0-9a-f]+)')
def export_host(req, body, ticket):
    req.route_name = 'export-host'
    with STATE.lock:
        found = STATE.tickets.get(ticket)
        if req.headers.get('Authorization'):
            STATE.export_host_auth += 1
    req.sheet_id = found[0] if found else None
    STATE.count('export-host', req.sheet_id)
    if req.injected_failure('docs'):
        return
    if not found:
        req.send_body(404, google_error_page(404), 'text/html; charset=UTF-8')
        return
    with STATE.lock:
        sheet = STATE.sheets.get(found[0])
    tab = find_tab(sheet, found[1]) if sheet else None
    if tab is None:
        req.send_body(404, google_error_page(404), 'text/html; charset=UTF-8')
        return
    with STATE.lock:
        body = tab.get('csv_bytes')
    if body is None:
        body = export_csv(tab['grid'])
        with STATE.lock:
            tab['csv_bytes'] = body
    req.send_chunked(200, 'text/csv; charset=utf-8', body,
                     sheet['chunk_bytes'], sheet['chunk_delay'], sheet.get('hold_after_bytes'))


@route('GET', r'/spreadsheets/d/([A-Za-z0-9_-]+)/(?:edit|view|htmlview)')
def edit_page(req, body, sheet_id):
    req.route_name, req.sheet_id = 'edit', sheet_id
    STATE.count('edit', sheet_id)
    with STATE.lock:
        sheet = STATE.sheets.get(sheet_id)
    if sheet is None:
        req.send_body(404, google_error_page(404), 'text/html; charset=UTF-8')
    elif not sheet['public']:
        req.send_body(200, SIGN_IN_PAGE, 'text/html; charset=utf-8')
    else:
        req.send_body(200, EDIT_PAGE, 'text/html; charset=utf-8')


# -- sheets.googleapis.com ------------------------------------------------------------------------

def api_access(req, sheet_id):
    """Checks the API's credentials; answers and returns None when refused, else the sheet."""
    key = req.q('key')
    token = req.bearer()
    req.auth_kind = 'bearer' if token else ('key' if key is not None else 'none')
    if req.injected_failure('api'):
        return None
    if token:
        email = req.token_email(token)
        if not email:
            req.send_json(401, api_error(401))
            return None
    elif key is not None:
        if key not in STATE.api_keys:
            req.send_json(400, api_error(400, 'API key not valid. Please pass a valid API key.', [
                {'@type': 'type.googleapis.com/google.rpc.ErrorInfo', 'reason': 'API_KEY_INVALID',
                 'domain': 'googleapis.com', 'metadata': {'service': 'sheets.googleapis.com'}}]))
            return None
        email = None
    else:
        req.send_json(403, api_error(403, 'The request is missing a valid API key.'))
        return None
    with STATE.lock:
        sheet = STATE.sheets.get(sheet_id)
    if sheet is None:
        req.send_json(404, api_error(404))
        return None
    if not sheet['public'] and (email is None or email.lower() not in sheet['shared_with']):
        req.send_json(403, api_error(403))
        return None
    return sheet


def value_range(sheet, range_text):
    """The ValueRange of range_text; raises ValueError for a range that does not parse."""
    if any(t['title'] == range_text for t in sheet['tabs']):
        title, a1 = range_text, None  # a tab's title wins over an A1 reading ("S", "AB1")
    else:
        title, a1 = parse_range(range_text)
    if title is None:
        tab = sheet['tabs'][0] if sheet['tabs'] else None
    else:
        tab = next((t for t in sheet['tabs'] if t['title'] == title), None)
    if tab is None:
        raise ValueError(range_text)
    grid = tab['grid']
    rows, row1, col1 = apply_a1(grid, a1) if a1 else (grid, 1, 1)
    values = trimmed(rows)
    height = len(grid) if not a1 else len(rows)
    width = max((len(r) for r in (grid if not a1 else rows)), default=0)
    last_col = col_letters(max(col1, col1 + max(width, 1) - 1))
    last_row = max(row1, row1 + max(height, 1) - 1)
    out = {'range': '%s!%s%d:%s%d' % (quote_title(tab['title']), col_letters(col1), row1,
                                       last_col, last_row),
           'majorDimension': 'ROWS'}
    if values:
        out['values'] = values
    return out


@route('GET', r'/v4/spreadsheets/([A-Za-z0-9_-]+)/values/([^/]+)')
def values_get(req, body, sheet_id, raw_range):
    req.route_name, req.sheet_id = 'api', sheet_id
    STATE.count('api', sheet_id)
    range_text = urllib.parse.unquote(raw_range)
    with STATE.lock:
        STATE.ranges.append([sheet_id, range_text])
    try:
        req.tab_title = parse_range(range_text)[0]
    except ValueError:
        req.tab_title = None
    sheet = api_access(req, sheet_id)
    if sheet is None:
        return
    if req.q('majorDimension', 'ROWS') != 'ROWS':
        req.send_json(400, api_error(400, 'only ROWS in this fake'))
        return
    try:
        out = value_range(sheet, range_text)
    except ValueError:
        req.send_json(400, api_error(400, 'Unable to parse range: %s' % range_text))
        return
    req.send_chunked(200, 'application/json; charset=UTF-8',
                     (json.dumps(out, indent=2, ensure_ascii=False) + '\n').encode('utf-8'),
                     sheet['chunk_bytes'], sheet['chunk_delay'])


@route('GET', r'/v4/spreadsheets/([A-Za-z0-9_-]+)/values:batchGet')
def values_batch_get(req, body, sheet_id):
    req.route_name, req.sheet_id = 'api', sheet_id
    STATE.count('api', sheet_id)
    sheet = api_access(req, sheet_id)
    if sheet is None:
        return
    ranges = req.query.get('ranges', [])
    out = []
    for r in ranges:
        try:
            out.append(value_range(sheet, r))
        except ValueError:
            req.send_json(400, api_error(400, 'Unable to parse range: %s' % r))
            return
    req.send_chunked(200, 'application/json; charset=UTF-8',
                     (json.dumps({'spreadsheetId': sheet_id, 'valueRanges': out}, indent=2,
                                 ensure_ascii=False) + '\n').encode('utf-8'),
                     sheet['chunk_bytes'], sheet['chunk_delay'])


@route('GET', r'/v4/spreadsheets/([A-Za-z0-9_-]+)')
def spreadsheet_get(req, body, sheet_id):
    req.route_name, req.sheet_id = 'api-meta', sheet_id
    STATE.count('api-meta', sheet_id)
    sheet = api_access(req, sheet_id)
    if sheet is None:
        return
    fields = req.q('fields', '')
    sheets = []
    for i, tab in enumerate(sheet['tabs']):
        props = {'sheetId': tab['gid'], 'title': tab['title'], 'index': i, 'sheetType': 'GRID',
                 'gridProperties': {'rowCount': (len(tab['grid']) if tab.get('row_count') is None
                                                 else int(tab['row_count'])),
                                    'columnCount': max(26, max((len(r) for r in tab['grid']),
                                                               default=0))}}
        m = re.search(r'sheets\.properties\(([^)]*)\)', fields)
        if m:
            wanted = [f.strip() for f in m.group(1).split(',')]
            # "gridProperties.rowCount" keeps that one member of gridProperties.
            sub = {}
            for f in wanted:
                if '.' in f:
                    k, member = f.split('.', 1)
                    if member in props.get(k, {}):
                        sub.setdefault(k, {})[member] = props[k][member]
            props = {k: v for k, v in props.items() if k in wanted}
            props.update(sub)
        sheets.append({'properties': props})
    if fields and 'sheets' in fields and 'spreadsheetId' not in fields:
        req.send_json(200, {'sheets': sheets})
    else:
        req.send_json(200, {'spreadsheetId': sheet_id, 'properties': {'title': 'Sheet ' + sheet_id},
                            'sheets': sheets})


# -- oauth2 ---------------------------------------------------------------------------------------

@route('POST', r'/token')
def token(req, body):
    req.route_name, req.sheet_id = 'token', None
    STATE.count('token', None)

    def refuse(error, description):
        with STATE.lock:
            STATE.token_failures += 1
        req.send_json(400, {'error': error, 'error_description': description})

    if req.injected_failure('token'):
        return
    form = urllib.parse.parse_qs(body.decode('utf-8', 'replace'), keep_blank_values=True)
    grant = (form.get('grant_type') or [''])[-1]
    assertion = (form.get('assertion') or [''])[-1]
    if grant == 'refresh_token':
        refresh_grant(req, form)
        return
    if grant != JWT_BEARER:
        refuse('unsupported_grant_type', 'Invalid grant_type: %s' % grant)
        return
    parts = assertion.split('.')
    if len(parts) != 3:
        refuse('invalid_request', 'Invalid JWT: not a JWS compact serialization')
        return
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        refuse('invalid_grant', 'Invalid JWT: malformed base64url or JSON')
        return
    if not isinstance(header, dict) or not isinstance(claims, dict):
        refuse('invalid_grant', 'Invalid JWT: header and claims must be JSON objects')
        return
    if header.get('alg') != 'RS256':
        refuse('invalid_grant', 'Invalid JWT: unsupported alg %r' % header.get('alg'))
        return
    signed = (parts[0] + '.' + parts[1]).encode('ascii')
    if not any(rsa_sha256_verify(n, e, signed, signature) for n, e in STATE.public_keys):
        refuse('invalid_grant', 'Invalid JWT Signature.')
        return
    iss = claims.get('iss')
    if not isinstance(iss, str) or '@' not in iss or \
            (STATE.client_emails and iss.lower() not in STATE.client_emails):
        refuse('invalid_grant', 'Invalid email or User ID')
        return
    if claims.get('aud') not in req.own_token_urls():
        refuse('invalid_grant', 'Invalid JWT: Failed audience check. The right audience is %s'
               % sorted(req.own_token_urls())[0])
        return
    scopes = str(claims.get('scope') or '').split()
    if not any(s in SCOPES_OK for s in scopes):
        refuse('invalid_scope', 'Invalid OAuth scope or ID token audience provided.')
        return
    iat, exp, now = claims.get('iat'), claims.get('exp'), time.time()
    if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)) or \
            isinstance(iat, bool) or isinstance(exp, bool):
        refuse('invalid_grant', 'Invalid JWT: iat and exp must be numbers')
        return
    if exp <= now or exp - iat > 3600 or exp <= iat or iat > now + 300:
        refuse('invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) '
               'and in a reasonable timeframe. Check your iat and exp values in the JWT claim.')
        return
    access = 'ya29.fake-' + secrets.token_urlsafe(32)
    with STATE.lock:
        STATE.tokens[access] = {'email': iss.lower(),
                                'expires': time.time() + STATE.token_expires_in}
        STATE.token_exchanges += 1
    req.send_json(200, {'access_token': access, 'expires_in': STATE.token_expires_in,
                        'token_type': 'Bearer'})


# Authorized users for the refresh-token grant: client_id -> {"secret", "tokens": {refresh: email}}.
AUTHORIZED_USERS = {}


def add_authorized_user(spec):
    """Registers CLIENT_ID,CLIENT_SECRET,REFRESH_TOKEN,EMAIL (a string or a list of 4)."""
    parts = spec.split(',', 3) if isinstance(spec, str) else list(spec)
    if len(parts) != 4 or not all(isinstance(x, str) and x for x in parts):
        raise ValueError('an authorized user is CLIENT_ID,CLIENT_SECRET,REFRESH_TOKEN,EMAIL')
    client_id, secret, refresh, email = parts
    client = AUTHORIZED_USERS.setdefault(client_id, {'secret': secret, 'tokens': {}})
    client['secret'] = secret
    client['tokens'][refresh] = email.lower()


def refresh_grant(req, form):
    """grant_type=refresh_token, answered as Google's token endpoint does."""
    def refuse(code, error, description):
        with STATE.lock:
            STATE.token_failures += 1
        req.send_json(code, {'error': error, 'error_description': description})

    field = {k: (form.get(k) or [''])[-1] for k in ('client_id', 'client_secret', 'refresh_token')}
    for name in ('client_id', 'refresh_token'):
        if not field[name]:
            refuse(400, 'invalid_request', 'Missing required parameter: %s' % name)
            return
    with STATE.lock:
        client = AUTHORIZED_USERS.get(field['client_id'])
        if client is None:
            email = None
        else:
            email = client['tokens'].get(field['refresh_token'])
    if client is None:
        refuse(401, 'invalid_client', 'The OAuth client was not found.')
        return
    if not secrets.compare_digest(client['secret'].encode(), field['client_secret'].encode()):
        refuse(401, 'invalid_client', 'Unauthorized')
        return
    if email is None:
        refuse(400, 'invalid_grant', 'Bad Request')
        return
    access = 'ya29.fake-' + secrets.token_urlsafe(32)
    with STATE.lock:
        STATE.tokens[access] = {'email': email, 'expires': time.time() + STATE.token_expires_in}
        STATE.token_exchanges += 1
    req.send_json(200, {'access_token': access, 'expires_in': STATE.token_expires_in,
                        'scope': 'https://www.googleapis.com/auth/spreadsheets.readonly',
                        'token_type': 'Bearer'})


@route('POST', r'/_control/authorized-users')
def authorized_users(req, body):
    cfg = control_json(req, body)
    if cfg is None:
        return
    try:
        with STATE.lock:
            AUTHORIZED_USERS.clear()
            for spec in cfg.get('users', []):
                add_authorized_user(spec)
    except ValueError as e:
        req.send_json(400, {'error': str(e)})
        return
    req.send_json(200, {'ok': True})


# -- control --------------------------------------------------------------------------------------

def control_json(req, body):
    try:
        return json.loads(body.decode('utf-8') or '{}')
    except ValueError as e:
        req.send_json(400, {'error': 'bad json: %s' % e})
        return None


def put_sheet(req, body, sheet_id):
    sheet = control_json(req, body)
    if sheet is None:
        return
    with STATE.lock:
        STATE.sheets[sheet_id] = normalize_sheet(sheet)
        if sheet.get('hold_after_bytes') is not None:
            STATE.release = threading.Event()  # a new hold; earlier ones stay released
    req.send_json(200, {'ok': True})


route('PUT', r'/_control/sheets/([A-Za-z0-9_-]+)')(put_sheet)
route('POST', r'/_control/sheets/([A-Za-z0-9_-]+)')(put_sheet)


@route('DELETE', r'/_control/sheets/([A-Za-z0-9_-]+)')
def delete_sheet(req, body, sheet_id):
    with STATE.lock:
        STATE.sheets.pop(sheet_id, None)
    req.send_json(200, {'ok': True})


@route('POST', r'/_control/sheets/([A-Za-z0-9_-]+)/tabs/(-?\d+)')
def put_tab(req, body, sheet_id, gid):
    tab = control_json(req, body)
    if tab is None:
        return
    with STATE.lock:
        sheet = STATE.sheets.setdefault(sheet_id, normalize_sheet({'tabs': []}))
        existing = next((t for t in sheet['tabs'] if t['gid'] == int(gid)), None)
        if existing is None:
            existing = {'gid': int(gid), 'title': tab.get('title', 'Sheet%d' % (len(sheet['tabs'])
                                                                                 + 1))}
            sheet['tabs'].append(existing)
        if 'title' in tab:
            existing['title'] = tab['title']
        existing['grid'] = tab_grid(tab)
        existing.pop('csv_bytes', None)
    req.send_json(200, {'ok': True})


@route('POST', r'/_control/fail')
def fail(req, body):
    rule = control_json(req, body)
    if rule is None:
        return
    rule = {'sheet': rule.get('sheet', '*'), 'route': rule.get('route', 'any'),
            'count': int(rule.get('count', 1)), 'status': int(rule.get('status', 500)),
            'retry_after': rule.get('retry_after'), 'delay': float(rule.get('delay', 0)),
            'tab': rule.get('tab')}
    with STATE.lock:
        STATE.failures.append(rule)
    req.send_json(200, {'ok': True, 'queued': rule})


@route('POST', r'/_control/release')
def release(req, body):
    with STATE.lock:
        STATE.release.set()
    req.send_json(200, {'ok': True})


@route('POST', r'/_control/clear-failures')
def clear_failures(req, body):
    with STATE.lock:
        STATE.failures = []
    req.send_json(200, {'ok': True})


@route('POST', r'/_control/expire-tokens')
def expire_tokens(req, body):
    with STATE.lock:
        for info in STATE.tokens.values():
            info['expires'] = 0
    req.send_json(200, {'ok': True})


@route('POST', r'/_control/config')
def config(req, body):
    cfg = control_json(req, body)
    if cfg is None:
        return
    with STATE.lock:
        if 'api_keys' in cfg:
            STATE.api_keys = set(cfg['api_keys'])
        if 'client_emails' in cfg:
            STATE.client_emails = {e.lower() for e in cfg['client_emails']}
        if 'token_expires_in' in cfg:
            STATE.token_expires_in = int(cfg['token_expires_in'])
    req.send_json(200, {'ok': True})


@route('GET', r'/_control/stats')
def stats(req, body):
    with STATE.lock:
        out = {'requests': STATE.requests, 'statuses': STATE.statuses,
               'token_exchanges': STATE.token_exchanges, 'token_failures': STATE.token_failures,
               'issued_tokens': list(STATE.tokens), 'export_host_auth_headers':
               STATE.export_host_auth, 'pending_failures': STATE.failures,
               'bytes_sent': STATE.bytes_sent, 'log': STATE.log, 'holding': STATE.holding,
               'ranges': STATE.ranges}
        text = json.dumps(out)
    req.send_body(200, text.encode('utf-8'), 'application/json')


@route('POST', r'/_control/reset-stats')
def reset_stats(req, body):
    with STATE.lock:
        STATE.reset_stats()
    req.send_json(200, {'ok': True})


@route('GET', r'/_control/health')
def health(req, body):
    req.send_json(200, {'ok': True})


# -- main -----------------------------------------------------------------------------------------

def main():
    parser = common.argument_parser('fake Google (docs, sheets API, oauth2)')
    parser.add_argument('--sheets', help='JSON file: id -> sheet')
    parser.add_argument('--sheet', action='append', default=[], help='ID=CSVFILE (public)')
    parser.add_argument('--public-key', action='append', default=[])
    parser.add_argument('--client-email', action='append', default=[])
    parser.add_argument('--api-key', action='append', default=[])
    parser.add_argument('--token-expires-in', type=int, default=3599)
    parser.add_argument('--token-audience', action='append', default=[])
    parser.add_argument('--authorized-user', action='append', default=[])
    args = parser.parse_args()

    if args.sheets:
        with open(args.sheets, encoding='utf-8') as f:
            for sheet_id, sheet in json.load(f).items():
                STATE.sheets[sheet_id] = normalize_sheet(sheet)
    for spec in args.sheet:
        sheet_id, _, path = spec.partition('=')
        with open(path, encoding='utf-8', newline='') as f:
            STATE.sheets[sheet_id] = normalize_sheet(
                {'public': True, 'tabs': [{'gid': 0, 'title': 'Sheet1', 'csv': f.read()}]})
    for path in args.public_key:
        with open(path, encoding='ascii') as f:
            STATE.public_keys.append(rsa_public_numbers(f.read()))
    STATE.client_emails = {e.lower() for e in args.client_email}
    STATE.api_keys = set(args.api_key)
    STATE.token_expires_in = args.token_expires_in
    STATE.token_audiences = set(args.token_audience)
    for spec in args.authorized_user:
        add_authorized_user(spec)
    common.serve(Handler, args)


if __name__ == '__main__':
    main()
