#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite (unit, fixtures, e2e against
# the real registry); then, in a second build with AddressSanitizer and UndefinedBehaviorSanitizer
# (build-asan/, g++ -fsanitize=address,undefined), the unit, fixtures and malformed-input suites
# again: a leak, an out-of-bounds access or undefined behaviour fails them. Ends with the line
# 'N passed, N failed' summed over both runs (the sanitizer cases named 'asan:...'); exits
# non-zero when either run failed. This is the README's test command.
#
#   scripts/test.sh [TEST...]   names given: only those tests, and no sanitizer run
#   REGSWEEP_ASAN=0 / =1        leave out / force the sanitizer run
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test || exit 1
if [ ! -f build/build.ninja ]; then
  # -O1 without debug information: 40 % less compile time than the default -O2 -g, and the
  # tests need neither; a unity build (4 files per translation unit) parses the heavy headers
  # (nlohmann/json, CLI11, GoogleTest) once per 4 files: 45 % less again. (Benchmarks want a
  # release build: see bench/README or docs/performance.md.)
  meson setup build -Doptimization=1 -Ddebug=false -Dunity=on >/dev/null || exit 1
elif ! grep -q 'unit-tests' build/build.ninja; then
  # configured by scripts/demo.sh before GoogleTest was installed: find it now
  meson setup --reconfigure build >/dev/null || exit 1
fi
meson compile -C build || exit 1

asan=${REGSWEEP_ASAN:-$(( $# == 0 ))}
asan_rc=0
start=$(date +%s)
logs=(build/meson-logs/testlog.junit.xml)
if [ "$asan" = 1 ]; then
  # The sanitizer build compiles and then runs its suites in the background, beside the main
  # suites, at the same priority: the run is bound by CPU on two cores, and the sanitizer part
  # (compile, then malformed) would otherwise be left to run alone at the end. Its output goes
  # to build-asan/asan.log, printed once both are done.
  rm -f build-asan/meson-logs/testlog.junit.xml build-asan/asan.log
  if [ ! -f build-asan/build.ninja ]; then
    # -O0 (buildtype debug): five times faster to compile with the sanitizers than -O2.
    # -g1: line tables for the sanitizers' stack traces, without the full debug information.
    meson setup build-asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
      -Dcpp_args=-g1 -Dtest_hooks=true -Dunity=on >/dev/null || asan_rc=1
  fi
  if [ $asan_rc -eq 0 ]; then
    logs+=(asan=build-asan/meson-logs/testlog.junit.xml)
    (
      if ! meson compile -C build-asan -j2 >build-asan/compile.log 2>&1; then
        tail -30 build-asan/compile.log
        exit 1
      fi
      echo "== sanitizer build done after $(( $(date +%s) - start ))s"
      tests=(unit fixtures)
      # The malformed-input e2e suite joins when tests/meson.build has it.
      # Listed into a variable first: with pipefail, `grep -q` quitting at its first match made
      # meson's --list fail on the closed pipe now and then, and the suite was silently left out.
      listed=$(meson test -C build-asan --list 2>/dev/null)
      grep -qE '(^|[ /])malformed$' <<<"$listed" && tests+=(malformed)
      MALFORMED_QUICK=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        meson test -C build-asan --no-rebuild --print-errorlogs --num-processes 1 --timeout-multiplier 3 "${tests[@]}"
      rc=$?
      echo "== sanitizer run: ${tests[*]}; done after $(( $(date +%s) - start ))s"
      exit $rc
    ) >build-asan/asan.log 2>&1 &
    asan_job=$!
  fi
fi

rm -f build/meson-logs/testlog.junit.xml
# Three at a time on two cores: most suites wait on servers and the network more than they compute.
meson test -C build --print-errorlogs --num-processes "${REGSWEEP_TEST_PROCESSES:-3}" "$@"
rc=$?
echo "== main suites done after $(( $(date +%s) - start ))s"

if [ "$asan" = 1 ]; then
  echo "== sanitizer build and run (build-asan: -fsanitize=address,undefined)"
  if [ $asan_rc -eq 0 ]; then
    wait "$asan_job" || asan_rc=1
    cat build-asan/asan.log
  fi
fi

python3 scripts/count-tests.py "${logs[@]}"
count_rc=$?
[ $rc -ne 0 ] && exit $rc
[ $asan_rc -ne 0 ] && exit $asan_rc
exit $count_rc
