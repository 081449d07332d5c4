#!/usr/bin/env bash
# The store links over TLS, end to end: starts a TLS-only MariaDB and Redis (scripts/servers.sh
# with HELPDESK_SERVERS_TLS=1) in a private folder, runs test_store_tls (TLS proven by the
# servers: the cipher, the plain port off; plaintext, a foreign CA and a missing client
# certificate refused) and kit integration tests whose every connection then goes over TLS,
# and stops the servers again, also on failure.
#   scripts/store-tls-check.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: store-tls-check.sh BUILD_DIR}
dir=$(mktemp -d "${TMPDIR:-/tmp}/hd-store-tls.XXXXXX")
cleanup() {
  "$root/scripts/servers.sh" stop "$dir/servers" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
# Whatever the caller's servers are, these tests use only the TLS ones.
unset HELPDESK_DB_SOCKET HELPDESK_DB_PASSWORD HELPDESK_REDIS_PASSWORD HELPDESK_REDIS_USER
env_out=$(HELPDESK_SERVERS_TLS=1 "$root/scripts/servers.sh" start "$dir/servers")
eval "$env_out"
# A CA that signed neither server: its certificates must be refused.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=another CA" \
  -keyout "$dir/other-ca.key" -out "$dir/other-ca.pem" >/dev/null 2>&1
export HELPDESK_TLS_OTHER_CA=$dir/other-ca.pem
status=0
for t in test_store_tls test_kv_auth test_kv_lease test_kv_queue test_kv_stream test_ticket_store \
  test_tickets_create_read; do
  echo "== $t over TLS"
  if ! "$build/tests/$t"; then
    echo "store-tls-check: $t failed over TLS"
    status=1
  fi
done
exit "$status"
