#!/usr/bin/env python3
"""Fail closed (issue #16 §1): a part of the storage that regsweep cannot read (a folder or file
it may not open or list) or will not follow (a symbolic link, which the registry does follow)
makes every sweep refuse, and the read-only commands say so.

Each case is a copy of the sample fixture (written by the real registry) with one blind spot:

- unreadable: mode 000, or 0311 (enter but not list), at every level of the layout, with the
  tree owned by an unprivileged user who runs regsweep (setpriv; root would read through any
  mode);
- symlink: a repository, _manifests, revisions, tags or a blob prefix folder moved out of the
  root and linked back (the registry follows the link and serves through it), regsweep as root.

For every case: `gc`, `gc -m` and `prune --untagged` exit 3 naming the path, `fsck` exits 4
naming it, `report --json` has a note naming it, `ls` says it is incomplete (never "no
repositories"); the tree is byte-identical afterwards, and the real registry (as root) serves
every tag it served before, each pulling completely. Also: `rm` in a readable repository goes
on and says why; `rm` inside the unreadable part and `apply` of a gc plan made before the
damage refuse. TAP; REGSWEEP = the binary."""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import clock  # noqa: E402
import regtest as rt  # noqa: E402
import tap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.abspath(os.path.join(HERE, "..", "..", "fixtures"))
V2 = "docker/registry/v2"
REFUSED, PROBLEMS = 3, 4
NOBODY = 65534  # runs regsweep where permissions matter; owns those trees
APP = f"{V2}/repositories/team/app"

# team/app:latest's manifest (from fixtures/sample.expected.json): its prefix folder, blob folder
# and revision are blind spots below.
LATEST = json.load(open(os.path.join(FIXTURES, "sample.expected.json")))["api"]["repositories"]["team/app"]["tags"]["latest"]["digest"]
HEX = LATEST.split(":", 1)[1]

UNREADABLE = [  # (name, path below the root, mode)
    ("repositories", f"{V2}/repositories", 0o000),
    ("repositories-unlistable", f"{V2}/repositories", 0o311),
    ("folder-of-repositories", f"{V2}/repositories/team", 0o000),
    ("repository", f"{V2}/repositories/library/alpine", 0o000),
    ("manifests", f"{APP}/_manifests", 0o000),
    ("revisions", f"{APP}/_manifests/revisions", 0o000),
    ("revisions-sha256-unlistable", f"{APP}/_manifests/revisions/sha256", 0o311),
    ("revision-link", f"{APP}/_manifests/revisions/sha256/{HEX}/link", 0o000),
    ("tags", f"{APP}/_manifests/tags", 0o000),
    ("tag", f"{APP}/_manifests/tags/latest", 0o000),
    ("layers", f"{APP}/_layers", 0o000),
    ("layers-sha256", f"{APP}/_layers/sha256", 0o000),
    ("blobs", f"{V2}/blobs", 0o000),
    ("blobs-sha256-unlistable", f"{V2}/blobs/sha256", 0o311),
    ("blob-prefix", f"{V2}/blobs/sha256/{HEX[:2]}", 0o000),
    ("blob-folder", f"{V2}/blobs/sha256/{HEX[:2]}/{HEX}", 0o000),
]
SYMLINKED = [  # (name, folder moved out of the root and linked back)
    ("repository", f"{V2}/repositories/library/alpine"),
    ("manifests", f"{APP}/_manifests"),
    ("revisions", f"{APP}/_manifests/revisions"),
    ("tags", f"{APP}/_manifests/tags"),
    ("blob-prefix", f"{V2}/blobs/sha256/{HEX[:2]}"),
]
# --force: the other suites' registries run beside this one; an unprivileged regsweep that cannot
# read a registry's config counts it as maybe serving this root. What is checked here is the
# refusal for what the walk cannot see, which --force never overrides.
SWEEPS = [("gc", "-y", "--force", "--min-age", "0s"), ("gc", "-y", "--force", "-m", "--min-age", "0s"), ("gc", "--dry-run"),
          ("prune", "-y", "--force", "--untagged", "--match", "^none$")]


class FailClosed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="regsweep-failclosed-")
        os.chmod(cls.tmp, 0o755)  # the unprivileged user must reach the trees
        cls.base = clock.unpack_fixture(os.path.join(FIXTURES, "sample.tar.gz"), os.path.join(cls.tmp, "base"))
        cls.base_served, broken = rt.served_tags(cls.base)
        assert not broken, broken
        assert "team/app:latest" in cls.base_served and "library/alpine:3.19" in cls.base_served, cls.base_served
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        for d, dirs, _ in os.walk(cls.tmp):
            for x in dirs:
                if not os.path.islink(os.path.join(d, x)):
                    os.chmod(os.path.join(d, x), 0o755)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def copy(self, name):
        FailClosed.n += 1
        case = os.path.join(self.tmp, f"{FailClosed.n}-{name}")
        os.makedirs(case)
        return rt.copy_tree(self.base, os.path.join(case, "root"))

    # --- what every case checks -----------------------------------------------------------

    def check_blind(self, root, blind, uid=None):
        """Every sweep refuses naming `blind`; fsck, report and ls say it; nothing changes."""
        before = rt.tree_snapshot_excluding(root)
        for args in SWEEPS:
            with self.subTest(command=" ".join(args)):
                p = rt.run_regsweep(root, *args, uid=uid)
                self.assertEqual(p.returncode, REFUSED, rt.show_run(p))
                self.assertIn(blind, p.stderr)
                self.assertIn("nothing was changed", p.stderr)
        with self.subTest(command="fsck"):
            p = rt.run_regsweep(root, "fsck", uid=uid)
            self.assertEqual(p.returncode, PROBLEMS, rt.show_run(p))
            self.assertIn(blind, p.stdout + p.stderr)
        with self.subTest(command="fsck --repair -y"):
            p = rt.run_regsweep(root, "fsck", "--repair", "-y", "--force", uid=uid)
            self.assertIn(p.returncode, (REFUSED, PROBLEMS), rt.show_run(p))
        with self.subTest(command="report --json"):
            p = rt.run_regsweep(root, "--json", "report", uid=uid)
            self.assertEqual(p.returncode, 0, rt.show_run(p))
            notes = json.loads(p.stdout)["notes"]
            self.assertTrue(any(blind in n and "could not be read" in n for n in notes), notes)
        with self.subTest(command="ls"):
            p = rt.run_regsweep(root, "ls", uid=uid)
            self.assertEqual(p.returncode, 0, rt.show_run(p))
            self.assertNotIn("no repositories", p.stdout)
            self.assertIn("could not be read", p.stdout)
            self.assertIn(blind, p.stderr)
        self.assertEqual(rt.format_diff(rt.diff_snapshots(before, rt.tree_snapshot_excluding(root))),
                         rt.format_diff(rt.diff_snapshots(before, before)), "the tree changed")

    def check_served(self, root):
        now, broken = rt.served_tags(root)
        self.assertEqual(now, self.base_served, "the registry serves other tags than before")
        self.assertEqual(broken, {}, "tags that no longer pull completely")

    # --- cases ----------------------------------------------------------------------------

    def unreadable_case(self, name, rel, mode):
        root = self.owned_copy(name)
        target = os.path.join(root, rel)
        os.chmod(target, mode)
        try:
            self.check_blind(root, rel, uid=NOBODY)
        finally:
            os.chmod(target, 0o755 if os.path.isdir(target) else 0o644)
        self.check_served(root)

    def symlink_case(self, name, rel):
        root = self.copy(name)
        outside = os.path.join(os.path.dirname(root), "outside", os.path.basename(rel))
        os.makedirs(os.path.dirname(outside))
        os.rename(os.path.join(root, rel), outside)
        os.symlink(outside, os.path.join(root, rel))
        self.check_served(root)  # the registry follows the link: everything is served through it
        self.check_blind(root, rel)
        self.check_served(root)

    # --- rm, apply --------------------------------------------------------------------------

    def owned_copy(self, name):
        root = self.copy(name)
        for d, dirs, files in os.walk(os.path.dirname(root)):
            for x in [d] + [os.path.join(d, f) for f in files]:
                os.chown(x, NOBODY, NOBODY, follow_symlinks=False)
        return root

    def test_rm_in_a_readable_repository_goes_on(self):
        """library/alpine unreadable: rm of team/app:v1 goes on (exit 0), says why, and removes the tag"""
        root = self.owned_copy("rm")
        blind = os.path.join(root, V2, "repositories/library/alpine")
        os.chmod(blind, 0)
        try:
            p = rt.run_regsweep(root, "rm", "-y", "--force", "team/app:v1", uid=NOBODY)
            self.assertEqual(p.returncode, 0, rt.show_run(p))
            self.assertIn("rm goes on", p.stderr)
            self.assertFalse(os.path.exists(os.path.join(root, APP, "_manifests/tags/v1")))
        finally:
            os.chmod(blind, 0o755)

    def test_rm_and_prune_inside_the_unreadable_part_refuse(self):
        """tag team/app:latest unreadable: rm of a team/app digest and prune of team/app refuse (exit 3) naming it; nothing moves"""
        root = self.owned_copy("rm-inside")
        blind = f"{APP}/_manifests/tags/latest"
        os.chmod(os.path.join(root, blind), 0)
        try:
            before = rt.tree_snapshot_excluding(root)
            for args in (("rm", "-y", "--force", "team/app@" + self.base_served["team/app:v1"]),
                         ("prune", "-y", "--force", "--repo", "team/app", "--match", "^v1$", "--no-default-keep")):
                with self.subTest(command=args[0]):
                    p = rt.run_regsweep(root, *args, uid=NOBODY)
                    self.assertEqual(p.returncode, REFUSED, rt.show_run(p))
                    self.assertIn(blind, p.stderr)
            self.assertEqual(rt.tree_snapshot_excluding(root), before)
        finally:
            os.chmod(os.path.join(root, blind), 0o755)

    def test_apply_of_a_gc_plan_made_before_the_damage(self):
        """gc --plan-out on the intact tree, then a repository becomes a symlink: apply refuses (exit 3), nothing moves"""
        root = self.copy("apply")
        plan = os.path.join(os.path.dirname(root), "plan.json")
        p = rt.run_regsweep(root, "rm", "-y", "team/app:v1")
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        p = rt.run_regsweep(root, "gc", "--min-age", "0s", "--plan-out", plan)
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        rel = f"{V2}/repositories/library/alpine"
        outside = os.path.join(os.path.dirname(root), "alpine")
        os.rename(os.path.join(root, rel), outside)
        os.symlink(outside, os.path.join(root, rel))
        before = rt.tree_snapshot_excluding(root)
        p = rt.run_regsweep(root, "apply", plan, "-y")
        self.assertEqual(p.returncode, REFUSED, rt.show_run(p))
        self.assertIn(rel, p.stderr)
        self.assertEqual(rt.tree_snapshot_excluding(root), before)


def _add(cls, name, fn):
    fn.__name__ = name
    setattr(cls, name, fn)


for _name, _rel, _mode in UNREADABLE:
    _add(FailClosed, f"test_unreadable_{_name.replace('-', '_')}",
         lambda self, n=_name, r=_rel, m=_mode: self.unreadable_case(n, r, m))
for _name, _rel in SYMLINKED:
    _add(FailClosed, f"test_symlink_{_name.replace('-', '_')}", lambda self, n=_name, r=_rel: self.symlink_case(n, r))


if __name__ == "__main__":
    rt.require_binary()
    rt.require_root("the fail-closed suite needs root (it runs regsweep as an unprivileged user with setpriv)")
    tap.main()
