#!/usr/bin/env bash
# 32_rotate: rotate_key throughput from one client, in one throwaway cluster
# (port $BENCH_ROTATE_PORT, default 25482) that it starts as postgres and
# always stops. Prints a markdown section.
#
#   pgbench -c 1, synchronous_commit = off, one statement per transaction:
#   the key in a one-row table is replaced by its successor, so every
#   transaction rotates a live key (a generation, an update of the old key
#   with its grace and the audit row). The principal is the key's owner
#   through its db_role mapping (the connection's role), so no act_as is counted.
# Knobs: BENCH_ROUNDS (3), BENCH_SECONDS (5), BENCH_GRACE ('1 hour').
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/common.sh
. bench/lib.sh

PORT=${BENCH_ROTATE_PORT:-25482}
ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_PER_ROUND=${BENCH_SECONDS:-5}
GRACE=${BENCH_GRACE:-1 hour}

start_throwaway_cluster bench-rotate "$PORT" "shared_buffers = 256MB
max_wal_size = 4GB"

DB=bench
sql() { as_pg psql -h "$work" -p "$PORT" -U postgres -d "$DB" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
tps_of() { sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1; }

as_pg psql -h "$work" -p "$PORT" -U postgres -d postgres -X -q -c "CREATE DATABASE $DB" >/dev/null
sql -c "SET client_min_messages = warning; CREATE EXTENSION insight_keys CASCADE;"
sql <<'SQL'
CREATE ROLE bench_rotator LOGIN;
CREATE TABLE bench_chain (n int PRIMARY KEY, key_id uuid NOT NULL);
GRANT SELECT, UPDATE ON bench_chain TO bench_rotator;
DO $$
DECLARE
  org uuid := insight.create_organization('bench-org');
  person uuid := insight.create_user('rotator@example.com', db_role => 'bench_rotator');
BEGIN
  PERFORM insight.set_membership(person, org, 'read_write');
  PERFORM insight.act_as(person);
  INSERT INTO bench_chain SELECT 1, key_id FROM insight.generate_user_key(org, 'rotated');
  PERFORM insight.reset_principal();
END
$$;
SQL
printf "UPDATE bench_chain SET key_id = (SELECT r.key_id FROM insight.rotate_key(bench_chain.key_id, interval '%s') r) WHERE n = 1;\n" \
  "$GRACE" >"$work/rotate.sql"
chown "$PG_USER" "$work/rotate.sql" 2>/dev/null || true

runs=""
for r in $(seq "$ROUNDS"); do
  tps=$(as_pg env PGOPTIONS="-c synchronous_commit=off" "$PG_BIN/pgbench" -h "$work" -p "$PORT" \
          -U bench_rotator -n -c 1 -j 1 -T "$SECONDS_PER_ROUND" -f "$work/rotate.sql" "$DB" 2>&1 | tps_of)
  [ -n "$tps" ] || { echo "pgbench failed" >&2; exit 1; }
  runs+="$tps "
done
rotated=$(sql -c "SELECT count(*) FROM insight.api_keys WHERE rotated_to IS NOT NULL")
events=$(sql -c "SELECT count(*) FROM insight.audit_log WHERE action = 'key.rotated'")
[ "$rotated" = "$events" ] || { echo "rotations ($rotated) and key.rotated events ($events) differ" >&2; exit 1; }
med=$(echo "$runs" | tr ' ' '\n' | grep . | median)

cat <<MD
## Rotation (bench/suites/32_rotate.sh)

One client (pgbench -c 1, simple protocol), \`synchronous_commit = off\`, one \`rotate_key(key, '$GRACE')\`
per transaction, each rotating the successor of the previous one; $ROUNDS rounds of ${SECONDS_PER_ROUND} s, median.

| target | measured | result |
|---|---|---|
| rotate_key ≥ 2,000 rotations/s | $med rotations/s | $(judge "$med" 2000 ">=" "$(spread_of <<<"$runs")") |

- Raw tps per round: $runs; $rotated keys rotated, as many \`key.rotated\` events.
MD
