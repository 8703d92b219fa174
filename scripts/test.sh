#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite (unit, fixtures, e2e against
# the real registry). Ends with 'N passed, N failed'. This is the README's test command.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
if [ ! -f build/build.ninja ]; then
  meson setup build >/dev/null || exit 1
fi
meson compile -C build || exit 1
meson test -C build --print-errorlogs --num-processes 2 "$@"
rc=$?
python3 scripts/count-tests.py build/meson-logs/testlog.junit.xml
count_rc=$?
[ $rc -ne 0 ] && exit $rc
exit $count_rc
