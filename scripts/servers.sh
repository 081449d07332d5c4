#!/usr/bin/env bash
# Starts or stops a local MariaDB and Redis whose data live in one folder (no systemd, no docker).
#   scripts/servers.sh start DIR [DB_PORT REDIS_PORT]   prints the env to use (export HELPDESK_DB_*, ...)
#   scripts/servers.sh stop DIR
# Use: eval "$(scripts/servers.sh start DIR)". When a server does not start, start prints why on
# stderr (the tail of that server's log) and `false` on stdout, so that the eval fails too (and a
# script under set -e stops there), and exits 1.
# Ports default to free ones picked at random. Start is a no-op for a server of DIR that already
# runs (it keeps the port it was started on); stop is a no-op when nothing of DIR runs.
# Both servers speak only on 127.0.0.1 and a socket in DIR; a system MariaDB (3306) or Redis
# (6379) is neither used nor disturbed: every client call here passes --no-defaults. No name is
# ever resolved: the host's name need not be in /etc/hosts (on a minimal Debian it is not).
# Redis refuses connections without a login: its default user is off, and an ACL user
# (HELPDESK_REDIS_USER, "helpdesk") with a password made at the first start of DIR (kept in
# DIR/redis-password) is what the printed env names: HELPDESK_REDIS_PASSWORD when that is set
# (servers a test starts for services that already have the suite's login), else generated.
# HELPDESK_SERVERS_TLS=1: TLS-only servers instead. Certificates (a CA, a server certificate for
# 127.0.0.1 and a client certificate) are generated with openssl into DIR/tls; MariaDB requires
# secure transport and a user helpdesk@127.0.0.1 with a generated password and REQUIRE X509;
# Redis listens on a tls-port only (port 0) with tls-auth-clients yes. The env names the
# certificates (HELPDESK_DB_TLS_*, HELPDESK_REDIS_TLS_*) and no socket (TLS is over TCP).
set -euo pipefail

usage="usage: servers.sh start|stop DIR [DB_PORT REDIS_PORT]"
cmd=${1:?$usage}
dir=${2:?$usage}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
me=$(id -un)
tls=${HELPDESK_SERVERS_TLS:-0}
redis_user=helpdesk

free_port() {
  /usr/bin/python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# True when the pid in file $1 is a live process whose command line contains $2.
alive() {
  local pid cmdline
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$2"* ]]
}

db_ping() { mariadb-admin --no-defaults --socket="$dir/mariadb.sock" -uroot ping >/dev/null 2>&1; }
redis_cli() {
  local port=$1
  shift
  local args=(-h 127.0.0.1 -p "$port" --user "$redis_user")
  [ "$tls" != 1 ] || args+=(--tls --cacert "$dir/tls/ca.pem" --cert "$dir/tls/client.pem"
    --key "$dir/tls/client.key")
  REDISCLI_AUTH=$(cat "$dir/redis-password") redis-cli "${args[@]}" "$@"
}
redis_ping() { [ "$(redis_cli "$1" ping 2>/dev/null)" = "PONG" ]; }

# A secret of 48 hex digits in file $1 (mode 600), made once per DIR.
secret() {
  [ -s "$1" ] || (umask 077 && openssl rand -hex 24 >"$1")
}

# DIR/tls: a CA and, signed by it, a server certificate for 127.0.0.1 / localhost and a client
# certificate (CN helpdesk), made once per DIR.
make_certs() {
  local t="$dir/tls"
  [ -s "$t/client.pem" ] && return 0
  mkdir -p "$t"
  (
    cd "$t"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=helpdesk test CA" \
      -keyout ca.key -out ca.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=helpdesk" -keyout client.key -out client.csr
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile client.ext -out client.pem
  ) >"$dir/tls.log" 2>&1 || {
    echo "servers.sh: openssl could not make the test certificates; see $dir/tls.log" >&2
    return 1
  }
}

start() {
  local db_port=${1:-} redis_port=${2:-} old_db='' old_redis=''
  if [ -f "$dir/ports" ]; then
    old_db=$(sed -n 's/^DB_PORT=//p' "$dir/ports")
    old_redis=$(sed -n 's/^REDIS_PORT=//p' "$dir/ports")
  fi
  # A server that already runs keeps its port; one that does not takes the asked or a free one.
  local db_running=0 redis_running=0
  if alive "$dir/mariadb.pid" mariadbd; then db_running=1; fi
  if alive "$dir/redis.pid" redis-server; then redis_running=1; fi
  if [ "$db_running" = 1 ] && [ -n "$old_db" ]; then
    [ -z "$db_port" ] || [ "$db_port" = "$old_db" ] ||
      echo "servers.sh: MariaDB of $dir already runs on port $old_db (not $db_port); keeping it" >&2
    db_port=$old_db
  fi
  if [ "$redis_running" = 1 ] && [ -n "$old_redis" ]; then
    [ -z "$redis_port" ] || [ "$redis_port" = "$old_redis" ] ||
      echo "servers.sh: Redis of $dir already runs on port $old_redis (not $redis_port); keeping it" >&2
    redis_port=$old_redis
  fi
  db_port=${db_port:-${old_db:-$(free_port)}}
  redis_port=${redis_port:-${old_redis:-$(free_port)}}
  printf 'DB_PORT=%s\nREDIS_PORT=%s\n' "$db_port" "$redis_port" >"$dir/ports"
  if [ -n "${HELPDESK_REDIS_PASSWORD:-}" ] && [ ! -s "$dir/redis-password" ]; then
    (umask 077 && printf '%s\n' "$HELPDESK_REDIS_PASSWORD" >"$dir/redis-password")
  fi
  secret "$dir/redis-password"
  local db_tls=() redis_net=(--port "$redis_port")
  if [ "$tls" = 1 ]; then
    make_certs
    secret "$dir/db-password"
    db_tls=(--ssl-ca="$dir/tls/ca.pem" --ssl-cert="$dir/tls/server.pem"
      --ssl-key="$dir/tls/server.key" --require-secure-transport=ON)
    redis_net=(--port 0 --tls-port "$redis_port" --tls-cert-file "$dir/tls/server.pem"
      --tls-key-file "$dir/tls/server.key" --tls-ca-cert-file "$dir/tls/ca.pem"
      --tls-auth-clients yes)
  fi

  local db_pid=''
  if [ "$db_running" = 0 ]; then
    if [ ! -d "$dir/mariadb/mysql" ]; then
      rm -rf "$dir/mariadb"
      mkdir -p "$dir/mariadb"
      # --force skips its check that `uname -n` (or else localhost) resolves, which fails where
      # /etc/hosts names neither; with --skip-name-resolve the grants name IP addresses.
      if ! mariadb-install-db --no-defaults --datadir="$dir/mariadb" --user="$me" \
        --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve --force \
        >"$dir/mariadb-install.log" 2>&1; then
        echo "servers.sh: mariadb-install-db failed; see $dir/mariadb-install.log" >&2
        grep -v "^$" "$dir/mariadb-install.log" | head -n 20 >&2
        return 1
      fi
    fi
    rm -f "$dir/mariadb.sock"
    mariadbd --no-defaults --user="$me" --datadir="$dir/mariadb" --socket="$dir/mariadb.sock" \
      --port="$db_port" --bind-address=127.0.0.1 --pid-file="$dir/mariadb.pid" \
      --log-error="$dir/mariadb.log" --skip-name-resolve --max-connections=500 \
      --innodb-buffer-pool-size=512M --innodb-log-file-size=256M "${db_tls[@]}" \
      </dev/null >/dev/null 2>&1 &
    db_pid=$!
  fi
  if [ "$redis_running" = 0 ]; then
    rm -f "$dir/redis.pid"
    # The password reaches redis-server on its standard input (a config file read from "-"), not
    # on its command line, where ps would show it.
    if ! printf 'user default off\nuser %s on >%s ~* &* +@all\n' "$redis_user" \
      "$(cat "$dir/redis-password")" |
      redis-server - "${redis_net[@]}" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" \
        >/dev/null; then
      echo "servers.sh: redis-server did not start; last lines of $dir/redis.log:" >&2
      tail -n 15 "$dir/redis.log" >&2 || true
      return 1
    fi
  fi
  local i
  for i in $(seq 1 300); do
    if db_ping && redis_ping "$redis_port"; then
      if [ "$tls" = 1 ]; then
        tls_user
        cat <<ENV
export HELPDESK_DB_HOST=127.0.0.1
export HELPDESK_DB_PORT=$db_port
export HELPDESK_DB_SOCKET=
export HELPDESK_DB_USER=helpdesk
export HELPDESK_DB_PASSWORD=$(cat "$dir/db-password")
export HELPDESK_DB_TLS_CA=$dir/tls/ca.pem
export HELPDESK_DB_TLS_CERT=$dir/tls/client.pem
export HELPDESK_DB_TLS_KEY=$dir/tls/client.key
export HELPDESK_REDIS_TLS_CA=$dir/tls/ca.pem
export HELPDESK_REDIS_TLS_CERT=$dir/tls/client.pem
export HELPDESK_REDIS_TLS_KEY=$dir/tls/client.key
ENV
      else
        cat <<ENV
export HELPDESK_DB_HOST=127.0.0.1
export HELPDESK_DB_PORT=$db_port
export HELPDESK_DB_SOCKET=$dir/mariadb.sock
export HELPDESK_DB_USER=root
ENV
      fi
      cat <<ENV
export HELPDESK_REDIS_HOST=127.0.0.1
export HELPDESK_REDIS_PORT=$redis_port
export HELPDESK_REDIS_USER=$redis_user
export HELPDESK_REDIS_PASSWORD=$(cat "$dir/redis-password")
ENV
      return 0
    fi
    if [ -n "$db_pid" ] && ! kill -0 "$db_pid" 2>/dev/null; then
      echo "servers.sh: mariadbd exited at start (port $db_port taken?); last lines of $dir/mariadb.log:" >&2
      tail -n 15 "$dir/mariadb.log" >&2 || true
      return 1
    fi
    # Daemonized, Redis writes its pid file once it listens, and exits when it cannot.
    if [ "$redis_running" = 0 ] && [ "$i" -ge 100 ] && ! alive "$dir/redis.pid" redis-server; then
      echo "servers.sh: redis-server exited at start (port $redis_port taken?); last lines of $dir/redis.log:" >&2
      tail -n 15 "$dir/redis.log" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  echo "servers.sh: MariaDB or Redis did not answer within 30 s; last lines of their logs:" >&2
  tail -n 10 "$dir/mariadb.log" "$dir/redis.log" >&2 || true
  return 1
}

# The TLS servers' database user: helpdesk@127.0.0.1, over TCP with a client certificate only.
tls_user() {
  mariadb --no-defaults --socket="$dir/mariadb.sock" -uroot -e "
    CREATE USER IF NOT EXISTS 'helpdesk'@'127.0.0.1' IDENTIFIED BY '$(cat "$dir/db-password")'
      REQUIRE X509;
    GRANT ALL PRIVILEGES ON *.* TO 'helpdesk'@'127.0.0.1' WITH GRANT OPTION;"
}

# Sends SIGTERM to the process in pid file $1 (if it is $2) and waits up to 30 s for it to exit.
stop_one() {
  local pid
  alive "$1" "$2" || { rm -f "$1"; return 0; }
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
    sleep 0.1
  done
  echo "servers.sh: $2 (pid $pid) did not exit within 30 s of SIGTERM; killing it" >&2
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$1"
}

stop() {
  stop_one "$dir/redis.pid" redis-server
  stop_one "$dir/mariadb.pid" mariadbd
}

case "$cmd" in
  start)
    # Any failure (a return 1 or a command set -e stopped at) ends the output with `false`.
    trap 'st=$?; [ "$st" -eq 0 ] || echo false; exit "$st"' EXIT
    start "${3:-}" "${4:-}"
    ;;
  stop) stop ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
