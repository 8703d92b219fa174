"""regtest: drive the real distribution registry (the oracle) from Python tests.

Standard library only. What is here:

- Registry: a context manager that runs `docker-registry serve` on 127.0.0.1:<free port> over a
  given rootdirectory and stops it (SIGTERM, then SIGKILL on its process group).
- API helpers on a Registry: catalog, tags, manifest_digest, get_manifest, delete_manifest,
  blob_exists, pull_all (a full, verified pull), push_manifest / push_by_digest (blobs by the
  monolithic POST+PUT upload, then PUT manifest), start_upload (an abandoned upload).
- garbage_collect(): `docker-registry garbage-collect [--dry-run] [-m]`, output parsed.
- Image making without Docker: layer(), image(), index(), artifact(), cosign_signature() build
  deterministic blobs and manifests; make_oci_layout() writes them as an OCI image layout;
  push() copies from a layout with skopeo.
- Trees: tree_snapshot(), copy_tree(), pack_tree() / unpack_tree() (deterministic tar.gz that
  keeps empty directories, modes and mtimes).

Binaries can be overridden with the environment: REGISTRY_BIN (default docker-registry) and
SKOPEO_BIN (default skopeo).
"""
from __future__ import annotations

import atexit
import base64
import ctypes
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Iterable

# --------------------------------------------------------------------------------------------
# Media types
# --------------------------------------------------------------------------------------------

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
COSIGN_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"

MANIFEST_TYPES = (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST, SCHEMA1_SIGNED, SCHEMA1)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT_ALL = ", ".join(MANIFEST_TYPES)

V2 = os.path.join("docker", "registry", "v2")  # below the rootdirectory

DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def registry_bin() -> str:
    return os.environ.get("REGISTRY_BIN", "docker-registry")


def skopeo_bin() -> str:
    return os.environ.get("SKOPEO_BIN", "skopeo")


def blob_data_path(root: str, digest: str) -> str:
    """Path of a blob's data file under a rootdirectory."""
    algo, hexpart = digest.split(":", 1)
    return os.path.join(root, V2, "blobs", algo, hexpart[:2], hexpart, "data")


# --------------------------------------------------------------------------------------------
# Small utilities
# --------------------------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _yaml_scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v))  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(obj, indent: int = 0) -> str:
    """Block-style YAML for nested dicts/lists of scalars (enough for a registry config)."""
    pad = "  " * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{k}:\n{to_yaml(v, indent + 1)}")
            elif isinstance(v, dict):
                out.append(f"{pad}{k}: {{}}\n")
            elif isinstance(v, list):
                out.append(f"{pad}{k}: []\n")
            else:
                out.append(f"{pad}{k}: {_yaml_scalar(v)}\n")
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, (dict, list)):
                body = to_yaml(v, indent + 1).lstrip()
                out.append(f"{pad}- {body}")
            else:
                out.append(f"{pad}- {_yaml_scalar(v)}\n")
    return "".join(out)


def deep_merge(base: dict, extra: dict | None) -> dict:
    out = dict(base)
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def registry_config(root: str, port: int, readonly: bool = False, extra: dict | None = None) -> dict:
    cfg = {
        "version": "0.1",
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": os.path.abspath(root)},
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
            "maintenance": {
                # never let the purger touch the tree behind a test's back
                "uploadpurging": {"enabled": False},
                "readonly": {"enabled": bool(readonly)},
            },
        },
        "http": {"addr": f"127.0.0.1:{port}", "headers": {"X-Content-Type-Options": ["nosniff"]}},
    }
    cfg = deep_merge(cfg, extra)
    # extra may remove a setting by giving None (e.g. {"storage": {"cache": None}}: no cache)
    for section in (cfg, *[v for v in cfg.values() if isinstance(v, dict)]):
        for k in [k for k, v in section.items() if v is None]:
            del section[k]
    return cfg


def write_config(path: str, root: str, port: int = 5000, readonly: bool = False,
                 extra: dict | None = None) -> str:
    with open(path, "w") as f:
        f.write(to_yaml(registry_config(root, port, readonly, extra)))
    return path


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------

# Loopback only: never through a proxy, whatever the environment says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    def header(self, name: str, default=None):
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return default

    def json(self):
        return json.loads(self.body)


def http(method: str, url: str, data: bytes | None = None, headers: dict | None = None,
         timeout: float = 30) -> Response:
    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise RuntimeError(f"refusing non-loopback URL {url}")
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=timeout) as r:
            return Response(r.status, dict(r.headers.items()), r.read())
    except urllib.error.HTTPError as e:
        body = e.read() if e.fp else b""
        return Response(e.code, dict(e.headers.items()) if e.headers else {}, body)


class RegistryError(RuntimeError):
    pass


# --------------------------------------------------------------------------------------------
# The registry process
# --------------------------------------------------------------------------------------------

_LIVE: set = set()
_WORKDIRS: list = []


@atexit.register
def _stop_all():
    for reg in list(_LIVE):
        try:
            reg.stop()
        except Exception:
            pass
    for d in _WORKDIRS:  # config folders outlive `with` (garbage_collect needs config_path)
        shutil.rmtree(d, ignore_errors=True)


def _die_with_parent():  # runs in the child before exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _on_sigterm(signum, frame):
    _stop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_sigterm_handler():
    try:
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread
        pass


class Registry:
    """`docker-registry serve` on 127.0.0.1:<port> over `root`.

    with Registry(root) as reg:
        reg.catalog(); reg.tags("team/app"); ...
    """

    def __init__(self, root: str, port: int | None = None, readonly: bool = False,
                 extra_config: dict | None = None, start_timeout: float = 20, uid: int | None = None):
        """uid: run the registry as that user (and group of the same number), as Debian's
        docker-registry runs as its own user."""
        self.root = os.path.abspath(root)
        self.uid = uid
        self.fixed_port = port
        self.readonly = readonly
        self.extra_config = extra_config
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self.workdir = tempfile.mkdtemp(prefix="regtest-reg-")
        # Readable by every user: a registry run as another user reads its config, and a
        # regsweep run unprivileged (failclosed, ownership) beside the other suites' registries
        # can tell that they serve other roots (a config it cannot read may serve its root).
        os.chmod(self.workdir, 0o755)
        _WORKDIRS.append(self.workdir)
        self.config_path = os.path.join(self.workdir, "config.yml")
        self.log_path = os.path.join(self.workdir, "registry.log")
        self.port = None

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        # stops the process; config_path stays usable (garbage_collect) until cleanup() or exit
        self.stop()
        return False

    def start(self):
        os.makedirs(self.root, exist_ok=True)
        _install_sigterm_handler()
        last = None
        for _attempt in range(5 if self.fixed_port is None else 1):
            self.port = self.fixed_port or free_port()
            write_config(self.config_path, self.root, self.port, self.readonly, self.extra_config)
            log = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen(
                    [registry_bin(), "serve", self.config_path],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: we kill the group
                    preexec_fn=_die_with_parent,  # and it gets SIGTERM if we die first
                    **({"user": self.uid, "group": self.uid, "extra_groups": []} if self.uid is not None else {}))
            finally:
                log.close()
            _LIVE.add(self)
            try:
                self._wait_ready()
                return self
            except RegistryError as e:
                last = e
                self.stop()
                if "address already in use" not in self.log().lower():
                    break
        raise last  # type: ignore[misc]

    def _wait_ready(self):
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RegistryError(f"registry exited with {self.proc.returncode}:\n{self.log()}")
            try:
                r = http("GET", self.url + "/v2/", timeout=2)
                if r.status == 200:
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        raise RegistryError(f"registry not ready after {self.start_timeout}s:\n{self.log()}")

    def stop(self):
        p = self.proc
        if p is not None and p.poll() is None:
            for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    p.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if p is not None:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.proc = None
        _LIVE.discard(self)

    def cleanup(self):
        """Stop and remove the config/log folder (not the root)."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # -- API ------------------------------------------------------------------------------

    def request(self, method: str, path: str, data: bytes | None = None,
                headers: dict | None = None) -> Response:
        url = path if path.startswith("http") else self.url + path
        return http(method, url, data, headers)

    def catalog(self) -> list[str]:
        names: list[str] = []
        path = "/v2/_catalog?n=1000"
        while path:
            r = self.request("GET", path)
            if r.status != 200:
                raise RegistryError(f"catalog: {r.status} {r.body[:200]!r}")
            names += r.json().get("repositories") or []
            path = _next_link(r)
        return sorted(names)

    def tags(self, repo: str) -> list[str]:
        """The tags of a repository; [] when it has none (or is unknown)."""
        out: list[str] = []
        path = f"/v2/{repo}/tags/list?n=1000"
        while path:
            r = self.request("GET", path)
            if r.status == 404:
                return []
            if r.status != 200:
                raise RegistryError(f"tags {repo}: {r.status} {r.body[:200]!r}")
            out += r.json().get("tags") or []
            path = _next_link(r)
        return sorted(out)

    def manifest_head(self, repo: str, ref: str) -> Response:
        return self.request("HEAD", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT_ALL})

    def manifest_digest(self, repo: str, ref: str) -> str | None:
        """Docker-Content-Digest of repo:ref (None when unknown)."""
        r = self.manifest_head(repo, ref)
        if r.status == 404:
            return None
        if r.status != 200:
            raise RegistryError(f"HEAD manifest {repo}:{ref}: {r.status}")
        d = r.header("Docker-Content-Digest")
        if not d:  # fall back to GET
            body, _mt = self.get_manifest(repo, ref)
            d = sha256_digest(body)
        return d

    def get_manifest(self, repo: str, ref: str) -> tuple[bytes, str]:
        r = self.request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT_ALL})
        if r.status != 200:
            raise RegistryError(f"GET manifest {repo}:{ref}: {r.status} {r.body[:300]!r}")
        mt = (r.header("Content-Type") or "").split(";")[0].strip()
        return r.body, mt

    def delete_manifest(self, repo: str, digest: str) -> int:
        return self.request("DELETE", f"/v2/{repo}/manifests/{digest}").status

    def delete_blob(self, repo: str, digest: str) -> int:
        return self.request("DELETE", f"/v2/{repo}/blobs/{digest}").status

    def blob_exists(self, repo: str, digest: str) -> bool:
        return self.request("HEAD", f"/v2/{repo}/blobs/{digest}").status == 200

    def get_blob(self, repo: str, digest: str) -> Response:
        return self.request("GET", f"/v2/{repo}/blobs/{digest}")

    def pull_all(self, repo: str, ref: str) -> list[str]:
        """Pull repo:ref completely: manifest, every child of an index, every config and layer,
        each checked against its digest. Returns the problems found ([] = fully pullable)."""
        problems: list[str] = []
        seen: set = set()

        def pull_manifest(ref: str, expect: str | None, where: str):
            r = self.request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT_ALL})
            if r.status != 200:
                problems.append(f"{where}: GET manifest {repo}@{ref}: HTTP {r.status}")
                return
            got = sha256_digest(r.body)
            hdr = r.header("Docker-Content-Digest")
            if expect and got != expect:
                problems.append(f"{where}: manifest {expect} hashes to {got}")
            if hdr and hdr != got and (r.header("Content-Type") or "").split(";")[0] not in (SCHEMA1_SIGNED, SCHEMA1):
                problems.append(f"{where}: Docker-Content-Digest {hdr} but body hashes to {got}")
            if got in seen:
                return
            seen.add(got)
            try:
                m = json.loads(r.body)
            except ValueError as e:
                problems.append(f"{where}: manifest {got} is not JSON: {e}")
                return
            mt = m.get("mediaType") or (r.header("Content-Type") or "").split(";")[0]
            if "manifests" in m or mt in INDEX_TYPES:
                for child in m.get("manifests") or []:
                    pull_manifest(child["digest"], child["digest"], f"{where}>{child['digest'][:19]}")
                return
            if m.get("schemaVersion") == 1:
                refs = [x["blobSum"] for x in m.get("fsLayers") or []]
            else:
                refs = ([m["config"]["digest"]] if m.get("config") else []) + \
                       [x["digest"] for x in m.get("layers") or []]
            for d in refs:
                if d in seen:
                    continue
                seen.add(d)
                b = self.get_blob(repo, d)
                if b.status != 200:
                    problems.append(f"{where}: blob {d}: HTTP {b.status}")
                elif sha256_digest(b.body) != d:
                    problems.append(f"{where}: blob {d} hashes to {sha256_digest(b.body)}")

        expect = ref if DIGEST_RE.fullmatch(ref) else None
        pull_manifest(ref, expect, f"{repo}:{ref}")
        return problems

    # -- pushing through the API ----------------------------------------------------------

    def upload_blob(self, repo: str, data: bytes, digest: str | None = None) -> str:
        """Monolithic upload: POST to open an upload, PUT the bytes with ?digest=."""
        digest = digest or sha256_digest(data)
        r = self.request("POST", f"/v2/{repo}/blobs/uploads/", data=b"")
        if r.status != 202:
            raise RegistryError(f"POST upload {repo}: {r.status} {r.body[:200]!r}")
        loc = _absolute(self.url, r.header("Location"))
        sep = "&" if "?" in loc else "?"
        r = self.request("PUT", f"{loc}{sep}digest={digest}", data=data,
                         headers={"Content-Type": "application/octet-stream",
                                  "Content-Length": str(len(data))})
        if r.status != 201:
            raise RegistryError(f"PUT upload {repo} {digest}: {r.status} {r.body[:300]!r}")
        return digest

    def put_manifest(self, repo: str, ref: str, data: bytes, media_type: str) -> str:
        r = self.request("PUT", f"/v2/{repo}/manifests/{ref}", data=data,
                         headers={"Content-Type": media_type})
        if r.status != 201:
            raise RegistryError(f"PUT manifest {repo}:{ref}: {r.status} {r.body[:400]!r}")
        return r.header("Docker-Content-Digest") or sha256_digest(data)

    def push_manifest(self, repo: str, manifest: "Manifest", tag: str | None = None) -> str:
        """Push a built manifest and everything below it through the API: blobs by monolithic
        upload, child manifests by digest, then the manifest by `tag` (or by digest)."""
        for child in manifest.refs:
            if isinstance(child, Manifest):
                self.push_manifest(repo, child)
            elif not self.blob_exists(repo, child.digest):
                self.upload_blob(repo, child.data, child.digest)
        return self.put_manifest(repo, tag or manifest.digest, manifest.data, manifest.media_type)

    def push_by_digest(self, repo: str, manifest: "Manifest") -> str:
        return self.push_manifest(repo, manifest, tag=None)

    def start_upload(self, repo: str, data: bytes = b"") -> str:
        """Begin a blob upload (POST), optionally send a chunk (PATCH), then abandon it.
        Leaves _uploads/<uuid>/ in the repository. Returns the uuid."""
        r = self.request("POST", f"/v2/{repo}/blobs/uploads/", data=b"")
        if r.status != 202:
            raise RegistryError(f"POST upload {repo}: {r.status}")
        uuid = r.header("Docker-Upload-UUID")
        if data:
            loc = _absolute(self.url, r.header("Location"))
            r = self.request("PATCH", loc, data=data,
                             headers={"Content-Type": "application/octet-stream",
                                      "Content-Length": str(len(data))})
            if r.status != 202:
                raise RegistryError(f"PATCH upload {repo}: {r.status} {r.body[:200]!r}")
        return uuid

    # -- recording ------------------------------------------------------------------------

    def describe(self) -> dict:
        """What the API says: catalog, and per repository its tags with digest and media type."""
        out = {"catalog": self.catalog(), "repositories": {}}
        for repo in out["catalog"]:
            tags = {}
            for t in self.tags(repo):
                body, mt = self.get_manifest(repo, t)
                tags[t] = {"digest": self.manifest_digest(repo, t), "media_type": mt,
                           "size": len(body)}
                try:
                    m = json.loads(body)
                    if mt in INDEX_TYPES:
                        tags[t]["platforms"] = [platform_string(x.get("platform") or {})
                                                for x in m.get("manifests") or []]
                except ValueError:
                    pass
            out["repositories"][repo] = {"tags": tags}
        return out


def platform_string(p: dict) -> str:
    s = f"{p.get('os', '')}/{p.get('architecture', '')}"
    if p.get("variant"):
        s += "/" + p["variant"]
    return s


def _absolute(base: str, loc: str | None) -> str:
    if not loc:
        raise RegistryError("no Location header")
    return urllib.parse.urljoin(base + "/", loc)


def _next_link(r: Response) -> str | None:
    link = r.header("Link")
    if not link:
        return None
    m = re.match(r"<([^>]+)>", link)
    return m.group(1) if m else None


# --------------------------------------------------------------------------------------------
# garbage-collect
# --------------------------------------------------------------------------------------------

@dataclass
class GCResult:
    returncode: int
    output: str
    eligible: set = field(default_factory=set)          # "blob eligible for deletion: <d>"
    manifests_eligible: set = field(default_factory=set)  # "manifest eligible for deletion: <d>"
    summary: str | None = None                            # "N blobs marked, ..."

    def __iter__(self):  # output, eligible = garbage_collect(...)
        return iter((self.output, self.eligible))


def garbage_collect(config_path: str, dry_run: bool = True, delete_untagged: bool = False,
                    check: bool = True, timeout: float = 300) -> GCResult:
    cmd = [registry_bin(), "garbage-collect"]
    if dry_run:
        cmd.append("--dry-run")
    if delete_untagged:
        cmd.append("--delete-untagged")
    cmd.append(config_path)
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, start_new_session=True)
    out = p.stdout.decode("utf-8", "replace")
    res = GCResult(p.returncode, out)
    for line in out.splitlines():
        m = re.search(r"blob eligible for deletion: (sha256:[0-9a-f]{64})", line)
        if m:
            res.eligible.add(m.group(1))
        m = re.search(r"manifest eligible for deletion: (sha256:[0-9a-f]{64})", line)
        if m:
            res.manifests_eligible.add(m.group(1))
        if "blobs marked" in line:
            res.summary = line.strip()
    if check and p.returncode != 0:
        raise RegistryError(f"garbage-collect failed ({p.returncode}):\n{out}")
    return res


# --------------------------------------------------------------------------------------------
# Building images (no Docker)
# --------------------------------------------------------------------------------------------

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


def push(layout_dir: str, ref_in_layout: str, registry: Registry, repo: str, tag: str,
         all: bool = False, fmt: str | None = None, timeout: float = 120) -> str:
    """skopeo copy oci:<layout>:<ref> docker://<host>/<repo>:<tag>. Returns skopeo's output."""
    cmd = [skopeo_bin(), "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false",
           "--dest-no-creds"]
    if all:
        cmd.append("--all")
    if fmt:
        cmd += ["--format", fmt]
    cmd += [f"oci:{layout_dir}:{ref_in_layout}", f"docker://{registry.host}/{repo}:{tag}"]
    env = dict(os.environ)
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, env=env, start_new_session=True)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        raise RegistryError(f"{' '.join(cmd)} failed ({p.returncode}):\n{out}")
    return out


# --------------------------------------------------------------------------------------------
# Trees
# --------------------------------------------------------------------------------------------

def _file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_snapshot(root: str) -> dict:
    """{relative path: (type, size, sha256 hex or None)} for everything under root;
    type is 'dir', 'file' or 'symlink' (a symlink's 'sha256' is its target)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in dirnames + sorted(filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if os.path.islink(p):
                out[rel] = ("symlink", 0, os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("dir", 0, None)
            else:
                out[rel] = ("file", st.st_size, _file_sha256(p))
    return out


def diff_snapshots(before: dict, after: dict) -> dict:
    """{'removed': [...], 'added': [...], 'changed': [...]} (sorted relative paths)."""
    return {
        "removed": sorted(set(before) - set(after)),
        "added": sorted(set(after) - set(before)),
        "changed": sorted(p for p in set(before) & set(after) if before[p] != after[p]),
    }


def copy_tree(src: str, dst: str) -> str:
    """Copy src to dst (which must not exist), keeping empty folders, modes and mtimes."""
    shutil.copytree(src, dst, symlinks=True, copy_function=shutil.copy2)
    # copytree restores a folder's times after filling it; redo it bottom-up to be sure
    for dirpath, _dirnames, _filenames in os.walk(src, topdown=False):
        rel = os.path.relpath(dirpath, src)
        st = os.stat(dirpath)
        os.utime(os.path.join(dst, rel), ns=(st.st_atime_ns, st.st_mtime_ns))
    return dst


def pack_tree(root: str, tar_path: str) -> None:
    """A tar.gz of everything below root (paths relative to it, sorted), keeping empty folders,
    modes and mtimes; owner 0/0 with no names, gzip header without time."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in dirnames + sorted(filenames):
                p = os.path.join(dirpath, name)
                rel = os.path.relpath(p, root)
                ti = tf.gettarinfo(p, arcname=rel)
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = ""
                ti.mtime = int(os.lstat(p).st_mtime)
                ti.pax_headers = {}
                if ti.isfile():
                    with open(p, "rb") as f:
                        tf.addfile(ti, f)
                else:
                    tf.addfile(ti)
    with open(tar_path, "wb") as f:
        f.write(gzip.compress(buf.getvalue(), compresslevel=9, mtime=0))


def unpack_tree(tar_path: str, dst: str) -> str:
    """Extract a pack_tree() tarball into dst (created if needed); folder mtimes restored."""
    os.makedirs(dst, exist_ok=True)
    with tarfile.open(tar_path, "r:gz") as tf:
        kw = {"filter": "tar"} if hasattr(tarfile, "data_filter") else {}
        tf.extractall(dst, **kw)
    return dst


def blobs_on_disk(root: str) -> dict:
    """{digest: size of data} for every blob folder with a data file."""
    out = {}
    base = os.path.join(root, V2, "blobs", "sha256")
    if not os.path.isdir(base):
        return out
    for pre in sorted(os.listdir(base)):
        for hexpart in sorted(os.listdir(os.path.join(base, pre))):
            data = os.path.join(base, pre, hexpart, "data")
            if os.path.isfile(data):
                out["sha256:" + hexpart] = os.path.getsize(data)
    return out


def uploads_on_disk(root: str) -> list:
    """Relative paths of every _uploads/<id> folder."""
    out = []
    base = os.path.join(root, V2, "repositories")
    for dirpath, dirnames, _ in os.walk(base):
        if os.path.basename(dirpath) == "_uploads":
            out += [os.path.relpath(os.path.join(dirpath, d), root) for d in sorted(dirnames)]
            dirnames[:] = []
    return sorted(out)


# --------------------------------------------------------------------------------------------
# Comparing trees and checking what a mutating tool left (added for tests/e2e/test_rm.py)
# --------------------------------------------------------------------------------------------

def tree_snapshot_excluding(root: str, exclude: Iterable[str] = (".regsweep",)) -> dict:
    """tree_snapshot(root) without the given top-level entries (and everything below them)."""
    ex = tuple(exclude)
    return {p: v for p, v in tree_snapshot(root).items()
            if not any(p == e or p.startswith(e + os.sep) for e in ex)}


def format_diff(d: dict, limit: int = 40) -> str:
    """A readable rendering of diff_snapshots()."""
    out = []
    for key, sign in (("removed", "-"), ("added", "+"), ("changed", "~")):
        items = d.get(key) or []
        for p in items[:limit]:
            out.append(f"  {sign} {p}")
        if len(items) > limit:
            out.append(f"  {sign} ... {len(items) - limit} more")
    return "\n".join(out) if out else "  (no difference)"


def _read_link(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            s = f.read(4096).decode("ascii", "replace")
    except OSError:
        return None
    return s if DIGEST_RE.fullmatch(s) else None


def repositories_on_disk(root: str) -> list:
    """Names of every folder below repositories/ that has _manifests, _layers or _uploads."""
    base = os.path.join(root, V2, "repositories")
    out = []
    for dirpath, dirnames, _ in os.walk(base):
        if any(d in ("_manifests", "_layers", "_uploads") for d in dirnames):
            out.append(os.path.relpath(dirpath, base).replace(os.sep, "/"))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("_"))
    return sorted(out)


def tags_on_disk(root: str) -> dict:
    """{repo: {tag: digest or None (current/link missing or unreadable)}} read from the files."""
    out = {}
    for repo in repositories_on_disk(root):
        tdir = os.path.join(root, V2, "repositories", repo, "_manifests", "tags")
        tags = {}
        if os.path.isdir(tdir):
            for t in sorted(os.listdir(tdir)):
                tags[t] = _read_link(os.path.join(tdir, t, "current", "link"))
        out[repo] = tags
    return out


def revisions_on_disk(root: str, repo: str) -> set:
    """Digests whose _manifests/revisions/sha256/<hex>/link file exists (valid) in repo."""
    rdir = os.path.join(root, V2, "repositories", repo, "_manifests", "revisions", "sha256")
    out = set()
    if os.path.isdir(rdir):
        for h in os.listdir(rdir):
            if _read_link(os.path.join(rdir, h, "link")) == "sha256:" + h:
                out.add("sha256:" + h)
    return out


def dangling_tags(root: str) -> list:
    """Tags whose current/link names a digest with no revision link in the same repository
    (the registry would answer 404 for them: a broken tag). [] on a healthy tree."""
    bad = []
    for repo, tags in tags_on_disk(root).items():
        revs = revisions_on_disk(root, repo)
        for t, d in tags.items():
            if d is None:
                bad.append(f"{repo}:{t} (current/link missing or unreadable)")
            elif d not in revs:
                bad.append(f"{repo}:{t} -> {d} (no revision link)")
    return bad


def api_delete_refs(reg: "Registry", refs: Iterable[tuple]) -> list:
    """Delete like a client of the API would: resolve every (repo, tag-or-digest) to a digest
    first, then DELETE /v2/<repo>/manifests/<digest> once per (repo, digest). Returns
    [(repo, digest, status)]; raises RegistryError for an unknown reference."""
    targets = []
    for repo, ref in refs:
        d = ref if DIGEST_RE.fullmatch(ref) else reg.manifest_digest(repo, ref)
        if d is None:
            raise RegistryError(f"{repo}:{ref} does not resolve")
        if (repo, d) not in targets:
            targets.append((repo, d))
    return [(repo, d, reg.delete_manifest(repo, d)) for repo, d in targets]


def served_tags(root: str) -> tuple:
    """({"repo:tag": digest}, {ref: problems}): what a registry started on root serves, and the
    tags that do not pull completely (pull_every_tag)."""
    out = {}
    with Registry(root) as reg:
        for repo in reg.catalog():
            for t in reg.tags(repo):
                out[f"{repo}:{t}"] = reg.manifest_digest(repo, t)
        broken = pull_every_tag(reg)
    return out, broken


def pull_every_tag(reg: "Registry", extra: list | None = None) -> dict:
    """{"repo:tag" or "repo@digest": [problems]} for every tag in the catalog, and every extra
    (repo, reference), that does not pull completely ({} = everything pulls)."""
    out = {}
    refs = [(repo, t) for repo in reg.catalog() for t in reg.tags(repo)]
    for repo, ref in refs + list(extra or []):
        p = reg.pull_all(repo, ref)
        if p:
            out[f"{repo}{'@' if ref.startswith('sha256:') else ':'}{ref}"] = p
    return out


# --------------------------------------------------------------------------------------------
# Running the binary under test (shared by the e2e suites)
# --------------------------------------------------------------------------------------------

CRASH_ENV = "REGSWEEP_TEST_CRASH_AFTER"


def run_regsweep(root: str, *args: str, stdin: str | None = None, env: dict | None = None,
                 timeout: float = 60, log=None, uid: int | None = None) -> subprocess.CompletedProcess:
    """`$REGSWEEP --root ROOT ARGS...`: stdin is /dev/null (no terminal) or the given text;
    the crash hook is never inherited, only set through `env`; text output. With `uid`, run
    as that user (and group of the same number, no other groups) through setpriv."""
    cmd = [os.environ["REGSWEEP"], "--root", root, *args]
    if uid is not None:
        cmd = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *cmd]
    e = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    e.update(env or {})
    t0 = time.monotonic()
    kw = {"input": stdin.encode()} if stdin is not None else {"stdin": subprocess.DEVNULL}
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, env=e, **kw)
    p.stdout = p.stdout.decode("utf-8", "replace")
    p.stderr = p.stderr.decode("utf-8", "replace")
    if log:
        log(f"{' '.join(cmd[1:])}{' ' + str(env) if env else ''} -> {p.returncode} in {time.monotonic() - t0:.2f}s")
    return p


def show_run(p: subprocess.CompletedProcess, tail: int = 3000) -> str:
    return (f"command: {' '.join(p.args)}\nexit: {p.returncode}\n"
            f"stdout:\n{p.stdout[-tail:]}\nstderr:\n{p.stderr[-tail:]}")
