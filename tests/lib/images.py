"""images: images, indexes and artifacts built without Docker, byte for byte reproducible.

layer(), image(), index(), artifact(), cosign_signature() build Blob / Layer / Manifest
objects (deterministic tars: tar_bytes(); gzip with mtime 0); a Manifest knows every blob
below it (all_blobs()). make_oci_layout() writes them as an OCI image layout, which
skopeo.push() copies into a registry. Standard library only.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field

from oci import (COSIGN_SIMPLESIGNING, DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_LIST, DOCKER_MANIFEST,
                 OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_MANIFEST,
                 sha256_digest)


def canonical_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def ordered_json(obj) -> bytes:
    """Key order as given (manifests read better with mediaType/config/layers in order)."""
    return json.dumps(obj, separators=(",", ":")).encode()


@dataclass(eq=False)
class Blob:
    media_type: str
    data: bytes
    annotations: dict | None = None

    @property
    def digest(self) -> str:
        return sha256_digest(self.data)

    @property
    def size(self) -> int:
        return len(self.data)

    def descriptor(self, **extra) -> dict:
        d = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        d.update(extra)
        return d


@dataclass(eq=False)
class Layer(Blob):
    diff_id: str = ""


@dataclass(eq=False)
class Manifest(Blob):
    refs: list = field(default_factory=list)  # config, layers, child manifests (not subject)
    platform: dict | None = None
    subject: "Manifest | None" = None

    def all_blobs(self) -> dict:
        """digest -> Blob for this manifest and everything below it."""
        out = {self.digest: self}
        for r in self.refs:
            if isinstance(r, Manifest):
                out.update(r.all_blobs())
            else:
                out[r.digest] = r
        return out

    def descriptor(self, **extra) -> dict:
        d = super().descriptor()
        if self.platform:
            d["platform"] = dict(self.platform)
        d.update(extra)
        return d


FIXED_MTIME = 1704067200  # 2024-01-01T00:00:00Z


def tar_bytes(files: dict) -> bytes:
    """A deterministic tar of {path: content}; parent folders are added, all sorted."""
    entries: dict = {}
    for path, content in files.items():
        path = path.strip("/")
        parts = path.split("/")
        for i in range(1, len(parts)):
            entries.setdefault("/".join(parts[:i]) + "/", None)
        entries[path] = content.encode() if isinstance(content, str) else bytes(content)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name in sorted(entries):
            content = entries[name]
            ti = tarfile.TarInfo(name.rstrip("/"))
            ti.mtime = FIXED_MTIME
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            if content is None:
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                tf.addfile(ti)
            else:
                ti.mode = 0o644
                ti.size = len(content)
                tf.addfile(ti, io.BytesIO(content))
    return buf.getvalue()


def layer(files: dict, media_type: str = OCI_LAYER_GZIP, compress: bool = True) -> Layer:
    """A layer with the given files; gzip'd with mtime 0 so its digest is reproducible."""
    raw = tar_bytes(files)
    data = gzip.compress(raw, compresslevel=9, mtime=0) if compress else raw
    if not compress and media_type == OCI_LAYER_GZIP:
        media_type = OCI_LAYER_TAR
    return Layer(media_type, data, diff_id=sha256_digest(raw))


def image(layers: list, arch: str = "amd64", os_: str = "linux", variant: str | None = None,
          created: str = "2024-01-01T00:00:00Z", cmd: list | None = None,
          labels: dict | None = None, annotations: dict | None = None,
          docker: bool = False) -> Manifest:
    """An image manifest (OCI, or Docker v2 schema 2 with docker=True) and its config."""
    cfg = {
        "architecture": arch,
        "os": os_,
        "created": created,
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": cmd or ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]},
        "history": [{"created": created, "created_by": f"regtest layer {i}"}
                    for i in range(len(layers))],
    }
    if variant:
        cfg["variant"] = variant
    if labels:
        cfg["config"]["Labels"] = dict(labels)
    config = Blob(DOCKER_CONFIG if docker else OCI_CONFIG, canonical_json(cfg))
    lays = []
    for l in layers:
        mt = l.media_type
        if docker and mt == OCI_LAYER_GZIP:
            mt = DOCKER_LAYER_GZIP
        lays.append(Layer(mt, l.data, l.annotations, diff_id=l.diff_id))
    m = {"schemaVersion": 2,
         "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
         "config": config.descriptor(),
         "layers": [l.descriptor() for l in lays]}
    if annotations and not docker:
        m["annotations"] = dict(annotations)
    platform = {"architecture": arch, "os": os_}
    if variant:
        platform["variant"] = variant
    return Manifest(m["mediaType"], ordered_json(m), refs=[config] + lays, platform=platform)


def index(manifests: list, annotations: dict | None = None, docker: bool = False) -> Manifest:
    """A multi-arch OCI image index (or Docker manifest list) over image manifests."""
    m = {"schemaVersion": 2,
         "mediaType": DOCKER_LIST if docker else OCI_INDEX,
         "manifests": [x.descriptor() for x in manifests]}
    if annotations and not docker:
        m["annotations"] = dict(annotations)
    return Manifest(m["mediaType"], ordered_json(m), refs=list(manifests))


EMPTY_CONFIG = Blob(OCI_EMPTY, b"{}")


def artifact(artifact_type: str, blobs: list, subject: Manifest | None = None,
             annotations: dict | None = None) -> Manifest:
    """An OCI 1.1 artifact: an image manifest with artifactType, the empty config, the given
    blobs as layers and, optionally, a subject (it then refers to that manifest)."""
    m = {"schemaVersion": 2,
         "mediaType": OCI_MANIFEST,
         "artifactType": artifact_type,
         "config": EMPTY_CONFIG.descriptor(),
         "layers": [b.descriptor() for b in blobs]}
    if subject is not None:
        m["subject"] = {"mediaType": subject.media_type, "digest": subject.digest,
                        "size": subject.size}
    if annotations:
        m["annotations"] = dict(annotations)
    return Manifest(OCI_MANIFEST, ordered_json(m), refs=[EMPTY_CONFIG] + list(blobs),
                    subject=subject)


def cosign_tag(digest: str, suffix: str = "sig") -> str:
    """The tag cosign uses for a signature of `digest`: sha256-<hex>.sig"""
    algo, hexpart = digest.split(":", 1)
    return f"{algo}-{hexpart}.{suffix}"


def cosign_signature(subject: Manifest, repo_ref: str, identity: str = "regtest") -> Manifest:
    """A small manifest shaped like a cosign signature of `subject` (not a real signature):
    an OCI manifest whose single layer is a simple-signing payload, with the signature in
    its annotations. Push it under cosign_tag(subject.digest)."""
    payload = canonical_json({
        "critical": {"identity": {"docker-reference": repo_ref},
                     "image": {"docker-manifest-digest": subject.digest},
                     "type": "cosign container image signature"},
        "optional": {"creator": identity}})
    fake_sig = base64.b64encode(hashlib.sha512(payload).digest()).decode()
    lay = Layer(COSIGN_SIMPLESIGNING, payload,
                {"dev.cosignproject.cosign/signature": fake_sig}, diff_id=sha256_digest(payload))
    cfg = canonical_json({"architecture": "", "os": "", "created": "0001-01-01T00:00:00Z",
                          "config": {}, "rootfs": {"type": "layers", "diff_ids": [lay.diff_id]},
                          "history": [{"created": "0001-01-01T00:00:00Z"}]})
    config = Blob(OCI_CONFIG, cfg)
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
         "config": config.descriptor(), "layers": [lay.descriptor()]}
    return Manifest(OCI_MANIFEST, ordered_json(m), refs=[config, lay])


def make_oci_layout(dir_: str, images: dict) -> dict:
    """Write an OCI image layout at dir_ with every blob of `images` ({ref name: Manifest}) and
    an index.json naming each by org.opencontainers.image.ref.name. Returns {ref: digest}."""
    blobs_dir = os.path.join(dir_, "blobs", "sha256")
    os.makedirs(blobs_dir, exist_ok=True)
    with open(os.path.join(dir_, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    entries = []
    out = {}
    for ref, man in images.items():
        for digest, blob in man.all_blobs().items():
            p = os.path.join(blobs_dir, digest.split(":", 1)[1])
            if not os.path.exists(p):
                with open(p, "wb") as f:
                    f.write(blob.data)
        entries.append(man.descriptor(annotations={"org.opencontainers.image.ref.name": ref}))
        out[ref] = man.digest
    with open(os.path.join(dir_, "index.json"), "wb") as f:
        f.write(ordered_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}))
    return out
