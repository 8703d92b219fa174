#!/usr/bin/env python3
"""Root runs leave the tree usable by the registry's user (issue #16 §7).

Debian's docker-registry runs as its own user and operators run maintenance with sudo. A copy
of the sample fixture (written by the real registry) is owned by an unprivileged user; root
runs every mutating command on it (a typo first, then rm --repository and its restore, rm,
gc --trash and both restores, prune --untagged, fsck --repair, trash empty). Afterwards every
entry under the root, .regsweep/ included, belongs to that user; the real registry run as that
user pushes a new image into every repository and into a new one, and pulls every tag; and
regsweep run as that user takes the lock and works (rm, gc). TAP; REGSWEEP = the binary."""
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
USER = 65534  # the registry's user in this test (nobody)


def not_owned(root, uid):
    """Paths below root (root included) whose owner or group is not uid."""
    out = []
    for d, dirs, files in os.walk(root):
        for p in [d] + [os.path.join(d, x) for x in files + dirs if os.path.islink(os.path.join(d, x))] + \
                [os.path.join(d, f) for f in files]:
            st = os.lstat(p)
            if (st.st_uid, st.st_gid) != (uid, uid):
                out.append(f"{os.path.relpath(p, root)} {st.st_uid}:{st.st_gid}")
    return sorted(set(out))


class RootRuns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="regsweep-ownership-")
        os.chmod(cls.tmp, 0o755)
        cls.root = clock.unpack_fixture(os.path.join(FIXTURES, "sample.tar.gz"), os.path.join(cls.tmp, "root"))
        for d, dirs, files in os.walk(cls.root):
            for p in [d] + [os.path.join(d, f) for f in files]:
                os.chown(p, USER, USER, follow_symlinks=False)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def root_run(self, *args):
        p = rt.run_regsweep(self.root, *args)
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        return p

    def last_run(self):
        return rt.trash_runs(self.root)[-1]["run"]

    def test_1_root_runs_keep_the_owner(self):
        """root's rm, restore, gc, prune, fsck --repair and trash empty create nothing the registry's user does not own"""
        p = rt.run_regsweep(self.root, "gc", "--min-age", "bogus", "-y")  # a typo: usage error
        self.assertEqual(p.returncode, 2, rt.show_run(p))
        self.root_run("rm", "-y", "--repository", "old/unused")
        self.root_run("restore", self.last_run(), "-y")
        self.assertTrue(os.path.isdir(os.path.join(self.root, "docker/registry/v2/repositories/old/unused/_manifests")))
        self.root_run("rm", "-y", "team/app:v1")
        rm_run = self.last_run()
        self.root_run("gc", "-y", "-m", "--trash", "--min-age", "0s")
        self.root_run("restore", self.last_run(), "-y")
        self.root_run("restore", rm_run, "-y")
        self.root_run("prune", "-y", "--untagged", "--repo", "library/alpine", "--match", "^none$")
        p = rt.run_regsweep(self.root, "fsck", "--repair", "-y")
        self.assertIn(p.returncode, (0, 4), rt.show_run(p))
        self.root_run("trash", "empty", "-y")
        self.assertEqual(not_owned(self.root, USER), [])

    def test_2_the_registrys_user_pushes_everywhere(self):
        """the registry, run as that user, pushes a new image into every repository and a new one, and pulls every tag"""
        img = rt.image([rt.layer({"hello": b"pushed after root's maintenance\n"})])
        with rt.Registry(self.root, uid=USER) as reg:
            repos = reg.catalog()
            self.assertIn("team/app", repos)
            for repo in repos + ["e/other"]:
                with self.subTest(repo=repo):
                    reg.push_manifest(repo, img, "after-maintenance")
                    self.assertEqual(reg.manifest_digest(repo, "after-maintenance"), img.digest)
            self.assertEqual(rt.pull_every_tag(reg), {})

    def test_3_regsweep_as_that_user(self):
        """regsweep run as that user takes the lock and works: rm, then gc"""
        # --force: other suites' registries run beside this one, and a config this user cannot
        # read may serve this root; what is checked here is the lock and the writes.
        for args in (("rm", "-y", "--force", "e/other:after-maintenance"), ("gc", "-y", "--force", "--min-age", "0s")):
            p = rt.run_regsweep(self.root, *args, uid=USER)
            self.assertEqual(p.returncode, 0, rt.show_run(p))


if __name__ == "__main__":
    rt.require_binary()
    rt.require_root("the ownership suite needs root (root runs regsweep; the registry runs as another user)")
    tap.main()
