#!/usr/bin/env bash
# 41_app_rls: the principal in the application's own row-level security, in
# one throwaway cluster (port $BENCH_RLS_PORT, default 25505) that it starts
# as postgres and always stops. Prints a markdown section.
#
# The README's worked example: app.investigations, BENCH_RLS_ROWS rows spread
# evenly over BENCH_RLS_ORGS organizations, and `SELECT count(*) FROM
# app.investigations` under three principals, on the same table:
#   key    role bench_app, insight.authenticate of an organization key of the
#          first organization scoped ["investigations:read"], policy
#          USING (insight.acts_in_org(org_id) AND insight.has_scope('investigations:read'))
#   user   role bench_app, insight.act_as of a read_write member of that
#          organization only, the same policy
#   const  role bench_const, policy USING (org_id = '<the first organization>')
# (each policy is TO its role, so the same query text gets one or the other).
# All three count the same rows with the same plan shape (checked and printed):
# serial plans (max_parallel_workers_per_gather = 0) for the targets, on the
# backend's run time (bench/lib.sh); then, for reference, parallel plans on wall time.
# Rounds time every variant twice in mirrored order (key, user, const, const,
# user, key, the first variant rotating); medians of the per-round ratios. A
# round 0 runs first and is not counted (the first timed statements of a
# backend ran up to 2 x slower, whichever variant they were).
# Knobs: BENCH_RLS_ROUNDS (7), BENCH_RLS_ROWS (1000000), BENCH_RLS_ORGS (2),
# BENCH_RLS_PARALLEL_ROUNDS (2; 0 skips the parallel reference).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/common.sh
. bench/lib.sh

PORT=${BENCH_RLS_PORT:-25505}
ROUNDS=${BENCH_RLS_ROUNDS:-7}
ROWS=${BENCH_RLS_ROWS:-1000000}
ORGS=${BENCH_RLS_ORGS:-2}
PAR_ROUNDS=${BENCH_RLS_PARALLEL_ROUNDS:-2}
REPS=2  # counts per timed statement

start_throwaway_cluster bench-rls "$PORT" "shared_buffers = 256MB
max_parallel_workers_per_gather = 0"
sql() { as_pg psql -h "$work" -p "$PORT" -U postgres -d postgres -X -q -At -v ON_ERROR_STOP=1 "$@"; }
fmt() { awk -v v="$1" -v d="${2:-2}" 'BEGIN {printf "%.*f", d, v}'; }

{ sql <<EOF
SET client_min_messages = warning;
CREATE EXTENSION insight_keys CASCADE;
CREATE EXTENSION pg_prewarm;
$(bench_clock_sql)
CREATE ROLE bench_app NOLOGIN;
GRANT insight_trusted_app TO bench_app;
CREATE ROLE bench_const NOLOGIN;
CREATE TABLE bench_orgs (n int PRIMARY KEY, org_id uuid NOT NULL);
INSERT INTO bench_orgs SELECT n, insight.create_organization('bench-rls-' || n) FROM generate_series(0, $ORGS - 1) n;
SELECT org_id AS org FROM bench_orgs WHERE n = 0 \gset
SELECT insight.create_user('reader@example.com') AS reader \gset
SELECT insight.set_membership(:'reader', :'org', 'read_write');
SELECT key_id AS key_id, api_key AS api_key FROM insight.generate_org_key(:'org', 'investigations reader') \gset
SELECT insight.configure_key(:'key_id', '{"scopes": ["investigations:read"]}');
CREATE TABLE bench_principals AS SELECT :'org'::uuid AS org, :'reader'::uuid AS reader, :'api_key'::text AS api_key;

-- The README's example, as written there.
CREATE SCHEMA app;
CREATE TABLE app.investigations (
  id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org_id  uuid NOT NULL,
  title   text NOT NULL,
  created_by uuid
);
ALTER TABLE app.investigations ENABLE ROW LEVEL SECURITY;
GRANT USAGE ON SCHEMA app TO bench_app, bench_const;
GRANT SELECT ON app.investigations TO bench_app, bench_const;
CREATE POLICY investigations_read ON app.investigations FOR SELECT TO bench_app
  USING (insight.acts_in_org(org_id) AND insight.has_scope('investigations:read'));
-- The baseline: the same rows, by a constant.
SELECT format('CREATE POLICY investigations_const ON app.investigations FOR SELECT TO bench_const USING (org_id = %L::uuid)', :'org') \gexec
INSERT INTO app.investigations (org_id, title)
  SELECT o.org_id, 'investigation ' || i FROM generate_series(1, $ROWS) i JOIN bench_orgs o ON o.n = i % $ORGS;
VACUUM (FREEZE, ANALYZE) app.investigations;
SELECT pg_prewarm('app.investigations');
EOF
} >/dev/null
IFS='|' read -r org reader api_key <<<"$(sql -c "SELECT org, reader, api_key FROM bench_principals")"
expected=$(sql -c "SELECT count(*) FROM app.investigations WHERE org_id = '$org'")

Q="SELECT count(*) FROM app.investigations"
# The statements that make each variant's principal, and undo it.
enter() {
  case $1 in
    key) echo "SET ROLE bench_app; SELECT count(*) FROM insight.authenticate('$api_key', 'session');" ;;
    user) echo "SET ROLE bench_app; SELECT insight.act_as('$reader', 'session');" ;;
    const) echo "SET ROLE bench_const;" ;;
  esac
}
leave() {
  case $1 in
    key | user) echo "SELECT insight.reset_principal(); RESET ROLE;" ;;
    const) echo "RESET ROLE;" ;;
  esac
}
variants=(key user const)
# Sanity and plan shape, per variant and mode: the count, and the plan's
# nodes with their filters, one line.
plans() {  # parallel workers -> "variant|count|plan" lines
  local v
  for v in "${variants[@]}"; do
    { echo "SET max_parallel_workers_per_gather = $1;"
      [ "$1" -gt 0 ] && echo "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;"
      enter "$v"
      echo "SELECT 'C', ($Q);"
      echo "EXPLAIN (COSTS OFF) $Q;"
      leave "$v"
    } | sql | awk -v v="$v" '/^C\|/ {split($0, a, "|"); c = a[2]; next}
        /^[0-9]*$/ {next}
        {gsub(/^ +/, ""); gsub(/^-> +/, ""); p = p (p ? " → " : "") $0}
        END {print v "|" c "|" p}'
  done
}
serial_plans=$(plans 0)
par_plans=""
[ "$PAR_ROUNDS" -gt 0 ] && par_plans=$(plans 2)
while IFS='|' read -r v c _; do
  [ "$c" = "$expected" ] || { echo "$v counts $c rows, expected $expected" >&2; exit 1; }
done <<<"$serial_plans
$par_plans"

round_sql() {  # round mode(0 or workers) -> statements
  local r=$1 w=$2 i order=() n
  for i in "${!variants[@]}"; do order+=("${variants[$(((i + r) % ${#variants[@]}))]}"); done
  local seq=("${order[@]}")
  for ((i = ${#order[@]} - 1; i >= 0; i--)); do seq+=("${order[$i]}"); done
  echo "SET max_parallel_workers_per_gather = $w;"
  [ "$w" -gt 0 ] && echo "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;"
  for n in "${seq[@]}"; do
    enter "$n"
    echo "SELECT 'T', $r, '$n', wall_us, coalesce(cpu_us, -1) FROM bench_clock(\$q\$$Q\$q\$, $REPS);"
    leave "$n"
  done
  echo "RESET max_parallel_workers_per_gather; RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;"
}
timings() {  # rounds workers -> "T round variant wall cpu" lines
  { for n in "${variants[@]}"; do enter "$n"; echo "SELECT count(*) FROM ($Q) w;"; leave "$n"; done  # warm
    for r in $(seq 0 "$1"); do round_sql "$r" "$2"; done; } | sql -F ' ' | grep '^T ' | awk '$2 > 0'
}
timings "$ROUNDS" 0 >"$work/serial.txt"
[ "$PAR_ROUNDS" -gt 0 ] && timings "$PAR_ROUNDS" 2 >"$work/parallel.txt"
have_cpu=$(awk '$5 < 0 {bad = 1} END {print bad ? 0 : 1}' "$work/serial.txt")

per_round() {  # file column(4 wall, 5 cpu) variant -> per-round ms per count
  awk -v col="$2" -v want="$3" -v reps="$REPS" '$3 == want { t[$2] += $col }
    END { for (r in t) printf "%s %.3f\n", r, t[r] / 2 / reps / 1000 }' "$1" | sort -n | awk '{printf "%s ", $2}'
}
col=5 basis="backend's run time (wall clock minus its waits for a core, from /proc/self/schedstat)"
[ "$have_cpu" = 1 ] || { col=4; basis="wall-clock time (no /proc/self/schedstat)"; }
declare -A ms wall_ms par_ms
for v in "${variants[@]}"; do
  ms[$v]=$(per_round "$work/serial.txt" "$col" "$v")
  wall_ms[$v]=$(per_round "$work/serial.txt" 4 "$v")
  [ "$PAR_ROUNDS" -gt 0 ] && par_ms[$v]=$(per_round "$work/parallel.txt" 4 "$v")
done
med() { fmt "$(median_of "$1")" "${2:-1}"; }
rr_key=$(pairwise ratio "${ms[key]}" "${ms[const]}") rr_user=$(pairwise ratio "${ms[user]}" "${ms[const]}")
r_key=$(med "$rr_key" 2) r_user=$(med "$rr_user" 2)
s_key=$(iqr_spread_of "$rr_key") s_user=$(iqr_spread_of "$rr_user")
rounds_list() { tr ' ' '\n' <<<"$1" | grep . | awk '{printf "%s%.2f", (NR > 1 ? ", " : ""), $1}'; }
plan_of() { grep "^$1|" <<<"$2" | cut -d'|' -f3; }

cat <<EOF
## Application row-level security (bench/suites/41_app_rls.sh)

\`$Q\` over $ROWS rows of the README's \`app.investigations\`, spread evenly over $ORGS
organizations; each principal sees the first organization's $expected rows. One backend;
$ROUNDS rounds, each timing every variant twice in mirrored order ($REPS counts per timed
statement); medians of the per-round times and of the per-round ratios, on the $basis.
Spread: the middle half of the rounds (interquartile range / median).

| target | measured (ms per count) | result |
|---|---|---|
| key principal (authenticate, org key scoped investigations:read), policy \`insight.acts_in_org(org_id) AND insight.has_scope('investigations:read')\` ≤ 1.5 × \`org_id = constant\` | $(med "${ms[key]}") vs $(med "${ms[const]}") ms: **$r_key ×** (rounds $(rounds_list "$rr_key")) | $(judge "$r_key" 1.5 "<=" "$s_key") |
| act_as user (read_write member), the same policy, ≤ 1.5 × \`org_id = constant\` | $(med "${ms[user]}") vs $(med "${ms[const]}") ms: **$r_user ×** (rounds $(rounds_list "$rr_user")) | $(judge "$r_user" 1.5 "<=" "$s_user") |
| (wall clock, the same rounds) | key $(med "${wall_ms[key]}"), user $(med "${wall_ms[user]}"), constant $(med "${wall_ms[const]}") ms | — |
EOF
if [ "$PAR_ROUNDS" -gt 0 ]; then
  pk=$(pairwise ratio "${par_ms[key]}" "${par_ms[const]}") pu=$(pairwise ratio "${par_ms[user]}" "${par_ms[const]}")
  cat <<EOF
| (reference: parallel plans, 2 workers, wall clock, $PAR_ROUNDS rounds) | key $(med "${par_ms[key]}"), user $(med "${par_ms[user]}"), constant $(med "${par_ms[const]}") ms: key $(med "$pk" 2) ×, user $(med "$pu" 2) × | — |
EOF
fi
cat <<EOF

Plans (EXPLAIN (COSTS OFF), as each principal; every variant counted $expected rows):

- serial, key: \`$(plan_of key "$serial_plans")\`
- serial, user: \`$(plan_of user "$serial_plans")\`
- serial, constant: \`$(plan_of const "$serial_plans")\`
EOF
if [ "$PAR_ROUNDS" -gt 0 ]; then
  cat <<EOF
- parallel, key: \`$(plan_of key "$par_plans")\`
- parallel, user: \`$(plan_of user "$par_plans")\`
- parallel, constant: \`$(plan_of const "$par_plans")\`
EOF
fi
