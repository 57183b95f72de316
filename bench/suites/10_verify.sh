#!/usr/bin/env bash
# 10_verify: insight.verify against its baselines (docs/PERFORMANCE.md), in one throwaway
# cluster (port $BENCH_VERIFY_PORT, default 25502) that it starts as postgres
# and always stops. Prints a markdown section.
#
#   (a) SELECT 1 with the same parameter and the same parameter fetch
#   (b) bench/peer: pgcrypto lookup in LANGUAGE sql (inlined)
#   (c) bench/peer: the same in PL/pgSQL
#
# Keys are written in the documented format by bench/peer/make_keys.py and
# inserted straight into insight.api_keys with pgcrypto's digest(), so a
# million keys load in seconds. Rounds are interleaved (a, verify, b, c, a,
# ...) and medians reported. Knobs: BENCH_ROUNDS (3), BENCH_SECONDS (5 per
# pgbench run), BENCH_KEYS (1000000).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. scripts/common.sh
. bench/lib.sh

PORT=${BENCH_VERIFY_PORT:-25502}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-5}
NKEYS=${BENCH_KEYS:-1000000}
SMALL=10000
LOOP_KEYS=1000
LOOP_REPEAT=100
PY=${PYTHON:-python3}

start_throwaway_cluster bench-verify "$PORT" "shared_buffers = 512MB"

DB=bench
sql() { as_pg psql -h "$work" -p "$PORT" -U postgres -d "$DB" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
pgb() { local db=$1; shift; as_pg pgbench -U postgres -h "$work" -p "$PORT" -n -M prepared "$@" "$db" 2>&1; }
tps_of() { sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1; }
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
p99_of() {  # pgbench -l files -> 99th percentile latency in microseconds
  cat "$@" | awk '{print $3}' | sort -n | awk '{v[NR] = $1} END {i = int(NR * 0.99); if (i < 1) i = 1; print v[i]}'
}
mean_of() { cat "$@" | awk '{s += $3} END {printf "%.0f", NR ? s / NR : 0}'; }

# One database per table size, measured in the same interleaved rounds.
as_pg psql -h "$work" -p "$PORT" -U postgres -d postgres -X -q \
  -c "CREATE DATABASE bench" -c "CREATE DATABASE bench_small" -c "CREATE ROLE bench_gen LOGIN" >/dev/null
setup_db() {  # nkeys seed (DB set by the caller)
  sql -c "SET client_min_messages = warning; CREATE EXTENSION insight_keys CASCADE;"
  sql <"$ROOT/bench/peer/peer_verify.sql"

  # 10 organizations, 100 users (read_write members), keys spread over them;
  # in the database bench the first user is the generation bench's db_role.
  { [ "$DB" = bench ] && echo "SET bench.gen_role = 'bench_gen';"; cat "$ROOT/bench/peer/owners.sql"; } | sql
  sql <<'EOF'
CREATE TABLE bench_keys (id int PRIMARY KEY, api_key text NOT NULL);
CREATE FUNCTION bench_store(lo int, hi int) RETURNS void LANGUAGE sql AS $f$
  INSERT INTO insight.api_keys (lookup_id, kind, org_id, owner_id, created_by, created_by_label,
                                name, hint, secret_hash)
  SELECT split_part(b.api_key, '_', 3), 'user', o.org_id, o.user_id, o.user_id, 'bench',
         'bench ' || b.id, left(b.api_key, 12) || '...' || right(b.api_key, 4),
         public.digest(b.api_key, 'sha256')
    FROM bench_keys b JOIN bench_owner o ON o.i = b.id % 100
   WHERE b.id BETWEEN lo AND hi;
$f$;
-- Elapsed microseconds of one statement, measured in the server.
CREATE FUNCTION bench_time(q text) RETURNS float8 LANGUAGE plpgsql AS $f$
DECLARE t0 timestamptz;
BEGIN
  t0 := clock_timestamp();
  EXECUTE q;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6;
END
$f$;
EOF
  "$PY" "$ROOT/bench/peer/make_keys.py" "$1" "$2" | sql -c "COPY bench_keys (id, api_key) FROM STDIN"
  sql -c "SELECT bench_store(1, $1)"
  sql -c "VACUUM (FREEZE, ANALYZE) insight.api_keys, bench_keys"
}
DB=bench_small setup_db "$SMALL" 2
DB=bench setup_db "$NKEYS" 1
sql -c "CHECKPOINT"
# Steady state, not first touches: both databases' tables and indexes in
# shared buffers before anything is timed (pg_prewarm, contrib).
for d in bench_small bench; do
  DB=$d sql -c "CREATE EXTENSION pg_prewarm" -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'i') AND (n.nspname = 'insight' OR c.relname LIKE 'bench_keys%')" >/dev/null
done

# pgbench scripts: the same parameter fetch, then the statement under test.
fetch='\set id random(1, :nkeys)
SELECT api_key AS k FROM bench_keys WHERE id = :id \gset'
printf '%s\nSELECT 1 AS one WHERE :k::text IS NOT NULL;\n' "$fetch" >"$work/fetch_a.sql"
printf '%s\nSELECT * FROM insight.verify(:k);\n' "$fetch" >"$work/fetch_v.sql"
printf '%s\nSELECT * FROM peer.verify_sql(:k);\n' "$fetch" >"$work/fetch_b.sql"
printf '%s\nSELECT * FROM peer.verify_plpgsql(:k);\n' "$fetch" >"$work/fetch_c.sql"
printf 'SELECT 1 AS one WHERE :k::text IS NOT NULL;\n' >"$work/fixed_a.sql"
printf 'SELECT * FROM insight.verify(:k);\n' >"$work/fixed_v.sql"
printf 'SELECT key_id FROM insight.generate_user_key(:org, :name);\n' >"$work/gen.sql"
chown "$PG_USER" "$work"/*.sql 2>/dev/null || true

mkdir -p "$work/lat_small" "$work/lat_large"
chown "$PG_USER" "$work/lat_small" "$work/lat_large" 2>/dev/null || true
stored=$(sql -c "SELECT count(*) FROM insight.api_keys")
valid_key=$(sql -c "SELECT api_key FROM bench_keys WHERE id = 1")
# A bad checksum: the last character changed.
bad_key=$(sql -c "SELECT left(api_key, -1) || CASE WHEN right(api_key, 1) = '0' THEN '1' ELSE '0' END FROM bench_keys WHERE id = 1")
[ "$(sql -c "SELECT code FROM insight.verify('$valid_key')")" = VALID ] || { echo "bench key does not verify" >&2; exit 1; }
[ "$(sql -c "SELECT code FROM insight.verify('$bad_key')")" = MALFORMED ] || { echo "bad key not MALFORMED" >&2; exit 1; }
for f in sql plpgsql; do
  [ "$(sql -c "SELECT code FROM peer.verify_$f('$valid_key')")" = VALID ] || { echo "peer $f broken" >&2; exit 1; }
done

pgb bench_small -c 2 -j 2 -T 2 -D nkeys=$SMALL -f "$work/fetch_v.sql" >/dev/null  # warm up
pgb bench -c 2 -j 2 -T 2 -D nkeys="$NKEYS" -f "$work/fetch_v.sql" >/dev/null
declare -A tps
for r in $(seq "$ROUNDS"); do
  # Latency with one client, so that the two clients' and pgbench's threads
  # competing for 2 cores do not set the tail.
  pgb bench_small -c 1 -j 1 -T "$SECS" -D nkeys=$SMALL -f "$work/fetch_v.sql" -l \
      --log-prefix="$work/lat_small/r$r" >/dev/null
  pgb bench -c 1 -j 1 -T "$SECS" -D nkeys="$NKEYS" -f "$work/fetch_v.sql" -l \
      --log-prefix="$work/lat_large/r$r" >/dev/null
  for v in a v b c; do
    t=$(pgb bench -c 2 -j 2 -T "$SECS" -D nkeys="$NKEYS" -f "$work/fetch_$v.sql" | tps_of)
    tps[fetch_$v]+="$t "
  done
  for v in a v; do  # one client: latency-bound instead of CPU-bound
    t=$(pgb bench -c 1 -j 1 -T "$SECS" -D k="$valid_key" -f "$work/fixed_$v.sql" | tps_of)
    tps[one_$v]+="$t "
  done
  for v in a v m; do
    key=$valid_key
    [ "$v" = m ] && key=$bad_key
    script=fixed_$v
    [ "$v" = m ] && script=fixed_v
    t=$(pgb bench -c 2 -j 2 -T "$SECS" -D k="$key" -f "$work/$script.sql" | tps_of)
    tps[fixed_$v]+="$t "
  done
done
p99_small=$(p99_of "$work"/lat_small/*) mean_small=$(mean_of "$work"/lat_small/*)
med() { echo "${tps[$1]}" | tr ' ' '\n' | grep . | median; }
fa=$(med fetch_a) fv=$(med fetch_v) fb=$(med fetch_b) fc=$(med fetch_c)
xa=$(med fixed_a) xv=$(med fixed_v) xm=$(med fixed_m) oa=$(med one_a) ov=$(med one_v)
p99_large=$(p99_of "$work"/lat_large/*) mean_large=$(mean_of "$work"/lat_large/*)

# ---------------------------------------------------------------- in-server cost, 100k calls in one statement
sql -c "CREATE TABLE bench_loop AS SELECT api_key FROM bench_keys WHERE id <= $LOOP_KEYS;
        CREATE TABLE bench_loop_bad AS SELECT left(api_key, -1) || CASE WHEN right(api_key, 1) = '0' THEN '1' ELSE '0' END AS api_key FROM bench_loop;
        ANALYZE bench_loop, bench_loop_bad;"
# The argument depends on g as well as k, so the call is made for every
# (g, k) pair: LOOP_REPEAT x LOOP_KEYS calls, not LOOP_KEYS calls rescanned.
arg="CASE WHEN g > 0 THEN k.api_key END"
loop_q() {  # table, lateral call -> query text
  echo "SELECT count(*) FILTER (WHERE v.valid) FROM generate_series(1, $LOOP_REPEAT) g, $1 k, LATERAL $2 v"
}
declare -A loop
q_empty=$(loop_q bench_loop "(SELECT $arg IS NOT NULL AS valid OFFSET 0)")
q_verify=$(loop_q bench_loop "insight.verify($arg)")
q_bad=$(loop_q bench_loop_bad "insight.verify($arg)")
q_sql=$(loop_q bench_loop "peer.verify_sql($arg)")
q_plpgsql=$(loop_q bench_loop "peer.verify_plpgsql($arg)")
q_scalar_empty="SELECT count(*) FILTER (WHERE $arg IS NOT NULL) FROM generate_series(1, $LOOP_REPEAT) g, bench_loop k"
q_scalar="SELECT count(*) FILTER (WHERE (insight.verify($arg)).valid) FROM generate_series(1, $LOOP_REPEAT) g, bench_loop k"
names=(empty verify bad sql plpgsql scalar_empty scalar)
run_loops() {  # one backend: warm once, then time each query; prints "name us" lines
  local in="" n
  for n in "${names[@]}"; do
    local q="q_$n"
    in+="SELECT '$n', bench_time(\$q\$${!q}\$q\$);"$'\n'
  done
  # The miss path: the same calls with the cache disabled.
  in+="SET insight.verify_cache_size = 0; SELECT 'miss', bench_time(\$q\$$q_verify\$q\$); RESET insight.verify_cache_size;"$'\n'
  # Every call a miss with the cache on: LOOP_KEYS keys cycle through a
  # 16-entry cache (2 buckets of 8, LRU), the owners' facts stay cached.
  in+="SET insight.verify_cache_size = 16; SELECT 'miss_small', bench_time(\$q\$$q_verify\$q\$); RESET insight.verify_cache_size;"$'\n'
  { echo "SELECT count(*) FROM bench_loop k, LATERAL insight.verify(k.api_key) v WHERE v.valid;"
    for r in $(seq "$ROUNDS"); do echo "$in"; done; } | sql -F ' '
}
while read -r n us; do
  [ -n "${us:-}" ] && loop[$n]+="$us "
done < <(run_loops)
lmed() { echo "${loop[$1]}" | tr ' ' '\n' | grep . | median; }
calls=$((LOOP_KEYS * LOOP_REPEAT))
per() { awk -v a="$(lmed "$1")" -v b="$(lmed "$2")" -v n="$calls" 'BEGIN {printf "%.2f", (a - b) / n}'; }
us_verify=$(per verify empty) us_bad=$(per bad empty) us_sql=$(per sql empty) us_plpgsql=$(per plpgsql empty)
us_scalar=$(per scalar scalar_empty) us_miss=$(per miss empty) us_miss_small=$(per miss_small empty)
r_miss_sql=$(ratio "$us_miss_small" "$us_sql")

# ---------------------------------------------------------------- generate_user_key from one client
gen_org=$(sql -c "SELECT org_id FROM bench_owner WHERE i = 0")
gen_tps=""
for r in $(seq "$ROUNDS"); do
  t=$(as_pg pgbench -h "$work" -p "$PORT" -U bench_gen -n -M prepared -c 1 -j 1 -T "$SECS" \
        -D org="$gen_org" -D name=bench -f "$work/gen.sql" bench 2>&1 | tps_of)
  gen_tps+="$t "
done
gen_med=$(echo "$gen_tps" | tr ' ' '\n' | grep . | median)
# The same with the session's commits not waiting for the WAL flush: shows what
# the fsync per commit costs on this disk (not a recommended setting for minting).
gen_async=$(PGOPTIONS="-c synchronous_commit=off" as_pg env PGOPTIONS="-c synchronous_commit=off" \
  pgbench -h "$work" -p "$PORT" -U bench_gen -n -M prepared -c 1 -j 1 -T "$SECS" \
  -D org="$gen_org" -D name=bench -f "$work/gen.sql" bench 2>&1 | tps_of)
gen_batch_us=$(sql -c "SET ROLE bench_gen; SELECT bench_time(\$q\$SELECT count(*) FROM generate_series(1, 5000) g, LATERAL insight.generate_user_key('$gen_org', 'batch ' || g) k\$q\$)")
gen_batch=$(awk -v us="$gen_batch_us" 'BEGIN {printf "%.0f", 5000 / (us / 1e6)}')

# ---------------------------------------------------------------- memory and counters
cache=$(sql -F ' ' -c "SELECT capacity, memory_bytes FROM insight.verify_cache_status()")
cache_cap=${cache% *} cache_bytes=${cache#* }
shmem=$(sql -c "SELECT shared_memory_bytes FROM insight.stats")
counters=$(sql -F ' ' -c "SELECT verify_valid, verify_malformed, cache_hits, cache_misses, last_used_pending, last_used_dropped FROM insight.stats")
flushed=$(sql -c "SELECT insight.flush_last_used()")

r_a=$(ratio "$fv" "$fa") r_b=$(ratio "$fv" "$fb") r_c=$(ratio "$fv" "$fc")
r_xa=$(ratio "$xv" "$xa") r_oa=$(ratio "$ov" "$oa") r_m=$(ratio "$xm" "$xa") r_p99=$(ratio "$p99_large" "$p99_small")
# How much the rounds disagree (percent): per-round ratios for the ratios,
# per-round differences for the in-server costs (bench/lib.sh).
rs() { pairwise ratio "${tps[$1]}" "${tps[$2]}" | spread_of; }
ls_() { pairwise diff "${loop[$1]}" "${loop[$2]}" | spread_of; }
s_a=$(rs fetch_v fetch_a) s_b=$(rs fetch_v fetch_b) s_xa=$(rs fixed_v fixed_a) s_m=$(rs fixed_m fixed_a)
s_verify=$(ls_ verify empty) s_scalar=$(ls_ scalar scalar_empty) s_miss=$(ls_ miss_small empty) s_gen=$(spread_of <<<"$gen_tps")
p99_rounds=""
for r in $(seq "$ROUNDS"); do
  p99_rounds+="$(ratio "$(p99_of "$work"/lat_large/r$r.*)" "$(p99_of "$work"/lat_small/r$r.*)") "
done
s_p99=$(spread_of <<<"$p99_rounds")

cat <<EOF
## Verify (bench/suites/10_verify.sh)

$stored keys stored (and $SMALL in a second database for the p99 comparison); pgbench -M prepared -c 2 -j 2, $SECS s per run, $ROUNDS interleaved rounds, medians.
"fetch" transactions read the key text from the key table by a random id (\\gset) and pass it
as the parameter; "fixed" transactions send one key (-D) in a single statement.

| target | measured | result |
|---|---|---|
| verify TPS ≥ 0.9 × (a) SELECT 1, same parameter fetch, 1M keys | $fv vs $fa TPS = **$r_a ×** | $(judge "$r_a" 0.9 ">=" "$s_a") |
| verify TPS ≥ 1.25 × (b) LANGUAGE sql pgcrypto peer | $fv vs $fb TPS = **$r_b ×** | $(judge "$r_b" 1.25 ">=" "$s_b") |
| (for reference) verify vs (c) PL/pgSQL peer | $fv vs $fc TPS = $r_c × | — |
| (stricter) one key, single statement, vs SELECT 1 with that parameter | $xv vs $xa TPS = $r_xa × | $(judge "$r_xa" 0.9 ">=" "$s_xa") |
| (reference) the same with one client (-c 1 -j 1) | $ov vs $oa TPS = $r_oa × | — |
| in-server cost per verify ≤ 1.5 µs (100k calls in one statement, warm, LATERAL) | **$us_verify µs** (peer sql $us_sql µs, plpgsql $us_plpgsql µs) | $(judge "$us_verify" 1.5 "<=" "$s_verify") |
| (same, called in the select list: (insight.verify(k)).valid) | $us_scalar µs | $(judge "$us_scalar" 1.5 "<=" "$s_scalar") |
| (cache miss path: insight.verify_cache_size = 0, 4 index probes) | $us_miss µs | — |
| cache-miss path ≤ 2.5 µs per verify ($LOOP_KEYS keys through insight.verify_cache_size = 16: every call a miss, owner facts cached) | **$us_miss_small µs** | $(judge "$us_miss_small" 2.5 "<=" "$s_miss") |
| the same ≤ 0.6 × the inlined pgcrypto SQL peer (same loop) | $us_miss_small vs $us_sql µs = **$r_miss_sql ×** | $(judge "$r_miss_sql" 0.6 "<=" "$s_miss") |
| MALFORMED (bad checksum) TPS ≥ 0.95 × (a), single statement | $xm vs $xa TPS = **$r_m ×**; in server $us_bad µs/call | $(judge "$r_m" 0.95 ">=" "$s_m") |
| p99 latency 1M keys / 10k keys ≤ 1.25 (fetch + verify transaction, one client, two databases, same rounds) | $p99_large µs / $p99_small µs = **$r_p99** (means $mean_large / $mean_small µs) | $(judge "$r_p99" 1.25 "<=" "$s_p99") |
| generate_user_key ≥ 5,000 keys/s, one client | **$gen_med keys/s** (one key per transaction, fsync per commit); $gen_async keys/s with synchronous_commit = off; $gen_batch keys/s (5,000 in one statement) | $(judge "$gen_med" 5000 ">=" "$s_gen") |
| per-backend cache bounded by insight.verify_cache_size | $cache_cap entries = $cache_bytes bytes per backend (allocated once, fixed) | met |
| shared memory fixed at start | $shmem bytes (counters per backend slot + last-used table) | met |

Counters after the run (valid, malformed, cache hits, cache misses, last-used pending, dropped): $counters;
flush_last_used() then wrote $flushed keys.
EOF
