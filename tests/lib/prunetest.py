"""prunetest: helpers for tests/e2e/test_prune.py (regsweep prune, apply, interactive).

Standard library only; builds on regtest. What is here:

- IMAGES / TAGS: the deterministic images and the tags of the base storage, each tag with the
  push time the test gives it (seconds before T0, written as the mtime of current/link).
- build_base(): pushes everything through the real registry, stops it, deletes one manifest
  through the API (garbage for gc), sets the push times, and ages every blob by two days (so
  that gc's --min-age 1h does not keep them).
- Policy / expected_prune(): the test's own reading of the retention rule, computed from
  TAGS (never from regsweep's output).
- decisions_vs_plan() / table_vs_plan(): where prune's decisions table and its plan disagree
  (JSON document, printed text); test_prune checks both for every prune it runs.
- glob_match(): the --repo glob semantics (`*` stops at `/`, `**` crosses it).
- parse_table(): rows of the tables regsweep prints (interactive menu).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

import clock
import regtest as rt

DAY = 86400
HOUR = 3600

# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------


def _images() -> dict:
    base = rt.layer({"etc/os-release": "ID=prunetest\n"})
    base_arm = rt.layer({"etc/os-release": "ID=prunetest arm64\n"})

    def img(name: str, created: str, **kw) -> rt.Manifest:
        return rt.image([base, rt.layer({f"app/{name}.txt": f"prunetest image {name}\n"})],
                        created=created, **kw)

    I: dict = {}
    # team/app: v1..v6, rc-1, rc-2 (each its own unique layer)
    for n in range(1, 7):
        I[f"A{n}"] = img(f"A{n}", f"2024-01-0{n}T00:00:00Z")
    I["R1"] = img("R1", "2024-02-01T00:00:00Z")
    I["R2"] = img("R2", "2024-02-02T00:00:00Z")
    I["SIG_A2"] = rt.cosign_signature(I["A2"], "registry.example/team/app")
    # team/app/sub
    I["S1"] = img("S1", "2024-01-10T00:00:00Z")
    I["S2"] = img("S2", "2024-01-11T00:00:00Z")
    # team/web: four builds pushed at the same second; C and D have the same `created`
    I["W_A"] = img("W_A", "2024-03-01T00:00:00Z")
    I["W_B"] = img("W_B", "2024-03-03T00:00:00Z")
    I["W_C"] = img("W_C", "2024-03-02T00:00:00Z")
    I["W_D"] = img("W_D", "2024-03-02T00:00:00Z")
    I["W_L"] = img("W_L", "2024-03-04T00:00:00Z")
    # other/x
    I["O1"] = img("O1", "2023-06-01T00:00:00Z")
    I["O2"] = img("O2", "2023-06-02T00:00:00Z")
    # multi/app and multi/probe: an OCI index over two platforms, a re-pushed tag, referrers
    I["M_amd64"] = rt.image([base, rt.layer({"app/m.txt": "multi amd64\n"})], arch="amd64",
                            created="2024-04-01T00:00:00Z")
    I["M_arm64"] = rt.image([base_arm, rt.layer({"app/m.txt": "multi arm64\n"})], arch="arm64",
                            variant="v8", created="2024-04-01T00:00:00Z")
    I["IDX"] = rt.index([I["M_amd64"], I["M_arm64"]])
    I["E_OLD"] = img("E_OLD", "2024-04-02T00:00:00Z")
    I["E_NEW"] = img("E_NEW", "2024-04-03T00:00:00Z")
    I["SBOM_NEW"] = rt.artifact("application/spdx+json",
                                [rt.Blob("application/spdx+json", b'{"sbom":"edge new"}')],
                                subject=I["E_NEW"])
    I["SBOM_OLD"] = rt.artifact("application/spdx+json",
                                [rt.Blob("application/spdx+json", b'{"sbom":"edge old"}')],
                                subject=I["E_OLD"])
    # gc/app: keep stays; GT is pushed, then deleted through the API (its blobs: garbage);
    # G_NEW reuses GT's unique layer (pushed later by the stale-gc-plan test)
    lt = rt.layer({"app/gt.txt": "a layer that becomes garbage, then is pushed again\n"})
    I["G1"] = img("G1", "2024-05-01T00:00:00Z")
    I["GT"] = rt.image([base, lt], created="2024-05-02T00:00:00Z")
    I["G_NEW"] = rt.image([base, lt], created="2024-05-03T00:00:00Z", cmd=["/bin/true"])
    # ia/app: the interactive session's repository
    I["IA"] = img("IA", "2024-06-01T00:00:00Z")
    I["IB"] = img("IB", "2024-06-02T00:00:00Z")
    I["IC"] = img("IC", "2024-06-03T00:00:00Z")
    I["SIG_IA"] = rt.cosign_signature(I["IA"], "registry.example/ia/app")
    # sign/app (issue #16): signature manifests that carry a tag of their own besides their
    # cosign tag (prod on z's signature, sig-backup on x's); an attestation of w
    I["Z"] = img("Z", "2024-07-01T00:00:00Z")
    I["SIG_Z"] = rt.cosign_signature(I["Z"], "registry.example/sign/app")
    I["X"] = img("X", "2024-07-02T00:00:00Z")
    I["SIG_X"] = rt.cosign_signature(I["X"], "registry.example/sign/app")
    I["W"] = img("W", "2024-07-03T00:00:00Z")
    I["ATT_W"] = rt.cosign_signature(I["W"], "registry.example/sign/app", identity="attestation")
    return I


IMAGES = _images()
D = {k: v.digest for k, v in IMAGES.items()}
GT_LAYER = IMAGES["GT"].refs[2].digest  # the layer GT and G_NEW share (not the base)

SIG_A2_TAG = rt.cosign_tag(D["A2"])
SIG_IA_TAG = rt.cosign_tag(D["IA"])
SIG_Z_TAG = rt.cosign_tag(D["Z"])
SIG_X_TAG = rt.cosign_tag(D["X"])
ATT_W_TAG = rt.cosign_tag(D["W"], "att")


@dataclass
class TagSpec:
    image: str   # key in IMAGES
    age: int     # seconds before T0 (the mtime of current/link)


# repo -> tag -> TagSpec, in push order. Ages are far from every --older-than used (no
# boundary cases: the test's clock and regsweep's differ by seconds).
TAGS: dict = {
    "team/app": {
        "v1": TagSpec("A1", 40 * DAY),
        "stable": TagSpec("A1", 35 * DAY),          # shares v1's digest
        "v2": TagSpec("A2", 30 * DAY),
        SIG_A2_TAG: TagSpec("SIG_A2", 30 * DAY),   # cosign signature of v2
        "v3": TagSpec("A3", 20 * DAY),
        "v4": TagSpec("A4", 10 * DAY),
        "v5": TagSpec("A5", 3 * DAY),
        "v6": TagSpec("A6", 2 * HOUR),
        "latest": TagSpec("A6", 2 * HOUR),         # shares v6's digest
        "rc-1": TagSpec("R1", 5 * DAY),
        "rc-2": TagSpec("R2", 4 * DAY),
    },
    "team/app/sub": {
        "1.0": TagSpec("S1", 50 * DAY),
        "2.0": TagSpec("S2", 1 * DAY),
        "latest": TagSpec("S2", 1 * DAY),
    },
    "team/web": {  # all pushed at the same second: ties broken by created, then name
        "build-a": TagSpec("W_A", 7 * DAY),
        "build-b": TagSpec("W_B", 7 * DAY),
        "build-c": TagSpec("W_C", 7 * DAY),
        "build-d": TagSpec("W_D", 7 * DAY),
        "latest": TagSpec("W_L", 7 * DAY),
    },
    "other/x": {
        "1": TagSpec("O1", 60 * DAY),
        "2": TagSpec("O2", 59 * DAY),
    },
    "multi/app": {
        "multi": TagSpec("IDX", 10 * DAY),
        "edge": TagSpec("E_NEW", 5 * DAY),         # pushed as E_OLD first
    },
    "multi/probe": {
        "multi": TagSpec("IDX", 10 * DAY),
        "amd64": TagSpec("M_amd64", 10 * DAY),     # a tag on a child of the tagged index
    },
    "gc/app": {
        "keep": TagSpec("G1", 10 * DAY),
    },
    "ia/app": {
        "a1": TagSpec("IA", 9 * DAY),
        "a2": TagSpec("IA", 8 * DAY),
        "b1": TagSpec("IB", 7 * DAY),
        "b2": TagSpec("IB", 6 * DAY),
        "c1": TagSpec("IC", 5 * DAY),
        SIG_IA_TAG: TagSpec("SIG_IA", 9 * DAY),
    },
    "sign/app": {
        "z": TagSpec("Z", 20 * DAY),
        SIG_Z_TAG: TagSpec("SIG_Z", 20 * DAY),
        "prod": TagSpec("SIG_Z", 19 * DAY),        # z's signature manifest, under a tag of its own
        "x": TagSpec("X", 18 * DAY),
        SIG_X_TAG: TagSpec("SIG_X", 18 * DAY),
        "sig-backup": TagSpec("SIG_X", 17 * DAY),  # x's signature manifest, likewise
        "w": TagSpec("W", 16 * DAY),
        ATT_W_TAG: TagSpec("ATT_W", 16 * DAY),
    },
}

def created_of(image_key: str) -> str:
    """The config `created` of an image (for an index: the newest of its children)."""
    m = IMAGES[image_key]
    if any(isinstance(r, rt.Manifest) for r in m.refs):
        return max(created_of(k) for k, v in IMAGES.items() if v in m.refs)
    cfg = m.refs[0]
    try:
        return json.loads(cfg.data).get("created", "")
    except ValueError:
        return ""


# ---------------------------------------------------------------------------------------------
# The base storage
# ---------------------------------------------------------------------------------------------


def populate(reg: rt.Registry, scratch: str) -> dict:
    """Push every tag of TAGS (and the untagged extras) into reg. Returns notes."""
    I = IMAGES
    # the multi-arch index and multi/app's first edge through skopeo (an OCI layout), the
    # rest through the API
    layout = os.path.join(scratch, "layout")
    rt.make_oci_layout(layout, {"IDX": I["IDX"], "E_OLD": I["E_OLD"]})
    rt.push(layout, "IDX", reg, "multi/app", "multi", all=True)
    rt.push(layout, "E_OLD", reg, "multi/app", "edge")
    reg.push_by_digest("multi/app", I["SBOM_OLD"])       # untagged referrer of E_OLD
    reg.push_manifest("multi/app", I["E_NEW"], "edge")   # E_OLD: untagged, in edge's index/
    reg.push_by_digest("multi/app", I["SBOM_NEW"])       # untagged referrer of E_NEW (kept)
    reg.push_manifest("gc/app", I["GT"], "tmp")
    for repo, tags in TAGS.items():
        for tag, spec in tags.items():
            if repo == "multi/app":
                continue
            reg.push_manifest(repo, I[spec.image], tag)
    st = reg.delete_manifest("gc/app", D["GT"])
    if st != 202:
        raise rt.RegistryError(f"DELETE gc/app@GT answered {st}")
    return {}


def set_push_times(root: str, t0: int) -> None:
    for repo, tags in TAGS.items():
        for tag, spec in tags.items():
            p = os.path.join(root, rt.tag_link(repo, tag))
            os.utime(p, (t0 - spec.age, t0 - spec.age))


def build_base(root: str, scratch: str) -> dict:
    """The base storage at root; returns {"t0", "pull_problems", "api"}."""
    t0 = int(clock.now())
    with rt.serve(root) as reg:
        populate(reg, scratch)
        api = reg.describe()
        problems = rt.pull_every_tag(reg)
    set_push_times(root, t0)
    rt.set_blob_mtimes(root, t0 - 2 * DAY)
    return {"t0": t0, "pull_problems": problems, "api": api}


# ---------------------------------------------------------------------------------------------
# The rule, as the test reads it
# ---------------------------------------------------------------------------------------------


def glob_match(p: str, t: str) -> bool:
    """--repo glob: `*` any run of characters but `/`, `**` anything, `?` one non-`/`."""
    rx = ""
    i = 0
    while i < len(p):
        if p.startswith("**/", i):
            rx += "(?:.*/)?"
            i += 3
        elif p.startswith("**", i):
            rx += ".*"
            i += 2
        elif p[i] == "*":
            rx += "[^/]*"
            i += 1
        elif p[i] == "?":
            rx += "[^/]"
            i += 1
        else:
            rx += re.escape(p[i])
            i += 1
    return re.fullmatch(rx, t) is not None


REFERRER_TAG = re.compile(r"sha256-[0-9a-f]{64}(\.sig|\.att|\.sbom)?")


@dataclass
class Policy:
    repos: list = field(default_factory=list)
    match: list = field(default_factory=list)
    keep: list = field(default_factory=list)
    no_default_keep: bool = False
    keep_last: int | None = None
    older_than: int | None = None  # seconds
    referrers: bool = True


def _subject(referrer_tag: str) -> str:
    return "sha256:" + referrer_tag[7:71]


def _children(digest: str) -> list:
    """The digests an index lists (none for an image)."""
    for m in IMAGES.values():
        if m.digest == digest:
            return [r.digest for r in m.refs if isinstance(r, rt.Manifest)]
    return []


def expected_prune(policy: Policy, tags: dict = TAGS) -> dict:
    """{repo: {tag: ("deleted" | "kept", untag_only)}} for every tag of every selected
    repository, from TAGS' ages and the images' `created` (ties: created, then the name: the
    greater name counts as the more recent, so build-d beats build-c).

    Cosign-style tags follow their subject unless a --keep matches them. A digest goes only
    when nothing that stays holds it: a kept tag, a cosign-style tag whose subject stays, an
    index that stays. Then, with referrers, the manifest of a cosign-style tag of a deleted
    digest goes only when every tag naming it is such a tag; otherwise that tag alone goes."""
    out = {}
    keep = ([] if policy.no_default_keep else ["^latest$"]) + list(policy.keep)
    for repo, ts in tags.items():
        if policy.repos and not any(glob_match(g, repo) for g in policy.repos):
            continue

        def dg(t: str) -> str:
            return D[ts[t].image]

        verdict = {}
        follows = set()  # cosign-style tags no --keep matches
        cands = []
        for tag, spec in ts.items():
            verdict[tag] = "kept"
            kept_by_rule = any(re.search(k, tag) for k in keep)
            if REFERRER_TAG.fullmatch(tag):
                if not kept_by_rule:
                    follows.add(tag)
                continue
            if policy.match and not any(re.search(m, tag) for m in policy.match):
                continue
            if kept_by_rule:
                continue
            cands.append(tag)
        # newest first: smaller age, then newer created, then greater name
        cands.sort(key=lambda t: (-ts[t].age, created_of(ts[t].image), t), reverse=True)
        for rank, tag in enumerate(cands):
            if policy.keep_last is not None and rank < policy.keep_last:
                continue
            if policy.older_than is not None and ts[tag].age <= policy.older_than:
                continue
            verdict[tag] = "deleted"

        staying = set()

        def hold(d: str) -> None:
            if d not in staying:
                staying.add(d)
                for c in _children(d):
                    hold(c)

        for t, v in verdict.items():
            if v == "kept" and t not in follows:
                hold(dg(t))
        while True:
            gone = {dg(t) for t, v in verdict.items() if v == "deleted" and dg(t) not in staying}
            more = {dg(t) for t in follows if dg(t) not in staying and
                    (not policy.referrers or _subject(t) not in gone)}
            if not more:
                break
            for d in more:
                hold(d)
        deleted = {dg(t) for t, v in verdict.items() if v == "deleted" and dg(t) not in staying}
        while policy.referrers:
            more = set()
            for t in follows:
                r = dg(t)
                if r in deleted or _subject(t) not in deleted:
                    continue
                if all(u in follows and _subject(u) in deleted for u in ts if dg(u) == r):
                    more.add(r)
            if not more:
                break
            deleted |= more
        res = {}
        for tag in ts:
            if tag in follows:
                if dg(tag) in deleted:
                    res[tag] = ("deleted", False)
                elif policy.referrers and _subject(tag) in deleted:
                    res[tag] = ("deleted", True)
                else:
                    res[tag] = ("kept", False)
            else:
                res[tag] = (verdict[tag], verdict[tag] == "deleted" and dg(tag) not in deleted)
        out[repo] = res
    return out


# ---------------------------------------------------------------------------------------------
# The decisions table against the plan
# ---------------------------------------------------------------------------------------------


def decisions_vs_plan(doc: dict) -> list:
    """Where a `prune --json` document's decisions and plan disagree: a tag is `deleted`
    exactly when the plan removes its folder, `untag_only` exactly when its digest's revision
    stays, and a kept tag's revision never goes. [] when they agree."""
    actions = doc.get("plan", {}).get("actions", [])
    removed_tags = {a["path"] for a in actions if a["action"] == "remove-tag"}
    removed_revs = {(a.get("repository"), a.get("digest")) for a in actions if a["action"] == "remove-revision"}
    problems = []
    seen = set()
    for d in doc.get("decisions", []):
        path = rt.tag_dir(d["repository"], d["tag"]).replace(os.sep, "/")
        seen.add(path)
        tag_goes = path in removed_tags
        image_goes = (d["repository"], d.get("digest")) in removed_revs
        deleted = d.get("verdict") == "deleted"
        untag = bool(d.get("untag_only"))
        if deleted != tag_goes or (deleted and untag == image_goes) or (not deleted and image_goes):
            problems.append(f"{d['repository']}:{d['tag']}: table {d.get('verdict')}{' (untag only)' if untag else ''}, "
                            f"plan: tag {'removed' if tag_goes else 'stays'}, image {'removed' if image_goes else 'stays'} "
                            f"({d.get('reason')})")
    for p in sorted(removed_tags - seen):
        problems.append(f"the plan removes {p}, which the table does not list")
    return problems


_TABLE_ROW = re.compile(r"^\s*(keep|delete)\s+(\S+)\s")
_PLAN_TAG_ROW = re.compile(r"^\s*tag\s+(\S+):(\S+)\s")


def table_vs_plan(text: str) -> list:
    """The same check on prune's printed output: the tags its tables mark `delete` are exactly
    the tags its plan table removes. [] when they agree (or nothing was printed)."""
    repo = None
    deleted, kept = set(), set()
    planned = set()
    in_plan = False
    for line in text.splitlines():
        if re.match(r"^(would |will )?remove \(\d+ items\):$", line):
            in_plan = True
            continue
        if in_plan:
            m = _PLAN_TAG_ROW.match(line)
            if m and not line.split()[1] == "history":
                planned.add((m.group(1), m.group(2)))
            continue
        m = re.match(r"^(\S+):$", line)
        if m:
            repo = m.group(1)
            continue
        m = _TABLE_ROW.match(line)
        if m and repo:
            (deleted if m.group(1) == "delete" else kept).add((repo, m.group(2)))
    problems = [f"{r}:{t}: table delete, not in the plan" for r, t in sorted(deleted - planned)]
    problems += [f"{r}:{t}: table keep, but the plan removes it" for r, t in sorted(planned & kept)]
    problems += [f"{r}:{t}: removed by the plan, not in the table" for r, t in sorted(planned - deleted - kept)]
    return problems


# ---------------------------------------------------------------------------------------------
# Reading regsweep's tables
# ---------------------------------------------------------------------------------------------


def parse_table(text: str, header_first: str) -> list:
    """The rows of the first table whose header line starts with `header_first` (e.g. "#"),
    each as its whitespace-separated cells; the table ends at the first line that does not
    start with a number (a tag table's continuation rows show `"` in the DIGEST column)."""
    lines = text.splitlines()
    rows = []
    started = False
    for line in lines:
        s = line.strip()
        if not started:
            if s.startswith(header_first + " ") or s == header_first:
                started = True
            continue
        if not s or not re.match(r"^\d+\s", s):
            break
        rows.append(s.split())
    return rows
