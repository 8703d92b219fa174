"""Scenarios: the sets of images pushed to a real registry by scripts/make-fixtures.py and by
the e2e tests. Every image is built deterministically (see regtest.layer/image), so the same
scenario gives the same digests on every run; only upload ids, startedat and mtimes differ.

Each populate_* function takes a running regtest.Registry and a scratch folder, pushes
through skopeo (from an OCI layout) and through the API, and returns a dict describing what it
did (named digests, deletions), JSON-serialisable.
"""
from __future__ import annotations

import os

import regtest as rt

# ---------------------------------------------------------------------------------------------
# sample: one small, realistic registry with every feature regsweep must understand
# ---------------------------------------------------------------------------------------------


def sample_images() -> dict:
    L = {
        "base_amd64": rt.layer({"etc/os-release": "ID=regtest\nVERSION_ID=3.19\n",
                                "bin/sh": "#!fake busybox for amd64\n"}),
        "base_arm64": rt.layer({"etc/os-release": "ID=regtest\nVERSION_ID=3.19\n",
                                "bin/sh": "#!fake busybox for arm64\n"}),
        "tools": rt.layer({"usr/bin/tool": "#!/bin/sh\necho tool 1.0\n"}),
        "app_v0": rt.layer({"app/main.py": "print('app v0')\n"}),
        "app_v1": rt.layer({"app/main.py": "print('app v1')\n", "app/VERSION": "1\n"}),
        "app_tmp": rt.layer({"app/main.py": "print('a build nobody wanted')\n"}),
        "sub": rt.layer({"srv/sub.conf": "mode=1\n"}),
        "sub_old": rt.layer({"srv/sub.conf": "mode=0\n", "srv/legacy": "yes\n"}),
        "unused": rt.layer({"data/unused.txt": "pushed once, then deleted\n"}),
    }
    I = {}
    I["alpine_amd64"] = rt.image([L["base_amd64"]], arch="amd64", created="2024-01-05T00:00:00Z")
    I["alpine_arm64"] = rt.image([L["base_arm64"]], arch="arm64", variant="v8",
                                 created="2024-01-05T00:00:00Z")
    I["alpine"] = rt.index([I["alpine_amd64"], I["alpine_arm64"]])
    I["app_v0"] = rt.image([L["base_amd64"], L["tools"], L["app_v0"]], created="2024-02-01T10:00:00Z",
                           labels={"org.opencontainers.image.version": "0"})
    I["app_v1"] = rt.image([L["base_amd64"], L["tools"], L["app_v1"]], created="2024-03-01T10:00:00Z",
                           labels={"org.opencontainers.image.version": "1"})
    I["app_tmp"] = rt.image([L["base_amd64"], L["app_tmp"]], created="2024-03-02T10:00:00Z")
    I["sub_1"] = rt.image([L["base_amd64"], L["tools"], L["sub"]], created="2024-03-03T10:00:00Z")
    I["sub_amd64"] = rt.image([L["base_amd64"], L["sub"]], arch="amd64", created="2024-03-04T10:00:00Z")
    I["sub_arm64"] = rt.image([L["base_arm64"], L["sub"]], arch="arm64", variant="v8",
                              created="2024-03-04T10:00:00Z")
    I["sub_multi"] = rt.index([I["sub_amd64"], I["sub_arm64"]])
    I["sub_old"] = rt.image([L["base_amd64"], L["sub_old"]], created="2023-12-01T10:00:00Z")
    I["unused"] = rt.image([L["base_amd64"], L["unused"]], created="2023-11-01T10:00:00Z")
    sbom_doc = rt.Blob("application/spdx+json",
                       rt.canonical_json({"spdxVersion": "SPDX-2.3", "name": "team/app v1",
                                          "packages": [{"name": "tool", "versionInfo": "1.0"}]}))
    I["app_v1_sbom"] = rt.artifact("application/spdx+json", [sbom_doc], subject=I["app_v1"],
                                   annotations={"org.opencontainers.image.created":
                                                "2024-03-01T11:00:00Z"})
    I["app_v1_sig"] = rt.cosign_signature(I["app_v1"], "registry.example/team/app")
    return {"layers": L, "images": I}


def populate_sample(reg: rt.Registry, scratch: str) -> dict:
    """Push the sample set into `reg`. Returns what was done."""
    s = sample_images()
    I = s["images"]
    layout = os.path.join(scratch, "sample-layout")
    rt.make_oci_layout(layout, {k: I[k] for k in
                                ("alpine", "app_v0", "app_v1", "app_tmp", "sub_1", "sub_multi",
                                 "sub_old", "unused")})
    info: dict = {"deleted": [], "untagged_referrers": [], "uploads": []}

    # library/alpine: a multi-arch OCI index under two tags (two tags, one digest)
    rt.push(layout, "alpine", reg, "library/alpine", "3.19", all=True)
    rt.push(layout, "alpine", reg, "library/alpine", "latest", all=True)

    # team/app: latest pushed twice (v0 then v1: v0 stays as an untagged revision);
    # v1 and latest on one digest
    rt.push(layout, "app_v0", reg, "team/app", "latest")
    rt.push(layout, "app_v1", reg, "team/app", "latest")
    rt.push(layout, "app_v1", reg, "team/app", "v1")
    # an OCI artifact (SBOM) referring to v1 by subject, pushed by digest: untagged
    reg.push_by_digest("team/app", I["app_v1_sbom"])
    info["untagged_referrers"].append({"repo": "team/app", "digest": I["app_v1_sbom"].digest,
                                       "subject": I["app_v1"].digest})
    # a cosign-style signature tag sha256-<hex>.sig
    sig_tag = rt.cosign_tag(I["app_v1"].digest)
    reg.push_manifest("team/app", I["app_v1_sig"], sig_tag)
    # a build that is deleted again through the API: garbage
    rt.push(layout, "app_tmp", reg, "team/app", "tmp")
    d = reg.manifest_digest("team/app", "tmp")
    info["deleted"].append({"repo": "team/app", "tags": ["tmp"], "digest": d,
                            "status": reg.delete_manifest("team/app", d)})
    # an abandoned upload with a few bytes in it
    info["uploads"].append({"repo": "team/app",
                            "uuid": reg.start_upload("team/app", b"half a layer, then the client died")})

    # team/app/sub: Docker media types (v2s2 image and a Docker manifest list)
    rt.push(layout, "sub_1", reg, "team/app/sub", "1.0", fmt="v2s2")
    rt.push(layout, "sub_multi", reg, "team/app/sub", "multi", all=True, fmt="v2s2")
    rt.push(layout, "sub_old", reg, "team/app/sub", "old", fmt="v2s2")
    d = reg.manifest_digest("team/app/sub", "old")
    info["deleted"].append({"repo": "team/app/sub", "tags": ["old"], "digest": d,
                            "status": reg.delete_manifest("team/app/sub", d)})

    # old/unused: its only tag deleted; the repository stays (with no tags)
    rt.push(layout, "unused", reg, "old/unused", "1")
    d = reg.manifest_digest("old/unused", "1")
    info["deleted"].append({"repo": "old/unused", "tags": ["1"], "digest": d,
                            "status": reg.delete_manifest("old/unused", d)})

    info["named"] = {
        "library/alpine:3.19": I["alpine"].digest,
        "team/app:latest(first push, now untagged)": I["app_v0"].digest,
        "team/app:v1": I["app_v1"].digest,
        "team/app:" + sig_tag: I["app_v1_sig"].digest,
        "team/app@sbom": I["app_v1_sbom"].digest,
    }
    for k in info["deleted"]:
        if k["status"] != 202:
            raise rt.RegistryError(f"DELETE {k} answered {k['status']}")
    return info


# ---------------------------------------------------------------------------------------------
# garbage: deletes and re-pushes, to compare with garbage-collect
# ---------------------------------------------------------------------------------------------


def garbage_images() -> dict:
    L = {n: rt.layer({f"gc/{n}.txt": f"layer {n}\n"}) for n in
         ("base", "base_arm", "l1", "l1b", "l2", "l3", "lt", "other", "rc1", "rc2")}
    I = {
        "v1": rt.image([L["base"], L["l1"]], created="2024-01-01T00:00:00Z"),
        "v1b": rt.image([L["base"], L["l1b"]], created="2024-01-10T00:00:00Z"),
        "v2": rt.image([L["base"], L["l2"]], created="2024-01-02T00:00:00Z"),
        "v3": rt.image([L["base"], L["l3"]], created="2024-01-03T00:00:00Z"),
        "tmp": rt.image([L["base"], L["lt"]], created="2024-01-04T00:00:00Z"),
        "m_amd64": rt.image([L["base"], L["l3"]], arch="amd64", created="2024-01-05T00:00:00Z"),
        "m_arm64": rt.image([L["base_arm"], L["l3"]], arch="arm64", variant="v8",
                            created="2024-01-05T00:00:00Z"),
        "other": rt.image([L["base"], L["l2"], L["other"]], created="2024-01-06T00:00:00Z"),
        "rc1": rt.image([L["base"], L["rc1"]], created="2024-01-07T00:00:00Z"),
        "rc2": rt.image([L["base"], L["rc2"]], created="2024-01-08T00:00:00Z"),
    }
    I["multi"] = rt.index([I["m_amd64"], I["m_arm64"]])
    I["v2_sbom"] = rt.artifact("application/vnd.example.sbom.v1+json",
                               [rt.Blob("application/json", b'{"sbom":"v2"}')], subject=I["v2"])
    return {"layers": L, "images": I}


def populate_garbage(reg: rt.Registry, scratch: str) -> dict:
    g = garbage_images()
    I = g["images"]
    layout = os.path.join(scratch, "garbage-layout")
    rt.make_oci_layout(layout, {k: I[k] for k in ("v1", "v1b", "v2", "v3", "tmp", "multi", "other",
                                                      "rc1", "rc2")})
    info: dict = {"steps": []}

    def step(what, **kw):
        info["steps"].append(dict(what=what, **kw))

    rt.push(layout, "v1", reg, "gc/app", "v1"); step("push gc/app:v1", digest=I["v1"].digest)
    rt.push(layout, "v2", reg, "gc/app", "v2"); step("push gc/app:v2", digest=I["v2"].digest)
    rt.push(layout, "v1", reg, "gc/app", "latest"); step("push gc/app:latest", digest=I["v1"].digest)
    rt.push(layout, "v3", reg, "gc/app", "latest"); step("re-push gc/app:latest", digest=I["v3"].digest)
    rt.push(layout, "multi", reg, "gc/app", "multi", all=True)
    step("push gc/app:multi (OCI index)", digest=I["multi"].digest)
    reg.push_by_digest("gc/app", I["v2_sbom"])
    step("push gc/app@digest (artifact, subject gc/app:v2)", digest=I["v2_sbom"].digest)
    rt.push(layout, "other", reg, "gc/other", "1.0"); step("push gc/other:1.0", digest=I["other"].digest)
    rt.push(layout, "rc1", reg, "gc/app", "rc"); step("push gc/app:rc", digest=I["rc1"].digest)
    rt.push(layout, "rc2", reg, "gc/app", "rc")
    step("re-push gc/app:rc (rc1 stays: untagged, listed in tags/rc/index/)", digest=I["rc2"].digest)

    st = reg.delete_manifest("gc/app", I["v1"].digest)
    step("DELETE gc/app@v1 digest (tag v1)", digest=I["v1"].digest, status=st)
    rt.push(layout, "v1b", reg, "gc/app", "v1"); step("re-push gc/app:v1 (new image)", digest=I["v1b"].digest)
    st = reg.delete_manifest("gc/app", I["v2"].digest)
    step("DELETE gc/app@v2 digest (layer l2 still used by gc/other)", digest=I["v2"].digest, status=st)
    rt.push(layout, "tmp", reg, "gc/app", "tmp"); step("push gc/app:tmp", digest=I["tmp"].digest)
    st = reg.delete_manifest("gc/app", I["tmp"].digest)
    step("DELETE gc/app@tmp digest", digest=I["tmp"].digest, status=st)
    lt = g["layers"]["lt"].digest
    st = reg.delete_blob("gc/app", lt)
    step("DELETE gc/app blob lt (its _layers link)", digest=lt, status=st)
    for s_ in info["steps"]:
        if "status" in s_ and s_["status"] != 202:
            raise rt.RegistryError(f"{s_['what']} answered {s_['status']}")
    info["named"] = {k: v.digest for k, v in I.items()}
    info["named"].update({"layer " + k: v.digest for k, v in g["layers"].items()})
    return info


# ---------------------------------------------------------------------------------------------
# clean: the small tree every damaged-* fixture starts from
# ---------------------------------------------------------------------------------------------


def clean_images() -> dict:
    L = {
        "base": rt.layer({"etc/os-release": "ID=regtest-clean\n"}),
        "a": rt.layer({"app/a.txt": "a\n"}),
        "b": rt.layer({"app/b.txt": "b\n"}),
        "old": rt.layer({"app/old.txt": "old\n"}),
        "c": rt.layer({"srv/c.txt": "c\n"}),
    }
    I = {
        "A": rt.image([L["base"], L["a"]], created="2024-01-01T00:00:00Z"),
        "B": rt.image([L["base"], L["b"]], created="2024-01-02T00:00:00Z"),
        "OLD": rt.image([L["base"], L["old"]], created="2023-12-01T00:00:00Z"),
        "C": rt.image([L["base"], L["c"]], created="2024-01-03T00:00:00Z"),
    }
    return {"layers": L, "images": I}


def populate_clean(reg: rt.Registry, scratch: str) -> dict:
    """team/app: v1 -> A, v2 -> B, latest pushed as OLD then B (OLD: untagged revision);
    team/other: 1.0 -> C (shares the base layer); one abandoned upload in team/app."""
    c = clean_images()
    I = c["images"]
    layout = os.path.join(scratch, "clean-layout")
    rt.make_oci_layout(layout, I)
    rt.push(layout, "A", reg, "team/app", "v1")
    rt.push(layout, "B", reg, "team/app", "v2")
    rt.push(layout, "OLD", reg, "team/app", "latest")
    rt.push(layout, "B", reg, "team/app", "latest")
    rt.push(layout, "C", reg, "team/other", "1.0")
    uuid = reg.start_upload("team/app", b"partial")
    named = {k: v.digest for k, v in I.items()}
    named.update({"layer " + k: v.digest for k, v in c["layers"].items()})
    named.update({"config " + k: v.refs[0].digest for k, v in I.items()})
    return {"named": named, "uploads": [{"repo": "team/app", "uuid": uuid}]}
