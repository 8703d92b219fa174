"""tap: run a module's unittest tests and print TAP version 13 to stdout, one line per test,
so that `meson test` with `protocol: 'tap'` counts each one.

    import tap
    if __name__ == "__main__":
        tap.main()                      # runs the tests of __main__, exits 0 / 1

Output: "TAP version 13", then "ok N - Class.test_name" / "not ok N - ..." (diagnostics of a
failure follow as "# " lines), skips as "ok N - ... # SKIP reason", and the plan "1..N" last
(TAP 13 allows it at the end; it then always matches what ran, even when a setUpClass fails).
Everything else a test wants to say should go to stderr.
"""
from __future__ import annotations

import sys
import time
import unittest


def _name(test) -> str:
    if isinstance(test, unittest.case._SubTest):  # type: ignore[attr-defined]
        test = test.test_case
    mid = getattr(test, "_testMethodName", None)
    if mid is None:  # _ErrorHolder: setUpClass / module fixture failed
        return str(test)
    doc = test.shortDescription()
    base = f"{type(test).__name__}.{mid}"
    return f"{base} - {doc}" if doc else base


def _clean(s: str) -> str:
    # '#' would start a directive in a TAP description
    return s.replace("\n", " ").replace("#", "\\#")


class TAPResult(unittest.TestResult):
    def __init__(self, stream=None, descriptions=None, verbosity=None):
        super().__init__(stream, descriptions, verbosity)
        self.out = stream or sys.stdout
        self.n = 0
        self._sub_failures: dict = {}
        self._emitted: set = set()
        self._t0 = 0.0

    def _emit(self, ok: bool, test, directive: str = "", diag: str = ""):
        self._emitted.add(id(test))
        self.n += 1
        line = f"{'ok' if ok else 'not ok'} {self.n} - {_clean(_name(test))}"
        if directive:
            line += f" # {directive}"
        self.out.write(line + "\n")
        if diag:
            for d in diag.rstrip().splitlines():
                self.out.write(f"# {d}\n")
        self.out.flush()

    def startTest(self, test):
        super().startTest(test)
        self._t0 = time.monotonic()
        self._sub_failures[id(test)] = []

    def stopTest(self, test):
        super().stopTest(test)
        subs = self._sub_failures.pop(id(test), None)
        if id(test) not in self._emitted:
            # unittest reports a test whose subtests failed only through addSubTest
            self._emit(not subs, test, diag="\n".join(subs or []))
        self._emitted.discard(id(test))

    def addSuccess(self, test):
        super().addSuccess(test)
        subs = self._sub_failures.get(id(test)) or []
        if subs:
            self._emit(False, test, diag="\n".join(subs))
        else:
            self._emit(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        subs = "\n".join(self._sub_failures.get(id(test)) or [])
        self._emit(False, test, diag=(subs + "\n" if subs else "") + self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        subs = "\n".join(self._sub_failures.get(id(test)) or [])
        self._emit(False, test, diag=(subs + "\n" if subs else "") + self._exc_info_to_string(err, test))

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._sub_failures.setdefault(id(test), []).append(
                f"subtest {subtest._subDescription()}:\n" + self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._emit(True, test, directive=f"SKIP {_clean(reason)}")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._emit(False, test, directive="TODO expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._emit(True, test, directive="TODO unexpected success")

    def wasSuccessful(self) -> bool:
        # a failing subtest is recorded in self.failures by unittest already
        return super().wasSuccessful()


def header(out=None):
    out = out or sys.stdout
    out.write("TAP version 13\n")
    out.flush()


def bail_out(reason: str, out=None) -> None:
    """Print a TAP bail-out (meson reports the test as an error) and exit 1."""
    out = out or sys.stdout
    out.write("TAP version 13\n")
    out.write(f"Bail out! {_clean(reason)}\n")
    out.flush()
    sys.stderr.write(reason + "\n")
    sys.exit(1)


def run(suite: unittest.TestSuite, out=None) -> bool:
    out = out or sys.stdout
    header(out)
    result = TAPResult(out)
    t0 = time.monotonic()
    suite.run(result)
    out.write(f"1..{result.n}\n")
    out.write(f"# {result.testsRun} tests, {len(result.failures)} failures, {len(result.errors)} errors, "
              f"{len(result.skipped)} skipped in {time.monotonic() - t0:.1f}s\n")
    out.flush()
    return result.wasSuccessful() and result.n > 0


def run_classes(classes, only=(), cleanup=()) -> None:
    """Run the tests of `classes` (only those whose name is in `only`, when it is given), call
    every function of `cleanup` in order whatever happened, and exit 0 or 1."""
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for cls in classes:
        if not only or cls.__name__ in only:
            suite.addTests(loader.loadTestsFromTestCase(cls))
    try:
        ok = run(suite)
    finally:
        for f in cleanup:
            f()
    sys.exit(0 if ok else 1)


def logger(tag: str):
    """A log(msg) that writes "[tag] msg" to stderr (stdout is the TAP stream)."""
    def log(msg: str) -> None:
        print(f"[{tag}] {msg}", file=sys.stderr, flush=True)
    return log


def main(module: str = "__main__", names: list | None = None) -> None:
    """Load the tests of `module` (or only `names`, e.g. ["ModelVsApi"]) and exit 0 or 1."""
    loader = unittest.TestLoader()
    if names:
        suite = loader.loadTestsFromNames(names, sys.modules[module])
    else:
        suite = loader.loadTestsFromModule(sys.modules[module])
    sys.exit(0 if run(suite) else 1)
