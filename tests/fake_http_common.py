"""What tests/fake_server.py and tests/fake_google.py share (python3 stdlib only): Google's
sign-in and error pages, the handler plumbing, and the start-up both promise their callers (the
C++ tests/fake_server.cpp, tests/api/*.py, tests/browser): listen on 127.0.0.1 (port 0 = a free
one), print "PORT <n>" as the first stdout line and flush, then serve until killed, or until stdin
closes with --exit-on-stdin-eof.

The fakes run as scripts (python3 tests/fake_google.py ...) and import this module from their own
folder.
"""

import argparse
import http.server
import socket
import struct
import sys
import threading

REASONS = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
           429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway',
           503: 'Service Unavailable', 504: 'Gateway Timeout'}

# Shaped like the sign-in page Google serves (200, text/html) for a sheet that is not shared.
SIGN_IN_PAGE = (
    '<!doctype html><html lang="en-US" dir="ltr"><head><base href="https://accounts.google.com/v3/'
    'signin/"><meta name="referrer" content="origin"><title>Google Sheets - Sign in</title></head>'
    '<body><div id="initialView"><h1>Sign in</h1><p>to continue to Sheets</p>'
    '<form action="/v3/signin/identifier"><input type="email" name="identifier"></form>'
    '</div></body></html>\n'
).encode('utf-8')


def google_error_page(code):
    """An error body shaped like Google's ("Error 404 (Not Found)!!1")."""
    reason = REASONS.get(code, 'Error')
    return (
        '<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n'
        '  <title>Error %d (%s)!!1</title>\n'
        '  <a href=//www.google.com/><span id=logo aria-label=Google></span></a>\n'
        '  <p><b>%d.</b> <ins>That\u2019s an error.</ins>\n'
        '  <p>The requested URL was not found on this server or could not be served.'
        '  <ins>That\u2019s all we know.</ins>\n' % (code, reason, code)
    ).encode('utf-8')


class Handler(http.server.BaseHTTPRequestHandler):
    """The base of both fakes' handlers; log_name prefixes the --verbose request log."""
    protocol_version = 'HTTP/1.1'
    # Headers and body go out in separate writes; with Nagle each response would wait for a
    # delayed ACK (~40 ms), which makes redirect chains slow.
    disable_nagle_algorithm = True
    verbose = False
    log_name = 'fake'

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write('%s: %s\n' % (self.log_name, fmt % args))

    def send_body(self, code, body, content_type, headers=()):
        """A complete response with Content-Length."""
        self.send_response(code)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def write_chunk(self, data):
        """One chunk of a chunked body; nothing for empty data (an empty chunk ends the body)."""
        if data:
            self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))

    def accepts_gzip(self):
        accepted = [part.split(';')[0].strip().lower()
                    for part in (self.headers.get('Accept-Encoding') or '').split(',')]
        return 'gzip' in accepted

    def reset_on_close(self):
        """Closing or shutting down the connection from now on sends a TCP reset (RST)."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))


def argument_parser(description):
    """The flags every fake takes (--port, --exit-on-stdin-eof, --verbose); add your own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--exit-on-stdin-eof', action='store_true')
    parser.add_argument('--verbose', action='store_true')
    return parser


def serve(handler_class, args):
    """Prints "PORT <n>" and serves with handler_class until killed (or stdin closes)."""
    handler_class.verbose = args.verbose
    server = http.server.ThreadingHTTPServer(('127.0.0.1', args.port), handler_class)
    server.daemon_threads = True  # stalled handlers must not keep the process alive
    print('PORT %d' % server.server_address[1], flush=True)

    if args.exit_on_stdin_eof:
        def watch_stdin():
            while sys.stdin.buffer.read(4096):
                pass
            server.shutdown()
        threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    server.server_close()
