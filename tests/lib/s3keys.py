"""s3keys: a registry's storage in a bucket seen as keys, for the S3 suites (what trees.py and
storage.py are on a disk): snapshots of a prefix, a prefix copied server-side, the blobs and
tags a snapshot holds, differences as text, and the time regsweep keeps in a copied key.

    snap = snapshot(client, bucket, prefix)          # {"docker/registry/v2/...": (size, etag)}
    copy_prefix(client, bucket, prefix, other)       # every key, CopyObject, in parallel
    blobs(snap), tags(snap), diff_text(snap, other_snap)

Keys are given relative to the prefix ("docker/registry/v2/blobs/..."); regsweep's own state
(.regsweep/) is left out unless asked for. A snapshot compares keys by size and ETag (the
MD5 of a key written in one part, kept by a copy), contents() by their bytes.
"""
from __future__ import annotations

import concurrent.futures

V2 = "docker/registry/v2/"
STATE = ".regsweep/"
TIME_META = "regsweep-mtime-ns"  # x-amz-meta-regsweep-mtime-ns: a copied key's original time
WORKERS = 8


def _under(prefix: str) -> str:
    return prefix.strip("/") + "/" if prefix.strip("/") else ""


def snapshot(client, bucket: str, prefix: str, under: str = "", exclude=(STATE,)) -> dict:
    """{key relative to prefix: (size, etag)} of every key below prefix/under, but those that
    start with one of `exclude`."""
    top = _under(prefix)
    out = {}
    for key, (size, etag, _time) in client.list_keys(bucket, top + under).items():
        rel = key[len(top):]
        if not any(rel.startswith(x) for x in exclude):
            out[rel] = (size, etag)
    return out


def contents(client, bucket: str, prefix: str, keys) -> dict:
    """{key: bytes} of the given keys (relative to prefix), read in parallel."""
    top = _under(prefix)
    keys = sorted(keys)
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as ex:
        return dict(zip(keys, ex.map(lambda k: client.get(bucket, top + k), keys)))


def copy_prefix(client, bucket: str, src: str, dst: str, exclude=()) -> int:
    """Copy every key below src to the same place below dst (server-side, in parallel);
    returns how many."""
    s, d = _under(src), _under(dst)
    keys = [k for k in client.list_keys(bucket, s) if not any(k[len(s):].startswith(x) for x in exclude)]
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as ex:
        list(ex.map(lambda k: client.copy(bucket, k, d + k[len(s):]), keys))
    return len(keys)


def blobs(snap: dict) -> set:
    """sha256:<hex> of every blob data key (blobs/sha256/<2>/<hex>/data) in a snapshot."""
    out = set()
    for k in snap:
        parts = k[len(V2):].split("/") if k.startswith(V2) else []
        if len(parts) == 5 and parts[:2] == ["blobs", "sha256"] and parts[4] == "data":
            out.add("sha256:" + parts[3])
    return out


def tags(snap: dict) -> set:
    """'repo:tag' of every tag's current/link key in a snapshot."""
    out = set()
    for k in snap:
        if k.startswith(V2 + "repositories/") and k.endswith("/current/link") and "/_manifests/tags/" in k:
            repo, _, rest = k[len(V2 + "repositories/"):].partition("/_manifests/tags/")
            out.add(f"{repo}:{rest[:-len('/current/link')]}")
    return out


def below(snap: dict, part: str) -> dict:
    """The keys of a snapshot below V2 + part ("blobs/", "repositories/team/app/")."""
    return {k: v for k, v in snap.items() if k.startswith(V2 + part)}


def diff_text(a: dict, b: dict, limit: int = 40) -> str:
    """'- key' only in a, '+ key' only in b, '~ key' in both with other values ('' when equal)."""
    lines = [f"- {k}" for k in sorted(set(a) - set(b))] + [f"+ {k}" for k in sorted(set(b) - set(a))] + \
            [f"~ {k}: {a[k]} -> {b[k]}" for k in sorted(set(a) & set(b)) if a[k] != b[k]]
    more = f"\n... {len(lines) - limit} more" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more


def kept_time_ns(client, bucket: str, key: str) -> int | None:
    """The time regsweep keeps in a key it copied (x-amz-meta-regsweep-mtime-ns); None without."""
    h = client.head(bucket, key)
    v = (h or {}).get("Metadata", {}).get(TIME_META)
    return int(v) if v is not None else None


def set_kept_time(client, bucket: str, key: str, ns: int) -> None:
    """Write the key again with x-amz-meta-regsweep-mtime-ns = ns: regsweep then reads it as
    written at that time (as a key it copied)."""
    client.put(bucket, key, client.get(bucket, key), Metadata={TIME_META: str(ns)})
