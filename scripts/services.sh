#!/usr/bin/env bash
# Starts or stops the four Helpdesk services as background processes (MariaDB and Redis are
# scripts/servers.sh's job). Used by scripts/run.sh (make run) and scripts/test.sh (make test).
#   scripts/services.sh start DIR BUILD_DIR   start each service, wait until each answers SERVING
#   scripts/services.sh stop DIR              SIGTERM each service and wait for it to exit
# Each service reads its configuration from the environment (HELPDESK_DB_*, HELPDESK_REDIS_*,
# HELPDESK_AUTH_*, ...); HELPDESK_<SVC>_ADDR defaults here to 127.0.0.1 and the service's port,
# HELPDESK_TICKETS_TARGET to the ticket service's address (HELPDESK_ROUTING_TARGET and
# HELPDESK_ACCOUNTS_TARGET likewise).
# HELPDESK_TICKETS_TARGET to the ticket service's address. The services run in development mode
# (HELPDESK_DEV_MODE=1, the built-in token secret allowed) unless HELPDESK_DEV_MODE=0 is set.
# In DIR: logs/<svc>.log (appended), pids/<svc>.pid, pids/<svc>.exit (exit status once it ended).
# Start restarts a service of DIR that already runs (the binary may have been rebuilt).
# HELPDESK_START_TIMEOUT (seconds, default 60) bounds the wait for SERVING.
set -euo pipefail

usage="usage: services.sh start DIR BUILD_DIR | stop DIR"
cmd=${1:?$usage}
dir=${2:?$usage}
mkdir -p "$dir/logs" "$dir/pids"
dir=$(cd "$dir" && pwd)

names=(tickets routing accounts kpi)
declare -A port=([tickets]=50051 [routing]=50052 [accounts]=50053 [kpi]=50054)

# True when pids/<svc>.pid names a live helpdesk-<svc> process.
alive() {
  local f="$dir/pids/$1.pid" pid cmdline
  [ -f "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"helpdesk-$1"* ]]
}

# The address a service listens on: HELPDESK_<SVC>_ADDR, or 127.0.0.1 and its default port.
addr_of() {
  local var="HELPDESK_${1^^}_ADDR"
  printf '%s' "${!var:-127.0.0.1:${port[$1]}}"
}

# The address to call it on: a wildcard host is reached on loopback.
call_addr() {
  local a host
  a=$(addr_of "$1")
  host=${a%:*}
  case "$host" in '' | 0.0.0.0 | '[::]') host=127.0.0.1 ;; esac
  printf '%s:%s' "$host" "${a##*:}"
}

# How long to wait for a service to exit after SIGTERM, in tenths of a second: its grace period
# (HELPDESK_SHUTDOWN_GRACE as whole seconds "Ns", 10 s by default) plus 5 s.
stop_limit() {
  local g=${HELPDESK_SHUTDOWN_GRACE:-10s}
  if [[ $g =~ ^([0-9]+)s?$ ]]; then echo $(( (10#${BASH_REMATCH[1]} + 5) * 10 )); else echo 150; fi
}

# Waits for a service sent SIGTERM to exit, SIGKILL after stop_limit. Prints how it ended;
# 1 when it did not exit 0 by itself.
wait_stopped() {
  local svc=$1 pid=$2 i limit code
  limit=$(stop_limit)
  for ((i = 0; i < limit; i++)); do
    # The supervising shell writes the exit status right after the process ends.
    if [ -s "$dir/pids/$svc.exit" ] || ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "helpdesk-$svc (pid $pid) still runs $((limit / 10)) s after SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/pids/$svc.pid"
    return 1
  fi
  for ((i = 0; i < 40; i++)); do [ -s "$dir/pids/$svc.exit" ] && break; sleep 0.05; done
  code=$(cat "$dir/pids/$svc.exit" 2>/dev/null || echo unknown)
  rm -f "$dir/pids/$svc.pid"
  echo "helpdesk-$svc stopped (exit $code)"
  [ "$code" = 0 ]
}

# SIGTERM the named services that run, then wait for each; 1 when one did not exit 0 by itself.
stop_some() {
  local svc rc=0
  declare -A pids=()
  for svc in "$@"; do
    if alive "$svc"; then
      pids[$svc]=$(cat "$dir/pids/$svc.pid")
      kill -TERM "${pids[$svc]}" 2>/dev/null || true
    else
      rm -f "$dir/pids/$svc.pid"
    fi
  done
  for svc in "$@"; do
    [ -n "${pids[$svc]:-}" ] || continue
    wait_stopped "$svc" "${pids[$svc]}" || rc=1
  done
  return "$rc"
}

start() {
  local build=$1 svc bin health rc=0 deadline
  build=$(cd "$build" && pwd)
  health="$build/tools/hd-health"
  for svc in "${names[@]}"; do
    bin="$build/services/helpdesk-$svc"
    [ -x "$bin" ] || { echo "services.sh: $bin is missing: build first (make build)" >&2; return 1; }
  done
  [ -x "$health" ] || { echo "services.sh: $health is missing: build first (make build)" >&2; return 1; }

  for svc in "${names[@]}"; do
    if alive "$svc"; then
      echo "helpdesk-$svc already runs: restarting it"
      stop_some "$svc" || true
    fi
    rm -f "$dir/pids/$svc.exit"
    printf '%s starting helpdesk-%s on %s\n' "$(date -u +%FT%TZ)" "$svc" "$(addr_of "$svc")" \
      >>"$dir/logs/$svc.log"
    # A small supervising shell in its own session (so that closing the terminal does not take
    # the service down) records the pid and, once the service ends, its exit status. Job control
    # (set -m while starting it) keeps SIGINT deliverable to the service.
    # Each service reaches the others where this script starts them (HELPDESK_<PEER>_TARGET,
    # unless set): routing calls tickets, accounts calls routing, kpi calls tickets and routing,
    # tickets calls accounts (VerifyTicketAccount).
    env "HELPDESK_${svc^^}_ADDR=$(addr_of "$svc")" \
      "HELPDESK_TICKETS_TARGET=${HELPDESK_TICKETS_TARGET:-$(call_addr tickets)}" \
      "HELPDESK_ROUTING_TARGET=${HELPDESK_ROUTING_TARGET:-$(call_addr routing)}" \
      "HELPDESK_ACCOUNTS_TARGET=${HELPDESK_ACCOUNTS_TARGET:-$(call_addr accounts)}" \
      "HELPDESK_DEV_MODE=${HELPDESK_DEV_MODE:-1}" \
      setsid bash -c \
      'set -m; "$1" & echo $! >"$2.pid"; set +m; wait $! && c=0 || c=$?; echo "$c" >"$2.exit"' \
      hd-supervise "$build/services/helpdesk-$svc" "$dir/pids/$svc" \
      </dev/null >>"$dir/logs/$svc.log" 2>&1 &
  done

  deadline=$((SECONDS + ${HELPDESK_START_TIMEOUT:-60}))
  for svc in "${names[@]}"; do
    while :; do
      if [ -s "$dir/pids/$svc.exit" ]; then
        echo "helpdesk-$svc exited at start (status $(cat "$dir/pids/$svc.exit")); last lines of $dir/logs/$svc.log:" >&2
        tail -n 15 "$dir/logs/$svc.log" >&2
        rc=1
        break
      fi
      if [ -s "$dir/pids/$svc.pid" ] && "$health" --timeout 1s "$(call_addr "$svc")" >/dev/null 2>&1; then
        echo "helpdesk-$svc is SERVING on $(addr_of "$svc") (pid $(cat "$dir/pids/$svc.pid"))"
        break
      fi
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "helpdesk-$svc is not SERVING after ${HELPDESK_START_TIMEOUT:-60} s; last lines of $dir/logs/$svc.log:" >&2
        tail -n 15 "$dir/logs/$svc.log" >&2
        rc=1
        break
      fi
      sleep 0.2
    done
  done
  return "$rc"
}

stop() { stop_some "${names[@]}"; }

case "$cmd" in
  start) start "${3:?$usage}" ;;
  stop) stop ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
