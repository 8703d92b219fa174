#!/usr/bin/env python3
"""Regenerate fixtures/ from the real registry (docker-registry 2.8.2, skopeo).

    python3 scripts/make-fixtures.py                 # all fixtures into fixtures/
    python3 scripts/make-fixtures.py --only sample   # just one (sample, garbage, clean+damaged)
    python3 scripts/make-fixtures.py --extract sample /tmp/sample   # unpack a fixture to use it

Each fixture is a storage tree written by a registry bound to 127.0.0.1 on a temporary root,
saved as fixtures/<name>.tar.gz (the rootdirectory: docker/registry/v2/...), with
fixtures/<name>.expected.json recording what the registry's API and garbage-collect said.
The damaged-* trees are the clean tree with one kind of damage each, made by editing an
extracted copy after the registry stopped; fixtures/damaged.json describes them.
See fixtures/README.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))

import regtest as rt  # noqa: E402
import scenarios  # noqa: E402

V2 = "docker/registry/v2"


def log(msg: str):
    print(f"make-fixtures: {msg}", file=sys.stderr, flush=True)


def tool_versions() -> dict:
    def first_line(cmd):
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
            return p.stdout.decode().strip().splitlines()[0]
        except Exception as e:  # noqa: BLE001
            return f"unknown ({e})"
    return {"registry": first_line([rt.registry_bin(), "--version"]),
            "skopeo": first_line([rt.skopeo_bin(), "--version"])}


def write_json(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def gc_record(config_path: str, root: str, delete_untagged: bool) -> dict:
    before = rt.tree_snapshot(root)
    res = rt.garbage_collect(config_path, dry_run=True, delete_untagged=delete_untagged, check=False)
    if rt.tree_snapshot(root) != before:
        raise RuntimeError("garbage-collect --dry-run changed the tree")
    sizes = rt.blobs_on_disk(root)
    out = {"returncode": res.returncode, "summary": res.summary,
           "eligible": sorted(res.eligible), "count": len(res.eligible),
           "bytes": sum(sizes.get(d, 0) for d in res.eligible)}
    if delete_untagged:
        out["manifests_eligible"] = sorted(res.manifests_eligible)
    if res.returncode != 0:
        out["error"] = res.output.strip().splitlines()[-3:]
    return out


def disk_record(root: str) -> dict:
    sizes = rt.blobs_on_disk(root)
    return {"blobs": {"count": len(sizes), "bytes": sum(sizes.values())},
            "uploads": rt.uploads_on_disk(root)}


def pull_record(reg: rt.Registry, api: dict, extra_refs=()) -> dict:
    out = {}
    for repo, r in api["repositories"].items():
        for tag in r["tags"]:
            out[f"{repo}:{tag}"] = reg.pull_all(repo, tag)
    for repo, digest in extra_refs:
        out[f"{repo}@{digest}"] = reg.pull_all(repo, digest)
    return out


def resolve_record(reg: rt.Registry, refs) -> dict:
    """For each (repo, tag): the digest the registry resolves it to, or 'HTTP <status>'."""
    out = {}
    for repo, tag in refs:
        r = reg.manifest_head(repo, tag)
        out[f"{repo}:{tag}"] = r.header("Docker-Content-Digest") if r.status == 200 else f"HTTP {r.status}"
    return out


def run_scenario(name: str, populate, tmp: str, out_dir: str, versions: dict,
                 extra=None) -> tuple:
    """Populate a fresh registry, record the API, stop, record gc dry-runs, pack the tree."""
    root = os.path.join(tmp, name, "root")
    scratch = os.path.join(tmp, name, "scratch")
    os.makedirs(scratch)
    t0 = time.monotonic()
    reg = rt.Registry(root)
    try:
        reg.start()
        info = populate(reg, scratch)
        api = reg.describe()
        referrers = [(x["repo"], x["digest"]) for x in info.get("untagged_referrers", [])]
        pulls = pull_record(reg, api, referrers)
        bad = {k: v for k, v in pulls.items() if v}
        if bad:
            raise RuntimeError(f"{name}: not fully pullable before stopping: {bad}")
        reg.stop()
        expected = {
            "fixture": name,
            "generated_by": "scripts/make-fixtures.py",
            "tools": versions,
            "api": api,
            "pullable": sorted(pulls),
            "gc": {"dry_run": gc_record(reg.config_path, root, False),
                   "dry_run_delete_untagged": gc_record(reg.config_path, root, True)},
            "disk": disk_record(root),
            "scenario": info,
        }
        if extra:
            extra(expected, root, tmp)
    finally:
        reg.cleanup()
    tar = os.path.join(out_dir, f"{name}.tar.gz")
    rt.pack_tree(root, tar)
    write_json(os.path.join(out_dir, f"{name}.expected.json"), expected)
    log(f"{name}: {os.path.getsize(tar)} bytes, {expected['disk']['blobs']['count']} blobs, "
        f"{len(expected['gc']['dry_run']['eligible'])} eligible for gc, "
        f"{time.monotonic() - t0:.1f}s")
    return root, expected


def garbage_applied(expected: dict, root: str, tmp: str) -> None:
    """Run the real (not dry-run) garbage-collect on copies; record what it removed and whether
    every tag still pulls afterwards."""
    out = {}
    for label, untagged in (("plain", False), ("delete_untagged", True)):
        copy = os.path.join(tmp, f"garbage-gc-{label}")
        rt.copy_tree(root, copy)
        before = rt.tree_snapshot(copy)
        reg = rt.Registry(copy)
        try:
            rt.write_config(reg.config_path, copy, 5000)
            res = rt.garbage_collect(reg.config_path, dry_run=False, delete_untagged=untagged)
            diff = rt.diff_snapshots(before, rt.tree_snapshot(copy))
            reg.start()
            refs = [(repo, t) for repo, r in expected["api"]["repositories"].items() for t in r["tags"]]
            pulls = {f"{repo}:{t}": reg.pull_all(repo, t) for repo, t in refs}
            api_after = reg.describe()
        finally:
            reg.cleanup()
        out[label] = {
            "command": "garbage-collect" + (" --delete-untagged" if untagged else "") + " config.yml",
            "summary": res.summary,
            "removed": diff["removed"], "added": diff["added"], "changed": diff["changed"],
            "pull_problems_after": {k: v for k, v in pulls.items() if v},
            "api_after": api_after,
        }
    expected["gc_applied"] = out


# ---------------------------------------------------------------------------------------------
# damaged-*
# ---------------------------------------------------------------------------------------------

# Paths below the rootdirectory: the tests' own helpers (tests/lib/storage.py).
_hex = rt.hexof
blob_dir = rt.blob_dir
repo_dir = rt.repo_dir
rev_link = rt.revision_link
tag_link = rt.tag_link
layer_link = rt.layer_link


def _write(root, rel, data: bytes):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)


def damages(named: dict, uploads: list) -> list:
    """Each: (name, kind, description, apply(root) -> paths changed, related paths,
    also_acceptable kinds). Paths are relative to the rootdirectory."""
    A, B, C, OLD = named["A"], named["B"], named["C"], named["OLD"]
    la = named["layer a"]
    app = "team/app"
    upload = f"{repo_dir(app)}/_uploads/{uploads[0]['uuid']}"
    stray_digest = rt.sha256_digest(b"regtest: a blob whose data never arrived\n")
    out = []

    def d(name, kind, desc, fn, related=(), also=()):
        out.append({"name": name, "kind": kind, "description": desc, "fn": fn,
                    "related": list(related), "also_acceptable": list(also)})

    d("tag-current-missing-revision", "tag-current-missing-revision",
      "team/app tag v1's current/link rewritten to the digest of team/other:1.0 (its blob exists, "
      "but team/app has no revision link for it)",
      lambda r: (_write(r, tag_link(app, "v1"), C.encode()), [tag_link(app, "v1")])[1],
      related=[rev_link(app, C)])
    d("tag-current-missing-blob", "tag-current-missing-blob",
      "blob folder of the manifest tagged team/app:v1 removed (as a sweep would)",
      lambda r: (shutil.rmtree(os.path.join(r, blob_dir(A))), [blob_dir(A)])[1],
      related=[tag_link(app, "v1"), rev_link(app, A), blob_dir(A) + "/data"],
      also=["revision-missing-blob"])
    d("revision-missing-blob", "revision-missing-blob",
      "blob folder of the untagged revision OLD (team/app's first 'latest') removed",
      lambda r: (shutil.rmtree(os.path.join(r, blob_dir(OLD))), [blob_dir(OLD)])[1],
      related=[rev_link(app, OLD), blob_dir(OLD) + "/data"])
    d("manifest-missing-reference", "manifest-missing-reference",
      "blob folder of a layer of the manifest tagged team/app:v1 removed",
      lambda r: (shutil.rmtree(os.path.join(r, blob_dir(la))), [blob_dir(la)])[1],
      related=[blob_dir(A) + "/data", tag_link(app, "v1"), layer_link(app, la)])
    d("manifest-unparsable", "manifest-unparsable",
      "data of the manifest tagged team/app:v1 replaced with text that is not JSON "
      "(left at its path: the content no longer hashes to the digest)",
      lambda r: (_write(r, blob_dir(A) + "/data", b"this is not a manifest\n"),
                 [blob_dir(A) + "/data"])[1],
      related=[tag_link(app, "v1"), rev_link(app, A), blob_dir(A)],
      also=["manifest-digest-mismatch"])
    d("link-empty", "link-empty",
      "the revision link of the untagged revision OLD truncated to 0 bytes",
      lambda r: (_write(r, rev_link(app, OLD), b""), [rev_link(app, OLD)])[1])
    d("link-garbage", "link-garbage",
      "team/app tag v2's current/link holds garbage text",
      lambda r: (_write(r, tag_link(app, "v2"), b"hello, this is not a digest\n"),
                 [tag_link(app, "v2")])[1])
    d("link-wrong-algorithm", "link-wrong-algorithm",
      "team/app tag latest's current/link names a sha512 digest (of the same manifest)",
      lambda r: (_write(r, tag_link(app, "latest"),
                        b"sha512:" + hashlib.sha512(
                            open(os.path.join(r, blob_dir(B) + "/data"), "rb").read()
                        ).hexdigest().encode()),
                 [tag_link(app, "latest")])[1])

    def unexpected(r):
        a = f"{repo_dir(app)}/_manifests/notes.txt"
        pre = _hex(la)[:2]
        b = f"{V2}/blobs/sha256/{pre}/upload-{_hex(la)[:12]}.tmp"
        _write(r, a, b"remember to clean this registry up\n")
        _write(r, b, b"partial")
        return [a, b]
    d("unexpected-file", "unexpected-file",
      "two stray files: a notes.txt in team/app/_manifests/ and a *.tmp file in a blob prefix folder",
      unexpected)

    def empty_blob_dir(r):
        p = blob_dir(stray_digest)
        os.makedirs(os.path.join(r, p))
        return [p]
    d("blob-dir-without-data", "blob-dir-without-data",
      "an empty blob folder (no data file) for a digest nothing references",
      empty_blob_dir)
    d("upload-without-startedat", "upload-without-startedat",
      "the abandoned upload in team/app lost its startedat file",
      lambda r: (os.remove(os.path.join(r, upload, "startedat")), [upload + "/startedat"])[1],
      related=[upload])
    # two more kinds regsweep knows, beyond the list in the brief
    d("tag-without-current", "tag-without-current",
      "team/app tag v1's current/ folder removed (its index/ history stays)",
      lambda r: (shutil.rmtree(os.path.join(r, os.path.dirname(tag_link(app, "v1")))),
                 [os.path.dirname(tag_link(app, "v1"))])[1],
      related=[f"{repo_dir(app)}/_manifests/tags/v1"])
    d("link-mismatch", "link-mismatch",
      "the revision link of OLD holds the digest of A (the folder name and content differ)",
      lambda r: (_write(r, rev_link(app, OLD), A.encode()), [rev_link(app, OLD)])[1])
    return out


def registry_view(root: str, refs: list) -> dict:
    """What a read-only registry says about a (damaged) tree: resolution and full pulls of the
    clean tree's tags, catalog, and garbage-collect --dry-run."""
    before = rt.tree_snapshot(root)
    reg = rt.Registry(root, readonly=True)
    try:
        reg.start()
        view = {"catalog": reg.catalog(),
                "resolve": resolve_record(reg, refs),
                "pull_problems": {f"{repo}:{t}": p for repo, t in refs
                                  if (p := reg.pull_all(repo, t))}}
        reg.stop()
        res = rt.garbage_collect(reg.config_path, dry_run=True, check=False)
        view["gc_dry_run"] = {"returncode": res.returncode, "eligible": sorted(res.eligible)}
        if res.returncode != 0:
            view["gc_dry_run"]["error"] = res.output.strip().splitlines()[-2:]
    finally:
        reg.cleanup()
    if rt.tree_snapshot(root) != before:
        raise RuntimeError(f"the registry changed {root}")
    return view


def make_damaged(tmp: str, out_dir: str, versions: dict) -> None:
    root, expected = run_scenario("clean", scenarios.populate_clean, tmp, out_dir, versions)
    named = expected["scenario"]["named"]
    uploads = expected["scenario"]["uploads"]
    clean_tar = os.path.join(out_dir, "clean.tar.gz")
    refs = [(repo, t) for repo, r in expected["api"]["repositories"].items() for t in r["tags"]]
    index = {"base": "clean.tar.gz",
             "paths": "relative to the rootdirectory (the tarball's top: docker/registry/v2/...)",
             "fixtures": []}
    for dmg in damages(named, uploads):
        name = "damaged-" + dmg["name"]
        droot = os.path.join(tmp, name)
        rt.unpack_tree(clean_tar, droot)
        paths = dmg["fn"](droot)
        tar = os.path.join(out_dir, f"{name}.tar.gz")
        rt.pack_tree(droot, tar)
        entry = {"name": name, "tarball": f"{name}.tar.gz", "kind": dmg["kind"],
                 "path": paths[0], "paths": paths, "description": dmg["description"],
                 "related_paths": dmg["related"], "also_acceptable": dmg["also_acceptable"],
                 "registry": registry_view(droot, refs)}
        index["fixtures"].append(entry)
        log(f"{name}: {os.path.getsize(tar)} bytes ({dmg['kind']} at {paths[0]})")
    index["tools"] = versions
    index["clean"] = {"api": expected["api"], "named": named}
    write_json(os.path.join(out_dir, "damaged.json"), index)


def remove_old(out_dir: str, prefixes) -> None:
    for f in os.listdir(out_dir):
        if any(f.startswith(p) for p in prefixes) and (f.endswith(".tar.gz") or f.endswith(".json")):
            os.remove(os.path.join(out_dir, f))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "fixtures"), help="output folder (default fixtures/)")
    ap.add_argument("--only", action="append", choices=["sample", "garbage", "damaged"],
                    help="generate only these (repeatable); 'damaged' includes clean")
    ap.add_argument("--extract", nargs=2, metavar=("NAME", "DIR"),
                    help="unpack fixtures/NAME.tar.gz into DIR (a rootdirectory) and exit")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the scratch folder")
    a = ap.parse_args(argv)

    if a.extract:
        name, dst = a.extract
        tar = os.path.join(a.out, name if name.endswith(".tar.gz") else f"{name}.tar.gz")
        rt.unpack_tree(tar, dst)
        print(os.path.abspath(dst))
        return 0

    for tool in (rt.registry_bin(), rt.skopeo_bin()):
        if not shutil.which(tool):
            log(f"{tool} not found: run bash scripts/setup.sh")
            return 1
    os.makedirs(a.out, exist_ok=True)
    only = set(a.only or ["sample", "garbage", "damaged"])
    versions = tool_versions()
    tmp = tempfile.mkdtemp(prefix="make-fixtures-")
    t0 = time.monotonic()
    try:
        if "sample" in only:
            remove_old(a.out, ["sample."])
            run_scenario("sample", scenarios.populate_sample, tmp, a.out, versions)
        if "garbage" in only:
            remove_old(a.out, ["garbage."])
            run_scenario("garbage", scenarios.populate_garbage, tmp, a.out, versions,
                         extra=garbage_applied)
        if "damaged" in only:
            remove_old(a.out, ["clean.", "damaged"])
            make_damaged(tmp, a.out, versions)
    finally:
        if a.keep_tmp:
            log(f"scratch kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    log(f"done in {time.monotonic() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
