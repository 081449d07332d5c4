#!/usr/bin/env bash
# make test-cluster: the services beyond one machine, on loopback in a temporary folder:
#  1. starts a three-node MariaDB Galera cluster and a Redis primary, replica and three Sentinels
#     (scripts/cluster.sh);
#  2. runs the ticket, routing and kit integration tests against them (ctest on Galera node 1 and
#     the Redis primary: the tests' fixtures point their services at private Redis servers and
#     at outages, which a node list or Sentinels would override), then, alone, the Galera tests
#     (test_db_galera: one thread per node through HELPDESK_DB_NODES) and the Sentinel failover
#     test (test_kv_sentinel); the faults below run the real binaries on the node list and the
#     Sentinels;
#  3. the faults (tests/cluster/faults.py): CreateTicket under load on one node alone, then on
#     the cluster with Galera node 1 killed and restarted; ClaimNext under load with the Redis
#     primary killed;
#  4. prints a table of what was acknowledged, stored on each node, lost, doubled and how long
#     recovery took; stops everything and removes the folder (HD_KEEP_CLUSTER=1 keeps it).
# Exit status 0 only when every test passed and every fault kept its invariants.
# HELPDESK_CLUSTER_CTEST_REGEX overrides which tests run in step 2.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BUILD_DIR:-build}
jobs=${JOBS:-2}
# test_tickets_watch and test_routing_watch are left out: their assertions count outbox ids one
# by one, and Galera steps AUTO_INCREMENT by the cluster size (the feed itself runs there).
regex=${HELPDESK_CLUSTER_CTEST_REGEX:-'^test_(ticket_store|tickets_(attachments|create_read|events|follow_history_settings|isolation|lifecycle|lists|nul_strings|owner|records|tasks_merge|timers|verify)|routing_(agents|claims|escalations|handover|queues|rules)|kv|kv_lease|kv_queue.*|kv_stream|svc_.*)$'}
t_start=$(date +%s)

scripts/deps.sh
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHD_WERROR="${CI:+ON}" >/dev/null
fi
cmake --build "$build" -j"$jobs" >/dev/null

dir=$(mktemp -d /tmp/helpdesk-cluster.XXXXXX)
cleanup() {
  scripts/cluster.sh stop "$dir" || true
  if [ "${HD_KEEP_CLUSTER:-}" = 1 ]; then echo "cluster folder kept: $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

echo "== cluster: three Galera nodes, a Redis primary, a replica and three Sentinels (in $dir)"
t0=$(date +%s)
eval "$(scripts/cluster.sh start "$dir")"
echo "   up in $(($(date +%s) - t0)) s: $HELPDESK_DB_NODES; Sentinels $HELPDESK_REDIS_SENTINELS"
export HELPDESK_DB_SOCKET='' CLUSTER_DIR=$dir HD_BINARY_DIR=$root/$build HELPDESK_DEV_MODE=1

echo "== integration tests against the cluster (ctest -R '$regex')"
t0=$(date +%s)
ctest_rc=0
env -u HELPDESK_DB_NODES -u HELPDESK_REDIS_SENTINELS \
  ctest --test-dir "$build" --output-on-failure --no-tests=error -j"$jobs" -R "$regex" \
  >"$dir/ctest.log" 2>&1 || ctest_rc=$?
grep -E "tests passed|Failed|\*\*\*" "$dir/ctest.log" | tail -n 15 || true
suite=$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$dir/ctest.log" |
  tail -n 1)
suite_s=$(($(date +%s) - t0))
galera_rc=0
"$build/tests/test_db_galera" >"$dir/galera.log" 2>&1 || galera_rc=$?
echo "   test_db_galera: $(grep -E '^\[  (PASSED|FAILED) ' "$dir/galera.log" | tr '\n' ' ')"
grep -E '^(writes to one ticket|two sweeps)' "$dir/galera.log" | sed 's/^/     /' || true
[ "$galera_rc" = 0 ] || grep -E 'ERROR|FAILED' "$dir/galera.log" | head -n 20
# The failover test moves the primary, so it runs alone, after the others.
sentinel_rc=0
"$build/tests/test_kv_sentinel" >"$dir/sentinel.log" 2>&1 || sentinel_rc=$?
sentinel_line=$(grep -E '^failover:' "$dir/sentinel.log" || echo "failover: failed")
echo "   test_kv_sentinel: $sentinel_line"
[ "$sentinel_rc" = 0 ] || tail -n 20 "$dir/sentinel.log"

echo "== faults"
faults_rc=0
results=()
for f in single galera sentinel; do
  line=$(/usr/bin/python3 tests/cluster/faults.py "$f" 2>"$dir/fault-$f.log" | grep '^RESULT ') ||
    faults_rc=1
  [ -n "$line" ] || { line="RESULT fault=$f ok=False"; tail -n 20 "$dir/fault-$f.log"; }
  case "$line" in *ok=True*) ;; *) faults_rc=1 ;; esac
  echo "   $line"
  results+=("$line")
done

# The report: one table per fault, from the RESULT lines.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
single=${results[0]} galera=${results[1]} sentinel=${results[2]}
cat <<REPORT

== report
cluster suite: ${suite:-no result} (${suite_s} s); test_db_galera: $(grep -Eo '^\[  PASSED  \] [0-9]+ test' "$dir/galera.log" || echo failed); Sentinel failover test: $sentinel_line

CreateTicket, $(field "$galera" callers) callers retrying each key until acknowledged:
| run | acknowledged | creates/s | node 1 rows | node 2 rows | node 3 rows | lost | doubled | recovery |
|---|---|---|---|---|---|---|---|---|
| one node alone (node 2) | $(field "$single" acked) | $(field "$single" creates_per_s) | - | $(field "$single" node2_rows) | - | $(field "$single" node2_lost) | $(field "$single" node2_doubled) | - |
| cluster, node 1 killed | $(field "$galera" acked) | $(field "$galera" creates_per_s) | $(field "$galera" node1_rows) (after rejoin) | $(field "$galera" node2_rows) | $(field "$galera" node3_rows) | $(field "$galera" node2_lost)/$(field "$galera" node3_lost)/$(field "$galera" node1_lost) | $(field "$galera" node2_doubled)/$(field "$galera" node3_doubled)/$(field "$galera" node1_doubled) | creates again $(field "$galera" recover_s) s after the kill (longest pause $(field "$galera" longest_pause_s) s); node 1 Synced $(field "$galera" rejoin_s) s after restart |

ClaimNext, $(field "$sentinel" agents) agents on $(field "$sentinel" tickets) tickets, Redis primary killed:
| claims before | claims after | claims checked | duplicates | owner not the claimer | failed calls | new primary named | claims again |
|---|---|---|---|---|---|---|---|
| $(field "$sentinel" claims_before_kill) | $(field "$sentinel" claims_after_kill) | $(field "$sentinel" claims_checked) | $(field "$sentinel" duplicates) | $(field "$sentinel" owner_wrong) | $(field "$sentinel" claim_errors) | $(field "$sentinel" new_primary_s) s | $(field "$sentinel" claims_again_s) s |

total: $(($(date +%s) - t_start)) s
REPORT

if [ "$ctest_rc" = 0 ] && [ "$galera_rc" = 0 ] && [ "$sentinel_rc" = 0 ] && [ "$faults_rc" = 0 ]; then
  echo "test-cluster: passed"
else
  echo "test-cluster: FAILED (ctest $ctest_rc, galera $galera_rc, sentinel $sentinel_rc, faults $faults_rc)"
  exit 1
fi
