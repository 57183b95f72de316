#!/usr/bin/env bash
# 31_policy_verify: the in-server cost of insight.verify for a key in an
# organization with a policy (max_key_lifetime, so the effective expiry is
# computed) against a key in one without, in the same run and backend, in one
# throwaway cluster (port $BENCH_POLICY_PORT, default 25503) that it starts as
# postgres and always stops. Prints a markdown section.
#
# Like the in-server loop of 10_verify.sh: LOOP_REPEAT x LOOP_KEYS calls in one
# statement (LATERAL), minus the same statement without the call. Many short
# rounds instead of a few long ones: each round times empty, A, B, B, A, empty
# (A and B swapping between rounds), so a drift within the round weighs on both
# alike, and the figure is the median over the rounds of each round's own
# ratio, so a round that other processes disturbed moves it by one rank, not
# by its size. Times are the backend's run time (bench/lib.sh, bench_clock)
# where the kernel gives it. The cache-hit path is the target; the miss path
# (insight.verify_cache_size = 0, fewer calls) is timed in the same rounds.
# Knobs: BENCH_POLICY_ROUNDS (21).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/common.sh
. bench/lib.sh

PORT=${BENCH_POLICY_PORT:-25503}
ROUNDS=${BENCH_POLICY_ROUNDS:-21}
LOOP_KEYS=1000
LOOP_REPEAT=100
MISS_REPEAT=10

start_throwaway_cluster bench-policy "$PORT" "shared_buffers = 128MB"
sql() { as_pg psql -h "$work" -p "$PORT" -U postgres -d postgres -X -q -At -v ON_ERROR_STOP=1 "$@"; }
fmt() { awk -v v="$1" -v d="${2:-3}" 'BEGIN {printf "%.*f", d, v}'; }

sql >/dev/null <<EOF
SET client_min_messages = warning;
CREATE EXTENSION insight_keys CASCADE;
$(bench_clock_sql)
CREATE TABLE bench_nopol AS
  SELECT g.api_key FROM (SELECT insight.create_organization('bench-nopol') AS org) o,
       generate_series(1, $LOOP_KEYS) i, LATERAL insight.generate_org_key(o.org, 'k' || i, now() + interval '20 years') g;
CREATE TABLE bench_pol AS
  SELECT g.api_key FROM (SELECT insight.create_organization('bench-pol') AS org) o,
       generate_series(1, $LOOP_KEYS) i, LATERAL insight.generate_org_key(o.org, 'k' || i, now() + interval '20 years') g;
SELECT insight.set_org_policy(id, max_key_lifetime => '3650 days', revoke_unused_after => '365 days')
  FROM insight.organizations WHERE name = 'bench-pol';
ANALYZE bench_nopol, bench_pol;
EOF
[ "$(sql -c "SELECT count(*) FROM bench_pol k, insight.verify(k.api_key) v WHERE v.code = 'VALID' AND v.expires_at IS NOT NULL")" = "$LOOP_KEYS" ] \
  || { echo "policy keys do not verify with an effective expiry" >&2; exit 1; }

arg="CASE WHEN g > 0 THEN k.api_key END"
loop_q() { echo "SELECT count(*) FILTER (WHERE v.valid) FROM generate_series(1, $3) g, $1 k, LATERAL $2 v"; }
declare -A q
q[empty]=$(loop_q bench_nopol "(SELECT $arg IS NOT NULL AS valid OFFSET 0)" $LOOP_REPEAT)
q[nopol]=$(loop_q bench_nopol "insight.verify($arg)" $LOOP_REPEAT)
q[pol]=$(loop_q bench_pol "insight.verify($arg)" $LOOP_REPEAT)
q[miss_empty]=$(loop_q bench_nopol "(SELECT $arg IS NOT NULL AS valid OFFSET 0)" $MISS_REPEAT)
q[miss_nopol]=$(loop_q bench_nopol "insight.verify($arg)" $MISS_REPEAT)
q[miss_pol]=$(loop_q bench_pol "insight.verify($arg)" $MISS_REPEAT)
timed() { echo "SELECT $1, '$2', wall_us, coalesce(cpu_us, -1) FROM bench_clock(\$q\$${q[$2]}\$q\$);"; }
round() {  # round number -> statements
  local a=nopol b=pol
  [ $(($1 % 2)) -eq 0 ] && a=pol b=nopol
  for n in empty $a $b $b $a empty; do timed "$1" "$n"; done
  echo "SET insight.verify_cache_size = 0;"
  for n in miss_empty miss_$a miss_$b miss_$b miss_$a miss_empty; do timed "$1" "$n"; done
  echo "RESET insight.verify_cache_size;"
}
{ echo "SELECT count(*) FROM bench_nopol k, LATERAL insight.verify(k.api_key) v WHERE v.valid;"
  echo "SELECT count(*) FROM bench_pol k, LATERAL insight.verify(k.api_key) v WHERE v.valid;"
  for r in $(seq "$ROUNDS"); do round "$r"; done; } | sql -F ' ' >"$work/loops.txt"
grep -q . "$work/loops.txt" || { echo "no loop timings" >&2; exit 1; }
have_cpu=$(awk 'NF == 4 && $4 < 0 {bad = 1} END {print bad ? 0 : 1}' "$work/loops.txt")
col=4 basis="backend's run time (wall clock minus its waits for a core, from /proc/self/schedstat)"
[ "$have_cpu" = 1 ] || { col=3; basis="wall-clock time (no /proc/self/schedstat)"; }
per_round() {  # column variant empty calls -> the per-round µs per call
  awk -v col="$1" -v want="$2" -v base="$3" -v n="$4" 'NF == 4 { t[$1, $2] += $col; rs[$1] = 1 }
    END { for (r in rs) printf "%s %.4f\n", r, (t[r, want] - t[r, base]) / 2 / n }' "$work/loops.txt" |
    sort -n | awk '{printf "%s ", $2}'
}
hit_calls=$((LOOP_KEYS * LOOP_REPEAT)) miss_calls=$((LOOP_KEYS * MISS_REPEAT))
nopol=$(per_round $col nopol empty $hit_calls) pol=$(per_round $col pol empty $hit_calls)
miss_nopol=$(per_round $col miss_nopol miss_empty $miss_calls) miss_pol=$(per_round $col miss_pol miss_empty $miss_calls)
w_nopol=$(per_round 3 nopol empty $hit_calls) w_pol=$(per_round 3 pol empty $hit_calls)
rr_hit=$(pairwise ratio "$pol" "$nopol") rr_miss=$(pairwise ratio "$miss_pol" "$miss_nopol")
rr_wall=$(pairwise ratio "$w_pol" "$w_nopol")
r_hit=$(fmt "$(median_of "$rr_hit")") r_miss=$(fmt "$(median_of "$rr_miss")") r_wall=$(fmt "$(median_of "$rr_wall")")
s_hit=$(iqr_spread_of "$rr_hit")
us_nopol=$(fmt "$(median_of "$nopol")") us_pol=$(fmt "$(median_of "$pol")")
us_miss_nopol=$(fmt "$(median_of "$miss_nopol")" 2) us_miss_pol=$(fmt "$(median_of "$miss_pol")" 2)
quartiles() {  # "v1 v2 ..." -> "min / Q1 / median / Q3 / max"
  tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR] = $1} END {
    k = int((NR + 3) / 4); m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.3f / %.3f / %.3f / %.3f / %.3f", v[1], v[k], m, v[NR + 1 - k], v[NR] }'
}

cat <<EOF
## Verify with an organization policy (bench/suites/31_policy_verify.sh)

$LOOP_KEYS organization keys in an organization without a policy and $LOOP_KEYS in one with
max_key_lifetime, all with a stored expiry in 20 years (so both answers carry an expiry: the
stored one without the policy, created_at + the 10-year lifetime with it);
$hit_calls calls per statement, in one backend, $ROUNDS rounds of empty, A, B, B, A, empty (A and B
swapping between rounds); the median of the per-round ratios, on the $basis.
Spread: the middle half of the rounds (interquartile range / median).

| target | measured | result |
|---|---|---|
| verify of a key in an organization with a policy ≤ 1.05 × without (in-server, cache hit) | $us_pol µs vs $us_nopol µs (medians); per-round ratios min / Q1 / median / Q3 / max: $(quartiles "$rr_hit"): **$r_hit ×** | $(judge "$r_hit" 1.05 "<=" "$s_hit") |
| (the same rounds on wall-clock time) | median of the per-round ratios $r_wall × | — |
| (cache miss path, insight.verify_cache_size = 0, $miss_calls calls: one more index probe, of org_policies_t) | $us_miss_pol µs vs $us_miss_nopol µs: $r_miss × | — |
EOF
