#!/usr/bin/env bash
# make stop: stops what make run started: SIGTERM to the four services (each drains its in-flight
# calls and exits; waited for), then MariaDB and Redis. Their data stay in .run/ for the next run.
# Safe to run when nothing runs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run="$root/.run"
rc=0
if [ -d "$run" ]; then
  "$root/scripts/services.sh" stop "$run" || rc=1
  "$root/scripts/servers.sh" stop "$run/data" || rc=1
  echo "MariaDB and Redis stopped (data kept in .run/data)"
else
  echo "nothing to stop (no .run/)"
fi
exit "$rc"
