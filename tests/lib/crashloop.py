"""crashloop: one reusable crash-torture harness for regsweep's mutating commands.

    spec = crashloop.Spec(name="rm", args=["rm", "-y", "team/app:v1"], base=tree_dir, scratch=tmp)
    result = crashloop.run(spec)          # a Result: tried, passed, failures {check: [messages]}

For a base tree (never written) and a command:
  - the uninterrupted command runs on a copy: the reference final tree and its mutation count M
    (found as the first N at which REGSWEEP_TEST_CRASH_AFTER=N no longer kills it);
  - for N = 1..M, on a fresh copy, the command with the hook must die by SIGKILL (-9); then
    (a) every tag the command was not asked to delete (there before and after the uninterrupted
        run, same digest) is on disk with its digest, no tag dangles, and the real registry lists
        those tags and pulls every tag it serves (at every kill point: one registry per worker,
        started once without a blob descriptor cache, serves a symlink re-pointed at each copy);
    (b) the same command again, without the hook, exits 0 and leaves the tree (.regsweep left
        out) equal to the uninterrupted run's;
    (c) the audit log has the same (action, path) lines as the uninterrupted run's (none doubled,
        none missing), and every path gone from the tree (vs the base) lies below an audited path
        and is either in some run's trash folder, an emptied folder, or a blob purged for good;
    (d) (spec.restore) on a second fresh copy killed at N: `restore` of the interrupted run (its
        id from `trash ls --json`) exits 0 and gives back the base tree, file mtimes included;
  - N = M+1 must run to the end (exit 0) with the reference final tree.
Kill points run in a thread pool (2 workers by default).
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import queue
import shutil
import threading
import time
from dataclasses import dataclass, field

import regtest as rt

CRASH_ENV = rt.CRASH_ENV
MAX_KILL_POINTS = 300


def read_journals(root: str) -> list:
    """Every journal line of every run in the trash, with its run id."""
    out = []
    trash = os.path.join(root, ".regsweep", "trash")
    if not os.path.isdir(trash):
        return out
    for run in sorted(os.listdir(trash)):
        j = os.path.join(trash, run, "journal.jsonl")
        if os.path.isfile(j):
            with open(j) as f:
                for line in f:
                    if line.strip():
                        try:
                            d = json.loads(line)
                        except ValueError:
                            continue  # a torn last line after a kill
                        d["run"] = run
                        out.append(d)
    return out


@dataclass
class Spec:
    name: str                      # shown in the report ("rm", "gc", ...)
    args: list                     # the command after --root ROOT
    base: str                      # the tree every copy starts from (never written)
    scratch: str                   # where copies go
    restore: bool = True           # check (d): restore of the interrupted run gives the base back
    accounting: bool = True        # check (c) removed-path accounting (commands that remove)
    storage_unchanged: bool = False  # the storage (without .regsweep) must never change (trash empty)
    serve_every: int = 1           # serve with the real registry at every k-th kill point
    workers: int = 2
    extra_check: object = None     # callable(root, n) -> list of problems, after the re-run
    also_pull: list = field(default_factory=list)  # (repo, digest) pulled at each kill point too
    # the re-run of `restore RUN` refuses (exit 3, "restored already") once its own session's
    # recovery has finished the interrupted restore: a known defect, counted apart (Result.known)
    # when the tree is right, instead of failing the kill point
    tolerate_restored_already: bool = False


@dataclass
class Result:
    name: str
    mutations: int | None = None
    tried: int = 0
    passed: int = 0
    served: int = 0
    restored: int = 0
    seconds: float = 0.0
    failures: dict = field(default_factory=dict)   # check -> [messages]
    hooks: bool = True
    ref_problem: str = ""
    known: list = field(default_factory=list)      # kill points where only a known defect showed

    def fail(self, check: str, msg: str):
        self.failures.setdefault(check, []).append(msg)

    def summary(self) -> str:
        return f"{self.name} {self.passed}/{self.tried}"


def _audit_key(a: dict) -> tuple:
    return (a.get("action"), a.get("path"))


def _blob_purge(action: str) -> bool:
    return "blob" in (action or "")


def accounting_problems(root: str, base_snap: dict, final_snap: dict, ref_audit_keys: list | None) -> list:
    """(c): audit and trash account for every removed path; no audit line doubled."""
    problems = []
    audit = [a for a in rt.read_audit(root)]
    keys = sorted(_audit_key(a) for a in audit)
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        problems.append(f"audit lines doubled: {dup[:5]}")
    if ref_audit_keys is not None and keys != ref_audit_keys:
        missing = sorted(set(ref_audit_keys) - set(keys))
        extra = sorted(set(keys) - set(ref_audit_keys))
        problems.append(f"audit differs from the uninterrupted run's: {len(keys)} vs {len(ref_audit_keys)} lines; "
                        f"missing {missing[:5]}, extra {extra[:5]}, doubled {dup[:5]}")
    audited = {a.get("path"): a for a in audit if a.get("path")}
    journal_paths = {j.get("path") for j in read_journals(root)}
    trash = os.path.join(root, ".regsweep", "trash")
    runs = sorted(os.listdir(trash)) if os.path.isdir(trash) else []
    for p in sorted(set(base_snap) - set(final_snap)):
        # the nearest audited path at or above p
        anc, q = None, p
        while q:
            if q in audited:
                anc = audited[q]
                break
            q = os.path.dirname(q)
        if anc is None:
            problems.append(f"{p}: gone, but no audit line names it or a folder above it")
            continue
        if any(os.path.lexists(os.path.join(trash, r, p)) for r in runs):
            continue
        if base_snap[p][0] == "dir" and (p in journal_paths or p in audited):
            continue  # an emptied folder
        if _blob_purge(anc.get("action")) and "/blobs/" in "/" + p:
            continue  # a blob deleted for good (gc without --trash)
        problems.append(f"{p}: gone, audited as {anc.get('action')} {anc.get('path')}, but not in any trash folder")
    return problems


class ServedRoot:
    """A real registry started once, without a blob descriptor cache (so it remembers nothing
    between requests), serving a symlink that serve() re-points at each tree to check."""

    def __init__(self, scratch: str, name: str):
        self.link = os.path.join(scratch, f"{name}-served")
        self.empty = os.path.join(scratch, f"{name}-served-empty")
        os.makedirs(self.empty, exist_ok=True)
        self._point(self.empty)
        self.reg = rt.Registry(self.link, extra_config={"storage": {"cache": None}})
        self.reg.start()

    def _point(self, target: str):
        tmp = self.link + ".new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(os.path.abspath(target), tmp)
        os.replace(tmp, self.link)  # atomic: the registry sees one tree or the other

    def problems(self, root: str, kept: dict, also_pull: list | None = None) -> list:
        """The registry lists every kept tag with its digest and pulls every tag it serves."""
        self._point(root)
        reg, out = self.reg, []
        try:
            for repo, tags in kept.items():
                listed = reg.tags(repo)
                for t, dg in tags.items():
                    if t not in listed:
                        out.append(f"{repo}:{t} not in tags/list")
                    elif reg.manifest_digest(repo, t) != dg:
                        out.append(f"{repo}:{t} serves {reg.manifest_digest(repo, t)}, not {dg}")
            for k, v in rt.pull_every_tag(reg, also_pull).items():
                out.append(f"{k} does not pull: {v}")
        finally:
            self._point(self.empty)
        return out

    def close(self):
        self.reg.stop()
        self.reg.cleanup()
        for p in (self.link, self.empty):
            if os.path.islink(p):
                os.unlink(p)
            elif os.path.isdir(p):
                shutil.rmtree(p, ignore_errors=True)


def _kept_tags(before: dict, after: dict) -> dict:
    kept = {}
    for repo, tags in before.items():
        for t, dg in tags.items():
            if dg is not None and after.get(repo, {}).get(t) == dg:
                kept.setdefault(repo, {})[t] = dg
    return kept


def run(spec: Spec, log=None) -> Result:
    log = log or (lambda m: None)
    res = Result(spec.name)
    t0 = time.monotonic()
    counter = [0]
    lock = threading.Lock()

    def fresh(tag: str) -> str:
        with lock:
            counter[0] += 1
            n = counter[0]
        return rt.copy_tree(spec.base, os.path.join(spec.scratch, f"{spec.name}-{tag}-{n}"))

    base_snap = rt.tree_snapshot_excluding(spec.base)
    base_mt = rt.tree_snapshot_with_mtimes(spec.base)
    base_tags = rt.tags_on_disk(spec.base)

    ref = fresh("ref")
    p = rt.run_regsweep(ref, *spec.args, timeout=120)
    if p.returncode != 0:
        res.ref_problem = "the uninterrupted run failed:\n" + rt.show_run(p)
        return res
    final = rt.tree_snapshot_excluding(ref)
    final_mt = rt.tree_snapshot_with_mtimes(ref)
    kept = _kept_tags(base_tags, rt.tags_on_disk(ref))
    ref_audit_keys = sorted(_audit_key(a) for a in rt.read_audit(ref))
    if spec.accounting:
        for msg in accounting_problems(ref, base_snap, final, None):
            res.fail("c-accounting", f"uninterrupted run: {msg}")
    shutil.rmtree(ref, ignore_errors=True)

    # M: the first N that does not kill is M+1
    m = None
    for n in range(1, MAX_KILL_POINTS + 1):
        root = fresh(f"probe{n}")
        p = rt.run_regsweep(root, *spec.args, env={CRASH_ENV: str(n)}, timeout=120)
        shutil.rmtree(root, ignore_errors=True)
        if p.returncode == 0:
            m = n - 1
            break
        if p.returncode != -9:
            res.fail("killed", f"N={n}: exit {p.returncode}, not SIGKILL:\n{rt.show_run(p, 800)}")
            m = n  # stop probing; report below
            break
    if m is None:
        res.fail("killed", f"still killed after {MAX_KILL_POINTS} mutations")
        return res
    res.mutations = m
    if m == 0:
        res.hooks = False
        return res

    serve_at = {1, m} | {n for n in range(1, m + 1) if n % spec.serve_every == 0}
    servers: queue.Queue = queue.Queue()
    for i in range(spec.workers):
        servers.put(ServedRoot(spec.scratch, f"{spec.name}-w{i}"))

    def one(n: int) -> tuple:
        fails = []
        served = restored = 0
        root = fresh(f"n{n}")
        p = rt.run_regsweep(root, *spec.args, env={CRASH_ENV: str(n)}, timeout=120)
        if p.returncode != -9:
            fails.append(("killed", f"N={n}: exit {p.returncode}, not SIGKILL:\n{rt.show_run(p, 800)}"))
        # (a) kept tags, on disk and served
        now = rt.tags_on_disk(root)
        for repo, tags in kept.items():
            for t, dg in tags.items():
                if now.get(repo, {}).get(t) != dg:
                    fails.append(("a-kept", f"N={n}: {repo}:{t} is {now.get(repo, {}).get(t)}, was {dg}"))
        for x in rt.dangling_tags(root):
            fails.append(("a-kept", f"N={n}: dangling tag {x}"))
        if spec.storage_unchanged and rt.tree_snapshot_excluding(root) != base_snap:
            fails.append(("a-kept", f"N={n}: the storage changed:\n{rt.diff_text(base_snap, rt.tree_snapshot_excluding(root))}"))
        if n in serve_at:
            served = 1
            server = servers.get()
            try:
                for x in server.problems(root, kept, spec.also_pull):
                    fails.append(("a-served", f"N={n}: {x}"))
            finally:
                servers.put(server)
        # (b) the same command again
        p2 = rt.run_regsweep(root, *spec.args, timeout=120)
        known = None
        if (p2.returncode == 3 and spec.tolerate_restored_already and "finishing run" in p2.stderr
                and "restored already" in p2.stderr):
            known = f"N={n}: re-run exit 3 ('the run was restored already') after its own recovery finished the restore"
        elif p2.returncode != 0:
            fails.append(("b-rerun", f"N={n}: re-run exit {p2.returncode}:\n{rt.show_run(p2, 800)}"))
        after = rt.tree_snapshot_excluding(root)
        if after != final:
            fails.append(("b-final", f"N={n}: after the re-run ('-' only in the uninterrupted run, '+' only here):\n"
                                     f"{rt.diff_text(final, after)}"))
        elif spec.storage_unchanged and rt.tree_snapshot_with_mtimes(root) != final_mt:
            fails.append(("b-final", f"N={n}: file mtimes changed:\n{rt.diff_text(final_mt, rt.tree_snapshot_with_mtimes(root))}"))
        # (c) accounting
        if spec.accounting:
            for x in accounting_problems(root, base_snap, after, ref_audit_keys):
                fails.append(("c-accounting", f"N={n}: {x}"))
        else:
            keys = sorted(_audit_key(a) for a in rt.read_audit(root))
            if keys != ref_audit_keys:
                fails.append(("c-accounting", f"N={n}: audit {keys} differs from the uninterrupted run's {ref_audit_keys}"))
        if spec.extra_check:
            for x in spec.extra_check(root, n):
                fails.append(("extra", f"N={n}: {x}"))
        shutil.rmtree(root, ignore_errors=True)
        # (d) restore of the interrupted run
        if spec.restore:
            root = fresh(f"r{n}")
            before_runs = {r["run"] for r in rt.trash_runs(root)}
            p = rt.run_regsweep(root, *spec.args, env={CRASH_ENV: str(n)}, timeout=120)
            new = [r for r in rt.trash_runs(root) if r["run"] not in before_runs]
            if len(new) != 1:
                fails.append(("d-restore", f"N={n}: {len(new)} new runs in trash ls after the kill: {new}; "
                                           f"the killed run: {rt.show_run(p, 1500)}"))
            else:
                rid = new[0]["run"]
                pr = rt.run_regsweep(root, "restore", rid, "-y", timeout=120)
                if pr.returncode != 0:
                    fails.append(("d-restore", f"N={n}: restore {rid} exit {pr.returncode}:\n{rt.show_run(pr, 800)}"))
                got = rt.tree_snapshot_with_mtimes(root)
                if got != base_mt:
                    fails.append(("d-restore", f"N={n}: restore {rid} did not give back the original tree:\n"
                                               f"{rt.diff_text(base_mt, got)}"))
                else:
                    restored = 1
            shutil.rmtree(root, ignore_errors=True)
        return n, fails, served, restored, known

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=spec.workers) as ex:
            for n, fails, served, restored, known in ex.map(one, range(1, m + 1)):
                res.tried += 1
                if known:
                    res.known.append(known)
                res.served += served
                res.restored += restored
                if not fails:
                    res.passed += 1
                for check, msg in fails:
                    res.fail(check, msg)
    finally:
        while not servers.empty():
            servers.get().close()

    # N = M+1: not killed, and the tree equals the reference
    root = fresh(f"n{m + 1}")
    p = rt.run_regsweep(root, *spec.args, env={CRASH_ENV: str(m + 1)}, timeout=120)
    if p.returncode != 0:
        res.fail("killed", f"N={m + 1} (> M): exit {p.returncode}:\n{rt.show_run(p, 800)}")
    elif rt.tree_snapshot_excluding(root) != final:
        res.fail("b-final", f"N={m + 1} (> M): tree differs from the uninterrupted run's:\n{rt.diff_text(final, rt.tree_snapshot_excluding(root))}")
    shutil.rmtree(root, ignore_errors=True)
    res.seconds = time.monotonic() - t0
    log(f"crashloop {spec.name}: M={m}, {res.passed}/{res.tried} passed, {res.served} served, "
        f"{res.restored} restored, {res.seconds:.1f}s")
    return res


def report(results: list) -> str:
    """The TAP diagnostic line: '# kill points: rm 20/20, gc 15/15, ... total 70/70'."""
    parts = [r.summary() for r in results]
    tried = sum(r.tried for r in results)
    passed = sum(r.passed for r in results)
    served = sum(r.served for r in results)
    return f"# kill points: {', '.join(parts)}, total {passed}/{tried} ({served} served by the registry)"


def format_failures(res: Result, limit: int = 6) -> str:
    out = []
    for check, msgs in sorted(res.failures.items()):
        out.append(f"[{check}] at {len(msgs)} point(s):")
        out += ["  " + m.replace("\n", "\n  ") for m in msgs[:limit]]
        if len(msgs) > limit:
            out.append(f"  ... {len(msgs) - limit} more")
    return "\n".join(out)
