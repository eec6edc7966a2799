"""Helpers for the API tests (python3 stdlib only): start/stop the fake sheet server and
`sheetsync serve`, make HTTP requests with http.client or raw sockets, read event streams.

Every process started here is registered and killed at exit (atexit), also when a test fails
or the run is interrupted; tests stop them earlier themselves.
"""

import atexit
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import openapi_check

# node and Ajv start while the test sets up, not on its first request.
openapi_check.prestart()

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FAKE_SERVER = os.path.join(REPO, 'tests', 'fake_server.py')
DEMO_CSV = os.path.join(REPO, 'config', 'demo.csv')
DEMO_ROWS = 300

_live = []  # every process started, killed at exit


def _kill_all():
    for proc in _live:
        if proc.poll() is None:
            try:
                proc.kill()
                proc.wait(timeout=5)
            except Exception:
                pass


atexit.register(_kill_all)


def sheetsync_binary():
    """The binary under test: $SHEETSYNC_BIN, else <repo>/build/sheetsync."""
    return os.environ.get('SHEETSYNC_BIN') or os.path.join(REPO, 'build', 'sheetsync')


def check_binary():
    """Returns an error text when the binary is missing or not executable, else None."""
    path = sheetsync_binary()
    if not os.path.isfile(path):
        return ('sheetsync binary not found at %s: build it (cmake --build ... --target sheetsync) '
                'or set SHEETSYNC_BIN' % path)
    if not os.access(path, os.X_OK):
        return 'sheetsync binary at %s is not executable' % path
    return None


def require_binary():
    """For setUpModule: raises RuntimeError with check_binary()'s text when the binary is not
    there."""
    problem = check_binary()
    if problem:
        raise RuntimeError(problem)


def main():
    """Runs the calling script's tests (verbosity 2); when the binary is not there, says so and
    exits 2 instead."""
    problem = check_binary()
    if problem:
        print(os.path.basename(sys.argv[0]) + ': ' + problem, file=sys.stderr)
        sys.exit(2)
    unittest.main(module='__main__', verbosity=2)


def wait_until(condition, what, timeout=30, interval=0.05):
    """Polls `condition` until it returns something true; returns that, or fails after `timeout`
    seconds naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('not within %d s: %s' % (timeout, what))
        time.sleep(interval)


def metric(text, name_and_labels):
    """The value of one sample line of Prometheus text, or None."""
    for line in text.splitlines():
        if line.startswith(name_and_labels + ' '):
            return float(line.split()[-1])
    return None


class FakeSheetCase(unittest.TestCase):
    """Tests against the fake sheet server (tests/fake_server.py), started once per class as
    `cls.sheet`."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.sheet = FakeSheet()
        cls.addClassCleanup(cls.sheet.stop)


# -- bounds of a sanitized build ---------------------------------------------------------------

SANITIZED = os.environ.get('SHEETSYNC_SANITIZED') == '1'
"""Whether the binary under test was built with AddressSanitizer and UBSan: CMake sets
SHEETSYNC_SANITIZED=1 for the process tests of such a build (build-asan)."""

SANITIZER_SLOWDOWN = 3
"""How much longer a time bound is under the sanitizers (they run the binary 2-5x slower; the
hostile sheets took 1.5-2x as long on a quiet machine, up to 3x at load 6)."""


def time_bound(seconds):
    """A bound on how long the binary may take: `seconds`, or SANITIZER_SLOWDOWN times that in a
    sanitized build."""
    return seconds * SANITIZER_SLOWDOWN if SANITIZED else seconds


def check_memory_bound(test, mib, bound, what):
    """Asserts that `mib` (the binary's memory, in MiB) stays under `bound`. A sanitized build
    only reports it: ASan's shadow memory, redzones and quarantine of freed blocks (up to 256 MiB)
    are not the binary's, so the plain build is the one that checks memory."""
    if SANITIZED:
        sys.stderr.write('\n  [%s %.0f MiB, not held to %d MiB under the sanitizers: the plain '
                         'build checks memory]\n' % (what, mib, bound))
        return
    test.assertLess(mib, bound, '%s: %.0f MiB' % (what, mib))


def _status_mib(pid, field):
    """A memory field of /proc/<pid>/status (e.g. 'VmRSS') in MiB; 0 if it is not there."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024.0
    return 0.0


def _read_line_with_timeout(stream, timeout, what):
    """Reads one line from a pipe, failing after `timeout` seconds."""
    result = []
    t = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    if not result:
        raise RuntimeError('%s: no output line within %.0f s' % (what, timeout))
    return result[0]


class FakeProcess:
    """`python3 SCRIPT --exit-on-stdin-eof ARGS...`, a fake server (tests/fake_*.py), started in
    the constructor: it prints "PORT n" first and exits when its stdin closes (stop()). With
    keep_stderr its stderr goes to a file (see stderr_text()), else nowhere."""

    def __init__(self, script, args=(), keep_stderr=False, stop_timeout=2):
        self.stop_timeout = stop_timeout
        self.stderr_file = tempfile.TemporaryFile() if keep_stderr else None
        self.proc = subprocess.Popen(
            [sys.executable, script, '--exit-on-stdin-eof'] + list(args),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr_file or subprocess.DEVNULL)
        _live.append(self.proc)
        name = os.path.basename(script)
        line = _read_line_with_timeout(self.proc.stdout, 10, name).decode()
        m = re.match(r'PORT (\d+)', line)
        if not m:
            self.proc.kill()
            self.stop()
            raise RuntimeError('%s printed %r instead of PORT n%s' % (
                name, line, '; stderr: ' + self.stderr_text() if keep_stderr else ''))
        self.port = int(m.group(1))

    def url(self, path):
        return 'http://127.0.0.1:%d%s' % (self.port, path)

    def stderr_text(self):
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode(errors='replace')

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except Exception:
                pass
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


class FakeSheet(FakeProcess):
    """tests/fake_server.py serving `csv` (default: the demo sheet)."""

    def __init__(self, csv=DEMO_CSV):
        super().__init__(FAKE_SERVER, ['--csv', csv])


class Server:
    """`sheetsync serve --port=0 ...` on 127.0.0.1, started in the constructor.

    args: extra flags; env: extra environment variables; preexec_fn: run in the child before exec
    (e.g. to set its resource limits). The stdout line announcing the port is awaited; stderr goes
    to a file (see stderr_text())."""

    def __init__(self, source, db, args=(), env=None, host_check=True, start_timeout=15,
                 preexec_fn=None):
        self.source = source
        self.db = db
        self._start(['--source=' + source, '--db=' + db] + list(args), env, start_timeout,
                    preexec_fn=preexec_fn)

    def _start(self, args, env=None, start_timeout=15, what='sheetsync serve', preexec_fn=None):
        """Runs `sheetsync serve --port=0 ARGS...` (kept as .cmd) and awaits the stdout line
        announcing the port; every line up to it goes through _start_line() first. Subclasses
        with other flags call this instead of Server.__init__; `what` names it in errors."""
        self.cmd = [sheetsync_binary(), 'serve', '--port=0'] + list(args)
        full_env = dict(os.environ)
        full_env.pop('SHEETSYNC_API_TOKEN', None)
        # Application Default Credentials of the machine would change what every source does.
        full_env.pop('GOOGLE_APPLICATION_CREDENTIALS', None)
        full_env.update(env or {})
        self.stderr_file = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.stderr_file, env=full_env,
                                     preexec_fn=preexec_fn)
        _live.append(self.proc)
        self.stdout_lines = []
        self._drain = None
        deadline = time.monotonic() + start_timeout
        self.port = None
        while self.port is None:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise RuntimeError('no port announced within %d s' % start_timeout)
                line = _read_line_with_timeout(self.proc.stdout, left, 'sheetsync serve')
            except RuntimeError as e:
                self.kill()
                err = self.stderr_text()
                self.close()
                raise RuntimeError('%s: %s; stderr: %s' % (what, e, err))
            if not line:
                rc = self.proc.wait()
                err = self.stderr_text()
                self.close()
                raise RuntimeError('%s exited (%d) before listening; stderr: %s'
                                   % (what, rc, err))
            line = line.decode(errors='replace')
            self.stdout_lines.append(line)
            self._start_line(line)
            m = re.search(r'listening on http://[^:]+:(\d+)', line)
            if m:
                self.port = int(m.group(1))
        # Drain stdout so the process never blocks on a full pipe.
        self._drain = threading.Thread(target=self._drain_stdout, daemon=True)
        self._drain.start()

    def _start_line(self, line):
        """Called with each stdout line until the port is announced (for other start-up news)."""

    def _drain_stdout(self):
        for line in iter(self.proc.stdout.readline, b''):
            self.stdout_lines.append(line.decode(errors='replace'))

    def stderr_text(self):
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode(errors='replace')

    def stop(self, timeout=10):
        """SIGTERM, wait; returns the exit code (kills and returns None after `timeout`)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        """Kills the process if it still runs and releases the pipes (for cleanups)."""
        self.kill()
        if getattr(self, '_drain', None):
            self._drain.join(5)
        self.proc.stdout.close()
        if not self.stderr_file.closed:
            err = self.stderr_text().strip()
            if err:  # shown in the test log, for diagnosis
                sys.stderr.write('\n[sheetsync serve :%s stderr]\n%s\n' % (self.port, err))
            self.stderr_file.close()

    def rss_mib(self):
        """Resident memory of the process in MiB (Linux /proc)."""
        return _status_mib(self.proc.pid, 'VmRSS')

    def peak_mib(self):
        """Peak resident memory of the process in MiB (VmHWM)."""
        return _status_mib(self.proc.pid, 'VmHWM')

    # -- requests ----------------------------------------------------------------------------

    def request(self, method, path, headers=None, body=None, timeout=10):
        """One request on a new connection: returns a Response, after checking it against
        docs/openapi.yaml (openapi_check: an answer the document does not describe fails the
        test)."""
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            response = Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()
        openapi_check.check(method, path, response)
        return response

    def get(self, path, **kw):
        return self.request('GET', path, **kw)

    def post(self, path, **kw):
        return self.request('POST', path, **kw)

    def delete(self, path, **kw):
        return self.request('DELETE', path, **kw)

    def connect(self, timeout=10):
        """A raw socket to the server."""
        return socket.create_connection(('127.0.0.1', self.port), timeout=timeout)

    def status(self, sync_id=None, headers=None):
        path = '/api/sync-sheets-bg' + ('?syncId=' + sync_id if sync_id else '')
        return self.get(path, headers=headers)

    def wait_finished(self, sync_id, timeout=20, headers=None, on_poll=None, interval=0.05):
        """Polls the status until the sync finished; returns the list of status objects seen."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            r = self.status(sync_id, headers=headers)
            if r.status != 200:
                raise AssertionError('GET status of %s answered %d: %r'
                                     % (sync_id, r.status, r.body))
            st = r.json()
            seen.append(st)
            if on_poll:
                on_poll(r)
            if st.get('status') in ('complete', 'error', 'cancelled'):
                return seen
            if time.monotonic() > deadline:
                raise AssertionError('sync %s not finished after %d s; last status %r'
                                     % (sync_id, timeout, st))
            time.sleep(interval)

    def wait_running(self, sync_id, timeout=10, headers=None):
        """Polls until the sync is running (not idle, not finished); returns its status."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.status(sync_id, headers=headers).json()
            if st.get('status') in ('complete', 'error', 'cancelled'):
                raise AssertionError('sync %s finished while expected to run: %r' % (sync_id, st))
            if st.get('status') in ('downloading', 'processing', 'saving'):
                return st
            if time.monotonic() > deadline:
                raise AssertionError('sync %s not running after %d s: %r'
                                     % (sync_id, timeout, st))
            time.sleep(0.05)

    def sync(self, timeout=20, headers=None):
        """POST, then wait until finished; returns the final status."""
        r = self.post('/api/sync-sheets-bg', headers=headers)
        if r.status != 202:
            raise AssertionError('POST answered %d: %r' % (r.status, r.body))
        return self.wait_finished(r.json()['syncId'], timeout=timeout, headers=headers)[-1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.header_list = headers  # [(name, value)]
        self.body = body

    def header(self, name):
        for k, v in self.header_list:
            if k.lower() == name.lower():
                return v
        return None

    def text(self):
        return self.body.decode('utf-8')

    def json(self):
        try:
            return json.loads(self.body.decode('utf-8'))
        except ValueError:
            raise AssertionError('not JSON (status %d): %r' % (self.status, self.body[:300]))

    def raw(self):
        """Headers and body as one text, for "appears nowhere" checks."""
        return '\n'.join('%s: %s' % kv for kv in self.header_list) + '\n\n' + \
            self.body.decode('utf-8', errors='replace')

    def __repr__(self):
        return 'Response(%d, %r, %r)' % (self.status, self.header_list, self.body[:200])


# -- raw sockets -------------------------------------------------------------------------------

class SocketReader:
    """Reads HTTP responses and event-stream lines from a raw socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b''
        self.eof = False

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout('timed out waiting for data')
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b''
        if not data:
            self.eof = True
        self.buf += data
        return bool(data)

    def read_until(self, marker, timeout=10):
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            if not self._fill(deadline):
                raise EOFError('connection closed before %r; got %r' % (marker, self.buf[:300]))
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise EOFError('connection closed after %d of %d bytes' % (len(self.buf), n))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_head(self, timeout=10):
        """Reads a status line and headers: returns (status, {lower name: value})."""
        head = self.read_until(b'\r\n\r\n', timeout).decode('latin-1')
        lines = head.split('\r\n')
        m = re.match(r'HTTP/1\.[01] (\d{3}) ', lines[0] + ' ')
        if not m:
            raise AssertionError('bad status line %r' % lines[0])
        headers = {}
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(':')
                headers[k.strip().lower()] = v.strip()
        return int(m.group(1)), headers

    def read_response(self, timeout=10):
        """One response with a Content-Length body: returns Response (headers lower-cased)."""
        status, headers = self.read_head(timeout)
        n = int(headers.get('content-length', '0'))
        body = self.read_exact(n, timeout)
        return Response(status, list(headers.items()), body)

    def closed_by_peer(self, timeout=5):
        """True when the peer closes (EOF or reset) within `timeout`, ignoring any further data."""
        deadline = time.monotonic() + timeout
        try:
            while not self.eof:
                self._fill(deadline)
        except socket.timeout:
            return False
        return True

    def read_event(self, timeout=10):
        """The next event of an event stream as {'id': int|None, 'event': str, 'data': str};
        comment-only blocks (keep-alives) are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            block = self.read_until(b'\n\n', max(0.01, deadline - time.monotonic()))
            fields = {}
            for line in block.decode('utf-8').split('\n'):
                if not line or line.startswith(':'):
                    continue
                k, _, v = line.partition(':')
                v = v[1:] if v.startswith(' ') else v
                fields[k] = fields[k] + '\n' + v if k == 'data' and k in fields else v
            if fields:
                if 'id' in fields:
                    fields['id'] = int(fields['id'])
                openapi_check.check_event(fields)
                return fields


def open_event_stream(server, headers=None, timeout=10):
    """Connects to the event stream: returns (socket, reader, status, head headers)."""
    sock = server.connect(timeout)
    extra = ''.join('%s: %s\r\n' % kv for kv in (headers or {}).items())
    sock.sendall(('GET /api/sync-sheets-bg/events HTTP/1.1\r\nHost: x\r\n'
                  'Accept: text/event-stream\r\n%s\r\n' % extra).encode())
    reader = SocketReader(sock)
    status, head = reader.read_head(timeout)
    openapi_check.check_head('GET', '/api/sync-sheets-bg/events', status, head.items())
    return sock, reader, status, head


def temp_dir(test):
    """A temporary directory removed after the test (or class, given the class)."""
    d = tempfile.mkdtemp(prefix='sheetsync-api-')
    cleanup = getattr(test, 'addClassCleanup', None) if isinstance(test, type) else None
    (cleanup or test.addCleanup)(shutil.rmtree, d, True)
    return d


def copy_db(src, dst):
    """Copies an SQLite file with its -wal/-shm companions, if any."""
    for suffix in ('', '-wal', '-shm'):
        if os.path.exists(src + suffix):
            shutil.copyfile(src + suffix, dst + suffix)
