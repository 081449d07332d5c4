#!/usr/bin/env bash
# Runs the README's runnable examples (tests/python/readme_examples.py: every ```python runnable
# and ```sh runnable block, and a check of every link) on a stack of their own: the four services
# on free ports and fresh databases (readme_<svc>_<pid>), on the MariaDB and Redis of the
# environment (HELPDESK_DB_*, HELPDESK_REDIS_*: make test gives it a Redis of its own, emptied,
# since two routing services on one Redis take each other's ticket events). Stopped at the end,
# and the databases dropped, also on failure.
#   scripts/readme-examples.sh DIR BUILD_DIR    (DIR: the services' logs and pids)
set -euo pipefail

dir=${1:?usage: readme-examples.sh DIR BUILD_DIR}
build=${2:?usage: readme-examples.sh DIR BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
drop_databases() {
  command -v mariadb >/dev/null 2>&1 || return 0
  local args=(-u "${HELPDESK_DB_USER:-root}")
  if [ -n "${HELPDESK_DB_SOCKET:-}" ]; then args+=(--socket "$HELPDESK_DB_SOCKET")
  else args+=(-h "${HELPDESK_DB_HOST:-127.0.0.1}" -P "${HELPDESK_DB_PORT:-3306}"); fi
  for svc in tickets routing accounts kpi; do
    MYSQL_PWD=${HELPDESK_DB_PASSWORD:-} mariadb "${args[@]}" \
      -e "DROP DATABASE IF EXISTS readme_${svc}_$$" >/dev/null 2>&1 || true
  done
}
stop() {
  "$root/scripts/services.sh" stop "$dir" >/dev/null 2>&1 || true
  drop_databases
}
trap stop EXIT

for svc in tickets routing accounts kpi; do
  export "HELPDESK_${svc^^}_ADDR=127.0.0.1:$(free_port)" "HELPDESK_${svc^^}_DB_NAME=readme_${svc}_$$"
  unset "HELPDESK_${svc^^}_TARGET"
done
if ! HELPDESK_METRICS_ADDR=127.0.0.1:0 "$root/scripts/services.sh" start "$dir" "$build"; then
  for svc in tickets routing accounts kpi; do tail -n 20 "$dir/logs/$svc.log" 2>/dev/null || true; done
  echo "0 passed, 1 failed"
  exit 1
fi
/usr/bin/python3 "$root/tests/python/readme_examples.py" "$root/README.md"
