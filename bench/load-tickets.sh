#!/usr/bin/env bash
# Loads N tickets for the benchmark tenant straight into the ticket service's database, fast
# (INSERT ... SELECT from MariaDB's SEQUENCE engine in batches; about 15 s per million here):
#   bench/load-tickets.sh 1000000 [TENANT]
# Against the stack `make run` started (.run/env); the service must have run once (migrations).
# Rows look like real ones: six statuses in turn, 200 owners plus "bench-owner" on every tenth,
# nobody on every seventh of the others (unassigned, and so PENDING_RESPONSE: a worked status
# always has an owner, migration 004), 50,000 customers; hd-bench's user "bench-agent" follows
# every hundredth (and that ticket's follower_count says so, migration 007). Ids follow on from
# the table's highest id without gaps (so a benchmark can read random ids of the tenant), and
# creation times grow with the id, one second apart, from
# 2023-11-14 (so "oldest first" and id order agree). No history or outbox rows: this is a
# read-scale fixture, not a replay.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:?usage: load-tickets.sh N [TENANT]}
tenant=${2:-bench}
# HD_LOAD_FROM_ENV=1: the servers the environment names (HELPDESK_DB_SOCKET ..., as
# scripts/servers.sh prints them) instead of .run/env.
if [ "${HD_LOAD_FROM_ENV:-0}" != 1 ]; then
  [ -f "$root/.run/env" ] || { echo "load-tickets: no .run/env: start the stack with make run" >&2; exit 1; }
  # shellcheck disable=SC1091
  . "$root/.run/env"
fi
db=${HELPDESK_TICKETS_DB_NAME:-helpdesk_tickets}
sql() { mariadb --socket="$HELPDESK_DB_SOCKET" -u "${HELPDESK_DB_USER:-root}" "$db" -N -e "$1"; }

batch=100000
base_us=1700000000000000 # 2023-11-14T22:13:20Z; ticket id i was created at base + i seconds
first=$(( $(sql "SELECT COALESCE(MAX(id), 0) FROM tickets") + 1 ))
done_rows=0
t0=$(date +%s.%N)
while [ "$done_rows" -lt "$n" ]; do
  size=$(( n - done_rows < batch ? n - done_rows : batch ))
  sql "INSERT INTO tickets (id, tenant, customer_id, subject, title, description, product, brand,
         service_type, issue_type, status, owner_id, department, follower_count, created_at_us,
         updated_at_us)
       SELECT $first - 1 + s.seq, '$tenant', CONCAT('cust-', s.seq % 50000), 'Loaded ticket', 'Loaded ticket',
         'A ticket loaded for the scale benchmark.', 'Web Hosting', 'Bench', 'SHARED', 'TECHNICAL',
         IF(s.seq % 10 <> 0 AND s.seq % 7 = 0, 'PENDING_RESPONSE',
            ELT(1 + s.seq % 6, 'PENDING_RESPONSE', 'PROCESSING', 'PENDING_FEEDBACK', 'FEEDBACK',
                'TO_BE_CONFIRMED', 'CLOSED')),
         IF(s.seq % 10 = 0, 'bench-owner', IF(s.seq % 7 = 0, NULL, CONCAT('agent-', s.seq % 200))),
         'support', IF(s.seq % 100 = 0, 1, 0),
         $base_us + ($first - 1 + s.seq) * 1000000, $base_us + ($first - 1 + s.seq) * 1000000
       FROM seq_$((done_rows + 1))_to_$((done_rows + size)) s"
  sql "INSERT INTO follows (ticket_id, agent_id, tenant, created_at_us, ticket_created_at_us)
       SELECT $first - 1 + s.seq, 'bench-agent', '$tenant', $base_us + ($first - 1 + s.seq) * 1000000,
         $base_us + ($first - 1 + s.seq) * 1000000
       FROM seq_$((done_rows + 1))_to_$((done_rows + size)) s WHERE s.seq % 100 = 0"
  done_rows=$(( done_rows + size ))
done
t1=$(date +%s.%N)
total=$(sql "SELECT COUNT(*) FROM tickets WHERE tenant = '$tenant'")
awk -v n="$n" -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" -v t="$tenant" \
  -v total="$total" 'BEGIN { printf "load-tickets: %d tickets loaded in %.1f s; tenant %s now has %d\n", n, s, t, total }'
