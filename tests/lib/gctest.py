"""gctest: helpers for tests/e2e/test_gc.py (regsweep gc against `registry garbage-collect`).

Standard library only; builds on regtest. What is here:

- blob_set(), blob_bytes(): the blobs of a rootdirectory (digests with a data file).
- registry_gc(): `docker-registry garbage-collect` on any rootdirectory (writes its own config).
- set_upload_started(): rewrite an upload's startedat as RFC 3339 text.
- run_paused(): run a command under gdb, stopped at a function's first call while the test
  changes the storage, then continued (a deterministic "write between walk and sweep").
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time

import clock
import regtest as rt


def blob_set(root: str) -> set:
    """Digests of every blobs/sha256/<2>/<hex>/data under root."""
    return set(rt.blobs_on_disk(root))


def blob_bytes(root: str, digests) -> int:
    """Sum of the data sizes of `digests` as they are on disk under root (missing ones count 0)."""
    sizes = rt.blobs_on_disk(root)
    return sum(sizes.get(d, 0) for d in digests)


def short_set(digests, names: dict | None = None) -> str:
    """Digests as 'name' (when known) or the first 19 characters, sorted, comma separated."""
    inv = {v: k for k, v in (names or {}).items()}
    return ", ".join(sorted(inv.get(d, d[:19]) for d in digests)) or "(none)"


def registry_gc(root: str, dry_run: bool = False, delete_untagged: bool = False) -> rt.GCResult:
    """`docker-registry garbage-collect [--dry-run] [-m] <config>` over root (checked: raises
    regtest.RegistryError when it fails)."""
    d = tempfile.mkdtemp(prefix="gctest-gc-")
    try:
        cfg = rt.write_config(os.path.join(d, "config.yml"), root, 5000)
        return rt.garbage_collect(cfg, dry_run=dry_run, delete_untagged=delete_untagged)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def upload_dirs(root: str) -> list:
    """Absolute paths of every _uploads/<id> folder under root."""
    return [os.path.join(root, p) for p in rt.uploads_on_disk(root)]


def set_upload_started(upload_dir: str, hours_ago: float) -> str:
    """Rewrite <upload>/startedat as RFC 3339 text `hours_ago` in the past; returns the text."""
    text = clock.rfc3339(clock.now() - hours_ago * 3600)
    with open(os.path.join(upload_dir, "startedat"), "w") as f:
        f.write(text)
    return text


def gdb_usable() -> str | None:
    """None when gdb can start and trace a program here, else why not."""
    gdb = shutil.which("gdb")
    if not gdb:
        return "gdb is not installed"
    p = subprocess.run([gdb, "-nx", "-batch", "-ex", "run", "--args", "/bin/true"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60, env=_gdb_env())
    out = p.stdout.decode("utf-8", "replace")
    if "exited normally" not in out:
        return f"gdb cannot run a program here (ptrace?): {out.strip()[-300:]}"
    return None


def _gdb_env() -> dict:
    env = dict(os.environ)
    env.pop("DEBUGINFOD_URLS", None)  # never fetch debug info from the network
    return env


def run_paused(argv: list, function: str, on_pause, timeout: float = 120) -> tuple:
    """Run argv under gdb with a breakpoint at `function`. At its first call the program is
    stopped, the breakpoint deleted, on_pause() called here, and the program continued.
    Returns (exit code of the program or None, gdb's and the program's output, paused)."""
    work = tempfile.mkdtemp(prefix="gctest-gdb-")
    paused_flag = os.path.join(work, "paused")
    resume_flag = os.path.join(work, "resume")
    wait = f"touch '{paused_flag}'; while [ ! -e '{resume_flag}' ]; do sleep 0.02; done"
    cmd = [shutil.which("gdb") or "gdb", "-nx", "-batch", "-q",
           "-ex", "set debuginfod enabled off", "-ex", "set pagination off",
           "-ex", "set confirm off", "-ex", f"break {function}", "-ex", "run",
           "-ex", "delete", "-ex", f"shell {wait}", "-ex", "continue",
           "--args", *argv]
    out_path = os.path.join(work, "out")
    paused = False
    try:
        with open(out_path, "wb") as out:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 env=_gdb_env(), start_new_session=True)
            try:
                deadline = time.monotonic() + timeout
                while not os.path.exists(paused_flag) and p.poll() is None:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{function} was not reached in {timeout}s")
                    time.sleep(0.02)
                if os.path.exists(paused_flag):
                    paused = True
                    try:
                        on_pause()
                    finally:
                        open(resume_flag, "w").close()
                p.wait(timeout)
            finally:
                if p.poll() is None:
                    os.killpg(p.pid, 9)
                    p.wait(10)
        with open(out_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    code = None
    if "exited normally" in text:
        code = 0
    else:
        m = re.search(r"\[Inferior \d+ \(process \d+\) exited with code (\d+)\]", text)
        if m:
            code = int(m.group(1), 8)  # gdb prints the code in octal
    return code, text, paused


def fast_tmpdir() -> str | None:
    """Where to keep test storages: $TMPDIR when set, else /dev/shm when it is a writable
    folder with room (a tmpfs: removing thousands of small folders on a disk mounted with
    `discard` takes seconds per tree), else None (tempfile's default)."""
    if os.environ.get("TMPDIR"):
        return None
    shm = "/dev/shm"
    try:
        st = os.statvfs(shm)
        if os.path.isdir(shm) and os.access(shm, os.W_OK) and st.f_bavail * st.f_frsize > (512 << 20):
            return shm
    except OSError:
        pass
    return None
