#!/usr/bin/env bash
# Installs what is missing, builds, and prints the dry-run report of reclaimable space of the
# sample registry bundled under fixtures/ (a storage tree written by the real registry).
# The sample's times (mtimes, uploads' startedat) are moved so that the day it was written is
# today: the report is the same on every date (otherwise its upload turns stale a week later).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The same configuration as scripts/test.sh (-O1, no debug information, a unity build: quick to
# compile), so that its later build reuses this one. Only regsweep is compiled here.
[ -f build/build.ninja ] || meson setup build -Doptimization=1 -Ddebug=false -Dunity=on >/dev/null
meson compile -C build regsweep >/dev/null
sample=build/sample-registry
rm -rf "$sample" && mkdir -p "$sample"
tar -xzf fixtures/sample.tar.gz -C "$sample"
python3 tests/lib/clock.py rebase "$sample" fixtures/sample.tar.gz
./build/regsweep --root "$sample" report "$@"
