#!/usr/bin/env python3
"""`sheetsync serve` sizes --max-connections from the file descriptor limit (cli/fd_limit.hpp):
started with a soft limit of 256 under a hard one of 4096, it raises the soft limit to 4096 (as
/proc/PID/limits shows) and accepts up to 3840 connections (4096 less 256 for its own files),
saying so at start; a --max-connections beyond that is lowered with a warning naming both figures;
one that fits is kept. Python 3 stdlib only. Run:
  python3 tests/api/test_connection_limit.py [-v]
"""

import os
import re
import resource
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402

SOFT, HARD = 256, 4096


def low_soft_limit():
    # In the child only: the test's own limits stay as they were.
    resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT, HARD))


def open_files_limits(pid):
    """(soft, hard) of 'Max open files' in /proc/PID/limits."""
    with open('/proc/%d/limits' % pid) as f:
        m = re.search(r'^Max open files\s+(\d+)\s+(\d+)', f.read(), re.M)
    return int(m.group(1)), int(m.group(2))


class ConnectionLimit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        h.require_binary()
        if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < HARD:
            raise unittest.SkipTest('needs a hard file descriptor limit of at least %d' % HARD)

    def start(self, args=()):
        db = os.path.join(h.temp_dir(self), 'cache.db')
        server = h.Server('file://' + h.DEMO_CSV, db, args=args, preexec_fn=low_soft_limit)
        self.addCleanup(server.close)
        self.addCleanup(server.stop)
        return server

    def budget_line(self, server):
        """The start-up line after 'listening on' that names the connection figure."""
        found = []

        def seen():
            found[:] = [l for l in server.stdout_lines if 'accepting up to' in l]
            return found
        h.wait_until(seen, 'the line naming the connection figure', timeout=10)
        return found[0].strip()

    def test_soft_limit_raised_and_default_from_it(self):
        server = self.start()
        self.assertEqual(open_files_limits(server.proc.pid), (HARD, HARD))
        self.assertEqual(self.budget_line(server),
                         'sheetsync: accepting up to 3840 connections '
                         '(file descriptor limit 4096)')
        self.assertNotIn('warning', server.stderr_text())
        self.assertEqual(server.get('/healthz').status, 200)

    def test_too_many_connections_asked_are_lowered_with_a_warning(self):
        server = self.start(['--max-connections=100000'])
        self.assertIn('sheetsync: accepting up to 3840 connections (file descriptor limit 4096)',
                      self.budget_line(server))
        err = server.stderr_text()
        self.assertIn('warning: --max-connections=100000 is more than the file descriptor limit '
                      'allows (4096', err)
        self.assertIn('accepting up to 3840', err)

    def test_a_figure_that_fits_is_kept(self):
        server = self.start(['--max-connections=500'])
        self.assertIn('accepting up to 500 connections (file descriptor limit 4096)',
                      self.budget_line(server))
        self.assertNotIn('warning', server.stderr_text())


if __name__ == '__main__':
    h.main()
