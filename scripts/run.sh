#!/usr/bin/env bash
# make run: installs the missing Debian packages, builds, starts a local MariaDB and Redis with
# their data in .run/, starts the four services in the background and waits until each answers
# SERVING. Running it again leaves MariaDB and Redis running and restarts the services (so a
# rebuilt binary is picked up). make stop (scripts/stop.sh) stops everything.
# Ports: HELPDESK_RUN_DB_PORT (default 33061) and HELPDESK_RUN_REDIS_PORT (default 63791), chosen
# so as not to meet a system MariaDB (3306) or Redis (6379); the services take 50051..50054 on
# 127.0.0.1 unless HELPDESK_<SVC>_ADDR says otherwise.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
run="$root/.run"
build="$root/build"

"$root/scripts/deps.sh"
make --no-print-directory -C "$root" build

mkdir -p "$run"
if ! env_out=$("$root/scripts/servers.sh" start "$run/data" "${HELPDESK_RUN_DB_PORT:-33061}" \
  "${HELPDESK_RUN_REDIS_PORT:-63791}"); then
  echo "make run: MariaDB and Redis did not start (servers.sh says why above)" >&2
  exit 1
fi
eval "$env_out"
# A local run: the built-in development token secret is allowed (README, "Auth settings").
export HELPDESK_DEV_MODE=${HELPDESK_DEV_MODE:-1}
# For tools and tests run by hand against this MariaDB and Redis: `. .run/env`.
printf '%s\n' "$env_out" >"$run/env"

"$root/scripts/services.sh" start "$run" "$build"

addr() {
  local var="HELPDESK_${1^^}_ADDR"
  printf '%s' "${!var:-127.0.0.1:$2}"
}
cat <<EOF

Helpdesk runs:
  helpdesk-tickets   $(addr tickets 50051)   log .run/logs/tickets.log
  helpdesk-routing   $(addr routing 50052)   log .run/logs/routing.log
  helpdesk-accounts  $(addr accounts 50053)   log .run/logs/accounts.log
  helpdesk-kpi       $(addr kpi 50054)   log .run/logs/kpi.log
  (each serves Prometheus /metrics on its gRPC port + 1000)
  MariaDB            127.0.0.1:$HELPDESK_DB_PORT, socket $HELPDESK_DB_SOCKET (user root), data in .run/data
  Redis              127.0.0.1:$HELPDESK_REDIS_PORT
  their settings:    . .run/env

Mint a token (signed with the local development secret the services use by default):
  TOKEN=\$(build/tools/hd-token --tenant acme --user alice --roles agent)
Ask a service whether it serves:
  build/tools/hd-health $(addr tickets 50051) helpdesk.v1.TicketService
  tests/python/health_check.py          # all four, from Python's gRPC
Stop everything:
  make stop
EOF
