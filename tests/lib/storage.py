"""storage: the registry's storage as files (docker/registry/v2 below a rootdirectory).

Where things are: V2, repo_dir(), tag_dir(), tag_link(), revision_dir(), revision_link(),
layer_dir(), layer_link(), blob_dir(), blob_data() (relative to the rootdirectory) and blob_data_path()
(below a given root). What is there, read from the files without a registry: blobs_on_disk(),
uploads_on_disk(), repositories_on_disk(), tags_on_disk(), revisions_on_disk(),
dangling_tags(). set_blob_mtimes() ages the blobs. Standard library only.
"""
from __future__ import annotations

import os

from oci import DIGEST_RE

V2 = "docker/registry/v2"  # below the rootdirectory


REPOS_DIR = V2 + "/repositories"


def hexof(digest: str) -> str:
    """The hex part of "sha256:<hex>"."""
    return digest.split(":", 1)[1]


# Paths relative to the rootdirectory, joined with "/" as written (a name is never taken for an
# absolute path: the malformed-input corpus, tests/lib/malformed.py, names hostile ones)

def blob_dir(digest: str) -> str:
    h = hexof(digest)
    return f"{V2}/blobs/sha256/{h[:2]}/{h}"


def blob_data(digest: str) -> str:
    return blob_dir(digest) + "/data"


def repo_dir(repo: str, *parts: str) -> str:
    """repositories/<repo>[/parts...]"""
    return "/".join((REPOS_DIR, repo) + parts)


def tag_dir(repo: str, tag: str) -> str:
    return repo_dir(repo, "_manifests", "tags", tag)


def tag_link(repo: str, tag: str) -> str:
    """A tag's current/link (what the tag points at)."""
    return tag_dir(repo, tag) + "/current/link"


def revision_dir(repo: str, digest: str) -> str:
    return repo_dir(repo, "_manifests", "revisions", "sha256", hexof(digest))


def revision_link(repo: str, digest: str) -> str:
    return revision_dir(repo, digest) + "/link"


def layer_dir(repo: str, digest: str) -> str:
    return repo_dir(repo, "_layers", "sha256", hexof(digest))


def layer_link(repo: str, digest: str) -> str:
    return layer_dir(repo, digest) + "/link"


def blob_data_path(root: str, digest: str) -> str:
    """Path of a blob's data file under a rootdirectory."""
    return os.path.join(root, blob_data(digest))


def set_blob_mtimes(root: str, mtime: float, keep=()) -> None:
    """Every blob's data file given `mtime` (atime too), but those whose digest is in `keep`."""
    for d in blobs_on_disk(root):
        if d not in keep:
            os.utime(blob_data_path(root, d), (mtime, mtime))


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
    base = os.path.join(root, REPOS_DIR)
    for dirpath, dirnames, _ in os.walk(base):
        if os.path.basename(dirpath) == "_uploads":
            out += [os.path.relpath(os.path.join(dirpath, d), root) for d in sorted(dirnames)]
            dirnames[:] = []
    return sorted(out)


def _read_link(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            s = f.read(4096).decode("ascii", "replace")
    except OSError:
        return None
    return s if DIGEST_RE.fullmatch(s) else None


def repositories_on_disk(root: str) -> list:
    """Names of every folder below repositories/ that has _manifests, _layers or _uploads."""
    base = os.path.join(root, REPOS_DIR)
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
        tdir = os.path.join(root, repo_dir(repo, "_manifests", "tags"))
        tags = {}
        if os.path.isdir(tdir):
            for t in sorted(os.listdir(tdir)):
                tags[t] = _read_link(os.path.join(tdir, t, "current", "link"))
        out[repo] = tags
    return out


def revisions_on_disk(root: str, repo: str) -> set:
    """Digests whose _manifests/revisions/sha256/<hex>/link file exists (valid) in repo."""
    rdir = os.path.join(root, repo_dir(repo, "_manifests", "revisions", "sha256"))
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
