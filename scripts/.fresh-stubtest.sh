#!/usr/bin/env bash
# What a new user (or CI) meets on a fresh Debian 12: builds a throwaway
# minimal Debian 12 root, clones this repository into it as root under /root
# (which is 700: the postgres user cannot reach the checkout), and runs the
# README's two commands inside it through chroot:
#   make demo, then make demo-stop; make test (FRESH_TEST_RUNS times, 1 by default).
# Prints each command's time and closing lines; full logs stay in
# build/fresh-debian/<run>/. Everything is removed at the end, on failure too: the
# processes left inside the root are ended, its mounts unmounted, then it is
# deleted.
#
#   scripts/fresh-debian-check.sh [REF]     REF: a commit or branch (default HEAD)
#
# Needs root and network access to Debian's packages (installs mmdebstrap when
# missing). The suites' port settings (INSIGHT_REGRESS_PORT,
# INSIGHT_ISOLATION_PORT, INSIGHT_INTEGRATION_PORT, INSIGHT_DEMO_PORT) are
# passed in when set; the chroot shares the host's network.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
REF=${1:-HEAD}
RUNS=${FRESH_TEST_RUNS:-1}
LOGS=$REPO/build/fresh-debian
SUITE=bookworm

[ "$(id -u)" -eq 0 ] || { echo "fresh-debian-check: run as root (chroot, mount)" >&2; exit 1; }
sha=$(git rev-parse --verify "$REF^{commit}") || { echo "fresh-debian-check: unknown ref $REF" >&2; exit 1; }
mkdir -p "$LOGS"

if ! command -v mmdebstrap >/dev/null; then
  echo "== installing mmdebstrap"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/insight_keys-fresh.XXXXXX")
chmod 755 "$DIR"  # it becomes "/": mktemp's 700 would lock every other user out
LOGS=$LOGS/${DIR##*.}  # one directory per run: two runs never share a log
mkdir -p "$LOGS"

# Mount points under $DIR, deepest first.
mounts_under() {
  awk -v d="$DIR" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/self/mounts | sort -r
}
# Processes whose root directory is $DIR.
chroot_pids() {
  find /proc -mindepth 2 -maxdepth 2 -name root -lname "$DIR" 2>/dev/null | cut -d/ -f3
}
cleanup() {
  local rc=$? pids i m left
  trap - EXIT INT TERM
  set +e
  # Processes whose root is the chroot (a demo server, a test left running):
  # asked to stop, then killed after at most 10 s.
  pids=$(chroot_pids)
  if [ -n "$pids" ]; then
    kill -TERM $pids 2>/dev/null
    for i in $(seq 20); do
      pids=$(chroot_pids)
      [ -z "$pids" ] && break
      sleep 0.5
    done
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null && sleep 1
  fi
  for m in $(mounts_under); do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
  left=$(mounts_under)
  if [ -n "$left" ]; then
    # Never delete through a mount (a bound /dev is the host's).
    echo "fresh-debian-check: still mounted, $DIR NOT removed:" >&2
    echo "$left" >&2
    exit 1
  fi
  rm -rf --one-file-system "$DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

elapsed() { echo $(( $(date +%s) - $1 ))s; }

echo "== mmdebstrap --variant=minbase --include=git,make,ca-certificates $SUITE ($DIR)"
t0=$(date +%s)
mmdebstrap --quiet --variant=minbase --include=git,make,ca-certificates "$SUITE" "$DIR" \
  >"$LOGS/mmdebstrap.log" 2>&1 || { tail -30 "$LOGS/mmdebstrap.log"; exit 1; }
echo "   done in $(elapsed "$t0")"

mount -t proc proc "$DIR/proc"
mount --bind /dev "$DIR/dev"
mount --make-private "$DIR/dev"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$DIR/dev/shm"
# No service starts inside (what a container or CI image does).
printf '#!/bin/sh\nexit 101\n' >"$DIR/usr/sbin/policy-rc.d"
chmod 755 "$DIR/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$DIR/etc/resolv.conf" 2>/dev/null || true

echo "== cloning $REF ($sha) into /root/insight_keys"
git clone -q --no-hardlinks "$REPO" "$DIR/root/insight_keys"
git -C "$DIR/root/insight_keys" checkout -q --detach "$sha"
root_mode_before=$(stat -c %a "$DIR/root")

env_in=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb)
for v in INSIGHT_REGRESS_PORT INSIGHT_ISOLATION_PORT INSIGHT_INTEGRATION_PORT INSIGHT_DEMO_PORT; do
  [ -n "${!v:-}" ] && env_in+=("$v=${!v}")
done
# in_root LOG COMMAND...: runs COMMAND in the checkout inside the root, as a
# login-less root shell with a clean environment and no standard input.
in_root() {
  local log=$1
  shift
  chroot "$DIR" /usr/bin/env -i "${env_in[@]}" bash -c 'cd /root/insight_keys && "$@"' bash "$@" \
    </dev/null >"$LOGS/$log" 2>&1
}

status=0
step() {  # LOG LINES COMMAND...
  local log=$1 lines=$2 t rc
  shift 2
  echo "== $*"
  t=$(date +%s)
  in_root "$log" "$@" && rc=0 || rc=$?
  echo "   exit $rc after $(elapsed "$t"); last lines:"
  tail -n "$lines" "$LOGS/$log" | sed 's/^/   | /'
  [ "$rc" -eq 0 ] || status=1
  return 0
}

step demo.log 5 make demo
step demo-stop.log 1 make demo-stop
for r in $(seq "$RUNS"); do
  step "test-$r.log" 2 make test
done

echo "== afterwards"
echo "   /root mode: $root_mode_before before, $(stat -c %a "$DIR/root") after"
if [ -d "$DIR/etc/postgresql/15" ] && [ -n "$(ls -A "$DIR/etc/postgresql/15")" ]; then
  echo "   a system cluster was created: $(ls "$DIR/etc/postgresql/15")"
  status=1
else
  echo "   no system cluster (/etc/postgresql/15 empty or absent)"
fi
echo "   python3: $(chroot "$DIR" /usr/bin/env -i python3 --version 2>&1 || echo missing)"
echo "   logs: $LOGS"
exit "$status"
