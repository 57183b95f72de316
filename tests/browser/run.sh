#!/usr/bin/env bash
# The console in a real browser: a throwaway cluster (people log in with
# SCRAM passwords over 127.0.0.1), the console, chromedriver and headless
# Chromium driven by python3-selenium (tests/browser/console_test.py). First
# the console's own GoogleTest cases (sessions, CSRF tokens, error words).
# Screenshots and logs go to build/browser/; the last line is
# "suite-result: PASS FAIL". Everything started here stops on every exit.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. scripts/common.sh

PORT=${INSIGHT_BROWSER_PORT:-25460}
HTTP_PORT=${INSIGHT_CONSOLE_TEST_PORT:-25461}
DRIVER_PORT=${INSIGHT_CHROMEDRIVER_PORT:-25462}
BUILD=$ROOT/build/browser
LOG=$BUILD/run-logs
SHOTS=$BUILD/screenshots
# A fresh Chromium profile each run: no cookie or lock left by an earlier one.
rm -rf "$LOG" "$SHOTS" "$BUILD/chromium-profile"
mkdir -p "$LOG" "$SHOTS"

. tests/lib/ctest.sh

start=$(date +%s)
cmake_build insight_console -DINSIGHT_INTEGRATION_TESTS=OFF
build_warnings=$warnings
cmake_build insight_console_tests -DINSIGHT_INTEGRATION_TESTS=OFF
warnings=$((warnings + build_warnings))
run_ctest console
unit_passed=$passed
unit_failed=$failed

# Debian's python3, which python3-selenium installs into (a pyenv or venv
# python3 earlier in PATH would not see it).
PYTHON=${INSIGHT_PYTHON:-/usr/bin/python3}
for tool in chromium chromedriver; do
  command -v "$tool" >/dev/null || give_up "$tool is not installed (make deps)"
done
"$PYTHON" -c 'import selenium' 2>/dev/null || give_up "python3-selenium is not installed (make deps)"

console_pid=
driver_pid=
start_throwaway_cluster browser "$PORT" "listen_addresses = '127.0.0.1'
password_encryption = 'scram-sha-256'"
cleanup() {
  # The console and the driver first (the driver's group holds Chromium), then the cluster.
  [ -n "$console_pid" ] && kill "$console_pid" 2>/dev/null && wait "$console_pid" 2>/dev/null
  [ -n "$driver_pid" ] && kill -- "-$driver_pid" 2>/dev/null && wait "$driver_pid" 2>/dev/null
  cp "$work/server.log" "$LOG/server.log" 2>/dev/null
  as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# People (members of console_people) log in over TCP with a SCRAM password;
# postgres and the console's own role stay on trust for this throwaway cluster.
{ echo "host all +console_people 127.0.0.1/32 scram-sha-256"; cat "$data/pg_hba.conf"; } >"$work/hba.new"
cat "$work/hba.new" >"$data/pg_hba.conf"

DB=insight_browser
psql_admin() { as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$PORT" -U postgres "$@"; }
if ! { psql_admin -d postgres -c "SELECT pg_reload_conf()" -c "CREATE DATABASE $DB" &&
       psql_admin -d "$DB" -f tests/browser/setup.sql; } >"$LOG/setup.log" 2>&1; then
  cat "$LOG/setup.log"
  give_up "could not set up the database"
fi

# Waits (bounded) until a URL answers.
wait_http() {
  local url=$1 what=$2 deadline=$((SECONDS + 60))
  until curl -s -o /dev/null "$url"; do
    [ $SECONDS -ge $deadline ] && give_up "$what did not start within 60 s"
    sleep 0.2
  done
}

"$BUILD/insight_console" --listen 127.0.0.1 --port "$HTTP_PORT" \
  --db "host=127.0.0.1 port=$PORT dbname=$DB" \
  --api-db "host=127.0.0.1 port=$PORT dbname=$DB user=console_api" \
  >"$LOG/console.log" 2>&1 &
console_pid=$!
wait_http "http://127.0.0.1:$HTTP_PORT/login" "the console"

setsid chromedriver --port="$DRIVER_PORT" --allowed-ips=127.0.0.1 >"$LOG/chromedriver.log" 2>&1 &
driver_pid=$!
wait_http "http://127.0.0.1:$DRIVER_PORT/status" "chromedriver"

CONSOLE_URL="http://127.0.0.1:$HTTP_PORT" DRIVER_URL="http://127.0.0.1:$DRIVER_PORT" SHOT_DIR="$SHOTS" \
  PROFILE_DIR="$BUILD/chromium-profile" \
  INSIGHT_PSQL="$( [ "$(id -u)" -eq 0 ] && echo "runuser -u $PG_USER --") $PG_BIN/psql -X -q -At -v ON_ERROR_STOP=1 -h $work -p $PORT -U postgres -d $DB" \
  "$PYTHON" tests/browser/console_test.py 2>&1 | tee "$LOG/console_test.log"
line=$(grep -E '^assertions: [0-9]+ [0-9]+$' "$LOG/console_test.log" | tail -1)
if [ -z "$line" ]; then
  browser_passed=0
  browser_failed=1
else
  read -r _ browser_passed browser_failed <<<"$line"
fi

# No key and no password in the console's log or the server's.
log_passed=0
log_failed=0
for f in "$LOG/console.log" "$work/server.log"; do
  if grep -qE 'ik_(user|org)_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}|-secret-[0-9]' "$f"; then
    echo "not ok - $(basename "$f") holds a key or a password"
    log_failed=$((log_failed + 1))
  else
    echo "ok - no key and no password in $(basename "$f") ($(wc -l <"$f") lines)"
    log_passed=$((log_passed + 1))
  fi
done
if grep -qE 'terminated by signal|PANIC:' "$work/server.log"; then
  echo "not ok - the server log shows a crashed backend"
  log_failed=$((log_failed + 1))
fi

p=$((unit_passed + browser_passed + log_passed))
f=$((unit_failed + browser_failed + log_failed))
echo "browser: screenshots in ${SHOTS#$ROOT/}: $(cd "$SHOTS" && ls | tr '\n' ' ')"
echo "browser: $((p + f)) assertions, $(($(date +%s) - start))s (ports $PORT, $HTTP_PORT, $DRIVER_PORT)"
echo "suite-result: $p $f"
[ "$f" -eq 0 ]
