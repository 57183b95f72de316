#!/usr/bin/env bash
# make demo: build, install, start a throwaway cluster under .demo/ with the
# worker preloaded, and walk through the product's flows.
# make demo-stop (this script with "stop"): stop it and remove its data.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/common.sh

DEMO=$ROOT/.demo
PORT=${INSIGHT_DEMO_PORT:-54329}
DB=insight_demo
PSQL=(psql -X -q -h "$DEMO" -p "$PORT" -U postgres)

if [ "${1:-}" = "stop" ]; then
  bash console/demo.sh stop
  if [ -f "$DEMO/data/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$DEMO/data" -m fast -w stop
  fi
  rm -rf "$DEMO"
  echo "demo cluster stopped and removed"
  exit 0
fi

echo "== building and installing insight_keys"
make -j"$(nproc)" PG_CONFIG="$PG_CONFIG" >/dev/null
make install PG_CONFIG="$PG_CONFIG" >/dev/null

if [ "$(id -u)" -eq 0 ]; then
  # The server runs as $PG_USER, which must be able to reach .demo/.
  d=$ROOT
  while [ "$d" != "/" ]; do
    if ! runuser -u "$PG_USER" -- test -x "$d"; then
      echo "note: granting others traverse (o+x) on $d so that $PG_USER can reach $DEMO"
      chmod o+x "$d"
    fi
    d=$(dirname "$d")
  done
fi

if [ -f "$DEMO/data/postmaster.pid" ]; then
  echo "== a demo cluster is already running; restarting it from scratch"
  as_pg "$PG_BIN/pg_ctl" -D "$DEMO/data" -m fast -w stop >/dev/null || true
fi
rm -rf "$DEMO"
mkdir -p "$DEMO"
[ "$(id -u)" -eq 0 ] && chown "$PG_USER" "$DEMO"

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
  connect:  psql -h $DEMO -p $PORT -U postgres $DB
  stop:     make demo-stop
MSG
