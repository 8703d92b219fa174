"""malformed: the hostile-input corpus of fixtures/malformed/ (issue #9), shared by its
generator (scripts/make-malformed.py) and its suite (tests/e2e/test_malformed.py).

A case is a small registry tree written by the real registry (a fixtures/*.tar.gz, `clean`
unless it says otherwise) with damage applied by a list of steps. fixtures/malformed/cases.json
holds every case: its steps, what it damages and what regsweep must say and do about it. Git
holds the recipe, not the tree: FIFOs, symlinks out of the root, non-UTF-8 names, 10 000 tags
and a manifest over 4 MiB are made in a few milliseconds when a test (or
`scripts/make-malformed.py --extract`) builds the case.

Every case is built in a folder of its own:

    <case dir>/root/      the registry's rootdirectory (docker/registry/v2/...)
    <case dir>/outside/   a sentinel next to the root: symlinks in the root point into it, and
                          nothing in it may be read or changed by regsweep

Steps (JSON objects; "path" is relative to root/, or to outside/ when it starts with
"@outside/"; paths are percent-decoded to bytes, so "%FF" is the byte 0xff):

    {"op": "write", "path": P, "data": DATA}       create or replace a file (parents made)
    {"op": "remove", "path": P}                    a file, symlink, FIFO or whole folder
    {"op": "mkdir", "path": P}
    {"op": "symlink", "path": P, "target": T}      T may contain {outside} (the absolute path of
                                                   outside/ at build time)
    {"op": "fifo", "path": P}
    {"op": "copy", "from": P, "path": P2}          a file or a folder (symlinks kept as links)
    {"op": "move", "from": P, "path": P2}
    {"op": "manifest", "repo": R, "tag": T|null, "data": DATA}
                                                   a blob at the sha256 of DATA, its revision
                                                   link in R, and (tag not null) tag T -> it
    {"op": "many_tags", "repo": R, "count": N, "digest": D, "prefix": "t"}
                                                   N tags t0..t<N-1> in R, all pointing at D

DATA is one of {"text": str}, {"hex": str}, {"json": value} (compact, sorted keys),
{"repeat": str, "times": N} (the text N times), {"nested": N, "open": "[", "close": "]",
"before": str, "inner": str, "after": str} (before + open*N + inner + close*N + after), or
{"padded_manifest": SIZE, "manifest": value} (the manifest with an annotation that makes it
exactly SIZE bytes).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import urllib.parse

import clock
# the layout's paths (the generator, scripts/make-malformed.py, imports them from here too)
from storage import (V2, blob_data, blob_dir, hexof, layer_link, repo_dir, revision_dir,  # noqa: F401
                     revision_link, tag_dir, tag_link)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(REPO, "fixtures")
CORPUS = os.path.join(FIXTURES, "malformed")
CASES_JSON = os.path.join(CORPUS, "cases.json")

OUTSIDE_PREFIX = "@outside/"
# Every file of a built tree gets this mtime, 30 days before the tests' clock (tests/lib/clock.py):
# old enough for gc's --min-age, and independent of when the fixtures (or the damage) were made.
# The base fixture's startedat texts are moved with it (its uploads are then 30 days old, stale).
FIXED_MTIME = int(clock.now()) - 30 * 86400
# The sentinel's atime is set far below its mtime: under relatime (and strictatime) any read
# of a file or listing of a folder moves it, so a read through a symlink is seen.
SENTINEL_ATIME = 1_000_000_000


def decode_path(p: str) -> bytes:
    return urllib.parse.unquote_to_bytes(p)


def encode_path(b: bytes) -> str:
    return urllib.parse.quote_from_bytes(b, safe="/-_.~@:+")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def materialize(spec: dict) -> bytes:
    """The bytes a DATA spec stands for."""
    if "text" in spec:
        return spec["text"].encode("utf-8", "surrogateescape")
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    if "json" in spec:
        return canonical(spec["json"])
    if "repeat" in spec:
        return spec["repeat"].encode() * int(spec["times"])
    if "nested" in spec:
        n = int(spec["nested"])
        return (spec.get("before", "").encode() + spec.get("open", "[").encode() * n + spec.get("inner", "").encode()
                + spec.get("close", "]").encode() * n + spec.get("after", "").encode())
    if "padded_manifest" in spec:
        size = int(spec["padded_manifest"])
        m = json.loads(json.dumps(spec["manifest"]))
        m.setdefault("annotations", {})["org.example.padding"] = ""
        base = len(canonical(m))
        if size < base:
            raise ValueError(f"padded_manifest: {size} is below the manifest's own {base} bytes")
        m["annotations"]["org.example.padding"] = "x" * (size - base)
        out = canonical(m)
        assert len(out) == size
        return out
    raise ValueError(f"unknown data spec {spec!r}")


# --------------------------------------------------------------------------------------------
# Applying steps
# --------------------------------------------------------------------------------------------

class Builder:
    """Applies steps to <case dir>/root and <case dir>/outside (bytes paths throughout)."""

    def __init__(self, case_dir: str):
        self.case_dir = os.fsencode(case_dir)
        self.root = os.path.join(self.case_dir, b"root")
        self.outside = os.path.join(self.case_dir, b"outside")
        os.makedirs(self.root, exist_ok=True)
        os.makedirs(self.outside, exist_ok=True)

    def at(self, p: str) -> bytes:
        if p.startswith(OUTSIDE_PREFIX):
            return os.path.join(self.outside, decode_path(p[len(OUTSIDE_PREFIX):]))
        return os.path.join(self.root, decode_path(p))

    def _clear(self, path: bytes) -> None:
        if os.path.islink(path) or (os.path.lexists(path) and not os.path.isdir(path)):
            os.unlink(path)
        elif os.path.isdir(path):
            shutil.rmtree(path)

    def _write(self, path: bytes, data: bytes) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._clear(path)
        with open(path, "wb") as f:
            f.write(data)

    def _link(self, rel_dir: str, digest_hex: str) -> None:
        self._write(self.at(rel_dir + "/link"), b"sha256:" + digest_hex.encode())

    def apply(self, step: dict) -> None:
        op = step["op"]
        if op == "write":
            self._write(self.at(step["path"]), materialize(step["data"]))
        elif op == "remove":
            self._clear(self.at(step["path"]))
        elif op == "mkdir":
            os.makedirs(self.at(step["path"]), exist_ok=True)
        elif op == "symlink":
            p = self.at(step["path"])
            os.makedirs(os.path.dirname(p), exist_ok=True)
            self._clear(p)
            target = step["target"].replace("{outside}", os.fsdecode(self.outside))
            os.symlink(decode_path(target), p)
        elif op == "fifo":
            p = self.at(step["path"])
            os.makedirs(os.path.dirname(p), exist_ok=True)
            self._clear(p)
            os.mkfifo(p)
        elif op in ("copy", "move"):
            src, dst = self.at(step["from"]), self.at(step["path"])
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            self._clear(dst)
            if op == "move":
                os.rename(src, dst)
            elif os.path.isdir(src) and not os.path.islink(src):
                shutil.copytree(src, dst, symlinks=True)
            else:
                shutil.copy2(src, dst, follow_symlinks=False)
        elif op == "manifest":
            data = materialize(step["data"])
            h = sha256_hex(data)
            self._write(self.at(blob_data("sha256:" + h)), data)
            repo = step["repo"]
            self._link(revision_dir(repo, "sha256:" + h), h)
            if step.get("tag") is not None:
                t = step["tag"]
                self._link(tag_dir(repo, t) + "/current", h)
                self._link(tag_dir(repo, t) + "/index/sha256/" + h, h)
        elif op == "many_tags":
            h = hexof(step["digest"])
            tags = self.at(f"{repo_dir(step['repo'])}/_manifests/tags")
            content = b"sha256:" + h.encode()
            prefix = step.get("prefix", "t").encode()
            for i in range(int(step["count"])):
                t = os.path.join(tags, prefix + str(i).encode())
                os.makedirs(os.path.join(t, b"current"))
                with open(os.path.join(t, b"current", b"link"), "wb") as f:
                    f.write(content)
                idx = os.path.join(t, b"index", b"sha256", h.encode())
                os.makedirs(idx)
                with open(os.path.join(idx, b"link"), "wb") as f:
                    f.write(content)
        else:
            raise ValueError(f"unknown step {step!r}")

    def apply_all(self, steps: list) -> None:
        for s in steps:
            self.apply(s)


_BASES: dict = {}
_BASE_TMP: list = []


def scratch_dir() -> str | None:
    """Where case trees are built: $MALFORMED_TMPDIR, else /dev/shm when it is a writable
    tmpfs (a case of 10 000 tags is 70 000 files: on a busy disk, making and removing them
    takes minutes; in memory, a second), else the system's temporary folder (None)."""
    env = os.environ.get("MALFORMED_TMPDIR")
    if env:
        return env
    shm = "/dev/shm"
    try:
        if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
            with open("/proc/mounts") as f:
                if any(line.split()[1] == shm and line.split()[2] == "tmpfs" for line in f if len(line.split()) > 2):
                    return shm
    except OSError:
        pass
    return None


def base_root(name: str) -> bytes:
    """fixtures/<name>.tar.gz extracted once per process (removed at its exit): call it before
    forking workers, so that they share it and the parent removes it."""
    if name not in _BASES:
        if not _BASE_TMP:
            import atexit
            import tempfile
            _BASE_TMP.append(tempfile.mkdtemp(prefix="regsweep-malformed-bases-", dir=scratch_dir()))
            atexit.register(shutil.rmtree, _BASE_TMP[0], True)
        dst = os.path.join(os.fsencode(_BASE_TMP[0]), name.encode())
        tar = os.path.join(FIXTURES, name + ".tar.gz")
        unpack(tar, dst)
        clock.rebase_tree(dst, clock.written_at(tar), to=FIXED_MTIME)
        _BASES[name] = dst
    return _BASES[name]


def unpack(tar_path: str, dst: bytes) -> None:
    """Extracts a tarball into dst (created)."""
    os.makedirs(dst, exist_ok=True)
    subprocess.run(["tar", "-xzf", tar_path, "-C", dst], check=True)


def copy_case(src_dir: str, dst_dir: str) -> tuple[str, str]:
    """A copy of a built case (cp -a: FIFOs, symlinks, modes and times kept, nothing opened but
    regular files); the copy's sentinel is armed again. Returns (root, outside)."""
    subprocess.run(["cp", "-a", "--", src_dir, dst_dir], check=True)
    arm_sentinel(os.path.join(os.fsencode(dst_dir), b"outside"))
    return os.path.join(dst_dir, "root"), os.path.join(dst_dir, "outside")


def fix_mtimes(top: bytes) -> None:
    """Every entry below top (top included) gets FIXED_MTIME; symlinks are not followed."""
    for dirpath, dirnames, filenames in os.walk(top, topdown=False):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), (FIXED_MTIME, FIXED_MTIME), follow_symlinks=False)
    os.utime(top, (FIXED_MTIME, FIXED_MTIME), follow_symlinks=False)


def arm_sentinel(outside: bytes) -> None:
    """atime far below mtime on everything in outside/, so that a read shows."""
    for dirpath, dirnames, filenames in os.walk(outside, topdown=False):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), (SENTINEL_ATIME, FIXED_MTIME), follow_symlinks=False)
    os.utime(outside, (SENTINEL_ATIME, FIXED_MTIME), follow_symlinks=False)


def build(case: dict, case_dir: str) -> tuple[str, str]:
    """Builds the case's tree in case_dir (which must not exist): a copy of its base fixture,
    then its steps. Returns (root, outside) as str paths."""
    os.makedirs(case_dir)
    subprocess.run(["cp", "-a", "--", base_root(case.get("base", "clean")), os.path.join(case_dir, "root")], check=True)
    b = Builder(case_dir)
    b.apply_all(case.get("steps", []))
    b.apply_all(case.get("outside_steps", []))
    fix_mtimes(b.root)
    arm_sentinel(b.outside)
    return os.fsdecode(b.root), os.fsdecode(b.outside)


def load_cases() -> list:
    with open(CASES_JSON) as f:
        return json.load(f)["cases"]


# --------------------------------------------------------------------------------------------
# Snapshots: paths, types, modes, sizes, sha256 of files, symlink targets; never following a
# symlink, never opening anything but a regular file (a FIFO is listed, not opened)
# --------------------------------------------------------------------------------------------

def snapshot(top: str, exclude: tuple = (".regsweep",), atimes: bool = False) -> dict:
    """{relative path (bytes): (type, mode, size, sha256 | symlink target | None[, atime_ns])}
    for everything below top. `exclude`: top-level names left out (regsweep's own state).
    Walks with folder fds (openat, fstatat): fast on deep trees, and nothing is followed."""
    ex = tuple(os.fsencode(e) for e in exclude)
    out = {}
    dir_flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    file_flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

    def visit(fd: int, rel: bytes):
        with os.scandir(fd) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            name = os.fsencode(e.name)
            if not rel and name in ex:
                continue
            p = rel + b"/" + name if rel else name
            st = e.stat(follow_symlinks=False)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                entry = ("symlink", mode, 0, os.fsdecode(os.readlink(name, dir_fd=fd)))
            elif stat.S_ISDIR(st.st_mode):
                entry = ("dir", mode, 0, None)
            elif stat.S_ISREG(st.st_mode):
                ffd = os.open(name, file_flags, dir_fd=fd)
                try:
                    h = hashlib.sha256()
                    while True:
                        chunk = os.read(ffd, 1 << 20)
                        if not chunk:
                            break
                        h.update(chunk)
                finally:
                    os.close(ffd)
                entry = ("file", mode, st.st_size, h.hexdigest())
            elif stat.S_ISFIFO(st.st_mode):
                entry = ("fifo", mode, 0, None)
            else:
                entry = ("other", mode, 0, None)
            if atimes:
                entry = entry + (st.st_atime_ns,)
            out[p] = entry
            if stat.S_ISDIR(st.st_mode):
                try:
                    sub = os.open(name, dir_flags, dir_fd=fd)
                except OSError as err:
                    out[p + b"/<unlistable>"] = ("error", 0, 0, str(err))
                    continue
                try:
                    visit(sub, p)
                finally:
                    os.close(sub)

    top_fd = os.open(os.fsencode(top), dir_flags)
    try:
        if atimes:
            st = os.fstat(top_fd)
            out[b"."] = ("dir", stat.S_IMODE(st.st_mode), 0, None, st.st_atime_ns)
        visit(top_fd, b"")
    finally:
        os.close(top_fd)
    return out


def sentinel_state(outside: str) -> dict:
    """snapshot(outside) with atimes, then the sentinel armed again: the snapshot itself lists
    folders and reads files (after taking each entry's lstat), which moves their atimes."""
    snap = snapshot(outside, exclude=(), atimes=True)
    arm_sentinel(os.fsencode(outside))
    return snap


def under(path: bytes, prefixes) -> bool:
    """True when path is one of prefixes or below one of them."""
    return any(path == p or path.startswith(p + b"/") for p in prefixes)
