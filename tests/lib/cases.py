"""cases: the base class of the e2e suites' test classes.

RegsweepCase: assertExit() (a run's exit code; the run is shown when it differs) and
assertSameTree() (two snapshots equal; the difference is shown). Standard library only.
"""
from __future__ import annotations

import subprocess
import unittest

from cli import show_run
from trees import diff_snapshots, format_diff


class RegsweepCase(unittest.TestCase):
    maxDiff = None
    show_tail = 3000  # characters of stdout and stderr shown for a run

    def assertExit(self, p: subprocess.CompletedProcess, code: int):
        self.assertEqual(p.returncode, code, show_run(p, self.show_tail))

    def assertSameTree(self, before: dict, after: dict, what: str):
        d = diff_snapshots(before, after)
        if any(d.values()):
            self.fail(f"{what}:\n{format_diff(d)}")
