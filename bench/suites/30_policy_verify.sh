#!/usr/bin/env bash
# 30_policy_verify: the in-server cost of insight.verify for a key in an
# organization with a policy (max_key_lifetime, so the effective expiry is
# computed) against a key in one without, in the same run and backend, in one
# throwaway cluster (port $BENCH_POLICY_PORT, default 55503) that it starts as
# postgres and always stops. Prints a markdown section.
#
# Like the in-server loop of 10_verify.sh: LOOP_REPEAT x LOOP_KEYS calls in one
# statement (LATERAL), minus the same statement without the call; rounds
# interleaved (empty, without, with; then empty, with, without; ...), medians. The cache-hit path is the
# target; the miss path (insight.verify_cache_size = 0) is reported too.
# Knobs: BENCH_ROUNDS (7).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. scripts/common.sh

PORT=${BENCH_POLICY_PORT:-55503}
ROUNDS=${BENCH_ROUNDS:-7}
LOOP_KEYS=1000
LOOP_REPEAT=100

start_throwaway_cluster bench-policy "$PORT" "shared_buffers = 128MB"
sql() { as_pg psql -h "$work" -p "$PORT" -U postgres -d postgres -X -q -At -v ON_ERROR_STOP=1 "$@"; }
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v <= t) ? "met" : "**missed**"}'; }

sql <<EOF
SET client_min_messages = warning;
CREATE EXTENSION insight_keys CASCADE;
CREATE TABLE bench_nopol AS
  SELECT g.api_key FROM (SELECT insight.create_organization('bench-nopol') AS org) o,
       generate_series(1, $LOOP_KEYS) i, LATERAL insight.generate_org_key(o.org, 'k' || i, now() + interval '20 years') g;
CREATE TABLE bench_pol AS
  SELECT g.api_key FROM (SELECT insight.create_organization('bench-pol') AS org) o,
       generate_series(1, $LOOP_KEYS) i, LATERAL insight.generate_org_key(o.org, 'k' || i, now() + interval '20 years') g;
SELECT insight.set_org_policy(id, max_key_lifetime => '3650 days', revoke_unused_after => '365 days')
  FROM insight.organizations WHERE name = 'bench-pol';
ANALYZE bench_nopol, bench_pol;
CREATE FUNCTION bench_time(q text) RETURNS float8 LANGUAGE plpgsql AS \$f\$
DECLARE t0 timestamptz;
BEGIN
  t0 := clock_timestamp();
  EXECUTE q;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6;
END
\$f\$;
EOF
[ "$(sql -c "SELECT count(*) FROM bench_pol k, insight.verify(k.api_key) v WHERE v.code = 'VALID' AND v.expires_at IS NOT NULL")" = "$LOOP_KEYS" ] \
  || { echo "policy keys do not verify with an effective expiry" >&2; exit 1; }

arg="CASE WHEN g > 0 THEN k.api_key END"
loop_q() { echo "SELECT count(*) FILTER (WHERE v.valid) FROM generate_series(1, $LOOP_REPEAT) g, $1 k, LATERAL $2 v"; }
q_empty=$(loop_q bench_nopol "(SELECT $arg IS NOT NULL AS valid OFFSET 0)")
q_nopol=$(loop_q bench_nopol "insight.verify($arg)")
q_pol=$(loop_q bench_pol "insight.verify($arg)")
declare -A loop
round() {  # the two orders alternate between rounds, so neither always runs first
  local order="nopol pol" in="" n
  [ $(($1 % 2)) -eq 0 ] && order="pol nopol"
  for n in empty $order; do
    local q="q_$n"
    in+="SELECT '$n', bench_time(\$q\$${!q}\$q\$);"$'\n'
  done
  in+="SET insight.verify_cache_size = 0;"$'\n'
  for n in $order; do
    local q="q_$n"
    in+="SELECT 'miss_$n', bench_time(\$q\$${!q}\$q\$);"$'\n'
  done
  in+="RESET insight.verify_cache_size;"$'\n'
  echo "$in"
}
run_loops() {
  { echo "SELECT count(*) FROM bench_nopol k, LATERAL insight.verify(k.api_key) v WHERE v.valid;"
    echo "SELECT count(*) FROM bench_pol k, LATERAL insight.verify(k.api_key) v WHERE v.valid;"
    for r in $(seq "$ROUNDS"); do round "$r"; done; } | sql -F ' '
}
while read -r n us; do
  [ -n "${us:-}" ] && loop[$n]+="$us "
done < <(run_loops)
lmed() { echo "${loop[$1]}" | tr ' ' '\n' | grep . | median; }
calls=$((LOOP_KEYS * LOOP_REPEAT))
per() { awk -v a="$(lmed "$1")" -v b="$(lmed empty)" -v n="$calls" 'BEGIN {printf "%.3f", (a - b) / n}'; }
us_nopol=$(per nopol) us_pol=$(per pol) us_miss_nopol=$(per miss_nopol) us_miss_pol=$(per miss_pol)
r_hit=$(ratio "$us_pol" "$us_nopol") r_miss=$(ratio "$us_miss_pol" "$us_miss_nopol")

cat <<EOF
## Verify with an organization policy (bench/suites/30_policy_verify.sh)

$LOOP_KEYS organization keys in an organization without a policy and $LOOP_KEYS in one with
max_key_lifetime, all with a stored expiry in 20 years (so both answers carry an expiry: the
stored one without the policy, created_at + the 10-year lifetime with it);
$calls calls per statement, in one backend, $ROUNDS interleaved rounds, medians.

| target | measured | result |
|---|---|---|
| verify of a key in an organization with a policy ≤ 1.05 × without (in-server, cache hit) | $us_pol µs vs $us_nopol µs = **$r_hit ×** | $(verdict "$r_hit" 1.05) |
| (cache miss path, insight.verify_cache_size = 0: one more index probe, of org_policies_t) | $us_miss_pol µs vs $us_miss_nopol µs = $r_miss × | — |
EOF
