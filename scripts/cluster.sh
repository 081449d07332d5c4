#!/usr/bin/env bash
# Starts or stops, in one folder on loopback, a three-node MariaDB Galera cluster and a Redis
# primary with a replica and three Sentinels (no systemd, no docker): what make test-cluster
# (scripts/test-cluster.sh) runs the services against.
#   scripts/cluster.sh start DIR       prints the env to use (export HELPDESK_DB_NODES, ...)
#   scripts/cluster.sh stop DIR
#   scripts/cluster.sh galera-start DIR N | galera-kill DIR N    one node (fault tests)
#   scripts/cluster.sh redis-kill DIR NAME                         primary|replica (fault tests)
# Every port is a free one picked at start and kept in DIR/ports. Galera: node 1 bootstraps the
# cluster (--wsrep-new-cluster), nodes 2 and 3 join it by state transfer (rsync SST; IST after a
# restart), each with its own gcomm, IST and SST ports on 127.0.0.1. Redis: the Sentinels
# watch the primary under the name "helpdesk" (quorum 2, down after 1 s).
set -euo pipefail

usage="usage: cluster.sh start|stop DIR | galera-start|galera-kill DIR N | redis-kill DIR NAME"
cmd=${1:?$usage}
dir=${2:?$usage}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
me=$(id -un)
# As root, the servers run as mysql: the rsync daemon of a state transfer started by root would
# write as nobody, and fail.
if [ "$(id -u)" = 0 ] && id mysql >/dev/null 2>&1; then me=mysql; fi
provider=/usr/lib/galera/libgalera_smm.so
master=helpdesk

free_port() {
  /usr/bin/python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# The ports file: NAME=PORT lines, written once.
ports() {
  [ -f "$dir/ports" ] && return 0
  local name
  for name in DB1 DB2 DB3 G1 G2 G3 IST1 IST2 IST3 SST1 SST2 SST3 R1 R2 S1 S2 S3; do
    echo "$name=$(free_port)"
  done >"$dir/ports"
}
port() { sed -n "s/^$1=//p" "$dir/ports"; }

alive_pid() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { cat "$1" 2>/dev/null || true; }

sql() { # sql N STATEMENT: runs it on node N, prints the rows (tab-separated, no header)
  mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$(port "DB$1")" -uroot -N -B -e "$2"
}

wsrep_status() { sql "$1" "SHOW STATUS LIKE '$2'" 2>/dev/null | cut -f2; }

# Writes node N's option file.
galera_cnf() {
  local n=$1 cluster="gcomm://127.0.0.1:$(port G1),127.0.0.1:$(port G2),127.0.0.1:$(port G3)"
  cat >"$dir/node$n.cnf" <<CNF
[mariadbd]
user=$me
datadir=$dir/node$n
socket=$dir/node$n.sock
port=$(port "DB$n")
bind-address=127.0.0.1
pid-file=$dir/node$n.pid
log-error=$dir/node$n.log
skip-name-resolve
max-connections=500
innodb-buffer-pool-size=128M
innodb-log-file-size=64M
innodb-flush-log-at-trx-commit=2
binlog-format=ROW
default-storage-engine=InnoDB
innodb-autoinc-lock-mode=2
wsrep-on=ON
wsrep-provider=$provider
wsrep-cluster-name=helpdesk-test
wsrep-cluster-address=$cluster
wsrep-node-name=node$n
wsrep-node-address=127.0.0.1:$(port "G$n")
wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:$(port "G$n");ist.recv_addr=127.0.0.1:$(port "IST$n");gcache.size=128M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S
wsrep-sst-method=rsync
wsrep-sst-receive-address=127.0.0.1:$(port "SST$n")
wsrep-slave-threads=2
# Reads see every write the cluster committed before them, on any node (a service that moved to
# another node after a failover reads its own writes).
wsrep-sync-wait=1
CNF
}

# Starts node N (bootstrap: the first node of a new cluster) and waits until it is Synced.
galera_start() {
  local n=$1 bootstrap=${2:-} pid i state
  alive_pid "$(pid_of "$dir/node$n.pid")" && return 0
  galera_cnf "$n"
  if [ ! -d "$dir/node$n/mysql" ]; then
    rm -rf "$dir/node$n"
    mkdir -p "$dir/node$n"
    [ "$me" = "$(id -un)" ] || chown "$me" "$dir" "$dir/node$n"
    if [ "$n" = 1 ]; then
      mariadb-install-db --no-defaults --datadir="$dir/node$n" --user="$me" \
        --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve --force \
        >"$dir/node$n-install.log" 2>&1 || {
        echo "cluster.sh: mariadb-install-db failed; see $dir/node$n-install.log" >&2
        return 1
      }
    fi
  fi
  rm -f "$dir/node$n.sock"
  mariadbd --defaults-file="$dir/node$n.cnf" ${bootstrap:+--wsrep-new-cluster} \
    </dev/null >>"$dir/node$n.out" 2>&1 &
  pid=$!
  for i in $(seq 1 1200); do
    state=$(wsrep_status "$n" wsrep_local_state_comment || true)
    [ "$state" = Synced ] && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "cluster.sh: node $n exited at start; last lines of $dir/node$n.log:" >&2
      tail -n 20 "$dir/node$n.log" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  echo "cluster.sh: node $n not Synced within 120 s; last lines of $dir/node$n.log:" >&2
  tail -n 20 "$dir/node$n.log" >&2 || true
  return 1
}

# SIGKILL of node N (a crash: no clean leave), then waits until it is gone.
galera_kill() {
  local pid
  pid=$(pid_of "$dir/node$1.pid")
  alive_pid "$pid" || return 0
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

redis_start() {
  local name=$1 p
  p=$(port "$2")
  alive_pid "$(pid_of "$dir/redis-$name.pid")" && return 0
  redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$dir/redis-$name.pid" --logfile "$dir/redis-$name.log" --dir "$dir" \
    ${3:+--replicaof 127.0.0.1 "$(port R1)"} </dev/null >/dev/null
}

sentinel_start() {
  local i=$1 p conf
  p=$(port "S$i")
  conf="$dir/sentinel$i.conf"
  alive_pid "$(pid_of "$dir/sentinel$i.pid")" && return 0
  cat >"$conf" <<CONF
port $p
bind 127.0.0.1
daemonize yes
pidfile $dir/sentinel$i.pid
logfile $dir/sentinel$i.log
dir $dir
sentinel monitor $master 127.0.0.1 $(port R1) 2
sentinel down-after-milliseconds $master 1000
sentinel failover-timeout $master 10000
sentinel parallel-syncs $master 1
CONF
  redis-sentinel "$conf" </dev/null >/dev/null
}

start() {
  ports
  galera_start 1 bootstrap
  galera_start 2
  galera_start 3
  redis_start primary R1
  redis_start replica R2 replica
  local i
  for i in 1 2 3; do sentinel_start "$i"; done
  for i in $(seq 1 300); do
    [ "$(redis-cli -p "$(port R2)" info replication 2>/dev/null | tr -d '\r' |
      sed -n 's/^master_link_status://p')" = up ] &&
      [ "$(redis-cli -p "$(port S1)" sentinel master "$master" 2>/dev/null |
        sed -n '/^num-other-sentinels$/{n;p}')" = 2 ] && break
    sleep 0.1
  done
  cat <<ENV
export HELPDESK_DB_NODES=127.0.0.1:$(port DB1),127.0.0.1:$(port DB2),127.0.0.1:$(port DB3)
export HELPDESK_DB_HOST=127.0.0.1
export HELPDESK_DB_PORT=$(port DB1)
export HELPDESK_DB_USER=root
export HELPDESK_REDIS_SENTINELS=127.0.0.1:$(port S1),127.0.0.1:$(port S2),127.0.0.1:$(port S3)
export HELPDESK_REDIS_MASTER_NAME=$master
export HELPDESK_REDIS_HOST=127.0.0.1
export HELPDESK_REDIS_PORT=$(port R1)
ENV
}

stop_pidfile() {
  local pid
  pid=$(pid_of "$1")
  alive_pid "$pid" || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

stop() {
  local f
  for f in "$dir"/sentinel?.pid "$dir"/redis-*.pid "$dir"/node?.pid; do
    [ -f "$f" ] && stop_pidfile "$f"
  done
  return 0
}

case "$cmd" in
  start)
    trap 'st=$?; [ "$st" -eq 0 ] || echo false; exit "$st"' EXIT
    start
    ;;
  stop) stop ;;
  galera-start) galera_start "${3:?$usage}" ;;
  galera-kill) galera_kill "${3:?$usage}" ;;
  redis-kill) kill -9 "$(pid_of "$dir/redis-${3:?$usage}.pid")" ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
