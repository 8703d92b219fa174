"""s3crashloop: crash torture of a regsweep command on S3 (what crashloop.py is on a disk).

    spec = s3crashloop.Spec("rm", ["rm", "-y", "--registry-stopped", "team/app:v1"], base,
                            points=range(1, 40, 4))
    res = s3crashloop.run(spec, fresh=lambda label: s3.fresh_prefix(label))

The base prefix (a regsweep_s3.S3Root, never written) is copied server-side for every run:
  - the reference: the command uninterrupted on a copy, its final keys (.regsweep/ left out);
  - for each N of spec.points, ascending, on a fresh copy, the command with
    REGSWEEP_TEST_CRASH_AFTER=N must die by SIGKILL; then
    (a) every key the uninterrupted run keeps is there, with its size and ETag (a kill never
        loses what the plan did not name);
    (b) every key gone from its place is in some run's trash below .regsweep/trash/<run>/,
        but blob keys of a command that deletes blobs outright (spec.purges_blobs);
    (c) the same command again, without the hook, exits 0 and leaves the reference's keys;
    and the kill points where a key was both in place and in the trash (killed between a
    copy and its delete) are counted;
  - the first N that is not killed ends the loop: the run must have exited 0 with the
    reference's keys, and N is past the command's last mutation.
Kill points run in a thread pool (spec.workers).
"""
from __future__ import annotations

import concurrent.futures
import time
from dataclasses import dataclass, field

import s3keys
from cli import CRASH_ENV, show_run

TRASH = s3keys.STATE + "trash/"
WINDOW_ENV = "REGSWEEP_TEST_WINDOW"


@dataclass
class Spec:
    name: str
    args: list              # after --root ... --s3-endpoint ...
    base: object            # regsweep_s3.S3Root, never written
    points: list            # the N to kill at, ascending; the loop ends at the first that completes
    purges_blobs: bool = False  # blob keys are deleted outright (gc without --trash)
    workers: int = 2
    # Actions per window of batched requests (REGSWEEP_TEST_WINDOW): 1 puts a kill point
    # between any two items; None keeps regsweep's own (one window: each phase is one batch).
    window: int | None = None


@dataclass
class Result:
    name: str
    tried: int = 0           # kill points where regsweep was killed
    passed: int = 0
    completed_at: int | None = None  # the first N that ran to the end
    between_copy_and_delete: int = 0  # kill points with a key both in place and in the trash
    seconds: float = 0.0
    failures: list = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.name} {self.passed}/{self.tried}"


def trashed(state_keys: dict) -> set:
    """The keys (relative to the prefix) that some run holds in .regsweep/trash/<run>/."""
    out = set()
    for k in state_keys:
        if k.startswith(TRASH):
            parts = k[len(TRASH):].split("/", 1)
            if len(parts) == 2:
                out.add(parts[1])
    return out


def run(spec: Spec, fresh, log=None) -> Result:
    """fresh(label): a prefix no case has used."""
    log = log or (lambda m: None)
    res = Result(spec.name)
    t0 = time.monotonic()
    base_keys = spec.base.keys()
    window = {WINDOW_ENV: str(spec.window)} if spec.window else {}
    ref = spec.base.copy_to(fresh(f"{spec.name}-ref"))
    p = ref.run(*spec.args, env=window)
    if p.returncode != 0:
        res.failures.append("the uninterrupted run failed:\n" + show_run(p))
        return res
    final = ref.keys()
    kept = {k: v for k, v in base_keys.items() if final.get(k) == v}

    def one(n: int) -> tuple:
        """(n, killed, problems, between copy and delete)"""
        root = spec.base.copy_to(fresh(f"{spec.name}-n{n}"))
        p = root.run(*spec.args, env={CRASH_ENV: str(n), **window})
        if p.returncode == 0:
            got = root.keys()
            return n, False, [] if got == final else [
                f"N={n} (not killed): keys differ from the uninterrupted run's ('-' there only):\n"
                f"{s3keys.diff_text(final, got)}"], False
        problems = []
        if p.returncode != -9:
            problems.append(f"N={n}: exit {p.returncode}, not SIGKILL:\n{show_run(p, 800)}")
        every = root.keys(exclude=())
        mid = {k: v for k, v in every.items() if not k.startswith(s3keys.STATE)}
        in_trash = trashed(every)
        lost = {k for k, v in kept.items() if mid.get(k) != v}
        if lost:
            problems.append(f"N={n}: keys the uninterrupted run keeps are gone or changed: {sorted(lost)[:5]}")
        for k in sorted(set(base_keys) - set(mid)):
            if k in in_trash or (spec.purges_blobs and k.startswith(s3keys.V2 + "blobs/")):
                continue
            problems.append(f"N={n}: {k} is gone and in no run's trash")
        both = bool(in_trash & set(mid) & (set(base_keys) - set(final)))
        p2 = root.run(*spec.args, env=window)
        if p2.returncode != 0:
            problems.append(f"N={n}: the re-run exits {p2.returncode}:\n{show_run(p2, 800)}")
        got = root.keys()
        if got != final:
            problems.append(f"N={n}: after the re-run ('-' only in the uninterrupted run's, '+' only here):\n"
                            f"{s3keys.diff_text(final, got)}")
        return n, True, problems, both

    points = sorted(spec.points)
    with concurrent.futures.ThreadPoolExecutor(max_workers=spec.workers) as ex:
        pending = {}
        it = iter(points)
        stop = False
        while True:
            while not stop and len(pending) < spec.workers:
                n = next(it, None)
                if n is None:
                    stop = True
                    break
                pending[ex.submit(one, n)] = n
            if not pending:
                break
            done, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for f in done:
                del pending[f]
                n, killed, problems, both = f.result()
                if killed:
                    res.tried += 1
                    res.passed += not problems
                    res.between_copy_and_delete += both
                elif res.completed_at is None or n < res.completed_at:
                    res.completed_at = n
                    stop = True  # past the last mutation: no later N is killed either
                res.failures += problems
    res.seconds = time.monotonic() - t0
    log(f"s3 crashloop {spec.name}: {res.passed}/{res.tried} kill points passed, completed at N={res.completed_at}, "
        f"{res.between_copy_and_delete} between a copy and its delete, {res.seconds:.1f}s")
    return res


def report(results: list) -> str:
    """'# kill points: gc-m 8/8, ..., total 32/32'."""
    tried = sum(r.tried for r in results)
    passed = sum(r.passed for r in results)
    return f"# kill points: {', '.join(r.summary() for r in results)}, total {passed}/{tried}"
