#!/usr/bin/env bash
# The console beside `make demo` (scripts/demo.sh calls this):
#   console/demo.sh start DEMO_DIR PG_PORT DBNAME   build it, give the demo people
#                                                   passwords, start it, print its URL
#   console/demo.sh stop                            stop it
# The console listens on 127.0.0.1:${INSIGHT_CONSOLE_PORT:-8480}; its pid and
# log are in build/console-demo/ (outside .demo, which scripts/demo.sh wipes).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/common.sh

RUN=$ROOT/build/console-demo
HTTP_PORT=${INSIGHT_CONSOLE_PORT:-8480}

stop_console() {
  [ -f "$RUN/console.pid" ] || return 0
  local pid
  pid=$(cat "$RUN/console.pid")
  if kill "$pid" 2>/dev/null; then
    # Bounded wait for it to close its sessions and exit.
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$RUN/console.pid"
  echo "console stopped"
}

if [ "${1:-}" = "stop" ]; then
  stop_console
  exit 0
fi
if [ "${1:-}" != "start" ] || [ $# -ne 4 ]; then
  echo "usage: console/demo.sh start DEMO_DIR PG_PORT DBNAME | stop" >&2
  exit 2
fi
DEMO=$2
PORT=$3
DB=$4
stop_console >/dev/null
mkdir -p "$RUN"

echo "== building the console (build/console)"
cmake -S "$ROOT" -B "$ROOT/build/console" -DINSIGHT_INTEGRATION_TESTS=OFF >/dev/null
cmake --build "$ROOT/build/console" --target insight_console -j2 >/dev/null

# The demo people log in with passwords (SCRAM) over the demo's socket; the
# console's own role, insight_console, stays on the demo's trust rule.
{ echo "local $DB +console_people scram-sha-256"; cat "$DEMO/data/pg_hba.conf"; } >"$RUN.hba"
cat "$RUN.hba" >"$DEMO/data/pg_hba.conf"
rm -f "$RUN.hba"
psql -X -q -v ON_ERROR_STOP=1 -h "$DEMO" -p "$PORT" -U postgres -d "$DB" -f console/demo.sql >/dev/null

mkdir -p "$RUN"
setsid "$ROOT/build/console/insight_console" --listen 127.0.0.1 --port "$HTTP_PORT" \
  --db "host=$DEMO port=$PORT dbname=$DB" \
  --api-db "host=$DEMO port=$PORT dbname=$DB user=insight_console" \
  >"$RUN/console.log" 2>&1 </dev/null &
echo $! >"$RUN/console.pid"
for _ in $(seq 1 150); do
  curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/login" && break
  if ! kill -0 "$(cat "$RUN/console.pid")" 2>/dev/null; then
    cat "$RUN/console.log"
    rm -f "$RUN/console.pid"
    exit 1
  fi
  sleep 0.2
done

cat <<MSG

The console is running (log: build/console-demo/console.log).
  open:     http://127.0.0.1:$HTTP_PORT/
  log in:   pat / pat-demo-password     platform administrator
            olga / olga-demo-password   organization administrator of Acme
            uma / uma-demo-password     user (read/write) in Acme
  API:      curl -H "X-Api-Key: <a key>" http://127.0.0.1:$HTTP_PORT/api/v1/keys
MSG
