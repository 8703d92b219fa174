#!/usr/bin/env python3
"""Regenerate fixtures/malformed/ (issue #9): the hostile-input corpus.

    python3 scripts/make-malformed.py                      # fixtures/malformed/cases.json
    python3 scripts/make-malformed.py --extract NAME DIR   # build one case: DIR/root, DIR/outside
    python3 scripts/make-malformed.py --extract DIR        # every case, in DIR/<name>/

Each case starts from a tree the real registry wrote (fixtures/clean.tar.gz unless it says
otherwise; see fixtures/README.md for what is in it) and damages it with steps
(tests/lib/malformed.py documents them). It records what was damaged, the findings regsweep
must report (kind and path), the exit code of every command, the paths no command may remove,
and the known bugs that a subtest of tests/e2e/test_malformed.py reports as skipped. Git holds
these recipes, not trees: a FIFO, a symlink out of the root, 10 000 tags or a 4 MiB manifest
are made in milliseconds when a case is built. The output is deterministic (sorted keys, no
time in it). See fixtures/malformed/README.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))

import malformed as mf  # noqa: E402
from malformed import blob_data, blob_dir, layer_link, repo_dir, revision_dir, revision_link, tag_dir, tag_link  # noqa: E402

CLEAN = json.load(open(os.path.join(mf.FIXTURES, "clean.expected.json")))
N = CLEAN["scenario"]["named"]
A, B, C, OLD = N["A"], N["B"], N["C"], N["OLD"]
CFG_A, LAYER_A, LAYER_BASE = N["config A"], N["layer a"], N["layer base"]
UPLOAD = CLEAN["scenario"]["uploads"][0]["uuid"]
APP, OTHER = "team/app", "team/other"
V2 = mf.V2

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

# What tagged image A (team/app:v1) needs: damage to A's links or manifest must never cost
# these (the registry's own garbage-collect fails rather than guess).
A_BLOBS = [blob_dir(A), blob_dir(CFG_A), blob_dir(LAYER_A)]


def desc(media_type: str, digest: str, size: int) -> dict:
    return {"mediaType": media_type, "digest": digest, "size": size}


def manifest_doc(**extra) -> dict:
    """An OCI image manifest using A's config and layers (so it adds no blob of its own)."""
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": desc(OCI_CONFIG, CFG_A, 507),
         "layers": [desc(OCI_LAYER, LAYER_BASE, 157), desc(OCI_LAYER, LAYER_A, 135)]}
    m.update(extra)
    return m


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def fake_digest(label: str) -> str:
    """A digest no blob has: sha256 of a label."""
    return digest_of(("regsweep malformed corpus: " + label).encode())


def W(path: str, text: str | None = None, *, hex_: str | None = None, data: dict | None = None) -> dict:
    if data is None:
        data = {"hex": hex_} if hex_ is not None else {"text": text}
    return {"op": "write", "path": path, "data": data}


def bad_manifest_case(name: str, description: str, data: dict, kinds=("manifest-unparsable",), generate=False,
                      also=(), extra: dict | None = None, before: list | None = None) -> dict:
    """A manifest blob that hashes right but is not a manifest regsweep can use, stored as the
    registry would store a pushed one: blob, revision link, tag `bad` in team/app."""
    raw = mf.materialize(data)
    d = digest_of(raw)
    c = {
        "name": name, "description": description, "generate": generate,
        "steps": list(before or []) + [{"op": "manifest", "repo": APP, "tag": "bad", "data": data}],
        "damaged": [blob_data(d)],
        "findings": [{"kind": k, "path": blob_data(d)} for k in kinds],
        "also_acceptable": list(also),
        "rm_damaged": {"args": ["team/app:bad"], "exit": 0},
    }
    c.update(extra or {})
    return c


def cases() -> list:
    out = []
    add = out.append
    sha512_b = hashlib.sha512(_clean_file(blob_data(B))).hexdigest()
    missing = fake_digest("missing blob")

    # ---- links --------------------------------------------------------------------------
    add({"name": "link-empty-tag", "description": "tag v1's current/link (the only tag of A) is an empty file",
         "steps": [W(tag_link(APP, "v1"), "")],
         "damaged": [tag_link(APP, "v1")],
         "findings": [{"kind": "link-empty", "path": tag_link(APP, "v1")}],
         "protect": A_BLOBS + [revision_dir(APP, A)],
         "rm_damaged": {"args": ["team/app:v1"], "exit": 1}})
    add({"name": "link-empty-revision", "description": "the revision link of A (tagged v1) is an empty file",
         "steps": [W(revision_link(APP, A), "")],
         "damaged": [revision_link(APP, A)],
         "findings": [{"kind": "link-empty", "path": revision_link(APP, A)}],
         "also_acceptable": ["tag-current-missing-revision"],
         "protect": A_BLOBS})
    add({"name": "link-empty-layer", "description": "team/app's _layers link of layer a is an empty file",
         "steps": [W(layer_link(APP, LAYER_A), "")],
         "damaged": [layer_link(APP, LAYER_A)],
         "findings": [{"kind": "link-empty", "path": layer_link(APP, LAYER_A)}],
         "protect": A_BLOBS})
    add({"name": "link-garbage-tag", "description": "tag v2's current/link holds binary garbage (NUL, 0xff, newline)",
         "steps": [W(tag_link(APP, "v2"), hex_=b"\x00\xffgarbage\x1b[31m\n".hex())],
         "damaged": [tag_link(APP, "v2")],
         "findings": [{"kind": "link-garbage", "path": tag_link(APP, "v2")}],
         "rm_damaged": {"args": ["team/app:v2"], "exit": 1}})
    add({"name": "link-garbage-revision", "description": "the revision link of A says sha256: followed by text that is not hex",
         "steps": [W(revision_link(APP, A), "sha256:" + "not-hex-" * 8)],
         "damaged": [revision_link(APP, A)],
         "findings": [{"kind": "link-garbage", "path": revision_link(APP, A)}],
         "also_acceptable": ["tag-current-missing-revision"],
         "protect": A_BLOBS})
    add({"name": "link-sha512", "description": "tag v1's current/link names sha512:<128 hex> (another algorithm); "
         "A is then untagged: gc -m removes it, as registry 2.8.2's garbage-collect -m does",
         "protect_skip": ["gc-m"],
         "steps": [W(tag_link(APP, "v1"), "sha512:" + hashlib.sha512(_clean_file(blob_data(A))).hexdigest())],
          "damaged": [tag_link(APP, "v1")],
         "findings": [{"kind": "link-wrong-algorithm", "path": tag_link(APP, "v1")}],
         "protect": A_BLOBS + [revision_dir(APP, A)],
         "rm_damaged": {"args": ["team/app:v1"], "exit": 1}})
    add({"name": "link-sha512-layer", "description": "a _layers link holding sha512:<128 hex> (135 bytes, not 71)",
         "steps": [W(layer_link(APP, LAYER_A), "sha512:" + sha512_b)],
         "damaged": [layer_link(APP, LAYER_A)],
         "findings": [{"kind": "link-garbage", "path": layer_link(APP, LAYER_A)}],
         "also_acceptable": ["link-wrong-algorithm"],
         "protect": A_BLOBS})
    add({"name": "link-trailing-newline", "description": "tag v1's current/link is the right digest plus a newline (the registry rejects it)",
         "steps": [W(tag_link(APP, "v1"), A + "\n")],
         "damaged": [tag_link(APP, "v1")],
         "findings": [{"kind": "link-garbage", "path": tag_link(APP, "v1")}],
         "protect": A_BLOBS + [revision_dir(APP, A)],
         "rm_damaged": {"args": ["team/app:v1"], "exit": 1}})
    add({"name": "link-trailing-newline-layer", "description": "a _layers link with a trailing newline (72 bytes)",
         "steps": [W(layer_link(APP, LAYER_A), LAYER_A + "\n")],
         "damaged": [layer_link(APP, LAYER_A)],
         "findings": [{"kind": "link-garbage", "path": layer_link(APP, LAYER_A)}],
         "protect": A_BLOBS})
    add({"name": "link-missing-blob", "description": "tag ghost and its revision link name a 64-hex digest whose blob does not exist",
         "steps": [W(revision_link(APP, missing), missing), W(tag_link(APP, "ghost"), missing),
                   W(tag_dir(APP, "ghost") + "/index/sha256/" + mf.hexof(missing) + "/link", missing)],
         "damaged": [tag_link(APP, "ghost"), revision_link(APP, missing)],
         "findings": [{"kind": "tag-current-missing-blob", "path": tag_link(APP, "ghost")},
                      {"kind": "revision-missing-blob", "path": revision_link(APP, missing)}],
         "may_remove": {"prune": [tag_dir(APP, "ghost"), revision_dir(APP, missing)]},
         "rm_damaged": {"args": ["team/app:ghost"], "exit": 0}})
    add({"name": "link-missing-revision", "description": "tag ghost names a 64-hex digest with neither a revision nor a blob",
         "steps": [W(tag_link(APP, "ghost"), missing)],
         "damaged": [tag_link(APP, "ghost")],
         "findings": [{"kind": "tag-current-missing-revision", "path": tag_link(APP, "ghost")}],
         "may_remove": {"prune": [tag_dir(APP, "ghost")]},
         "rm_damaged": {"args": ["team/app:ghost"], "exit": 0}})
    add({"name": "link-dotdot", "description": "tag v2's current/link says sha256:../../../../../etc/passwd",
         "steps": [W(tag_link(APP, "v2"), "sha256:../../../../../etc/passwd")],
         "damaged": [tag_link(APP, "v2")],
         "findings": [{"kind": "link-garbage", "path": tag_link(APP, "v2")}],
         "rm_damaged": {"args": ["team/app:v2"], "exit": 1}})
    add({"name": "link-huge", "description": "tag v2's current/link is 1 MiB of repeated digests",
         "steps": [W(tag_link(APP, "v2"), data={"repeat": B, "times": (1 << 20) // len(B)})],
         "damaged": [tag_link(APP, "v2")],
         "findings": [{"kind": "link-garbage", "path": tag_link(APP, "v2")}],
         "rm_damaged": {"args": ["team/app:v2"], "exit": 1}})
    add({"name": "link-is-folder", "description": "tag v1's current/link is a folder (with a link file inside)",
         "steps": [{"op": "remove", "path": tag_link(APP, "v1")}, W(tag_link(APP, "v1") + "/link", A)],
         "damaged": [tag_link(APP, "v1")],
         "findings": [{"kind": "unexpected-file", "path": tag_link(APP, "v1")}],
         "also_acceptable": ["tag-without-current"],
         "protect": A_BLOBS + [revision_dir(APP, A)],
         "rm_damaged": {"args": ["team/app:v1"], "exit": 1}})
    add({"name": "link-is-fifo", "description": "the revision link of A is a FIFO (reading it would block forever)",
         "steps": [{"op": "fifo", "path": revision_link(APP, A)}],
         "damaged": [revision_link(APP, A)],
         "findings": [{"kind": "unexpected-file", "path": revision_link(APP, A)}],
         "also_acceptable": ["tag-current-missing-revision"],
         "protect": A_BLOBS})
    add({"name": "tag-link-is-fifo", "description": "tag v1's current/link is a FIFO",
         "steps": [{"op": "fifo", "path": tag_link(APP, "v1")}],
         "damaged": [tag_link(APP, "v1")],
         "findings": [{"kind": "unexpected-file", "path": tag_link(APP, "v1")}],
         "protect": A_BLOBS + [revision_dir(APP, A)],
         "rm_damaged": {"args": ["team/app:v1"], "exit": 1}})

    # ---- manifests ------------------------------------------------------------------------
    add(bad_manifest_case("manifest-not-json", "a pushed manifest (tag bad) that is not JSON",
                          {"text": "{ this is not JSON, \"mediaType\": oops\n"}))
    add(bad_manifest_case("manifest-wrong-shape", "a manifest that is a JSON array, not an object",
                          {"json": ["schemaVersion", 2, {"mediaType": OCI_MANIFEST}]}))
    add(bad_manifest_case("manifest-no-config", "an OCI image manifest without config",
                          {"json": {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}}))
    add(bad_manifest_case("manifest-index-manifests-object", "an OCI index whose manifests is an object, not a list",
                          {"json": {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": {"0": desc(OCI_MANIFEST, A, 1)}}}))
    add(bad_manifest_case("manifest-wrong-types", "an OCI manifest whose config digest is a number and size a string",
                          {"json": manifest_doc(config={"mediaType": OCI_CONFIG, "digest": 12, "size": "big"})}))
    add(bad_manifest_case("manifest-negative-size", "an OCI manifest with a layer of size -5 and mediaType 42 in another",
                          {"json": manifest_doc(layers=[desc(OCI_LAYER, LAYER_BASE, -5), {"mediaType": 42, "digest": LAYER_A}])}))
    big_cfg = mf.canonical({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
                            "comment": "only the manifest over 4 MiB references this config"})
    big_cfg_d = digest_of(big_cfg)
    add(bad_manifest_case("manifest-too-large", "a valid OCI manifest of 4 MiB + 1 byte (over the registry's limit) "
                          "whose config nothing else references (the registry's garbage-collect stops at it: 'read "
                          "exceeds limit'); its config must not be swept",
                          {"padded_manifest": 4 * 1024 * 1024 + 1,
                           "manifest": manifest_doc(config=desc(OCI_CONFIG, big_cfg_d, len(big_cfg)))},
                          kinds=("manifest-too-large",), generate=True,
                          extra={"protect": [blob_dir(big_cfg_d)]},
                          before=[W(blob_data(big_cfg_d), data={"hex": big_cfg.hex()})]))
    add(bad_manifest_case("manifest-deeply-nested", "a manifest whose config is 200 000 objects deep (1.2 MB)",
                          {"nested": 200000, "open": "{\"a\":", "close": "}", "inner": "1",
                           "before": "{\"schemaVersion\":2,\"mediaType\":\"" + OCI_MANIFEST + "\",\"config\":", "after": "}"},
                          generate=True))
    add(bad_manifest_case("manifest-deeply-nested-array", "a manifest that is 500 000 nested arrays (1 MB)",
                          {"nested": 500000}, generate=True))
    zero = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    add({"name": "manifest-zero-bytes", "description": "A's data (tagged v1) truncated to zero bytes",
         "steps": [W(blob_data(A), "")],
         "damaged": [blob_data(A)],
         "findings": [{"kind": "manifest-unparsable", "path": blob_data(A)}],
         "also_acceptable": ["manifest-digest-mismatch"],
         "protect": A_BLOBS})
    add(bad_manifest_case("manifest-empty-blob", "tag bad names the empty blob (sha256 of nothing): zero bytes that hash right",
                          {"text": ""}))
    assert digest_of(b"") == zero

    # ---- indexes --------------------------------------------------------------------------
    self_d = fake_digest("index that contains itself")
    self_doc = {"schemaVersion": 2, "mediaType": OCI_INDEX,
                "manifests": [desc(OCI_MANIFEST, A, 1), desc(OCI_INDEX, self_d, 200)]}
    add({"name": "index-contains-itself", "description": "tag multi names an index that lists its own digest as a child",
         "steps": [W(blob_data(self_d), data={"json": self_doc}), W(revision_link(APP, self_d), self_d),
                   W(tag_link(APP, "multi"), self_d), W(tag_dir(APP, "multi") + "/index/sha256/" + mf.hexof(self_d) + "/link", self_d)],
         "damaged": [blob_data(self_d)],
         "findings": [{"kind": "manifest-digest-mismatch", "path": blob_data(self_d)}],
         "rm_damaged": {"args": ["team/app:multi"], "exit": 0}})
    y_d = fake_digest("index Y")
    x_doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [desc(OCI_MANIFEST, A, 1), desc(OCI_INDEX, y_d, 200)]}
    x_d = digest_of(mf.canonical(x_doc))
    y_doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [desc(OCI_MANIFEST, B, 1), desc(OCI_INDEX, x_d, 200)]}
    add({"name": "indexes-contain-each-other", "description": "tag cycle names index X, which lists index Y, which lists X",
         "steps": [W(blob_data(x_d), data={"json": x_doc}), W(blob_data(y_d), data={"json": y_doc}),
                   W(revision_link(APP, x_d), x_d), W(revision_link(APP, y_d), y_d),
                   W(tag_link(APP, "cycle"), x_d), W(tag_dir(APP, "cycle") + "/index/sha256/" + mf.hexof(x_d) + "/link", x_d)],
         "damaged": [blob_data(y_d)],
         "findings": [{"kind": "manifest-digest-mismatch", "path": blob_data(y_d)}],
         "rm_damaged": {"args": ["team/app:cycle"], "exit": 0}})

    # ---- blobs ----------------------------------------------------------------------------
    add({"name": "blob-without-data", "description": "the blob folder of config A (tagged image v1) has no data file",
         "steps": [{"op": "remove", "path": blob_data(CFG_A)}],
         "damaged": [blob_dir(CFG_A)],
         "findings": [{"kind": "blob-dir-without-data", "path": blob_dir(CFG_A)},
                      {"kind": "manifest-missing-reference", "path": blob_data(A)}],
         "protect": A_BLOBS})
    add({"name": "blob-data-is-folder", "description": "layer a's data is a folder",
         "steps": [{"op": "remove", "path": blob_data(LAYER_A)}, W(blob_data(LAYER_A) + "/x", "x")],
         "damaged": [blob_data(LAYER_A)],
         "findings": [{"kind": "unexpected-file", "path": blob_data(LAYER_A)}],
         "also_acceptable": ["manifest-missing-reference"],
         "protect": A_BLOBS})
    add({"name": "blob-folder-is-file", "description": "the blob folder of layer a is a regular file",
         "steps": [{"op": "remove", "path": blob_dir(LAYER_A)}, W(blob_dir(LAYER_A), "not a folder\n")],
         "damaged": [blob_dir(LAYER_A)],
         "findings": [{"kind": "unexpected-file", "path": blob_dir(LAYER_A)}],
         "also_acceptable": ["manifest-missing-reference"],
         "protect": A_BLOBS})
    add({"name": "blob-data-is-fifo", "description": "A's manifest data is a FIFO (reading it would block forever)",
         "steps": [{"op": "fifo", "path": blob_data(A)}],
         "damaged": [blob_data(A)],
         "findings": [{"kind": "unexpected-file", "path": blob_data(A)}],
         "also_acceptable": ["tag-current-missing-blob", "revision-missing-blob"],
         "protect": A_BLOBS})
    add({"name": "blob-prefix-is-file", "description": "blobs/sha256/ff (layer a's prefix folder) is a regular file",
         "steps": [{"op": "remove", "path": f"{V2}/blobs/sha256/ff"}, W(f"{V2}/blobs/sha256/ff", "not a folder\n")],
         "damaged": [f"{V2}/blobs/sha256/ff"],
         "findings": [{"kind": "unexpected-file", "path": f"{V2}/blobs/sha256/ff"}],
         "also_acceptable": ["manifest-missing-reference"],
         "protect": A_BLOBS})

    # ---- structure: a file where a folder should be, and the reverse -----------------------
    add({"name": "repositories-is-file", "description": "docker/registry/v2/repositories is a regular file: no repository is visible",
         "steps": [{"op": "remove", "path": f"{V2}/repositories"}, W(f"{V2}/repositories", "not a folder\n")],
         "damaged": [f"{V2}/repositories"], "error": True,
         "findings": [], "stderr": f"{V2}/repositories",
         "protect": [f"{V2}/blobs"]})
    add({"name": "v2-is-file", "description": "docker/registry/v2 is a regular file",
         "steps": [{"op": "remove", "path": V2}, W(V2, "not a folder\n")],
         "damaged": [V2], "error": True, "findings": [], "stderr": ""})
    add({"name": "tags-is-file", "description": "team/app/_manifests/tags is a regular file: team/app's tags are unknown",
         "steps": [{"op": "remove", "path": repo_dir(APP) + "/_manifests/tags"}, W(repo_dir(APP) + "/_manifests/tags", "v1 v2 latest\n")],
         "damaged": [repo_dir(APP) + "/_manifests/tags"],
         "findings": [{"kind": "unexpected-file", "path": repo_dir(APP) + "/_manifests/tags"}],
         "protect": A_BLOBS + [blob_dir(B), revision_dir(APP, A), revision_dir(APP, B)]})
    add({"name": "repository-is-file", "description": "team/other is a regular file",
         "steps": [{"op": "remove", "path": repo_dir(OTHER)}, W(repo_dir(OTHER), "not a folder\n")],
         "damaged": [repo_dir(OTHER)],
         "findings": [{"kind": "unexpected-file", "path": repo_dir(OTHER)}],
         "intact": "team/app:v1"})
    add({"name": "current-is-file", "description": "tag v1's current is a regular file instead of a folder",
         "steps": [{"op": "remove", "path": tag_dir(APP, "v1") + "/current"}, W(tag_dir(APP, "v1") + "/current", A)],
         "damaged": [tag_dir(APP, "v1") + "/current"],
         "findings": [{"kind": "unexpected-file", "path": tag_dir(APP, "v1") + "/current"}],
         "also_acceptable": ["tag-without-current"],
         "protect": A_BLOBS + [revision_dir(APP, A)],
         "rm_damaged": {"args": ["team/app:v1"], "exit": 1}})
    add({"name": "deep-folders", "description": "300 nested folders below repositories/ (deeper than any repository name)",
         "steps": [{"op": "mkdir", "path": f"{V2}/repositories/deep/" + "/".join(["d"] * 300)}],
         "damaged": [f"{V2}/repositories/deep"],
         "findings": [{"kind": "unexpected-file", "path": f"{V2}/repositories/deep/" + "/".join(["d"] * 127)}],
         "stderr": None})

    # ---- symlinks ---------------------------------------------------------------------------
    # The registry follows a symlink inside the layout, regsweep does not: every sweep refuses
    # (exit 3) while one is there (issue #16 §1); prune refuses when its plan changes the
    # repository that holds it.
    refused = {"gc-dry-run": 3, "gc": 3, "gc-m": 3}
    outside_folder = lambda rel: [{"op": "move", "from": rel, "path": "@outside/moved"},  # noqa: E731
                                  {"op": "symlink", "path": rel, "target": "{outside}/moved"}]
    evil_repo = f"{V2}/repositories/team/evil"
    outside_repo = [{"op": "copy", "from": repo_dir(OTHER), "path": "@outside/evil"}]
    add({"name": "symlink-repository-outside", "exit": refused, "description": "team/evil is a relative symlink to a repository folder outside the root",
         "steps": [{"op": "symlink", "path": evil_repo, "target": "../../../../../../outside/evil"}],
         "outside_steps": outside_repo,
         "damaged": [evil_repo],
         "findings": [{"kind": "symlink", "path": evil_repo}]})
    add({"name": "symlink-tag-outside-absolute", "exit": {**refused, "prune": 3}, "description": "tag evil of team/app is an absolute symlink to a tag folder outside the root",
         "steps": [{"op": "symlink", "path": tag_dir(APP, "evil"), "target": "{outside}/tag"}],
         "outside_steps": [{"op": "copy", "from": tag_dir(OTHER, "1.0"), "path": "@outside/tag"}],
         "damaged": [tag_dir(APP, "evil")],
         "findings": [{"kind": "symlink", "path": tag_dir(APP, "evil")}],
         "rm_damaged": {"args": ["team/app:evil"], "exit": 1}})
    add({"name": "symlink-current-outside", "exit": refused, "description": "tag v1's current/ is a symlink to a folder outside whose link names C",
         "steps": [{"op": "remove", "path": tag_dir(APP, "v1") + "/current"},
                   {"op": "symlink", "path": tag_dir(APP, "v1") + "/current", "target": "../../../../../../../../../../outside/current"}],
         "outside_steps": [W("@outside/current/link", C)],
         "damaged": [tag_dir(APP, "v1") + "/current"],
         "findings": [{"kind": "symlink", "path": tag_dir(APP, "v1") + "/current"}],
         "also_acceptable": ["tag-without-current"],
         "protect": A_BLOBS + [revision_dir(APP, A)],
         "rm_damaged": {"args": ["team/app:v1"], "exit": 1}})
    add({"name": "symlink-link-outside", "exit": refused, "description": "tag v2's current/link is a symlink to a file outside holding B's digest",
         "steps": [{"op": "symlink", "path": tag_link(APP, "v2"), "target": "../../../../../../../../../../../outside/link"}],
         "outside_steps": [W("@outside/link", B)],
         "damaged": [tag_link(APP, "v2")],
         "findings": [{"kind": "symlink", "path": tag_link(APP, "v2")}],
         "rm_damaged": {"args": ["team/app:v2"], "exit": 1}})
    add({"name": "symlink-blob-outside", "exit": refused, "description": "layer a's blob folder is a symlink to a copy outside the root",
         "steps": [{"op": "remove", "path": blob_dir(LAYER_A)},
                   {"op": "symlink", "path": blob_dir(LAYER_A), "target": "../../../../../../../outside/blob"}],
         "outside_steps": [W("@outside/blob/data", hex_=_clean_file(blob_data(LAYER_A)).hex())],
         "damaged": [blob_dir(LAYER_A)],
         "findings": [{"kind": "symlink", "path": blob_dir(LAYER_A)}],
         "also_acceptable": ["manifest-missing-reference"],
         "protect": A_BLOBS + [repo_dir(APP) + "/_layers/sha256/" + mf.hexof(LAYER_A)]})
    add({"name": "symlink-manifest-data-outside", "exit": refused, "description": "A's data is an absolute symlink to a copy of it outside the root",
         "steps": [{"op": "symlink", "path": blob_data(A), "target": "{outside}/data"}],
         "outside_steps": [W("@outside/data", hex_=_clean_file(blob_data(A)).hex())],
         "damaged": [blob_data(A)],
         "findings": [{"kind": "unreadable", "path": blob_data(A)}],
         "also_acceptable": ["symlink", "tag-current-missing-blob", "revision-missing-blob"],
         "protect": A_BLOBS})
    add({"name": "symlink-blobs-outside", "description": "docker/registry/v2/blobs is a symlink to the blobs moved outside the root",
         "steps": [{"op": "move", "from": f"{V2}/blobs", "path": "@outside/blobs"},
                   {"op": "symlink", "path": f"{V2}/blobs", "target": "../../../../outside/blobs"}],
         "damaged": [f"{V2}/blobs"], "error": True, "findings": [], "stderr": f"{V2}/blobs",
         "protect": [repo_dir(APP), repo_dir(OTHER)]})
    add({"name": "symlink-repositories-outside", "description": "docker/registry/v2/repositories is an absolute symlink to repositories moved outside",
         "steps": [{"op": "move", "from": f"{V2}/repositories", "path": "@outside/repositories"},
                   {"op": "symlink", "path": f"{V2}/repositories", "target": "{outside}/repositories"}],
         "damaged": [f"{V2}/repositories"], "error": True, "findings": [], "stderr": f"{V2}/repositories",
         "protect": [f"{V2}/blobs"]})
    add({"name": "symlink-loops", "exit": {**refused, "prune": 3}, "description": "a symlink to itself in repositories/, two tags linking to each other, a repository folder linking to its parent",
         "steps": [{"op": "symlink", "path": f"{V2}/repositories/team/self", "target": "self"},
                   {"op": "symlink", "path": tag_dir(APP, "ping"), "target": "pong"},
                   {"op": "symlink", "path": tag_dir(APP, "pong"), "target": "ping"},
                   {"op": "symlink", "path": f"{V2}/repositories/team/up", "target": ".."}],
         "damaged": [f"{V2}/repositories/team/self", tag_dir(APP, "ping"), tag_dir(APP, "pong"), f"{V2}/repositories/team/up"],
         "findings": [{"kind": "symlink", "path": f"{V2}/repositories/team/self"},
                      {"kind": "symlink", "path": tag_dir(APP, "ping")},
                      {"kind": "symlink", "path": tag_dir(APP, "pong")},
                      {"kind": "symlink", "path": f"{V2}/repositories/team/up"}]})

    # prune changes team/app only where it sees tags to delete: with revisions/ unseen (3); with
    # _manifests/ or tags/ unseen it sees no tag, and a blob prefix is not its business (0).
    for level, rel, prune in (("manifests", repo_dir(APP) + "/_manifests", 0),
                              ("revisions", repo_dir(APP) + "/_manifests/revisions", 3),
                              ("tags", repo_dir(APP) + "/_manifests/tags", 0),
                              ("blob-prefix", f"{V2}/blobs/sha256/" + mf.hexof(A)[:2], 0)):
        add({"name": f"symlink-{level}-outside", "exit": {**refused, "prune": prune},
             "description": f"{rel.split('/v2/')[-1]} moved out of the root and linked back with an absolute symlink",
             "steps": outside_folder(rel),
             "damaged": [rel],
             "findings": [{"kind": "symlink", "path": rel}],
             "also_acceptable": ["tag-current-missing-revision", "tag-current-missing-blob", "revision-missing-blob",
                                 "manifest-missing-reference", "layer-link-missing-blob", "tag-without-current"],
             "protect": A_BLOBS})

    # ---- names ------------------------------------------------------------------------------
    add({"name": "upper-case-repository", "description": "a copy of team/other under Team/Other (upper case is outside the grammar)",
         "steps": [{"op": "copy", "from": repo_dir(OTHER), "path": f"{V2}/repositories/Team/Other"}],
         "damaged": [f"{V2}/repositories/Team/Other"],
         "findings": [{"kind": "invalid-name", "path": f"{V2}/repositories/Team/Other"}],
         "rm_damaged": {"args": ["Team/Other:1.0"], "exit": 2}})
    add({"name": "dotdot-names", "description": "repository team/a..b and tag '...' (both outside the grammar); rm given team/../team/other:1.0",
         "steps": [{"op": "copy", "from": repo_dir(OTHER), "path": f"{V2}/repositories/team/a..b"},
                   {"op": "copy", "from": tag_dir(APP, "v2"), "path": tag_dir(APP, "...")}],
         "damaged": [f"{V2}/repositories/team/a..b", tag_dir(APP, "...")],
         "findings": [{"kind": "invalid-name", "path": f"{V2}/repositories/team/a..b"},
                      {"kind": "invalid-name", "path": tag_dir(APP, "...")}],
         "may_remove": {"prune": [tag_dir(APP, "...")]},
         "rm_damaged": {"args": ["team/../team/other:1.0"], "exit": 2}})
    add({"name": "non-utf8-names", "description": "tag v%FF and repository team/%FE%FF (bytes that are not UTF-8), copies of valid ones",
         "steps": [{"op": "copy", "from": tag_dir(APP, "v2"), "path": tag_dir(APP, "v%FF")},
                   {"op": "copy", "from": repo_dir(OTHER), "path": f"{V2}/repositories/team/%FE%FF"}],
         "damaged": [tag_dir(APP, "v%FF"), f"{V2}/repositories/team/%FE%FF"],
         "findings": [{"kind": "invalid-name", "path": tag_dir(APP, "v%FF")},
                      {"kind": "invalid-name", "path": f"{V2}/repositories/team/%FE%FF"}],
         "stderr": repo_dir(APP) + "/_manifests/tags/v"})

    # ---- uploads ------------------------------------------------------------------------------
    up = f"{repo_dir(APP)}/_uploads/{UPLOAD}"
    add({"name": "startedat-garbage", "description": "the abandoned upload's startedat holds garbage",
         "steps": [W(up + "/startedat", hex_=b"yesterday, roughly\xff\n".hex())],
         "damaged": [up + "/startedat"],
         "findings": [{"kind": "upload-without-startedat", "path": up + "/startedat"}],
         "may_remove": {"gc": [up], "gc-m": [up]}})

    # ---- size ---------------------------------------------------------------------------------
    add({"name": "ten-thousand-tags", "description": "10 000 tags in team/app, all naming A", "generate": True,
         "steps": [{"op": "many_tags", "repo": APP, "count": 10000, "digest": A, "prefix": "t"}],
         "damaged": [], "findings": [], "stderr": None, "chain": True,
         "commands": ["ls", "ls-repo", "report-json", "gc-dry-run", "rm-intact", "gc"]})
    return out


_CLEAN_CACHE: dict = {}


def _clean_file(rel: str) -> bytes:
    if not _CLEAN_CACHE:
        import tarfile
        with tarfile.open(os.path.join(mf.FIXTURES, "clean.tar.gz")) as tf:
            for m in tf.getmembers():
                if m.isfile():
                    _CLEAN_CACHE[os.path.normpath(m.name)] = tf.extractfile(m).read()
    return _CLEAN_CACHE[os.path.normpath(rel)]


def write_json(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")


def generate(out_dir: str) -> None:
    all_cases = cases()
    names = [c["name"] for c in all_cases]
    assert len(names) == len(set(names)), "duplicate case names"
    os.makedirs(out_dir, exist_ok=True)
    for c in all_cases:
        c.setdefault("base", "clean")
    doc = {"generated_by": "scripts/make-malformed.py",
           "paths": "relative to the case's root/ (percent-encoded bytes); '@outside/...' is the sentinel folder next to it",
           "cases": all_cases}
    write_json(os.path.join(out_dir, "cases.json"), doc)
    print(f"make-malformed: {len(all_cases)} cases, {os.path.getsize(os.path.join(out_dir, 'cases.json'))} bytes "
          f"in {out_dir}/cases.json", file=sys.stderr)


def extract(names: list, out: str) -> int:
    by_name = {c["name"]: c for c in mf.load_cases()}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        print(f"make-malformed: no case {', '.join(unknown)} (cases: {', '.join(by_name)})", file=sys.stderr)
        return 2
    for n in names or list(by_name):
        d = os.path.join(out, n) if len(names) != 1 else out
        root, outside = mf.build(by_name[n], d)
        print(f"{n}: root {root}  outside {outside}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--extract", nargs="+", metavar="ARG",
                    help="NAME DIR: build one case in DIR (DIR/root, DIR/outside); or DIR alone: every case in DIR/<name>")
    ap.add_argument("--out", default=mf.CORPUS, help="where cases.json goes (default fixtures/malformed)")
    a = ap.parse_args()
    if a.extract:
        *names, out = a.extract
        return extract(names, out)
    generate(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
