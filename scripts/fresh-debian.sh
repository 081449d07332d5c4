#!/usr/bin/env bash
# make test on a minimal Debian 12, to prove that scripts/deps.sh installs everything the suite
# needs. Builds a bookworm root with debootstrap --variant=minbase from the configured Debian
# mirror, clones the committed tree (HEAD of the repository it is run from; uncommitted changes
# are not in it) into it, and runs `CI=1 make test` there in a chroot, as .ci/run does on a bare
# machine. The root's /etc/hosts names localhost but not the host (MariaDB must not need it). Prints
# the last lines and exits with make test's status. Not part of CI: it takes minutes and the
# network to the Debian mirror (and to the npm registry, for scripts/validate-deploy.sh).
# Run as root (or it asks sudo); installs debootstrap on the host when it is missing.
#   HELPDESK_FRESH_CACHE=DIR   keep the debootstrap root as DIR/bookworm-minbase-ARCH.tar.gz
#                              and start from it next time (default: a fresh debootstrap)
#   HELPDESK_FRESH_MIRROR=URL  the Debian mirror (default: the host's bookworm source, else
#                              http://deb.debian.org/debian)
#   HELPDESK_FRESH_KEEP=1      keep the root and the log (default: removed at the end)
# The root lives in a new folder under ${TMPDIR:-/var/tmp}; the full log is make-test.log there.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
  exec sudo --preserve-env=HELPDESK_FRESH_CACHE,HELPDESK_FRESH_MIRROR,HELPDESK_FRESH_KEEP,TMPDIR \
    "$src/scripts/fresh-debian.sh" "$@"
fi
rev=$(git -C "$src" rev-parse HEAD)
started=$SECONDS

# The host's Debian source for suite $1 (the first URI whose Suites name it), in deb822 or
# one-line form; empty when there is none.
host_source() {
  local suite=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v s="$suite" '
      /^[ \t]*$/ { if (uri != "" && hit) { print uri; exit } uri = ""; hit = 0; next }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) hit = 1 }
      END { if (uri != "" && hit) print uri }' "$f" | head -n 1
  done | head -n 1
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n "s/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) $suite .*/\2/p" "$f"
  done | head -n 1
}
mirror=${HELPDESK_FRESH_MIRROR:-$(host_source bookworm | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}
security=$(host_source bookworm-security | head -n 1)
security=${security:-http://deb.debian.org/debian-security}

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "== installing debootstrap on the host"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap ||
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends debootstrap; }
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/hd-fresh.XXXXXX")
target="$work/root"
mounts=(proc sys dev/pts dev)
cleanup() {
  local status=$? m busy=0
  trap - EXIT INT TERM
  # Whatever still runs inside the root (a server a failed test left) is ended first.
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    if [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$target" ]; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for m in "${mounts[@]}"; do
    if mountpoint -q "$target/$m" 2>/dev/null; then
      umount "$target/$m" 2>/dev/null || umount -l "$target/$m" 2>/dev/null || true
    fi
  done
  for m in "${mounts[@]}"; do
    if mountpoint -q "$target/$m" 2>/dev/null; then
      echo "fresh-debian: $target/$m is still mounted; $work is left in place" >&2
      busy=1
    fi
  done
  if [ "$busy" = 0 ] && [ "${HELPDESK_FRESH_KEEP:-}" != 1 ]; then
    rm -rf --one-file-system "$work"
  else
    echo "fresh-debian: root and log kept in $work" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

arch=$(dpkg --print-architecture)
cache=${HELPDESK_FRESH_CACHE:+$HELPDESK_FRESH_CACHE/bookworm-minbase-$arch.tar.gz}
if [ -n "$cache" ] && [ -f "$cache" ]; then
  echo "== Debian 12 root from the cache $cache"
  mkdir -p "$target"
  tar -xzf "$cache" -C "$target"
else
  echo "== debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$target" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  if [ -n "$cache" ]; then
    mkdir -p "$HELPDESK_FRESH_CACHE"
    tar -czf "$cache.part" -C "$target" . && mv "$cache.part" "$cache"
    echo "saved the root as $cache"
  fi
fi

# A Debian 12 as an installer leaves it: the release, its updates and security, nothing else.
cat >"$target/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
# The host's network setup: its resolver, and the CA certificates it added locally (a machine
# behind a TLS-inspecting proxy needs them for npm; ca-certificates' postinst picks them up).
cp /etc/resolv.conf "$target/etc/resolv.conf"
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  mkdir -p "$target/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$target/usr/local/share/ca-certificates/"
fi
# /etc/hosts as Debian's installer writes it, less the line of the host name (the chroot shares
# the host's, `uname -n`): localhost resolves, the host name does not. debootstrap writes none.
hn=$(uname -n)
[ -f "$target/etc/hosts" ] || printf '%s\n' '127.0.0.1 localhost' \
  '::1 localhost ip6-localhost ip6-loopback' 'ff02::1 ip6-allnodes' 'ff02::2 ip6-allrouters' \
  >"$target/etc/hosts"
awk -v h="$hn" '{ for (i = 2; i <= NF; i++) if ($i == h) next; print }' "$target/etc/hosts" \
  >"$target/etc/hosts.new" && mv "$target/etc/hosts.new" "$target/etc/hosts"

echo "== cloning $rev into the root"
git clone --quiet --no-checkout "$src" "$target/src/helpdesk"
git -C "$target/src/helpdesk" fetch --quiet "$src" "$rev" 2>/dev/null || true
git -C "$target/src/helpdesk" -c advice.detachedHead=false checkout --quiet --detach "$rev"

mount -t proc proc "$target/proc"
mount -t sysfs sysfs "$target/sys"
mount --bind /dev "$target/dev"
mount --bind /dev/pts "$target/dev/pts"

echo "== CI=1 make test in the chroot (full log: $work/make-test.log)"
set +e
chroot "$target" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root LANG=C.UTF-8 CI=1 /bin/bash -c \
  'cd /src/helpdesk && { command -v make >/dev/null 2>&1 || scripts/deps.sh; } && make test' \
  </dev/null >"$work/make-test.log" 2>&1
rc=$?
set -e
tail -n 25 "$work/make-test.log"
if [ "$rc" -ne 0 ]; then # the root is removed on exit: keep the log and name what failed
  keep="${TMPDIR:-/var/tmp}/fresh-debian-${rev:0:12}.log"
  cp "$work/make-test.log" "$keep"
  grep -E '\(Failed\)|\*\*\*Failed|\*\*\*Timeout|^FAIL ' "$keep" | head -n 20 || true
  echo "fresh-debian: the full log is kept in $keep"
fi
echo "fresh-debian: make test exited $rc after $((SECONDS - started)) s (commit ${rev:0:12})"
exit "$rc"
