#!/usr/bin/env bash
# bench/ab_inserver.sh: the in-server cost of verify in two installations of
# PostgreSQL with insight_keys (e.g. this tree and a build of an older commit
# installed into a copy of the server), measured in the same run: one
# throwaway cluster each, 1000 keys, rounds interleaved (new, base, new, ...),
# medians. Each figure is the backend's CPU time (utime + stime from
# /proc/self/stat, 10 ms ticks) for 300,000 calls in one statement, minus the
# same loop without the call, per call: on a busy machine wall time says how
# much of a core the backend got, CPU time what the calls cost.
#
#   NEW_BIN=/opt/pg-x/lib/postgresql/15/bin BASE_BIN=/opt/pg-x-base/lib/postgresql/15/bin \
#     [AB_ROUNDS=5] [AB_PORT=27018] bash bench/ab_inserver.sh
#
# Rows: hit (warm cache), miss16 (1000 keys through a 16-entry cache: every
# call a miss, owners' facts cached), miss0 (cache off: every probe), sql
# (bench/peer's inlined pgcrypto SQL function).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
ROUNDS=${AB_ROUNDS:-5}
declare -A BIN=([new]=${NEW_BIN:?NEW_BIN: bin directory of the new build} [base]=${BASE_BIN:?BASE_BIN: bin directory of the base build})
declare -A PORTS=([new]=${AB_PORT:-27018} [base]=$((${AB_PORT:-27018} + 1)))
declare -A W
cleanup() { for b in new base; do as_pg "${BIN[$b]}/pg_ctl" -D "${W[$b]}/data" -m fast -w stop >/dev/null 2>&1; rm -rf "${W[$b]}"; done; }
trap cleanup EXIT
for b in new base; do
  W[$b]=$(pg_workdir "ab-$b")
  as_pg "${BIN[$b]}/initdb" -D "${W[$b]}/data" -A trust -U postgres >/dev/null
  cat >>"${W[$b]}/data/postgresql.conf" <<CONF
port = ${PORTS[$b]}
listen_addresses = ''
unix_socket_directories = '${W[$b]}'
shared_preload_libraries = 'insight_keys'
shared_buffers = 128MB
CONF
  as_pg "${BIN[$b]}/pg_ctl" -D "${W[$b]}/data" -l "${W[$b]}/server.log" -w start >/dev/null
done
sqlb() { local b=$1; shift; as_pg "${BIN[$b]}/psql" -h "${W[$b]}" -p "${PORTS[$b]}" -U postgres -d postgres -X -q -At -v ON_ERROR_STOP=1 "$@"; }
for b in new base; do
  sqlb $b -c "SET client_min_messages = warning; CREATE EXTENSION insight_keys CASCADE;"
  sqlb $b < bench/peer/peer_verify.sql >/dev/null
  sqlb $b < bench/peer/owners.sql >/dev/null
  sqlb $b <<'SQL'
CREATE TABLE bench_keys (id int PRIMARY KEY, api_key text NOT NULL);
CREATE FUNCTION bench_cpu_ticks() RETURNS bigint LANGUAGE sql AS $f$
  SELECT (f[12])::bigint + (f[13])::bigint
    FROM (SELECT regexp_split_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) s
$f$;
-- CPU time of this backend for one statement, in microseconds (10 ms ticks):
-- what the statement cost, whatever share of the cores it got.
CREATE FUNCTION bench_time(q text) RETURNS float8 LANGUAGE plpgsql AS $f$
DECLARE t0 bigint;
BEGIN
  t0 := bench_cpu_ticks();
  EXECUTE q;
  RETURN (bench_cpu_ticks() - t0) * 1e6 / 100;
END
$f$;
SQL
  python3 bench/peer/make_keys.py 1000 7 | sqlb $b -c "COPY bench_keys (id, api_key) FROM STDIN"
  sqlb $b -c "INSERT INTO insight.api_keys (lookup_id, kind, org_id, owner_id, created_by, created_by_label, name, hint, secret_hash)
SELECT split_part(b.api_key, '_', 3), 'user', o.org_id, o.user_id, o.user_id, 'bench', 'bench ' || b.id, left(b.api_key, 12) || '...' || right(b.api_key, 4), public.digest(b.api_key, 'sha256')
  FROM bench_keys b JOIN bench_owner o ON o.i = b.id % 100;" -c "VACUUM ANALYZE"
done
arg="CASE WHEN g > 0 THEN k.api_key END"
lq() { echo "SELECT count(*) FILTER (WHERE v.valid) FROM generate_series(1, 300) g, bench_keys k, LATERAL $1 v"; }
q_empty=$(lq "(SELECT $arg IS NOT NULL AS valid OFFSET 0)")
q_verify=$(lq "insight.verify($arg)")
q_sql=$(lq "peer.verify_sql($arg)")
script="SELECT count(*) FROM bench_keys k, LATERAL insight.verify(k.api_key) v WHERE v.valid;
SELECT 'empty', bench_time(\$q\$$q_empty\$q\$);
SELECT 'hit', bench_time(\$q\$$q_verify\$q\$);
SELECT 'sql', bench_time(\$q\$$q_sql\$q\$);
SET insight.verify_cache_size = 16; SELECT 'miss16', bench_time(\$q\$$q_verify\$q\$);
SET insight.verify_cache_size = 0; SELECT 'miss0', bench_time(\$q\$$q_verify\$q\$); RESET insight.verify_cache_size;"
raw=$(for r in $(seq "$ROUNDS"); do
  for b in new base; do
    echo "$script" | sqlb $b -F ' ' | grep -v '^[0-9]*$' | sed "s/^/$b $r /"
  done
done)
echo "## In-server verify cost, new vs base (bench/ab_inserver.sh)"
echo
echo "CPU µs per call, median of $ROUNDS interleaved rounds (per-round values in brackets); load average $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| loop | new | base | new / base |"
echo "|---|---|---|---|"
for n in hit miss16 miss0 sql; do
  line="| $n"
  meds=()
  for b in new base; do
    vals=$(awk -v b="$b" -v n="$n" '$1 == b && $3 == "empty" {e[$2] = $4} $1 == b && $3 == n {v[$2] = $4}
      END {for (r in v) printf "%.2f\n", (v[r] - e[r]) / 300000}' <<<"$raw" | sort -g)
    m=$(awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}' <<<"$vals")
    meds+=("$m")
    line+=" | $m ($(tr '\n' ' ' <<<"$vals" | sed 's/ $//'))"
  done
  echo "$line | $(awk -v a="${meds[0]}" -v b="${meds[1]}" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}') |"
done
for b in new base; do
  r=$(awk -v b="$b" '$1 == b {v[$2 " " $3] = $4; rs[$2] = 1}
    END {for (r in rs) printf "%.2f\n", (v[r " miss16"] - v[r " empty"]) / (v[r " sql"] - v[r " empty"])}' <<<"$raw" | sort -g |
    awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
  echo
  echo "- $b: miss16 / sql = $r (median of the per-round ratios)"
done
