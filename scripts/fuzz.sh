#!/usr/bin/env bash
# Fuzzes the request edge of every method of every service (fuzz/fuzz_edge.c, libFuzzer with ASan
# and UBSan, built with clang into build-fuzz/): make fuzz, and a short bounded pass in make test.
#   scripts/fuzz.sh [--time SECONDS] [--runs N] [--short]
#     --time SECONDS  stop after this long (default 600)
#     --runs N        stop after N inputs (whichever comes first; default: no limit)
#     --short         the pass of make test: 200000 inputs, a fixed seed, a fresh corpus from the
#                     seeds only (nothing kept), so that it is the same on every machine
# The corpus of a long run is kept in build-fuzz/fuzz-corpus and grows from run to run; it starts
# from the seeds fuzz_seeds writes (a valid request of every method for every caller its roles
# let in, and the empty one). An input that crashes, leaks or breaks a handler's contract is saved
# under build-fuzz/fuzz-crashes/, the run's whole output in build-fuzz/fuzz-last.log; rerun an
# input with build-fuzz/fuzz/fuzz_edge FILE (HD_FUZZ_VERBOSE=1 says how each call ended).
# Needs clang and libclang-rt-14-dev (libFuzzer).
# The last line is "N passed, N failed": one pass of the fuzzer, failed when it found anything.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build="${HD_FUZZ_BUILD_DIR:-$root/build-fuzz}"
time_s=600 runs="" short=0
while [ $# -gt 0 ]; do
  case "$1" in
    --time) time_s=${2:?--time needs seconds}; shift 2 ;;
    --runs) runs=${2:?--runs needs a count}; shift 2 ;;
    --short) short=1; shift ;;
    *) echo "usage: fuzz.sh [--time SECONDS] [--runs N] [--short]" >&2; exit 2 ;;
  esac
done
case "$time_s$runs" in
  *[!0-9]*) echo "fuzz.sh: --time and --runs take whole numbers" >&2; exit 2 ;;
esac

fail() {
  echo "fuzz.sh: $*"
  echo "0 passed, 1 failed"
  exit 1
}

command -v clang >/dev/null || fail "clang is missing (apt-get install clang libclang-rt-14-dev)"
echo "== building the fuzz target (clang, libFuzzer, ASan, UBSan) in $build"
mkdir -p "$build"
CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHD_FUZZ=ON \
  -DHD_WERROR="${HD_FUZZ_WERROR:-OFF}" >"$build/configure.log" 2>&1 ||
  { tail -n 20 "$build/configure.log"; fail "cmake could not configure $build"; }
cmake --build "$build" -j2 --target fuzz_edge fuzz_seeds >"$build/build.log" 2>&1 || {
  grep -E 'error|undefined' "$build/build.log" | head -n 20
  fail "the fuzz target did not build"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hd-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
seeds="$tmp/seeds"
mkdir -p "$seeds" "$build/fuzz-crashes"
"$build/fuzz/fuzz_seeds" "$seeds" || fail "fuzz_seeds could not write the seeds"

args=(-print_final_stats=1 -timeout=10 -max_len=32768 -artifact_prefix="$build/fuzz-crashes/")
if [ "$short" = 1 ]; then
  corpus="$tmp/corpus"
  args+=(-runs=200000 -seed=1)
else
  corpus="$build/fuzz-corpus"
  args+=(-max_total_time="$time_s")
  [ -n "$runs" ] && args+=(-runs="$runs")
fi
mkdir -p "$corpus"
log="$tmp/fuzz.log"
before=$(find "$build/fuzz-crashes" -type f | wc -l)
echo "== fuzz_edge ${args[*]} $corpus $seeds"
set +e
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$build/fuzz/fuzz_edge" "${args[@]}" "$corpus" "$seeds" >"$log" 2>&1
rc=$?
set -e
cp "$log" "$build/fuzz-last.log"
after=$(find "$build/fuzz-crashes" -type f | wc -l)

# libFuzzer's progress lines ("#123 NEW cov: 410 ft: 535 corp: ... exec/s: 9000 ...") and final
# stats (stat::number_of_executed_units, stat::average_exec_per_sec, stat::peak_rss_mb).
last=$(grep -E '^#[0-9]+' "$log" | grep -E ' cov: ' | tail -n 1 || true)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
stat() { sed -n "s/^stat::$1: *\([0-9]*\)/\1/p" "$log" | tail -n 1; }
execs=$(stat number_of_executed_units) rate=$(stat average_exec_per_sec) rss=$(stat peak_rss_mb)
echo "fuzz_edge: inputs=${execs:-?} exec/s=${rate:-?} cov=${cov:-?} ft=${ft:-?} corpus=${corp:-?}" \
  "peak_rss_mb=${rss:-?} crashes=$((after - before)) exit=$rc"
if [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ]; then
  echo "--- what the fuzzer found (the input is saved under $build/fuzz-crashes/):"
  grep -v '^#[0-9]' "$log" | grep -v '^"' | tail -n 60
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed"
