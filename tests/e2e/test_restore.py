#!/usr/bin/env python3
"""Undo: every mutating command's run can be restored to the tree it found, byte for byte
(paths, contents, file mtimes), and the real registry then serves every tag again; restore
refuses conflicts (a tag pushed again) unless --keep-newer, and links whose blobs were swept for
good; --force means only "go on although a registry appears to serve this storage"; `trash ls` / `trash empty` show and free exactly the bytes held. Trees are copies of
the sample fixture, written by the real registry. TAP; REGSWEEP = the binary."""
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import clock  # noqa: E402
import regtest as rt  # noqa: E402
import tap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.abspath(os.path.join(HERE, "..", "..", "fixtures"))
REFUSED = 3


def run_json(root, *args):
    p = rt.run_regsweep(root, *args, "--json")
    return p, (json.loads(p.stdout) if p.stdout.strip().startswith("{") else None)


class Restore(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = rt.Workspace("regsweep-restore-")
        cls.tmp = cls.ws.tmp
        cls.base = clock.unpack_fixture(os.path.join(FIXTURES, "sample.tar.gz"), cls.ws.root)
        cls.base_served, broken = rt.served_tags(cls.base)
        assert not broken, broken

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def copy(self):
        return self.ws.copy("t")

    def last_run(self, root):
        return rt.trash_runs(root)[-1]

    def round_trip(self, *command, plan_file=None):
        root = self.copy()
        before = rt.tree_snapshot_with_mtimes(root)
        if plan_file:
            p = rt.run_regsweep(root, *command[:-1], "--plan-out", os.path.join(root, "..", plan_file))
            self.assertEqual(p.returncode, 0, rt.show_run(p))
            command = ("apply", os.path.join(root, "..", plan_file), "-y")
        p = rt.run_regsweep(root, *command)
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        self.assertNotEqual(rt.tree_snapshot_with_mtimes(root), before, f"{command} changed nothing")
        r = self.last_run(root)
        self.assertEqual(r["status"], "complete")
        self.assertGreater(r["items"], 0)
        dry = rt.run_regsweep(root, "restore", r["run"], "--dry-run")
        self.assertEqual(dry.returncode, 0, rt.show_run(dry))
        self.assertIn("would restore", dry.stdout)
        rp = rt.run_regsweep(root, "restore", r["run"], "-y")
        self.assertEqual(rp.returncode, 0, rt.show_run(rp))
        diff = rt.diff_snapshots(before, rt.tree_snapshot_with_mtimes(root))
        self.assertEqual(rt.tree_snapshot_with_mtimes(root), before, rt.format_diff(diff))
        tags, broken = rt.served_tags(root)
        self.assertEqual((tags, broken), (self.base_served, {}))
        # the original run now says it was restored; restoring it again is refused
        runs = {x["run"]: x for x in run_json(root, "trash", "ls")[1]["runs"]}
        self.assertEqual(runs[r["run"]]["status"], "restored")
        self.assertEqual(rt.run_regsweep(root, "restore", r["run"], "-y").returncode, REFUSED)
        return root

    def test_round_trip_rm_several_references(self):
        """rm of several references (a tag, a multi-arch index by tag, a digest), then restore"""
        self.round_trip("rm", "-y", "team/app:v1", "library/alpine:3.19", "team/app/sub:multi")

    def test_round_trip_rm_repository(self):
        """rm --repository, then restore"""
        self.round_trip("rm", "-y", "--repository", "team/app/sub")

    def test_round_trip_rm_untag(self):
        """rm --untag, then restore"""
        self.round_trip("rm", "-y", "--untag", "team/app:latest")

    def test_round_trip_gc_m_trash(self):
        """gc -m --trash (blobs kept in the trash), then restore"""
        self.round_trip("gc", "-y", "-m", "--trash", "--min-age", "0s", "--uploads-older-than", "0s")

    def test_round_trip_prune(self):
        """prune --untagged, then restore"""
        self.round_trip("prune", "-y", "--repo", "**", "--keep-last", "1", "--untagged")

    def test_round_trip_apply(self):
        """a plan written by rm --plan-out and run by apply, then restore"""
        self.round_trip("rm", "team/app:v1", "library/alpine:latest", "-y", plan_file="plan.json")

    def test_round_trip_fsck_repair(self):
        """fsck --repair of a garbage link, then restore gives the damage back exactly"""
        root = self.copy()
        link = os.path.join(root, "docker/registry/v2/repositories/team/app/_manifests/tags/v1/current/link")
        with open(link, "w") as f:
            f.write("garbage")
        before = rt.tree_snapshot_with_mtimes(root)
        p = rt.run_regsweep(root, "fsck", "--repair", "-y")
        self.assertIn(p.returncode, (0, 4), rt.show_run(p))
        self.assertFalse(os.path.exists(link))
        r = self.last_run(root)
        self.assertEqual(r["command"], "fsck")
        self.assertEqual(rt.run_regsweep(root, "restore", r["run"], "-y").returncode, 0)
        self.assertEqual(rt.tree_snapshot_with_mtimes(root), before)

    def test_gc_without_trash_cannot_be_restored(self):
        """gc without --trash deletes blobs for good: restoring its links would break tags, so restore refuses (exit 3) and changes nothing"""
        root = self.copy()
        p = rt.run_regsweep(root, "rm", "-y", "team/app:v1", "team/app:latest")
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        rm_run = self.last_run(root)["run"]
        p, doc = run_json(root, "gc", "-y", "--min-age", "0s")
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        self.assertGreater(doc["result"]["bytes_freed"], 0)
        self.assertEqual(doc["result"]["bytes_in_trash"], 0)
        before = rt.tree_snapshot_with_mtimes(root)
        p = rt.run_regsweep(root, "restore", rm_run, "-y")
        self.assertEqual(p.returncode, REFUSED, rt.show_run(p))
        self.assertIn("gone", p.stderr)
        self.assertEqual(rt.tree_snapshot_with_mtimes(root), before)

    def test_gc_with_trash_then_rm_restore_both(self):
        """rm, then gc --trash: restoring the gc run then the rm run gives the original tree"""
        root = self.copy()
        before = rt.tree_snapshot_with_mtimes(root)
        self.assertEqual(rt.run_regsweep(root, "rm", "-y", "team/app:v1", "team/app:latest").returncode, 0)
        rm_run = self.last_run(root)["run"]
        p, doc = run_json(root, "gc", "-y", "--trash", "--min-age", "0s")
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        self.assertGreater(doc["result"]["bytes_in_trash"], 0)
        gc_run = doc["result"]["run"]
        self.assertEqual(rt.run_regsweep(root, "restore", rm_run, "-y").returncode, REFUSED)  # its blobs are in gc's trash
        self.assertEqual(rt.run_regsweep(root, "restore", gc_run, "-y").returncode, 0)
        self.assertEqual(rt.run_regsweep(root, "restore", rm_run, "-y").returncode, 0)
        self.assertEqual(rt.tree_snapshot_with_mtimes(root), before)

    def test_conflict_after_a_re_push(self):
        """rm a tag, push it again (skopeo copy), restore: exit 3 naming the tag and --keep-newer; --force is not
        --keep-newer; --keep-newer keeps the new tag and restores the rest"""
        root = self.copy()
        self.assertEqual(rt.run_regsweep(root, "rm", "-y", "team/app:v1", "library/alpine:3.19").returncode, 0)
        rm_run = self.last_run(root)["run"]
        with rt.Registry(root) as reg:
            new_digest = reg.manifest_digest("team/app/sub", "1.0")
            subprocess.run([rt.skopeo_bin(), "copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false",
                            f"docker://{reg.host}/team/app/sub:1.0", f"docker://{reg.host}/team/app:v1"],
                           check=True, capture_output=True, timeout=120)
        before = rt.tree_snapshot_with_mtimes(root)
        p = rt.run_regsweep(root, "restore", rm_run, "-y")
        self.assertEqual(p.returncode, REFUSED, rt.show_run(p))
        self.assertIn("team/app/_manifests/tags/v1", p.stderr)
        self.assertIn("--keep-newer", p.stderr)
        self.assertEqual(rt.tree_snapshot_with_mtimes(root), before)
        p = rt.run_regsweep(root, "restore", rm_run, "-y", "--force")  # only about a live registry
        self.assertEqual(p.returncode, REFUSED, rt.show_run(p))
        self.assertEqual(rt.tree_snapshot_with_mtimes(root), before)
        p = rt.run_regsweep(root, "restore", rm_run, "-y", "--keep-newer")
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        tags, broken = rt.served_tags(root)
        self.assertEqual(broken, {})
        self.assertEqual(tags["team/app:v1"], new_digest)  # the newer one was kept
        self.assertEqual(tags["library/alpine:3.19"], self.base_served["library/alpine:3.19"])

    def test_live_registry_refused_and_force_goes_on(self):
        """restore while a registry serves the root: exit 3 naming it, with a hint (--force) that restore
        accepts; nothing moves; restore --force then puts everything back"""
        root = self.copy()
        before = rt.tree_snapshot_with_mtimes(root)
        self.assertEqual(rt.run_regsweep(root, "rm", "-y", "team/app:v1").returncode, 0)
        rm_run = self.last_run(root)["run"]
        after_rm = rt.tree_snapshot_with_mtimes(root)
        with rt.serve(root) as reg:
            p = rt.run_regsweep(root, "restore", rm_run, "-y")
            self.assertEqual(p.returncode, REFUSED, rt.show_run(p))
            self.assertIn(f"pid {reg.proc.pid}", p.stderr)
            self.assertIn("use --force", p.stderr)
            self.assertEqual(rt.tree_snapshot_with_mtimes(root), after_rm)
            p = rt.run_regsweep(root, "restore", rm_run, "-y", "--force")
            self.assertEqual(p.returncode, 0, rt.show_run(p))
        self.assertEqual(rt.tree_snapshot_with_mtimes(root), before)

    def test_trash_ls_counts_a_killed_run_and_recovery_leaves_no_empty_run(self):
        """a run killed after moving two items: trash ls says 2 items, running; the next command finishes it
        and leaves no empty "complete, 0 items" run of its own"""
        root = self.copy()
        # mutations: journal, rename, audit per item: killed right after the second rename
        p = rt.run_regsweep(root, "rm", "-y", "team/app:v1", "team/app/sub:1.0", "library/alpine:3.19", env={rt.CRASH_ENV: "5"})
        self.assertEqual(p.returncode, -9, rt.show_run(p))
        p, doc = run_json(root, "trash", "ls")
        self.assertEqual([(r["status"], r["items"]) for r in doc["runs"]], [("running", 2)], rt.show_run(p))
        killed = doc["runs"][0]["run"]
        text = rt.run_regsweep(root, "trash", "ls").stdout
        self.assertIn("running: ", text)
        p = rt.run_regsweep(root, "gc", "-y", "--min-age", "1000d")  # nothing of its own to sweep
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        self.assertIn(f"finishing run {killed}", p.stderr)
        self.assertIn("nothing was removed", p.stdout)
        runs = run_json(root, "trash", "ls")[1]["runs"]
        self.assertEqual([(r["run"], r["status"]) for r in runs], [(killed, "complete")])
        self.assertGreaterEqual(runs[0]["items"], 3)

    def test_plain_gc_does_not_say_blobs_are_kept(self):
        """after a gc without --trash, the summary says the blobs were deleted for good, never that the removed
        items are kept in the trash"""
        root = self.copy()
        self.assertEqual(rt.run_regsweep(root, "rm", "-y", "team/app:v1", "team/app:latest").returncode, 0)
        p = rt.run_regsweep(root, "gc", "-y", "--min-age", "0s")
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        self.assertNotIn("removed items are kept", p.stdout)
        self.assertRegex(p.stdout, r"\d+ blob folder\(s\) were deleted for good")
        p = rt.run_regsweep(root, "gc", "-y", "--min-age", "0s", "-m", "--trash")
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        self.assertNotIn("deleted for good", p.stdout)
        self.assertIn("removed items are kept in .regsweep/trash/", p.stdout)

    def test_trash_empty_frees_exactly_the_bytes_reported(self):
        """trash ls reports bytes per run; trash empty frees exactly that (du of the root before/after)"""
        root = self.copy()
        self.assertEqual(rt.run_regsweep(root, "rm", "-y", "team/app:v1").returncode, 0)
        p, doc = run_json(root, "gc", "-y", "-m", "--trash", "--min-age", "0s")
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        runs = self.last_run(root)
        held = runs["bytes"]
        self.assertGreater(held, 0)

        def du():
            return sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk(root) for f in fs
                       if not os.path.join(d, f).endswith(("audit.jsonl", os.path.join(".regsweep", "lock"))))
        text = rt.run_regsweep(root, "trash", "ls")
        self.assertIn(runs["run"], text.stdout)
        dry = rt.run_regsweep(root, "trash", "empty", runs["run"], "--dry-run")
        self.assertEqual(dry.returncode, 0, rt.show_run(dry))
        size0 = du()
        p, doc = run_json(root, "trash", "empty", runs["run"], "-y")
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        self.assertEqual(doc["bytes_freed"], held)
        self.assertEqual(size0 - du(), held)
        self.assertFalse(os.path.exists(os.path.join(root, ".regsweep", "trash", runs["run"])))
        # the audit log says so, and the emptied run is gone from the list
        audit = [json.loads(line) for line in open(os.path.join(root, ".regsweep", "audit.jsonl"))]
        self.assertTrue(any(a["action"] == "empty-trash" and a["run"] == runs["run"] and a["bytes"] == held for a in audit))
        self.assertNotIn(runs["run"], [x["run"] for x in run_json(root, "trash", "ls")[1]["runs"]])
        # the registry still serves everything but the deleted tag
        tags, broken = rt.served_tags(root)
        self.assertEqual(broken, {})
        self.assertNotIn("team/app:v1", tags)

    def test_trash_empty_older_than(self):
        """trash empty --older-than keeps young runs; unknown run ids are errors"""
        root = self.copy()
        self.assertEqual(rt.run_regsweep(root, "rm", "-y", "team/app:v1").returncode, 0)
        p, doc = run_json(root, "trash", "empty", "--older-than", "1d", "-y")
        self.assertEqual((p.returncode, doc["emptied"]), (0, []), rt.show_run(p))
        self.assertEqual(len(run_json(root, "trash", "ls")[1]["runs"]), 1)
        self.assertEqual(rt.run_regsweep(root, "trash", "empty", "20990101T000000Z-1", "-y").returncode, 1)
        self.assertEqual(rt.run_regsweep(root, "trash", "empty", "--older-than", "soon", "-y").returncode, 2)

    def test_mount_inside_the_root_is_refused_before_anything_moves(self):
        """a tmpfs mounted inside the root (at a tag): rm of it and another tag is refused (exit 3) and nothing moves"""
        root = self.copy()
        target = os.path.join(root, "docker/registry/v2/repositories/team/app/_manifests/tags/v1")
        saved = os.path.join(self.tmp, "saved-v1")
        shutil.copytree(target, saved)
        m = subprocess.run(["mount", "-t", "tmpfs", "regsweep-test", target], capture_output=True, text=True)
        if m.returncode != 0:
            self.skipTest("this machine does not allow a mount: " + m.stderr.strip())
        try:
            shutil.copytree(saved, target, dirs_exist_ok=True)
            before = rt.tree_snapshot_with_mtimes(root)
            p = rt.run_regsweep(root, "rm", "-y", "library/alpine:latest", "team/app:v1")
            self.assertEqual(p.returncode, REFUSED, rt.show_run(p))
            self.assertIn("different filesystem", p.stderr)
            self.assertEqual(rt.tree_snapshot_with_mtimes(root), before)
            trash = os.path.join(root, ".regsweep", "trash")
            moved = [os.path.join(d, f) for d, _, fs in os.walk(trash) for f in fs if f not in ("run.json", "journal.jsonl")]
            self.assertEqual(moved, [])
        finally:
            subprocess.run(["umount", target], capture_output=True)

    def test_unknown_run(self):
        """restore of a run that is not in the trash: exit 1, naming the path"""
        root = self.copy()
        p = rt.run_regsweep(root, "restore", "20990101T000000Z-1", "-y")
        self.assertEqual(p.returncode, 1, rt.show_run(p))
        self.assertIn(".regsweep/trash/20990101T000000Z-1", p.stderr)


if __name__ == "__main__":
    tap.main()
