#!/usr/bin/env python3
"""Counts every test case meson ran (gtest cases, TAP subtests, plain tests) from its JUnit
logs and prints the closing line CI reads: 'N passed, N failed[, N skipped]'.

    count-tests.py [[LABEL=]JUNIT_XML ...]   (default: build/meson-logs/testlog.junit.xml)

Several logs are summed into the one line; the cases of a log given as LABEL=PATH are named
'LABEL:<case>' (scripts/test.sh passes asan=build-asan/meson-logs/testlog.junit.xml for the
sanitizer run). A log that cannot be read counts as one failure. Exits 1 when any case failed
or when no test ran at all."""
import re
import sys
import xml.etree.ElementTree as ET


def count(path: str, label: str, totals: dict, failures: list) -> None:
    prefix = f"{label}:" if label else ""
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError) as e:
        print(f"count-tests: cannot read {path}: {e}", file=sys.stderr)
        totals["failed"] += 1
        failures.append(f"{prefix}{path} (no test log)")
        return
    for case in tree.iter("testcase"):
        tags = {child.tag for child in case}
        name = f"{prefix}{case.get('classname', '')}.{case.get('name', '')}"
        if "failure" in tags or "error" in tags:
            totals["failed"] += 1
            failures.append(name)
        elif "skipped" in tags or case.get("status") == "notrun":
            totals["skipped"] += 1
        else:
            totals["passed"] += 1


def main() -> int:
    args = sys.argv[1:] or ["build/meson-logs/testlog.junit.xml"]
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    failures: list = []
    for arg in args:
        m = re.fullmatch(r"([A-Za-z][A-Za-z0-9_-]*)=(.+)", arg)
        label, path = (m.group(1), m.group(2)) if m else ("", arg)
        count(path, label, totals, failures)
    for name in failures:
        print(f"FAILED: {name}")
    line = f"{totals['passed']} passed, {totals['failed']} failed"
    if totals["skipped"]:
        line += f", {totals['skipped']} skipped"
    print(line)
    return 1 if totals["failed"] or totals["passed"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
