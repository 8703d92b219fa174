"""registry: the real distribution registry (the oracle), run and driven from the tests.

- Registry: a context manager that runs `docker-registry serve` on 127.0.0.1:<free port> over a
  given rootdirectory (or, with root=None, the storage its extra_config gives: registry_s3.py)
  and stops it (SIGTERM, then SIGKILL on its process group); every one still running is
  stopped at exit and on SIGTERM (stop_all_registries, through lifetime.py), and each dies with
  its parent. env: the environment it runs with (default: this process's).
- API helpers on a Registry: catalog, tags, manifest_digest, get_manifest, delete_manifest,
  blob_exists, pull_all (a full, verified pull), push_manifest / push_by_digest (blobs by the
  monolithic POST+PUT upload, then PUT manifest), start_upload (an abandoned upload), describe.
- pull_every_tag(), serves(), served_tags(), api_delete_refs(): what a registry serves, and
  deleting as a client of its API does.
- garbage_collect(): `docker-registry garbage-collect [--dry-run] [-m]`, output parsed
  (Registry.garbage_collect: on that registry's config, with its environment).

The binary can be overridden with the environment: REGISTRY_BIN (default docker-registry).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
from dataclasses import dataclass, field
from typing import Iterable

import lifetime
from httpclient import Response, http, next_link
from images import Manifest
from oci import ACCEPT_ALL, DIGEST_RE, INDEX_TYPES, SCHEMA1, SCHEMA1_SIGNED, platform_string, sha256_digest
from yamlconf import write_config


def registry_bin() -> str:
    return os.environ.get("REGISTRY_BIN", "docker-registry")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RegistryError(RuntimeError):
    pass


# --------------------------------------------------------------------------------------------
# The registry process
# --------------------------------------------------------------------------------------------

_LIVE: set = set()
_WORKDIRS: list = []


def stop_all_registries():
    lifetime.stop_each(_LIVE)
    for d in _WORKDIRS:  # config folders outlive `with` (garbage_collect needs config_path)
        shutil.rmtree(d, ignore_errors=True)


lifetime.on_exit(stop_all_registries, order=lifetime.REGISTRIES)


@contextlib.contextmanager
def serve(root: str, **kwargs):
    """A Registry (kwargs: Registry's) on 127.0.0.1:<free port> over root; stopped, and its
    config folder removed, after the block."""
    reg = Registry(root, **kwargs)
    try:
        reg.start()
        yield reg
    finally:
        reg.cleanup()


def registries_running() -> list:
    """The Registry objects whose process is still running (a suite ends with none)."""
    return [r for r in _LIVE if r.proc]


_die_with_parent = lifetime.die_with_parent


class Registry:
    """`docker-registry serve` on 127.0.0.1:<port> over `root`.

    with Registry(root) as reg:
        reg.catalog(); reg.tags("team/app"); ...
    """

    def __init__(self, root: str | None, port: int | None = None, readonly: bool = False,
                 extra_config: dict | None = None, start_timeout: float = 20, uid: int | None = None,
                 env: dict | None = None):
        """root: the filesystem driver's rootdirectory; None: no filesystem storage (extra_config
        gives the storage). uid: run the registry as that user (and group of the same number),
        as Debian's docker-registry runs as its own user. env: its environment (None: ours)."""
        self.root = os.path.abspath(root) if root is not None else None
        self.env = env
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

    start_attempts = 5  # on a free port that was taken before the registry bound it

    def serve_command(self) -> tuple:
        """(argv, extra Popen arguments) that serve self.root on self.port; writes the config.
        A subclass serves some other way (tests/image: the registry in the image)."""
        write_config(self.config_path, self.root, self.port, self.readonly, self.extra_config)
        kw = {"preexec_fn": _die_with_parent, "env": self.env}  # it gets SIGTERM if we die first
        if self.uid is not None:
            kw.update(user=self.uid, group=self.uid, extra_groups=[])
        return [registry_bin(), "serve", self.config_path], kw

    def start(self):
        if self.root is not None:
            os.makedirs(self.root, exist_ok=True)
        lifetime.arm()
        last = None
        for _attempt in range(self.start_attempts if self.fixed_port is None else 1):
            self.port = self.fixed_port or free_port()
            argv, kw = self.serve_command()
            log = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: we kill the group
                    **kw)
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

    def garbage_collect(self, **kwargs) -> "GCResult":
        """garbage_collect() (kwargs: its own) on this registry's config, in its environment."""
        return garbage_collect(self.config_path, env=self.env, **kwargs)

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
            path = next_link(r)
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
            path = next_link(r)
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


def _absolute(base: str, loc: str | None) -> str:
    if not loc:
        raise RegistryError("no Location header")
    return urllib.parse.urljoin(base + "/", loc)


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
                    check: bool = True, timeout: float = 300, env: dict | None = None) -> GCResult:
    """env: the command's environment (None: ours)."""
    cmd = [registry_bin(), "garbage-collect"]
    if dry_run:
        cmd.append("--dry-run")
    if delete_untagged:
        cmd.append("--delete-untagged")
    cmd.append(config_path)
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, start_new_session=True, env=env)
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
    with Registry(root) as reg:
        return serves(reg)


def serves(reg: "Registry", extra: list | None = None) -> tuple:
    """({"repo:tag": digest}, {ref: problems}): what a running registry serves, and the tags (and
    extra (repo, reference)) that do not pull completely (pull_every_tag)."""
    out = {}
    for repo in reg.catalog():
        for t in reg.tags(repo):
            out[f"{repo}:{t}"] = reg.manifest_digest(repo, t)
    return out, pull_every_tag(reg, extra)


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
