#!/usr/bin/env python3
"""Smoke tests of the benchmark scripts. bench/run on a 100k-row sheet: it runs both sources end
to end and reports what it must (load average, wall and CPU of both sides, ratios, rows/s, peak
RSS, row counts), and withholds the ratios on a loaded machine unless --allow-load; curl, sqlite3
and GNU time are needed (no wrk, no nginx). The sheet is kept next to the binary (bench-smoke/), so
only the first run generates it. bench/http's scale cases (idle connections, event streams, the
status from the history) with small counts: each produces its figures beside nginx's, with the
targets and the load average; needs wrk and nginx. No timing is asserted. Run:
  python3 tests/api/test_bench.py [-v]
"""

import os
import re
import shutil
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihelpers as h  # noqa: E402

ROWS = 100000


def bench(*args):
    binary = h.sheetsync_binary()
    out = os.path.join(os.path.dirname(os.path.abspath(binary)), 'bench-smoke')
    cmd = [os.path.join(h.REPO, 'bench', 'run'), '--rows', str(ROWS), '--runs', '1',
           '--skip-large', '--settle', '0', '--bin', binary, '--out', out,
           '--timeout', '120'] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


class BenchSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        h.require_binary()
        missing = [t for t in ('curl', 'sqlite3') if not shutil.which(t)]
        if missing or not os.access('/usr/bin/time', os.X_OK):
            raise unittest.SkipTest('needs curl, sqlite3 and GNU time: missing %s'
                                    % (missing or ['/usr/bin/time']))

    def test_both_sources_report_everything(self):
        # --max-load -1: every pair counts as loaded, so the marking is tested whatever the load.
        r = bench('--allow-load', '--max-load', '-1')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for source in ('http', 'file'):
            self.assertRegex(r.stderr, r'%s run 1/1 \(load [0-9.]+\): sheetsync [0-9.]+ s wall, '
                                       r'[0-9.]+ s CPU, [0-9.]+ MiB; baseline' % source)
            self.assertIn('%s source' % source, r.stdout)
        out = r.stdout
        self.assertEqual(len([l for l in out.splitlines() if l.startswith('wall, median')]), 2)
        self.assertEqual(out.count('LOADED'), 4, out)  # wall and CPU ratio of each source
        for label in ('CPU user+sys, median (s)', 'rows/s (wall)', 'peak RSS (MiB)',
                      'load average before pairs'):
            self.assertEqual(out.count(label), 2, label + ':\n' + out)
        counts = [l.split() for l in out.splitlines() if l.startswith('rows in cache')]
        self.assertEqual([c[3:5] for c in counts], [[str(ROWS), str(ROWS)]] * 2, out)

    def test_ratios_withheld_under_load(self):
        r = bench('--sources', 'file', '--max-load', '-1')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.count('ratio withheld'), 2, r.stdout)
        self.assertNotRegex(r.stdout, r'ratio [0-9]')
        self.assertNotIn('http source', r.stdout)


class BenchHttpScaleSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        h.require_binary()
        if not shutil.which('wrk') or not (shutil.which('nginx')
                                           or os.access('/usr/sbin/nginx', os.X_OK)):
            raise unittest.SkipTest('needs wrk and nginx')

    def test_scale_cases_report_beside_nginx(self):
        cmd = [os.path.join(h.REPO, 'bench', 'http'), '--bin', h.sheetsync_binary(),
               '--cases', 'idle,streams,history', '--idle', '200', '--streams', '200',
               '--history-connections', '10,50', '--duration', '1s', '--rounds', '1',
               '--warmup', '0', '--settle', '0.2']
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = r.stdout
        # Memory: a figure per connection for both servers, the target beside it.
        per_conn = re.findall(r'^RSS growth per connection \(KiB\)\s+(-?[0-9.]+)\s+(-?[0-9.]+)\s+'
                              r'sheetsync target <= ([12]) KiB$', out, re.M)
        self.assertEqual([t for _, _, t in per_conn], ['1', '2'], out)
        for ss, _, _ in per_conn:
            # Not a MiB each (nor a drop): a figure, not a claim about its size.
            self.assertTrue(0 <= float(ss) < 1024, out)
        self.assertIn('idle: 200 connections', out)
        self.assertIn('streams: 200 connections', out)
        self.assertEqual(len(re.findall(r'load average [0-9.]+ before', out)), 3, out)
        self.assertEqual(out.count('server CPU while opening (s)'), 2, out)
        # History: requests/s of both at each count, the ratio and the 2 s count.
        for c in (10, 50):
            self.assertRegex(out, r'c%d requests/s, median\s+[0-9]+\s+[0-9]+\s+ratio [0-9.]+ '
                                  r'\(target >= 1.00\)' % c)
            self.assertRegex(out, r'c%d requests over 2 s, all rounds\s+[0-9]+\s+[0-9]+' % c)
            self.assertRegex(out, r'c%d errors, all rounds\s+[0-9]+ of [1-9][0-9]* ' % c)


if __name__ == '__main__':
    h.main()
