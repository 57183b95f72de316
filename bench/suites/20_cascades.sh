#!/usr/bin/env bash
# 20_cascades: the cascade worker, in one throwaway cluster (port
# $BENCH_CASCADE_PORT, default 25472) that it starts as postgres and always
# stops. Prints a markdown section.
#
#   - delete_user commit latency, a user with 1 key vs a user with 100k keys
#     (the commit only enqueues; the worker does the cascade afterwards)
#   - cascade throughput of the worker (keys_done / (finished_at - started_at)
#     from insight.cascades) at several insight.cascade_batch_size values
#   - wake-up: started_at - enqueued_at of each cascade
#   - verify throughput (pgbench, SELECT * FROM insight.verify(:k)) while a
#     100k-key cascade runs vs idle, interleaved rounds
#
# Keys are inserted straight into insight.api_keys (generating 100k keys one
# by one would measure generation). Knobs: BENCH_ROUNDS (3), BENCH_CASCADE_KEYS
# (100000), BENCH_BATCH_SIZES ("1000 5000 20000"), BENCH_WORKER_NICE (the
# server default of insight.cascade_worker_nice when unset).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/common.sh
. bench/lib.sh

PORT=${BENCH_CASCADE_PORT:-25472}
ROUNDS=${BENCH_ROUNDS:-3}
NKEYS=${BENCH_CASCADE_KEYS:-100000}
BATCHES=${BENCH_BATCH_SIZES:-"1000 5000 20000"}
DEFAULT_BATCH=5000

conf="shared_buffers = 256MB
max_wal_size = 4GB
checkpoint_timeout = 30min
insight.cascade_batch_size = $DEFAULT_BATCH"
[ -n "${BENCH_WORKER_NICE:-}" ] && conf+=$'\n'"insight.cascade_worker_nice = $BENCH_WORKER_NICE"
start_throwaway_cluster bench-cascades "$PORT" "$conf"

DB=bench
sql() { as_pg psql -h "$work" -p "$PORT" -U postgres -d "$DB" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
med() { tr ' ' '\n' | grep . | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
tps_of() { sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1; }

as_pg psql -h "$work" -p "$PORT" -U postgres -d postgres -X -q -c "CREATE DATABASE $DB" >/dev/null
sql -c "SET client_min_messages = warning; CREATE EXTENSION insight_keys CASCADE;"
sql <<'EOF'
CREATE TABLE bench_ids (name text PRIMARY KEY, id uuid NOT NULL);
INSERT INTO bench_ids VALUES ('org', insight.create_organization('bench-org')),
                             ('verifier', insight.create_user('verifier@example.com'));
SELECT insight.set_membership((SELECT id FROM bench_ids WHERE name = 'verifier'),
                              (SELECT id FROM bench_ids WHERE name = 'org'), 'read_write');
-- A user with n keys in the organization, inserted directly.
CREATE FUNCTION bench_user(who text, n int) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  org uuid := (SELECT id FROM bench_ids WHERE name = 'org');
  person uuid := insight.create_user(who || '@example.com');
BEGIN
  PERFORM insight.set_membership(person, org, 'read_write');
  INSERT INTO insight.api_keys (lookup_id, kind, org_id, owner_id, created_by_label, name, hint, secret_hash)
  SELECT md5(who || g), 'user', org, person, who, who || '-' || g, 'hint', '\x00'
    FROM generate_series(1, n) g;
  RETURN person;
END $$;
EOF
verify_key=$(sql -c "SELECT insight.act_as(id) FROM bench_ids WHERE name = 'verifier';
  SELECT api_key FROM insight.generate_user_key((SELECT id FROM bench_ids WHERE name = 'org'), 'bench');" | tail -1)
[ "$(sql -c "SELECT code FROM insight.verify('$verify_key')")" = VALID ] || { echo "bench key does not verify" >&2; exit 1; }
printf 'SELECT * FROM insight.verify(:k);\n' >"$work/verify.sql"
chown "$PG_USER" "$work/verify.sql" 2>/dev/null || true

wait_drained() {  # bounded: 600 s
  local i
  for i in $(seq 6000); do
    [ "$(sql -c "SELECT count(*) FROM insight.cascade_queue WHERE state IN ('pending', 'running')")" = 0 ] && return 0
    sleep 0.1
  done
  echo "cascades did not drain" >&2
  exit 1
}
set_batch() {
  sql -c "ALTER SYSTEM SET insight.cascade_batch_size = $1" -c "SELECT pg_reload_conf()" >/dev/null
  # The worker logs the settings it reloaded; wait for them (bounded).
  local i
  for i in $(seq 100); do
    [ "$(sql -c "SHOW insight.cascade_batch_size")" = "$1" ] && grep -q "batch_size=$1 " "$work/server.log" && return 0
    sleep 0.1
  done
  echo "the worker did not reload batch_size=$1" >&2
  exit 1
}
commit_ms() {  # user id -> delete_user latency including the commit, ms
  printf '\\timing on\nSELECT insight.delete_user(%s);\n' "'$1'" | sql | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}
pgb_verify() {  # seconds -> tps
  as_pg pgbench -h "$work" -p "$PORT" -U postgres -n -M prepared -c 2 -j 2 -T "$1" \
    -D k="$verify_key" -f "$work/verify.sql" "$DB" 2>&1 | tps_of
}
last_event() { sql -c "SELECT max(id) FROM insight.cascade_queue"; }

# ---------------------------------------------------------------- commit latency and throughput
lat_one="" lat_many="" wake=""
declare -A thr
pgb_verify 2 >/dev/null  # warm up
for r in $(seq "$ROUNDS"); do
  for b in $BATCHES; do
    set_batch "$b"
    many=$(sql -c "SELECT bench_user('many_${r}_$b', $NKEYS)")
    one=$(sql -c "SELECT bench_user('one_${r}_$b', 1)")
    sql -c "CHECKPOINT" >/dev/null
    wait_drained
    t=$(commit_ms "$one"); [ "$b" = "$DEFAULT_BATCH" ] && lat_one+="$t "
    wait_drained
    t=$(commit_ms "$many"); [ "$b" = "$DEFAULT_BATCH" ] && lat_many+="$t "
    ev=$(last_event)
    wait_drained
    row=$(sql -F ' ' -c "SELECT keys_done, extract(epoch FROM finished_at - started_at),
                                extract(epoch FROM started_at - enqueued_at) * 1000
                           FROM insight.cascade_queue WHERE id = $ev")
    read -r done secs wake_ms <<<"$row"
    [ "$done" = "$NKEYS" ] || { echo "cascade deleted $done keys, expected $NKEYS" >&2; exit 1; }
    thr[$b]+="$(awk -v n="$done" -v s="$secs" 'BEGIN {printf "%.0f", n / s}') "
    wake+="$(printf '%.1f' "$wake_ms") "
  done
done
set_batch "$DEFAULT_BATCH"

# ---------------------------------------------------------------- verify while a cascade runs
idle="" busy="" overlap=""
for r in $(seq "$ROUNDS"); do
  many=$(sql -c "SELECT bench_user('busy_$r', $NKEYS)")
  sql -c "CHECKPOINT" >/dev/null
  wait_drained
  idle+="$(pgb_verify 1) "
  sql -c "SELECT insight.delete_user('$many')" >/dev/null
  ev=$(last_event)
  t0=$(date +%s.%N)
  busy+="$(pgb_verify 1) "
  t1=$(date +%s.%N)
  wait_drained
  # How much of the pgbench run the cascade covered (1.00: all of it).
  fin=$(sql -c "SELECT extract(epoch FROM finished_at) FROM insight.cascade_queue WHERE id = $ev")
  overlap+="$(awk -v a="$t0" -v b="$t1" -v f="$fin" 'BEGIN {c = (f < b ? f : b) - a; if (c < 0) c = 0; printf "%.2f", c / (b - a)}') "
done

l1=$(echo "$lat_one" | med) lm=$(echo "$lat_many" | med) lr=$(ratio "$lm" "$l1")
tdef=$(echo "${thr[$DEFAULT_BATCH]}" | med)
nice=$(sql -c "SHOW insight.cascade_worker_nice")
wk=$(echo "$wake" | med) wmax=$(echo "$wake" | tr ' ' '\n' | grep . | sort -g | tail -1)
vi=$(echo "$idle" | med) vb=$(echo "$busy" | med) vr=$(ratio "$vb" "$vi")
ov=$(echo "$overlap" | med)
# How much the rounds disagree, percent (bench/lib.sh).
s_lr=$(pairwise ratio "$lat_many" "$lat_one" | spread_of)
s_thr=$(spread_of <<<"${thr[$DEFAULT_BATCH]}")
s_vr=$(pairwise ratio "$busy" "$idle" | spread_of)

cat <<EOF
## Cascades (bench/suites/20_cascades.sh)

One database, the worker preloaded (insight.cascade_worker_nice = $nice), $NKEYS-key cascades (a user deleted whose $NKEYS user keys
must go), $ROUNDS rounds, medians. Throughput is the worker's own figure from \`insight.cascades\`
(\`keys_done / (finished_at - started_at)\`); every key is deleted and audited with its reason.

| target | measured | result |
|---|---|---|
| delete_user commit latency, $NKEYS keys vs 1 key ≤ 1.5 | $lm ms vs $l1 ms = $lr | $(judge "$lr" 1.5 "<=" "$s_lr") |
| cascade throughput ≥ 50,000 keys/s (batch $DEFAULT_BATCH) | $tdef keys/s | $(judge "$tdef" 50000 ">=" "$s_thr") |
| verify throughput during a $NKEYS-key cascade vs idle ≥ 0.8 | $vb vs $vi tps = $vr | $(judge "$vr" 0.8 ">=" "$s_vr") |

| insight.cascade_batch_size | keys/s (median) | each round |
|---|---|---|
EOF
for b in $BATCHES; do
  echo "| $b | $(echo "${thr[$b]}" | med) | ${thr[$b]}|"
done
cat <<EOF

- Wake-up after the deleting commit (\`started_at - enqueued_at\`): median $wk ms, max $wmax ms.
- Verify: pgbench -M prepared -c 2 -j 2 -T 1, one fixed valid key; the cascade covered a
  median $ov of each "during" run (1.00 = all of it).
- Raw: commit ms, 1 key: $lat_one; $NKEYS keys: $lat_many; verify tps idle: $idle; during: $busy.
EOF
