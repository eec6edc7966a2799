"""scripts/demo as a newcomer runs it: it prints the dashboard's address only once the server it
started answers, and on a busy port it says so and how to pick another (PORT=).

The script runs from a copy of the repository's layout (scripts/demo, config/demo.csv) in a
temporary directory, so its demo.db lands there; SHEETSYNC_BIN makes it skip installing and
building."""

import http.server
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest

import apihelpers as h


def setUpModule():
    h.require_binary()


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class OtherServer(http.server.ThreadingHTTPServer):
    """Another program on the port: answers every request 200 with JSON, as a server of
    something else (or an older sheetsync) would, and notes what it was asked."""

    def __init__(self):
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self):
                outer.requests.append((self.command, self.path))
                body = b'{"success": true, "message": "Background sync started"}'
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer

            def log_message(self, *args):
                pass

        super().__init__(('127.0.0.1', 0), Handler)
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.shutdown()
        self.server_close()


class TestDemo(unittest.TestCase):

    def setUp(self):
        self.dir = h.temp_dir(self)
        os.mkdir(os.path.join(self.dir, 'scripts'))
        os.mkdir(os.path.join(self.dir, 'config'))
        shutil.copy(os.path.join(h.REPO, 'scripts', 'demo'), os.path.join(self.dir, 'scripts'))
        shutil.copy(h.DEMO_CSV, os.path.join(self.dir, 'config'))

    def start(self, port):
        env = dict(os.environ, SHEETSYNC_BIN=h.sheetsync_binary(), PORT=str(port))
        proc = subprocess.Popen(['bash', os.path.join(self.dir, 'scripts', 'demo')],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, text=True)
        h._live.append(proc)
        return proc

    def test_a_busy_port_is_reported_and_nothing_else_is_printed(self):
        other = OtherServer()
        self.addCleanup(other.close)
        proc = self.start(other.port)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            self.fail('scripts/demo still runs 30 s after its server could not listen')
        self.assertEqual(proc.returncode, 1, err)
        # Nothing from the other program, no address to open.
        self.assertNotIn('Dashboard', out)
        self.assertNotIn('Background sync started', out)
        self.assertEqual(other.requests, [])
        self.assertIn('port %d on 127.0.0.1 is already in use; stop the other program or choose '
                      'another with --port' % other.port, err)
        self.assertIn('PORT=', err)

    def test_the_address_comes_once_the_server_answers_and_ctrl_c_stops_it(self):
        port = free_port()
        proc = self.start(port)
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith('Dashboard:'):
                break
        self.assertTrue(lines and lines[-1].startswith('Dashboard: http://127.0.0.1:%d/' % port),
                        ''.join(lines))
        text = ''.join(lines)
        # The server's own announcement comes before anything it answered.
        self.assertLess(text.index('listening on http://127.0.0.1:%d' % port),
                        text.index('Background sync started'), text)
        self.assertIn('PORT=', text)
        with socket.create_connection(('127.0.0.1', port), timeout=5):
            pass
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            self.fail('scripts/demo did not stop within 15 s of SIGINT')
        with self.assertRaises(OSError):
            socket.create_connection(('127.0.0.1', port), timeout=2).close()


if __name__ == '__main__':
    h.main()
