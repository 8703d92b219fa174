#!/usr/bin/env python3
"""Write a large, valid synthetic registry store (filesystem driver layout).

The tree is what distribution's filesystem driver would have written after a
series of pushes, re-pushes, deletes by digest and abandoned uploads:

  ROOT/docker/registry/v2/blobs/sha256/<2 hex>/<64 hex>/data
  ROOT/docker/registry/v2/repositories/<name>/_layers/sha256/<hex>/link
  ROOT/docker/registry/v2/repositories/<name>/_manifests/revisions/sha256/<hex>/link
  ROOT/docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/current/link
  ROOT/docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/index/sha256/<hex>/link
  ROOT/docker/registry/v2/repositories/<name>/_uploads/<uuid>/{startedat,data}

No registry is run: the bytes are computed here, every blob is stored under
the sha256 of its content, and the manifests/configs are real JSON. The
script also predicts what `registry garbage-collect` (2.8.2) will print, so a
run of the real binary checks the generator (see --summary and --check).

Standard library only. Deterministic for a given set of options (--seed).
"""

import argparse
import hashlib
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
D2_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
D2_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
D2_CONFIG = "application/vnd.docker.container.image.v1+json"
D2_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

PLATFORMS = (("amd64", None), ("arm64", "v8"))

PRESETS = {
    # a few of everything: for checking against the real registry by hand
    "small": dict(repos=6, tags=4, layers=3, shared_layers=8, untagged=2,
                  multiarch=0.25, orphans=5, uploads=3, nested=True,
                  deleted=1, mirrors=1),
    # ~100,000 files (the size the design's speed figures refer to)
    "100k": dict(repos=472, tags=16, layers=5, shared_layers=400, untagged=4,
                 multiarch=0.2, orphans=2000, uploads=60, nested=True,
                 deleted=1, mirrors=4),
    # the 100k preset's shape at a fifth (~20,000 files): S3 benchmark (bench/s3.py), where
    # the registry's GC makes a request per folder and per link
    "s3": dict(repos=94, tags=16, layers=5, shared_layers=80, untagged=4,
               multiarch=0.2, orphans=400, uploads=24, nested=True,
               deleted=1, mirrors=2),
    # ~1,000,000 files: the 100k shape scaled 10x (repositories, shared layers,
    # orphans, uploads, mirrors), for the linearity and memory figures
    "1m": dict(repos=4720, tags=16, layers=5, shared_layers=4000, untagged=4,
               multiarch=0.2, orphans=20000, uploads=600, nested=True,
               deleted=1, mirrors=40),
    # few repositories, many tags each: where `garbage-collect -m` is quadratic
    "wide": dict(repos=10, tags=1000, layers=3, shared_layers=50, untagged=50,
                 multiarch=0.1, orphans=200, uploads=10, nested=True,
                 deleted=5, mirrors=0),
}

DEFAULTS = dict(repos=20, tags=5, layers=4, shared_layers=30, untagged=1,
                multiarch=0.2, orphans=20, uploads=5, nested=False, deleted=0,
                mirrors=0, docker_share=0.3, blob_size=64, seed=1, backdate=30.0)

BASE_TIME = datetime(2023, 1, 1, tzinfo=timezone.utc)


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """Writes files under ROOT/docker/registry/v2, creating directories once."""

    def __init__(self, root, mtime=None):
        self.mtime = mtime  # seconds since the epoch for every file, or None: now
        self.v2 = os.path.join(root, "docker", "registry", "v2")
        os.makedirs(self.v2, exist_ok=True)
        self.dirs = set()
        self.written = set()  # relative paths of the files present
        self.blobs = {}  # hex -> size

    @property
    def files(self):
        return len(self.written)

    def _mkdirs(self, rel):
        if rel in self.dirs:
            return
        parent = rel.rpartition("/")[0]
        if parent:
            self._mkdirs(parent)
        try:
            os.mkdir(os.path.join(self.v2, rel))
        except FileExistsError:
            pass
        self.dirs.add(rel)

    def write(self, rel, data, mtime=None):
        self._mkdirs(rel.rpartition("/")[0])
        fd = os.open(os.path.join(self.v2, rel),
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            if mtime is None:
                mtime = self.mtime
            if mtime is not None:
                os.utime(fd, (mtime, mtime))
        finally:
            os.close(fd)
        self.written.add(rel)

    def unlink(self, rel):
        os.unlink(os.path.join(self.v2, rel))
        self.written.discard(rel)

    def mkdir(self, rel):
        self._mkdirs(rel)

    def blob(self, data):
        """Stores data under its digest; returns the hex digest."""
        hx = hashlib.sha256(data).hexdigest()
        if hx not in self.blobs:
            self.write("blobs/sha256/%s/%s/data" % (hx[:2], hx), data)
            self.blobs[hx] = len(data)
        return hx

    def link(self, rel, hx, rewrite=False):
        """A link file: 'sha256:<hex>', 71 bytes, no newline."""
        if rel in self.written and not rewrite:
            return
        self.write(rel, ("sha256:" + hx).encode())


class Repo:
    def __init__(self, name):
        self.name = name
        self.base = "repositories/" + name
        self.revisions = set()      # manifest hexes with a revision link
        self.current = {}           # tag -> manifest hex
        self.index = {}             # tag -> set of hexes in the tag's index/
        self.layer_links = set()
        self.prev_layers = []       # top layers of the previous image (reuse)
        self.base_layers = []       # shared-pool layers every image starts with
        self.deleted = set()        # revisions deleted by digest (dir left)


class Generator:
    def __init__(self, args, store):
        self.a = args
        self.s = store
        self.rng = random.Random(args.seed)
        self.manifests = {}   # hex -> dict(kind, refs, media_type)
        self.pool = []        # shared layer hexes (written lazily)
        self.pool_data = []
        self.clock = 0        # seconds after BASE_TIME, increases per image
        self.repos = []

    # -- blobs -------------------------------------------------------------
    def rand_bytes(self, n):
        return self.rng.randbytes(n)

    def new_layer(self):
        return self.s.blob(self.rand_bytes(self.a.blob_size))

    def pool_layer(self, i):
        hx = self.pool[i]
        if hx not in self.s.blobs:
            self.s.blob(self.pool_data[i])
        return hx

    def tick(self):
        self.clock += self.rng.randrange(60, 7200)
        return rfc3339(BASE_TIME + timedelta(seconds=self.clock))

    # -- images ------------------------------------------------------------
    def pick_layers(self, repo):
        n = self.a.layers
        layers = list(repo.base_layers[:n])
        while len(layers) < n:
            if repo.prev_layers and self.rng.random() < 0.3:
                cand = self.rng.choice(repo.prev_layers)
                if cand not in layers:
                    layers.append(cand)
                    continue
            layers.append(self.new_layer())
        repo.prev_layers = layers[len(repo.base_layers):]
        return layers

    def image(self, repo, docker, arch="amd64", variant=None):
        """Writes config + layers + manifest blobs; links config and layers
        into the repository; returns (manifest hex, size, media type)."""
        layers = self.pick_layers(repo)
        created = self.tick()
        cfg = {
            "architecture": arch,
            "config": {
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": ["/bin/sh"],
                "Labels": {"org.opencontainers.image.source": "bench/" + repo.name},
            },
            "created": created,
            "history": [{"created": created, "created_by": "layer %d" % i}
                        for i in range(len(layers))],
            "os": "linux",
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(bytes.fromhex(h)).hexdigest()
                             for h in layers],
            },
        }
        if variant:
            cfg["variant"] = variant
        cfg_bytes = json.dumps(cfg, separators=(",", ":"), sort_keys=True).encode()
        cfg_hex = self.s.blob(cfg_bytes)
        lmt = D2_LAYER if docker else OCI_LAYER
        man = {"schemaVersion": 2}
        man["mediaType"] = D2_MANIFEST if docker else OCI_MANIFEST
        man["config"] = {"mediaType": D2_CONFIG if docker else OCI_CONFIG,
                         "size": len(cfg_bytes), "digest": "sha256:" + cfg_hex}
        man["layers"] = [{"mediaType": lmt, "size": self.s.blobs[h],
                          "digest": "sha256:" + h} for h in layers]
        if docker:  # docker push wrote indented JSON
            data = json.dumps(man, indent=3).encode()
        else:
            data = json.dumps(man, separators=(",", ":")).encode()
        hx = self.s.blob(data)
        self.manifests[hx] = dict(refs=[cfg_hex] + layers, kind="image",
                                  media_type=man["mediaType"])
        for h in [cfg_hex] + layers:
            self.link_layer(repo, h)
        self.s.link("%s/_manifests/revisions/sha256/%s/link" % (repo.base, hx), hx)
        repo.revisions.add(hx)
        return hx, len(data), man["mediaType"]

    def index(self, repo, docker):
        children = []
        for arch, variant in PLATFORMS:
            hx, size, mt = self.image(repo, docker, arch, variant)
            plat = {"architecture": arch, "os": "linux"}
            if variant:
                plat["variant"] = variant
            children.append({"mediaType": mt, "size": size,
                             "digest": "sha256:" + hx, "platform": plat})
        man = {"schemaVersion": 2,
               "mediaType": D2_LIST if docker else OCI_INDEX,
               "manifests": children}
        data = json.dumps(man, separators=(",", ":")).encode()
        hx = self.s.blob(data)
        self.manifests[hx] = dict(refs=[c["digest"][7:] for c in children],
                                  kind="index", media_type=man["mediaType"])
        self.s.link("%s/_manifests/revisions/sha256/%s/link" % (repo.base, hx), hx)
        repo.revisions.add(hx)
        return hx

    def link_layer(self, repo, hx):
        repo.layer_links.add(hx)
        self.s.link("%s/_layers/sha256/%s/link" % (repo.base, hx), hx)

    def tag(self, repo, tag, hx):
        t = "%s/_manifests/tags/%s" % (repo.base, tag)
        self.s.link(t + "/index/sha256/%s/link" % hx, hx)
        repo.index.setdefault(tag, set()).add(hx)
        repo.current[tag] = hx
        # current/link is rewritten by every push of the tag
        self.s.link(t + "/current/link", hx, rewrite=True)

    # -- the store -----------------------------------------------------------
    def repo_names(self):
        names = []
        n = self.a.repos
        teams = max(1, n // 8)
        for i in range(n):
            if not self.a.nested:
                names.append("app%d" % i)
            elif i == 0:
                names.append("team0")  # a repository that is also a namespace
            elif i % 10 == 9:
                names.append("org%d/team%d/svc%d" % (i % 3, i % teams, i))
            elif i % 3 != 0:
                names.append("team%d/app%d" % (i % teams, i))
            else:
                names.append("app%d" % i)
        return names

    def is_multiarch(self, i):
        f = self.a.multiarch  # spread evenly, the first tag included
        return math.ceil((i + 1) * f) > math.ceil(i * f)

    def tag_names(self):
        t = self.a.tags
        names = ["v%d" % i for i in range(t)]
        if t >= 2:
            names[-1] = "latest"
        return names

    def run(self):
        a = self.a
        self.pool_data = [self.rand_bytes(a.blob_size) for _ in range(a.shared_layers)]
        self.pool = [hashlib.sha256(d).hexdigest() for d in self.pool_data]
        tags = self.tag_names()
        nbase = min(len(self.pool), (a.layers + 1) // 2)
        for name in self.repo_names():
            repo = Repo(name)
            self.repos.append(repo)
            if nbase:
                idx = self.rng.sample(range(len(self.pool)), nbase)
                repo.base_layers = [self.pool_layer(i) for i in idx]
            docker = self.rng.random() < a.docker_share
            # older revisions first: tag pushed, then re-pushed later
            old_targets = [tags[i % len(tags)] for i in range(a.untagged)] if tags else []
            for tag in old_targets:
                hx, _, _ = self.image(repo, docker)
                self.tag(repo, tag, hx)
            # revisions deleted by digest through the API: revision link gone,
            # empty <hex>/ directory left, blob and _layers links left,
            # index entry of the tag that once pointed at it left.
            for k in range(a.deleted if tags else 0):
                hx, _, _ = self.image(repo, docker)
                tag = tags[k % len(tags)]
                self.tag(repo, tag, hx)
                rev = "%s/_manifests/revisions/sha256/%s/link" % (repo.base, hx)
                self.s.unlink(rev)
                repo.revisions.discard(hx)
                repo.deleted.add(hx)
            # the current images
            for i, tag in enumerate(tags):
                if tag == "latest":
                    hx = repo.current[tags[i - 1]]
                elif self.is_multiarch(i):
                    hx = self.index(repo, docker)
                else:
                    hx, _, _ = self.image(repo, docker)
                self.tag(repo, tag, hx)
            # a deleted revision's tag may have been re-pointed since; a tag
            # still pointing at a deleted digest would have been removed.
        self.mirror_repos()
        self.orphans()
        self.uploads()

    def mirror_repos(self):
        """Repositories holding the same manifests as another one (skopeo sync
        to a second name): manifest blobs shared across repositories."""
        srcs = [r for r in self.repos if r.current]
        for k in range(min(self.a.mirrors, len(srcs))):
            src = srcs[k]
            repo = Repo("mirror/" + src.name)
            self.repos.append(repo)
            for tag, hx in sorted(src.current.items()):
                todo = [hx]
                if self.manifests[hx]["kind"] == "index":
                    todo += self.manifests[hx]["refs"]
                for m in todo:
                    self.s.link("%s/_manifests/revisions/sha256/%s/link" % (repo.base, m), m)
                    repo.revisions.add(m)
                    if self.manifests[m]["kind"] == "image":
                        for h in self.manifests[m]["refs"]:
                            self.link_layer(repo, h)
                self.tag(repo, tag, hx)

    def orphans(self):
        """Blobs no manifest references; half of them linked into a repo,
        as an interrupted push (layers uploaded, manifest never put) leaves."""
        for k in range(self.a.orphans):
            hx = self.new_layer()
            if k % 2 == 0 and self.repos:
                self.link_layer(self.rng.choice(self.repos), hx)

    def uploads(self):
        now = datetime.now(timezone.utc).replace(microsecond=0)
        for k in range(self.a.uploads):
            if not self.repos:
                break
            repo = self.rng.choice(self.repos)
            u = "%08x-%04x-4%03x-%04x-%012x" % (
                self.rng.getrandbits(32), self.rng.getrandbits(16),
                self.rng.getrandbits(12), 0x8000 | self.rng.getrandbits(14),
                self.rng.getrandbits(48))
            # two thirds older than the registry's default purge age (168h)
            age = timedelta(hours=200 + 24 * k) if k % 3 else timedelta(minutes=5 + k)
            base = "%s/_uploads/%s" % (repo.base, u)
            started = (now - age).timestamp()
            self.s.write(base + "/startedat", rfc3339(now - age).encode(), started)
            self.s.write(base + "/data", self.rand_bytes(self.a.blob_size * (k % 4)), started)

    # -- what the registry should say ---------------------------------------
    def expectations(self):
        all_blobs = set(self.s.blobs)

        def refs(hx):
            return self.manifests[hx]["refs"] if hx in self.manifests else []

        def sized(hexes):
            return {"blobs": len(hexes), "bytes": sum(self.s.blobs[h] for h in hexes
                                                        if h in self.s.blobs)}

        plain = set()
        for r in self.repos:
            for m in r.revisions:
                plain.add(m)
                plain.update(refs(m))
        m282, m282_manifests = set(), 0
        safe, safe_manifests = set(), 0
        for r in self.repos:
            cur = set(r.current.values())
            keep = set(cur)
            for m in cur:
                if self.manifests.get(m, {}).get("kind") == "index":
                    keep.update(x for x in refs(m) if x in r.revisions)
            for m in r.revisions:
                if m in cur:
                    m282.add(m)
                    m282.update(refs(m))
                else:
                    m282_manifests += 1
                if m in keep:
                    safe.add(m)
                    safe.update(refs(m))
                else:
                    safe_manifests += 1
        return {
            "registry_2.8.2": {
                "gc": {"marked": len(plain), "eligible_blobs": len(all_blobs - plain),
                       "eligible_manifests": 0,
                       "eligible_bytes": sized(all_blobs - plain)["bytes"]},
                "gc_m": {"marked": len(m282), "eligible_blobs": len(all_blobs - m282),
                         "eligible_manifests": m282_manifests,
                         "eligible_bytes": sized(all_blobs - m282)["bytes"]},
            },
            # -m that keeps the children of tagged indexes (3.x; regsweep)
            "delete_untagged_keep_children": {
                "eligible_blobs": len(all_blobs - safe),
                "eligible_manifests": safe_manifests,
                "eligible_bytes": sized(all_blobs - safe)["bytes"]},
        }

    def summary(self):
        kinds = {}
        for m in self.manifests.values():
            kinds[m["media_type"]] = kinds.get(m["media_type"], 0) + 1
        return {
            "files": self.s.files,
            "blobs": len(self.s.blobs),
            "blob_bytes": sum(self.s.blobs.values()),
            "manifests": len(self.manifests),
            "manifest_media_types": kinds,
            "repositories": len(self.repos),
            "tags": sum(len(r.current) for r in self.repos),
            "revisions": sum(len(r.revisions) for r in self.repos),
            "layer_links": sum(len(r.layer_links) for r in self.repos),
            "uploads": self.a.uploads if self.repos else 0,
            "expect": self.expectations(),
        }


GC_LINE = re.compile(r"(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible")


def check_with_registry(root, summary, registry="docker-registry"):
    """Runs `garbage-collect --dry-run` with and without -m; compares counts."""
    ok = True
    with tempfile.TemporaryDirectory() as td:
        cfg = os.path.join(td, "config.yml")
        with open(cfg, "w") as f:
            f.write(registry_config(root))
        for key, extra in (("gc", []), ("gc_m", ["-m"])):
            p = subprocess.run([registry, "garbage-collect", "--dry-run"] + extra + [cfg],
                               capture_output=True, text=True)
            m = GC_LINE.search(p.stdout)
            want = summary["expect"]["registry_2.8.2"][key]
            if p.returncode != 0 or not m:
                print("check %s: registry failed (rc=%d): %s" % (key, p.returncode,
                      (p.stderr or p.stdout)[-2000:]), file=sys.stderr)
                ok = False
                continue
            got = tuple(int(x) for x in m.groups())
            exp = (want["marked"], want["eligible_blobs"], want["eligible_manifests"])
            same = got == exp
            ok = ok and same
            print("check %-5s registry: %d marked, %d blobs, %d manifests eligible; "
                  "expected %d/%d/%d: %s" % ((key,) + got + exp + ("ok" if same else "MISMATCH",)),
                  file=sys.stderr)
    return ok


ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, D2_MANIFEST, D2_LIST])


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_check(root, registry="docker-registry", max_repos=None):
    """Starts the registry on 127.0.0.1 and pulls every tag through the HTTP
    API (catalog, tags list, manifests, blobs), checking every digest."""
    import urllib.error
    import urllib.request
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    with tempfile.TemporaryDirectory() as td:
        cfg = os.path.join(td, "config.yml")
        with open(cfg, "w") as f:
            f.write(registry_config(root, "127.0.0.1:%d" % port))
        proc = subprocess.Popen([registry, "serve", cfg], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            def get(path, accept=None):
                req = urllib.request.Request(base + path)
                if accept:
                    req.add_header("Accept", accept)
                with urllib.request.urlopen(req, timeout=30) as r:
                    return r.read(), r.headers

            for _ in range(100):
                try:
                    get("/v2/")
                    break
                except OSError:
                    time.sleep(0.1)
            repos, last = [], None
            while True:  # the catalog answers at most 1000 per page
                q = "/v2/_catalog?n=1000" + ("&last=" + last if last else "")
                page = json.loads(get(q)[0])["repositories"] or []
                repos += page
                if len(page) < 1000:
                    break
                last = page[-1]
            pulled, blobs, errors = 0, set(), []

            def pull_manifest(repo, ref, want=None):
                data, hdr = get("/v2/%s/manifests/%s" % (repo, ref), ACCEPT)
                dg = "sha256:" + hashlib.sha256(data).hexdigest()
                if hdr.get("Docker-Content-Digest") != dg or (want and want != dg):
                    errors.append("%s@%s: digest %s" % (repo, ref, dg))
                man = json.loads(data)
                if man.get("mediaType") != hdr.get("Content-Type"):
                    errors.append("%s@%s: content type %s" % (repo, ref, hdr.get("Content-Type")))
                for child in man.get("manifests", []):
                    pull_manifest(repo, child["digest"], child["digest"])
                for d in ([man["config"]] if "config" in man else []) + man.get("layers", []):
                    b, _ = get("/v2/%s/blobs/%s" % (repo, d["digest"]))
                    if "sha256:" + hashlib.sha256(b).hexdigest() != d["digest"] or len(b) != d["size"]:
                        errors.append("%s: blob %s" % (repo, d["digest"]))
                    blobs.add(d["digest"])

            for repo in repos[:max_repos]:
                try:
                    tags = json.loads(get("/v2/%s/tags/list" % repo)[0])["tags"] or []
                except urllib.error.HTTPError as e:
                    if e.code != 404:  # 2.8.2: 404 for a repository without tags
                        raise
                    tags = []
                for tag in tags:
                    try:
                        pull_manifest(repo, tag)
                        pulled += 1
                    except urllib.error.HTTPError as e:
                        errors.append("%s:%s: %s %s" % (repo, tag, e.code, e.url))
            print("serve check: %d repositories, %d tags pulled whole, %d distinct blobs "
                  "verified: %s" % (len(repos), pulled, len(blobs),
                                    "ok" if not errors else "%d ERRORS" % len(errors)),
                  file=sys.stderr)
            for e in errors[:20]:
                print("  " + e, file=sys.stderr)
            return not errors
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def registry_config(root, addr="127.0.0.1:5000"):
    return ("version: 0.1\n"
            "log:\n  level: error\n"
            "storage:\n"
            "  filesystem:\n    rootdirectory: %s\n"
            "  delete:\n    enabled: true\n"
            "  maintenance:\n    uploadpurging:\n      enabled: false\n"
            "http:\n  addr: %s\n" % (os.path.abspath(root), addr))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("root", help="store root (storage.filesystem.rootdirectory); "
                   "must be absent or empty")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="base values; explicit options override them")
    p.add_argument("--repos", type=int, help="repositories (default %d)" % DEFAULTS["repos"])
    p.add_argument("--tags", type=int, help="tags per repository; with 2 or more the last "
                   "is 'latest', an alias of the one before")
    p.add_argument("--layers", type=int, help="layers per image")
    p.add_argument("--shared-layers", type=int, help="pool of layers shared across "
                   "repositories (each image's lower half comes from it)")
    p.add_argument("--untagged", type=int, help="untagged revisions per repository "
                   "(a tag re-pushed: old revision and its tag index entry stay)")
    p.add_argument("--multiarch", type=float, help="share of tags that are image indexes "
                   "with 2 platform children")
    p.add_argument("--orphans", type=int, help="blobs no manifest references (half are "
                   "linked into a repository's _layers)")
    p.add_argument("--uploads", type=int, help="upload folders (2/3 older than 168h)")
    p.add_argument("--nested", action=argparse.BooleanOptionalAction, default=None,
                   help="nested repository names (team3/app7, org1/team2/svc9)")
    p.add_argument("--deleted", type=int, help="revisions per repository deleted by "
                   "digest through the API (empty revision folder left)")
    p.add_argument("--mirrors", type=int, help="extra repositories holding the same "
                   "manifests as an existing one")
    p.add_argument("--docker-share", type=float, help="share of repositories pushed with "
                   "Docker media types (v2s2, manifest list) instead of OCI")
    p.add_argument("--blob-size", type=int, help="bytes per layer blob (random content)")
    p.add_argument("--seed", type=int)
    p.add_argument("--backdate", type=float, metavar="DAYS", help="mtime of blobs and "
                   "links: this many days ago (default 30; 0: now), so that age "
                   "thresholds do not hold everything back; uploads get their startedat")
    p.add_argument("--summary", metavar="FILE", help="write counts and the registry's "
                   "expected garbage-collect figures as JSON")
    p.add_argument("--check", action="store_true", help="afterwards run `docker-registry "
                   "garbage-collect --dry-run` (with and without -m) and compare")
    p.add_argument("--serve-check", action="store_true", help="afterwards start "
                   "`docker-registry serve` on 127.0.0.1 and pull every tag over HTTP, "
                   "checking every digest and size")
    p.add_argument("-q", "--quiet", action="store_true")
    a = p.parse_args(argv)
    base = dict(DEFAULTS)
    if a.preset:
        base.update(PRESETS[a.preset])
    for k, v in base.items():
        if getattr(a, k, None) is None:
            setattr(a, k, v)
    for k in ("repos", "tags", "layers", "shared_layers", "untagged", "orphans",
              "uploads", "deleted", "mirrors", "blob_size"):
        if getattr(a, k) < 0:
            p.error("--%s must be >= 0" % k.replace("_", "-"))
    if a.backdate < 0:
        p.error("--backdate must be >= 0")
    if a.blob_size < 1:
        p.error("--blob-size must be >= 1")
    if not 0 <= a.multiarch <= 1 or not 0 <= a.docker_share <= 1:
        p.error("--multiarch and --docker-share are fractions in [0, 1]")
    return a


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    if os.path.exists(a.root) and os.listdir(a.root):
        print("gen_store: %s exists and is not empty" % a.root, file=sys.stderr)
        return 2
    os.makedirs(a.root, exist_ok=True)
    t0 = time.monotonic()
    store = Store(a.root, time.time() - a.backdate * 86400 if a.backdate else None)
    store.mkdir("blobs/sha256")
    store.mkdir("repositories")
    gen = Generator(a, store)
    gen.run()
    elapsed = time.monotonic() - t0
    summary = gen.summary()
    summary["generation_seconds"] = round(elapsed, 3)
    summary["options"] = {k: getattr(a, k) for k in sorted(DEFAULTS)}
    summary["options"]["preset"] = a.preset
    if a.summary:
        with open(a.summary, "w") as f:
            json.dump(summary, f, indent=2, sort_keys=True)
            f.write("\n")
    if not a.quiet:
        e = summary["expect"]["registry_2.8.2"]
        print("%s: %d files (%d blobs, %d manifests, %d repositories, %d tags) in %.1fs"
              % (a.root, summary["files"], summary["blobs"], summary["manifests"],
                 summary["repositories"], summary["tags"], elapsed))
        print("expected gc: %d marked, %d blobs eligible; gc -m: %d marked, %d blobs and "
              "%d manifests eligible" % (e["gc"]["marked"], e["gc"]["eligible_blobs"],
                                         e["gc_m"]["marked"], e["gc_m"]["eligible_blobs"],
                                         e["gc_m"]["eligible_manifests"]))
    sys.stdout.flush()
    ok = True
    if a.check:
        ok = check_with_registry(a.root, summary) and ok
    if a.serve_check:
        ok = serve_check(a.root) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
