#!/usr/bin/env python3
"""End to end: `regsweep gc` against the real registry's `garbage-collect` (distribution 2.8.2).

    REGSWEEP=build/regsweep python3 tests/e2e/test_gc.py     # TAP on stdout

One base storage is pushed once through the registry (tests below name its images: one/app,
shared/x + shared/y sharing layers, multi/oci an OCI index pushed by skopeo, multi/docker a
Docker manifest list, team/app with a nested team/app/sub, cfg/share two manifests on one
config, child/idx an index, all/gone, art/app with an untagged referrer by `subject`), plus
scenarios.py's garbage set in a second storage. Every test works on copies (copy_tree keeps
empty folders and mtimes); every registry binds 127.0.0.1 on a free port and is stopped.

- GcVsRegistry: per scenario (API deletes and re-pushes on a copy of the base), copy A gets
  `docker-registry garbage-collect`, copy B `regsweep gc --yes --min-age 0s`: the blobs left
  must be the same; `gc --dry-run --json` counts what the registry's dry-run lists.
- DeleteUntagged: `gc -m` keeps everything `garbage-collect -m` keeps, removes the untagged
  old revision (3.x style), keeps index children and the referrer; the result pulls completely.
  Registry282BreaksMultiArch: on the same tree, 2.8.2's own -m leaves multi-arch tags broken.
- MinAge, Uploads, PruneEmptyRepos.
- LinkAfterPlan: `gc --plan-out P`, then a push that reuses an orphaned layer, then `apply P`:
  the stale plan is refused and the layer stays. LinkDuringPlan: the same push while one gc run
  is between its walk and its sweep (made deterministic by stopping regsweep in gdb; skipped
  when gdb cannot trace here).
- CrashSafety (REGSWEEP_TEST_CRASH_AFTER=N after every mutation), RegistryBin (delegating the
  blob sweep to /usr/bin/docker-registry: young blobs refused, what it listed or deleted
  reported, its temporary config, no shell), PlanOut (replaced atomically), SmallerDefects (the
  lock holder's line, a config with two storage drivers), NoTerminal.

    REGSWEEP=build/regsweep python3 tests/e2e/test_gc.py MinAge CrashSafety   # some classes only

Fails (TAP "Bail out!") when REGSWEEP is unset or not an executable.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))

import clock  # noqa: E402
import gctest as gt  # noqa: E402
import crashloop as cl  # noqa: E402
import regtest as rt  # noqa: E402
import scenarios  # noqa: E402
import tap  # noqa: E402

TIMEOUT = 120  # seconds for one regsweep run on these small trees
REAL_REGISTRY = "/usr/bin/docker-registry"
log = tap.logger("e2e-gc")


# ---------------------------------------------------------------------------------------------
# The images (deterministic: every digest is known before anything is pushed)
# ---------------------------------------------------------------------------------------------


def _layer(name: str) -> rt.Layer:
    return rt.layer({f"gc/{name}.txt": f"regsweep gc e2e layer {name}\n"})


def make_images() -> tuple:
    L = {n: _layer(n) for n in (
        "one_base", "a1", "a2", "a3", "sh_base", "sh", "x1", "y1", "mo_amd", "mo_arm", "mo_common",
        "md_amd", "md_arm", "md_common", "t_base", "t1", "s1", "s2", "c_base", "c1", "ci_amd",
        "ci_arm", "g1", "g2", "r_base", "r1")}
    I = {}
    I["A1"] = rt.image([L["one_base"], L["a1"]], created="2024-05-01T00:00:00Z")
    I["A2"] = rt.image([L["one_base"], L["a2"]], created="2024-05-02T00:00:00Z")
    I["A3"] = rt.image([L["one_base"], L["a3"]], created="2024-05-03T00:00:00Z")
    I["X"] = rt.image([L["sh_base"], L["sh"], L["x1"]], created="2024-05-04T00:00:00Z")
    I["Y"] = rt.image([L["sh_base"], L["sh"], L["y1"]], created="2024-05-04T00:00:00Z")
    I["MI_amd64"] = rt.image([L["mo_amd"], L["mo_common"]], arch="amd64", created="2024-05-05T00:00:00Z")
    I["MI_arm64"] = rt.image([L["mo_arm"], L["mo_common"]], arch="arm64", variant="v8",
                             created="2024-05-05T00:00:00Z")
    I["MI"] = rt.index([I["MI_amd64"], I["MI_arm64"]])
    I["MD_amd64"] = rt.image([L["md_amd"], L["md_common"]], arch="amd64", docker=True,
                             created="2024-05-06T00:00:00Z")
    I["MD_arm64"] = rt.image([L["md_arm"], L["md_common"]], arch="arm64", variant="v8", docker=True,
                             created="2024-05-06T00:00:00Z")
    I["MD"] = rt.index([I["MD_amd64"], I["MD_arm64"]], docker=True)
    I["T1"] = rt.image([L["t_base"], L["t1"]], created="2024-05-07T00:00:00Z")
    I["S1"] = rt.image([L["t_base"], L["s1"]], created="2024-05-07T00:00:00Z")
    I["S2"] = rt.image([L["t_base"], L["s2"]], created="2024-05-08T00:00:00Z")
    # one config, two manifests (they differ only by an annotation)
    I["C1"] = rt.image([L["c_base"], L["c1"]], created="2024-05-09T00:00:00Z", annotations={"n": "1"})
    I["C2"] = rt.image([L["c_base"], L["c1"]], created="2024-05-09T00:00:00Z", annotations={"n": "2"})
    I["CI_amd64"] = rt.image([L["ci_amd"]], arch="amd64", created="2024-05-10T00:00:00Z")
    I["CI_arm64"] = rt.image([L["ci_arm"]], arch="arm64", variant="v8", created="2024-05-10T00:00:00Z")
    I["CI"] = rt.index([I["CI_amd64"], I["CI_arm64"]])
    I["G1"] = rt.image([L["g1"]], created="2024-05-11T00:00:00Z")
    I["G2"] = rt.image([L["g2"]], created="2024-05-12T00:00:00Z")
    I["R1"] = rt.image([L["r_base"], L["r1"]], created="2024-05-13T00:00:00Z")
    I["REF"] = rt.artifact("application/vnd.example.sbom.v1+json",
                           [rt.Blob("application/json", b'{"sbom":"art/app v1"}')], subject=I["R1"])
    # a new image that reuses A1's layer a1 (an orphan once A1 is deleted)
    I["REUSE"] = rt.image([L["one_base"], L["a1"]], created="2024-05-15T00:00:00Z")
    return L, I


L, I = make_images()
D = {k: v.digest for k, v in I.items()}
NAMES = dict(D)  # digest names for readable messages
for _k, _v in I.items():
    if _v.media_type not in rt.INDEX_TYPES and _v.refs:
        NAMES["cfg " + _k] = _v.refs[0].digest
for _k, _v in L.items():
    NAMES["layer " + _k] = _v.digest
NAMES["sbom blob"] = I["REF"].refs[1].digest
NAMES["empty config"] = rt.EMPTY_CONFIG.digest


def names(*keys: str) -> set:
    return {NAMES[k] for k in keys}


def populate_base(reg: rt.Registry, scratch: str) -> None:
    reg.push_manifest("one/app", I["A1"], "v1")
    reg.push_manifest("one/app", I["A2"], "v2")
    reg.push_manifest("shared/x", I["X"], "1")
    reg.push_manifest("shared/y", I["Y"], "1")
    layout = os.path.join(scratch, "gc-layout")
    rt.make_oci_layout(layout, {"mi": I["MI"]})
    rt.push(layout, "mi", reg, "multi/oci", "1", all=True)  # an OCI index, through skopeo
    reg.push_manifest("multi/docker", I["MD"], "1")           # a Docker manifest list
    reg.push_manifest("team/app", I["T1"], "1")
    reg.push_manifest("team/app/sub", I["S1"], "1")
    reg.push_manifest("team/app/sub", I["S2"], "2")
    reg.push_manifest("cfg/share", I["C1"], "one")
    reg.push_manifest("cfg/share", I["C2"], "two")
    reg.push_manifest("child/idx", I["CI"], "1")
    reg.push_manifest("all/gone", I["G1"], "1")
    reg.push_manifest("all/gone", I["G2"], "2")
    reg.push_manifest("art/app", I["R1"], "v1")
    reg.push_by_digest("art/app", I["REF"])  # untagged referrer of art/app:v1


def delete(reg: rt.Registry, repo: str, key: str) -> None:
    """DELETE /v2/<repo>/manifests/<digest of key>; 202 expected."""
    st = reg.delete_manifest(repo, D[key])
    if st != 202:
        raise rt.RegistryError(f"DELETE {repo}@{key} ({D[key]}) answered {st}")


# ---------------------------------------------------------------------------------------------
# The storages, built once per process
# ---------------------------------------------------------------------------------------------


class Base(rt.Workspace):
    def __init__(self):
        t0 = time.monotonic()
        super().__init__("regsweep-e2e-gc-", dir=gt.fast_tmpdir())
        self.scratch = os.path.join(self.tmp, "scratch")
        os.makedirs(self.scratch)
        with rt.serve(self.root) as reg:
            populate_base(reg, self.scratch)
            self.pull_problems = rt.pull_every_tag(reg, [("art/app", D["REF"])])
        self.snapshot = rt.tree_snapshot(self.root)
        self._garbage = None
        self._m_tree = None
        log(f"base storage built in {time.monotonic() - t0:.1f}s at {self.root}")

    def garbage(self) -> str:
        """scenarios.populate_garbage in a storage of its own (built on first use)."""
        if self._garbage is None:
            t0 = time.monotonic()
            root = os.path.join(self.tmp, "garbage")
            with rt.serve(root) as reg:
                self.garbage_info = scenarios.populate_garbage(reg, self.scratch)
            self._garbage = root
            self.garbage_snapshot = rt.tree_snapshot(root)
            log(f"garbage storage built in {time.monotonic() - t0:.1f}s")
        return self._garbage

    def m_tree(self) -> str:
        """The base, then: one/app:v2 re-pushed (A2 -> A3: A2 stays as an untagged revision
        listed in tags/v2/index/) and all/gone@G1 deleted through the API."""
        if self._m_tree is None:
            root = self.copy("m-tree")
            with rt.serve(root) as reg:
                reg.push_manifest("one/app", I["A3"], "v2")
                delete(reg, "all/gone", "G1")
            self._m_tree = root
            self.m_snapshot = rt.tree_snapshot(root)
        return self._m_tree


# ---------------------------------------------------------------------------------------------
# Running regsweep
# ---------------------------------------------------------------------------------------------


# `regsweep --root ROOT ARGS...` without a terminal (stdin = /dev/null)
regsweep = functools.partial(rt.run_regsweep, timeout=TIMEOUT, log=log)


def repo_path(root: str, repo: str, *parts: str) -> str:
    return os.path.join(root, rt.repo_dir(repo, *parts))


def revision_dir(root: str, repo: str, key_or_digest: str) -> str:
    return os.path.join(root, rt.revision_dir(repo, D.get(key_or_digest, key_or_digest)))


def revision_linked(root: str, repo: str, key: str) -> bool:
    return os.path.isfile(os.path.join(revision_dir(root, repo, key), "link"))


def tag_index_entry(root: str, repo: str, tag: str, key: str) -> str:
    return repo_path(root, repo, "_manifests", "tags", tag, "index", "sha256", D[key].split(":", 1)[1])


class Case(rt.RegsweepCase):
    @classmethod
    def setUpClass(cls):
        cls.b = Base.get()

    def assertSameBlobs(self, want: set, got: set, what: str):
        if want != got:
            self.fail(f"{what}:\n  only in the first ({len(want - got)}): {gt.short_set(want - got, NAMES)}\n"
                      f"  only in the second ({len(got - want)}): {gt.short_set(got - want, NAMES)}")


# ---------------------------------------------------------------------------------------------
# 1. gc (no -m) == garbage-collect
# ---------------------------------------------------------------------------------------------


def _repush_v2(reg):
    reg.push_manifest("one/app", I["A3"], "v2")


def _repush_v2_delete_old(reg):
    reg.push_manifest("one/app", I["A3"], "v2")
    delete(reg, "one/app", "A2")


def _docker_list_and_children(reg):
    for k in ("MD", "MD_amd64", "MD_arm64"):
        delete(reg, "multi/docker", k)


def _repo_emptied(reg):
    delete(reg, "all/gone", "G1")
    delete(reg, "all/gone", "G2")


# name, description, source storage, what is done through the API, the blobs 2.8.2's
# garbage-collect is expected to list (None: not asserted)
SCENARIOS = [
    ("single_image_delete", "one/app@A1 deleted (one_base stays: A2 uses it)", "base",
     lambda reg: delete(reg, "one/app", "A1"), names("A1", "cfg A1", "layer a1")),
    ("shared_layers_across_repos", "shared/x@X deleted; shared/y:1 keeps the shared layers", "base",
     lambda reg: delete(reg, "shared/x", "X"), names("X", "cfg X", "layer x1")),
    ("repushed_tag", "one/app:v2 re-pushed (A2 -> A3): A2 is still a revision, nothing to sweep", "base",
     _repush_v2, set()),
    ("repushed_tag_old_deleted", "one/app:v2 re-pushed, then the old digest A2 deleted", "base",
     _repush_v2_delete_old, names("A2", "cfg A2", "layer a2")),
    ("oci_index_deleted", "multi/oci@MI deleted (its children stay revisions)", "base",
     lambda reg: delete(reg, "multi/oci", "MI"), names("MI")),
    ("docker_list_and_children_deleted", "multi/docker: the manifest list and both children deleted",
     "base", _docker_list_and_children,
     names("MD", "MD_amd64", "MD_arm64", "cfg MD_amd64", "cfg MD_arm64", "layer md_amd", "layer md_arm",
           "layer md_common")),
    ("nested_repo", "team/app/sub@S1 deleted (t_base stays: team/app:1 and team/app/sub:2)", "base",
     lambda reg: delete(reg, "team/app/sub", "S1"), names("S1", "cfg S1", "layer s1")),
    ("nested_parent", "team/app@T1 deleted; the nested team/app/sub untouched", "base",
     lambda reg: delete(reg, "team/app", "T1"), names("T1", "cfg T1", "layer t1")),
    ("shared_config", "cfg/share@C1 deleted: its config and layers stay (C2 uses them)", "base",
     lambda reg: delete(reg, "cfg/share", "C1"), names("C1")),
    ("index_child_deleted", "child/idx@CI_arm64 deleted, the index still names it", "base",
     lambda reg: delete(reg, "child/idx", "CI_arm64"), names("cfg CI_arm64", "layer ci_arm")),
    ("repo_emptied", "all/gone: both tags' manifests deleted", "base", _repo_emptied,
     names("G1", "G2", "cfg G1", "cfg G2", "layer g1", "layer g2")),
    ("subject_deleted", "art/app@R1 deleted; its referrer REF stays a revision", "base",
     lambda reg: delete(reg, "art/app", "R1"), names("R1", "cfg R1", "layer r_base", "layer r1")),
    ("no_garbage", "the base as pushed: nothing to sweep", "base", None, set()),
    ("scenarios_garbage", "scenarios.populate_garbage: re-pushes, deletes, a blob DELETE", "garbage",
     None, None),
]


# The one deliberate difference from 2.8.2's plain mark: regsweep marks an index's children
# recursively (their configs and layers), even when a child's own revision is gone; 2.8.2
# marks the child digest only, so it sweeps that child's config and layers. regsweep keeps
# them (the index still names the child; a re-push of the child heals the image).
KEPT_ON_PURPOSE = {
    "index_child_deleted": names("cfg CI_arm64", "layer ci_arm"),
}


class GcVsRegistry(Case):
    """regsweep gc --yes --min-age 0s against docker-registry garbage-collect, per scenario."""

    def test_00_base_sane(self):
        """the base storage: every tag and the referrer pull completely"""
        self.assertEqual(self.b.pull_problems, {})

    def check_scenario(self, name, source, action, expect):
        b = self.b
        kept = KEPT_ON_PURPOSE.get(name, set())
        src = b.garbage() if source == "garbage" else b.root
        root = b.copy(name, src)
        if action is not None:
            with rt.serve(root) as reg:
                action(reg)
        dry = gt.registry_gc(root, dry_run=True)
        if expect is not None:
            with self.subTest(check="the registry's dry-run lists what the scenario leaves"):
                self.assertSameBlobs(expect, dry.eligible, "expected garbage vs garbage-collect --dry-run")
        with self.subTest(check="gc --dry-run --json summary == garbage-collect --dry-run"):
            doc = rt.json_of(regsweep(root, "--json", "-v", "gc", "--dry-run", "--min-age", "0s"))
            s = doc["summary"]
            planned = {a.get("digest") for a in (doc.get("plan") or {}).get("actions", [])
                       if a.get("action") == "remove-blob"}
            detail = (f"\n  registry lists {len(dry.eligible)}: {gt.short_set(dry.eligible, NAMES)}"
                      f"\n  regsweep plans {len(planned)}: {gt.short_set(planned, NAMES)}")
            self.assertSameBlobs(dry.eligible - kept, planned, "planned blob removals" + detail)
            self.assertEqual(s["blobs"]["count"], len(dry.eligible - kept), "blob count" + detail)
            self.assertEqual(s["blobs"]["bytes"], gt.blob_bytes(root, dry.eligible - kept), "blob bytes" + detail)
            self.assertEqual(s["young_blobs_kept"]["count"], 0)
        a = b.copy(name + "-A", root)
        bb = b.copy(name + "-B", root)
        gc = gt.registry_gc(a, dry_run=False)
        p = regsweep(bb, "gc", "--yes", "--min-age", "0s")
        with self.subTest(check="regsweep gc exits 0"):
            self.assertExit(p, 0)
        with self.subTest(check="blobs left: garbage-collect == regsweep gc"):
            self.assertSameBlobs(gt.blob_set(a) | kept, gt.blob_set(bb),
                                 f"blobs left by garbage-collect (first) and regsweep gc (second)"
                                 f"\ngarbage-collect: {gc.summary}")
        with self.subTest(check="the registry's real run removed what its dry-run listed"):
            self.assertSameBlobs(gt.blob_set(root) - dry.eligible, gt.blob_set(a),
                                 "dry-run prediction vs real run")
        for d in (root, a, bb):
            shutil.rmtree(d, ignore_errors=True)


def _make_scenario_test(sc):
    name, doc, source, action, expect = sc

    def test(self):
        self.check_scenario(name, source, action, expect)
    test.__doc__ = f"{name}: {doc}"
    return test


for _sc in SCENARIOS:
    setattr(GcVsRegistry, f"test_{_sc[0]}", _make_scenario_test(_sc))


# ---------------------------------------------------------------------------------------------
# 2./3. gc -m: a superset of garbage-collect -m, and complete images
# ---------------------------------------------------------------------------------------------


class MResults:
    """The -m tree, copied twice: A gets garbage-collect -m, B regsweep gc -m (once per process)."""
    _done = None

    @classmethod
    def get(cls, b: Base) -> "MResults":
        if cls._done is None:
            cls._done = cls(b)
        return cls._done

    def __init__(self, b: Base):
        src = b.m_tree()
        self.before = gt.blob_set(src)
        self.a = b.copy("m-A", src)
        self.bb = b.copy("m-B", src)
        self.gc = gt.registry_gc(self.a, dry_run=False, delete_untagged=True)
        self.p = regsweep(self.bb, "--json", "gc", "--yes", "-m", "--min-age", "0s")
        self.blobs_a = gt.blob_set(self.a)
        self.blobs_b = gt.blob_set(self.bb)
        self.pull_a = {}
        with rt.serve(self.a) as reg:
            for repo in ("multi/oci", "multi/docker", "child/idx"):
                self.pull_a[repo] = reg.pull_all(repo, "1")
            self.pull_a["art/app@REF"] = reg.pull_all("art/app", D["REF"])
        with rt.serve(self.bb) as reg:
            self.pull_b = rt.pull_every_tag(reg, [("art/app", D["REF"])])
            self.tags_b = {r: reg.tags(r) for r in reg.catalog()}
            self.ref_status = reg.request("GET", f"/v2/art/app/manifests/{D['REF']}",
                                          headers={"Accept": rt.ACCEPT_ALL}).status


class DeleteUntagged(Case):
    """regsweep gc -m against docker-registry garbage-collect -m on the same tree."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        m = MResults.get(cls.b)
        for k, v in vars(m).items():
            setattr(cls, k, v)

    def test_a_exit(self):
        """gc --yes -m --min-age 0s --json exits 0 and counts one untagged manifest (one/app A2)"""
        doc = rt.json_of(self.p)
        self.assertEqual(doc["summary"]["untagged_manifests"], 1, rt.show_run(self.p))

    def test_b_superset_of_registry(self):
        """every blob garbage-collect -m keeps, regsweep gc -m keeps"""
        missing = self.blobs_a - self.blobs_b
        self.assertEqual(missing, set(), f"swept by regsweep, kept by garbage-collect -m: "
                                         f"{gt.short_set(missing, NAMES)}")

    def test_c_old_revision_removed(self):
        """one/app A2 (re-pushed away from v2): revision folder and tags/v2/index entry gone"""
        self.assertFalse(os.path.exists(revision_dir(self.bb, "one/app", "A2")))
        self.assertFalse(os.path.exists(tag_index_entry(self.bb, "one/app", "v2", "A2")))
        self.assertTrue(os.path.exists(tag_index_entry(self.bb, "one/app", "v2", "A3")))
        self.assertTrue(revision_linked(self.bb, "one/app", "A3"))
        self.assertTrue(revision_linked(self.bb, "one/app", "A1"))
        gone = names("A2", "cfg A2", "layer a2")
        self.assertEqual(gone & self.blobs_b, set(), "A2's own blobs are swept")

    def test_d_children_and_referrer_kept(self):
        """index children (OCI index, Docker list, child/idx) and the subject referrer stay revisions"""
        for repo, key in (("multi/oci", "MI_amd64"), ("multi/oci", "MI_arm64"),
                          ("multi/docker", "MD_amd64"), ("multi/docker", "MD_arm64"),
                          ("child/idx", "CI_amd64"), ("child/idx", "CI_arm64"), ("art/app", "REF")):
            with self.subTest(revision=f"{repo}@{key}"):
                self.assertTrue(revision_linked(self.bb, repo, key))

    def test_e_everything_pulls(self):
        """served afterwards: every tag of every repository pulls completely, and the referrer by digest"""
        self.assertEqual(self.pull_b, {})
        self.assertEqual(self.ref_status, 200)
        self.assertEqual(self.tags_b.get("one/app"), ["v1", "v2"])

    def test_f_registry_deleted_children(self):
        """(oracle) garbage-collect -m removed the untagged index children and the referrer"""
        for repo, key in (("multi/oci", "MI_amd64"), ("multi/docker", "MD_arm64"),
                          ("art/app", "REF"), ("one/app", "A2")):
            with self.subTest(revision=f"{repo}@{key}"):
                self.assertFalse(revision_linked(self.a, repo, key))


class Registry282BreaksMultiArch(DeleteUntagged):
    """the same tree: registry 2.8.2's -m result is broken, regsweep's pulls."""

    # only the tests below, not the inherited ones again
    test_a_exit = test_b_superset_of_registry = test_c_old_revision_removed = None
    test_d_children_and_referrer_kept = test_e_everything_pulls = test_f_registry_deleted_children = None

    def test_registry_m_breaks_multiarch_regsweep_does_not(self):
        """after garbage-collect -m, multi/oci:1 and multi/docker:1 answer 404 for a child manifest;
        after regsweep gc -m both pull completely"""
        for repo, key in (("multi/oci", "MI_amd64"), ("multi/docker", "MD_amd64")):
            with self.subTest(registry=repo):
                probs = self.pull_a[repo]
                want = f"GET manifest {repo}@{D[key]}: HTTP 404"
                self.assertTrue(any(want in x for x in probs), f"expected '{want}' among {probs}")
            with self.subTest(regsweep=repo):
                self.assertNotIn(f"{repo}:1", self.pull_b)


# ---------------------------------------------------------------------------------------------
# 4. --min-age
# ---------------------------------------------------------------------------------------------


class MinAge(Case):
    def test_orphan_blob_kept_while_young(self):
        """an orphan blob (uploaded, no manifest) is kept by the default --min-age 1h, removed at 2h old"""
        root = self.b.copy("min-age")
        data = b"an orphan blob: uploaded through the API, never named by a manifest\n"
        with rt.serve(root) as reg:
            orphan = reg.upload_blob("one/app", data)
        before = gt.blob_set(root)
        self.assertTrue(orphan in before)
        link = repo_path(root, "one/app", "_layers", "sha256", orphan.split(":", 1)[1], "link")
        self.assertTrue(os.path.isfile(link))
        doc = rt.json_of(regsweep(root, "--json", "gc", "--yes"))
        self.assertEqual(gt.blob_set(root), before, "nothing is swept while the orphan is young")
        self.assertEqual(doc["summary"]["young_blobs_kept"]["count"], 1, doc)
        self.assertEqual(doc["summary"]["young_blobs_kept"]["bytes"], len(data), doc)
        self.assertEqual(doc["summary"]["blobs"]["count"], 0, doc)
        two_hours_ago = clock.now() - 2 * 3600
        os.utime(rt.blob_data_path(root, orphan), (two_hours_ago, two_hours_ago))
        doc = rt.json_of(regsweep(root, "--json", "gc", "--yes"))
        self.assertEqual(gt.blob_set(root), before - {orphan})
        self.assertEqual(doc["summary"]["blobs"], {"count": 1, "bytes": len(data)})
        self.assertFalse(os.path.exists(link), "its _layers link goes with it")


# ---------------------------------------------------------------------------------------------
# 5. uploads
# ---------------------------------------------------------------------------------------------


class Uploads(Case):
    def test_uploads_by_startedat(self):
        """an abandoned upload is kept; at startedat 200h ago it goes; one without startedat but recent files stays"""
        root = self.b.copy("uploads")
        with rt.serve(root) as reg:
            u_old = reg.start_upload("one/app", b"abandoned upload, soon 200 hours old")
            u_new = reg.start_upload("one/app", b"abandoned upload, recent")
            u_nodate = reg.start_upload("shared/x", b"abandoned upload without startedat")
        ups = {os.path.basename(p): p for p in gt.upload_dirs(root)}
        self.assertEqual(set(ups), {u_old, u_new, u_nodate})
        os.remove(os.path.join(ups[u_nodate], "startedat"))
        blobs = gt.blob_set(root)

        p = regsweep(root, "--json", "gc", "--yes")
        doc = rt.json_of(p)
        self.assertEqual({os.path.basename(x) for x in gt.upload_dirs(root)}, {u_old, u_new, u_nodate},
                         "fresh uploads are kept by the default --uploads-older-than 168h")
        self.assertEqual(doc["summary"]["uploads"]["count"], 0)

        text = gt.set_upload_started(ups[u_old], 200)
        size = os.path.getsize(os.path.join(ups[u_old], "data"))
        doc = rt.json_of(regsweep(root, "--json", "gc", "--yes"))
        self.assertEqual({os.path.basename(x) for x in gt.upload_dirs(root)}, {u_new, u_nodate},
                         f"the upload with startedat {text} is removed, the others stay")
        self.assertEqual(doc["summary"]["uploads"]["count"], 1, doc)
        self.assertGreaterEqual(doc["summary"]["uploads"]["bytes"], size, doc)
        self.assertEqual(gt.blob_set(root), blobs, "no blob touched")


# ---------------------------------------------------------------------------------------------
# 6. --prune-empty-repos
# ---------------------------------------------------------------------------------------------


class PruneEmptyRepos(Case):
    def test_prune_parent_keep_nested(self):
        """team/app with no tag left: its parts go, the catalog drops it, team/app/sub still pulls"""
        root = self.b.copy("prune")
        with rt.serve(root) as reg:
            for t in reg.tags("team/app"):
                rt_digest = reg.manifest_digest("team/app", t)
                self.assertEqual(reg.delete_manifest("team/app", rt_digest), 202)
            self.assertEqual(reg.tags("team/app"), [])
            self.assertIn("team/app", reg.catalog())
        p = regsweep(root, "--json", "gc", "--yes", "-m", "--prune-empty-repos", "--min-age", "0s")
        doc = rt.json_of(p)
        self.assertEqual(doc["summary"]["empty_repositories"], 1, rt.show_run(p))
        for part in ("_manifests", "_layers", "_uploads"):
            self.assertFalse(os.path.exists(repo_path(root, "team/app", part)), f"team/app/{part} still there")
        self.assertTrue(os.path.isdir(repo_path(root, "team/app/sub", "_manifests")))
        with rt.serve(root) as reg:
            cat = reg.catalog()
            self.assertNotIn("team/app", cat)
            self.assertIn("team/app/sub", cat)
            self.assertEqual(reg.tags("team/app/sub"), ["1", "2"])
            for t in ("1", "2"):
                self.assertEqual(reg.pull_all("team/app/sub", t), [])
            self.assertEqual(rt.pull_every_tag(reg, [("art/app", D["REF"])]), {})
        left = gt.blob_set(root)
        self.assertFalse(NAMES["layer t1"] in left, "team/app's own layer t1 is swept")
        self.assertTrue(NAMES["layer t_base"] in left, "t_base (used by team/app/sub) is kept")


# ---------------------------------------------------------------------------------------------
# 7. a link that appears between the walk and the sweep
# ---------------------------------------------------------------------------------------------


class LinkAfterPlan(Case):
    def test_plan_then_push_reusing_an_orphan(self):
        """gc --plan-out P; one/app:reuse pushed, reusing A1's orphaned layer a1; apply P refuses the
        stale plan before any removal; a1 stays and one/app:reuse pulls; gc again == garbage-collect"""
        b = self.b
        root = b.copy("plan-push")
        with rt.serve(root) as reg:
            delete(reg, "one/app", "A1")
        a1 = NAMES["layer a1"]
        plan = os.path.join(b.tmp, "plan-push.json")
        before = rt.tree_snapshot_excluding(root)
        p = regsweep(root, "gc", "--plan-out", plan, "--min-age", "0s")
        self.assertExit(p, 0)
        self.assertEqual(rt.diff_text(before, rt.tree_snapshot_excluding(root)), "", "--plan-out changes nothing")
        with open(plan) as f:
            planned = {a.get("digest") for a in json.load(f)["actions"] if a.get("action") == "remove-blob"}
        self.assertEqual(planned, names("A1", "cfg A1", "layer a1"), "the plan sweeps A1's blobs")

        with rt.serve(root) as reg:
            self.assertTrue(reg.blob_exists("one/app", a1), "the registry still serves the orphan")
            reg.push_manifest("one/app", I["REUSE"], "reuse")  # HEAD a1: 200, so it is not uploaded
        before = rt.tree_snapshot_excluding(root)
        p = regsweep(root, "apply", "--yes", plan)
        with self.subTest(check="apply refuses the stale plan (exit 3, names the blob)"):
            self.assertExit(p, 3)
            self.assertIn("stale plan", p.stderr)
            self.assertIn(a1, p.stderr)
        with self.subTest(check="nothing removed"):
            self.assertEqual(rt.diff_text(before, rt.tree_snapshot_excluding(root)), "", "a refused plan removes nothing")
        with self.subTest(check="the reused layer a1 is still there"):
            self.assertTrue(a1 in gt.blob_set(root), f"layer a1 ({a1}) swept though one/app:reuse uses it")
        with self.subTest(check="one/app:reuse pulls"):
            with rt.serve(root) as reg:
                self.assertEqual(reg.pull_all("one/app", "reuse"), [])
        if p.returncode != 3:
            return  # the tree is not the one the rest of this test is about

        oracle = b.copy("plan-push-oracle", root)
        shutil.rmtree(os.path.join(oracle, ".regsweep"), ignore_errors=True)
        gt.registry_gc(oracle, dry_run=False)
        p = regsweep(root, "gc", "--yes", "--min-age", "0s")
        self.assertExit(p, 0)
        self.assertSameBlobs(gt.blob_set(oracle), gt.blob_set(root),
                             "garbage-collect (first) vs gc re-planned after the push")
        self.assertTrue(a1 in gt.blob_set(root), "layer a1 kept by a fresh gc")


class LinkDuringPlan(Case):
    def test_push_while_planning_is_honoured(self):
        """one/app@A1 deleted; while gc is stopped (gdb) at its first plan_gc, one/app:reuse is pushed
        reusing A1's orphaned layer a1: gc plans again and keeps a1 (a run without the push sweeps it)"""
        why = gt.gdb_usable()
        if why:
            self.skipTest(f"{why}: without a debugger nothing can write deterministically between the "
                          "walk and the sweep of one gc run (LinkAfterPlan covers --plan-out + apply)")
        b = self.b
        src = b.copy("link-src")
        with rt.serve(src) as reg:
            delete(reg, "one/app", "A1")
        a1 = NAMES["layer a1"]
        a1_blobs = names("A1", "cfg A1", "layer a1")
        self.assertTrue(a1_blobs <= gt.blob_set(src))

        control = b.copy("link-control", src)
        p = regsweep(control, "gc", "--yes", "--min-age", "0s")
        self.assertExit(p, 0)
        self.assertEqual(a1_blobs & gt.blob_set(control), set(), "the control run sweeps A1's blobs")

        root = b.copy("link-paused", src)
        oracle = {}

        def push_reuse():
            with rt.serve(root) as reg:
                reg.push_manifest("one/app", I["REUSE"], "reuse")  # a1 exists: not uploaded again
            oracle["root"] = b.copy("link-oracle", root)
            shutil.rmtree(os.path.join(oracle["root"], ".regsweep"), ignore_errors=True)

        argv = [os.environ["REGSWEEP"], "--root", root, "gc", "--yes", "--min-age", "0s"]
        code, out, paused = gt.run_paused(argv, "regsweep::plan::plan_gc", push_reuse, timeout=TIMEOUT)
        self.assertTrue(paused, f"never stopped at plan_gc:\n{out[-3000:]}")
        self.assertEqual(code, 0, out[-3000:])
        self.assertTrue("links appeared while planning" in out, f"no re-plan announced:\n{out[-3000:]}")
        left = gt.blob_set(root)
        self.assertTrue(a1 in left, "layer a1 swept though one/app:reuse was pushed before the sweep")
        gt.registry_gc(oracle["root"], dry_run=False)
        self.assertSameBlobs(gt.blob_set(oracle["root"]), left,
                             "garbage-collect on the tree as it was after the push (first) vs regsweep gc")
        with rt.serve(root) as reg:
            self.assertEqual(reg.pull_all("one/app", "reuse"), [])
            self.assertEqual(rt.pull_every_tag(reg, [("art/app", D["REF"])]), {})


# ---------------------------------------------------------------------------------------------
# 8. crash safety
# ---------------------------------------------------------------------------------------------


CRASH_ARGS = ("gc", "--yes", "-m", "--min-age", "0s")


class CrashSafety(Case):
    """gc -m (blobs deleted for good, no trash) killed (SIGKILL) after its N-th mutation, then run
    again (tests/lib/crashloop.py), on the tree with an untagged re-push, an API delete and a
    referrer."""

    def test_kill_points(self):
        """at every kill point: SIGKILL, kept tags on disk and every tag (the referrer's too) served
        and pulled by the registry; the re-run exits 0 with the uninterrupted run's tree and audit;
        every removed path audited, blobs purged for good"""
        spec = cl.Spec(name="gc-m", args=list(CRASH_ARGS), base=self.b.m_tree(),
                       scratch=tempfile.mkdtemp(dir=self.b.tmp), restore=False,
                       also_pull=[("art/app", D["REF"])])  # the untagged referrer, by digest
        res = cl.run(spec, log=log)
        self.assertEqual(res.ref_problem, "", res.ref_problem)
        if not res.hooks:
            self.skipTest(f"{rt.CRASH_ENV}=1 had no effect: regsweep built without -Dtest_hooks=true")
        sys.stdout.write(f"# crash: {res.mutations} mutations in a full run of gc -m; {res.passed}/{res.tried} kill "
                         f"points passed every check, {res.served} served by the registry\n")
        sys.stdout.flush()
        self.assertGreaterEqual(res.tried, 10)
        self.assertFalse(res.failures, cl.format_failures(res))
        self.assertEqual((res.passed, res.served), (res.tried, res.tried))


# ---------------------------------------------------------------------------------------------
# 9. --registry-bin
# ---------------------------------------------------------------------------------------------


def age_blobs(root: str, seconds: float, keep_young=()) -> None:
    """Every blob's data file made `seconds` old (relative to clock.now()), but those in keep_young."""
    rt.set_blob_mtimes(root, clock.now() - seconds, keep=keep_young)


def registry_gc_doc(p: subprocess.CompletedProcess) -> dict:
    doc = rt.json_of(p)
    if "registry_gc" not in doc:
        raise AssertionError(f"no registry_gc in the --json document:\n{rt.show_run(p)}")
    return doc["registry_gc"]


class RegistryBin(Case):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not os.access(REAL_REGISTRY, os.X_OK):
            raise unittest.SkipTest(f"{REAL_REGISTRY} is not installed")

    def test_registry_bin_real(self):
        """gc --registry-bin /usr/bin/docker-registry: its output shown, the same blobs left as a plain
        garbage-collect; what it deleted is reported (text; --json registry_gc.deleted == the blobs gone,
        bytes_freed == their bytes)"""
        src = self.b.garbage()
        plain = self.b.copy("regbin-plain", src)
        text = self.b.copy("regbin-text", src)
        js = self.b.copy("regbin-json", src)
        gt.registry_gc(plain, dry_run=False)
        want = gt.blob_set(plain)
        before = gt.blob_set(src)
        self.assertLess(len(want), len(before), "the garbage storage has garbage")

        age_blobs(text, 2 * 3600)  # older than the default --min-age 1h: nothing to refuse
        p = regsweep(text, "gc", "--yes", "--registry-bin", REAL_REGISTRY)
        self.assertExit(p, 0)
        self.assertRegex(p.stdout, r"\d+ blobs marked, \d+ blobs and \d+ manifests eligible for deletion")
        self.assertIn("blob eligible for deletion", p.stdout)
        self.assertSameBlobs(want, gt.blob_set(text), "plain garbage-collect (first) vs gc --registry-bin")
        n = len(before - want)
        self.assertIn(f"listed {n} blobs eligible for deletion and deleted {n} blobs", p.stdout)

        p = regsweep(js, "--json", "gc", "--yes", "--min-age", "0s", "--registry-bin", REAL_REGISTRY)
        reg = registry_gc_doc(p)
        self.assertSameBlobs(want, gt.blob_set(js), "plain garbage-collect (first) vs gc --registry-bin --json")
        swept = before - gt.blob_set(js)
        self.assertEqual(reg["bytes_freed"], gt.blob_bytes(src, swept), reg)
        self.assertSameBlobs(swept, set(reg["deleted"]["digests"]), "blobs gone (first) vs registry_gc.deleted")
        self.assertSameBlobs(swept, set(reg["eligible"]["digests"]), "blobs gone (first) vs registry_gc.eligible")
        self.assertEqual((reg["deleted"]["count"], reg["deleted"]["bytes"]), (len(swept), gt.blob_bytes(src, swept)))
        self.assertIn("blobs marked", p.stderr, "with --json the registry's output goes to stderr")

    def test_young_blobs_refused(self):
        """a young orphan blob (uploaded now) beside old garbage: gc --registry-bin --yes refuses (exit 3)
        naming it and the way on, and nothing is swept; --dry-run reports what the registry lists (not
        "freed 0 B") and warns; once the orphan is 2h old the sweep runs and every tag still pulls"""
        root = self.b.copy("regbin-young")
        with rt.serve(root) as reg:
            delete(reg, "one/app", "A1")
            orphan = reg.upload_blob("one/app", b"an orphan blob pushed a moment ago: its manifest may be on its way\n")
        age_blobs(root, 2 * 3600, keep_young={orphan})
        garbage = names("A1", "cfg A1", "layer a1")
        self.assertTrue(garbage | {orphan} <= gt.blob_set(root))
        before = rt.tree_snapshot_excluding(root)

        p = regsweep(root, "gc", "--yes", "--registry-bin", REAL_REGISTRY)
        self.assertExit(p, 3)
        self.assertIn(orphan, p.stderr)
        self.assertIn("--min-age 1h", p.stderr)
        self.assertIn("--min-age 0s", p.stderr, "the hint says how to go on")
        self.assertNotIn("regsweep: running", p.stderr, "the registry's collector is not run")
        self.assertEqual(rt.diff_text(before, rt.tree_snapshot_excluding(root)), "", "a refusal changes nothing")

        listed = gt.registry_gc(root, dry_run=True).eligible
        self.assertEqual(listed, garbage | {orphan}, "the registry's own dry-run lists the young orphan too")
        p = regsweep(root, "--json", "gc", "--dry-run", "--registry-bin", REAL_REGISTRY)
        reg = registry_gc_doc(p)
        self.assertEqual(set(reg["eligible"]["digests"]), listed, reg)
        self.assertEqual(reg["eligible"]["bytes"], gt.blob_bytes(root, listed), reg)
        self.assertEqual((reg["deleted"]["count"], reg["bytes_freed"]), (0, 0), reg)
        self.assertEqual(reg["young_blobs"], [orphan], reg)
        self.assertIn(orphan, p.stderr, "the dry run warns about the young blob")
        p = regsweep(root, "gc", "--dry-run", "--registry-bin", REAL_REGISTRY)
        self.assertExit(p, 0)
        self.assertIn(f"lists {len(listed)} blobs eligible for deletion", p.stdout)
        self.assertNotIn("freed 0 B", p.stdout)
        self.assertEqual(rt.diff_text(before, rt.tree_snapshot_excluding(root)), "", "dry runs change nothing")

        age_blobs(root, 2 * 3600)
        reg = registry_gc_doc(regsweep(root, "--json", "gc", "--yes", "--registry-bin", REAL_REGISTRY))
        self.assertEqual(set(reg["deleted"]["digests"]), garbage | {orphan}, reg)
        self.assertFalse((garbage | {orphan}) & gt.blob_set(root))
        with rt.serve(root) as reg_:
            self.assertEqual(rt.pull_every_tag(reg_, [("art/app", D["REF"])]), {})

    def test_temporary_config(self):
        """without --config: the config goes to a fresh file in $TMPDIR, mode 0600, never through a
        symbolic link planted at the old predictable name regsweep-gc-<pid>.yml, and is removed on every
        path (success, a collector that fails, one that cannot start); paths with quotes and $(...) are
        plain arguments (no shell)"""
        work = tempfile.mkdtemp(dir=self.b.tmp)
        victim = os.path.join(work, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")

        def leftovers(tmp):
            return [n for n in os.listdir(tmp) if not os.path.islink(os.path.join(tmp, n))]

        def plain_result():
            plain = self.b.copy("regbin-tmp-plain", self.b.garbage())
            gt.registry_gc(plain, dry_run=False)
            return gt.blob_set(plain)

        want = plain_result()
        # sh's $$ is regsweep's pid once sh execs it: the link sits at the old name in advance.
        planted = os.path.join(work, "tmp")
        os.makedirs(planted)
        root = self.b.copy("regbin-tmp", self.b.garbage())
        script = ('ln -s "$VICTIM" "$TMPDIR/regsweep-gc-$$.yml" && exec "$REGSWEEP" --root "$ROOT" gc --yes '
                  '--min-age 0s --registry-bin "$REGISTRY"')
        env = dict(os.environ, TMPDIR=planted, VICTIM=victim, ROOT=root, REGISTRY=REAL_REGISTRY)
        env.pop(rt.CRASH_ENV, None)
        p = subprocess.run(["sh", "-c", script], cwd=work, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=TIMEOUT)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious\n", "the planted link was followed")
        self.assertEqual(p.returncode, 0, f"{p.stdout}\n{p.stderr}")
        self.assertEqual(leftovers(planted), [], "the temporary config is removed")
        self.assertSameBlobs(want, gt.blob_set(root), "plain garbage-collect (first) vs gc --registry-bin")

        # $TMPDIR with a quote and a command substitution: one argument, never read by a shell.
        odd = os.path.join(work, "tmp it's $(touch pwned)")
        os.makedirs(odd)
        root = self.b.copy("regbin-tmp-odd", self.b.garbage())
        p = subprocess.run([os.environ["REGSWEEP"], "--root", root, "gc", "--yes", "--min-age", "0s",
                            "--registry-bin", REAL_REGISTRY], cwd=work, env=dict(env, TMPDIR=odd),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0, f"{p.stdout}\n{p.stderr}")
        self.assertFalse(os.path.exists(os.path.join(work, "pwned")), "a path went through a shell")
        self.assertEqual(leftovers(odd), [], "the temporary config is removed")
        self.assertSameBlobs(want, gt.blob_set(root), "plain garbage-collect (first) vs gc --registry-bin")

        # A collector that fails: it saw a private config naming the root; the file is gone after.
        fake = os.path.join(work, "fake registry")
        with open(fake, "w") as f:
            f.write('#!/bin/sh\necho "fake collector: $1 mode $(stat -c %a "$2")"\ncat "$2"\nexit 7\n')
        os.chmod(fake, 0o755)
        again = self.b.copy("regbin-tmp-fail", self.b.garbage())
        p = regsweep(again, "gc", "--yes", "--min-age", "0s", "--registry-bin", fake, env={"TMPDIR": odd})
        self.assertExit(p, 1)
        self.assertIn("fake collector: garbage-collect mode 600", p.stdout)
        self.assertIn(json.dumps(again), p.stdout, "the config names the root")
        self.assertIn("exit status 7", p.stderr)
        # One that cannot start (a folder passes the X_OK check, execve refuses it).
        p = regsweep(again, "gc", "--yes", "--min-age", "0s", "--registry-bin", work, env={"TMPDIR": odd})
        self.assertExit(p, 1)
        self.assertIn("cannot start", p.stderr)
        self.assertEqual(leftovers(odd), [], "no temporary config is left behind by a failure")

    def test_config_path_and_root(self):
        """with --config: the registry sweeps --root (what regsweep planned for), not the config's
        rootdirectory; a config path with a quote in it is one argument"""
        work = tempfile.mkdtemp(dir=self.b.tmp)
        elsewhere = os.path.join(work, "elsewhere")
        os.makedirs(os.path.join(elsewhere, rt.V2, "repositories"))
        plain = self.b.copy("regbin-config-plain", self.b.garbage())
        gt.registry_gc(plain, dry_run=False)
        for name in ("config.yml", "it's a config.yml"):
            with self.subTest(config=name):
                config = rt.write_config(os.path.join(work, name), elsewhere, rt.free_port())
                root = self.b.copy("regbin-config", self.b.garbage())
                p = regsweep(root, "--config", config, "gc", "--yes", "--min-age", "0s", "--registry-bin", REAL_REGISTRY)
                self.assertExit(p, 0)
                self.assertSameBlobs(gt.blob_set(plain), gt.blob_set(root),
                                     "plain garbage-collect (first) vs gc --registry-bin --config")


# ---------------------------------------------------------------------------------------------
# 10. smaller things: --plan-out, the lock holder's line, a config with two drivers
# ---------------------------------------------------------------------------------------------


class PlanOut(Case):
    def test_plan_out_replaced_whole(self):
        """gc --plan-out over an existing file: it is replaced (a temporary file beside it, renamed), so
        a reader of the old plan sees it whole and nothing is left beside the new one"""
        root = self.b.copy("plan-out")
        with rt.serve(root) as reg:
            delete(reg, "one/app", "A1")
        out_dir = tempfile.mkdtemp(dir=self.b.tmp)
        path = os.path.join(out_dir, "plan.json")
        with open(path, "w") as f:
            f.write("the old plan\n")
        with open(path) as reader:
            p = regsweep(root, "gc", "--min-age", "0s", "--plan-out", path)
            self.assertExit(p, 0)
            self.assertEqual(reader.read(), "the old plan\n", "the old file was rewritten in place")
        with open(path) as f:
            plan = json.load(f)
        self.assertTrue(any(a.get("action") == "remove-blob" for a in plan["actions"]), plan)
        self.assertEqual(os.listdir(out_dir), ["plan.json"])
        p = regsweep(root, "gc", "--min-age", "0s", "--plan-out", os.path.join(out_dir, "missing", "plan.json"))
        self.assertExit(p, 1)
        self.assertIn(os.path.join(out_dir, "missing"), p.stderr)


class SmallerDefects(Case):
    def test_lock_holder_on_one_line(self):
        """another regsweep holds the lock: the refusal names its holder and the lock file on one line"""
        import fcntl
        root = self.b.copy("lock")
        os.makedirs(os.path.join(root, ".regsweep"))
        lock = os.path.join(root, ".regsweep", "lock")
        with open(lock, "w") as f:
            f.write("pid 4242: regsweep gc --yes\n")
            f.flush()
            fcntl.flock(f, fcntl.LOCK_EX)
            p = regsweep(root, "gc", "--yes", "--min-age", "0s")
        self.assertExit(p, 3)
        line = next((x for x in p.stderr.splitlines() if "another regsweep" in x), "")
        self.assertIn("pid 4242: regsweep gc --yes (" + lock + ")", line, p.stderr)

    def test_two_storage_drivers_refused(self):
        """a config naming filesystem and s3: exit 1 naming the file and both drivers (the registry refuses it)"""
        work = tempfile.mkdtemp(dir=self.b.tmp)
        root = self.b.copy("two-drivers")
        config = os.path.join(work, "config.yml")
        with open(config, "w") as f:
            f.write(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {json.dumps(root)}\n"
                    "  s3:\n    region: us-east-1\n    bucket: images\n")
        served = subprocess.run([REAL_REGISTRY, "garbage-collect", "--dry-run", config], capture_output=True,
                                text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertNotEqual(served.returncode, 0, "(oracle) the registry refuses the config")
        self.assertIn("exactly one storage type", served.stdout + served.stderr)
        p = subprocess.run([os.environ["REGSWEEP"], "--config", config, "gc", "--dry-run"], capture_output=True,
                           text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 1, f"{p.stdout}\n{p.stderr}")
        self.assertIn(config, p.stderr)
        self.assertIn('"filesystem"', p.stderr)
        self.assertIn('"s3"', p.stderr)


# ---------------------------------------------------------------------------------------------


class NoTerminal(Case):
    def test_no_terminal_without_yes(self):
        """gc without --yes and without a terminal: exit 2, nothing changed"""
        root = self.b.copy("no-tty")
        with rt.serve(root) as reg:
            delete(reg, "one/app", "A1")
        before = rt.tree_snapshot(root)
        p = regsweep(root, "gc", "--min-age", "0s")
        self.assertExit(p, 2)
        self.assertEqual(rt.diff_text(before, rt.tree_snapshot_excluding(root)), "")


class ZZ(Case):
    def test_no_leftover_registry(self):
        """every registry started was stopped"""
        self.assertFalse(rt.registries_running())

    def test_shared_storages_untouched(self):
        """the base storages were never written"""
        b = self.b
        self.assertEqual(rt.diff_text(b.snapshot, rt.tree_snapshot(b.root)), "")
        if b._garbage:
            self.assertEqual(rt.diff_text(b.garbage_snapshot, rt.tree_snapshot(b._garbage)), "")
        if b._m_tree:
            self.assertEqual(rt.diff_text(b.m_snapshot, rt.tree_snapshot(b._m_tree)), "")


def main():
    rt.require_binary()
    rt.require_tools(rt.registry_bin(), rt.skopeo_bin())
    bin_dir = tempfile.mkdtemp(prefix="regsweep-e2e-gc-bin-")
    rt.use_private_copy(bin_dir)
    classes = (GcVsRegistry, DeleteUntagged, Registry282BreaksMultiArch, MinAge, Uploads,
               PruneEmptyRepos, LinkAfterPlan, LinkDuringPlan, CrashSafety, RegistryBin, PlanOut,
               SmallerDefects, NoTerminal, ZZ)
    tap.run_classes(classes, only=sys.argv[1:],  # e.g. `test_gc.py MinAge CrashSafety` while working on one part
                    cleanup=(rt.stop_all_registries, Base.cleanup_instance,
                             lambda: shutil.rmtree(bin_dir, ignore_errors=True)))


if __name__ == "__main__":
    main()
