#!/usr/bin/env bash
# make demo: build, install, start a throwaway cluster with the worker
# preloaded, and walk through the product's flows.
# make demo-stop (this script with "stop"): stop it and remove its data.
#
# The cluster lives in a fresh directory under ${TMPDIR:-/tmp} owned by the
# server's user, and .demo in the checkout is a symbolic link to it: the
# server runs as $PG_USER, which cannot reach a checkout under a private home
# (/root is 700), and the demo must not loosen the host's permissions to let
# it in.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/common.sh

LINK=$ROOT/.demo
PORT=${INSIGHT_DEMO_PORT:-25429}
DB=insight_demo

# Stops the cluster .demo points to (if any) and removes it and the link.
remove_demo() {
  local dir
  [ -L "$LINK" ] || [ -e "$LINK" ] || return 0
  dir=$LINK  # a directory: what earlier versions of this script made
  [ -L "$LINK" ] && dir=$(readlink "$LINK")
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  fi
  # The target only if this script made it (a pg_workdir named "demo").
  case "$dir" in
    */insight_keys.demo.*) rm -rf "$dir" ;;
  esac
  rm -rf "$LINK"
}

if [ "${1:-}" = "stop" ]; then
  bash console/demo.sh stop
  remove_demo
  echo "demo cluster stopped and removed"
  exit 0
fi

echo "== building and installing insight_keys"
make -j"$(nproc)" PG_CONFIG="$PG_CONFIG" >/dev/null
make install PG_CONFIG="$PG_CONFIG" >/dev/null

if [ -L "$LINK" ] || [ -e "$LINK" ]; then
  echo "== a demo cluster exists; restarting it from scratch"
  bash console/demo.sh stop
  remove_demo
fi
DEMO=$(pg_workdir demo)
ln -s "$DEMO" "$LINK"
PSQL=(psql -X -q -h "$DEMO" -p "$PORT" -U postgres)

echo "== starting a throwaway cluster in $DEMO (port $PORT)"
as_pg "$PG_BIN/initdb" -D "$DEMO/data" -A trust -U postgres >/dev/null
cat >>"$DEMO/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$DEMO'
shared_preload_libraries = 'insight_keys'
CONF
as_pg "$PG_BIN/pg_ctl" -D "$DEMO/data" -l "$DEMO/server.log" -w start >/dev/null
"${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB"
"${PSQL[@]}" -d "$DB" -c "CREATE EXTENSION insight_keys CASCADE"

echo "== walkthrough (scripts/demo.sql)"
"${PSQL[@]}" -d "$DB" -v ON_ERROR_STOP=1 -f scripts/demo.sql

bash console/demo.sh start "$DEMO" "$PORT" "$DB" || echo "note: the console did not start (build/console-demo/console.log)"
cat <<MSG

The demo cluster is running.
  connect:  psql -h $LINK -p $PORT -U postgres $DB
            (then paste the README's walkthrough)
  stop:     make demo-stop
MSG
