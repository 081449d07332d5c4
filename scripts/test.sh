#!/usr/bin/env bash
# make test (and CI, through .ci/run): the whole test suite, with the servers it needs.
#  1. installs the missing Debian packages and builds (warnings are errors when CI is set);
#  2. starts a private MariaDB and Redis on free ports in a fresh temporary folder;
#  3. runs every unit and integration test (ctest);
#  4. starts the four service binaries on free ports and runs the Python tests against them
#     (tests/python/*.py: health interop, TLS, a ticket's walk to its automatic close, server
#     reflection and Health/Watch on servers of its own) and a
#     smoke run of the load generator (bench/hd-bench, every scenario, a few calls);
#  5. stops them with SIGTERM and checks that each drains and exits 0;
#  6. validates the deployment files (scripts/validate-deploy.sh: docker-compose config,
#     yamllint, Kubernetes schemas), and checks that every C file is formatted
#     (scripts/check-format.sh, with a badly formatted file to prove the check can fail), and runs
#     a short bounded pass of the request-edge fuzzer (scripts/fuzz.sh --short);
#  7. stops everything and removes the folder, also when a step failed or was interrupted.
# The last line is "N passed, N failed", the sum of steps 3 to 6; the exit status is 0 only when
# nothing failed. HELPDESK_CTEST_ARGS adds arguments to ctest (e.g. "-R test_auth").
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build="$root/build"
jobs=$(nproc 2>/dev/null || echo 2)

"$root/scripts/deps.sh"
make --no-print-directory -C "$root" build

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hd-test.XXXXXX")
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  "$root/scripts/services.sh" stop "$tmp/svc" >/dev/null 2>&1 || true
  "$root/scripts/servers.sh" stop "$tmp/walk-servers" >/dev/null 2>&1 || true
  "$root/scripts/servers.sh" stop "$tmp/servers" >/dev/null 2>&1 || true
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

echo "== MariaDB and Redis (private, in $tmp/servers)"
if ! servers_env=$("$root/scripts/servers.sh" start "$tmp/servers"); then
  echo "make test: the private MariaDB and Redis did not start (servers.sh says why above); no test ran"
  echo "0 passed, 1 failed"
  exit 1
fi
eval "$servers_env"
# Tests and the services they start run in development mode (the built-in token secret).
export HELPDESK_DEV_MODE=1
echo "MariaDB on 127.0.0.1:$HELPDESK_DB_PORT, Redis on 127.0.0.1:$HELPDESK_REDIS_PORT"

# --- 3. ctest ---------------------------------------------------------------------------------
echo "== unit and integration tests (ctest)"
read -r -a ctest_args <<<"${HELPDESK_CTEST_ARGS:-}"
set +e
ctest --test-dir "$build" --output-on-failure --no-tests=error -j"$jobs" "${ctest_args[@]}" 2>&1 |
  tee "$tmp/ctest.log"
ctest_rc=${PIPESTATUS[0]}
set -e
# ctest's summary: "100% tests passed, 0 tests failed out of 31".
summary=$(sed -n 's/^[0-9]*% tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\)$/\1 \2/p' \
  "$tmp/ctest.log" | tail -n 1)
if [ -n "$summary" ]; then
  ctest_failed=${summary% *}
  ctest_passed=$(( ${summary#* } - ctest_failed ))
else
  ctest_passed=0 ctest_failed=1
  echo "ctest printed no summary (exit $ctest_rc): counted as one failure"
fi
if [ "$ctest_rc" -ne 0 ] && [ "$ctest_failed" -eq 0 ]; then
  ctest_failed=1
  echo "ctest exited $ctest_rc with no failed test: counted as one failure"
fi

# --- 4. the four services and the Python tests ------------------------------------------------
# run_counted NAME CMD...: runs a test program whose last "N passed, N failed" line is added to
# the totals (no such line, or a failing exit with no failure counted, is one failure).
python_passed=0 python_failed=0
run_counted() {
  local name=$1 log="$tmp/$1.log" rc summary p f
  shift
  set +e
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  summary=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log" | tail -n 1)
  if [ -n "$summary" ]; then
    p=${summary% *} f=${summary#* }
  else
    p=0 f=1
    echo "$name printed no summary (exit $rc): counted as one failure"
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  python_passed=$((python_passed + p)) python_failed=$((python_failed + f))
}

echo "== the four services on free ports, called from Python (python3-grpcio)"
for svc in tickets routing accounts kpi; do
  export "HELPDESK_${svc^^}_ADDR=127.0.0.1:$(free_port)"
done
services_up=1
# The integration tests above published their own databases' events to this Redis; the stack's
# routing would read that backlog as its own (its consumer group starts at the stream's start).
REDISCLI_AUTH="${HELPDESK_REDIS_PASSWORD:-}" redis-cli -h "$HELPDESK_REDIS_HOST" \
  -p "$HELPDESK_REDIS_PORT" ${HELPDESK_REDIS_USER:+--user "$HELPDESK_REDIS_USER"} FLUSHALL >/dev/null
HELPDESK_METRICS_ADDR=127.0.0.1:0 "$root/scripts/services.sh" start "$tmp/svc" "$build" || services_up=0

run_counted health_check /usr/bin/python3 "$root/tests/python/health_check.py" --wait 30

# The walks below start services of their own, on a MariaDB and a Redis of their own, emptied
# before each walk: one deployment per Redis, as in production. Sharing a Redis, two routing
# services would join one consumer group on the one ticket stream and take each other's events,
# and a routing would read another ticket database's events as its own.
walk_env=$("$root/scripts/servers.sh" start "$tmp/walk-servers") || walk_env="false"
walk() {
  (eval "$walk_env" &&
    REDISCLI_AUTH="${HELPDESK_REDIS_PASSWORD:-}" redis-cli -h "$HELPDESK_REDIS_HOST" \
      -p "$HELPDESK_REDIS_PORT" ${HELPDESK_REDIS_USER:+--user "$HELPDESK_REDIS_USER"} FLUSHALL \
      >/dev/null &&
    exec env HD_BINARY_DIR="$build" "$@")
}
echo "== TLS from Python: a TLS call succeeds, a plaintext call to the TLS port fails cleanly"
run_counted tls_check walk /usr/bin/python3 "$root/tests/python/tls_check.py"
echo "== a ticket's life from Python: PENDING_RESPONSE to auto-CLOSED (helpdesk-tickets, short timers)"
run_counted ticket_walk walk /usr/bin/python3 "$root/tests/python/ticket_walk.py"
echo "== an account's cases from Python: helpdesk-accounts (lost phone, deletion, upgrade link, refund)"
run_counted accounts_walk walk /usr/bin/python3 "$root/tests/python/accounts_walk.py"
echo "== a ticket's account verified before work from Python (helpdesk-tickets and helpdesk-accounts)"
run_counted verify_walk walk /usr/bin/python3 "$root/tests/python/verify_walk.py"
echo "== work on a customer's service from Python: the SOP's policy (consent, INFRASTRUCTURE escalation, dummy mailbox, the table)"
run_counted service_action_walk walk /usr/bin/python3 "$root/tests/python/service_action_walk.py"
echo "== a month of ticket work for three agents and its KPI summary, from Python (helpdesk-kpi)"
run_counted kpi_walk walk /usr/bin/python3 "$root/tests/python/kpi_walk.py"
echo "== an escalation and a hand-over from Python (helpdesk-routing and helpdesk-tickets)"
run_counted routing_walk walk /usr/bin/python3 "$root/tests/python/routing_walk.py"
echo "== routing's rules from Python: ListRoutingRules against the real helpdesk-routing"
run_counted routing_rules walk /usr/bin/python3 "$root/tests/python/routing_rules.py"
echo "== helpdeskctl against the four services: a call on each, every verb (claim, list, reply, escalate, hand-over)"
run_counted helpdeskctl_walk walk /usr/bin/python3 "$root/tests/python/helpdeskctl_walk.py"
echo "== WatchTickets from Python: a change feed, a disconnect, and a resume that loses and repeats nothing"
run_counted watch_tickets walk /usr/bin/python3 "$root/tests/python/watch_tickets.py"
# Its own MariaDB, Redis and four services (it stops MariaDB and starts it again): not this stack.
echo "== server reflection and Health/Watch from Python (grpcio, own servers; MariaDB stopped and back)"
run_counted reflection_watch env HD_BINARY_DIR="$build" /usr/bin/python3 "$root/tests/python/reflection_watch.py"
echo "== machine-readable errors from Python: google.rpc.Status details decoded by grpcio, x-request-id echoed"
run_counted error_details walk /usr/bin/python3 "$root/tests/python/error_details.py"
echo "== the README's runnable examples (python and sh blocks) on a stack of their own, and its links"
run_counted readme_examples walk "$root/scripts/readme-examples.sh" "$tmp/readme-svc" "$build"

# A smoke run of the load generator against the running ticket service (not a measurement: it
# proves hd-bench and its scenarios still work; make bench measures).
echo "== hd-bench smoke run (every scenario, a few calls each)"
bench_passed=0 bench_failed=0
for sc in health create get list list_status list_owner list_my_open list_unassigned list_followed \
  list_updated workloop account_get account_verify service_action_check service_action_record \
  kpi_team_summary kpi_half_year escalate redis_script rate_limit_script claim queue_latency; do
  target=$HELPDESK_TICKETS_ADDR
  case $sc in
    account_* | service_action_*) target=$HELPDESK_ACCOUNTS_ADDR ;;
    kpi_*) target=$HELPDESK_KPI_ADDR ;;
    escalate | redis_script | rate_limit_script | claim | queue_latency) target=$HELPDESK_ROUTING_ADDR ;;
  esac
  # A scenario that checks afterwards prints check=, or check_failed= which fails the step.
  out=$("$build/bench/hd-bench" --target "$target" --tickets-target "$HELPDESK_TICKETS_ADDR" \
    --scenario "$sc" --concurrency 2 --calls 20 --prepare 20 --tenant smoke 2>&1) || true
  echo "$out" | grep -E '^(scenario|first_error|check|check_failed)=' || echo "$out"
  if echo "$out" | grep -q '^scenario=.* ops=20 errors=0 ' &&
    ! echo "$out" | grep -q '^check_failed='; then
    bench_passed=$((bench_passed + 1))
  else
    bench_failed=$((bench_failed + 1))
  fi
done
python_passed=$((python_passed + bench_passed)) python_failed=$((python_failed + bench_failed))

# --- 5. graceful stop ---------------------------------------------------------------------------
echo "== SIGTERM: each service drains and exits 0"
set +e
"$root/scripts/services.sh" stop "$tmp/svc" | tee "$tmp/stop.log"
set -e
stop_passed=$(grep -c 'stopped (exit 0)$' "$tmp/stop.log" || true)
stop_failed=$((4 - stop_passed))

if [ "$services_up" = 0 ] || [ "$python_failed" -ne 0 ] || [ "$stop_failed" -ne 0 ]; then
  for svc in tickets routing accounts kpi; do
    echo "--- last lines of helpdesk-$svc's log"
    tail -n 20 "$tmp/svc/logs/$svc.log" 2>/dev/null || true
  done
fi

# --- 6. deployment files ---------------------------------------------------------------------------
echo "== deployment files: docker-compose config, yamllint, Kubernetes schemas"
deploy_passed=0 deploy_failed=0
if "$root/scripts/validate-deploy.sh"; then deploy_passed=1; else deploy_failed=1; fi

echo "== format: every C file as .clang-format formats it"
printf 'int  main( void ){return 0;}\n' >"$tmp/unformatted.c"
if "$root/scripts/check-format.sh" "$tmp/unformatted.c" >/dev/null; then
  echo "format check passed a badly formatted file"
  deploy_failed=$((deploy_failed + 1))
else
  echo "format check refuses a badly formatted file: ok"
  deploy_passed=$((deploy_passed + 1))
fi
if "$root/scripts/check-format.sh" >"$tmp/format.log" 2>&1; then
  tail -n 1 "$tmp/format.log"
  deploy_passed=$((deploy_passed + 1))
else
  head -n 60 "$tmp/format.log"
  deploy_failed=$((deploy_failed + 1))
fi

echo "== fuzz: the request edge of every RPC, 200000 inputs from the seeds (libFuzzer, ASan, UBSan)"
run_counted fuzz_edge "$root/scripts/fuzz.sh" --short

passed=$((ctest_passed + python_passed + stop_passed + deploy_passed))
failed=$((ctest_failed + python_failed + stop_failed + deploy_failed))
echo "== ctest: $ctest_passed passed, $ctest_failed failed; python, bench smoke and fuzz: $python_passed passed," \
  "$python_failed failed; graceful stop: $stop_passed passed, $stop_failed failed;" \
  "deployment files and format: $deploy_passed passed, $deploy_failed failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
