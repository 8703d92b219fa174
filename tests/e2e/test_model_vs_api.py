#!/usr/bin/env python3
"""End to end: regsweep's model of a store against what the real registry says about it.

    REGSWEEP=build/regsweep python3 tests/e2e/test_model_vs_api.py     # TAP on stdout
    python3 tests/e2e/test_model_vs_api.py --selftest                 # the registry part only

A registry (docker-registry 2.8.2) on 127.0.0.1 and a temporary root gets the sample scenario
(tests/lib/scenarios.py: nested names, shared layers, a re-pushed tag, two tags on one digest,
an OCI index, a Docker manifest list, a Docker v2s2 image, an artifact with subject pushed by
digest, a cosign-style .sig tag, an abandoned upload, API deletes that leave garbage). The API
is recorded, the registry stopped, `garbage-collect --dry-run` run, and then regsweep's
`ls` and `report` must agree with all of it. Fails (TAP "Bail out!") when REGSWEEP is unset
or not an executable.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))

import regtest as rt  # noqa: E402
import scenarios  # noqa: E402
import tap  # noqa: E402

TIMEOUT = 60  # seconds for one regsweep run on this tiny tree


log = tap.logger("e2e")


class World(rt.Workspace):
    """The store, built once per process: populated through the registry, then stopped."""

    def __init__(self):
        t0 = time.monotonic()
        super().__init__("regsweep-e2e-", base="root")
        scratch = os.path.join(self.tmp, "scratch")
        os.makedirs(scratch)
        with rt.serve(self.root) as reg:
            self.info = scenarios.populate_sample(reg, scratch)
            self.api = reg.describe()
            refs = [(r, t) for r, x in self.api["repositories"].items() for t in x["tags"]]
            refs += [(x["repo"], x["digest"]) for x in self.info["untagged_referrers"]]
            self.pull_problems = {f"{r}:{t}": p for r, t in refs if (p := reg.pull_all(r, t))}
            reg.stop()
            self.gc = rt.garbage_collect(reg.config_path, dry_run=True)
        self.blob_sizes = rt.blobs_on_disk(self.root)
        self.uploads = rt.uploads_on_disk(self.root)
        self.snapshot = rt.tree_snapshot(os.path.join(self.root, "docker"))
        self._runs: dict = {}
        log(f"store built in {time.monotonic() - t0:.1f}s at {self.root}")

    def tags_with_digests(self, repo: str) -> dict:
        return {t: v["digest"] for t, v in self.api["repositories"][repo]["tags"].items()}

    def regsweep(self, *args: str) -> subprocess.CompletedProcess:
        """Run the binary (cached by arguments: ls and report are read-only)."""
        if args not in self._runs:
            cmd = [os.environ["REGSWEEP"], *args]
            t0 = time.monotonic()
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=TIMEOUT)
            log(f"{' '.join(cmd)} -> {p.returncode} in {time.monotonic() - t0:.2f}s")
            self._runs[args] = p
        return self._runs[args]

    def regsweep_json(self, *args: str) -> dict:
        p = self.regsweep(*args)
        if p.returncode != 0:
            raise AssertionError(f"regsweep {' '.join(args)} exited {p.returncode}\n"
                                 f"stderr: {p.stderr.decode(errors='replace')[-2000:]}")
        try:
            return json.loads(p.stdout)
        except ValueError as e:
            raise AssertionError(f"regsweep {' '.join(args)}: stdout is not JSON ({e}):\n"
                                 f"{p.stdout[:2000]!r}") from None

    def ls(self, repo: str | None = None) -> dict:
        return self.regsweep_json("--root", self.root, "--json", "ls", *([repo] if repo else []))

    def report(self) -> dict:
        return self.regsweep_json("--root", self.root, "--json", "report")


def _fmt_findings(findings) -> str:
    return "\n".join(f"  {f.get('kind')} [{f.get('severity')}] {f.get('path')}: {f.get('message')}"
                     for f in findings)


def _platform_sets(platforms):
    """Platforms as given, and without variant ('linux/arm64/v8' -> 'linux/arm64')."""
    full = set(platforms)
    return full, {"/".join(p.split("/")[:2]) for p in platforms}


class ModelVsApi(unittest.TestCase):
    """regsweep ls / report against the registry's API and garbage-collect."""

    @classmethod
    def setUpClass(cls):
        cls.w = World.get()

    # -- the oracle itself ----------------------------------------------------------------

    def test_00_registry_scenario_sane(self):
        """every tag of the scenario pulls completely and gc --dry-run lists garbage"""
        self.assertEqual(self.w.pull_problems, {})
        self.assertTrue(self.w.gc.eligible, self.w.gc.output)
        for d in self.w.info["deleted"]:
            self.assertIn(d["digest"], self.w.gc.eligible)

    # -- ls -------------------------------------------------------------------------------

    def test_ls_json_shape(self):
        """ls --json exits 0 with repositories and findings"""
        out = self.w.ls()
        self.assertIsInstance(out.get("repositories"), list)
        self.assertIsInstance(out.get("findings"), list)
        for r in out["repositories"]:
            for key in ("name", "tags", "tag_count", "revision_count", "untagged_revisions",
                        "bytes_referenced", "bytes_exclusive"):
                self.assertIn(key, r, f"repository {r.get('name')} lacks {key}")
            for t in r["tags"]:
                for key in ("name", "digest", "media_type"):
                    self.assertIn(key, t, f"{r['name']} tag {t.get('name')} lacks {key}")

    def test_ls_repositories_equal_catalog(self):
        """ls repository names == /v2/_catalog (also a repository left with no tags)"""
        names = sorted(r["name"] for r in self.w.ls()["repositories"])
        self.assertEqual(names, self.w.api["catalog"])

    def test_ls_tags_and_digests_equal_api(self):
        """per repository: tag names == tags/list, digests == Docker-Content-Digest"""
        got = {r["name"]: {t["name"]: t["digest"] for t in r["tags"]} for r in self.w.ls()["repositories"]}
        for repo in self.w.api["catalog"]:
            with self.subTest(repo=repo):
                self.assertEqual(got.get(repo), self.w.tags_with_digests(repo))

    def test_ls_tag_count(self):
        """tag_count == number of tags in tags/list"""
        for r in self.w.ls()["repositories"]:
            with self.subTest(repo=r["name"]):
                self.assertEqual(r["tag_count"], len(self.w.api["repositories"][r["name"]]["tags"]))

    def test_ls_media_types_equal_api(self):
        """per tag: media_type == the Content-Type the registry serves"""
        for r in self.w.ls()["repositories"]:
            for t in r["tags"]:
                with self.subTest(tag=f"{r['name']}:{t['name']}"):
                    want = self.w.api["repositories"][r["name"]]["tags"][t["name"]]["media_type"]
                    self.assertEqual(t["media_type"], want)

    def test_ls_platforms_of_multiarch_tags(self):
        """per index / manifest list tag: platforms == the index's platforms"""
        by = {(r["name"], t["name"]): t for r in self.w.ls()["repositories"] for t in r["tags"]}
        checked = 0
        for repo, x in self.w.api["repositories"].items():
            for tag, v in x["tags"].items():
                if "platforms" not in v:
                    continue
                checked += 1
                with self.subTest(tag=f"{repo}:{tag}"):
                    t = by.get((repo, tag))
                    self.assertIsNotNone(t, f"{repo}:{tag} missing from ls")
                    got = set(t.get("platforms") or [])
                    full, short = _platform_sets(v["platforms"])
                    self.assertIn(got, (full, short), f"platforms {sorted(got)} vs {sorted(full)}")
        self.assertGreaterEqual(checked, 3)

    def test_ls_no_findings_on_clean_tree(self):
        """a tree written only by the registry (pushes, API deletes, an abandoned upload) has no findings"""
        f = self.w.ls()["findings"]
        self.assertEqual(f, [], "findings:\n" + _fmt_findings(f))

    def test_ls_one_repository(self):
        """ls team/app lists team/app's tags with their digests"""
        out = self.w.ls("team/app")
        repos = {r["name"]: r for r in out["repositories"]}
        self.assertIn("team/app", repos)
        self.assertNotIn("library/alpine", repos)
        got = {t["name"]: t["digest"] for t in repos["team/app"]["tags"]}
        self.assertEqual(got, self.w.tags_with_digests("team/app"))

    # -- report ---------------------------------------------------------------------------

    def test_report_json_shape(self):
        """report --json exits 0 with the documented keys"""
        rep = self.w.report()
        for key, sub in (("blobs", ("count", "bytes")), ("unreferenced", ("count", "bytes", "digests")),
                         ("untagged", ("manifests", "bytes")), ("uploads", ("count", "stale", "bytes"))):
            self.assertIn(key, rep)
            for s in sub:
                self.assertIn(s, rep[key], f"report[{key!r}] lacks {s!r}")
        self.assertIsInstance(rep.get("repositories"), list)
        self.assertIsInstance(rep.get("findings"), list)

    def test_report_unreferenced_equals_gc_dry_run(self):
        """report unreferenced.digests == the blobs garbage-collect --dry-run lists"""
        got = set(self.w.report()["unreferenced"]["digests"])
        want = self.w.gc.eligible
        self.assertEqual(got, want, f"only regsweep: {sorted(got - want)}\nonly gc: {sorted(want - got)}")

    def test_report_unreferenced_count_and_bytes(self):
        """unreferenced.count == len(gc list) and bytes == their data sizes on disk"""
        u = self.w.report()["unreferenced"]
        self.assertEqual(u["count"], len(self.w.gc.eligible))
        self.assertEqual(u["bytes"], sum(self.w.blob_sizes[d] for d in self.w.gc.eligible))

    def test_report_blobs_match_disk(self):
        """blobs.count / bytes == the blob data files on disk"""
        b = self.w.report()["blobs"]
        self.assertEqual(b["count"], len(self.w.blob_sizes))
        self.assertEqual(b["bytes"], sum(self.w.blob_sizes.values()))

    def test_report_uploads_count(self):
        """uploads.count == the _uploads/<id> folders (one abandoned upload, not stale yet)"""
        u = self.w.report()["uploads"]
        self.assertEqual(u["count"], len(self.w.uploads))
        self.assertEqual(u["stale"], 0)

    def test_report_repositories_equal_catalog(self):
        """report repositories names == /v2/_catalog"""
        names = sorted(r["name"] for r in self.w.report()["repositories"])
        self.assertEqual(names, self.w.api["catalog"])

    def test_report_no_findings_on_clean_tree(self):
        """report has no findings on the registry-written tree"""
        f = self.w.report()["findings"]
        self.assertEqual(f, [], "findings:\n" + _fmt_findings(f))

    # -- errors ---------------------------------------------------------------------------

    def test_nonexistent_root(self):
        """--root /nonexistent: exit 1, the path in stderr"""
        path = "/nonexistent/regsweep-e2e"
        p = subprocess.run([os.environ["REGSWEEP"], "--root", path, "ls"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 1, p.stderr.decode(errors="replace"))
        self.assertIn(path, p.stderr.decode(errors="replace"))

    def test_usage_error(self):
        """an unknown option: exit 2"""
        p = subprocess.run([os.environ["REGSWEEP"], "--no-such-option", "ls"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 2, p.stderr.decode(errors="replace"))

    # -- last: nothing was written ---------------------------------------------------------

    def test_zz_tree_unchanged(self):
        """ls and report left docker/registry/v2 exactly as they found it"""
        self.w.ls(); self.w.ls("team/app"); self.w.report()
        d = rt.diff_snapshots(self.w.snapshot, rt.tree_snapshot(os.path.join(self.w.root, "docker")))
        self.assertEqual(d, {"removed": [], "added": [], "changed": []})


class SelfTest(unittest.TestCase):
    """The registry part alone (no regsweep): run with --selftest."""

    @classmethod
    def setUpClass(cls):
        cls.w = World.get()

    def test_all_tags_pull(self):
        """every tag and the untagged referrer pull completely"""
        self.assertEqual(self.w.pull_problems, {})

    def test_gc_lists_the_deleted(self):
        """gc --dry-run lists every manifest deleted through the API"""
        for d in self.w.info["deleted"]:
            self.assertIn(d["digest"], self.w.gc.eligible)

    def test_matches_sample_fixture(self):
        """the scenario still produces fixtures/sample (same API answers and gc list)"""
        path = os.path.join(REPO, "fixtures", "sample.expected.json")
        if not os.path.exists(path):
            self.skipTest("fixtures/sample.expected.json not generated")
        with open(path) as f:
            exp = json.load(f)
        self.assertEqual(self.w.api, exp["api"])
        self.assertEqual(sorted(self.w.gc.eligible), exp["gc"]["dry_run"]["eligible"])

    def test_no_leftover_registry(self):
        """the registry was stopped"""
        self.assertFalse(rt.registries_running())


def main():
    selftest = "--selftest" in sys.argv[1:]
    if not selftest:
        rt.require_binary()
    rt.require_tools(rt.registry_bin(), rt.skopeo_bin())
    tap.run_classes((SelfTest if selftest else ModelVsApi,), cleanup=(World.cleanup_instance,))


if __name__ == "__main__":
    main()
