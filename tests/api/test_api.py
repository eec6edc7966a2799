#!/usr/bin/env python3
"""Socket tests of `sheetsync serve` (the API of docs/http-api.md) against the running binary.

Python 3 stdlib only. The binary is $SHEETSYNC_BIN (default <repo>/build/sheetsync); the sheet
comes from tests/fake_server.py. Run: python3 tests/api/test_api.py [-v] [TestClass[.test]]
Exits non-zero when a test fails or the binary is missing.
"""

import csv
import datetime
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402

SYNC = '/api/sync-sheets-bg'
STATES = ['downloading', 'processing', 'saving', 'complete']
ISO_MS_UTC = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$')
JSON_TYPE = 'application/json'


def setUpModule():
    h.require_binary()


def demo_rows():
    with open(h.DEMO_CSV, newline='', encoding='utf-8') as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


class ServerTestCase(unittest.TestCase):
    """Starts the fake sheet server once per class; servers are stopped by cleanups."""

    @classmethod
    def setUpClass(cls):
        cls.sheet = h.FakeSheet()
        cls.addClassCleanup(cls.sheet.stop)
        cls.dir = h.temp_dir(cls)

    def start(self, path='/ok.csv', db=None, args=(), env=None):
        """A server for this test, stopped (SIGTERM, then kill) after it."""
        db = db or os.path.join(h.temp_dir(self), 'cache.db')
        server = h.Server(self.sheet.url(path), db, args=args, env=env)
        self.addCleanup(server.close)
        self.addCleanup(server.stop)
        return server

    def assertJsonResponse(self, r, status):
        self.assertEqual(r.status, status, r)
        self.assertTrue((r.header('Content-Type') or '').startswith(JSON_TYPE), r)
        return r.json()

    def assertStatusObject(self, st):
        for key in ('syncId', 'source', 'status', 'progress', 'message', 'lastUpdated',
                    'startedAt', 'finishedAt', 'stats'):
            self.assertIn(key, st)
        self.assertIn(st['status'], ['idle', 'downloading', 'processing', 'saving', 'complete',
                                     'error', 'cancelled'])
        self.assertIsInstance(st['progress'], int)
        self.assertTrue(0 <= st['progress'] <= 100, st)
        self.assertIsInstance(st['message'], str)
        self.assertIsInstance(st['stats'].get('size'), int)
        self.assertIsInstance(st['stats'].get('lines'), int)
        if st['status'] == 'error':
            self.assertIsInstance(st.get('error'), str)
        else:
            self.assertNotIn('error', st)
        if st['syncId'] is not None:
            self.assertTrue(st['syncId'].startswith('sync-'), st)
            for key in ('lastUpdated', 'startedAt'):
                self.assertRegex(st[key], ISO_MS_UTC)
            if st['finishedAt'] is not None:
                self.assertRegex(st['finishedAt'], ISO_MS_UTC)

    def post_sync(self, server, **kw):
        r = server.post(SYNC, **kw)
        body = self.assertJsonResponse(r, 202)
        return body['syncId']


# -- a real sync of the demo sheet, the whole API --------------------------------------------------

class TestDemoSync(ServerTestCase):
    """One server, one sync of config/demo.csv in setUpClass; the tests look at what it left."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = h.Server(cls.sheet.url('/ok.csv'), os.path.join(cls.dir, 'demo.db'))
        cls.addClassCleanup(cls.server.close)
        cls.addClassCleanup(cls.server.stop)
        cls.idle = cls.server.status()
        cls.post = cls.server.post(SYNC)
        cls.polls = []
        if cls.post.status == 202:
            sync_id = cls.post.json()['syncId']
            cls.server.wait_finished(sync_id, interval=0.005, on_poll=cls.polls.append)

    def test_idle_before_any_sync(self):
        st = self.assertJsonResponse(self.idle, 200)
        self.assertIsNone(st['syncId'])
        self.assertEqual(st['status'], 'idle')
        self.assertEqual(st['progress'], 0)

    def test_post_answers_202_with_id_and_location(self):
        body = self.assertJsonResponse(self.post, 202)
        self.assertIs(body['success'], True)
        self.assertTrue(body['syncId'].startswith('sync-'), body)
        self.assertEqual(self.post.header('Location'), SYNC + '?syncId=' + body['syncId'])

    def test_polls_give_status_json_until_complete(self):
        self.assertTrue(self.polls)
        sync_id = self.post.json()['syncId']
        for r in self.polls:
            st = self.assertJsonResponse(r, 200)
            self.assertEqual(r.header('Cache-Control'), 'no-store')
            self.assertStatusObject(st)
            self.assertEqual(st['syncId'], sync_id)
        last = self.polls[-1].json()
        self.assertEqual(last['status'], 'complete', last)
        self.assertEqual(last['progress'], 100)
        self.assertEqual(last['stats']['lines'], h.DEMO_ROWS)
        self.assertEqual(last['stats']['size'], os.path.getsize(h.DEMO_CSV))
        self.assertRegex(last['finishedAt'], ISO_MS_UTC)
        # UTC: close to now.
        updated = datetime.datetime.strptime(last['lastUpdated'], '%Y-%m-%dT%H:%M:%S.%fZ')
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        self.assertLess(abs((now - updated).total_seconds()), 120, last['lastUpdated'])

    def test_progress_never_decreases(self):
        progress = [r.json()['progress'] for r in self.polls]
        self.assertEqual(progress, sorted(progress), progress)
        states = [r.json()['status'] for r in self.polls]
        order = [STATES.index(s) for s in states]
        self.assertEqual(order, sorted(order), states)

    def test_get_without_id_returns_latest(self):
        sync_id = self.post.json()['syncId']
        latest = self.assertJsonResponse(self.server.status(), 200)
        by_id = self.assertJsonResponse(self.server.status(sync_id), 200)
        self.assertEqual(latest, by_id)
        self.assertEqual(latest['syncId'], sync_id)

    def test_unknown_sync_id_is_404(self):
        body = self.assertJsonResponse(self.server.status('sync-0-doesnotexist'), 404)
        self.assertIs(body['success'], False)

    def test_data_first_page(self):
        header, rows = demo_rows()
        r = self.server.get('/api/data?limit=10&offset=0')
        page = self.assertJsonResponse(r, 200)
        self.assertEqual(page['total'], h.DEMO_ROWS)
        self.assertEqual(page['columns'][0], 'Order ID')
        self.assertEqual(page['columns'], header)
        self.assertEqual(len(page['rows']), 10)
        self.assertEqual(page['rows'], rows[:10])
        # syncedAt is the finish time of the sync. (It is read from the history, which the
        # server writes asynchronously: right after "complete" it can briefly still be null.)
        finished = self.polls[-1].json()['finishedAt']
        deadline = time.monotonic() + 3
        while page['syncedAt'] != finished and time.monotonic() < deadline:
            time.sleep(0.05)
            page = self.server.get('/api/data?limit=1').json()
        self.assertEqual(page['syncedAt'], finished)
        self.assertRegex(page['syncedAt'], ISO_MS_UTC)

    def test_data_paging(self):
        header, rows = demo_rows()
        p2 = self.assertJsonResponse(self.server.get('/api/data?limit=10&offset=10'), 200)
        self.assertEqual(p2['rows'], rows[10:20])
        tail = self.assertJsonResponse(self.server.get('/api/data?limit=10&offset=295'), 200)
        self.assertEqual(tail['rows'], rows[295:300])
        self.assertEqual(tail['total'], h.DEMO_ROWS)
        beyond = self.assertJsonResponse(self.server.get('/api/data?offset=300'), 200)
        self.assertEqual(beyond['rows'], [])
        everything = self.assertJsonResponse(self.server.get('/api/data?limit=1000'), 200)
        self.assertEqual(everything['rows'], rows)
        default = self.assertJsonResponse(self.server.get('/api/data'), 200)
        self.assertEqual(len(default['rows']), 50)

    def test_data_bad_limits_are_400(self):
        for query in ('limit=0', 'limit=1001', 'limit=-1', 'offset=-5', 'limit=abc'):
            with self.subTest(query=query):
                body = self.assertJsonResponse(self.server.get('/api/data?' + query), 400)
                self.assertIs(body['success'], False)

    def test_healthz(self):
        body = self.assertJsonResponse(self.server.get('/healthz'), 200)
        self.assertEqual(body, {'status': 'ok'})

    def test_metrics(self):
        self.server.get('/healthz')
        r = self.server.get('/metrics')
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header('Content-Type').startswith('text/plain'), r)
        text = r.text()
        self.assertIn('sheetsync_syncs_total{outcome="complete"} 1\n', text)
        self.assertEqual(h.metric(text, 'sheetsync_syncs_total{outcome="error"}'), 0)
        self.assertEqual(
            h.metric(text, 'sheetsync_http_requests_total{route="sync",code="202"}'), 1)
        polls = h.metric(text, 'sheetsync_http_requests_total{route="status",code="200"}')
        self.assertIsNotNone(polls, text)
        self.assertGreaterEqual(polls, len(self.polls) + 1)
        self.assertGreaterEqual(
            h.metric(text, 'sheetsync_http_requests_total{route="healthz",code="200"}'), 1)
        self.assertEqual(h.metric(text, 'sheetsync_last_sync_rows'), h.DEMO_ROWS)

    def test_pages_are_served(self):
        for path, kind in (('/', 'text/html'), ('/settings', 'text/html'),
                           ('/assets/sync-client.js', 'javascript'),
                           ('/assets/style.css', 'text/css')):
            with self.subTest(path=path):
                r = self.server.get(path)
                self.assertEqual(r.status, 200, r)
                self.assertIn(kind, r.header('Content-Type'))
                self.assertTrue(r.body)


# -- 409 and 429 ------------------------------------------------------------------------------------

class TestConflicts(ServerTestCase):

    def test_409_while_a_sync_runs(self):
        server = self.start('/slow')
        sync_id = self.post_sync(server)
        server.wait_running(sync_id)
        body = self.assertJsonResponse(server.post(SYNC), 409)
        self.assertIs(body['success'], False)
        self.assertEqual(body['error'], 'busy')
        self.assertEqual(body['syncId'], sync_id)
        self.assertTrue(body['message'])
        # The running sync is untouched.
        st = server.status(sync_id).json()
        self.assertIn(st['status'], ('downloading', 'processing', 'saving'), st)
        self.assertEqual(server.status().json()['syncId'], sync_id)

    def test_concurrent_posts_start_one_sync(self):
        server = self.start('/slow')
        results = []
        lock = threading.Lock()

        def post():
            r = server.post(SYNC)
            with lock:
                results.append(r)

        threads = [threading.Thread(target=post) for _ in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        statuses = sorted(r.status for r in results)
        self.assertEqual(statuses, [202] + [409] * 29, statuses)
        ids = {r.json()['syncId'] for r in results}
        self.assertEqual(len(ids), 1, ids)

    def test_429_within_the_cooldown(self):
        server = self.start('/ok.csv', args=['--cooldown=30s'])
        sync_id = self.post_sync(server)
        self.assertEqual(server.wait_finished(sync_id)[-1]['status'], 'complete')
        r = server.post(SYNC)
        body = self.assertJsonResponse(r, 429)
        self.assertIs(body['success'], False)
        self.assertEqual(body['error'], 'cooldown')
        retry = r.header('Retry-After')
        self.assertIsNotNone(retry, r)
        self.assertRegex(retry, r'^\d+$')
        self.assertTrue(0 < int(retry) <= 30, retry)
        self.assertIsInstance(body['retryAfter'], int)
        self.assertTrue(0 < body['retryAfter'] <= 30, body)
        self.assertEqual(body['retryAfter'], int(retry))
        m = re.search(r'(\d+) ?s\b', body['message'])
        self.assertTrue(m, body['message'])
        self.assertTrue(0 < int(m.group(1)) <= 30, body['message'])
        # The refused start changed nothing: the latest is still the complete sync.
        self.assertEqual(server.status().json()['syncId'], sync_id)


# -- cancel -----------------------------------------------------------------------------------------

def make_good_db(sheet, directory):
    """A cache holding the demo sheet, synced by a server process that is then stopped."""
    db = os.path.join(directory, 'good.db')
    server = h.Server(sheet.url('/ok.csv'), db)
    try:
        st = server.sync()
        if st['status'] != 'complete':
            raise AssertionError('could not sync the demo sheet: %r' % st)
        rc = server.stop()
        if rc != 0:
            raise AssertionError('serve exited %r on SIGTERM: %s' % (rc, server.stderr_text()))
    finally:
        server.close()
    return db


class TestCancel(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.good_db = make_good_db(cls.sheet, cls.dir)

    def cancel(self, server, sync_id):
        r = server.delete(SYNC + '?syncId=' + sync_id)
        st = self.assertJsonResponse(r, 200)
        self.assertStatusObject(st)
        self.assertEqual(st['syncId'], sync_id)
        self.assertEqual(st['status'], 'cancelled')
        return st

    def test_cancel_running_sync_on_empty_cache(self):
        server = self.start('/slow')
        empty = self.assertJsonResponse(server.get('/api/data'), 200)
        self.assertEqual(empty['total'], 0)
        self.assertEqual(empty['rows'], [])
        sync_id = self.post_sync(server)
        server.wait_running(sync_id)
        self.cancel(server, sync_id)
        st = self.assertJsonResponse(server.status(sync_id), 200)
        self.assertEqual(st['status'], 'cancelled')
        self.assertEqual(server.status().json()['syncId'], sync_id)
        after = self.assertJsonResponse(server.get('/api/data'), 200)
        self.assertEqual(after['total'], 0)
        self.assertEqual(after['rows'], [])
        # Already finished: 409; unknown: 404; no id: 400.
        self.assertJsonResponse(server.delete(SYNC + '?syncId=' + sync_id), 409)
        self.assertJsonResponse(server.delete(SYNC + '?syncId=sync-0-nosuchsync'), 404)
        self.assertJsonResponse(server.delete(SYNC), 400)

    def test_post_right_after_cancel(self):
        # Once a sync is reported cancelled, none runs: a new start is accepted, not refused
        # with a 409 naming the finished sync (the API says 409 only "while a sync runs").
        server = self.start('/slow', args=['--cooldown=0s'])
        sync_id = self.post_sync(server)
        server.wait_running(sync_id)
        self.cancel(server, sync_id)
        r = server.post(SYNC)
        if r.status == 409:
            self.assertEqual(server.status(r.json().get('syncId')).json()['status'], 'cancelled')
        body = self.assertJsonResponse(r, 202)
        self.assertNotEqual(body['syncId'], sync_id)
        self.cancel(server, body['syncId'])

    def test_cancel_keeps_previous_data(self):
        db = os.path.join(h.temp_dir(self), 'cache.db')
        h.copy_db(self.good_db, db)
        server = self.start('/slow', db=db)
        before = self.assertJsonResponse(server.get('/api/data?limit=1000'), 200)
        self.assertEqual(before['total'], h.DEMO_ROWS)
        sync_id = self.post_sync(server)
        server.wait_running(sync_id)
        # While it runs, the previous data is served.
        during = self.assertJsonResponse(server.get('/api/data?limit=5'), 200)
        self.assertEqual(during['total'], h.DEMO_ROWS)
        self.cancel(server, sync_id)
        after = self.assertJsonResponse(server.get('/api/data?limit=1000'), 200)
        self.assertEqual(after['total'], h.DEMO_ROWS)
        self.assertEqual(after['columns'], before['columns'])
        self.assertEqual(after['rows'], before['rows'])
        self.assertEqual(after['rows'], demo_rows()[1])


# -- a failing sync ---------------------------------------------------------------------------------

class TestErrorSync(ServerTestCase):

    def test_sign_in_page_fails_with_share_hint(self):
        server = self.start('/html', args=['--cooldown=0s'])
        sync_id = self.post_sync(server)
        st = server.wait_finished(sync_id)[-1]
        self.assertStatusObject(st)
        self.assertEqual(st['status'], 'error', st)
        self.assertIn('error', st)
        self.assertIn('share', st['error'].lower(), st)
        self.assertIsNotNone(st['finishedAt'])
        # The service keeps answering.
        self.assertJsonResponse(server.get('/healthz'), 200)
        self.assertEqual(server.status().json()['status'], 'error')
        self.assertEqual(self.assertJsonResponse(server.get('/api/data'), 200)['total'], 0)
        self.assertEqual(h.metric(server.get('/metrics').text(),
                                'sheetsync_syncs_total{outcome="error"}'), 1)
        # (Right after a sync ends the server may answer 409 "still cleaning up" for a few ms;
        # TestCancel.test_post_right_after_cancel checks that case.)
        deadline = time.monotonic() + 3
        r = server.post(SYNC)
        while r.status == 409 and time.monotonic() < deadline:
            time.sleep(0.05)
            r = server.post(SYNC)
        again = self.assertJsonResponse(r, 202)['syncId']
        self.assertNotEqual(again, sync_id)
        self.assertEqual(server.wait_finished(again)[-1]['status'], 'error')


# -- sources and the sync history -------------------------------------------------------------------

class TestSourcesAndHistory(ServerTestCase):
    """One source (a single --source is named "sheet"): /api/sources, /api/sync-history and the
    source parameter of the other routes."""

    def assertUnknownSource(self, r):
        body = self.assertJsonResponse(r, 404)
        self.assertIs(body['success'], False)
        self.assertEqual(body['error'], 'unknown_source')
        self.assertEqual(body['sources'], ['sheet'])
        self.assertIn('nope', body['message'])

    def test_sources_and_history_after_two_syncs(self):
        server = self.start('/ok.csv', args=['--cooldown=0s'])
        # Before any sync.
        body = self.assertJsonResponse(server.get('/api/sources'), 200)
        self.assertEqual(len(body['sources']), 1, body)
        src = body['sources'][0]
        self.assertEqual(src['name'], 'sheet')
        self.assertIs(src['default'], True)
        self.assertEqual(src['access'], 'export')
        self.assertIsNone(src['intervalSeconds'])
        self.assertIsNone(src['running'])
        self.assertIs(src['queued'], False)
        self.assertIsNone(src['last'])
        self.assertIn('127.0.0.1', src['location'])
        self.assertEqual(self.assertJsonResponse(server.get('/api/sync-history'), 200),
                         {'syncs': []})

        # Two syncs, the second started through a JSON body.
        first = self.post_sync(server)
        self.assertEqual(server.wait_finished(first)[-1]['status'], 'complete')
        r = server.post(SYNC, headers={'Content-Type': 'application/json'},
                        body=json.dumps({'source': 'sheet'}))
        started = self.assertJsonResponse(r, 202)
        self.assertEqual(started['source'], 'sheet')
        second = started['syncId']
        self.assertEqual(server.wait_finished(second)[-1]['status'], 'complete')

        syncs = self.assertJsonResponse(server.get('/api/sync-history'), 200)['syncs']
        self.assertEqual([st['syncId'] for st in syncs], [second, first])
        for st in syncs:
            self.assertStatusObject(st)
            self.assertEqual(st['source'], 'sheet')
            self.assertEqual(st['status'], 'complete')
            self.assertEqual(st['stats']['lines'], h.DEMO_ROWS)
        self.assertGreaterEqual(syncs[0]['startedAt'], syncs[1]['startedAt'])
        # The history agrees with the status of each id.
        self.assertEqual(syncs[0], server.status(second).json())
        limited = self.assertJsonResponse(server.get('/api/sync-history?limit=1'), 200)
        self.assertEqual([st['syncId'] for st in limited['syncs']], [second])
        by_source = self.assertJsonResponse(
            server.get('/api/sync-history?source=sheet&limit=1000'), 200)
        self.assertEqual([st['syncId'] for st in by_source['syncs']], [second, first])
        for query in ('limit=0', 'limit=1001', 'limit=-1', 'limit=abc'):
            with self.subTest(query=query):
                body = self.assertJsonResponse(server.get('/api/sync-history?' + query), 400)
                self.assertEqual(body['error'], 'invalid_argument')
        self.assertUnknownSource(server.get('/api/sync-history?source=nope'))

        # The source now shows its latest sync.
        src = self.assertJsonResponse(server.get('/api/sources'), 200)['sources'][0]
        self.assertIsNone(src['running'])
        self.assertIsNotNone(src['last'], src)
        self.assertEqual(src['last']['syncId'], second)
        self.assertEqual(src['last']['status'], 'complete')
        self.assertStatusObject(src['last'])

        metrics = server.get('/metrics').text()
        self.assertEqual(
            h.metric(metrics, 'sheetsync_source_syncs_total{source="sheet",outcome="complete"}'), 2)

    def test_source_parameter_of_the_other_routes(self):
        server = self.start('/ok.csv', args=['--cooldown=0s'])
        idle = self.assertJsonResponse(server.get(SYNC + '?source=sheet'), 200)
        self.assertIsNone(idle['syncId'])
        self.assertEqual(idle['source'], 'sheet')
        self.assertEqual(idle['status'], 'idle')
        for method, path in (('GET', SYNC + '?source=nope'), ('POST', SYNC + '?source=nope'),
                             ('DELETE', SYNC + '?source=nope'), ('GET', '/api/data?source=nope')):
            with self.subTest(method=method, path=path):
                self.assertUnknownSource(server.request(method, path))
        # Nothing runs: nothing to cancel.
        body = self.assertJsonResponse(server.delete(SYNC + '?source=sheet'), 409)
        self.assertEqual(body['error'], 'not_running')
        # A malformed JSON body.
        r = server.post(SYNC, headers={'Content-Type': 'application/json'}, body='{"source":')
        self.assertEqual(self.assertJsonResponse(r, 400)['error'], 'invalid_argument')

        r = server.post(SYNC + '?source=sheet')
        started = self.assertJsonResponse(r, 202)
        sync_id = started['syncId']
        self.assertEqual(started['source'], 'sheet')
        server.wait_finished(sync_id)
        latest = self.assertJsonResponse(server.get(SYNC + '?source=sheet'), 200)
        self.assertEqual(latest['syncId'], sync_id)
        page = self.assertJsonResponse(server.get('/api/data?source=sheet&limit=3'), 200)
        self.assertEqual(page['total'], h.DEMO_ROWS)
        self.assertEqual(len(page['rows']), 3)

    def test_delete_by_source_cancels_the_running_sync(self):
        server = self.start('/slow', args=['--cooldown=0s'])
        sync_id = self.post_sync(server)
        server.wait_running(sync_id)
        src = self.assertJsonResponse(server.get('/api/sources'), 200)['sources'][0]
        self.assertEqual(src['running'], sync_id)
        self.assertEqual(src['last']['syncId'], sync_id)
        body = self.assertJsonResponse(server.delete(SYNC + '?source=sheet'), 200)
        self.assertEqual(body['syncId'], sync_id)
        self.assertEqual(body['status'], 'cancelled')
        self.assertEqual(server.wait_finished(sync_id)[-1]['status'], 'cancelled')


# -- the event stream -------------------------------------------------------------------------------

class TestEventStream(ServerTestCase):

    def read_until_finished(self, reader, sync_id, timeout=15):
        events = []
        deadline = time.monotonic() + timeout
        while True:
            ev = reader.read_event(timeout=max(0.1, deadline - time.monotonic()))
            events.append(ev)
            st = json.loads(ev['data'])
            if st['syncId'] == sync_id and st['status'] in ('complete', 'error', 'cancelled'):
                return events

    def test_events_of_a_sync_and_replay(self):
        server = self.start('/ok.csv')
        sock, reader, status, head = h.open_event_stream(server)
        self.addCleanup(sock.close)
        self.assertEqual(status, 200)
        self.assertTrue(head.get('content-type', '').startswith('text/event-stream'), head)
        self.assertEqual(head.get('cache-control'), 'no-store')
        self.assertNotIn('content-length', head)
        first = reader.read_event()
        self.assertEqual(first.get('event'), 'status')
        self.assertIsInstance(first.get('id'), int)
        self.assertEqual(json.loads(first['data'])['status'], 'idle')

        sync_id = self.post_sync(server)
        events = self.read_until_finished(reader, sync_id)
        all_events = [first] + events
        ids = [e['id'] for e in all_events]
        self.assertEqual(ids, list(range(ids[0], ids[0] + len(ids))), ids)
        statuses = []
        for e in events:
            self.assertEqual(e.get('event'), 'status')
            self.assertNotIn('\n', e['data'])
            st = json.loads(e['data'])
            self.assertStatusObject(st)
            self.assertEqual(st['syncId'], sync_id)
            statuses.append(st)
        states = [st['status'] for st in statuses]
        self.assertEqual(states[0], 'downloading', states)
        self.assertEqual(states[-1], 'complete', states)
        order = [STATES.index(s) for s in states]
        self.assertEqual(order, sorted(order), states)
        progress = [st['progress'] for st in statuses]
        self.assertEqual(progress, sorted(progress), progress)
        self.assertEqual(progress[-1], 100)
        self.assertEqual(statuses[-1]['stats']['lines'], h.DEMO_ROWS)
        self.assertGreaterEqual(len(events), 2)

        # Reconnect from an earlier id: the later events are replayed, identical.
        since = events[0]['id']
        sock2, reader2, status2, head2 = h.open_event_stream(
            server, headers={'Last-Event-ID': str(since)})
        self.addCleanup(sock2.close)
        self.assertEqual(status2, 200)
        replayed = [reader2.read_event() for _ in events[1:]]
        self.assertEqual([(e['id'], e['data']) for e in replayed],
                         [(e['id'], e['data']) for e in events[1:]])
        # Nothing else is pending on the replayed stream.
        sock2.settimeout(0.3)
        with self.assertRaises(socket.timeout):
            extra = sock2.recv(4096)
            self.fail('unexpected data after the replay: %r' % (reader2.buf + extra))

    def test_unknown_last_event_id_starts_with_current_status(self):
        server = self.start('/ok.csv')
        sync_id = self.post_sync(server)
        final = server.wait_finished(sync_id)[-1]
        for last in ('999999',):
            with self.subTest(last_event_id=last):
                sock, reader, status, _ = h.open_event_stream(
                    server, headers={'Last-Event-ID': last})
                self.addCleanup(sock.close)
                self.assertEqual(status, 200)
                ev = reader.read_event()
                self.assertEqual(json.loads(ev['data']), final)

    def test_new_stream_starts_with_current_status(self):
        server = self.start('/ok.csv')
        sync_id = self.post_sync(server)
        final = server.wait_finished(sync_id)[-1]
        sock, reader, status, _ = h.open_event_stream(server)
        self.addCleanup(sock.close)
        self.assertEqual(status, 200)
        ev = reader.read_event()
        st = json.loads(ev['data'])
        self.assertEqual(st['syncId'], sync_id)
        self.assertEqual(st['status'], 'complete')
        self.assertEqual(st, final)
        self.assertGreater(ev['id'], 0)


# -- bad requests on raw sockets --------------------------------------------------------------------

class TestBadRequests(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = h.Server(cls.sheet.url('/ok.csv'), os.path.join(cls.dir, 'bad.db'))
        cls.addClassCleanup(cls.server.close)
        cls.addClassCleanup(cls.server.stop)

    def tearDown(self):
        # After every bad request, the service still serves.
        r = self.server.get('/healthz')
        self.assertEqual(r.status, 200, r)

    def raw(self, data, close_expected=True):
        sock = self.server.connect()
        self.addCleanup(sock.close)
        sock.sendall(data)
        reader = h.SocketReader(sock)
        r = reader.read_response()
        if close_expected:
            self.assertTrue(reader.closed_by_peer(5), 'the server kept the connection open')
        return r, sock, reader

    def assertErrorJson(self, r, status):
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.header('content-type').startswith(JSON_TYPE), r)
        body = r.json()
        self.assertIs(body['success'], False)
        self.assertTrue(body['message'])
        return body

    def test_garbage_request_line_400_and_close(self):
        r, _, _ = self.raw(b'THIS IS NOT HTTP\r\n\r\n')
        self.assertErrorJson(r, 400)

    def test_binary_garbage_400_and_close(self):
        r, _, _ = self.raw(b'\x00\x01\x02\xff\xfe garbage\r\n\r\n')
        self.assertEqual(r.status, 400, r)

    def test_header_section_over_8k_431(self):
        big = b'X-Filler: ' + b'a' * 9000 + b'\r\n'
        r, _, _ = self.raw(b'GET /healthz HTTP/1.1\r\nHost: x\r\n' + big + b'\r\n')
        self.assertErrorJson(r, 431)

    def test_many_headers_over_8k_431(self):
        many = b''.join(b'X-H%d: %s\r\n' % (i, b'b' * 80) for i in range(120))
        r, _, _ = self.raw(b'GET /healthz HTTP/1.1\r\nHost: x\r\n' + many + b'\r\n')
        self.assertErrorJson(r, 431)

    def test_body_over_64k_413(self):
        r, _, _ = self.raw(b'POST /api/sync-sheets-bg HTTP/1.1\r\nHost: x\r\n'
                           b'Content-Type: application/json\r\nContent-Length: 70000\r\n\r\n')
        self.assertErrorJson(r, 413)
        # No sync was started by the refused request.
        self.assertIsNone(self.server.status().json()['syncId'])

    def test_chunked_body_over_64k_413(self):
        chunk = b'4000\r\n' + b'a' * 0x4000 + b'\r\n'  # 16 KiB chunks, 80 KiB in all
        r, _, _ = self.raw(b'POST /api/sync-sheets-bg HTTP/1.1\r\nHost: x\r\n'
                           b'Transfer-Encoding: chunked\r\n\r\n' + chunk * 5 + b'0\r\n\r\n')
        self.assertErrorJson(r, 413)
        self.assertIsNone(self.server.status().json()['syncId'])

    def test_unknown_path_404_json(self):
        r, _, _ = self.raw(b'GET /no/such/thing HTTP/1.1\r\nHost: x\r\n\r\n',
                           close_expected=False)
        body = self.assertErrorJson(r, 404)
        self.assertEqual(body['error'], 'not_found')
        self.assertJsonResponse(self.server.get('/api/nope'), 404)

    def test_wrong_method_405_with_allow(self):
        r, _, _ = self.raw(b'PUT /api/sync-sheets-bg HTTP/1.1\r\nHost: x\r\n'
                           b'Content-Length: 2\r\n\r\n{}', close_expected=False)
        self.assertErrorJson(r, 405)
        allow = [m.strip() for m in (r.header('allow') or '').split(',')]
        self.assertEqual(sorted(allow), ['DELETE', 'GET', 'HEAD', 'POST'], r)
        r2 = self.server.request('POST', '/api/data')
        self.assertEqual(r2.status, 405, r2)
        self.assertIn('GET', r2.header('Allow'))

    def test_pipelined_requests_answered_in_order(self):
        # The first goes through the coordinator (asynchronous), the second does not: the
        # answers must still come in request order, on the one connection.
        sock = self.server.connect()
        self.addCleanup(sock.close)
        sock.sendall(b'GET /api/sync-sheets-bg HTTP/1.1\r\nHost: x\r\n\r\n'
                     b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
                     b'GET /api/data?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n')
        reader = h.SocketReader(sock)
        first, second, third = (reader.read_response() for _ in range(3))
        self.assertEqual(first.status, 200, first)
        self.assertEqual(first.json()['status'], 'idle')
        self.assertEqual(second.status, 200, second)
        self.assertEqual(second.json(), {'status': 'ok'})
        self.assertEqual(third.status, 200, third)
        self.assertIn('total', third.json())
        # The connection stays usable.
        sock.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
        self.assertEqual(reader.read_response().status, 200)

    def test_request_split_into_single_bytes(self):
        sock = self.server.connect()
        self.addCleanup(sock.close)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = b'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
        for i in range(len(data)):
            sock.sendall(data[i:i + 1])
            # Pacing, not synchronisation: makes separate reads likely (the test holds either way).
            time.sleep(0.003)
        reader = h.SocketReader(sock)
        r = reader.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {'status': 'ok'})
        self.assertTrue(reader.closed_by_peer(5))
        self.assertEqual(reader.buf, b'', 'more than one response')

    def test_connection_close_and_http10(self):
        r, _, reader = self.raw(b'GET /healthz HTTP/1.0\r\n\r\n')
        self.assertEqual(r.status, 200, r)
        r, _, _ = self.raw(b'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        self.assertEqual(r.status, 200, r)

    def test_too_many_connections_503(self):
        server = self.start('/ok.csv', args=['--max-connections=2'])
        socks = [server.connect() for _ in range(2)]
        for s in socks:
            self.addCleanup(s.close)
            # Half a request: busy, not an idle keep-alive connection the server may close.
            s.sendall(b'GET /healthz HTTP/1.1\r\n')
        # No wait needed: the server accepts connections in the order of its listen queue, so
        # the third one comes after both others.
        extra = server.connect()
        self.addCleanup(extra.close)
        reader = h.SocketReader(extra)
        r = reader.read_response()
        self.assertEqual(r.status, 503, r)
        for s in socks:
            s.close()
        # Until the server has seen the closes, a new connection may still get the 503.
        deadline = time.monotonic() + 10
        status = server.get('/healthz').status
        while status == 503 and time.monotonic() < deadline:
            time.sleep(0.05)
            status = server.get('/healthz').status
        self.assertEqual(status, 200)


class TestPipelineFlood(ServerTestCase):
    """A client that pipelines requests without reading the answers must not grow the server's
    memory without bound nor starve the other clients: the server has to stop reading it."""

    def test_unread_pipelined_requests_are_bounded(self):
        server = self.start('/ok.csv')
        # A flooded server may take long to stop; this test is not about stopping.
        self.addCleanup(server.kill)
        self.assertEqual(server.sync()['status'], 'complete')
        base = server.rss_mib()
        flood = server.connect()
        self.addCleanup(flood.close)
        request = b'GET /api/data?limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n' * 50
        flood.settimeout(0.3)
        sent = 0
        deadline = time.monotonic() + 0.5
        try:
            while time.monotonic() < deadline:
                flood.sendall(request)
                sent += 50
        except socket.timeout:
            pass  # the server stopped reading: that is the point
        # Another client that honours Retry-After (the flood's own pages may hold the cache
        # reader's two waiting places for a moment: 503 + Retry-After, documented) is served
        # within the bound.
        t0 = time.monotonic()
        bound = h.time_bound(5)
        other = None
        while time.monotonic() - t0 < bound:
            try:
                other = server.get('/api/data?limit=1', timeout=bound)
            except socket.timeout:
                other = None
                break
            if other.status != 503 or other.header('Retry-After') is None:
                break
            time.sleep(min(float(other.header('Retry-After')), 1.0))
        took = time.monotonic() - t0
        grown = server.rss_mib() - base
        flood.close()
        self.assertIsNotNone(other, 'another client got no answer within %d s '
                             '(%d unread requests pipelined)' % (bound, sent))
        self.assertEqual(other.status, 200, '%r after %.1f s (%d requests pipelined)'
                         % (other, took, sent))
        h.check_memory_bound(self, grown, 100, 'RSS growth with %d unread pipelined requests'
                             % sent)


# -- the API token ----------------------------------------------------------------------------------

TOKEN = 's3cret-token'


class TestToken(ServerTestCase):

    def check_token_server(self, server):
        responses = []

        def get(path, headers=None, method='GET'):
            r = server.request(method, path, headers=headers)
            responses.append(r)
            return r

        right = {'Authorization': 'Bearer ' + TOKEN}
        wrongs = [None, {'Authorization': 'Bearer wrong'}, {'Authorization': TOKEN},
                  {'Authorization': 'Bearer ' + TOKEN + 'x'},
                  {'Authorization': 'Bearer ' + TOKEN[:-1]},
                  {'Authorization': 'Basic ' + TOKEN}]
        for path in (SYNC, '/api/data', '/api/sync-sheets-bg/events', '/api/nope'):
            for headers in wrongs:
                with self.subTest(path=path, headers=headers):
                    r = get(path, headers)
                    body = self.assertJsonResponse(r, 401)
                    self.assertEqual(body['success'], False)
                    self.assertEqual(body['error'], 'unauthorized')
        for method in ('POST', 'DELETE'):
            r = get(SYNC + '?syncId=x', method=method)
            self.assertEqual(r.status, 401, r)
        # No sync was started by the refused POST.
        r = get(SYNC, right)
        st = self.assertJsonResponse(r, 200)
        self.assertIsNone(st['syncId'])
        self.assertEqual(get('/api/data', right).status, 200)
        self.assertEqual(get('/healthz').status, 200)
        self.assertEqual(get('/metrics').status, 200)
        self.assertEqual(get('/').status, 200)
        self.assertEqual(get('/settings').status, 200)
        # A sync with the token.
        r = get(SYNC, right, method='POST')
        self.assertEqual(r.status, 202, r)
        final = server.wait_finished(r.json()['syncId'], headers=right)[-1]
        self.assertEqual(final['status'], 'complete')
        responses.append(get('/api/data?limit=1000', right))
        responses.append(get('/metrics'))
        # The event stream with the token.
        sock, reader, status, head = h.open_event_stream(server, headers=right)
        self.addCleanup(sock.close)
        self.assertEqual(status, 200)
        ev = reader.read_event()
        for r in responses:
            self.assertNotIn(TOKEN, r.raw())
        self.assertNotIn(TOKEN, str(head) + ev['data'])

    def test_api_token_flag(self):
        server = self.start('/ok.csv', args=['--api-token=' + TOKEN])
        self.check_token_server(server)
        self.assertNotIn(TOKEN, ''.join(server.stdout_lines))

    def test_api_token_env(self):
        server = self.start('/ok.csv', env={'SHEETSYNC_API_TOKEN': TOKEN})
        self.check_token_server(server)

    def test_public_host_needs_token(self):
        db = os.path.join(h.temp_dir(self), 'cache.db')
        env = dict(os.environ)
        env.pop('SHEETSYNC_API_TOKEN', None)
        proc = subprocess.run(
            [h.sheetsync_binary(), 'serve', '--port=0', '--host=0.0.0.0',
             '--source=' + self.sheet.url('/ok.csv'), '--db=' + db],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            timeout=15, env=env)
        self.assertNotEqual(proc.returncode, 0)
        self.assertNotIn(b'listening', proc.stdout)
        self.assertIn('token', proc.stderr.decode().lower())

    def test_public_host_with_insecure_public(self):
        db = os.path.join(h.temp_dir(self), 'cache.db')
        server = h.Server(self.sheet.url('/ok.csv'), db,
                          args=['--host=0.0.0.0', '--insecure-public'])
        self.addCleanup(server.close)
        self.assertEqual(server.get('/healthz').status, 200)
        self.assertEqual(server.stop(), 0)


# -- SIGTERM ----------------------------------------------------------------------------------------

class TestSigterm(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.good_db = make_good_db(cls.sheet, cls.dir)

    def test_sigterm_during_sync_keeps_cache(self):
        db = os.path.join(h.temp_dir(self), 'cache.db')
        h.copy_db(self.good_db, db)
        server = self.start('/slow', db=db)
        sync_id = self.post_sync(server)
        server.wait_running(sync_id)
        # Open connections (an event stream, an idle keep-alive one) must not hold the exit up.
        stream, reader, _, _ = h.open_event_stream(server)
        self.addCleanup(stream.close)
        reader.read_event()
        idle = server.connect()
        self.addCleanup(idle.close)
        # One answered keep-alive request: the server surely holds the connection, idle.
        idle.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
        self.assertEqual(h.SocketReader(idle).read_response().status, 200)
        rc = server.stop(timeout=8)
        self.assertIsNotNone(rc, 'serve did not exit within 8 s of SIGTERM')
        self.assertEqual(rc, 0, server.stderr_text())
        with sqlite3.connect(db) as conn:
            self.assertEqual(conn.execute('PRAGMA integrity_check').fetchall(), [('ok',)])
            cols = [r[1] for r in conn.execute('PRAGMA table_info("sheet")')]
            rows = conn.execute('SELECT * FROM "sheet" ORDER BY "_row"').fetchall()
            runs = dict(conn.execute('SELECT id, status FROM sync_runs').fetchall())
        conn.close()
        header, expected = demo_rows()
        self.assertEqual(cols[1:], header)
        self.assertEqual([list(r[1:]) for r in rows], expected)
        self.assertIn(sync_id, runs)
        self.assertEqual(runs[sync_id], 'cancelled')
        # A new server on the same cache serves the previous data.
        again = self.start('/ok.csv', db=db)
        page = self.assertJsonResponse(again.get('/api/data?limit=1'), 200)
        self.assertEqual(page['total'], h.DEMO_ROWS)


if __name__ == '__main__':
    h.main()
