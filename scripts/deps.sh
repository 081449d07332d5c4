#!/usr/bin/env bash
# Installs the Debian 12 packages Helpdesk needs to build, test and run, and only those missing:
# when everything is installed it changes nothing and touches no network. Non-interactive.
# Works as root, or through sudo. It never starts system services: while it installs, a
# policy-rc.d denies service starts (mariadb-server's and redis-server's postinst try); the
# project runs its own MariaDB and Redis on other ports with data in the checkout anyway.
set -euo pipefail

# What make test needs is all here (scripts/fresh-debian.sh proves it on a minimal Debian 12).
packages=(
  build-essential cmake pkg-config git
  libgrpc-dev protobuf-c-compiler libprotobuf-c-dev libprotobuf-dev
  libhiredis-dev libmariadb-dev libssl-dev libcmocka-dev libjansson-dev
  mariadb-server mariadb-client redis-server redis-tools
  protobuf-compiler protobuf-compiler-grpc python3 python3-grpcio python3-protobuf
  valgrind clang-format clang libclang-rt-14-dev tzdata
  # the TLS tests make their certificates with the openssl command
  openssl ca-certificates
  # scripts/validate-deploy.sh (with node and npm below)
  docker-compose yamllint
  # make test-cluster: a three-node Galera cluster (rsync SST) and Redis Sentinel on loopback
  galera-4 rsync redis-sentinel
)
# Commands any package may provide (a Node.js from elsewhere brings its own npm, and conflicts
# with Debian's npm): COMMAND:PACKAGE, the Debian package installed when the command is missing.
# No kubectl: Debian 12's (kubernetes-client 1.20) cannot render our kustomizations, and
# validate-deploy.sh checks the manifests without one.
commands=(node:nodejs npm:npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
for c in "${commands[@]}"; do
  command -v "${c%%:*}" >/dev/null 2>&1 || missing+=("${c#*:}")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "deps.sh: missing packages: ${missing[*]}" >&2
  echo "deps.sh: not root and no sudo: install them as root (apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
policy=/usr/sbin/policy-rc.d
ours=0
if [ ! -e "$policy" ]; then
  # Exit status 101 = "action forbidden": invoke-rc.d and deb-systemd-invoke start nothing.
  printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod 0755 "$policy"
  ours=1
fi
cleanup() { if [ "$ours" = 1 ]; then "${as_root[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

apt_env=(env DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true)
"${as_root[@]}" "${apt_env[@]}" apt-get update -q
"${as_root[@]}" "${apt_env[@]}" apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
echo "deps.sh: done" >&2
