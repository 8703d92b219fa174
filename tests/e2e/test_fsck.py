#!/usr/bin/env python3
"""fsck against the real registry's record of each damaged fixture and against a running
registry: the tags fsck calls broken are exactly the ones the registry cannot serve
completely; --verify finds a flipped byte in a layer and names the tags it breaks;
--repair changes only what it lists, after which the registry serves every tag fsck called
intact and its own garbage-collect runs to completion. TAP; REGSWEEP = the binary."""
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
PROBLEMS = 4  # fsck's documented exit code


def damaged():
    with open(os.path.join(FIXTURES, "damaged.json"), encoding="utf-8") as f:
        return json.load(f)["fixtures"]


def fsck(root, *args, **kw):
    p = rt.run_regsweep(root, "fsck", "--json", *args, **kw)
    try:
        doc = json.loads(p.stdout) if p.stdout.strip() else None
    except json.JSONDecodeError:
        doc = None
    return p, doc


def broken(doc):
    return sorted(f"{t['repository']}:{t['tag']}" for t in doc["tags"] if not t["intact"])


def intact(doc):
    return sorted(f"{t['repository']}:{t['tag']}" for t in doc["tags"] if t["intact"])


def serve_and_check(test, root, expect_intact):
    """Every tag in expect_intact pulls completely from a registry serving root; then the
    registry's own garbage-collect (not a dry run) completes."""
    with rt.Registry(root) as reg:
        for ref in expect_intact:
            repo, tag = ref.rsplit(":", 1)
            test.assertEqual(reg.pull_all(repo, tag), [], ref)
        config = reg.config_path
    gc = rt.garbage_collect(config, dry_run=False, check=False)
    test.assertEqual(gc.returncode, 0, gc.output[-2000:])


class Fsck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="regsweep-fsck-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def fixture(self, name, suffix=""):
        return clock.unpack_fixture(os.path.join(FIXTURES, name + ".tar.gz"), os.path.join(self.tmp, name + suffix))

    def test_clean_fixtures_exit_0(self):
        """sample and clean: no problem, every tag intact, exit 0"""
        for name in ("sample", "clean"):
            with self.subTest(name):
                p, doc = fsck(self.fixture(name))
                self.assertEqual(p.returncode, 0, rt.show_run(p))
                self.assertTrue(doc["clean"])
                self.assertEqual(broken(doc), [])
                self.assertGreater(len(doc["tags"]), 0)

    def test_damaged_fixtures_match_the_registry(self):
        """each damaged fixture: the finding at its path, exit 4, and broken tags == the tags the real registry could not serve"""
        for fx in damaged():
            with self.subTest(fx["name"]):
                root = self.fixture(fx["name"])
                before = rt.tree_snapshot(root)
                p, doc = fsck(root)
                self.assertEqual(p.returncode, PROBLEMS, rt.show_run(p))
                kinds = {(q["kind"], os.path.relpath(q["path"], root)) for q in doc["problems"]}
                accept = {fx["kind"], *fx.get("also_acceptable", [])}
                if fx["kind"] == "unexpected-file":
                    accept.add("temp-file")  # the fixture's stray file is a *.tmp
                places = set(fx["paths"]) | set(fx.get("related_paths", []))
                at = lambda path: any(path == pl or path.startswith(pl + "/") for pl in places)  # noqa: E731
                self.assertTrue(any(k in accept and at(path) for k, path in kinds), (places, kinds))
                self.assertEqual(broken(doc), sorted(fx["registry"]["pull_problems"]), doc["tags"])
                for t in doc["tags"]:
                    if not t["intact"]:
                        self.assertEqual(t["remove_with"], f"regsweep rm {t['repository']}:{t['tag']}")
                self.assertEqual(rt.tree_snapshot(root), before, "fsck without --repair changed the tree")

    def test_text_output_names_path_consequence_and_rm(self):
        """text: the problem with its path, `breaks:` the tag, and the rm command"""
        root = self.fixture("damaged-manifest-missing-reference", "-text")
        p = rt.run_regsweep(root, "fsck")
        self.assertEqual(p.returncode, PROBLEMS, rt.show_run(p))
        self.assertIn("manifest-missing-reference", p.stdout)
        self.assertIn("breaks: team/app:v1", p.stdout)
        self.assertIn("regsweep rm team/app:v1", p.stdout)
        self.assertIn(os.path.join(root, V2, "blobs"), p.stdout)
        self.assertRegex(p.stdout, r"PROBLEM +SEVERITY +COUNT")

    def test_verify_finds_a_flipped_byte(self):
        """--verify: a flipped byte in a layer is found, and the tags it breaks are the ones the registry cannot serve"""
        root = self.fixture("sample", "-flip")
        # the biggest layer of the sample that a tag uses
        with rt.Registry(root) as reg:
            before = rt.pull_every_tag(reg)
        self.assertEqual(before, {})
        # a layer of a tagged image (through an index's first child when the tag is one)
        victim = None
        for repo, tags in sorted(rt.tags_on_disk(root).items()):
            for tag, digest in sorted(tags.items()):
                m = json.load(open(rt.blob_data_path(root, digest), "rb")) if digest else {}
                if m.get("manifests"):
                    m = json.load(open(rt.blob_data_path(root, m["manifests"][0]["digest"]), "rb"))
                if m.get("layers") and not victim:
                    victim = m["layers"][0]["digest"]
        self.assertIsNotNone(victim)
        path = rt.blob_data_path(root, victim)
        data = bytearray(open(path, "rb").read())
        data[len(data) // 2] ^= 0x01
        st = os.stat(path)
        with open(path, "wb") as f:
            f.write(bytes(data))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

        p, doc = fsck(root)
        self.assertEqual(p.returncode, 0, "without --verify the size is right and nothing is read: " + rt.show_run(p))
        p, doc = fsck(root, "--verify")
        self.assertEqual(p.returncode, PROBLEMS, rt.show_run(p))
        bad = [q for q in doc["problems"] if q["kind"] == "blob-digest-mismatch"]
        self.assertEqual([q["path"] for q in bad], [os.path.abspath(path)])
        self.assertEqual(doc["verify"]["corrupt"], 1)
        self.assertGreater(doc["verify"]["bytes"], 0)
        with rt.Registry(root) as reg:
            failing = sorted(rt.pull_every_tag(reg))
        self.assertGreater(len(failing), 0)
        self.assertEqual(broken(doc), failing)
        self.assertEqual(sorted(b.split(" (")[0] for b in bad[0]["breaks"]), failing)
        # the text form shows the rate
        t = rt.run_regsweep(root, "fsck", "--verify")
        self.assertRegex(t.stdout, r"verified \d+ blobs, .* in [0-9.]+ s \(.*/s\)")

        # --repair sets the blob aside: the registry answers 404 instead of bad bytes
        r, rdoc = fsck(root, "--verify", "--repair", "-y")
        self.assertEqual(r.returncode, PROBLEMS, rt.show_run(r))  # the broken tags remain broken
        self.assertFalse(os.path.exists(path))
        run = rdoc["repair"]["result"]["run"]
        self.assertTrue(os.path.exists(os.path.join(root, ".regsweep", "trash", run, os.path.relpath(path, root))))
        with rt.Registry(root) as reg:
            self.assertEqual(reg.request("HEAD", f"/v2/{failing[0].split(':')[0]}/blobs/{victim}").status, 404)
        serve_and_check(self, root, intact(rdoc["after_repair"]))

    def test_repair_each_damaged_fixture(self):
        """--repair on each damaged fixture: only listed paths go (to the trash); the registry then serves every intact tag and its GC completes"""
        for fx in damaged():
            with self.subTest(fx["name"]):
                root = self.fixture(fx["name"], "-repair")
                before = rt.tree_snapshot_excluding(root)
                dry, ddoc = fsck(root, "--repair", "--dry-run", "--upload-age", "0s")
                self.assertIn(dry.returncode, (0, PROBLEMS), rt.show_run(dry))
                self.assertEqual(rt.tree_snapshot_excluding(root), before, "--dry-run changed the tree")
                planned = [a["path"] for a in ddoc["repair"]["plan"]["actions"]]
                p, doc = fsck(root, "--repair", "-y", "--upload-age", "0s")
                self.assertIn(p.returncode, (0, PROBLEMS), rt.show_run(p))
                after = rt.tree_snapshot_excluding(root)
                gone = sorted(set(before) - set(after))
                self.assertTrue(all(any(g == pl or g.startswith(pl + "/") for pl in planned) for g in gone), (gone, planned))
                self.assertEqual(sorted(set(after) - set(before)), [], "repair created files in the storage")
                if planned:
                    run = doc["repair"]["result"]["run"]
                    for pl in planned:
                        self.assertTrue(os.path.lexists(os.path.join(root, ".regsweep", "trash", run, pl)), pl)
                # tags intact before stay intact; nothing fsck called intact is lost
                self.assertTrue(set(intact(ddoc)) <= set(intact(doc["after_repair"] if "after_repair" in doc else doc)))
                serve_and_check(self, root, intact(doc.get("after_repair", doc)))

    def test_repair_makes_the_registrys_gc_complete(self):
        """an empty link stops the registry's garbage-collect; after fsck --repair it completes"""
        fx = next(f for f in damaged() if f["name"] == "damaged-link-empty")
        self.assertNotEqual(fx["registry"]["gc_dry_run"]["returncode"], 0)
        root = self.fixture(fx["name"], "-gc")
        with rt.Registry(root) as reg:
            config = reg.config_path
        self.assertNotEqual(rt.garbage_collect(config, dry_run=True, check=False).returncode, 0)
        p, doc = fsck(root, "--repair", "-y")
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        self.assertEqual(rt.garbage_collect(config, dry_run=True, check=False).returncode, 0)

    def test_dry_run_needs_repair(self):
        """fsck --dry-run alone is a usage error (exit 2); --upload-age garbage too"""
        root = self.fixture("sample", "-usage")
        self.assertEqual(rt.run_regsweep(root, "fsck", "--dry-run").returncode, 2)
        self.assertEqual(rt.run_regsweep(root, "fsck", "--repair", "--upload-age", "soon").returncode, 2)
        p = rt.run_regsweep(root, "fsck", "no/such/repo")
        self.assertEqual(p.returncode, 1, rt.show_run(p))
        self.assertIn("no/such/repo", p.stderr)

    def test_repository_filter(self):
        """fsck REPO checks only that repository's tags and problems"""
        root = self.fixture("damaged-manifest-missing-reference", "-filter")
        p, doc = fsck(root, "team/other")
        self.assertEqual(p.returncode, 0, rt.show_run(p))
        self.assertEqual({t["repository"] for t in doc["tags"]}, {"team/other"})
        p, doc = fsck(root, "team/app")
        self.assertEqual(p.returncode, PROBLEMS, rt.show_run(p))
        self.assertEqual(broken(doc), ["team/app:v1"])


if __name__ == "__main__":
    tap.main()
