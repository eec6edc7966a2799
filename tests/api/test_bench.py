#!/usr/bin/env python3
"""Smoke test of the benchmark script (bench/run) on a 100k-row sheet: it runs both sources end to
end and reports what it must (load average, wall and CPU of both sides, ratios, rows/s, peak RSS,
row counts), and withholds the ratios on a loaded machine unless --allow-load. No timing is
asserted; curl, sqlite3 and GNU time are needed (no wrk, no nginx). The sheet is kept next to the
binary (bench-smoke/), so only the first run generates it. Run:
  python3 tests/api/test_bench.py [-v]
"""

import os
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


if __name__ == '__main__':
    h.main()
