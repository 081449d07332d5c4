#!/usr/bin/env bash
# Starts or stops a local MariaDB and Redis whose data live in one folder (no systemd, no docker).
#   scripts/servers.sh start DIR [DB_PORT REDIS_PORT]   prints the env to use (HELPDESK_DB_*, ...)
#   scripts/servers.sh stop DIR
# Ports default to free ones picked at random; start is a no-op when DIR's servers already run.
set -euo pipefail

cmd=${1:?usage: servers.sh start|stop DIR [DB_PORT REDIS_PORT]}
dir=${2:?usage: servers.sh start|stop DIR [DB_PORT REDIS_PORT]}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

free_port() {
  /usr/bin/python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  local db_port=${3:-} redis_port=${4:-}
  if [ -f "$dir/ports" ]; then
    # shellcheck disable=SC1091
    . "$dir/ports"
  fi
  db_port=${db_port:-${DB_PORT:-$(free_port)}}
  redis_port=${redis_port:-${REDIS_PORT:-$(free_port)}}
  printf 'DB_PORT=%s\nREDIS_PORT=%s\n' "$db_port" "$redis_port" >"$dir/ports"

  if ! alive "$dir/mariadb.pid"; then
    if [ ! -d "$dir/mariadb/mysql" ]; then
      mkdir -p "$dir/mariadb"
      mariadb-install-db --no-defaults --datadir="$dir/mariadb" --user="$(id -un)" \
        --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
        >"$dir/mariadb-install.log" 2>&1
    fi
    mariadbd --no-defaults --user="$(id -un)" --datadir="$dir/mariadb" --socket="$dir/mariadb.sock" \
      --port="$db_port" --bind-address=127.0.0.1 --pid-file="$dir/mariadb.pid" \
      --log-error="$dir/mariadb.log" --skip-name-resolve --max-connections=500 \
      --innodb-buffer-pool-size=512M --innodb-log-file-size=256M >/dev/null 2>&1 &
  fi
  if ! alive "$dir/redis.pid"; then
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" >/dev/null
  fi
  for _ in $(seq 1 150); do
    if mariadb-admin --no-defaults --socket="$dir/mariadb.sock" -uroot ping >/dev/null 2>&1 &&
      redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
      cat <<ENV
export HELPDESK_DB_HOST=127.0.0.1
export HELPDESK_DB_PORT=$db_port
export HELPDESK_DB_SOCKET=$dir/mariadb.sock
export HELPDESK_DB_USER=root
export HELPDESK_REDIS_HOST=127.0.0.1
export HELPDESK_REDIS_PORT=$redis_port
ENV
      return 0
    fi
    sleep 0.1
  done
  echo "servers.sh: MariaDB or Redis did not come up; see $dir/mariadb.log and $dir/redis.log" >&2
  return 1
}

stop() {
  if alive "$dir/redis.pid"; then kill "$(cat "$dir/redis.pid")" 2>/dev/null || true; fi
  if alive "$dir/mariadb.pid"; then
    local pid
    pid=$(cat "$dir/mariadb.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$dir/redis.pid"
}

case "$cmd" in
  start) start "$@" ;;
  stop) stop ;;
  *) echo "usage: servers.sh start|stop DIR [DB_PORT REDIS_PORT]" >&2; exit 2 ;;
esac
