#!/usr/bin/env bash
# Loads N tickets for the benchmark tenant straight into the ticket service's database, fast
# (INSERT ... SELECT from MariaDB's SEQUENCE engine in batches; about 15 s per million here):
#   bench/load-tickets.sh 1000000 [TENANT]
# Against the stack `make run` started (.run/env); the service must have run once (migrations).
# Rows look like real ones: six statuses in turn, 200 owners plus "bench-owner" on every tenth,
# 50,000 customers, creation times one second apart ending now. No history or outbox rows: this
# is a read-scale fixture, not a replay.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:?usage: load-tickets.sh N [TENANT]}
tenant=${2:-bench}
[ -f "$root/.run/env" ] || { echo "load-tickets: no .run/env: start the stack with make run" >&2; exit 1; }
# shellcheck disable=SC1091
. "$root/.run/env"
db=${HELPDESK_TICKETS_DB_NAME:-helpdesk_tickets}
sql() { mariadb --socket="$HELPDESK_DB_SOCKET" -u "${HELPDESK_DB_USER:-root}" "$db" -N -e "$1"; }

batch=100000
now_us=$(( $(date +%s) * 1000000 ))
start_us=$(( now_us - n * 1000000 ))
done_rows=0
t0=$(date +%s.%N)
while [ "$done_rows" -lt "$n" ]; do
  size=$(( n - done_rows < batch ? n - done_rows : batch ))
  sql "INSERT INTO tickets (tenant, customer_id, subject, title, description, product, brand,
         service_type, issue_type, status, owner_id, department, created_at_us, updated_at_us)
       SELECT '$tenant', CONCAT('cust-', s.seq % 50000), 'Loaded ticket', 'Loaded ticket',
         'A ticket loaded for the scale benchmark.', 'Web Hosting', 'Bench', 'SHARED', 'TECHNICAL',
         ELT(1 + s.seq % 6, 'PENDING_RESPONSE', 'PROCESSING', 'PENDING_FEEDBACK', 'FEEDBACK',
             'TO_BE_CONFIRMED', 'CLOSED'),
         IF(s.seq % 10 = 0, 'bench-owner', CONCAT('agent-', s.seq % 200)), 'support',
         $start_us + s.seq * 1000000, $start_us + s.seq * 1000000
       FROM seq_$((done_rows + 1))_to_$((done_rows + size)) s"
  done_rows=$(( done_rows + size ))
done
t1=$(date +%s.%N)
total=$(sql "SELECT COUNT(*) FROM tickets WHERE tenant = '$tenant'")
awk -v n="$n" -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" -v t="$tenant" \
  -v total="$total" 'BEGIN { printf "load-tickets: %d tickets loaded in %.1f s; tenant %s now has %d\n", n, s, t, total }'
