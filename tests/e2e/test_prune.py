#!/usr/bin/env python3
"""End to end: `regsweep prune`, `apply` and `interactive` against the real registry
(docker-registry 2.8.2).

    REGSWEEP=build/regsweep python3 tests/e2e/test_prune.py     # TAP on stdout

The binary named by REGSWEEP is copied to a private folder first (others may relink it while
this runs). One base storage is pushed once through the registry (tests/lib/prunetest.py: eight
repositories, nested ones, shared digests, a cosign signature, a multi-arch index, a re-pushed
tag with untagged referrers, a deleted manifest), the registry stopped, every tag's push time
set (mtime of current/link) and every blob aged two days; each test works on a copy of it.

- PolicyTable: 19 policies, `prune --dry-run --json` decisions and plan against the
  deleted/kept sets the test computes from the push times it set; dry runs change nothing.
- SharedDigest: v1 and stable on one digest, v1 deleted: only tags/v1/ goes; stable pulls.
- Untagged: --untagged removes the re-pushed tag's old revision (and its referrer), keeps the
  children of a tagged index and the referrer of a kept manifest; a tag on an index child.
- RealRun: prune --yes, then served: deleted tags gone, kept tags pull; gc_would_free and
  --gc against `registry garbage-collect`.
- PlanApply: --plan-out changes nothing; apply refuses (exit 3, nothing changed) after a tag
  moved or when a blob of a gc plan is referenced again; apply == the direct command (prune,
  prune --gc, gc).
- PolicyCheck: `policy check FILE` with a --root that does not exist: a valid file's rules in
  priority order (text and --json); bad files give FILE:LINE:COLUMN and the key, exit 2.
- Interactive: a piped session (repository by number, a range, y, g, y, q) checked against the
  API + `registry garbage-collect`; q alone; bad selections.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))

import clock  # noqa: E402
import gctest as gt  # noqa: E402
import prunetest as pt  # noqa: E402
import regtest as rt  # noqa: E402
import tap  # noqa: E402

from prunetest import D, DAY, TAGS, Policy  # noqa: E402

TIMEOUT = 60  # seconds for one regsweep run on this tiny tree
WORK = {"dir": None}  # the private folder (binary copy, base storage, copies)


log = tap.logger("e2e-prune")


# ---------------------------------------------------------------------------------------------
# The base storage, built once per process
# ---------------------------------------------------------------------------------------------


class Base(rt.Workspace):
    def __init__(self):
        t0 = time.monotonic()
        super().__init__("regsweep-e2e-prune-", dir=gt.fast_tmpdir(), tmp=WORK["dir"])
        scratch = os.path.join(self.tmp, "scratch")
        os.makedirs(scratch, exist_ok=True)
        info = pt.build_base(self.root, scratch)
        self.t0 = info["t0"]
        self.pull_problems = info["pull_problems"]
        self.api = info["api"]
        self.snapshot = rt.tree_snapshot(self.root)
        self.tags = rt.tags_on_disk(self.root)
        self.blobs = rt.blobs_on_disk(self.root)
        log(f"base storage built in {time.monotonic() - t0:.1f}s at {self.root}")


# ---------------------------------------------------------------------------------------------
# Running regsweep
# ---------------------------------------------------------------------------------------------


PRUNES = {"run": 0, "checked": 0}  # every successful prune's table is checked against its plan


def prune_dry_run_args(args: tuple) -> list:
    """The same prune as `--json ... --dry-run`: what its table and plan are on the tree now."""
    out = ["--json"]
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a == "--plan-out":
            skip = True
        elif a.startswith("--plan-out=") or a in ("--yes", "-y", "--dry-run", "-n", "--json"):
            pass
        else:
            out.append(a)
    return out + ["--dry-run"]


def regsweep(root: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """`regsweep --root ROOT ARGS...`; stdin is /dev/null or the given text (piped).

    For every prune that succeeds, its decisions table and its plan must agree (issue #16):
    checked on what it printed (JSON or text) and, for a text run, on the JSON of the same
    prune as a dry run just before (the run itself may change the tree)."""
    is_prune = "prune" in args
    companion = None
    if is_prune and "--json" not in args:
        companion = rt.run_regsweep(root, *prune_dry_run_args(args), timeout=TIMEOUT, log=log)
    p = rt.run_regsweep(root, *args, stdin=stdin, timeout=TIMEOUT, log=log)
    if is_prune and p.returncode == 0:
        PRUNES["run"] += 1
        if "--json" in args:
            problems = pt.decisions_vs_plan(json.loads(p.stdout))
        else:
            problems = pt.table_vs_plan(p.stdout)
            if companion.returncode != 0:
                problems.append(f"the same prune as --json --dry-run failed:\n{show(companion)}")
            else:
                problems += [f"(--json --dry-run) {x}" for x in pt.decisions_vs_plan(json.loads(companion.stdout))]
        if problems:
            raise AssertionError(f"prune {' '.join(args)}: the table and the plan disagree:\n  " +
                                 "\n  ".join(problems) + "\n" + show(p))
        PRUNES["checked"] += 1
    return p


show = functools.partial(rt.show_run, tail=4000)


def policy_args(p: Policy) -> list:
    out = []
    for g in p.repos:
        out += ["--repo", g]
    for m in p.match:
        out += ["--match", m]
    for k in p.keep:
        out += ["--keep", k]
    if p.no_default_keep:
        out.append("--no-default-keep")
    if p.keep_last is not None:
        out += ["--keep-last", str(p.keep_last)]
    if p.older_than is not None:
        out += ["--older-than", f"{p.older_than // DAY}d" if p.older_than % DAY == 0 else f"{p.older_than}s"]
    if not p.referrers:
        out.append("--no-referrers")
    return out


def deleted_of(expected: dict) -> dict:
    """{repo: {tag: untag_only}} of the deleted tags of an expected_prune() result."""
    return {repo: {t: u for t, (v, u) in tags.items() if v == "deleted"}
            for repo, tags in expected.items() if any(v == "deleted" for v, _ in tags.values())}


def listed_tags(reg: rt.Registry) -> dict:
    return {repo: reg.tags(repo) for repo in reg.catalog()}


class Case(rt.RegsweepCase):
    show_tail = 4000

    @classmethod
    def setUpClass(cls):
        cls.b = Base.get()


# ---------------------------------------------------------------------------------------------
# 1. policies, table-driven (dry-run --json)
# ---------------------------------------------------------------------------------------------

SIG = pt.SIG_A2_TAG
APP_ALL = {"v1", "stable", "v2", SIG, "v3", "v4", "v5", "v6", "latest", "rc-1", "rc-2"}

# name, policy, expected deleted {repo: {tag: untag_only}} written by hand from TAGS' ages
# (team/app: v1 40d, stable 35d (= v1's digest), v2 30d (+ its .sig), v3 20d, v4 10d, rc-1 5d,
# rc-2 4d, v5 3d, v6 and latest 2h (one digest); team/web: five tags pushed the same second,
# created build-a 03-01 < build-c = build-d 03-02 < build-b 03-03 < latest 03-04; team/app/sub:
# 1.0 50d, 2.0 and latest 1d (one digest); other/x: 1 60d, 2 59d)
ROWS = [
    ("default_keeps_latest", Policy(repos=["team/app"]),
     {"team/app": {**{t: False for t in APP_ALL - {"latest", "v6"}}, "v6": True}}),
    ("keep_last_3", Policy(repos=["team/app"], keep_last=3),
     {"team/app": {t: False for t in ("rc-1", "v4", "v3", "v2", SIG, "stable", "v1")}}),
    ("older_than_7d", Policy(repos=["team/app"], older_than=7 * DAY),
     {"team/app": {t: False for t in ("v4", "v3", "v2", SIG, "stable", "v1")}}),
    ("keep_last_2_and_older_than_15d", Policy(repos=["team/app"], keep_last=2, older_than=15 * DAY),
     {"team/app": {t: False for t in ("v3", "v2", SIG, "stable", "v1")}}),
    ("match_v_keep_v1_v2", Policy(repos=["team/app"], match=["^v"], keep=["^v[12]$"]),
     {"team/app": {"v3": False, "v4": False, "v5": False, "v6": True}}),
    ("keep_wins_over_match_and_age", Policy(repos=["team/app"], match=["^rc-"], keep=["^rc-1$"], older_than=1 * DAY),
     {"team/app": {"rc-2": False}}),
    ("no_default_keep_latest_and_v6", Policy(repos=["team/app"], match=["^(latest|v6)$"], no_default_keep=True),
     {"team/app": {"latest": False, "v6": False}}),
    ("no_default_keep_latest_only", Policy(repos=["team/app"], match=["^latest$"], no_default_keep=True),
     {"team/app": {"latest": True}}),
    ("ties_no_default_keep_keep_last_1", Policy(repos=["team/web"], keep_last=1, no_default_keep=True),
     {"team/web": {t: False for t in ("build-a", "build-b", "build-c", "build-d")}}),
    ("ties_keep_last_2", Policy(repos=["team/web"], keep_last=2),
     {"team/web": {"build-a": False, "build-c": False}}),
    ("ties_keep_last_3", Policy(repos=["team/web"], keep_last=3),
     {"team/web": {"build-a": False}}),
    ("glob_team_star", Policy(repos=["team/*"], older_than=6 * DAY),
     {"team/app": {t: False for t in ("v4", "v3", "v2", SIG, "stable", "v1")},
      "team/web": {t: False for t in ("build-a", "build-b", "build-c", "build-d")}}),
    ("glob_team_double_star", Policy(repos=["team/**"], older_than=6 * DAY),
     {"team/app": {t: False for t in ("v4", "v3", "v2", SIG, "stable", "v1")},
      "team/web": {t: False for t in ("build-a", "build-b", "build-c", "build-d")},
      "team/app/sub": {"1.0": False}}),
    ("two_globs", Policy(repos=["other/x", "team/app/s?b"]),
     {"other/x": {"1": False, "2": False}, "team/app/sub": {"1.0": False, "2.0": True}}),
    ("two_matches", Policy(repos=["team/app"], match=["^rc-", "^v1$"]),
     {"team/app": {"rc-1": False, "rc-2": False, "v1": True}}),
    ("no_referrers", Policy(repos=["team/app"], match=["^v2$"], referrers=False),
     {"team/app": {"v2": False}}),
    ("glob_matches_nothing", Policy(repos=["nosuch/**"]), {}),
    ("older_than_100d_nothing", Policy(repos=["team/app"], older_than=100 * DAY), {}),
    ("keep_last_protects_old", Policy(repos=["other/x"], keep_last=1, older_than=1 * DAY),
     {"other/x": {"1": False}}),
    # issue #16: a referrer manifest that carries another tag (sign/app: prod and sig-backup
    # name the signatures of z and x) stays; only its cosign tag goes with the subject
    ("referrer_carries_kept_tag", Policy(repos=["sign/app"], match=["^z$"], keep=["^prod$"]),
     {"sign/app": {"z": False, pt.SIG_Z_TAG: True}}),
    ("referrer_carries_other_tag", Policy(repos=["sign/app"], match=["^x$"]),
     {"sign/app": {"x": False, pt.SIG_X_TAG: True}}),
    ("tag_on_signature_of_kept_image", Policy(repos=["sign/app"], match=["^prod$"]),
     {"sign/app": {"prod": True}}),
    ("subject_and_tagged_signature", Policy(repos=["sign/app"], match=["^(z|prod)$"]),
     {"sign/app": {"z": False, "prod": False, pt.SIG_Z_TAG: False}}),
    ("keep_rule_covers_cosign_tag", Policy(repos=["sign/app"], match=["^w$"], keep=[r"\.att$"]),
     {"sign/app": {"w": False}}),
]

SELECTED = {  # the repositories each glob set selects (by hand)
    "sign/app": ["sign/app"],
    "team/app": ["team/app"], "team/web": ["team/web"], "team/*": ["team/app", "team/web"],
    "team/**": ["team/app", "team/app/sub", "team/web"], "nosuch/**": [],
}


class PolicyTable(Case):
    def test_00_base_sane(self):
        """the base storage: every tag pulls; tags, digests and push times are as TAGS says"""
        self.assertEqual(self.b.pull_problems, {})
        for repo, tags in TAGS.items():
            self.assertEqual(sorted(self.b.api["repositories"][repo]["tags"]), sorted(tags), repo)
            for t, spec in tags.items():
                self.assertEqual(self.b.tags[repo][t], D[spec.image], f"{repo}:{t}")
                st = os.stat(os.path.join(self.b.root, rt.tag_link(repo, t)))
                self.assertEqual(int(st.st_mtime), self.b.t0 - spec.age, f"{repo}:{t} mtime")
        self.assertIn(D["E_OLD"], rt.revisions_on_disk(self.b.root, "multi/app"))
        self.assertNotIn(D["GT"], rt.revisions_on_disk(self.b.root, "gc/app"))

    def test_01_oracle_agrees_with_rows(self):
        """the test's own reading of the rule (prunetest.expected_prune) gives every row's hand-written sets"""
        for name, pol, want in ROWS:
            with self.subTest(row=name):
                self.assertEqual(deleted_of(pt.expected_prune(pol)), want)

    def test_02_rows(self):
        """prune --dry-run --json: decisions (every tag of the selected repositories), verdicts, untag_only, plan; nothing changes"""
        root = self.b.copy("policy")
        before = rt.tree_snapshot(root)
        for name, pol, want in ROWS:
            with self.subTest(row=name):
                p = regsweep(root, "--json", "prune", "--dry-run", *policy_args(pol))
                self.assertExit(p, 0)
                self.check_row(pol, want, rt.json_of(p))
                self.assertSameTree(before, rt.tree_snapshot(root), f"prune --dry-run ({name}) changed the tree")
                self.assertFalse(os.path.exists(os.path.join(root, ".regsweep")), ".regsweep created by a dry run")
        shutil.rmtree(root, ignore_errors=True)

    def check_row(self, pol: Policy, want: dict, doc: dict):
        self.assertIs(doc.get("dry_run"), True)
        selected = sorted({r for g in pol.repos for r in TAGS if pt.glob_match(g, r)}) if pol.repos else sorted(TAGS)
        if len(pol.repos) == 1 and pol.repos[0] in SELECTED:
            self.assertEqual(selected, SELECTED[pol.repos[0]], "the test's glob reading")
        decisions = doc.get("decisions")
        self.assertIsInstance(decisions, list)
        got_pairs = sorted((d["repository"], d["tag"]) for d in decisions)
        self.assertEqual(got_pairs, sorted((r, t) for r in selected for t in TAGS[r]),
                         "decisions must cover every tag of exactly the selected repositories")
        got_deleted = {}
        problems = []
        for d in decisions:
            repo, tag = d["repository"], d["tag"]
            spec = TAGS[repo][tag]
            if d.get("digest") != D[spec.image]:
                problems.append(f"{repo}:{tag} digest {d.get('digest')}, expected {D[spec.image]}")
            if d.get("pushed") != clock.rfc3339(self.b.t0 - spec.age):
                problems.append(f"{repo}:{tag} pushed {d.get('pushed')}, expected {clock.rfc3339(self.b.t0 - spec.age)}")
            if d.get("verdict") not in ("deleted", "kept"):
                problems.append(f"{repo}:{tag} verdict {d.get('verdict')!r}")
            if not isinstance(d.get("reason"), str) or not d.get("reason"):
                problems.append(f"{repo}:{tag} has no reason")
            if d.get("verdict") == "deleted":
                got_deleted.setdefault(repo, {})[tag] = bool(d.get("untag_only"))
            elif d.get("untag_only"):
                problems.append(f"{repo}:{tag} kept but untag_only")
        self.assertEqual(problems, [])
        self.assertEqual(got_deleted, want, "deleted tags {repo: {tag: untag_only}}\n" +
                         "\n".join(f"  {d['repository']}:{d['tag']} {d['verdict']} ({d['reason']})" for d in decisions))
        # the plan: a tag folder per deleted tag; a revision link per digest no staying tag names
        actions = doc["plan"]["actions"]
        tag_paths = sorted(a["path"] for a in actions if a["action"] == "remove-tag")
        self.assertEqual(tag_paths, sorted(rt.tag_dir(r, t) for r, ts in want.items() for t in ts))
        rev_paths = sorted(a["path"] for a in actions if a["action"] == "remove-revision")
        want_revs = {(r, D[TAGS[r][t].image]) for r, ts in want.items() for t, u in ts.items() if not u}
        self.assertEqual(rev_paths, sorted(rt.revision_link(r, d) for r, d in want_revs))
        self.assertEqual(sorted({a["action"] for a in actions} - {"remove-tag", "remove-revision"}), [])
        self.assertEqual(doc["plan"].get("command"), "prune")


# ---------------------------------------------------------------------------------------------
# 2. a shared digest
# ---------------------------------------------------------------------------------------------


class SharedDigest(Case):
    def test_v1_untagged_stable_pulls(self):
        """v1 and stable on one digest, prune --match ^v1$ --yes: only tags/v1/ goes; served: stable pulls, v1 not listed"""
        root = self.b.copy("shared")
        before = rt.tree_snapshot_excluding(root)
        p = regsweep(root, "--json", "prune", "--yes", "--repo", "team/app", "--match", "^v1$")
        self.assertExit(p, 0)
        doc = rt.json_of(p)
        v1 = [d for d in doc["decisions"] if d["tag"] == "v1"]
        self.assertEqual(len(v1), 1)
        self.assertEqual((v1[0]["verdict"], v1[0]["untag_only"]), ("deleted", True), v1[0])
        d = rt.diff_snapshots(before, rt.tree_snapshot_excluding(root))
        prefix = rt.tag_dir("team/app", "v1")
        self.assertIn(prefix, d["removed"])
        self.assertEqual([x for x in d["removed"] if not (x == prefix or x.startswith(prefix + os.sep))], [],
                         rt.format_diff(d))
        self.assertEqual(d["added"] + d["changed"], [], rt.format_diff(d))
        self.assertIn(D["A1"], rt.revisions_on_disk(root, "team/app"))
        with rt.serve(root) as reg:
            tags = reg.tags("team/app")
            self.assertNotIn("v1", tags)
            self.assertEqual(sorted(tags), sorted(APP_ALL - {"v1"}))
            self.assertEqual(reg.manifest_digest("team/app", "stable"), D["A1"])
            self.assertEqual(reg.pull_all("team/app", "stable"), [])
            self.assertIsNone(reg.manifest_digest("team/app", "v1"))
            self.assertEqual(rt.pull_every_tag(reg), {})


# ---------------------------------------------------------------------------------------------
# 3. --untagged, multi-arch
# ---------------------------------------------------------------------------------------------


class Untagged(Case):
    def test_untagged_keeps_index_children(self):
        """--untagged --keep .*: the re-pushed tag's old revision (and its referrer) go; index children and a kept manifest's referrer stay"""
        root = self.b.copy("untagged")
        before = rt.tree_snapshot_excluding(root)
        p = regsweep(root, "--json", "prune", "--yes", "--repo", "multi/app", "--untagged", "--keep", ".*")
        self.assertExit(p, 0)
        doc = rt.json_of(p)
        self.assertEqual(sorted((x["tag"], x["verdict"]) for x in doc["decisions"]),
                         [("edge", "kept"), ("multi", "kept")])
        self.assertEqual(doc.get("untagged_manifests"), 2, "E_OLD and its referrer SBOM_OLD")
        d = rt.diff_snapshots(before, rt.tree_snapshot_excluding(root))
        gone_dirs = [rt.revision_dir("multi/app", D["E_OLD"]), rt.revision_dir("multi/app", D["SBOM_OLD"]),
                     os.path.join(rt.tag_dir("multi/app", "edge"), "index", "sha256", D["E_OLD"].split(":")[1])]
        for g in gone_dirs:
            self.assertIn(g, d["removed"], rt.format_diff(d))
        stray = [x for x in d["removed"] if not any(x == g or x.startswith(g + os.sep) for g in gone_dirs)]
        self.assertEqual(stray, [], "removed beyond the two untagged revisions:\n" + rt.format_diff(d))
        self.assertEqual(d["added"] + d["changed"], [], rt.format_diff(d))
        revs = rt.revisions_on_disk(root, "multi/app")
        for k in ("IDX", "M_amd64", "M_arm64", "E_NEW", "SBOM_NEW"):
            self.assertIn(D[k], revs, f"{k} revision removed")
        with rt.serve(root) as reg:
            self.assertEqual(reg.tags("multi/app"), ["edge", "multi"])
            self.assertEqual(reg.pull_all("multi/app", "multi"), [])
            self.assertEqual(reg.pull_all("multi/app", D["SBOM_NEW"]), [])
            self.assertIsNone(reg.manifest_digest("multi/app", D["E_OLD"]))
            self.assertIsNone(reg.manifest_digest("multi/app", D["SBOM_OLD"]))
            self.assertEqual(rt.pull_every_tag(reg, [("multi/app", D["M_amd64"]), ("multi/app", D["M_arm64"])]), {})

    def test_tag_on_index_child(self):
        """a deleted tag names a child of a kept, tagged index (multi/probe:amd64): the index must still pull"""
        root = self.b.copy("index-child")
        p = regsweep(root, "--json", "prune", "--yes", "--repo", "multi/probe", "--match", "^amd64$")
        self.assertExit(p, 0)
        self.assertNotIn("amd64", rt.tags_on_disk(root)["multi/probe"])
        problems = []
        if D["M_amd64"] not in rt.revisions_on_disk(root, "multi/probe"):
            problems.append("the revision link of the child (needed by the kept index multi/probe:multi) was removed")
        with rt.serve(root) as reg:
            self.assertEqual(reg.tags("multi/probe"), ["multi"])
            pulled = reg.pull_all("multi/probe", "multi")
            if pulled:
                problems.append(f"multi/probe:multi does not pull: {pulled}")
        if problems:
            doc = json.loads(p.stdout)
            self.fail("; ".join(problems) + "\nplan:\n" + "\n".join(
                f"  {a['action']} {a['path']}" for a in doc["plan"]["actions"]))


# ---------------------------------------------------------------------------------------------
# 4. a real run, then served; --gc
# ---------------------------------------------------------------------------------------------

REAL = Policy(keep_last=2)  # every repository: the two newest non-latest tags stay


class RealRun(Case):
    def check_served(self, root: str, want_deleted: dict):
        base_tags = self.b.tags
        with rt.serve(root) as reg:
            tags = listed_tags(reg)
            self.assertEqual(sorted(tags), sorted(TAGS), "catalog")
            for repo, ts in TAGS.items():
                kept = sorted(t for t in ts if t not in want_deleted.get(repo, {}))
                self.assertEqual(tags[repo], kept, f"{repo} tags/list")
            self.assertEqual(rt.pull_every_tag(reg), {})
            for repo, ts in want_deleted.items():
                for t, untag in ts.items():
                    if not untag:
                        self.assertIsNone(reg.manifest_digest(repo, base_tags[repo][t]),
                                          f"{repo}@{base_tags[repo][t]} ({t}) still served")

    def test_prune_yes_then_served(self):
        """prune --keep-last 2 --yes: deleted tags gone, every kept tag pulls; gc_would_free = what registry garbage-collect then frees"""
        want = deleted_of(pt.expected_prune(REAL))
        self.assertIn("ia/app", want)
        root = self.b.copy("real")
        before_gc = gt.registry_gc(root, dry_run=True)
        p = regsweep(root, "--json", "prune", "--yes", *policy_args(REAL))
        self.assertExit(p, 0)
        doc = rt.json_of(p)
        got = {}
        for d in doc["decisions"]:
            if d["verdict"] == "deleted":
                got.setdefault(d["repository"], {})[d["tag"]] = d["untag_only"]
        self.assertEqual(got, want)
        on_disk = rt.tags_on_disk(root)
        for repo, ts in TAGS.items():
            self.assertEqual(sorted(on_disk[repo]), sorted(t for t in ts if t not in want.get(repo, {})), repo)
        self.assertEqual(rt.dangling_tags(root), [])
        self.assertEqual(rt.blobs_on_disk(root), self.b.blobs, "prune without --gc removed blobs")
        after_gc = gt.registry_gc(root, dry_run=True)
        freed = gt.blob_bytes(self.b.root, after_gc.eligible) - gt.blob_bytes(self.b.root, before_gc.eligible)
        self.assertGreater(freed, 0)
        self.assertEqual(doc.get("gc_would_free"), freed,
                         "gc_would_free vs the bytes registry garbage-collect --dry-run finds newly eligible")
        self.check_served(root, want)

    def test_prune_gc(self):
        """prune --keep-last 2 --gc --yes: the blobs registry garbage-collect would sweep after the prune are gone; kept tags pull"""
        want = deleted_of(pt.expected_prune(REAL))
        ref = self.b.copy("real-ref")
        p = regsweep(ref, "prune", "--yes", *policy_args(REAL))
        self.assertExit(p, 0)
        eligible = gt.registry_gc(ref, dry_run=True).eligible
        expected_blobs = set(rt.blobs_on_disk(ref)) - eligible
        root = self.b.copy("real-gc")
        p = regsweep(root, "prune", "--yes", "--gc", *policy_args(REAL))
        self.assertExit(p, 0)
        blobs = set(rt.blobs_on_disk(root))
        self.assertLess(len(blobs), len(self.b.blobs), "blob count did not drop")
        self.assertEqual(sorted(blobs ^ expected_blobs), [],
                         f"blobs: {len(blobs)} left, registry GC would leave {len(expected_blobs)}")
        self.assertEqual(rt.tags_on_disk(root), rt.tags_on_disk(ref))
        self.assertEqual(rt.dangling_tags(root), [])
        self.check_served(root, want)


# ---------------------------------------------------------------------------------------------
# 4b. keep rules and referrers (issue #16); the options' values
# ---------------------------------------------------------------------------------------------


class ReferrerKeep(Case):
    def test_keep_rule_holds_through_a_referrer(self):
        """prune --match ^z$ --keep ^prod$ --gc --yes, prod naming z's signature: prod and the signature stay and pull; z and its cosign tag go"""
        root = self.b.copy("referrer-keep")
        p = regsweep(root, "prune", "--yes", "--gc", "--repo", "sign/app", "--match", "^z$", "--keep", "^prod$")
        self.assertExit(p, 0)
        self.assertRegex(p.stdout, r"(?m)^\s*keep\s+prod\s")
        self.assertNotRegex(p.stdout, r"(?m)^\s*tag\s+sign/app:prod\s", "the plan removes prod")
        left = set(TAGS["sign/app"]) - {"z", pt.SIG_Z_TAG}
        tags = rt.tags_on_disk(root)["sign/app"]
        self.assertEqual(sorted(tags), sorted(left))
        self.assertEqual(tags["prod"], D["SIG_Z"])
        revisions = rt.revisions_on_disk(root, "sign/app")
        self.assertIn(D["SIG_Z"], revisions, "the signature manifest prod names was deleted")
        self.assertNotIn(D["Z"], revisions)
        with rt.serve(root) as reg:
            self.assertEqual(reg.tags("sign/app"), sorted(left))
            self.assertEqual(reg.manifest_digest("sign/app", "prod"), D["SIG_Z"])
            self.assertEqual(reg.pull_all("sign/app", "prod"), [], "prod does not pull after the --gc")
            self.assertIsNone(reg.manifest_digest("sign/app", D["Z"]))
            self.assertEqual(rt.pull_every_tag(reg), {})

    def test_tag_on_the_signature_of_a_kept_image(self):
        """prune --match ^prod$ --yes, z kept: only tags/prod/ goes; z's cosign tag and the signature stay and pull"""
        root = self.b.copy("referrer-prod")
        before = rt.tree_snapshot_excluding(root)
        p = regsweep(root, "prune", "--yes", "--repo", "sign/app", "--match", "^prod$")
        self.assertExit(p, 0)
        d = rt.diff_snapshots(before, rt.tree_snapshot_excluding(root))
        prefix = rt.tag_dir("sign/app", "prod")
        self.assertEqual([x for x in d["removed"] if not (x == prefix or x.startswith(prefix + os.sep))], [],
                         rt.format_diff(d))
        with rt.serve(root) as reg:
            self.assertEqual(reg.manifest_digest("sign/app", pt.SIG_Z_TAG), D["SIG_Z"])
            self.assertEqual(reg.pull_all("sign/app", pt.SIG_Z_TAG), [])
            self.assertEqual(rt.pull_every_tag(reg), {})


class Options(Case):
    def test_keep_last_negative_refused(self):
        """prune --keep-last -1 (and =-1, x): exit 2 naming the option, nothing changed"""
        root = self.b.copy("options")
        before = rt.tree_snapshot(root)
        for args in (["--keep-last", "-1"], ["--keep-last=-1"], ["--keep-last", "x"], ["--keep-last", "+1"]):
            with self.subTest(args=args):
                p = regsweep(root, "prune", "--dry-run", *args)
                self.assertExit(p, 2)
                self.assertIn("--keep-last", p.stderr)
                self.assertNotIn("18446744073709551615", p.stdout + p.stderr)
        p = regsweep(root, "--json", "prune", "--dry-run", "--repo", "other/x", "--keep-last", "0")
        self.assertExit(p, 0)
        self.assertSameTree(before, rt.tree_snapshot(root), "a refused prune changed the tree")

    def test_bare_zero_is_zero_seconds(self):
        """--older-than 0 and gc --min-age 0 mean 0s (exit 0); any other bare number is refused (exit 2, naming the option)"""
        root = self.b.copy("durations")
        p = regsweep(root, "--json", "prune", "--dry-run", "--repo", "other/x", "--older-than", "0")
        self.assertExit(p, 0)
        self.assertEqual(sorted(d["tag"] for d in rt.json_of(p)["decisions"] if d["verdict"] == "deleted"), ["1", "2"])
        p = regsweep(root, "gc", "--dry-run", "--min-age", "0")
        self.assertExit(p, 0)
        for args, option in ((["prune", "--older-than", "1"], "--older-than"), (["gc", "--min-age", "1"], "--min-age")):
            with self.subTest(args=args):
                p = regsweep(root, *args, "--dry-run")
                self.assertExit(p, 2)
                self.assertIn(option, p.stderr)


# ---------------------------------------------------------------------------------------------
# 5. plan / apply
# ---------------------------------------------------------------------------------------------

PLANNED = Policy(repos=["team/app"], keep_last=2)  # deletes v1 stable v2(+sig) v3 v4 rc-1 rc-2


class PlanApply(Case):
    def plan(self, root: str, label: str, *args: str) -> str:
        path = os.path.join(self.b.tmp, f"plan-{label}-{os.path.basename(root)}.json")
        p = regsweep(root, *args, "--plan-out", path)
        self.assertExit(p, 0)
        with open(path) as f:
            doc = json.load(f)
        self.assertEqual(doc.get("format"), "regsweep-plan/2")
        self.assertTrue(doc.get("actions"), "an empty plan")
        return path

    def assertRefused(self, root: str, plan: str, what: str):
        before = rt.tree_snapshot_excluding(root)
        audit = rt.read_audit(root)
        p = regsweep(root, "apply", "--yes", plan)
        self.assertExit(p, 3)
        self.assertIn("stale plan", p.stderr)
        self.assertSameTree(before, rt.tree_snapshot_excluding(root), f"refused apply ({what}) changed the tree")
        self.assertEqual(rt.read_audit(root), audit, "refused apply wrote audit lines")
        return p

    def test_plan_changes_nothing(self):
        """prune --plan-out: the whole tree (no .regsweep either) is unchanged; the plan names every deleted tag"""
        root = self.b.copy("plan")
        before = rt.tree_snapshot(root)
        path = self.plan(root, "prune", "prune", *policy_args(PLANNED))
        self.assertSameTree(before, rt.tree_snapshot(root), "prune --plan-out changed the tree")
        with open(path) as f:
            doc = json.load(f)
        self.assertEqual(doc["command"], "prune")
        want = deleted_of(pt.expected_prune(PLANNED))["team/app"]
        self.assertEqual(sorted(a["path"] for a in doc["actions"] if a["action"] == "remove-tag"),
                         sorted(rt.tag_dir("team/app", t) for t in want))
        p = regsweep(root, "apply", "--dry-run", path)
        self.assertExit(p, 0)
        self.assertSameTree(before, rt.tree_snapshot(root), "apply --dry-run changed the tree")

    def test_apply_refused_after_tag_repushed(self):
        """a planned tag (v1) re-pushed to another image through the API: apply exits 3, nothing changed"""
        root = self.b.copy("moved-api")
        path = self.plan(root, "prune", "prune", *policy_args(PLANNED))
        with rt.serve(root) as reg:
            reg.push_manifest("team/app", pt.IMAGES["A5"], "v1")
            self.assertEqual(reg.manifest_digest("team/app", "v1"), D["A5"])
        p = self.assertRefused(root, path, "v1 re-pushed")
        self.assertIn(rt.tag_link("team/app", "v1"), p.stderr)
        with rt.serve(root) as reg:
            self.assertEqual(rt.pull_every_tag(reg), {})

    def test_apply_refused_after_link_rewritten(self):
        """a planned tag's current/link rewritten to another valid revision (rc-1 -> v5's digest): exit 3, nothing changed"""
        root = self.b.copy("moved-link")
        path = self.plan(root, "prune", "prune", *policy_args(PLANNED))
        with open(os.path.join(root, rt.tag_link("team/app", "rc-1")), "w") as f:
            f.write(D["A5"])
        p = self.assertRefused(root, path, "rc-1 moved")
        self.assertIn(rt.tag_link("team/app", "rc-1"), p.stderr)

    def test_apply_equals_direct(self):
        """apply of an unchanged plan gives the same tree (without .regsweep) as the direct prune on a copy"""
        a = self.b.copy("apply")
        b = self.b.copy("direct")
        path = self.plan(a, "prune", "prune", *policy_args(PLANNED))
        p = regsweep(a, "apply", "--yes", path)
        self.assertExit(p, 0)
        p = regsweep(b, "prune", "--yes", *policy_args(PLANNED))
        self.assertExit(p, 0)
        self.assertSameTree(rt.tree_snapshot_excluding(b), rt.tree_snapshot_excluding(a), "apply vs direct prune ('-' only in the direct run, '+' only in apply)")
        self.assertNotEqual(rt.tree_snapshot_excluding(a), self.b.snapshot)
        self.assertEqual(sorted(x["path"] for x in rt.read_audit(a)), sorted(x["path"] for x in rt.read_audit(b)))

    def test_apply_of_a_format_1_plan(self):
        """a plan as regsweep wrote it before plans named objects (format 1: paths, check_path) still applies, to the same tree"""
        a = self.b.copy("apply-v1")
        b = self.b.copy("direct-v1")
        path = self.plan(a, "prune", "prune", *policy_args(PLANNED))
        with open(path) as f:
            doc = json.load(f)
        doc["format"] = "regsweep-plan/1"
        for x in doc["actions"]:
            for field in ("upload", "part", "whole", "key"):
                x.pop(field, None)
            if x["expect"] == "link-is":
                x["check_path"] = x["path"] + "/current/link" if x["action"] == "remove-tag" else \
                    x["path"] if x["path"].endswith("/link") else x["path"] + "/link"
        with open(path, "w") as f:
            json.dump(doc, f)
        self.assertExit(regsweep(a, "apply", "--yes", path), 0)
        self.assertExit(regsweep(b, "prune", "--yes", *policy_args(PLANNED)), 0)
        self.assertSameTree(rt.tree_snapshot_excluding(b), rt.tree_snapshot_excluding(a), "apply of a format-1 plan vs direct prune")
        # One whose path is not where the layout keeps its object is refused, saying why.
        c = self.b.copy("apply-v1-bad")
        before = rt.tree_snapshot(c)
        doc["actions"][0]["path"] += "/current"
        with open(path, "w") as f:
            json.dump(doc, f)
        p = regsweep(c, "apply", "--yes", path)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("older regsweep", p.stderr)
        self.assertSameTree(before, rt.tree_snapshot(c), "a refused format-1 plan changed the tree")

    def test_apply_equals_direct_with_gc(self):
        """prune --gc --plan-out, then apply: the same tree as prune --gc --yes on a copy (or --plan-out with --gc refused, exit 2)"""
        a = self.b.copy("apply-gc")
        b = self.b.copy("direct-gc")
        before = rt.tree_snapshot(a)
        path = os.path.join(self.b.tmp, "plan-prune-gc.json")
        p = regsweep(a, "prune", "--gc", *policy_args(PLANNED), "--plan-out", path)
        self.assertSameTree(before, rt.tree_snapshot(a), "prune --gc --plan-out changed the tree")
        if p.returncode == 2:  # refusing the combination is a right answer too
            return
        self.assertExit(p, 0)
        p = regsweep(b, "prune", "--yes", "--gc", *policy_args(PLANNED))
        self.assertExit(p, 0)
        p = regsweep(a, "apply", "--yes", path)
        self.assertExit(p, 0)
        with open(path) as f:
            kinds = sorted({x["action"] for x in json.load(f)["actions"]})
        self.assertSameTree(rt.tree_snapshot_excluding(b), rt.tree_snapshot_excluding(a), "apply of a prune --gc plan vs prune --gc --yes "
                            f"('-' only in the direct run, '+' only in apply; the plan has {kinds})")

    def test_apply_gc_plan(self):
        """gc --plan-out, then apply on the unchanged tree: the planned blobs go, like gc --yes on a copy"""
        a = self.b.copy("gc-apply")
        b = self.b.copy("gc-direct")
        path = self.plan(a, "gc", "gc")
        with open(path) as f:
            blobs = {x["digest"] for x in json.load(f)["actions"] if x["action"] == "remove-blob"}
        self.assertIn(pt.GT_LAYER, blobs)
        p = regsweep(a, "apply", "--yes", path)
        self.assertExit(p, 0)
        self.assertExit(regsweep(b, "gc", "--yes"), 0)
        self.assertSameTree(rt.tree_snapshot_excluding(b), rt.tree_snapshot_excluding(a), "apply of a gc plan vs gc --yes")
        self.assertNotIn(pt.GT_LAYER, rt.blobs_on_disk(a))

    def test_apply_refused_stale_gc_plan(self):
        """gc --plan-out, then an image reusing a planned blob is pushed (same repo, other repo): apply exits 3, nothing changed"""
        for repo in ("gc/app", "team/app"):
            with self.subTest(pushed_to=repo):
                root = self.b.copy("gc-stale")
                path = self.plan(root, "gc", "gc")
                with rt.serve(root) as reg:
                    reg.push_manifest(repo, pt.IMAGES["G_NEW"], "new")
                self.assertRefused(root, path, f"G_NEW pushed to {repo}")
                self.assertIn(pt.GT_LAYER, rt.blobs_on_disk(root))
                with rt.serve(root) as reg:
                    self.assertEqual(reg.pull_all(repo, "new"), [])
                shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# 6. interactive
# ---------------------------------------------------------------------------------------------

IA = "ia/app"


class Interactive(Case):
    def repo_number(self, text: str, repo: str) -> str:
        rows = pt.parse_table(text, "#")
        names = {r[1]: r[0] for r in rows if len(r) >= 2}
        self.assertEqual(sorted(names), sorted(TAGS), f"repository table:\n{text[:3000]}")
        return names[repo]

    def test_q_only(self):
        """regsweep -i with q: the numbered repositories, exit 0, nothing changed"""
        root = self.b.copy("i-q")
        before = rt.tree_snapshot_ignoring_lock(root)
        p = regsweep(root, "-i", stdin="q\n")
        self.assertExit(p, 0)
        self.repo_number(p.stdout, IA)
        self.assertSameTree(before, rt.tree_snapshot_ignoring_lock(root), "-i with q changed the storage")
        self.assertFalse(os.path.exists(os.path.join(root, ".regsweep")), "browsing must not even create the lock file")

    def test_bad_selections(self):
        """99 and x at the repository prompt and at the tag prompt: a message each, exit 0, nothing changed"""
        root = self.b.copy("i-bad")
        before = rt.tree_snapshot_ignoring_lock(root)
        n = self.repo_number(regsweep(root, "-i", stdin="q\n").stdout, IA)
        # "b" after each bad selection: back to the list whether the menu asks for tags again
        # after a bad selection or returns to the list by itself (then "b" is one more bad number)
        p = regsweep(root, "interactive", stdin=f"99\nx\n{n}\n99\nb\n{n}\nx\nb\n{n}\n1,99\nb\nq\n")
        self.assertExit(p, 0)
        for msg in ("not a repository number: 99", "not a repository number: x", "not a selection: 99",
                    "not a selection: x", "not a selection: 1,99"):
            self.assertIn(msg, p.stdout + p.stderr, show(p))
        self.assertNotIn("will remove", p.stdout)
        self.assertSameTree(before, rt.tree_snapshot_ignoring_lock(root), "bad selections changed the storage")

    def test_index_child_refused(self):
        """the menu, asked to delete a tag on a child of a tagged index (multi/probe:amd64): refused naming multi:multi's platform, nothing changed"""
        root = self.b.copy("i-index-child")
        before = rt.tree_snapshot_ignoring_lock(root)
        n = self.repo_number(regsweep(root, "-i", stdin="q\n").stdout, "multi/probe")
        listing = regsweep(root, "interactive", stdin=f"{n}\nb\nq\n").stdout
        rows = pt.parse_table(listing[listing.find("\nmulti/probe:\n"):], "#")
        number = {r[1]: r[0] for r in rows}
        self.assertEqual(sorted(number), ["amd64", "multi"], listing)
        p = regsweep(root, "interactive", stdin=f"{n}\n{number['amd64']}\ny\nq\n")
        self.assertExit(p, 0)
        self.assertIn("multi/probe:multi (platforms: linux/amd64)", p.stderr, show(p))
        self.assertNotIn("delete these?", p.stdout)
        self.assertIn("nothing was changed", p.stdout)
        self.assertSameTree(before, rt.tree_snapshot_ignoring_lock(root), "a refused menu deletion changed the storage")
        with rt.serve(root) as reg:
            self.assertEqual(reg.tags("multi/probe"), ["amd64", "multi"])
            self.assertEqual(reg.pull_all("multi/probe", "multi"), [])

    def test_session(self):
        """piped: repository by number, two tags by a range, y, then g and y, then q: siblings and referrers shown, tags gone, blobs swept, the rest pulls"""
        root = self.b.copy("i-session")
        before = rt.tree_snapshot_ignoring_lock(root)
        n = self.repo_number(regsweep(root, "-i", stdin="q\n").stdout, IA)
        p = regsweep(root, "interactive", stdin=f"{n}\nb\nq\n")
        self.assertExit(p, 0)
        self.assertSameTree(before, rt.tree_snapshot_ignoring_lock(root), "looking at a repository changed the storage")
        at = p.stdout.find(f"\n{IA}:\n")
        self.assertNotEqual(at, -1, f"the repository chosen by number {n} is not {IA}:\n{p.stdout}")
        listing = p.stdout[at:]
        rows = pt.parse_table(listing, "#")
        tags_of = TAGS[IA]
        self.assertEqual(sorted(r[1] for r in rows), sorted(tags_of), listing)
        # a range of two tags on different digests, at least one with a sibling tag
        number = {r[1]: int(r[0]) for r in rows}
        by_num = {v: k for k, v in number.items()}
        pick = None
        for k in range(1, len(rows)):
            t1, t2 = by_num[k], by_num[k + 1]
            if pt.REFERRER_TAG.fullmatch(t1) or pt.REFERRER_TAG.fullmatch(t2):
                continue
            d1, d2 = D[tags_of[t1].image], D[tags_of[t2].image]
            sibs = [t for t, s in tags_of.items() if D[s.image] in (d1, d2) and t not in (t1, t2)]
            if d1 != d2 and sibs:
                pick = (k, t1, t2, d1, d2, sibs)
                break
        self.assertIsNotNone(pick, f"no two adjacent tags on different digests with a sibling:\n{listing}")
        k, t1, t2, d1, d2, sibs = pick
        gone_digests = {d1, d2}
        referrers = [t for t in tags_of if pt.REFERRER_TAG.fullmatch(t) and
                     any(t[7:71] == d.split(":")[1] for d in gone_digests)]
        gone_digests |= {D[tags_of[t].image] for t in referrers}
        gone_tags = sorted(t for t, s in tags_of.items() if D[s.image] in gone_digests)
        log(f"interactive: repository {n}, selection {k}-{k + 1} ({t1}, {t2}); siblings {sibs}; referrers {referrers}")

        # the oracle: the same digests deleted through the API, then registry garbage-collect
        oracle = self.b.copy("i-oracle")
        oracle_free_before = gt.registry_gc(oracle, dry_run=True).eligible
        with rt.serve(oracle) as reg:
            for d in sorted(gone_digests):
                self.assertEqual(reg.delete_manifest(IA, d), 202)
        eligible_after = gt.registry_gc(oracle, dry_run=True).eligible
        would_free = gt.blob_bytes(self.b.root, eligible_after) - gt.blob_bytes(self.b.root, oracle_free_before)
        gt.registry_gc(oracle, dry_run=False)
        oracle_blobs = set(rt.blobs_on_disk(oracle))
        oracle_tags = rt.tags_on_disk(oracle)

        p = regsweep(root, "interactive", stdin=f"{n}\n{k}-{k + 1}\ny\ng\ny\nq\n")
        self.assertExit(p, 0)
        out = p.stdout
        for t in sibs + referrers + [t1, t2]:
            self.assertIn(f"{IA}:{t}", out, f"the plan does not show {IA}:{t}\n{show(p)}")
        m = re.search(r"a garbage collection would then free .*\((\d+) bytes\)", out)
        self.assertIsNotNone(m, f"no 'would then free' line\n{show(p)}")
        self.assertEqual(int(m.group(1)), would_free, "'would then free' vs registry garbage-collect --dry-run")
        self.assertIn("sweep these?", out)
        self.assertEqual(out.count("choose a repository number"), 3, "back to the list after each step")

        on_disk = rt.tags_on_disk(root)
        self.assertEqual(sorted(on_disk[IA]), sorted(set(tags_of) - set(gone_tags)))
        self.assertEqual(on_disk, oracle_tags, "tags vs the API deletes")
        blobs = set(rt.blobs_on_disk(root))
        self.assertLess(len(blobs), len(self.b.blobs))
        self.assertEqual(sorted(blobs ^ oracle_blobs), [], "blobs vs API deletes + registry garbage-collect")
        self.assertEqual(rt.dangling_tags(root), [])
        with rt.serve(root) as reg:
            self.assertEqual(reg.tags(IA), sorted(set(tags_of) - set(gone_tags)))
            self.assertEqual(rt.pull_every_tag(reg), {})
            for d in gone_digests:
                self.assertIsNone(reg.manifest_digest(IA, d))


# ---------------------------------------------------------------------------------------------


class PolicyCheck(rt.RegsweepCase):
    """`policy check FILE` opens no storage: its --root names nothing (issue #20)."""

    def check(self, text: str, *args: str) -> subprocess.CompletedProcess:
        path = os.path.join(WORK["dir"], "policy.yml")
        with open(path, "w") as f:
            f.write(text)
        return rt.run_regsweep(os.path.join(WORK["dir"], "no-such-root"), *args, "policy", "check", path,
                               timeout=TIMEOUT, log=log)

    def test_valid_file(self):
        """a valid file: its rules in priority order, exit 0; --json has them too"""
        text = ("rules:\n"
                "  - {priority: 2, action: delete, tag_regex: ['^dev-'], count_more_than: 3}\n"
                "  - {priority: 1, name: releases, action: keep, tag_glob: ['v*']}\n")
        p = self.check(text)
        self.assertExit(p, 0)
        lines = p.stdout.splitlines()
        self.assertIn("2 rules in priority order", lines[0])
        self.assertIn("releases", lines[1])
        self.assertIn("beyond the 3 most recent", lines[2])
        p = self.check(text, "--json")
        self.assertExit(p, 0)
        self.assertEqual([r["priority"] for r in rt.json_of(p)["rules"]], [1, 2])

    def test_bad_files(self):
        """a bad file: FILE:LINE:COLUMN and the key in the message, exit 2"""
        path = os.path.join(WORK["dir"], "policy.yml")
        for text, where, part in (
                ("rules:\n  - priority: [1\n", "3:1", "not valid YAML"),
                ("rules:\n  - priority: 1\n    action: delete\n    priorty: 2\n", "4:5", 'did you mean "priority"'),
                ("rules:\n  - priority: 1\n    action: delete\n    tag_regex: '(x'\n", "4:16", "not a valid regular expression"),
                ("rules:\n  - priority: 1\n    action: delete\n    most_recent: -2\n", "4:18", "most_recent"),
                ("rules:\n  - priority: 1\n    select: any\n", "2:5", "no action")):
            with self.subTest(text=text):
                p = self.check(text)
                self.assertExit(p, 2)
                self.assertIn(f"{path}:{where}: ", p.stderr)
                self.assertIn(part, p.stderr)


class ZZ(Case):
    def test_every_prune_checked(self):
        """every prune that succeeded in this suite had its table checked against its plan"""
        self.assertGreater(PRUNES["run"], 20)
        self.assertEqual(PRUNES["checked"], PRUNES["run"])

    def test_no_leftover_registry(self):
        """every registry started was stopped"""
        self.assertFalse(rt.registries_running())

    def test_base_untouched(self):
        """the shared base storage was never written"""
        self.assertSameTree(self.b.snapshot, rt.tree_snapshot(self.b.root), "base storage changed")


def main():
    rt.require_binary()
    rt.require_tools(rt.registry_bin(), rt.skopeo_bin())
    WORK["dir"] = tempfile.mkdtemp(prefix="regsweep-e2e-prune-", dir=gt.fast_tmpdir())
    rt.use_private_copy(WORK["dir"])  # others may relink the build while this runs
    tap.run_classes((PolicyTable, SharedDigest, Untagged, RealRun, ReferrerKeep, Options, PlanApply, Interactive, PolicyCheck, ZZ),
                    cleanup=(rt.stop_all_registries, lambda: shutil.rmtree(WORK["dir"], ignore_errors=True)))


if __name__ == "__main__":
    main()
