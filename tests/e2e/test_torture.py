#!/usr/bin/env python3
"""Crash torture: regsweep killed by SIGKILL (REGSWEEP_TEST_CRASH_AFTER=N, test builds only) after
each of its mutations in `rm` of several references, `gc -m --trash`, `prune --untagged`, `apply`
(a plan from rm --plan-out), `restore` (of a completed rm run) and `trash empty`, on copies of the
sample tree written by the real registry. After each kill (tests/lib/crashloop.py): the kept tags
are intact and served, the same command again finishes with the uninterrupted run's tree, audit
and trash account for every removed item, and restore of the interrupted run gives back the
original tree. TAP; REGSWEEP = the binary; prints '# kill points: ...'."""
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import clock  # noqa: E402
import crashloop as cl  # noqa: E402
import regtest as rt  # noqa: E402
import tap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.abspath(os.path.join(HERE, "..", "..", "fixtures"))
RM_REFS = ["team/app:v1", "library/alpine:3.19", "team/app/sub:multi"]
MIN_TOTAL = 50


log = tap.logger("e2e-torture")


class Torture(unittest.TestCase):
    results = []

    @classmethod
    def setUpClass(cls):
        cls.t0 = time.monotonic()
        cls.tmp = tempfile.mkdtemp(prefix="regsweep-torture-")
        cls.base = clock.unpack_fixture(os.path.join(FIXTURES, "sample.tar.gz"), os.path.join(cls.tmp, "base"))
        cls.base_snap = rt.tree_snapshot(cls.base)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def derived(self, name, *commands):
        """A base tree: a copy of the sample after the given (completed) commands."""
        root = rt.copy_tree(self.base, os.path.join(self.tmp, name))
        for c in commands:
            p = rt.run_regsweep(root, *c)
            self.assertEqual(p.returncode, 0, rt.show_run(p))
        return root

    def torture(self, spec):
        res = cl.run(spec, log=log)
        Torture.results.append(res)
        self.assertEqual(res.ref_problem, "", res.ref_problem)
        if not res.hooks:
            self.skipTest(f"{rt.CRASH_ENV} had no effect: regsweep built without -Dtest_hooks=true")
        self.assertGreater(res.tried, 0)
        self.assertFalse(res.failures, f"{spec.name}: {res.passed}/{res.tried} kill points passed\n"
                         + cl.format_failures(res))
        self.assertEqual(res.passed, res.tried)
        if spec.restore:
            self.assertEqual(res.restored, res.tried)
        self.assertEqual(res.served, res.tried)  # the registry served the tree at every kill point
        return res

    def spec(self, name, args, base=None, **kw):
        return cl.Spec(name=name, args=list(args), base=base or self.base, scratch=self.tmp, **kw)

    def test_1_rm(self):
        """rm of several references (tag, multi-arch index, docker manifest list; referrers follow) killed at every mutation"""
        self.torture(self.spec("rm", ["rm", "-y", *RM_REFS]))

    def test_2_gc(self):
        """gc -m --trash (delete untagged, blobs and uploads into the trash) killed at every mutation"""
        self.torture(self.spec("gc", ["gc", "-y", "-m", "--trash", "--min-age", "0s", "--uploads-older-than", "0s"]))

    def test_3_prune(self):
        """prune --untagged --keep-last 1 killed at every mutation"""
        self.torture(self.spec("prune", ["prune", "-y", "--repo", "**", "--keep-last", "1", "--untagged"]))

    def test_4_apply(self):
        """apply of a plan written by rm --plan-out killed at every mutation"""
        plan = os.path.join(self.tmp, "plan.json")
        p = rt.run_regsweep(self.base, "rm", "team/app:v1", "library/alpine:latest", "team/app/sub:1.0",
                            "--plan-out", plan)
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        self.assertEqual(rt.tree_snapshot(self.base), self.base_snap, "--plan-out wrote into the tree")
        self.torture(self.spec("apply", ["apply", plan, "-y"]))

    def test_5_restore(self):
        """restore of a completed rm run killed at every mutation: re-running restore gives back the original tree"""
        base = self.derived("after-rm", ["rm", "-y", *RM_REFS])
        rid = rt.trash_runs(base)[-1]["run"]
        original = rt.tree_snapshot_with_mtimes(self.base)

        def back_to_original(root, n):
            got = rt.tree_snapshot_with_mtimes(root)
            return [] if got == original else ["not the original tree:\n" + cl.diff_text(original, got)]
        res = self.torture(self.spec("restore", ["restore", rid, "-y"], base=base, restore=False,
                                     extra_check=back_to_original))
        if res.known:
            sys.stdout.write(f"# known defect at {len(res.known)} of {res.tried} restore kill points: the re-run of "
                             f"'restore RUN' finishes the interrupted restore in its recovery, then refuses "
                             f"'the run was restored already' (exit 3); the tree is the original at each\n")

    def test_6_trash_empty(self):
        """trash empty of two runs (rm, gc -m --trash) killed at every mutation: re-running finishes, folders gone, storage unchanged"""
        base = self.derived("after-rm-gc", ["rm", "-y", *RM_REFS],
                            ["gc", "-y", "-m", "--trash", "--min-age", "0s", "--uploads-older-than", "0s"])
        rids = [r["run"] for r in rt.trash_runs(base)]
        self.assertEqual(len(rids), 2)

        def emptied(root, n):
            out = []
            for rid in rids:
                if os.path.exists(os.path.join(root, ".regsweep", "trash", rid)):
                    out.append(f"trash folder of {rid} still there")
                lines = [a for a in rt.read_audit(root) if a.get("action") == "empty-trash" and a.get("run") == rid]
                if len(lines) != 1:
                    out.append(f"{len(lines)} empty-trash audit lines for {rid}")
            return out
        self.torture(self.spec("trash-empty", ["trash", "empty", "-y"], base=base, restore=False,
                               accounting=False, storage_unchanged=True, extra_check=emptied))

    def test_7_total(self):
        """at least 50 kill points in all, each a real SIGKILL, all passed; the base tree was never written"""
        sys.stdout.write(cl.report(Torture.results) + f" in {time.monotonic() - self.t0:.0f}s\n")
        sys.stdout.flush()
        self.assertEqual(rt.tree_snapshot(self.base), self.base_snap)
        if Torture.results and not any(r.hooks for r in Torture.results):
            self.skipTest(f"{rt.CRASH_ENV} had no effect: regsweep built without -Dtest_hooks=true")
        tried = sum(r.tried for r in Torture.results)
        passed = sum(r.passed for r in Torture.results)
        self.assertGreaterEqual(tried, MIN_TOTAL)
        self.assertEqual(passed, tried)
        self.assertFalse(rt.registries_running(), "a registry was left running")


def main():
    rt.require_binary()
    rt.require_tools(rt.registry_bin())
    tap.main()


if __name__ == "__main__":
    main()
