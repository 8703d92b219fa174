"""cli: running the regsweep binary under test ($REGSWEEP), shared by the e2e suites.

require_binary() / require_tools(): a suite's main() bails out (TAP) without them.
run_regsweep() runs it on a root without a terminal (or with piped answers) and without the
crash hook unless asked; show_run() renders a run for a failure message; json_of() is the
JSON document of a run that must have succeeded. What it records: read_audit(), trash_runs().
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import tap

CRASH_ENV = "REGSWEEP_TEST_CRASH_AFTER"


def require_binary() -> str:
    """Bail out unless $REGSWEEP names an executable file; then make $REGSWEEP absolute.
    Returns it."""
    exe = os.environ.get("REGSWEEP")
    if not exe:
        tap.bail_out("REGSWEEP is not set (REGSWEEP=path/to/regsweep)")
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        tap.bail_out(f"REGSWEEP={exe} is not an executable file")
    os.environ["REGSWEEP"] = os.path.abspath(exe)
    return os.environ["REGSWEEP"]


def use_private_copy(folder: str) -> str:
    """Copy $REGSWEEP into `folder` and point $REGSWEEP at the copy: the build folder may be
    relinked while a suite runs (a parallel `ninja`), and every test must exercise the same
    binary. Returns the copy's path."""
    os.environ["REGSWEEP"] = shutil.copy2(os.environ["REGSWEEP"], os.path.join(folder, "regsweep"))
    return os.environ["REGSWEEP"]


def require_root(why: str) -> None:
    """Bail out unless running as root; `why` says what needs it."""
    if os.geteuid() != 0:
        tap.bail_out(why)


def require_tools(*tools: str) -> None:
    """Bail out unless every one of `tools` is on PATH."""
    for tool in tools:
        if not shutil.which(tool):
            tap.bail_out(f"{tool} not found (bash scripts/setup.sh)")


def run_regsweep(root: str, *args: str, stdin: str | None = None, env: dict | None = None,
                 timeout: float = 60, log=None, uid: int | None = None,
                 base_env: dict | None = None) -> subprocess.CompletedProcess:
    """`$REGSWEEP --root ROOT ARGS...`: stdin is /dev/null (no terminal) or the given text;
    the crash hook is never inherited, only set through `env`; text output. With `uid`, run
    as that user (and group of the same number, no other groups) through setpriv. base_env:
    the environment `env` is added to (default: this process's)."""
    cmd = [os.environ["REGSWEEP"], "--root", root, *args]
    if uid is not None:
        cmd = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *cmd]
    e = {k: v for k, v in (os.environ if base_env is None else base_env).items() if k != CRASH_ENV}
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


def json_of(p: subprocess.CompletedProcess) -> dict:
    """The JSON document on a run's stdout; AssertionError when the run failed or printed
    anything else."""
    if p.returncode != 0:
        raise AssertionError(f"regsweep failed:\n{show_run(p)}")
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        raise AssertionError(f"stdout is not one JSON document ({e}):\n{show_run(p)}") from None


def read_audit(root: str) -> list:
    """The lines of regsweep's audit log (.regsweep/audit.jsonl), parsed; [] without one."""
    path = os.path.join(root, ".regsweep", "audit.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def trash_runs(root: str, uid: int | None = None) -> list:
    """`trash ls --json` runs (dicts with run, status, command, ...), oldest first."""
    p = run_regsweep(root, "trash", "ls", "--json", uid=uid)
    return json_of(p)["runs"]
