#!/usr/bin/env python3
"""End to end: `regsweep rm` against the real registry (docker-registry 2.8.2).

    REGSWEEP=build/regsweep python3 tests/e2e/test_rm.py     # TAP on stdout

One base storage is pushed once through the registry (tests/lib/scenarios.py's sample set plus
a small team/web repository: a re-pushed tag and a Docker v2s2 image, and sign/app: a signature
manifest under its cosign tag and under `prod`), the registry stopped,
and every test works on a copy of it (copy_tree keeps empty folders and mtimes):

- RmVsApi: for each scenario, copy A gets DELETE /v2/<repo>/manifests/<digest> through the
  API (tag resolved to its digest first), copy B gets `regsweep rm --yes --no-referrers`; the
  two trees must be identical (every path, empty folders included, and file contents;
  `.regsweep` is left out), and B, served, answers like A and pulls every remaining tag.
- Referrers, Untag, Repository, DryRun, NoTerminal, Lock, LiveRegistry, BadInput: the other
  behaviours of rm, each checked on disk and through a served registry.
- ReferrerWithATag, IndexChild (issue #16): following referrers leaves a signature that
  another tag names; a child of a tagged index is refused (exit 3) unless --break-index.
- Crash safety of rm is tests/e2e/test_torture.py's (a multi-reference rm killed at every
  mutation, served, re-run, accounted for and restored).

Fails (TAP "Bail out!") when REGSWEEP is unset or not an executable.
"""
from __future__ import annotations

import fcntl
import functools
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))

import regtest as rt  # noqa: E402
import scenarios  # noqa: E402
import tap  # noqa: E402

TIMEOUT = 60  # seconds for one regsweep run on this tiny tree

log = tap.logger("e2e-rm")


# ---------------------------------------------------------------------------------------------
# The images (deterministic: their digests are known before anything is pushed)
# ---------------------------------------------------------------------------------------------

SAMPLE = scenarios.sample_images()["images"]


def web_images() -> dict:
    L = {n: rt.layer({f"web/{n}.txt": f"web layer {n}\n"}) for n in ("base", "w1", "w2", "w3")}
    return {
        "w1": rt.image([L["base"], L["w1"]], created="2024-04-01T00:00:00Z"),
        "w2": rt.image([L["base"], L["w2"]], created="2024-04-02T00:00:00Z"),
        "w3": rt.image([L["base"], L["w3"]], created="2024-04-03T00:00:00Z"),
    }


WEB = web_images()


def signed_images() -> dict:
    z = rt.image([rt.layer({"sign/z.txt": "an image with a signature\n"})], created="2024-05-01T00:00:00Z")
    return {"z": z, "sig": rt.cosign_signature(z, "registry.example/sign/app")}


SIGNED = signed_images()

D = {
    "app_v1": SAMPLE["app_v1"].digest,
    "app_v0": SAMPLE["app_v0"].digest,
    "app_sig": SAMPLE["app_v1_sig"].digest,
    "app_sbom": SAMPLE["app_v1_sbom"].digest,
    "alpine": SAMPLE["alpine"].digest,
    "alpine_amd64": SAMPLE["alpine_amd64"].digest,
    "w1": WEB["w1"].digest,
    "w2": WEB["w2"].digest,
    "z": SIGNED["z"].digest,
    "z_sig": SIGNED["sig"].digest,
}
SIG_TAG = rt.cosign_tag(D["app_v1"])
Z_SIG_TAG = rt.cosign_tag(D["z"])


def populate_web(reg: rt.Registry, scratch: str) -> None:
    """team/web: prev -> w1; edge pushed as w1, then w2 (w1 stays in edge's index/);
    docker -> w3 as a Docker v2 schema 2 image."""
    layout = os.path.join(scratch, "web-layout")
    rt.make_oci_layout(layout, WEB)
    rt.push(layout, "w1", reg, "team/web", "prev")
    rt.push(layout, "w1", reg, "team/web", "edge")
    rt.push(layout, "w2", reg, "team/web", "edge")
    rt.push(layout, "w3", reg, "team/web", "docker", fmt="v2s2")


def populate_signed(reg: rt.Registry) -> None:
    """sign/app: z, its signature under sha256-<z>.sig, and the same signature under prod."""
    reg.push_manifest("sign/app", SIGNED["z"], "z")
    reg.push_manifest("sign/app", SIGNED["sig"], Z_SIG_TAG)
    reg.push_manifest("sign/app", SIGNED["sig"], "prod")


# ---------------------------------------------------------------------------------------------
# The base storage, built once per process
# ---------------------------------------------------------------------------------------------


class Base(rt.Workspace):
    def __init__(self):
        t0 = time.monotonic()
        super().__init__("regsweep-e2e-rm-")
        scratch = os.path.join(self.tmp, "scratch")
        os.makedirs(scratch)
        with rt.serve(self.root) as reg:
            self.info = scenarios.populate_sample(reg, scratch)
            populate_web(reg, scratch)
            populate_signed(reg)
            self.api = reg.describe()
            self.pull_problems = rt.pull_every_tag(reg)
        self.snapshot = rt.tree_snapshot(self.root)
        self.tags = rt.tags_on_disk(self.root)
        log(f"base storage built in {time.monotonic() - t0:.1f}s at {self.root}")


# ---------------------------------------------------------------------------------------------
# Running regsweep
# ---------------------------------------------------------------------------------------------


# `regsweep --root ROOT ARGS...` without a terminal (stdin = /dev/null)
regsweep = functools.partial(rt.run_regsweep, timeout=TIMEOUT, log=log)


class Case(rt.RegsweepCase):
    @classmethod
    def setUpClass(cls):
        cls.b = Base.get()


# ---------------------------------------------------------------------------------------------
# 1. rm --no-referrers == DELETE through the API
# ---------------------------------------------------------------------------------------------

# name, description, rm arguments, API references (repo, tag or digest),
# tags that must be gone {repo: [tags]}, tags the API leaves unpullable (the same must hold)
SCENARIOS = [
    ("shared_tag", "team/app:v1 shares its digest with latest: both tags go",
     ["team/app:v1"], [("team/app", "v1")], {"team/app": ["v1", "latest"]}, []),
    ("nested_repo", "team/app/sub:1.0 (repository nested in team/app): team/app untouched",
     ["team/app/sub:1.0"], [("team/app/sub", "1.0")], {"team/app/sub": ["1.0"]}, []),
    ("nested_parent", "team/app:latest and team/app/sub:multi in one call (parent and nested)",
     ["team/app:latest", "team/app/sub:multi"], [("team/app", "latest"), ("team/app/sub", "multi")],
     {"team/app": ["v1", "latest"], "team/app/sub": ["multi"]}, []),
    ("oci_index", "multi-arch OCI index by tag (library/alpine:3.19; latest shares it)",
     ["library/alpine:3.19"], [("library/alpine", "3.19")], {"library/alpine": ["3.19", "latest"]}, []),
    ("docker_list", "Docker manifest list by tag (team/app/sub:multi)",
     ["team/app/sub:multi"], [("team/app/sub", "multi")], {"team/app/sub": ["multi"]}, []),
    ("docker_v2s2", "Docker v2 schema 2 image by tag (team/web:docker)",
     ["team/web:docker"], [("team/web", "docker")], {"team/web": ["docker"]}, []),
    ("by_digest", "digest form team/app@sha256:<v1>: v1 and latest go",
     [f"team/app@{D['app_v1']}"], [("team/app", D["app_v1"])], {"team/app": ["v1", "latest"]}, []),
    ("host_localhost_port", "host-prefixed localhost:5000/team/app:v1",
     ["localhost:5000/team/app:v1"], [("team/app", "v1")], {"team/app": ["v1", "latest"]}, []),
    ("host_domain", "host-prefixed myregistry.example.com/team/app:v1",
     ["myregistry.example.com/team/app:v1"], [("team/app", "v1")], {"team/app": ["v1", "latest"]}, []),
    ("host_localhost", "host-prefixed localhost/team/app/sub:1.0",
     ["localhost/team/app/sub:1.0"], [("team/app/sub", "1.0")], {"team/app/sub": ["1.0"]}, []),
    ("repushed_tag", "re-pushed tag team/web:edge (w1 then w2): w2 goes, w1 stays (prev)",
     ["team/web:edge"], [("team/web", "edge")], {"team/web": ["edge"]}, []),
    ("repushed_old_digest", "team/web@<w1>: prev goes; edge (w1 in its history, current w2) stays",
     [f"team/web@{D['w1']}"], [("team/web", D["w1"])], {"team/web": ["prev"]}, []),
    ("untagged_old_revision", "team/app@<v0>, untagged, still in latest's history: revision link only",
     [f"team/app@{D['app_v0']}"], [("team/app", D["app_v0"])], {}, []),
    ("several", "three references in one call (team/app:v1 team/app/sub:1.0 library/alpine:latest)",
     ["team/app:v1", "team/app/sub:1.0", "library/alpine:latest"],
     [("team/app", "v1"), ("team/app/sub", "1.0"), ("library/alpine", "latest")],
     {"team/app": ["v1", "latest"], "team/app/sub": ["1.0"], "library/alpine": ["3.19", "latest"]}, []),
    ("index_child", "a child manifest of the alpine index by digest, with --break-index (the API leaves the index broken)",
     ["--break-index", f"library/alpine@{D['alpine_amd64']}"], [("library/alpine", D["alpine_amd64"])], {},
     ["library/alpine:3.19", "library/alpine:latest"]),
]


class RmVsApi(Case):
    """regsweep rm --yes --no-referrers against DELETE /v2/<repo>/manifests/<digest>."""

    def test_00_base_sane(self):
        """the base storage: every tag pulls, and the digests the scenarios name are there"""
        self.assertEqual(self.b.pull_problems, {})
        api = self.b.api["repositories"]
        self.assertEqual(api["team/app"]["tags"]["v1"]["digest"], D["app_v1"])
        self.assertEqual(api["team/app"]["tags"][SIG_TAG]["digest"], D["app_sig"])
        self.assertEqual(api["team/web"]["tags"]["edge"]["digest"], D["w2"])
        self.assertEqual(api["team/web"]["tags"]["prev"]["digest"], D["w1"])
        self.assertEqual(api["team/web"]["tags"]["docker"]["media_type"], rt.DOCKER_MANIFEST)
        self.assertEqual(api["team/app/sub"]["tags"]["multi"]["media_type"], rt.DOCKER_LIST)
        self.assertEqual(api["library/alpine"]["tags"]["3.19"]["media_type"], rt.OCI_INDEX)
        for repo, d in (("team/app", D["app_v0"]), ("team/app", D["app_sbom"]),
                        ("library/alpine", D["alpine_amd64"]), ("team/web", D["w1"])):
            self.assertIn(d, rt.revisions_on_disk(self.b.root, repo))
        # w1 is still listed in edge's history
        self.assertTrue(os.path.exists(os.path.join(
            self.b.root, rt.tag_dir("team/web", "edge"), "index", "sha256", D["w1"].split(":")[1], "link")))

    def check_scenario(self, name, rm_args, api_refs, gone, broken):
        a = self.b.copy(f"{name}-api")
        b = self.b.copy(f"{name}-rm")
        base_tags = self.b.tags

        # A: through the API
        with rt.Registry(a) as reg:
            statuses = rt.api_delete_refs(reg, api_refs)
            api_after = reg.describe()
            api_pull = rt.pull_every_tag(reg)
        reg.cleanup()
        for repo, d, st in statuses:
            self.assertEqual(st, 202, f"API DELETE {repo}@{d}: {st}")
        # the oracle did what the scenario says
        for repo, tags in gone.items():
            for t in tags:
                self.assertNotIn(t, api_after["repositories"].get(repo, {}).get("tags", {}),
                                 f"API: {repo}:{t} still there")
        self.assertEqual(sorted(api_pull), sorted(broken), f"API pull problems: {api_pull}")

        # B: regsweep
        p = regsweep(b, "rm", "--yes", "--no-referrers", *rm_args)
        self.assertExit(p, 0)

        # identical trees (paths incl. empty folders, contents), .regsweep left out
        d = rt.diff_snapshots(rt.tree_snapshot_excluding(a), rt.tree_snapshot_excluding(b))
        if d != {"removed": [], "added": [], "changed": []}:
            self.fail(f"tree after API DELETE (A) vs after regsweep rm (B); '-' only in A, '+' only in B:\n"
                      f"{rt.format_diff(d)}\nregsweep output:\n{p.stdout[-2000:]}")

        # B, served: deleted tags gone, the same answers as A, every remaining tag pulls
        with rt.Registry(b) as reg:
            rm_after = reg.describe()
            rm_pull = rt.pull_every_tag(reg)
        reg.cleanup()
        for repo, tags in gone.items():
            listed = rm_after["repositories"].get(repo, {}).get("tags", {})
            for t in tags:
                self.assertNotIn(t, listed, f"{repo}:{t} still in tags/list after rm")
        self.assertEqual(rm_after, api_after)
        self.assertEqual(sorted(rm_pull), sorted(broken),
                         f"tags that do not pull completely after rm: {json.dumps(rm_pull, indent=1)}")
        # tags nobody asked about are still there with their digests
        for repo, tags in base_tags.items():
            for t, dg in tags.items():
                if t in gone.get(repo, []):
                    continue
                got = rm_after["repositories"].get(repo, {}).get("tags", {}).get(t, {}).get("digest")
                self.assertEqual(got, dg, f"{repo}:{t} changed")
        shutil.rmtree(a, ignore_errors=True)
        shutil.rmtree(b, ignore_errors=True)


def _make_scenario_test(sc):
    name, doc, rm_args, api_refs, gone, broken = sc

    def test(self):
        self.check_scenario(name, rm_args, api_refs, gone, broken)
    test.__doc__ = f"{doc}: tree == API DELETE's, served tags == API's, remaining tags pull"
    return test


for _sc in SCENARIOS:
    setattr(RmVsApi, f"test_{_sc[0]}", _make_scenario_test(_sc))


# ---------------------------------------------------------------------------------------------
# 2. referrers
# ---------------------------------------------------------------------------------------------


class Referrers(Case):
    def test_referrers_cascade(self):
        """rm team/app:v1 (with referrers): .sig tag and subject artifact go too, as API DELETEs of all 3 digests

        The output says how this differs from the API; the audit log has one line per removed
        path; the registry then serves and pulls every remaining tag."""
        a = self.b.copy("referrers-api")
        b = self.b.copy("referrers-rm")
        with rt.Registry(a) as reg:
            statuses = rt.api_delete_refs(reg, [("team/app", "v1"), ("team/app", SIG_TAG),
                                               ("team/app", D["app_sbom"])])
        reg.cleanup()
        self.assertEqual([s for _, _, s in statuses], [202, 202, 202])

        p = regsweep(b, "rm", "--yes", "team/app:v1")
        self.assertExit(p, 0)
        out = p.stdout + p.stderr
        self.assertRegex(out, r"(?i)API", "the output should say the registry's API would keep referrers")
        self.assertIn("--no-referrers", out)

        expected_gone = [rt.tag_dir("team/app", "v1"), rt.tag_dir("team/app", "latest"), rt.tag_dir("team/app", SIG_TAG),
                         rt.revision_link("team/app", D["app_v1"]), rt.revision_link("team/app", D["app_sig"]),
                         rt.revision_link("team/app", D["app_sbom"])]
        for rel in expected_gone:
            self.assertFalse(os.path.lexists(os.path.join(b, rel)), f"{rel} still there")
        # like the API: the revision folder of the artifact stays (only its link goes)
        self.assertTrue(os.path.isdir(os.path.dirname(os.path.join(b, rt.revision_link("team/app", D["app_sbom"])))))
        self.assertTrue(os.path.exists(os.path.join(b, rt.revision_link("team/app", D["app_v0"]))))

        d = rt.diff_snapshots(rt.tree_snapshot_excluding(a), rt.tree_snapshot_excluding(b))
        if d != {"removed": [], "added": [], "changed": []}:
            self.fail(f"API deleting v1, the .sig digest and the artifact (A) vs rm team/app:v1 (B):\n"
                      f"{rt.format_diff(d)}")

        # the audit log: one line per removed path
        audit = rt.read_audit(b)
        paths = [x.get("path") for x in audit]
        self.assertEqual(sorted(paths), sorted(x.replace(os.sep, "/") for x in expected_gone),
                         f"audit.jsonl: {json.dumps(audit, indent=1)[:3000]}")

        with rt.Registry(b) as reg:
            self.assertEqual(reg.tags("team/app"), [])
            self.assertIsNone(reg.manifest_digest("team/app", D["app_sbom"]))
            self.assertIsNone(reg.manifest_digest("team/app", D["app_sig"]))
            self.assertIsNone(reg.manifest_digest("team/app", D["app_v1"]))
            self.assertEqual(rt.pull_every_tag(reg), {})
            self.assertEqual(reg.catalog(), self.b.api["catalog"])
        reg.cleanup()


class ReferrerWithATag(Case):
    def test_rm_leaves_a_signature_another_tag_names(self):
        """rm sign/app:z: z and its cosign tag go; prod (the same signature manifest) stays and pulls"""
        root = self.b.copy("referrer-with-a-tag")
        before = rt.tree_snapshot_excluding(root)
        p = regsweep(root, "rm", "--yes", "sign/app:z")
        self.assertExit(p, 0)
        self.assertNotRegex(p.stdout, r"sign/app:prod\s", "the plan names prod")
        d = rt.diff_snapshots(before, rt.tree_snapshot_excluding(root))
        gone = [rt.tag_dir("sign/app", "z"), rt.tag_dir("sign/app", Z_SIG_TAG), rt.revision_link("sign/app", D["z"])]
        stray = [x for x in d["removed"] if not any(x == g or x.startswith(g + os.sep) for g in gone)]
        self.assertEqual(stray, [], "removed beyond z, its revision link and its cosign tag:\n" + rt.format_diff(d))
        for g in gone:
            self.assertIn(g, d["removed"], rt.format_diff(d))
        self.assertEqual(rt.tags_on_disk(root)["sign/app"], {"prod": D["z_sig"]})
        self.assertEqual(sorted(x.get("path") for x in rt.read_audit(root)), sorted(x.replace(os.sep, "/") for x in gone))
        with rt.Registry(root) as reg:
            self.assertEqual(reg.tags("sign/app"), ["prod"])
            self.assertEqual(reg.manifest_digest("sign/app", "prod"), D["z_sig"])
            self.assertEqual(reg.pull_all("sign/app", "prod"), [])
            self.assertIsNone(reg.manifest_digest("sign/app", D["z"]))
            self.assertEqual(rt.pull_every_tag(reg), {})
        reg.cleanup()


class IndexChild(Case):
    def test_refused_naming_tags_and_platforms(self):
        """rm library/alpine@<amd64 child> (also --dry-run): exit 3 naming 3.19 and latest (linux/amd64) and --break-index; nothing changed; every tag pulls"""
        root = self.b.copy("index-child-refused")
        before = rt.tree_snapshot_excluding(root)
        for extra in (["--yes"], ["--dry-run"]):
            with self.subTest(extra=extra):
                p = regsweep(root, "rm", *extra, f"library/alpine@{D['alpine_amd64']}")
                self.assertExit(p, 3)
                for s in ("library/alpine:3.19 (platforms: linux/amd64)", "library/alpine:latest (platforms: linux/amd64)",
                          "--break-index", D["alpine_amd64"]):
                    self.assertIn(s, p.stderr)
                self.assertSameTree(before, rt.tree_snapshot_excluding(root), "a refused rm changed the storage")
        self.assertEqual(rt.read_audit(root), [])
        with rt.Registry(root) as reg:
            self.assertEqual(rt.pull_every_tag(reg), {})
            self.assertEqual(reg.manifest_digest("library/alpine", D["alpine_amd64"]), D["alpine_amd64"])
        reg.cleanup()


# ---------------------------------------------------------------------------------------------
# 3. --untag
# ---------------------------------------------------------------------------------------------


class Untag(Case):
    def test_untag_only_the_tag_folder(self):
        """rm --untag team/app:v1: only tags/v1/ goes; the digest resolves by digest and via latest"""
        root = self.b.copy("untag")
        before = rt.tree_snapshot_excluding(root)
        p = regsweep(root, "rm", "--yes", "--untag", "team/app:v1")
        self.assertExit(p, 0)
        d = rt.diff_snapshots(before, rt.tree_snapshot_excluding(root))
        prefix = rt.tag_dir("team/app", "v1")
        self.assertIn(prefix, d["removed"])
        self.assertEqual([x for x in d["removed"] if not (x == prefix or x.startswith(prefix + os.sep))], [],
                         rt.format_diff(d))
        self.assertEqual(d["added"] + d["changed"], [], rt.format_diff(d))
        with rt.Registry(root) as reg:
            tags = reg.tags("team/app")
            self.assertNotIn("v1", tags)
            self.assertIn("latest", tags)
            self.assertIn(SIG_TAG, tags)
            self.assertEqual(reg.manifest_digest("team/app", D["app_v1"]), D["app_v1"])
            self.assertEqual(reg.manifest_digest("team/app", "latest"), D["app_v1"])
            self.assertEqual(reg.pull_all("team/app", D["app_v1"]), [])
            self.assertEqual(reg.pull_all("team/app", D["app_sbom"]), [])
            self.assertEqual(rt.pull_every_tag(reg), {})
        reg.cleanup()


# ---------------------------------------------------------------------------------------------
# 4. --repository
# ---------------------------------------------------------------------------------------------


class Repository(Case):
    def test_repository_with_nested_one(self):
        """rm --repository team/app (team/app/sub nested) old/unused: gone from the catalog, sub pulls

        A dry run first changes nothing; then _manifests, _layers, _uploads of team/app go,
        old/unused and its empty parent go, team/app/sub and every blob stay."""
        root = self.b.copy("repository")
        full_before = rt.tree_snapshot(root)
        p = regsweep(root, "rm", "--dry-run", "--repository", "team/app", "--repository", "old/unused")
        self.assertExit(p, 0)
        self.assertSameTree(full_before, rt.tree_snapshot(root), "rm --dry-run --repository changed the tree")
        self.assertFalse(os.path.exists(os.path.join(root, ".regsweep")), ".regsweep created by a dry run")
        self.assertIn("team/app", p.stdout)

        p = regsweep(root, "rm", "--yes", "--repository", "team/app", "--repository", "old/unused")
        self.assertExit(p, 0)
        for part in ("_manifests", "_layers", "_uploads"):
            self.assertFalse(os.path.lexists(os.path.join(root, rt.repo_dir("team/app", part))), part)
        self.assertFalse(os.path.lexists(os.path.join(root, rt.repo_dir("old/unused"))), "old/unused folder")
        self.assertFalse(os.path.lexists(os.path.join(root, rt.repo_dir("old"))), "empty parent folder old/")
        # the nested repository and everything outside the two repositories are as they were
        after = rt.tree_snapshot_excluding(root)
        sub = rt.repo_dir("team/app/sub")
        for path, v in full_before.items():
            keep = (path == sub or path.startswith(sub + os.sep)
                    or not (path.startswith(rt.repo_dir("team/app")) or path.startswith(rt.repo_dir("old"))))
            if keep:
                self.assertEqual(after.get(path), v, f"{path} changed or removed")
        self.assertEqual(rt.blobs_on_disk(root), rt.blobs_on_disk(self.b.root))
        with rt.Registry(root) as reg:
            cat = reg.catalog()
            self.assertNotIn("team/app", cat)
            self.assertNotIn("old/unused", cat)
            self.assertEqual(cat, ["library/alpine", "sign/app", "team/app/sub", "team/web"])
            self.assertEqual(reg.tags("team/app/sub"), sorted(self.b.api["repositories"]["team/app/sub"]["tags"]))
            self.assertEqual(reg.tags("team/app"), [])
            self.assertEqual(rt.pull_every_tag(reg), {})
        reg.cleanup()


# ---------------------------------------------------------------------------------------------
# 5. --dry-run
# ---------------------------------------------------------------------------------------------


class DryRun(Case):
    def test_dry_run_lists_and_changes_nothing(self):
        """rm --dry-run team/app:v1: tree unchanged (no .regsweep), lists latest, the digests and referrers"""
        root = self.b.copy("dry-run")
        before = rt.tree_snapshot(root)
        p = regsweep(root, "rm", "--dry-run", "team/app:v1")
        self.assertExit(p, 0)
        self.assertSameTree(before, rt.tree_snapshot(root), "rm --dry-run changed the tree")
        self.assertFalse(os.path.exists(os.path.join(root, ".regsweep")))
        for s in ("team/app:latest", "team/app:v1", D["app_v1"], SIG_TAG, D["app_sig"], D["app_sbom"]):
            self.assertIn(s, p.stdout, f"dry-run output does not name {s}")
        self.assertNotIn(D["app_v0"], p.stdout)

    def test_dry_run_json_plan(self):
        """--json rm --dry-run: a JSON document whose plan lists every action; tree unchanged"""
        root = self.b.copy("dry-run-json")
        before = rt.tree_snapshot(root)
        p = regsweep(root, "--json", "rm", "--dry-run", "team/app:v1")
        self.assertExit(p, 0)
        self.assertSameTree(before, rt.tree_snapshot(root), "rm --json --dry-run changed the tree")
        try:
            doc = json.loads(p.stdout)
        except ValueError as e:
            self.fail(f"stdout is not JSON ({e}):\n{p.stdout[:2000]}")
        self.assertIs(doc.get("dry_run"), True)
        actions = doc.get("plan", {}).get("actions")
        self.assertIsInstance(actions, list, json.dumps(doc)[:2000])
        got = sorted((a.get("action"), a.get("path")) for a in actions)
        want = sorted([("remove-tag", rt.tag_dir("team/app", t).replace(os.sep, "/")) for t in ("v1", "latest", SIG_TAG)]
                      + [("remove-revision", rt.revision_link("team/app", d).replace(os.sep, "/"))
                         for d in (D["app_v1"], D["app_sig"], D["app_sbom"])])
        self.assertEqual(got, want)

    def test_dry_run_no_referrers(self):
        """rm --dry-run --no-referrers team/app:v1: the plan leaves the .sig tag and the artifact"""
        root = self.b.copy("dry-run-noref")
        p = regsweep(root, "--json", "rm", "--dry-run", "--no-referrers", "team/app:v1")
        self.assertExit(p, 0)
        actions = json.loads(p.stdout)["plan"]["actions"]
        paths = {a["path"] for a in actions}
        self.assertIn(rt.tag_dir("team/app", "latest"), paths)
        self.assertNotIn(rt.tag_dir("team/app", SIG_TAG), paths)
        self.assertNotIn(rt.revision_link("team/app", D["app_sbom"]), paths)


# ---------------------------------------------------------------------------------------------
# 6. no terminal, 7. lock, 8. live registry
# ---------------------------------------------------------------------------------------------


class Safety(Case):
    def test_no_terminal_without_yes(self):
        """rm without --yes and without a terminal: exit 2, tree unchanged, no .regsweep"""
        root = self.b.copy("no-tty")
        before = rt.tree_snapshot(root)
        p = regsweep(root, "rm", "team/app:v1")
        self.assertExit(p, 2)
        self.assertIn("--yes", p.stderr)
        self.assertSameTree(before, rt.tree_snapshot(root), "rm without a terminal changed the tree")

    def test_lock_held_by_another(self):
        """an flock held on .regsweep/lock: exit 3 naming another regsweep, tree unchanged; then it works"""
        root = self.b.copy("lock")
        os.makedirs(os.path.join(root, ".regsweep"))
        lock = os.path.join(root, ".regsweep", "lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, b"pid 1: the test holds this lock\n")
            before = rt.tree_snapshot(root)
            p = regsweep(root, "rm", "--yes", "team/app:v1")
            self.assertExit(p, 3)
            self.assertRegex(p.stderr, r"another regsweep")
            self.assertSameTree(before, rt.tree_snapshot(root), "rm under a held lock changed the tree")
        finally:
            os.close(fd)
        p = regsweep(root, "rm", "--yes", "team/app:v1")
        self.assertExit(p, 0)
        self.assertFalse(os.path.exists(os.path.join(root, rt.tag_dir("team/app", "v1"))))

    def test_live_registry_refused_unless_force(self):
        """a docker-registry serving the root: exit 3 naming it, nothing removed; --force proceeds"""
        root = self.b.copy("live")
        before = rt.tree_snapshot_excluding(root)
        with rt.serve(root) as reg:
            pid = reg.proc.pid
            p = regsweep(root, "rm", "--yes", "team/app:v1")
            self.assertExit(p, 3)
            self.assertIn("registry", p.stderr)
            self.assertIn(str(pid), p.stderr, "the refusal should name the registry process")
            self.assertSameTree(before, rt.tree_snapshot_excluding(root), "refused rm changed the tree")
            self.assertEqual(rt.read_audit(root), [])
            p = regsweep(root, "rm", "--yes", "--force", "team/app:v1")
            self.assertExit(p, 0)
            self.assertFalse(os.path.exists(os.path.join(root, rt.tag_dir("team/app", "v1"))))
            self.assertNotIn("v1", reg.tags("team/app"))
        self.assertIsNone(reg.proc)

    def test_readonly_registry_is_no_reason_to_refuse(self):
        """a registry serving the root read-only (maintenance mode): rm proceeds, gc refuses"""
        root = self.b.copy("readonly")
        with rt.serve(root, readonly=True) as reg:
            p = regsweep(root, "rm", "--yes", "team/app:v1")
            self.assertExit(p, 0)
            self.assertIn("read-only registry", p.stderr)
            self.assertFalse(os.path.exists(os.path.join(root, rt.tag_dir("team/app", "v1"))))
            # a sweep of blobs under a running registry, read-only or not, is refused
            p = regsweep(root, "gc", "--yes")
            self.assertExit(p, 3)
        self.assertIsNone(reg.proc)


# ---------------------------------------------------------------------------------------------
# 9. bad input
# ---------------------------------------------------------------------------------------------

BAD = [
    # reference, exit code, what stderr must name
    ("nosuch/repo:v1", 1, "nosuch/repo"),
    ("team/app:nosuch", 1, "team/app:nosuch"),
    ("team/app@sha256:" + "0" * 64, 1, "sha256:" + "0" * 64),
    ("Team/App:v1", 2, "Team/App:v1"),
    ("../x:v1", 2, "../x:v1"),
    ("../team/app:v1", 2, "../team/app:v1"),
    ("/abs:v1", 2, "/abs:v1"),
    ("a b:v1", 2, "a b:v1"),
    ("app", 2, "app"),
    ("app@sha256:xyz", 2, "app@sha256:xyz"),
]


class Protect(Case):
    """--protect (issue #20): what running workloads use is never deleted, by rm, gc -m or prune."""

    def protect_file(self, root: str, text: str) -> str:
        path = os.path.join(os.path.dirname(root), "pods.txt")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_rm_of_a_protected_image_is_refused(self):
        """kubectl imageID output protects team/app@v1: rm team/app:v1 refused (exit 3) naming the line; the tree unchanged"""
        root = self.b.copy("protect-rm")
        pods = self.protect_file(root, "# kubectl get pods -A -o jsonpath='{..imageID}'\n"
                                       f"docker-pullable://registry.example:5000/library/alpine@{D['alpine']} "
                                       f"docker-pullable://registry.example:5000/team/app@{D['app_v1']}\n")
        before = rt.tree_snapshot_excluding(root)
        for args in (["rm", "--yes", "team/app:v1"], ["rm", "--yes", "--break-index", f"library/alpine@{D['alpine_amd64']}"],
                     ["rm", "--yes", "team/app:" + SIG_TAG]):  # the signature of a protected image is protected too
            with self.subTest(args=args):
                p = regsweep(root, "--protect", pods, *args)
                self.assertExit(p, 3)
                self.assertIn(pods + ":2", p.stderr)
                self.assertIn("nothing was changed", p.stderr)
                self.assertSameTree(before, rt.tree_snapshot_excluding(root), "a protected image was touched")
        self.assertEqual(rt.read_audit(root), [])
        # What it does not protect goes as usual.
        p = regsweep(root, "--protect", pods, "rm", "--yes", "team/app/sub:1.0")
        self.assertExit(p, 0)
        self.assertFalse(os.path.exists(os.path.join(root, rt.REPOS_DIR, "team/app/sub/_manifests/tags/1.0")))

    def test_gc_m_and_prune_do_not_delete_a_protected_untagged_image(self):
        """team/app@v0 is untagged: gc -m and prune --untagged refuse (exit 3) while it is protected; without --protect they go on"""
        root = self.b.copy("protect-gc")
        pods = self.protect_file(root, f"team/app@{D['app_v0']}\n")
        before = rt.tree_snapshot_excluding(root)
        for args in (["gc", "-m", "--yes", "--min-age", "0s"], ["prune", "--yes", "--repo", "team/app", "--untagged"]):
            with self.subTest(args=args):
                p = regsweep(root, "--protect", pods, *args)
                self.assertExit(p, 3)
                self.assertIn(f"team/app@{D['app_v0']}", p.stderr)
                self.assertSameTree(before, rt.tree_snapshot_excluding(root), "a protected image was touched")
        p = regsweep(root, "gc", "-m", "--yes", "--min-age", "0s")
        self.assertExit(p, 0)
        self.assertFalse(os.path.exists(os.path.join(root, rt.REPOS_DIR, "team/app/_manifests/revisions/sha256", D["app_v0"][7:])))

    def test_bad_protect_lists(self):
        """a missing file, a token that is no reference, --protect - with another stdin reader: refused, nothing changed"""
        root = self.b.copy("protect-bad")
        before = rt.tree_snapshot_excluding(root)
        bad = self.protect_file(root, "team/app:v1\nNot A Reference!\n")
        for args, code, word in ((["--protect", "/nonexistent/pods.txt"], 1, "/nonexistent/pods.txt"),
                                 (["--protect", bad], 2, bad + ":2"),
                                 (["--protect", "-", "--protect", "-"], 2, "stdin")):
            with self.subTest(args=args):
                p = regsweep(root, *args, "rm", "--yes", "team/app/sub:1.0")
                self.assertExit(p, code)
                self.assertIn(word, p.stderr)
                self.assertSameTree(before, rt.tree_snapshot_excluding(root), "a refused run changed the tree")


class BadInput(Case):
    def test_bad_references(self):
        """unknown repository/tag/digest: exit 1; malformed references: exit 2; the reference named; nothing changed"""
        for ref, code, named in BAD:
            with self.subTest(reference=ref):
                root = self.b.copy("bad")
                before = rt.tree_snapshot_ignoring_lock(root)
                p = regsweep(root, "rm", "--yes", ref)
                d = rt.diff_snapshots(before, rt.tree_snapshot_ignoring_lock(root))
                problems = []  # every check, so that one report says all that went wrong
                if p.returncode != code:
                    problems.append(f"exit {p.returncode}, expected {code}")
                if named not in p.stderr:
                    problems.append(f"stderr does not name {named!r}")
                if d != {"removed": [], "added": [], "changed": []}:
                    problems.append(f"the storage changed:\n{rt.format_diff(d, limit=12)}")
                shutil.rmtree(root, ignore_errors=True)
                if problems:
                    self.fail(f"rm --yes {ref!r}: " + "; ".join(problems) + "\n" + rt.show_run(p))

    def test_garbage_current_link(self):
        """a tag whose current/link holds garbage: exit 1 naming the link, nothing changed"""
        root = self.b.copy("garbage-link")
        link = os.path.join(root, rt.tag_dir("team/app", "v1"), "current", "link")
        with open(link, "wb") as f:
            f.write(b"this is not a digest\n")
        before = rt.tree_snapshot_ignoring_lock(root)
        p = regsweep(root, "rm", "--yes", "team/app:v1")
        self.assertExit(p, 1)
        self.assertIn(os.path.join("team", "app", "_manifests", "tags", "v1", "current", "link"), p.stderr)
        self.assertSameTree(before, rt.tree_snapshot_ignoring_lock(root), "rm of a tag with a garbage link changed the storage")


# ---------------------------------------------------------------------------------------------
# 10. crash safety
# ---------------------------------------------------------------------------------------------

# rm killed at every mutation (SIGKILL), re-run, served by the registry, accounted for and
# restored: tests/e2e/test_torture.py (test_1_rm), with the harness tests/lib/crashloop.py.


# ---------------------------------------------------------------------------------------------


class ZZ(Case):
    def test_no_leftover_registry(self):
        """every registry started was stopped"""
        self.assertFalse(rt.registries_running())

    def test_base_untouched(self):
        """the shared base storage was never written"""
        self.assertSameTree(self.b.snapshot, rt.tree_snapshot(self.b.root), "base storage changed")


def main():
    rt.require_binary()
    rt.require_tools(rt.registry_bin(), rt.skopeo_bin())
    tap.run_classes((RmVsApi, Referrers, ReferrerWithATag, IndexChild, Untag, Repository, DryRun, Safety, Protect, BadInput, ZZ),
                    cleanup=(rt.stop_all_registries, Base.cleanup_instance))


if __name__ == "__main__":
    main()
