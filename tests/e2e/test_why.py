#!/usr/bin/env python3
"""`regsweep why` on a storage the real registry wrote, whose answers are known from how it was
built (issue #20):

- a base layer shared by two images (app:v1, app:v2; app:tmp names v1's digest too);
- a two-platform index (web:multi), each child with a layer of its own;
- an image pushed as app:tmp and then replaced by v1's digest: an untagged manifest.

why of a digest lists every path from a tag to it (or the untagged manifests that hold it, or
"unreferenced"); why of a tag gives what only it reaches, what it shares and with whom, and
what deleting it frees, in bytes read from the blob files. TAP; REGSWEEP = the binary."""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import regtest as rt  # noqa: E402
import tap  # noqa: E402

BASE = rt.layer({"base/os.txt": "the base layer, shared\n" * 20})
V1 = rt.image([BASE, rt.layer({"app/v1.txt": "only in v1\n" * 30})], created="2024-05-01T00:00:00Z")
V2 = rt.image([BASE, rt.layer({"app/v2.txt": "only in v2\n" * 10})], created="2024-05-02T00:00:00Z")
OLD = rt.image([rt.layer({"app/old.txt": "only in the replaced image\n"})], created="2024-04-01T00:00:00Z")
AMD = rt.image([rt.layer({"web/amd.txt": "amd64\n"})], arch="amd64", created="2024-05-03T00:00:00Z")
ARM = rt.image([rt.layer({"web/arm.txt": "arm64\n"})], arch="arm64", created="2024-05-03T00:00:00Z")
MULTI = rt.index([AMD, ARM])


class Why(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="regsweep-why-")
        cls.root = os.path.join(cls.tmp, "root")
        reg = rt.Registry(cls.root).start()
        try:
            reg.push_manifest("app", OLD, "tmp")
            reg.push_manifest("app", V1, "v1")
            reg.push_manifest("app", V1, "tmp")  # OLD is now untagged
            reg.push_manifest("app", V2, "v2")
            reg.push_manifest("web", MULTI, "multi")
        finally:
            reg.cleanup()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def why(self, what, expect=0):
        p = rt.run_regsweep(self.root, "--json", "why", what)
        self.assertEqual(p.returncode, expect, rt.show_run(p))
        return json.loads(p.stdout) if expect == 0 else p

    def blob_size(self, digest):
        hexd = digest.split(":")[1]
        return os.path.getsize(os.path.join(self.root, rt.V2, "blobs", "sha256", hexd[:2], hexd, "data"))

    def test_a_shared_layer_is_kept_by_every_tag_that_reaches_it(self):
        w = self.why(BASE.digest)
        self.assertEqual(w["verdict"], "kept by tags")
        got = sorted((p["tag"], tuple((s["role"], s["digest"]) for s in p["steps"])) for p in w["paths"])
        self.assertEqual(got, sorted([
            ("tmp", (("manifest", V1.digest), ("layer", BASE.digest))),
            ("v1", (("manifest", V1.digest), ("layer", BASE.digest))),
            ("v2", (("manifest", V2.digest), ("layer", BASE.digest))),
        ]))
        self.assertEqual(w["size"], self.blob_size(BASE.digest))
        p = rt.run_regsweep(self.root, "why", BASE.digest)
        self.assertIn("kept by 3 path(s) from tags", p.stdout)
        self.assertIn("app:v2 -> manifest " + V2.digest[:19] + " -> layer " + BASE.digest[:19], p.stdout)

    def test_an_index_child_is_kept_through_the_index(self):
        arm_layer = ARM.refs[1].digest
        w = self.why(arm_layer)
        self.assertEqual([(p["repository"], p["tag"], [(s["role"], s["digest"]) for s in p["steps"]]) for p in w["paths"]],
                         [("web", "multi", [("manifest", MULTI.digest), ("child", ARM.digest), ("layer", arm_layer)])])

    def test_an_untagged_manifest_holds_its_layer_until_gc_m(self):
        own = OLD.refs[1].digest
        w = self.why(own)
        self.assertEqual(w["verdict"], "kept by untagged manifests")
        self.assertEqual(w["paths"], [])
        self.assertEqual(w["untagged_revisions"], [{"repository": "app", "digest": OLD.digest}])
        p = rt.run_regsweep(self.root, "why", own)
        self.assertIn("gc -m", p.stdout)

    def test_unreferenced_and_unknown(self):
        # A blob nothing references: the next gc frees it.
        data = b"a blob no manifest names\n"
        import hashlib
        hexd = hashlib.sha256(data).hexdigest()
        d = os.path.join(self.root, rt.V2, "blobs", "sha256", hexd[:2], hexd)
        os.makedirs(d)
        with open(os.path.join(d, "data"), "wb") as f:
            f.write(data)
        try:
            w = self.why("sha256:" + hexd)
            self.assertEqual(w["verdict"], "unreferenced")
            self.assertIn("the next gc frees it", rt.run_regsweep(self.root, "why", "sha256:" + hexd).stdout)
        finally:
            shutil.rmtree(d)
        p = self.why("sha256:" + "e" * 64, expect=1)
        self.assertIn("sha256:" + "e" * 64, p.stderr)
        p = self.why("sha256:nothex", expect=2)
        self.assertIn("sha256:nothex", p.stderr)
        p = self.why("app:nope", expect=1)
        self.assertIn("nope", p.stderr)

    def test_what_deleting_a_tag_frees(self):
        w = self.why("app:v1")
        self.assertEqual(w["digest"], V1.digest)
        self.assertEqual(w["deleted_with_it"], ["app:tmp"])  # the same digest: a DELETE takes both
        own = [V1.digest, V1.refs[0].digest, V1.refs[2].digest]  # manifest, config (refs[0]), its own layer (after BASE)
        self.assertEqual(w["closure"]["count"], 4)
        self.assertEqual(w["exclusive"], {"count": 3, "bytes": sum(self.blob_size(d) for d in own)})
        self.assertEqual([(s["digest"], s["tags"]) for s in w["shared"]], [(BASE.digest, ["app:v2"])])
        self.assertEqual(w["freed"], w["exclusive"])
        self.assertEqual(w["freed_with_m"]["count"], 0)
        # The index: its children and their blobs, nothing shared.
        w = self.why("web:multi")
        self.assertEqual(w["closure"]["count"], len(MULTI.all_blobs()))
        self.assertEqual(w["shared"], [])
        # Deleting the index removes its revision only: the registry linked each child as a
        # revision of its own when it was pushed, so its garbage-collect frees the index's blob
        # alone, and -m (the children no longer reached from a tag) the rest.
        self.assertEqual(w["freed"], {"count": 1, "bytes": self.blob_size(MULTI.digest)})
        self.assertEqual(w["freed_with_m"]["count"], len(MULTI.all_blobs()) - 1)
        # Nothing changed on the storage.
        self.assertEqual(rt.run_regsweep(self.root, "--json", "why", "app:v1").returncode, 0)


if __name__ == "__main__":
    tap.main()
