"""Time in the tests: one clock, shared with regsweep, so that no expectation depends on the
calendar (tests/README.md, "Time").

- OFFSET_ENV (REGSWEEP_TEST_CLOCK_OFFSET, seconds): test builds of regsweep add it to their
  "now" (src/util/clock.cc). The suites inherit it, so now() here is regsweep's now.
- now(): the wall clock plus that offset. Every time a test writes into a tree it builds
  (mtimes, startedat) is now() minus an age.
- unpack_fixture(): a bundled fixture extracted with its times moved so that the moment the
  registry wrote it is now(): every age in it (an upload's startedat, a blob's mtime, a tag's
  push) is what it was that day, on any date and at any offset.
- rebase_tree(): the same for a tree already extracted (scripts/demo.sh calls it through
  `python3 tests/lib/clock.py rebase ROOT TARBALL`).
"""
import datetime
import os
import sys
import tarfile
import time

OFFSET_ENV = "REGSWEEP_TEST_CLOCK_OFFSET"
STARTEDAT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # as the registry writes it (Go's time.RFC3339, UTC)


def offset_s() -> int:
    return int(os.environ.get(OFFSET_ENV, "0") or 0)


def now() -> float:
    return time.time() + offset_s()


def rfc3339(epoch_s: float) -> str:
    return datetime.datetime.fromtimestamp(epoch_s, datetime.timezone.utc).strftime(STARTEDAT_FORMAT)


def parse_rfc3339(text: str) -> float | None:
    try:
        return datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def written_at(tar_path: str) -> int:
    """When the tree in a tarball was last written: the newest mtime among its members."""
    with tarfile.open(tar_path, "r:*") as tf:
        return max((m.mtime for m in tf.getmembers()), default=0)


def rebase_tree(root: str, written: float, to: float | None = None) -> float:
    """Moves every time in the tree by (to - written), to defaulting to now(): mtimes and atimes
    of every entry (symlinks not followed; an entry newer than `written`, such as a folder the
    extraction made, counts as written then) and the text of every upload's startedat that
    parses. Returns the shift in seconds."""
    delta = (now() if to is None else to) - written
    root_b = os.fsencode(root)
    startedat = []
    for dirpath, dirnames, filenames in os.walk(root_b, topdown=False):
        for name in filenames:
            if name == b"startedat":
                startedat.append(os.path.join(dirpath, name))
    for path in startedat:
        try:
            with open(path, "rb") as f:
                started = parse_rfc3339(f.read().decode("utf-8", "replace"))
            if started is None:
                continue  # garbage stays garbage (a case of the hostile-input corpus)
            with open(path, "w") as f:
                f.write(rfc3339(started + delta))
        except OSError:
            continue
    for dirpath, dirnames, filenames in os.walk(root_b, topdown=False):
        for name in filenames + dirnames:
            _shift(os.path.join(dirpath, name), written, delta)
    _shift(root_b, written, delta)
    return delta


def _shift(path: bytes, written: float, delta: float) -> None:
    try:
        st = os.lstat(path)
    except OSError:
        return
    t = min(st.st_mtime, written) + delta
    os.utime(path, (t, t), follow_symlinks=False)


def unpack_fixture(tar_path: str, dst: str) -> str:
    """Extracts a fixture tarball into dst (created if needed) and rebases its times to now()."""
    import trees  # here: `clock.py rebase` needs nothing but this file
    trees.unpack_tree(tar_path, dst)
    rebase_tree(dst, written_at(tar_path))
    return dst


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "rebase":
        rebase_tree(sys.argv[2], written_at(sys.argv[3]))
    else:
        sys.exit("usage: clock.py rebase ROOT TARBALL   (moves ROOT's times as if TARBALL was written now)")
