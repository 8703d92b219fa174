"""trees: folders as data. tree_snapshot() (every path: type, size, sha256) and
tree_snapshot_excluding(), tree_snapshot_with_mtimes(), tree_snapshot_ignoring_lock();
diff_snapshots() and format_diff() / diff_text(); copy_tree(), pack_tree() / unpack_tree() (a
deterministic tar.gz that keeps empty folders, modes and mtimes); Workspace (a suite's
temporary folder: a base tree and numbered copies). Standard library only.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from typing import Iterable


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


def tree_snapshot_excluding(root: str, exclude: Iterable[str] = (".regsweep",)) -> dict:
    """tree_snapshot(root) without the given top-level entries (and everything below them)."""
    ex = tuple(exclude)
    return {p: v for p, v in tree_snapshot(root).items()
            if not any(p == e or p.startswith(e + os.sep) for e in ex)}


def format_diff(d: dict, limit: int = 40) -> str:
    """A readable rendering of diff_snapshots() (paths as text or bytes)."""
    out = []
    for key, sign in (("removed", "-"), ("added", "+"), ("changed", "~")):
        items = d.get(key) or []
        for p in items[:limit]:
            out.append(f"  {sign} {os.fsdecode(p)}")
        if len(items) > limit:
            out.append(f"  {sign} ... {len(items) - limit} more")
    return "\n".join(out) if out else "  (no difference)"


def diff_text(before: dict, after: dict, limit: int = 40) -> str:
    """'' when the snapshots are equal, else format_diff() of them: the paths only in before
    (-), only in after (+) and changed (~)."""
    d = diff_snapshots(before, after)
    return format_diff(d, limit) if any(d.values()) else ""


def tree_snapshot_with_mtimes(root: str) -> dict:
    """tree_snapshot_excluding(root) (.regsweep left out) with every file's and link's mtime
    (ns). Folder mtimes are not compared: adding or removing any entry changes them."""
    out = {}
    for rel, (kind, size, sha) in tree_snapshot_excluding(root).items():
        mtime = None if kind == "dir" else os.lstat(os.path.join(root, rel)).st_mtime_ns
        out[rel] = (kind, size, sha, mtime)
    return out


def tree_snapshot_ignoring_lock(root: str) -> dict:
    """The whole tree, ignoring only regsweep's lock file (and the .regsweep folder holding it)."""
    lock = os.path.join(".regsweep", "lock")
    return {p: v for p, v in tree_snapshot(root).items() if p not in (".regsweep", lock)}


class Workspace:
    """A temporary folder for one suite: a base tree at `root` (built by the subclass or the
    caller) and numbered copies of it beside it; cleanup() removes it all.

    A subclass is built once per process through get() (its instance is the class's
    `_instance`, for the suite's main() to clean up)."""

    _instance = None

    @classmethod
    def get(cls):
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def __init__(self, prefix: str, dir: str | None = None, tmp: str | None = None, base: str = "base"):
        self.tmp = tmp or tempfile.mkdtemp(prefix=prefix, dir=dir)
        self.root = os.path.join(self.tmp, base)
        self._n = 0

    @classmethod
    def cleanup_instance(cls):
        """cleanup() of the instance get() built, if it did."""
        if cls._instance is not None:
            cls._instance.cleanup()

    def copy(self, label: str, src: str | None = None) -> str:
        """A copy of src (default: the base tree) named <n>-<label>, made with copy_tree."""
        self._n += 1
        return copy_tree(src or self.root, os.path.join(self.tmp, f"{self._n:03d}-{label}"))

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
