#!/usr/bin/env python3
"""Distributed nodes on loopback (issue 5): a coordinator process (`serve --node-port=0`), a facade
process (`serve --coordinator=127.0.0.1:N`, only the HTTP API and pages) and `sheetsync remote`
client processes, all talking CAF's own protocol on the node port.

The sheets come from tests/fake_server.py: `demo` is config/demo.csv (fast), `slow` trickles
/slow lines (a few seconds), so that kills and second starts land while it runs. Python 3 stdlib
only. Run: python3 tests/api/test_node_processes.py [-v] [TestClass[.test]]
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402

SYNC = '/api/sync-sheets-bg'
PHASES = ['downloading', 'processing', 'saving', 'complete']
FINISHED = ('complete', 'error', 'cancelled')
RUNNING = ('downloading', 'processing', 'saving')
SLOW_LINES = 300  # at 20 ms each: about 6 s
MEDIUM_LINES = 200  # at 5 ms each: about 1 s, long enough to watch it download

SHEET = None


def setUpModule():
    global SHEET
    h.require_binary()
    SHEET = h.FakeSheet()


def tearDownModule():
    if SHEET:
        SHEET.stop()


def write_config(directory, slow_lines=SLOW_LINES):
    """A config file with the sources demo (default), slow and medium; returns its path."""
    path = os.path.join(directory, 'sheetsync.conf')
    with open(path, 'w') as f:
        f.write('[sheetsync]\n'
                'db = "%s"\n'
                'cooldown = 100ms\n'
                'sources = {\n'
                '  demo = { url = "%s" },\n'
                '  slow = { url = "%s" },\n'
                '  medium = { url = "%s" }\n'
                '}\n'
                'default-source = "demo"\n'
                % (os.path.join(directory, 'cache.db'), SHEET.url('/ok.csv'),
                   SHEET.url('/slow?interval_ms=20&lines=%d' % slow_lines),
                   SHEET.url('/slow?interval_ms=5&lines=%d' % MEDIUM_LINES)))
    return path


class Node(h.Server):
    """`sheetsync serve --port=0 ARGS...` without the implied --source/--db of h.Server. For a
    coordinator (--node-port), .node_port is the published port from its start-up line."""

    def __init__(self, args, start_timeout=15):
        self.source = None
        self.db = None
        self.node_port = None
        self._start(args, start_timeout=start_timeout, what='sheetsync serve ' + ' '.join(args))

    def _start_line(self, line):
        m = re.search(r'coordinator node on [^ ]+:(\d+)', line)
        if m:
            self.node_port = int(m.group(1))


class Client:
    """`sheetsync remote --node=127.0.0.1:PORT ARGS...` in the background; stdout lines are
    collected as they come (.lines), stderr goes to a file."""

    def __init__(self, node_port, args):
        self.args = args
        cmd = [h.sheetsync_binary(), 'remote', '--node=127.0.0.1:%d' % node_port] + list(args)
        self.stderr_file = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.stderr_file)
        h._live.append(self.proc)
        self.lines = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in iter(self.proc.stdout.readline, b''):
            with self._cond:
                self.lines.append(line.decode(errors='replace').rstrip('\n'))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_line(self, pattern, timeout=10):
        """Waits for a stdout line matching `pattern`; returns it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if re.search(pattern, line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError('remote %s: no line matching %r within %d s; stdout %r, '
                                         'stderr %r' % (' '.join(self.args), pattern, timeout,
                                                        self.lines, self.stderr()))
                self._cond.wait(min(left, 0.2))

    def wait(self, timeout=30):
        """Waits for the exit; returns (code, stdout text, stderr text)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError('remote %s did not exit within %d s; stdout %r, stderr %r'
                                 % (' '.join(self.args), timeout, self.lines, self.stderr()))
        self._reader.join(5)
        return self.proc.returncode, '\n'.join(self.lines), self.stderr()

    def stderr(self):
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode(errors='replace')

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        self.proc.stdout.close()
        self.stderr_file.close()


def remote(node_port, *args, timeout=30):
    """Runs `sheetsync remote` to the end: returns (code, stdout, stderr)."""
    c = Client(node_port, args)
    try:
        return c.wait(timeout)
    finally:
        c.close()


def states_of(lines, sync_id):
    """The states named by `remote watch` lines of one sync, consecutive duplicates merged."""
    states = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and parts[0] == sync_id:
            if not states or states[-1] != parts[2]:
                states.append(parts[2])
    return states


class NodesTestCase(unittest.TestCase):

    def coordinator(self, directory, extra=()):
        node = Node(['--config-file=' + write_config(directory), '--node-port=0'] + list(extra))
        self.addCleanup(node.close)
        self.addCleanup(node.stop)
        self.assertIsNotNone(node.node_port, node.stdout_lines)
        return node

    def facade(self, node_port):
        node = Node(['--coordinator=127.0.0.1:%d' % node_port])
        self.addCleanup(node.close)
        self.addCleanup(node.stop)
        return node

    def wait_served(self, facade, timeout=15):
        """Polls the facade until it answers the status with 200 (it connects in the
        background); returns the status."""
        deadline = time.monotonic() + timeout
        while True:
            r = facade.status()
            if r.status == 200:
                return r.json()
            self.assertEqual(r.status, 503, r)
            self.assertLess(time.monotonic(), deadline,
                            'the facade still answers %r after %d s' % (r, timeout))
            time.sleep(0.1)

    def post(self, server, source=None, patience=5):
        """POST a sync; a 429 (the cooldown of the previous start) is retried."""
        deadline = time.monotonic() + patience
        while True:
            r = server.post(SYNC + ('?source=' + source if source else ''))
            if r.status != 429 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(r.status, 202, r)
        return r.json()['syncId']

    def wait_finished(self, server, sync_id, timeout=30):
        return server.wait_finished(sync_id, timeout=timeout, interval=0.1)[-1]


class TestNodes(NodesTestCase):
    """One coordinator and one facade; the tests run in order of their numbers."""

    @classmethod
    def setUpClass(cls):
        cls.dir = h.temp_dir(cls)
        coord = Node(['--config-file=' + write_config(cls.dir), '--node-port=0'])
        cls.addClassCleanup(coord.close)
        cls.addClassCleanup(coord.stop)
        cls.coord = coord
        cls.node_port = coord.node_port
        cls.front = Node(['--coordinator=127.0.0.1:%d' % cls.node_port])
        cls.addClassCleanup(cls.front.close)
        cls.addClassCleanup(cls.front.stop)

    def test_0_start_up_lines(self):
        self.assertIsNotNone(self.node_port)
        self.assertTrue(any('unauthenticated' in line for line in self.coord.stdout_lines),
                        self.coord.stdout_lines)
        self.assertTrue(any('facade of the coordinator at 127.0.0.1:%d' % self.node_port in line
                            for line in self.front.stdout_lines), self.front.stdout_lines)

    def test_1_facade_sync_completes_and_watch_saw_every_phase(self):
        self.wait_served(self.front)
        watch = Client(self.node_port, ['watch'])
        self.addCleanup(watch.close)
        watch.wait_line(r'^watching the coordinator')
        sync_id = self.post(self.front)
        st = self.wait_finished(self.front, sync_id)
        self.assertEqual(st['status'], 'complete', st)
        self.assertEqual(st['stats']['lines'], h.DEMO_ROWS, st)
        self.assertEqual(st['source'], 'demo', st)
        watch.wait_line(r'^%s\s+demo\s+complete\s' % re.escape(sync_id))
        self.assertEqual(states_of(watch.lines, sync_id), PHASES, watch.lines)
        # Interrupted, watch exits 0.
        watch.proc.send_signal(signal.SIGINT)
        code, _, err = watch.wait(10)
        self.assertEqual(code, 0, err)
        # The facade's pages and lists come from the other node too.
        r = self.front.get('/api/sources')
        self.assertEqual(r.status, 200, r)
        self.assertIn('slow', r.text())
        r = self.front.get('/')
        self.assertEqual(r.status, 200, r)

    def test_2_remote_sync_shows_progress_and_exits_0(self):
        # The client subscribes to the sync once it has its id: a sync as quick as demo may be
        # over by then (it shows the final line only); medium takes about a second.
        code, out, err = remote(self.node_port, 'sync', '--source=medium')
        self.assertEqual(code, 0, (out, err))
        self.assertRegex(out, r'(^|\n)downloading\s+\d+%')
        # The final line once (not also as a status line).
        self.assertNotRegex(out, r'\ncomplete\s+100%')
        self.assertEqual(len(re.findall(r'Synced %d rows' % (MEDIUM_LINES - 1), out)), 1, out)
        self.assertRegex(out, r'\nSynced %d rows[^\n]*$' % (MEDIUM_LINES - 1))
        self.assertNotIn('\r', out)  # not a terminal: lines, as `sheetsync sync` prints them

    def test_3_remote_status(self):
        sync_id = self.post(self.front, 'demo')
        self.wait_finished(self.front, sync_id)
        code, out, err = remote(self.node_port, 'status', sync_id)
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r'^%s\s+demo\s+complete\s+100%%' % re.escape(sync_id))
        # Without an id: the running or latest one.
        code, out, err = remote(self.node_port, 'status')
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r'^sync-\S+\s+\S+\s+(complete|idle)')
        code, out, err = remote(self.node_port, 'status', 'sync-0-doesnotexist')
        self.assertEqual(code, 1, out)
        self.assertIn('sync-0-doesnotexist', err)

    def test_4_busy_then_cancel(self):
        sync_id = self.post(self.front, 'slow')
        # A second start of the running source: 409 through the facade ...
        r = self.front.post(SYNC + '?source=slow')
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json().get('syncId'), sync_id, r)
        # ... and a remote sync says busy.
        code, out, err = remote(self.node_port, 'sync', '--source=slow')
        self.assertNotEqual(code, 0, (out, err))
        self.assertIn('busy', err)
        self.assertIn(sync_id, err)
        # Cancel from the client: prints the final status.
        code, out, err = remote(self.node_port, 'cancel', sync_id)
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r'^%s\s+slow\s+cancelled\s' % re.escape(sync_id))
        st = self.wait_finished(self.front, sync_id)
        self.assertEqual(st['status'], 'cancelled', st)
        code, out, err = remote(self.node_port, 'cancel', sync_id)
        self.assertEqual(code, 1, out)

    def test_5_remote_sync_interrupted_cancels(self):
        # Test 4 started (and cancelled) a sync of this source moments ago:
        # wait out its cooldown (100 ms) so this start is not refused.
        time.sleep(0.3)
        c = Client(self.node_port, ['sync', '--source=slow'])
        self.addCleanup(c.close)
        line = c.wait_line(r'^downloading')
        self.assertIn('%', line)
        c.proc.send_signal(signal.SIGINT)
        code, out, err = c.wait(15)
        self.assertEqual(code, 130, (out, err))
        self.assertIn('Cancelled', err)
        st = self.front.get(SYNC + '?source=slow').json()
        self.assertEqual(st['status'], 'cancelled', st)

    def test_6_facade_flags_are_checked(self):
        for args, part in [
                (['--coordinator=127.0.0.1:%d' % self.node_port, '--db=x.db'], '--db cannot'),
                (['--coordinator=127.0.0.1:%d' % self.node_port, '--source=demo'], '--source'),
                (['--coordinator=127.0.0.1'], 'has no port'),
                (['--coordinator=127.0.0.1:0'], 'from 1 to 65535')]:
            p = subprocess.run([h.sheetsync_binary(), 'serve'] + args, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=20)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(part, p.stderr.decode(), args)


class TestConnectFailures(NodesTestCase):

    def test_nothing_listening(self):
        with_socket = __import__('socket').socket()
        with_socket.bind(('127.0.0.1', 0))
        port = with_socket.getsockname()[1]
        with_socket.close()  # a port where nothing listens
        code, out, err = remote(port, 'status')
        self.assertEqual(code, 2, (out, err))
        self.assertIn('cannot connect to 127.0.0.1:%d' % port, err)

    def test_usage(self):
        code, out, err = remote(1, 'frobnicate')
        self.assertEqual(code, 2)
        self.assertIn('unknown action', err)
        p = subprocess.run([h.sheetsync_binary(), 'remote', '--help'], capture_output=True,
                           timeout=20)
        self.assertEqual(p.returncode, 0)
        for part in (b'--node=HOST:PORT', b'watch', b'cancel ID', b'status [ID]'):
            self.assertIn(part, p.stdout)


class TestVocabulary(NodesTestCase):
    """A node announcing another vocabulary (as another build would) is refused at connect."""

    def test_another_vocabulary_is_refused_with_a_clear_error(self):
        other = ['--middleman.app-identifiers=["sheetsync-000000000000"]']
        coord = self.coordinator(h.temp_dir(self), other)
        code, out, err = remote(coord.node_port, 'status')
        self.assertEqual(code, 2, (out, err))
        self.assertIn('the node at 127.0.0.1:%d runs another sheetsync message vocabulary (ours: '
                      'sheetsync-' % coord.node_port, err)
        self.assertIn('run the same sheetsync build on both nodes', err)
        front = self.facade(coord.node_port)
        deadline = time.monotonic() + 10
        while True:  # until its first connection attempt has failed
            r = front.status()
            self.assertEqual(r.status, 503, r)
            if 'vocabulary' in r.json().get('message', ''):
                break
            self.assertLess(time.monotonic(), deadline, r)
            time.sleep(0.1)
        self.assertIn('run the same sheetsync build on both nodes', r.json()['message'])


class TestFacadeRestart(NodesTestCase):

    def test_facade_killed_during_a_sync(self):
        coord = self.coordinator(h.temp_dir(self))
        first = self.facade(coord.node_port)
        self.wait_served(first)
        sync_id = self.post(first, 'slow')
        first.wait_running(sync_id)
        time.sleep(0.5)
        first.kill()  # SIGKILL: the coordinator only loses a listener
        self.assertEqual(first.proc.returncode, -9)
        second = self.facade(coord.node_port)
        st = self.wait_served(second)
        r = second.status(sync_id)
        self.assertEqual(r.status, 200, r)
        self.assertIn(r.json()['status'], RUNNING, r.json())
        st = self.wait_finished(second, sync_id)
        self.assertEqual(st['status'], 'complete', st)
        self.assertGreaterEqual(st['stats']['lines'], SLOW_LINES - 1, st)
        # Seen from the coordinator's own API too.
        r = coord.status(sync_id)
        self.assertEqual(r.json()['status'], 'complete', r)


class TestCoordinatorRestart(NodesTestCase):

    def test_remote_sync_exits_1_when_the_coordinator_dies(self):
        coord = self.coordinator(h.temp_dir(self))
        c = Client(coord.node_port, ['sync', '--source=slow'])
        self.addCleanup(c.close)
        c.wait_line(r'^downloading')
        coord.kill()
        code, out, err = c.wait(15)
        self.assertEqual(code, 1, (out, err))
        self.assertIn('the coordinator node at 127.0.0.1:%d went away' % coord.node_port, err)

    def test_facade_answers_503_then_recovers(self):
        directory = h.temp_dir(self)
        coord = self.coordinator(directory)
        node_port = coord.node_port
        front = self.facade(node_port)
        self.wait_served(front)
        # Ready: the coordinator answers for its cache.
        r = front.get('/readyz')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {'status': 'ready'})
        sync_id = self.post(front, 'demo')
        self.assertEqual(self.wait_finished(front, sync_id)['status'], 'complete')

        watch = Client(node_port, ['watch'])
        self.addCleanup(watch.close)
        watch.wait_line(r'^watching the coordinator')

        self.assertEqual(coord.stop(), 0)
        # The watching client notices and says so.
        code, out, err = watch.wait(15)
        self.assertEqual(code, 1, (out, err))
        self.assertIn('the coordinator node at 127.0.0.1:%d went away' % node_port, err)
        deadline = time.monotonic() + 10
        while True:
            r = front.status(sync_id)
            if r.status == 503:
                break
            self.assertLess(time.monotonic(), deadline, 'still %r' % r)
            time.sleep(0.1)
        self.assertTrue((r.header('Content-Type') or '').startswith('application/json'), r)
        body = r.json()
        self.assertIn('127.0.0.1:%d' % node_port, body.get('message', ''), body)
        self.assertIn('unreachable', body.get('message', ''), body)
        r = front.post(SYNC)
        self.assertEqual(r.status, 503, r)
        # Not ready, and why; still alive.
        r = front.get('/readyz')
        self.assertEqual(r.status, 503, r)
        body = r.json()
        self.assertEqual(body.get('status'), 'not ready', body)
        self.assertIn('127.0.0.1:%d' % node_port, body.get('reason', ''), body)
        self.assertIn('unreachable', body.get('reason', ''), body)
        self.assertEqual(front.get('/healthz').status, 200)

        # Back on the same node port and cache: the facade serves again.
        again = Node(['--config-file=' + os.path.join(directory, 'sheetsync.conf'),
                      '--node-port=%d' % node_port])
        self.addCleanup(again.close)
        self.addCleanup(again.stop)
        self.assertEqual(again.node_port, node_port)
        deadline = time.monotonic() + 15
        while True:
            r = front.status(sync_id)
            if r.status == 200:
                break
            self.assertEqual(r.status, 503, r)
            self.assertLess(time.monotonic(), deadline, 'the facade did not recover: %r' % r)
            time.sleep(0.1)
        self.assertEqual(r.json()['status'], 'complete', r)  # from the history
        self.assertEqual(front.get('/readyz').status, 200)
        new_id = self.post(front, 'demo')
        self.assertEqual(self.wait_finished(front, new_id)['status'], 'complete')


if __name__ == '__main__':
    unittest.main()
