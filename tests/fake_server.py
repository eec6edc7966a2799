#!/usr/bin/env python3
"""A fake HTTP/1.1 server for sheetsync's tests (python3 stdlib only).

Listens on 127.0.0.1 (port 0 = a free port), prints "PORT <n>" as the first stdout line and
flushes, then serves until killed. It imitates how Google's CSV export behaves (see
shared/notes/google-sheets.md): 307 redirects that hop hosts, no Content-Length, HTML sign-in pages
with status 200, Google-shaped error pages.

Routes are registered with @route(regex); a handler gets (request, query) where query maps each
parameter name to its last value. To add routes (e.g. a fake Google), add a decorated function.

Options:
  --port N               port to listen on (default 0: a free one)
  --csv FILE             the CSV body of /ok.csv and friends (default: a small built-in sheet)
  --exit-on-stdin-eof    exit when stdin closes (the C++ test helper passes it, so that a crashed
                         test process does not leave the server behind)
  --verbose              log requests to stderr
"""

import gzip
import os
import re
import sys
import threading
import time
import urllib.parse
import zlib

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also when run as python3 -P
import fake_http_common as common  # noqa: E402
from fake_http_common import SIGN_IN_PAGE, google_error_page  # noqa: E402

# A small sheet with the awkward bits: quotes, embedded comma and newline, UTF-8.
DEFAULT_CSV = (
    'id,name,comment,price\r\n'
    '1,Alice,"likes ""quotes""",1.50\r\n'
    '2,Bob,"comma, inside",2\r\n'
    '3,Zoë,"line\nbreak",\r\n'
    '4,,empty name,-0.25\r\n'
).encode('utf-8')

def generated_csv(size, piece_size=64 * 1024):
    """Yields exactly `size` bytes of CSV-looking data, in pieces of about `piece_size`."""
    rows = [b'row,name,value\n']
    buffered = len(rows[0])
    produced = 0
    row = 1
    while produced < size:
        while buffered < piece_size and produced + buffered < size:
            line = b'%d,name %d,%d.%02d\n' % (row, row, row * 7, row % 100)
            rows.append(line)
            buffered += len(line)
            row += 1
        piece = b''.join(rows)[:size - produced]
        rows, buffered = [], 0
        produced += len(piece)
        yield piece


ROUTES = []


def route(pattern):
    """Registers a handler for request paths (without the query) that fully match `pattern`."""
    def register(handler):
        ROUTES.append((re.compile(pattern), handler))
        return handler
    return register


class Handler(common.Handler):
    server_version = 'fake-google/0.1'
    log_name = 'fake_server'
    csv_body = DEFAULT_CSV

    def do_GET(self):
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        for pattern, handler in ROUTES:
            match = pattern.fullmatch(parts.path)
            if match:
                try:
                    handler(self, query, *match.groups())
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client went away: normal in tests
                return
        self.send_body(404, google_error_page(404), 'text/html; charset=UTF-8')

    # -- helpers for handlers (and send_body etc. of common.Handler) ------------------------------

    def send_close_delimited(self, code, content_type, pieces, delay=0.0):
        """A response without Content-Length whose end is the connection closing."""
        self.send_response(code)
        self.send_header('Content-Type', content_type)
        self.send_header('Connection', 'close')
        self.end_headers()
        self.close_connection = True
        for piece in pieces:
            self.wfile.write(piece)
            if delay:
                self.wfile.flush()
                time.sleep(delay)

    def send_chunked(self, code, content_type, pieces, headers=()):
        """A chunked response (what Google's export sends over HTTP/1.1)."""
        self.send_response(code)
        self.send_header('Content-Type', content_type)
        self.send_header('Transfer-Encoding', 'chunked')
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        for piece in pieces:
            self.write_chunk(piece)
        self.wfile.write(b'0\r\n\r\n')

    def redirect(self, location, code=307):
        self.send_response(code)
        self.send_header('Location', location)
        body = ('<HTML><HEAD><TITLE>Temporary Redirect</TITLE></HEAD><BODY>'
                '<A HREF="%s">here</A>.</BODY></HTML>' % location).encode('utf-8')
        self.send_header('Content-Type', 'text/html; charset=UTF-8')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def other_host(self):
        """host:port of this server under the other name (127.0.0.1 <-> localhost)."""
        host = (self.headers.get('Host') or '127.0.0.1').split(':')[0]
        other = 'localhost' if host == '127.0.0.1' else '127.0.0.1'
        return '%s:%d' % (other, self.server.server_address[1])

    def csv_pieces(self, query, piece_size=4096):
        """The configured CSV, or ?bytes=N generated bytes, in pieces."""
        if 'bytes' in query:
            return generated_csv(int(query['bytes']))
        body = self.csv_body
        return (body[i:i + piece_size] for i in range(0, len(body), piece_size))


# -- routes ---------------------------------------------------------------------------------------

@route(r'/ok\.csv')
def ok_csv(req, query):
    """200, text/csv, with Content-Length."""
    req.send_body(200, b''.join(req.csv_pieces(query)), 'text/csv; charset=utf-8')


@route(r'/big')
def big(req, query):
    """?bytes=N of CSV-looking data; with Content-Length unless ?nolength=1 (then close-delimited)."""
    size = int(query.get('bytes', '1000000'))
    if query.get('nolength') == '1':
        req.send_close_delimited(200, 'text/csv', generated_csv(size))
        return
    req.send_response(200)
    req.send_header('Content-Type', 'text/csv')
    req.send_header('Content-Length', str(size))
    req.end_headers()
    for piece in generated_csv(size):
        req.wfile.write(piece)


@route(r'/nolength\.csv')
def nolength_csv(req, query):
    """200 without Content-Length, ended by closing the connection."""
    req.send_close_delimited(200, 'text/csv; charset=utf-8', req.csv_pieces(query))


@route(r'/chunked\.csv')
def chunked_csv(req, query):
    """200 without Content-Length, chunked."""
    req.send_chunked(200, 'text/csv; charset=utf-8', req.csv_pieces(query))


@route(r'/redirect/(\d+)')
def redirect_chain(req, query, hops):
    """A chain of N 307s ending at /ok.csv; the last hop changes the host name, as Google hops from
    docs.google.com to *.googleusercontent.com. The query string is passed along."""
    hops = int(hops)
    raw_query = urllib.parse.urlsplit(req.path).query
    suffix = '?' + raw_query if raw_query else ''
    if hops <= 0:
        ok_csv(req, query)
    elif hops == 1:
        req.redirect('http://%s/ok.csv%s' % (req.other_host(), suffix))
    else:
        req.redirect('/redirect/%d%s' % (hops - 1, suffix))


@route(r'/redirect-to')
def redirect_to(req, query):
    """A 307 to ?url=... (e.g. file:///etc/passwd, which a client must refuse)."""
    req.redirect(query.get('url', '/ok.csv'), int(query.get('code', '307')))


@route(r'/status/(\d+)')
def status(req, query, code):
    """Status N with a Google-shaped HTML error page; 429 carries Retry-After."""
    code = int(code)
    headers = [('Retry-After', query.get('retry_after', '7'))] if code == 429 else []
    req.send_body(code, google_error_page(code), 'text/html; charset=UTF-8', headers)


FLAKY_COUNTS = {}
FLAKY_LOCK = threading.Lock()


@route(r'/flaky/([A-Za-z0-9_-]+)')
def flaky(req, query, key):
    """The first ?fail=N requests for KEY answer ?status=503 (with ?retry_after=S if given), as
    Google does when it is overloaded or rate limits; later ones serve /ok.csv. ?fail=-1 = always."""
    with FLAKY_LOCK:
        count = FLAKY_COUNTS.get(key, 0) + 1
        FLAKY_COUNTS[key] = count
    fails = int(query.get('fail', '1'))
    if fails < 0 or count <= fails:
        code = int(query.get('status', '503'))
        headers = [('Retry-After', query['retry_after'])] if 'retry_after' in query else []
        req.send_body(code, google_error_page(code), 'text/html; charset=UTF-8', headers)
        return
    ok_csv(req, query)


@route(r'/html')
def html(req, query):
    """Google's sign-in page: 200, text/html."""
    req.send_body(200, SIGN_IN_PAGE, 'text/html; charset=utf-8')


@route(r'/html-as-csv')
def html_as_csv(req, query):
    """An HTML page labelled text/csv, after some blank space (detectable by its first bytes)."""
    req.send_body(200, b'\r\n  \t' + SIGN_IN_PAGE.replace(b'<!doctype html>', b'<!DOCTYPE HTML>'),
                  'text/csv')


@route(r'/stall')
def stall(req, query):
    """Announces 1000 bytes, sends ?bytes=N (default 100), then sleeps ?seconds=S (default 3600)."""
    sent = int(query.get('bytes', '100'))
    req.send_response(200)
    req.send_header('Content-Type', 'text/csv')
    req.send_header('Content-Length', str(max(1000, sent)))
    req.end_headers()
    req.wfile.write(b''.join(generated_csv(sent)))
    req.wfile.flush()
    time.sleep(float(query.get('seconds', '3600')))
    req.close_connection = True


@route(r'/truncated')
def truncated(req, query):
    """Content-Length 1000, 400 bytes of body, then the connection closes."""
    req.send_response(200)
    req.send_header('Content-Type', 'text/csv')
    req.send_header('Content-Length', '1000')
    req.end_headers()
    req.wfile.write(b''.join(generated_csv(400)))
    req.close_connection = True


@route(r'/reset')
def reset(req, query):
    """Content-Length 1000, 400 bytes of body, then a TCP reset (RST) instead of a clean close."""
    req.send_response(200)
    req.send_header('Content-Type', 'text/csv')
    req.send_header('Content-Length', '1000')
    req.end_headers()
    req.wfile.write(b''.join(generated_csv(400)))
    req.wfile.flush()
    time.sleep(0.05)  # let the client read the body first; an RST may discard unread data
    req.reset_on_close()
    req.connection.close()
    req.close_connection = True


@route(r'/gzip')
def gzip_route(req, query):
    """The CSV (or ?bytes=N generated) gzip-encoded when Accept-Encoding allows it, else plain.
    Whole with Content-Length (of the compressed bytes), or with ?stream=1 compressed on the fly
    and chunked, so that the first bytes leave at once even for a large body."""
    if not req.accepts_gzip():
        req.send_body(200, b''.join(req.csv_pieces(query)), 'text/csv')
    elif query.get('stream') == '1':
        def compressed():
            compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip framing
            for piece in req.csv_pieces(query):
                yield compressor.compress(piece)
            yield compressor.flush()
        req.send_chunked(200, 'text/csv', compressed(), [('Content-Encoding', 'gzip')])
    else:
        body = gzip.compress(b''.join(req.csv_pieces(query)))
        req.send_body(200, body, 'text/csv', [('Content-Encoding', 'gzip')])


@route(r'/slow')
def slow(req, query):
    """Trickles a line every ?interval_ms (default 50) for ?lines (default 2000), no length."""
    interval = float(query.get('interval_ms', '50')) / 1000.0
    lines = int(query.get('lines', '2000'))
    pieces = (b'row,%d\n' % i for i in range(lines))
    req.send_close_delimited(200, 'text/csv', pieces, delay=interval)


@route(r'/headers')
def headers(req, query):
    """Echoes the request headers as CSV (name,value), to check what the client sends."""
    lines = ['name,value'] + ['%s,%s' % (name.lower(), value) for name, value in req.headers.items()]
    req.send_body(200, ('\n'.join(lines) + '\n').encode('utf-8'), 'text/csv')


# -- main -----------------------------------------------------------------------------------------

def main():
    parser = common.argument_parser('fake HTTP server for sheetsync tests')
    parser.add_argument('--csv', help='file served as the CSV body')
    args = parser.parse_args()
    if args.csv:
        with open(args.csv, 'rb') as f:
            Handler.csv_body = f.read()
    common.serve(Handler, args)


if __name__ == '__main__':
    main()
