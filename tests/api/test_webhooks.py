#!/usr/bin/env python3
"""Process test of webhooks (`serve --webhook`): a receiver on loopback checks each request's
Standard Webhooks signature with its own HMAC (hmac, hashlib, base64), answers 500 first and 200
then, and must see the same webhook-id twice; the deliveries route and /metrics say so. A delivery
still pending when the service stops is resumed by the next start on the same cache. The secret
appears in no answer, log or metric. Retries are quick through --webhook-backoff. Python 3 stdlib
only. Run:
  python3 tests/api/test_webhooks.py [-v]
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402
import openapi_check  # noqa: E402

SECRET_B64 = base64.b64encode(b'sheetsync-webhook-test-key-32byt').decode()
SECRET = 'whsec_' + SECRET_B64
KEY = base64.b64decode(SECRET_B64)


class Receiver:
    """An HTTP server on 127.0.0.1 in a thread: records every POST (time, headers, body) and
    answers the next status of `answers` (the last one repeats)."""

    def __init__(self, answers=(200,)):
        self.answers = list(answers)
        self.seen = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(n)
                with outer.lock:
                    i = len(outer.seen)
                    outer.seen.append({'time': time.time(), 'path': self.path,
                                       'headers': {k.lower(): v for k, v in self.headers.items()},
                                       'body': body})
                    status = outer.answers[min(i, len(outer.answers) - 1)]
                self.send_response(status)
                self.send_header('Content-Length', '2')
                self.end_headers()
                self.wfile.write(b'ok')

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path='/hook?token=receiver-token-123'):
        return 'http://127.0.0.1:%d%s' % (self.port, path)

    def requests(self):
        with self.lock:
            return list(self.seen)

    def wait_for(self, n, timeout=30):
        deadline = time.monotonic() + timeout
        while len(self.requests()) < n:
            if time.monotonic() > deadline:
                raise AssertionError('receiver got %d requests, not %d, within %d s'
                                     % (len(self.requests()), n, timeout))
            time.sleep(0.05)
        return self.requests()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def verify(test, req):
    """Checks a request as a Standard Webhooks receiver does, with its own HMAC."""
    hd = req['headers']
    test.assertEqual(hd.get('content-type'), 'application/json')
    test.assertTrue(hd.get('user-agent', '').startswith('sheetsync'))
    msg_id, ts, sig = hd['webhook-id'], hd['webhook-timestamp'], hd['webhook-signature']
    test.assertRegex(msg_id, r'^msg_[0-9a-f]{24}$')
    test.assertLess(abs(int(ts) - req['time']), 5)
    signed = msg_id.encode() + b'.' + ts.encode() + b'.' + req['body']
    expected = base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()).decode()
    versions = [s.split(',', 1) for s in sig.split(' ')]
    test.assertIn(['v1', expected], versions)
    # The payload as docs/openapi.yaml describes it (its webhooks section).
    openapi_check.check_schema('WebhookEvent', req['body'].decode(), 'webhook payload')
    event = json.loads(req['body'])
    test.assertEqual(sorted(event), ['data', 'timestamp', 'type'])
    return event


def deliveries(server, query=''):
    r = server.get('/api/webhooks/deliveries' + query)
    assert r.status == 200, (r.status, r.body)
    return r.json()['deliveries']




class WebhookTest(h.FakeSheetCase):

    def serve(self, db, receiver, extra=()):
        server = h.Server(self.sheet.url('/ok.csv'), db,
                          args=['--webhook=' + receiver.url()] + list(extra),
                          env={'SHEETSYNC_WEBHOOK_SECRET': SECRET})
        self.addCleanup(server.close)
        return server

    def assert_no_secret(self, server, *texts):
        for text in (server.stderr_text(), ''.join(server.stdout_lines)) + texts:
            self.assertNotIn(SECRET_B64, text)
            self.assertNotIn(SECRET_B64[:16], text)

    def test_signed_retried_with_the_same_id_and_listed(self):
        receiver = Receiver([500, 200])
        self.addCleanup(receiver.stop)
        db = os.path.join(h.temp_dir(self), 'hooks.db')
        server = self.serve(db, receiver, ['--webhook-backoff=1s,1s'])
        final = server.sync()
        self.assertEqual(final['status'], 'complete')
        first, second = receiver.wait_for(2)[:2]
        self.assertEqual(first['headers']['webhook-id'], second['headers']['webhook-id'])
        self.assertEqual(first['body'], second['body'])
        self.assertGreaterEqual(second['time'] - first['time'], 0.9)
        self.assertEqual(first['path'], '/hook?token=receiver-token-123')
        event = verify(self, first)
        verify(self, second)
        self.assertEqual(event['type'], 'sync.completed')
        self.assertRegex(event['timestamp'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$')
        # The data is the sync's status as the API answers it.
        status = server.status(final['syncId']).json()
        self.assertEqual(event['data'], status)
        # Listed: delivered on the second attempt, URL redacted, newest first.
        xs = h.wait_until(lambda: [x for x in deliveries(server) if x['state'] == 'delivered'],
                        'the delivery listed as delivered')
        self.assertEqual(len(xs), 1)
        x = xs[0]
        self.assertEqual(x['id'], first['headers']['webhook-id'])
        self.assertEqual(x['event'], 'sync.completed')
        self.assertEqual(x['syncId'], final['syncId'])
        self.assertEqual(x['source'], 'sheet')
        self.assertEqual(x['attempts'], 2)
        self.assertEqual(x['lastStatus'], 200)
        self.assertIsNone(x['lastError'])
        self.assertIsNone(x['nextAttemptAt'])
        self.assertRegex(x['createdAt'], r'^\d{4}-\d\d-\d\dT')
        self.assertNotIn('receiver-token-123', x['url'])
        self.assertTrue(x['url'].startswith('http://127.0.0.1:%d/hook?' % receiver.port))
        # Exactly one event for the sync, however often its status is read.
        server.status(final['syncId'])
        time.sleep(0.3)
        self.assertEqual(len(receiver.requests()), 2)
        metrics = server.get('/metrics').body.decode()
        self.assertIn('sheetsync_webhook_deliveries_total{outcome="delivered"} 1', metrics)
        self.assertIn('sheetsync_webhook_deliveries_total{outcome="retried"} 1', metrics)
        self.assertIn('sheetsync_webhook_deliveries_total{outcome="failed"} 0', metrics)
        # limit: 1-500.
        for bad in ('0', '501', 'x', '-1'):
            r = server.get('/api/webhooks/deliveries?limit=' + bad)
            self.assertEqual(r.status, 400, bad)
            self.assertEqual(r.json()['error'], 'invalid_argument')
        self.assertEqual(len(deliveries(server, '?limit=500')), 1)
        listing = server.get('/api/webhooks/deliveries').body.decode()
        self.assertEqual(server.stop(), 0)
        self.assert_no_secret(server, listing, metrics)

    def test_a_pending_delivery_is_resumed_after_a_restart(self):
        receiver = Receiver([503])
        self.addCleanup(receiver.stop)
        db = os.path.join(h.temp_dir(self), 'resume.db')
        # Long enough to see the first attempt recorded and stop before the retry, also on a
        # loaded machine; the restart resumes at the stored time.
        server = self.serve(db, receiver, ['--webhook-backoff=8s,8s'])
        final = server.sync()
        first = receiver.wait_for(1)[0]
        pending = h.wait_until(lambda: [x for x in deliveries(server)
                                      if x['attempts'] == 1 and x['lastStatus'] == 503],
                             'the first attempt recorded')[0]
        self.assertEqual(pending['state'], 'pending')
        self.assertEqual(pending['lastError'], 'HTTP 503')
        self.assertIsNotNone(pending['nextAttemptAt'])
        self.assertEqual(server.stop(), 0)
        self.assertEqual(len(receiver.requests()), 1, 'the retry came before the stop')
        receiver.answers = [503, 204]
        again = self.serve(db, receiver, ['--webhook-backoff=8s,8s'])
        second = receiver.wait_for(2, timeout=40)[1]
        self.assertEqual(second['headers']['webhook-id'], first['headers']['webhook-id'])
        self.assertEqual(second['body'], first['body'])
        verify(self, second)
        x = h.wait_until(lambda: [x for x in deliveries(again) if x['state'] == 'delivered'],
                       'the resumed delivery delivered')[0]
        self.assertEqual(x['id'], pending['id'])
        self.assertEqual(x['attempts'], 2)
        self.assertEqual(x['syncId'], final['syncId'])
        self.assertIn('resuming 1 pending webhook delivery', again.stderr_text())
        self.assertEqual(again.stop(), 0)
        self.assert_no_secret(again)

    def test_without_webhooks_the_list_is_empty(self):
        db = os.path.join(h.temp_dir(self), 'none.db')
        server = h.Server(self.sheet.url('/ok.csv'), db)
        self.addCleanup(server.close)
        self.assertEqual(deliveries(server), [])
        self.assertEqual(server.get('/api/webhooks/deliveries?limit=0').status, 400)

    def test_bad_or_missing_secrets_are_refused_without_echo(self):
        db = os.path.join(h.temp_dir(self), 'bad.db')
        base = [h.sheetsync_binary(), 'serve', '--port=0', '--db=' + db,
                '--source=' + self.sheet.url('/ok.csv'), '--webhook=http://127.0.0.1:9/hook']
        env = dict(os.environ)
        env.pop('SHEETSYNC_WEBHOOK_SECRET', None)
        cases = [(['--webhook-secret=whsec_!!notbase64-topsecretvalue'], {}, 'topsecretvalue'),
                 (['--webhook-secret=topsecretvalue1234567890abcdefgh'], {}, 'topsecretvalue'),
                 ([], {'SHEETSYNC_WEBHOOK_SECRET': 'whsec_dG9wc2VjcmV0dmFsdWU='},
                  'dG9wc2VjcmV0dmFsdWU'),
                 ([], {}, None)]
        for args, extra_env, secret in cases:
            p = subprocess.run(base + args, env=dict(env, **extra_env), capture_output=True,
                               timeout=20)
            err = p.stderr.decode()
            self.assertEqual(p.returncode, 2, err)
            self.assertIn('secret', err)
            if secret:
                self.assertNotIn(secret, err + p.stdout.decode())
        p = subprocess.run(base[:-1] + ['--webhook=ftp://example.com/x',
                                        '--webhook-secret=' + SECRET],
                           env=env, capture_output=True, timeout=20)
        self.assertEqual(p.returncode, 2)
        self.assertIn('http:// or https://', p.stderr.decode())


if __name__ == '__main__':
    h.main()
