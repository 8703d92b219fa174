#!/usr/bin/env python3
"""fsck --verify throughput against the disk's sequential read rate, in one run.

Makes (once, cached under bench/work/) a storage with big random blobs under correct digests
(a few layers of --blob-mib MiB each, plus a tagged manifest naming them), then times, with
the page cache dropped before each when the machine allows it (root, /proc/sys/vm/drop_caches):

  cat        every blob's data to /dev/null (the sequential read rate: the goal)
  sha256sum  every blob's data, one process (the hash alone, single-threaded)
  regsweep   fsck --verify -j N

and prints MiB/s for each and regsweep's ratio to `cat`. Usage:
  python3 bench/verify.py [--blobs 8] [--blob-mib 256] [--jobs N] [--runs 3]
"""
import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
V2 = "docker/registry/v2"


def make_store(root, blobs, blob_mib):
    marker = os.path.join(root, "done.json")
    if os.path.exists(marker):
        return json.load(open(marker))
    layers = []
    chunk = 1 << 20
    for i in range(blobs):
        h = hashlib.sha256()
        tmp = os.path.join(root, f"tmp-{i}")
        os.makedirs(root, exist_ok=True)
        with open(tmp, "wb") as f:
            seed = hashlib.sha256(f"blob-{i}".encode()).digest()
            for k in range(blob_mib):
                # cheap pseudo-random data: a hash chain repeated to fill a MiB
                seed = hashlib.sha256(seed + k.to_bytes(4, "big")).digest()
                block = (seed * (chunk // len(seed) + 1))[:chunk]
                f.write(block)
                h.update(block)
        d = h.hexdigest()
        dst = os.path.join(root, "store", V2, "blobs/sha256", d[:2], d)
        os.makedirs(dst, exist_ok=True)
        os.rename(tmp, os.path.join(dst, "data"))
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + d,
                       "size": blob_mib * chunk})
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()

    def put(data):
        d = hashlib.sha256(data).hexdigest()
        dst = os.path.join(root, "store", V2, "blobs/sha256", d[:2], d)
        os.makedirs(dst, exist_ok=True)
        open(os.path.join(dst, "data"), "wb").write(data)
        return d
    cd = put(config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cd,
                                      "size": len(config)},
                           "layers": layers}).encode()
    md = put(manifest)
    repo = os.path.join(root, "store", V2, "repositories", "bench", "big")

    def link(rel, d):
        os.makedirs(os.path.join(repo, rel), exist_ok=True)
        open(os.path.join(repo, rel, "link"), "w").write("sha256:" + d)
    link(f"_manifests/revisions/sha256/{md}", md)
    link("_manifests/tags/latest/current", md)
    link(f"_manifests/tags/latest/index/sha256/{md}", md)
    for d in [cd] + [layer["digest"][7:] for layer in layers]:
        link(f"_layers/sha256/{d}", d)
    info = {"blobs": blobs, "blob_mib": blob_mib, "bytes": blobs * blob_mib * chunk}
    json.dump(info, open(marker, "w"))
    return info


def drop_caches():
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def timed(cmd, **kw):
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    return time.monotonic() - t0, p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--blobs", type=int, default=8)
    ap.add_argument("--blob-mib", type=int, default=256)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--regsweep", default=os.path.join(HERE, "..", "build", "regsweep"))
    a = ap.parse_args()
    root = os.path.join(HERE, "work", f"verify-{a.blobs}x{a.blob_mib}")
    info = make_store(root, a.blobs, a.blob_mib)
    store = os.path.join(root, "store")
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(store, V2, "blobs")) for f in fs if f == "data")
    mib = info["bytes"] / (1 << 20)
    cold = drop_caches()
    cmds = {
        "cat": ["sh", "-c", 'cat "$@" > /dev/null', "cat", *files],
        "sha256sum": ["sha256sum", *files],
        "regsweep fsck --verify": [a.regsweep, "--root", store, "-j", str(a.jobs), "fsck", "--verify", "--json"],
    }
    times = {k: [] for k in cmds}
    for _ in range(a.runs):
        for name, cmd in cmds.items():  # interleaved: the same conditions for each
            drop_caches()
            t, p = timed(cmd)
            if p.returncode != 0:
                sys.exit(f"{name} failed ({p.returncode}): {p.stderr.decode()[-500:]}")
            if name.startswith("regsweep"):
                doc = json.loads(p.stdout)
                assert doc["verify"]["corrupt"] == 0 and doc["verify"]["bytes"] >= info["bytes"], doc["verify"]
            times[name].append(t)
    print(f"store: {a.blobs} blobs x {a.blob_mib} MiB = {mib:.0f} MiB; page cache dropped before each run: {cold}; "
          f"runs: {a.runs}; regsweep -j {a.jobs}")
    base = statistics.median(times["cat"])
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"  {name:26s} median {m:7.2f} s  {mib / m:8.1f} MiB/s  ratio to cat {base / m:5.2f}")


if __name__ == "__main__":
    main()
