#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -Dfuzz=true, in build-fuzz/) and runs each of them in
# turn for SECONDS (default 60) on its corpus (the fixtures' link files, manifests and names
# plus tests/fuzz/seeds, built into build-fuzz/corpus/ and grown there from run to run).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     targets: link manifest reference duration
#
# FUZZ_JOBS=N runs N fuzzing processes per target (default 1: the machine's cores are shared).
# A crash (sanitizer report, violated property, uncaught exception, timeout, leak) is written to
# build-fuzz/crashes/<target>-crash-<sha1> with the command that replays it; the script then
# exits 1. Each run is appended to build-fuzz/fuzz-log.tsv (target, seconds, executions, result).
# See docs/fuzzing.md.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift $(( $# > 0 ? 1 : 0 ))
targets=("$@")
((${#targets[@]})) || targets=(link manifest reference duration)
jobs=${FUZZ_JOBS:-1}
build=${FUZZ_BUILD:-build-fuzz}
if ! [[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 && $jobs =~ ^[0-9]+$ && $jobs -gt 0 ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]  (FUZZ_JOBS=N)" >&2
  exit 2
fi
for t in "${targets[@]}"; do
  [ -f "tests/fuzz/fuzz_$t.cc" ] || { echo "fuzz.sh: no target '$t' (tests/fuzz/fuzz_$t.cc)" >&2; exit 2; }
done

if ! command -v clang++ >/dev/null || ! compgen -G '/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a' >/dev/null; then
  bash scripts/setup.sh fuzz || exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
  CXX=clang++ meson setup "$build" -Dfuzz=true >/dev/null || exit 1
fi
meson compile -C "$build" -j2 "${targets[@]/#/fuzz-}" >/dev/null || { meson compile -C "$build" -j1 "${targets[@]/#/fuzz-}"; exit 1; }
python3 tests/fuzz/make_corpus.py "$build/corpus" >/dev/null || exit 1
mkdir -p "$build/crashes" "$build/logs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
printf '%-10s %8s %12s %8s  %s\n' target seconds executions corpus result
for t in "${targets[@]}"; do
  exe="$build/tests/fuzz/fuzz-$t"
  log="$build/logs/$t.log"
  args=(-max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$build/crashes/$t-")
  [ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
  ((jobs > 1)) && args+=(-fork="$jobs")
  start=$(date +%s)
  "$exe" "${args[@]}" "$build/corpus/$t" >"$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{s += $2} END {print s + 0}')
  [ "$execs" = 0 ] && execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  corpus=$(find "$build/corpus/$t" -type f | wc -l)
  if [ $rc -eq 0 ]; then
    result=ok
  else
    result="CRASH (exit $rc)"
    failed=1
  fi
  printf '%-10s %8s %12s %8s  %s\n' "$t" "$took" "${execs:-?}" "$corpus" "$result"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$took" "${execs:-?}" "$jobs" "$result" >>"$build/fuzz-log.tsv"
  if [ $rc -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|property violated|runtime error|uncaught|Test unit written' "$log" | head -20 | sed 's/^/    /'
    for f in $(grep -o "Test unit written to [^ ]*" "$log" | awk '{print $NF}'); do
      echo "    replay: $exe $f"
    done
    echo "    full log: $log"
  fi
done
exit $failed
