#!/usr/bin/env python3
"""Process tests of --rate-limit (docs/http-api.md, "Rate limits"): a burst of N /api/ requests
passes, the next is 429 `rate_limited` with Retry-After and the RateLimit fields, each client
(the API token, else the address) has its own bucket, /healthz, /readyz, /metrics and the pages
are exempt, and a client is served again after Retry-After.

Python 3 stdlib only; the sheet is a file:// CSV (nothing is fetched). Loopback addresses other
than 127.0.0.1 (127.0.0.2) play a second client. Run: python3 tests/api/test_rate_limit.py [-v]
"""

import http.client
import os
import re
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402
import openapi_check  # noqa: E402

STATUS = '/api/sync-sheets-bg'
TOKEN = 'rl-t0ken-8c1f'
LIMIT_FIELD = re.compile(r'^"default";r=(\d+);t=(\d+)$')


def setUpModule():
    h.require_binary()


def request(server, path, headers=None, source='127.0.0.1', method='GET'):
    """One request on a new connection from the loopback address `source`, checked against
    docs/openapi.yaml as Server.request does."""
    conn = http.client.HTTPConnection('127.0.0.1', server.port, timeout=10,
                                      source_address=(source, 0))
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        response = h.Response(r.status, r.getheaders(), r.read())
    finally:
        conn.close()
    openapi_check.check(method, path, response)
    return response


class RateLimitCase(unittest.TestCase):
    def serve(self, limit, args=()):
        d = h.temp_dir(self)
        server = h.Server('file://' + h.DEMO_CSV, os.path.join(d, 'cache.db'),
                          args=['--rate-limit=' + limit] + list(args))
        self.addCleanup(server.close)
        self.addCleanup(server.stop)
        # Exempt, and starts the OpenAPI validator now: on a loaded machine its start-up inside a
        # burst could take longer than a token's refill.
        self.assertEqual(request(server, '/healthz').status, 200)
        return server

    def limit_field(self, r):
        """(r, t) of the RateLimit field."""
        m = LIMIT_FIELD.match(r.header('RateLimit') or '')
        self.assertIsNotNone(m, 'no RateLimit field: %r' % (r,))
        return int(m.group(1)), int(m.group(2))

    def check_refused(self, r, max_wait):
        """A 429 rate_limited answer as docs/http-api.md describes it; returns Retry-After."""
        self.assertEqual(r.status, 429, r)
        body = r.json()
        self.assertIs(body['success'], False)
        self.assertEqual(body['error'], 'rate_limited')
        self.assertTrue(body['message'])
        wait = int(r.header('Retry-After'))
        self.assertEqual(body['retryAfter'], wait)
        self.assertTrue(1 <= wait <= max_wait, wait)
        # On a refusal the effective window ends when Retry-After does.
        self.assertEqual(self.limit_field(r), (0, wait))
        return wait

    def test_a_burst_of_n_passes_then_429_with_the_headers(self):
        # 5 per minute: a token every 12 s, so none comes back during the burst.
        server = self.serve('5/min')
        for left in (4, 3, 2, 1, 0):
            r = request(server, STATUS)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header('RateLimit-Policy'), '"default";q=5;w=60')
            remaining, t = self.limit_field(r)
            self.assertEqual(remaining, left)
            self.assertTrue(1 <= t <= 12, t)
        r = request(server, STATUS)
        self.check_refused(r, 12)
        self.assertEqual(r.header('RateLimit-Policy'), '"default";q=5;w=60')
        # Any /api/ route, the other methods too.
        self.check_refused(request(server, STATUS, method='POST'), 12)
        self.check_refused(request(server, '/api/data'), 12)
        # Exempt: health, readiness, metrics, the pages; no RateLimit fields there.
        for path in ('/healthz', '/readyz', '/metrics', '/', '/settings',
                     '/assets/sync-client.js'):
            r = request(server, path)
            self.assertEqual(r.status, 200, (path, r))
            self.assertIsNone(r.header('RateLimit'), path)
        # Another address has its own bucket.
        r = request(server, STATUS, source='127.0.0.2')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.limit_field(r)[0], 4)
        # A bearer token the service does not check picks no bucket: new ones do not help.
        for i in range(3):
            r = request(server, STATUS, headers={'Authorization': 'Bearer made-up-%d' % i})
            self.check_refused(r, 12)
        # The refusals are counted.
        metrics = request(server, '/metrics').text()
        m = re.search(r'sheetsync_http_requests_total\{route="rate_limited",code="429"\} (\d+)',
                      metrics)
        self.assertIsNotNone(m, metrics)
        self.assertEqual(int(m.group(1)), 6)

    def test_with_a_token_the_token_is_the_client(self):
        server = self.serve('3/min', ['--api-token=' + TOKEN])
        auth = {'Authorization': 'Bearer ' + TOKEN}
        # The token filter runs first: a request without the token is 401 and not counted.
        for _ in range(5):
            self.assertEqual(request(server, STATUS).status, 401)
        for _ in range(3):
            self.assertEqual(request(server, STATUS, headers=auth).status, 200)
        r = request(server, STATUS, headers=auth)
        self.check_refused(r, 20)
        # The same token from another address: the same bucket.
        self.check_refused(request(server, STATUS, headers=auth, source='127.0.0.2'), 20)
        # Neither the token nor its hash prefix is ever shown.
        self.assertNotIn(TOKEN, r.raw())
        self.assertNotIn(TOKEN, request(server, '/metrics').text())

    def test_an_event_stream_counts_once_when_opened(self):
        server = self.serve('3/min')
        sock, reader, status, head = h.open_event_stream(server)
        self.addCleanup(sock.close)
        self.assertEqual(status, 200)
        self.assertIn('ratelimit', head)
        reader.read_event()
        # Events and keep-alives on the open stream cost nothing: a sync's statuses stream.
        r = request(server, STATUS, method='POST')
        self.assertEqual(r.status, 202, r)
        deadline = time.monotonic() + h.time_bound(20)
        while '"complete"' not in reader.read_event()['data']:
            self.assertLess(time.monotonic(), deadline)
        self.assertEqual(request(server, STATUS).status, 200)
        self.check_refused(request(server, STATUS), 20)

    def test_served_again_after_retry_after(self):
        # 2 per second: keep asking until refused (whatever the machine's speed), wait as told.
        server = self.serve('2/s')
        for _ in range(50):
            r = request(server, STATUS)
            if r.status == 429:
                break
            self.assertEqual(r.status, 200, r)
        wait = self.check_refused(r, 1)
        time.sleep(wait)
        r = request(server, STATUS)
        self.assertEqual(r.status, 200, r)

    def test_bad_values_name_the_flag_or_setting(self):
        d = h.temp_dir(self)
        db = os.path.join(d, 'cache.db')
        source = '--source=file://' + h.DEMO_CSV

        def serve(*args):
            return subprocess.run([h.sheetsync_binary(), 'serve', '--port=0', source,
                                   '--db=' + db] + list(args),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=15)

        for bad in ('0/s', '10', '10/h', '-5/min', '2000000/s', 'lots'):
            p = serve('--rate-limit=' + bad)
            self.assertEqual(p.returncode, 2, (bad, p.stderr))
            err = p.stderr.decode()
            self.assertIn('--rate-limit', err)
            self.assertIn("'%s'" % bad, err)
            self.assertIn('N/s or N/min', err)
            self.assertNotIn(b'listening', p.stdout)
        conf = os.path.join(d, 'bad.conf')
        with open(conf, 'w') as f:
            f.write('[sheetsync]\nrate-limit = "ten/s"\n')
        p = serve('--config-file=' + conf)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn('[sheetsync] rate-limit', p.stderr.decode())
        self.assertIn(conf, p.stderr.decode())

    def test_the_config_file_sets_it(self):
        d = h.temp_dir(self)
        conf = os.path.join(d, 'sheetsync.conf')
        with open(conf, 'w') as f:
            f.write('[sheetsync]\nrate-limit = "2/min"\n')
        server = h.Server('file://' + h.DEMO_CSV, os.path.join(d, 'cache.db'),
                          args=['--config-file=' + conf])
        self.addCleanup(server.close)
        self.addCleanup(server.stop)
        self.assertEqual(request(server, STATUS).header('RateLimit-Policy'),
                         '"default";q=2;w=60')
        self.assertEqual(request(server, STATUS).status, 200)
        self.check_refused(request(server, STATUS), 30)


if __name__ == '__main__':
    h.main()
