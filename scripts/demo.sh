#!/usr/bin/env bash
# Installs what is missing, builds, and prints the dry-run report of reclaimable space of the
# sample registry bundled under fixtures/ (a storage tree written by the real registry).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null
sample=build/sample-registry
rm -rf "$sample" && mkdir -p "$sample"
tar -xzf fixtures/sample.tar.gz -C "$sample"
./build/regsweep --root "$sample" report "$@"
