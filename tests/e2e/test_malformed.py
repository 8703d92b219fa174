#!/usr/bin/env python3
"""End to end: regsweep against the hostile-input corpus fixtures/malformed/ (issue #9).

    REGSWEEP=build/regsweep python3 tests/e2e/test_malformed.py           # TAP on stdout
    REGSWEEP=build/regsweep python3 tests/e2e/test_malformed.py Case_link_empty_tag

Each case of fixtures/malformed/cases.json (a tree the real registry wrote, then damaged; see
tests/lib/malformed.py and scripts/make-malformed.py) is one test class, and every command is
one test of it, run under a timeout (a hang fails):

    ls, ls REPO, report, report --json, gc --dry-run      read only: the tree must not change
                                                          (no .regsweep/ either)
    rm -y INTACT_TAG, rm -y DAMAGED (where the case names one), gc -y, gc -m -y,
    prune -y --keep-last 1, and fsck --repair when this regsweep has an fsck command
                                                          (found by `regsweep fsck --help`)

and checked for:

- the exit code the case records (never a signal or a crash);
- the damaged path named: on stderr for text output, under "findings" in --json (with the
  expected kinds, and no kind the case does not allow);
- the tree (paths, types, modes, sizes, sha256, symlink targets; .regsweep/ left out): read-only
  commands change nothing; a mutating command removes only what its own plan (the same command
  with --plan-out, which must itself change nothing) lists, adds and changes nothing, never
  removes a damaged path unless the case allows that command to, and never a protected one
  (what the registry's own garbage-collect would keep: it fails on such trees rather than guess);
- the sentinel folder next to the root (where the case's symlinks point): byte-identical and
  unread (its atimes are set far below its mtimes, so a read through a symlink would move them).

A case may record a known bug for a command (`known_bugs`: a bug in code this suite's author
does not own, with its report): that test is reported as skipped while the bug reproduces and
fails once it does not (the marker must then go). MALFORMED_STRICT=1 makes known bugs fail; MALFORMED_QUICK=1 (the sanitizer run)
skips the --plan-out runs.

Trees are built in /dev/shm when it is a tmpfs (MALFORMED_TMPDIR overrides: 10 000 tags are
70 000 files), cases run in MALFORMED_JOBS worker processes (default 2), and
MALFORMED_VERBOSE=1 logs each command's time to stderr.

Fails (TAP "Bail out!") when REGSWEEP is unset or not an executable.
"""
from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))

import malformed as mf  # noqa: E402
import tap  # noqa: E402
import trees  # noqa: E402

TIMEOUT = 30  # seconds for one regsweep run; a hang fails the test
JOBS = "2"
STRICT = os.environ.get("MALFORMED_STRICT") == "1"
# One run per command, without the --plan-out run and the plan comparison: for the sanitizer
# build, where what is checked is memory and undefined behaviour (the plain build's run of
# this suite checks the plans), at half the cost.
QUICK = os.environ.get("MALFORMED_QUICK") == "1"


log = tap.logger("e2e-malformed")


# ---------------------------------------------------------------------------------------------
# Running the binary
# ---------------------------------------------------------------------------------------------

class Run:
    def __init__(self, args, rc, out: bytes, err: bytes, seconds: float, timed_out: bool):
        self.args, self.rc, self.out, self.err, self.seconds, self.timed_out = args, rc, out, err, seconds, timed_out

    def text(self, tail: int = 2500) -> str:
        o = self.out.decode("utf-8", "replace")
        e = self.err.decode("utf-8", "replace")
        return (f"command: regsweep {' '.join(os.fsdecode(a) for a in self.args)}\n"
                f"exit: {'TIMEOUT' if self.timed_out else self.rc} ({self.seconds:.2f}s)\n"
                f"stdout:\n{o[-tail:]}\nstderr:\n{e[-tail:]}")


def regsweep(root: str, args: list) -> Run:
    """`$REGSWEEP --root ROOT -j 2 ARGS...`, stdin /dev/null (no terminal), in its own process
    group so that a hang is killed whole."""
    cmd = [os.environ["REGSWEEP"], "--root", root, "-j", JOBS, *args]
    env = {k: v for k, v in os.environ.items() if k != "REGSWEEP_TEST_CRASH_AFTER"}
    env["NO_COLOR"] = "1"
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env, start_new_session=True)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        timed_out = True
    return Run(args, p.returncode, out, err, time.monotonic() - t0, timed_out)


def fsck_support() -> dict | None:
    """{"yes": bool, "plan_out": bool} when `regsweep fsck --help` documents `fsck --repair`."""
    try:
        p = subprocess.run([os.environ["REGSWEEP"], "fsck", "--help"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = p.stdout.decode("utf-8", "replace")
    # An unknown subcommand's --help prints the top-level help (exit 0): require fsck's own.
    if p.returncode != 0 or not re.search(r"^Usage:.*\bfsck\b", text, re.M) or "--repair" not in text:
        return None
    return {"yes": "--yes" in text, "plan_out": "--plan-out" in text}


# ---------------------------------------------------------------------------------------------
# The commands
# ---------------------------------------------------------------------------------------------

READ_ONLY = ("ls", "ls-repo", "report", "report-json", "gc-dry-run")
ORDER = ["ls", "ls-repo", "report", "report-json", "gc-dry-run", "rm-intact", "rm-damaged", "gc", "gc-m", "prune",
         "fsck-repair"]
# Commands whose stderr lists the storage's findings (text output, the model loaded).
LISTS_FINDINGS = ("ls", "ls-repo", "report", "gc-dry-run", "rm-intact", "gc", "gc-m", "prune", "fsck-repair")
FSCK = None  # set in main


def command_args(case: dict, cmd: str) -> list | None:
    repo = case.get("repo", "team/app")
    if cmd == "ls":
        return ["ls"]
    if cmd == "ls-repo":
        return ["ls", repo]
    if cmd == "report":
        return ["report"]
    if cmd == "report-json":
        return ["report", "--json"]
    if cmd == "gc-dry-run":
        return ["gc", "--dry-run"]
    if cmd == "rm-intact":
        return ["rm", "-y", case.get("intact", "team/other:1.0")]
    if cmd == "rm-damaged":
        rd = case.get("rm_damaged")
        return ["rm", "-y", *[os.fsdecode(mf.decode_path(a)) for a in rd["args"]]] if rd else None
    if cmd == "gc":
        return ["gc", "-y"]
    if cmd == "gc-m":
        return ["gc", "-m", "-y"]
    if cmd == "prune":
        return ["prune", "-y", "--keep-last", "1"]
    if cmd == "fsck-repair":
        if FSCK is None:
            return None
        return ["fsck", "--repair"] + (["--yes"] if FSCK["yes"] else [])
    raise ValueError(cmd)


def expected_exit(case: dict, cmd: str) -> set:
    if cmd in case.get("exit", {}):
        e = case["exit"][cmd]
        return set(e) if isinstance(e, list) else {e}
    if case.get("error"):
        return {1}
    if cmd == "rm-damaged":
        return {case["rm_damaged"]["exit"]}
    if cmd == "fsck-repair":
        return {0, 4}  # fsck's own codes: 0 clean (or repaired), 4 problems found
    return {0}


def message_path(case: dict) -> bytes | None:
    """What stderr must contain (below the root), or None when no message is expected."""
    if "stderr" in case:
        return None if case["stderr"] is None else mf.decode_path(case["stderr"])
    f = case.get("findings") or []
    return mf.decode_path(f[0]["path"]) if f else None


def _norm(s: str) -> str:
    """Invalid UTF-8 shows as U+FFFD (once per byte or per sequence): compare with one."""
    return re.sub("\ufffd+", "\ufffd", s)


# ---------------------------------------------------------------------------------------------
# The tests: one class per case, one test per command
# ---------------------------------------------------------------------------------------------

class CaseTest(unittest.TestCase):
    case: dict = {}
    tmp: str = ""
    pristine: str = ""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix=f"regsweep-malformed-{cls.case['name']}-", dir=mf.scratch_dir())
        t0 = time.monotonic()
        cls.pristine = os.path.join(cls.tmp, "pristine")
        mf.build(cls.case, cls.pristine)
        cls.n = 0
        # The tree every command starts from (a copy made with cp -a is identical to it), and
        # for commands that run on the pristine tree itself, what it is now.
        cls.snap = mf.snapshot(os.path.join(cls.pristine, "root"), exclude=())
        cls.built_in = time.monotonic() - t0

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["rm", "-rf", "--", cls.tmp], check=False)

    # -- helpers --------------------------------------------------------------------------

    def work_copy(self) -> tuple[str, str]:
        if self.case.get("chain"):  # big cases: one tree, commands in order
            return os.path.join(self.pristine, "root"), os.path.join(self.pristine, "outside")
        type(self).n += 1
        return mf.copy_case(self.pristine, os.path.join(self.tmp, f"work{self.n}"))

    def check_exit(self, r: Run, want: set, problems: list) -> None:
        if r.timed_out:
            problems.append(f"hung: killed after {TIMEOUT}s")
        elif r.rc < 0 or r.rc >= 128:
            problems.append(f"crashed: exit {r.rc} (signal)")
        elif r.rc not in want:
            problems.append(f"exit {r.rc}, expected {' or '.join(map(str, sorted(want)))}")

    def check_message(self, r: Run, root: str, problems: list, also_stdout: bool = False) -> None:
        mp = message_path(self.case)
        if mp is None:
            if not self.case.get("findings") and not self.case.get("error"):
                bad = [ln for ln in r.err.splitlines() if re.match(rb"regsweep: (error|warning): ", ln)]
                if bad and r.rc == 0:
                    problems.append(f"unexpected finding on stderr: {bad[0][:300]!r}")
            return
        want = os.fsencode(root) + (b"/" + mp if mp else b"")
        if want not in r.err and not (also_stdout and want in r.out):
            problems.append(f"{'its output' if also_stdout else 'stderr'} does not name {os.fsdecode(want)}")

    def check_json_findings(self, r: Run, root: str, problems: list) -> None:
        if r.rc != 0:
            return
        try:
            doc = json.loads(r.out)
        except ValueError as e:
            problems.append(f"stdout is not JSON: {e}")
            return
        prefix = root + "/"
        got = set()
        for f in doc.get("findings", []):
            p = f.get("path", "")
            got.add((f.get("kind"), _norm(p[len(prefix):] if p.startswith(prefix) else p)))
        for f in self.case.get("findings", []):
            key = (f["kind"], _norm(mf.decode_path(f["path"]).decode("utf-8", "replace")))
            if key not in got:
                problems.append(f"no finding {key[0]} at {key[1]} in --json (got {sorted(got)[:8]})")
        allowed = {f["kind"] for f in self.case.get("findings", [])} | set(self.case.get("also_acceptable", []))
        extra = sorted({k for k, _ in got} - allowed)
        if extra:
            problems.append(f"findings of kinds the case does not allow: {extra} "
                            f"({[g for g in sorted(got) if g[0] in extra][:5]})")

    def finish(self, cmd: str, problems: list, r: Run | None) -> None:
        bug = self.case.get("known_bugs", {}).get(cmd)
        detail = "\n".join(problems) + ("\n" + r.text() if r is not None else "")
        if bug and not STRICT:
            if problems:
                self.skipTest(f"known bug: {bug} [{'; '.join(problems)[:300]}]")
            self.fail(f"known bug no longer reproduces, remove it from the case: {bug}")
        if problems:
            self.fail(detail)

    # -- one command ------------------------------------------------------------------------

    def run_command(self, cmd: str):
        args = command_args(self.case, cmd)
        if args is None:
            self.skipTest("fsck --repair: no fsck command in this regsweep (yet)" if cmd == "fsck-repair"
                          else "no such command for this case")
        problems: list = []
        t0 = time.monotonic()
        in_place = cmd in READ_ONLY or self.case.get("chain")  # big cases: one tree, commands in order
        if in_place:
            root, outside = os.path.join(self.pristine, "root"), os.path.join(self.pristine, "outside")
        else:
            type(self).n += 1
            root, outside = mf.copy_case(self.pristine, os.path.join(self.tmp, f"work{self.n}"))
        before = type(self).snap
        out_before = mf.sentinel_state(outside)
        allowed: list | None = []
        if cmd not in READ_ONLY:
            allowed = None if QUICK else self.planned_paths(cmd, args, root, outside, before, out_before, problems)
        r = regsweep(root, args)
        self.check_exit(r, expected_exit(self.case, cmd), problems)
        if cmd in LISTS_FINDINGS and not (cmd == "rm-damaged"):
            self.check_message(r, root, problems, also_stdout=(cmd == "fsck-repair"))
        if cmd == "report-json":
            self.check_json_findings(r, root, problems)
        if cmd == "rm-damaged" and r.rc != 0 and not r.err.strip():
            problems.append("rm failed without a message")
        after = mf.snapshot(root, exclude=())
        if in_place:
            type(self).snap = after
        self.check_tree(cmd, before, after, allowed, problems)
        out_after = mf.sentinel_state(outside)
        if out_after != out_before:
            problems.append("the sentinel outside the root was read or changed:\n"
                            + trees.format_diff(trees.diff_snapshots(out_before, out_after), 30))
        if not in_place:
            subprocess.run(["rm", "-rf", "--", os.path.dirname(root)], check=False)
        if os.environ.get("MALFORMED_VERBOSE"):
            log(f"{self.case['name']} {cmd}: {time.monotonic() - t0:.2f}s (regsweep {r.seconds:.2f}s)")
        self.finish(cmd, problems, r)

    def planned_paths(self, cmd, args, root, outside, before, out_before, problems) -> list:
        """The paths the command's own plan (--plan-out) lists; the plan run changes nothing."""
        if cmd == "fsck-repair" and not FSCK.get("plan_out"):
            return [mf.decode_path(p) for p in self.case.get("damaged", [])]
        plan_file = os.path.join(self.tmp, f"plan-{cmd}.json")
        if os.path.exists(plan_file):
            os.unlink(plan_file)
        p = regsweep(root, [*args, "--plan-out", plan_file])
        self.check_exit(p, expected_exit(self.case, cmd), problems)
        if problems:
            problems[-1] = f"--plan-out run: {problems[-1]}"
        after = mf.snapshot(root, exclude=())
        if after != before:
            problems.append("--plan-out changed the tree:\n" + trees.format_diff(trees.diff_snapshots(before, after), 30))
        if mf.sentinel_state(outside) != out_before:
            problems.append("--plan-out read or changed the sentinel outside the root")
        if p.rc not in expected_exit(self.case, cmd) or not os.path.exists(plan_file):
            return []
        with open(plan_file) as f:
            plan = json.load(f)
        return [os.fsencode(a["path"]) for a in plan.get("actions", [])]

    def check_tree(self, cmd: str, before: dict, after: dict, allowed: list, problems: list) -> None:
        if cmd in READ_ONLY:
            if after != before:
                problems.append("a read-only command changed the tree:\n" + trees.format_diff(trees.diff_snapshots(before, after), 30))
            return

        def strip(snap):
            return {k: v for k, v in snap.items() if not mf.under(k, [b".regsweep"])}
        d = trees.diff_snapshots(strip(before), strip(after))
        if d["added"] or d["changed"]:
            problems.append("added or changed paths:\n" + trees.format_diff({"added": d["added"], "changed": d["changed"]}, 30))
        outside_plan = [] if allowed is None else [p for p in d["removed"] if not mf.under(p, allowed)]
        if outside_plan:
            problems.append("removed paths its plan did not list:\n" + trees.format_diff({"removed": outside_plan}, 30))
        may = [mf.decode_path(p) for p in self.case.get("may_remove", {}).get(cmd, [])]
        asked = cmd in ("rm-damaged", "fsck-repair")  # asked to remove the damaged tag; to repair
        if asked:
            may = d["removed"] if allowed is None else allowed
        damaged = [mf.decode_path(p) for p in self.case.get("damaged", [])]
        hit = [p for p in d["removed"] if mf.under(p, damaged) and not mf.under(p, may)]
        if hit:
            problems.append("removed a damaged path it was not asked to remove:\n" + trees.format_diff({"removed": hit}, 30))
        if cmd != "rm-damaged" and cmd not in self.case.get("protect_skip", []):
            protect = [mf.decode_path(p) for p in self.case.get("protect", [])]
            # fsck --repair may set a damaged item aside, with the folder that holds it
            lost = [p for p in d["removed"] if mf.under(p, protect)
                    and not (asked and (mf.under(p, damaged) or any(mf.under(x, [p]) for x in damaged)))]
            if lost:
                problems.append("removed what the registry's garbage-collect would keep (protected):\n"
                                + trees.format_diff({"removed": lost}, 30))


def _make_test(cmd: str):
    def test(self):
        self.run_command(cmd)
    test.__doc__ = None
    return test


def make_case_class(case: dict) -> type:
    name = "Case_" + re.sub(r"[^0-9A-Za-z]", "_", case["name"])
    attrs = {"case": case, "__doc__": case.get("description", "")}
    cmds = case.get("commands") or ORDER
    for i, cmd in enumerate(ORDER):
        if cmd not in cmds:
            continue
        if cmd == "rm-damaged" and not case.get("rm_damaged"):
            continue
        attrs[f"test_{i:02d}_{cmd.replace('-', '_')}"] = _make_test(cmd)
    return type(name, (CaseTest,), attrs)


# ---------------------------------------------------------------------------------------------
# The corpus itself
# ---------------------------------------------------------------------------------------------

REQUIRED = [  # the list, each by a case name
    "link-empty-tag", "link-garbage-tag", "link-sha512", "link-trailing-newline", "link-missing-blob",
    "manifest-not-json", "manifest-wrong-shape", "manifest-wrong-types", "manifest-too-large", "manifest-deeply-nested",
    "index-contains-itself", "indexes-contain-each-other", "blob-without-data", "manifest-zero-bytes",
    "symlink-repository-outside", "symlink-loops", "dotdot-names", "upper-case-repository", "non-utf8-names",
    "blob-folder-is-file", "link-is-folder", "blob-data-is-fifo", "ten-thousand-tags", "startedat-garbage",
]


class Corpus(unittest.TestCase):
    def test_size_and_coverage(self):
        cases = mf.load_cases()
        names = [c["name"] for c in cases]
        self.assertGreaterEqual(len(cases), 30)
        self.assertEqual(len(names), len(set(names)))
        self.assertEqual([n for n in REQUIRED if n not in names], [])
        total = sum(os.path.getsize(os.path.join(mf.CORPUS, f)) for f in os.listdir(mf.CORPUS))
        self.assertLess(total, 1 << 20, "fixtures/malformed/ should stay under 1 MiB")
        for c in cases:
            self.assertTrue(c.get("damaged") is not None and c.get("description"), c["name"])
            for k in c.get("known_bugs", {}):
                self.assertIn(k, ORDER, f"{c['name']}: known bug for an unknown command")

    def test_cases_json_is_generated(self):
        """cases.json is what scripts/make-malformed.py writes now (no hand edits, no stale digests)."""
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "make-malformed.py"), "--out", d],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout.decode())
            with open(os.path.join(d, "cases.json"), "rb") as a, open(mf.CASES_JSON, "rb") as b:
                self.assertEqual(a.read(), b.read(), "run python3 scripts/make-malformed.py")

    def test_builder_makes_the_damage(self):
        """Spot checks that the builder does what the steps say (FIFO, symlinks, byte names)."""
        by = {c["name"]: c for c in mf.load_cases()}
        with tempfile.TemporaryDirectory() as d:
            root, outside = mf.build(by["blob-data-is-fifo"], os.path.join(d, "fifo"))
            import stat as st
            self.assertTrue(st.S_ISFIFO(os.lstat(os.path.join(root, by["blob-data-is-fifo"]["damaged"][0])).st_mode))
            root, outside = mf.build(by["symlink-tag-outside-absolute"], os.path.join(d, "abs"))
            link = os.path.join(root, by["symlink-tag-outside-absolute"]["damaged"][0])
            self.assertEqual(os.readlink(link), os.path.join(outside, "tag"))
            self.assertTrue(os.path.isfile(os.path.join(outside, "tag", "current", "link")))
            root, outside = mf.build(by["non-utf8-names"], os.path.join(d, "bytes"))
            self.assertIn(b"v\xff", os.listdir(os.path.join(os.fsencode(root), os.fsencode(mf.tag_dir("team/app", "")))))
            root, outside = mf.build(by["symlink-current-outside"], os.path.join(d, "rel"))
            cur = os.path.join(root, by["symlink-current-outside"]["damaged"][0])
            self.assertEqual(os.path.realpath(cur), os.path.realpath(os.path.join(outside, "current")))


CLASSES = {}  # class name -> test class, one per case


def case_classes() -> dict:
    if not CLASSES:
        for c in mf.load_cases():
            cls = make_case_class(c)
            CLASSES[cls.__name__] = cls
    return CLASSES


def run_tap(tests) -> tuple:
    """Runs tests here; returns (TAP lines numbered from 1, tests, failures, skipped)."""
    buf = io.StringIO()
    result = tap.TAPResult(buf)
    tests.run(result)
    return buf.getvalue(), result.testsRun, len(result.failures) + len(result.errors), len(result.skipped)


def run_case(name_and_methods) -> tuple:
    """One case class (in a worker process): its TAP text and counts, and how long it took."""
    name, methods = name_and_methods
    t0 = time.monotonic()
    cls = case_classes()[name]
    loader = unittest.TestLoader()
    suite = unittest.TestSuite([cls(m) for m in methods]) if methods else loader.loadTestsFromTestCase(cls)
    out = run_tap(suite)
    return out + (time.monotonic() - t0, getattr(cls, "built_in", 0.0))


def main() -> None:
    global FSCK
    exe = os.environ.get("REGSWEEP")
    if not exe or not os.access(exe, os.X_OK):
        tap.bail_out("REGSWEEP is not set to an executable regsweep binary")
    FSCK = fsck_support()
    log("fsck --repair: " + ("tested (regsweep fsck --help documents it)" if FSCK else
                             "not in this regsweep; those tests are skipped"))
    t0 = time.monotonic()
    classes = case_classes()
    corpus: list = []
    cases: list = []  # (class name, [methods] or None for all)
    for arg in sys.argv[1:] or ["Corpus", *classes]:
        cls_name, _, method = arg.partition(".")
        if cls_name == "Corpus":
            corpus.append(arg)
        elif cls_name in classes:
            cases.append((cls_name, [method] if method else None))
        else:
            tap.bail_out(f"no test class {cls_name}")
    tap.header()
    n = failures = skipped = ran = 0

    def emit(text: str) -> None:
        nonlocal n
        for line in text.splitlines():
            m = re.match(r"^(not ok|ok) \d+", line)
            if m:
                n += 1
                line = f"{m.group(1)} {n}" + line[m.end():]
            print(line)
        sys.stdout.flush()

    if corpus:
        loader = unittest.TestLoader()
        text, r, f, sk = run_tap(unittest.TestSuite(loader.loadTestsFromName(c, sys.modules[__name__]) for c in corpus))
        emit(text)
        ran, failures, skipped = ran + r, failures + f, skipped + sk
    for base in {classes[name].case.get("base", "clean") for name, _ in cases}:
        mf.base_root(base)  # extracted once, here: the workers share it and this process removes it
    jobs = max(1, int(os.environ.get("MALFORMED_JOBS", "2")))
    import multiprocessing
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for (name, _), (text, r, f, sk, secs, built) in zip(cases, pool.imap(run_case, cases)):
            emit(text)
            ran, failures, skipped = ran + r, failures + f, skipped + sk
            log(f"{name}: {r} tests, {f} failed, {sk} skipped in {secs:.1f}s (tree built in {built:.2f}s)")
    print(f"1..{n}")
    print(f"# {ran} tests, {failures} failures, {skipped} skipped in {time.monotonic() - t0:.1f}s "
          f"({jobs} worker processes)")
    sys.stdout.flush()
    log(f"total {time.monotonic() - t0:.1f}s")
    sys.exit(0 if failures == 0 and n > 0 else 1)


if __name__ == "__main__":
    main()
