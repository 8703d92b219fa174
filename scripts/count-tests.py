#!/usr/bin/env python3
"""Counts every test case meson ran (gtest cases, TAP subtests, plain tests) from its
JUnit log and prints the closing line CI reads: 'N passed, N failed[, N skipped]'.
Exits 1 when any failed or when no test ran at all."""
import sys
import xml.etree.ElementTree as ET

path = sys.argv[1] if len(sys.argv) > 1 else "build/meson-logs/testlog.junit.xml"
try:
    tree = ET.parse(path)
except (OSError, ET.ParseError) as e:
    print(f"count-tests: cannot read {path}: {e}", file=sys.stderr)
    print("0 passed, 1 failed")
    sys.exit(1)

passed = failed = skipped = 0
failures = []
for case in tree.iter("testcase"):
    tags = {child.tag for child in case}
    name = f"{case.get('classname', '')}.{case.get('name', '')}"
    if "failure" in tags or "error" in tags:
        failed += 1
        failures.append(name)
    elif "skipped" in tags or case.get("status") == "notrun":
        skipped += 1
    else:
        passed += 1

for name in failures:
    print(f"FAILED: {name}")
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed or passed == 0 else 0)
