#!/usr/bin/env bash
# Runs some tests under a memory checker, with a private MariaDB and Redis (make asan / make valgrind).
#   scripts/check-memory.sh asan BUILD_DIR REGEX       ctest in a build configured with -DHD_SANITIZE=ON
#   scripts/check-memory.sh valgrind BUILD_DIR REGEX   each test binary under valgrind
# REGEX selects ctest names (e.g. '^test_(rpc|auth)$'). Exits non-zero when any test fails or the
# checker reports an error; the last line is "N passed, N failed".
set -euo pipefail

usage="usage: check-memory.sh asan|valgrind BUILD_DIR REGEX"
mode=${1:?$usage}
build=${2:?$usage}
regex=${3:?$usage}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$(cd "$build" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hd-memcheck.XXXXXX")
cleanup() {
  "$root/scripts/servers.sh" stop "$tmp/servers" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
eval "$("$root/scripts/servers.sh" start "$tmp/servers")"
# The test binaries run here as ctest runs them: in development mode (the built-in token secret
# allowed), which ctest's ENVIRONMENT gives them there.
export HELPDESK_DEV_MODE=1

mapfile -t tests < <(ctest --test-dir "$build" -N -R "$regex" | sed -n 's/^ *Test *#[0-9]*: *//p')
if [ "${#tests[@]}" -eq 0 ]; then
  echo "check-memory.sh: no test in $build matches $regex" >&2
  exit 1
fi

passed=0 failed=0
for t in "${tests[@]}"; do
  bin=$(find "$build/tests" -maxdepth 1 -type f -name "$t" -perm -u+x | head -n 1)
  if [ -z "$bin" ]; then
    echo "FAIL $t: binary not found under $build/tests" >&2
    failed=$((failed + 1))
    continue
  fi
  log="$tmp/$t.log"
  case "$mode" in
    asan)
      # Leaks count; UBSan stops at the first finding so that it fails the test.
      env ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$bin" >"$log" 2>&1 && rc=0 || rc=$?
      ;;
    valgrind)
      # gRPC keeps some globals "still reachable" at exit; only definite and indirect leaks count.
      valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=23 --suppressions="$root/tests/valgrind.supp" "$bin" >"$log" 2>&1 && rc=0 || rc=$?
      ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  if [ "$rc" -eq 0 ]; then
    echo "ok   $t ($mode)"
    passed=$((passed + 1))
  else
    echo "FAIL $t ($mode, exit $rc); its output:"
    sed 's/^/    /' "$log"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
