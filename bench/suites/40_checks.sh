#!/usr/bin/env bash
# 40_checks: insight.check of a narrowed key (max_role, 5 scopes, 3 CIDRs and
# a rate limit) against insight.verify of a plain key, and the rate limit's
# exactness under 4 concurrent clients, in one throwaway cluster (port
# $BENCH_CHECK_PORT, default 25504) that it starts as postgres and always
# stops. Prints a markdown section.
#
#   (1) In-server cost on a cache hit, as in 10_verify.sh: LOOP_REPEAT x
#       LOOP_KEYS calls in one statement (LATERAL) minus the same statement
#       without the call, in one backend. Each round times every variant
#       twice, in mirrored order (empty, A, B, ..., B, A, empty), so a drift
#       during the round weighs on all of them alike; the figures are the
#       medians over the rounds of each round's cost and of each round's ratio.
#       The target's rate limit is large enough never to refuse.
#   (2) pgbench -c 4 against one key with a limit of BENCH_CHECK_LIMIT per
#       hour, 2 x the limit requests per run (all in its first window): each
#       answer is counted in a sequence (VALID, RATE_LIMITED, other), and
#       exactly the limit must be VALID; throughput against the same script
#       and key with its rate limit removed, rounds interleaved. Beside the
#       TPS, the server's CPU time per check in each run (utime + stime of the
#       cluster's processes, the exited backends' included: what other
#       processes take from the cores leaves it alone, where it decides TPS).
# Knobs: BENCH_CHECK_ROUNDS (11), BENCH_RATE_ROUNDS (5), BENCH_CHECK_LIMIT (10000).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/common.sh
. bench/lib.sh

PORT=${BENCH_CHECK_PORT:-25504}
LOOP_ROUNDS=${BENCH_CHECK_ROUNDS:-11}
RATE_ROUNDS=${BENCH_RATE_ROUNDS:-5}
LIMIT=${BENCH_CHECK_LIMIT:-10000}
LOOP_KEYS=1000
LOOP_REPEAT=100
CLIENTS=4

start_throwaway_cluster bench-checks "$PORT" "shared_buffers = 128MB"
sql() { as_pg psql -h "$work" -p "$PORT" -U postgres -d postgres -X -q -At -v ON_ERROR_STOP=1 "$@"; }
pgb() { as_pg pgbench -U postgres -h "$work" -p "$PORT" -n -M prepared "$@" postgres 2>&1; }
tps_of() { sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1; }
fmt() { awk -v v="$1" -v d="${2:-2}" 'BEGIN {printf "%.*f", d, v}'; }

# The narrowed key's settings: the permission asked matches only the last
# scope and the address only the last CIDR, so every entry is looked at.
SCOPES='["logs:*", "alerts:read", "cases:write", "reports:*", "investigations:read"]'
CIDRS='["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"]'
NARROW="{\"max_role\": \"read_write\", \"scopes\": $SCOPES, \"allowed_cidrs\": $CIDRS}"
PERM=investigations:read
ADDR=2001:db8::1

{ sql <<EOF
SET client_min_messages = warning;
CREATE EXTENSION insight_keys CASCADE;
$(bench_clock_sql)
SELECT insight.create_organization('bench-checks') AS org \gset
CREATE TABLE bench_plain AS
  SELECT g.key_id, g.api_key FROM generate_series(1, $LOOP_KEYS) i,
       LATERAL insight.generate_org_key(:'org', 'plain ' || i) g;
CREATE TABLE bench_narrow AS
  SELECT g.key_id, g.api_key FROM generate_series(1, $LOOP_KEYS) i,
       LATERAL insight.generate_org_key(:'org', 'narrow ' || i) g;
CREATE TABLE bench_nolimit AS
  SELECT g.key_id, g.api_key FROM generate_series(1, $LOOP_KEYS) i,
       LATERAL insight.generate_org_key(:'org', 'narrow, no limit ' || i) g;
SELECT count(insight.configure_key(key_id, '$NARROW'::jsonb
         || '{"rate_limit": {"limit": 2000000000, "window": "1 day"}}')) FROM bench_narrow;
SELECT count(insight.configure_key(key_id, '$NARROW')) FROM bench_nolimit;
-- The key of the concurrency runs, and what counts its answers.
SELECT key_id, api_key FROM insight.generate_org_key(:'org', 'concurrent') \gset conc_
CREATE TABLE bench_conc AS SELECT :'conc_key_id'::uuid AS key_id, :'conc_api_key'::text AS api_key;
SELECT insight.configure_key(:'conc_key_id', '$NARROW');
CREATE SEQUENCE bench_n_valid;
CREATE SEQUENCE bench_n_limited;
CREATE SEQUENCE bench_n_other;
ANALYZE bench_plain, bench_narrow, bench_nolimit;
EOF
} >/dev/null
conc_id=$(sql -c "SELECT key_id FROM bench_conc")
conc_key=$(sql -c "SELECT api_key FROM bench_conc")
[ "$(sql -c "SELECT count(*) FROM bench_narrow k, insight.check(k.api_key, '$PERM', '$ADDR') c
             WHERE c.code = 'VALID' AND c.role = 'read_write' AND c.rate_limit_remaining > 0")" = "$LOOP_KEYS" ] \
  || { echo "narrowed keys do not check VALID with a rate limit" >&2; exit 1; }
[ "$(sql -c "SELECT count(*) FROM bench_plain k, insight.verify(k.api_key) v WHERE v.code = 'VALID'")" = "$LOOP_KEYS" ] \
  || { echo "plain keys do not verify" >&2; exit 1; }

# ---------------------------------------------------------------- (1) in-server cost
arg="CASE WHEN g > 0 THEN k.api_key END"
loop_q() { echo "SELECT count(*) FILTER (WHERE v.valid) FROM generate_series(1, $LOOP_REPEAT) g, $1 k, LATERAL $2 v"; }
declare -A q
q[empty]=$(loop_q bench_plain "(SELECT $arg IS NOT NULL AS valid OFFSET 0)")
q[verify]=$(loop_q bench_plain "insight.verify($arg)")
q[check]=$(loop_q bench_narrow "insight.check($arg, '$PERM', '$ADDR')")
q[check_nolimit]=$(loop_q bench_nolimit "insight.check($arg, '$PERM', '$ADDR')")
q[check_plain]=$(loop_q bench_plain "insight.check($arg, '$PERM', '$ADDR')")
variants=(verify check check_nolimit check_plain)
round_sql() {  # round number -> statements; the order of the variants rotates between rounds
  local r=$1 n i order=()
  for i in "${!variants[@]}"; do order+=("${variants[$(((i + r) % ${#variants[@]}))]}"); done
  local seq=(empty "${order[@]}")
  for ((i = ${#order[@]} - 1; i >= 0; i--)); do seq+=("${order[$i]}"); done
  seq+=(empty)
  for n in "${seq[@]}"; do
    echo "SELECT $r, '$n', wall_us, coalesce(cpu_us, -1) FROM bench_clock(\$q\$${q[$n]}\$q\$);"
  done
}
{ for n in empty "${variants[@]}"; do echo "SELECT count(*) FROM (${q[$n]}) w;"; done  # warm: every key cached, every limit entry made
  for r in $(seq "$LOOP_ROUNDS"); do round_sql "$r"; done; } | sql -F ' ' >"$work/loops.txt"
grep -q . "$work/loops.txt" || { echo "no loop timings" >&2; exit 1; }
calls=$((LOOP_KEYS * LOOP_REPEAT))
# Per round and variant: (sum of its two timings - the two empty ones) / calls, in µs.
per_round() {  # column (3 wall, 4 cpu) variant -> the per-round costs
  awk -v col="$1" -v want="$2" -v n="$calls" 'NF == 4 { t[$1, $2] += $col; rs[$1] = 1 }
    END { for (r in rs) printf "%s %.4f\n", r, (t[r, want] - t[r, "empty"]) / 2 / n }' "$work/loops.txt" |
    sort -n | awk '{printf "%s ", $2}'
}
have_cpu=$(awk 'NF == 4 && $4 < 0 {bad = 1} END {print bad ? 0 : 1}' "$work/loops.txt")
declare -A cost_wall cost_cpu
for v in "${variants[@]}"; do
  cost_wall[$v]=$(per_round 3 "$v")
  # shellcheck disable=SC2034  # cost_cpu is read through the nameref cost below
  [ "$have_cpu" = 1 ] && cost_cpu[$v]=$(per_round 4 "$v")
done
# The verdicts are taken on the run time when the kernel gives it (what
# other processes take from the backend is then left out), else on wall time.
if [ "$have_cpu" = 1 ]; then
  basis="backend's run time (wall clock minus its waits for a core, from /proc/self/schedstat)"
  declare -n cost=cost_cpu
else
  basis="wall-clock time (no /proc/self/schedstat)"
  declare -n cost=cost_wall
fi
med_cost() { fmt "$(median_of "${cost[$1]}")"; }
us_verify=$(med_cost verify) us_check=$(med_cost check) us_nolimit=$(med_cost check_nolimit) us_cplain=$(med_cost check_plain)
w_verify=$(fmt "$(median_of "${cost_wall[verify]}")") w_check=$(fmt "$(median_of "${cost_wall[check]}")")
r_rounds=$(pairwise ratio "${cost[check]}" "${cost[verify]}")
r_check=$(fmt "$(median_of "$r_rounds")")
r_limit_rounds=$(pairwise ratio "${cost[check]}" "${cost[check_nolimit]}")
r_limit=$(fmt "$(median_of "$r_limit_rounds")")
s_check=$(iqr_spread_of "${cost[check]}") s_ratio=$(iqr_spread_of "$r_rounds")
rounds_list() { tr ' ' '\n' <<<"$1" | grep . | awk '{printf "%s%.2f", (NR > 1 ? ", " : ""), $1}'; }

# ---------------------------------------------------------------- (2) exactness and throughput, 4 clients
cat >"$work/conc.sql" <<EOF
SELECT CASE c.code WHEN 'VALID' THEN nextval('bench_n_valid') WHEN 'RATE_LIMITED' THEN nextval('bench_n_limited')
       ELSE nextval('bench_n_other') END FROM insight.check(:k, :perm, :addr) c;
EOF
chown "$PG_USER" "$work/conc.sql" 2>/dev/null || true
per_client=$((LIMIT * 2 / CLIENTS))
total=$((per_client * CLIENTS))
reset_counts() { sql -c "SELECT setval(s, 1, false) FROM unnest(ARRAY['bench_n_valid', 'bench_n_limited', 'bench_n_other']::regclass[]) s" >/dev/null; }
counts() {  # valid limited other
  sql -F ' ' -c "SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM bench_n_valid),
                        (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM bench_n_limited),
                        (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM bench_n_other)"
}
# (pgbench reads ":name" in the script as a variable: the permission and the
# address are passed as variables, hence as parameters.)
run_conc() { pgb -c "$CLIENTS" -j 2 -t "$per_client" -D k="$conc_key" -D perm="$PERM" -D addr="$ADDR" -f "$work/conc.sql" | tps_of; }
# CPU of the cluster in clock ticks: the postmaster's reaped children (fields
# 16-17 of /proc/PID/stat) and its live processes (14-15). Called when no
# client is connected, after the last run's backends have exited.
pm=$(head -1 "$data/postmaster.pid")
idle_children=""
cluster_ticks() {
  local n i c
  for i in $(seq 100); do  # the backends of the last run exit and are reaped
    n=$(pgrep -P "$pm" | wc -l)
    [ -z "$idle_children" ] || [ "$n" -le "$idle_children" ] && break
    sleep 0.02
  done
  c=$(awk '{print $16 + $17}' "/proc/$pm/stat")
  for i in $(pgrep -P "$pm"); do
    c=$((c + $(awk '{print $14 + $15}' "/proc/$i/stat" 2>/dev/null || echo 0)))
  done
  echo "$c"
}
idle_children=$(pgrep -P "$pm" | wc -l)
hz=$(getconf CLK_TCK)
reset_counts
run_conc >/dev/null  # warm up, without a limit
tps_lim="" tps_free="" cpu_lim="" cpu_free="" exact_rounds="" all_exact=1
for r in $(seq "$RATE_ROUNDS"); do
  runs="limited free"
  [ $((r % 2)) -eq 0 ] && runs="free limited"
  for v in $runs; do
    if [ "$v" = limited ]; then
      # A window of its own each round: a changed limit starts a new window.
      sql -c "SELECT insight.configure_key('$conc_id', '{\"rate_limit\": {\"limit\": $LIMIT, \"window\": \"$((3600 + r)) seconds\"}}')" >/dev/null
    else
      sql -c "SELECT insight.configure_key('$conc_id', '{\"rate_limit\": null}')" >/dev/null
    fi
    reset_counts
    c0=$(cluster_ticks)
    t=$(run_conc)
    [ -n "$t" ] || { echo "pgbench failed" >&2; exit 1; }
    us_tx=$(awk -v d="$(($(cluster_ticks) - c0))" -v hz="$hz" -v n="$total" 'BEGIN {printf "%.2f", d / hz * 1e6 / n}')
    read -r nv nl no <<<"$(counts)"
    if [ "$v" = limited ]; then
      tps_lim+="$t " cpu_lim+="$us_tx "
      exact_rounds+="$nv/$nl/$no "
      [ "$nv" = "$LIMIT" ] && [ "$nl" = $((total - LIMIT)) ] && [ "$no" = 0 ] || all_exact=0
    else
      tps_free+="$t " cpu_free+="$us_tx "
      { [ "$nv" = "$total" ] && [ "$no" = 0 ]; } || { echo "without a limit: $nv VALID, $nl limited, $no other of $total" >&2; exit 1; }
    fi
  done
done
tput_rounds=$(pairwise ratio "$tps_lim" "$tps_free")
r_tput=$(fmt "$(median_of "$tput_rounds")")
s_tput=$(spread_of <<<"$tput_rounds")
tl=$(fmt "$(median_of "$tps_lim")" 0) tf=$(fmt "$(median_of "$tps_free")" 0)
# Throughput the CPU allows, free / limited CPU per check: the same direction as the TPS ratio.
cpu_rounds=$(pairwise ratio "$cpu_free" "$cpu_lim")
r_cpu=$(fmt "$(median_of "$cpu_rounds")") s_cpu=$(spread_of <<<"$cpu_rounds")
cl=$(fmt "$(median_of "$cpu_lim")") cf=$(fmt "$(median_of "$cpu_free")")
refused_full=$(sql -c "SELECT rate_limit_refused_full FROM insight.stats")
exact_verdict=$([ "$all_exact" = 1 ] && echo met || echo "**missed**")

cat <<EOF
## Request checks (bench/suites/40_checks.sh)

In-server cost on a cache hit: $LOOP_KEYS organization keys per variant, $calls calls per
statement (LATERAL, minus the same statement without the call), in one backend; $LOOP_ROUNDS
rounds, each timing every variant twice in mirrored order; medians over the rounds of the
per-round costs and of the per-round ratios, on the $basis.
"check" is \`insight.check(k, '$PERM', '$ADDR')\` of a key with \`max_role\` read_write,
5 scopes, 3 CIDRs (the permission matches the last scope, the address the last CIDR) and a
rate limit of 2,000,000,000 per day. Spread: the middle half of the rounds (interquartile range / median).

| target | measured | result |
|---|---|---|
| check of the narrowed key ≤ 1.5 µs in-server (cache hit) | **$us_check µs** (wall clock $w_check µs) | $(judge "$us_check" 1.5 "<=" "$s_check") |
| check of the narrowed key ≤ 1.3 × verify of a plain key (same run) | $us_check µs vs $us_verify µs (wall $w_check vs $w_verify): **$r_check ×** | $(judge "$r_check" 1.3 "<=" "$s_ratio") |
| (reference) the same key's settings without the rate limit | $us_nolimit µs: the rate limit costs $r_limit × | — |
| (reference) check of a plain key (no settings) | $us_cplain µs | — |

Per-round ratios check / verify: $(rounds_list "$r_rounds").

Rate limit under $CLIENTS clients: \`pgbench -M prepared -c $CLIENTS -j 2 -t $per_client\` ($total checks per run)
of one key with the same settings, limited to $LIMIT per hour (a new window each round), all
answers counted in sequences; against the same script and key with its \`rate_limit\` removed;
$RATE_ROUNDS rounds, order alternating, median of the per-round ratios.

| target | measured | result |
|---|---|---|
| exactly the limit allowed in the window, 4 concurrent clients | VALID / RATE_LIMITED / other per round: $exact_rounds(expected $LIMIT/$((total - LIMIT))/0) | $exact_verdict |
| throughput with the limit ≥ 0.9 × the same key without | $tl vs $tf TPS: **$r_tput ×** (rounds $(rounds_list "$tput_rounds")) | $(judge "$r_tput" 0.9 ">=" "$s_tput") |
| the same on the server's CPU time per check (the throughput it allows, with the limit / without) | $cl µs with the limit vs $cf µs without: **$r_cpu ×** (rounds $(rounds_list "$cpu_rounds")) | $(judge "$r_cpu" 0.9 ">=" "$s_cpu") |

Requests refused because the rate-limit table was full: $refused_full.
EOF
