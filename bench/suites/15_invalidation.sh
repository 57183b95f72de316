#!/usr/bin/env bash
# 15_invalidation: verify throughput while another session revokes keys, in
# one throwaway cluster (port $BENCH_INVAL_PORT, else $BENCH_VERIFY_PORT + 5,
# else 25507) that it starts as postgres and always stops. Prints a markdown
# section.
#
#   quiet:    pgbench -M prepared -c 2 -j 2, each transaction reads a random
#             key of VERIFY_KEYS from a table (\gset) and verifies it
#   revoking: the same, while a third session (pgbench -c 1) revokes one other
#             key every 10 ms through insight.revoke_key (each revocation
#             commits and reaches every verifying backend: since 1.4 it
#             drops that key only, before it the whole cache)
#   control:  the same third session doing the same work, each transaction
#             rolled back: no invalidation is sent. revoking / control is what
#             the invalidations themselves cost; control / quiet is what a
#             third busy session costs on these cores.
#
# The revoked keys are never the verified ones: every verify stays VALID, and
# the difference is what the invalidations cost the verifying backends. Two
# figures say so without the third session's share of the two cores: the
# verifying backends' own CPU time per transaction (utime + stime, /proc), and the
# verify cache misses per 1,000 verifies (insight.stats), each over the middle
# of every run.
# Rounds are interleaved (quiet, revoking, control, quiet, ...), medians reported.
# Knobs: BENCH_ROUNDS (3), BENCH_SECONDS (5 per run).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. scripts/common.sh
. bench/lib.sh

PORT=${BENCH_INVAL_PORT:-$((${BENCH_VERIFY_PORT:-25502} + 5))}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-5}
VERIFY_KEYS=1000
# Enough victims for every round at 100 revocations per second, and then some.
VICTIMS=$(( (ROUNDS * SECS * 100) * 2 + 1000 ))
PY=${PYTHON:-python3}

start_throwaway_cluster bench-inval "$PORT" "shared_buffers = 256MB
synchronous_commit = off"

DB=bench
sql() { as_pg psql -h "$work" -p "$PORT" -U postgres -d "$DB" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
pgb() { as_pg pgbench -U postgres -h "$work" -p "$PORT" -n "$@" "$DB" 2>&1; }
tps_of() { sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1; }
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

as_pg psql -h "$work" -p "$PORT" -U postgres -d postgres -X -q -c "CREATE DATABASE $DB" >/dev/null
sql -c "SET client_min_messages = warning; CREATE EXTENSION insight_keys CASCADE;"
nkeys=$((VERIFY_KEYS + VICTIMS))
sql <"$ROOT/bench/peer/owners.sql"
sql <<'EOF'
CREATE TABLE bench_keys (id int PRIMARY KEY, api_key text NOT NULL);
EOF
"$PY" "$ROOT/bench/peer/make_keys.py" "$nkeys" 3 | sql -c "COPY bench_keys (id, api_key) FROM STDIN"
sql <<EOF
INSERT INTO insight.api_keys (lookup_id, kind, org_id, owner_id, created_by, created_by_label,
                              name, hint, secret_hash)
SELECT split_part(b.api_key, '_', 3), 'user', o.org_id, o.user_id, o.user_id, 'bench',
       'bench ' || b.id, left(b.api_key, 12) || '...' || right(b.api_key, 4),
       public.digest(b.api_key, 'sha256')
  FROM bench_keys b JOIN bench_owner o ON o.i = b.id % 100;
-- The victims, in the order they are revoked: keys not among the verified ones.
CREATE TABLE bench_victims (n int PRIMARY KEY, key_id uuid NOT NULL, owner_id uuid NOT NULL);
INSERT INTO bench_victims
SELECT b.id - $VERIFY_KEYS, k.id, k.owner_id
  FROM bench_keys b JOIN insight.api_keys k ON k.lookup_id = split_part(b.api_key, '_', 3)
 WHERE b.id > $VERIFY_KEYS;
CREATE SEQUENCE bench_victim_seq;
-- One revocation by the key's owner, through the public function.
CREATE FUNCTION bench_revoke_next() RETURNS void LANGUAGE plpgsql AS \$f\$
DECLARE
  v bench_victims;
  next int := nextval('bench_victim_seq');
BEGIN
  SELECT * INTO v FROM bench_victims WHERE n = next;
  IF NOT FOUND THEN RAISE EXCEPTION 'bench: out of victims'; END IF;
  PERFORM insight.act_as(v.owner_id);
  PERFORM insight.revoke_key(v.key_id);
  PERFORM insight.reset_principal();
END
\$f\$;
VACUUM (FREEZE, ANALYZE) insight.api_keys, bench_keys, bench_victims;
EOF

printf '\\set id random(1, %d)\nSELECT api_key AS k FROM bench_keys WHERE id = :id \\gset\nSELECT * FROM insight.verify(:k);\n' \
  "$VERIFY_KEYS" >"$work/verify.sql"
printf 'SELECT bench_revoke_next();\n\\sleep 10 ms\n' >"$work/revoke.sql"
printf 'BEGIN;\nSELECT bench_revoke_next();\nROLLBACK;\n\\sleep 10 ms\n' >"$work/control.sql"
chown "$PG_USER" "$work"/*.sql 2>/dev/null || true
[ "$(sql -c "SELECT v.code FROM bench_keys b, insight.verify(b.api_key) v WHERE b.id = 1")" = VALID ] ||
  { echo "bench key does not verify" >&2; exit 1; }

pgb -M prepared -c 2 -j 2 -T 2 -f "$work/verify.sql" >/dev/null  # warm up
quiet="" revoking="" control="" revokes=""
cpu_quiet="" cpu_revoking="" cpu_control="" miss_quiet="" miss_revoking="" miss_control=""
hz=$(getconf CLK_TCK)
# The verifying backends (application_name bench_verify) once both are
# connected, and the CPU ticks (utime + stime) of a list of backends.
verifier_pids() {
  local pids i
  for i in $(seq 100); do
    pids=$(sql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'bench_verify'")
    [ "$(wc -w <<<"$pids")" -eq 2 ] && break
    sleep 0.05
  done
  echo $pids
}
ticks_of() {
  local c=0 p
  for p in "$@"; do c=$((c + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$c"
}
verifies() { sql -F ' ' -c "SELECT verify_valid, cache_misses FROM insight.stats"; }
# measure [SCRIPT]: verify TPS of the two clients, with a third session running
# SCRIPT if given; also, over the middle of the run (from 1 s in to 1 s before
# the end), the verifying backends' CPU time per verify and the verify cache
# misses per 1,000 verifies (cluster-wide counters; the third session verifies
# nothing). Prints "tps cpu_us misses_per_1000".
measure() {
  local third="" t c0 c1 v0 m0 v1 m1 pids
  if [ -n "${1:-}" ]; then
    pgb -c 1 -j 1 -T "$SECS" -f "$work/$1" >"$work/third.out" &
    third=$!
  fi
  as_pg env PGAPPNAME=bench_verify pgbench -U postgres -h "$work" -p "$PORT" -n -M prepared -c 2 -j 2 \
    -T "$SECS" -f "$work/verify.sql" "$DB" >"$work/verify.out" 2>&1 &
  local verifier=$!
  sleep 1
  pids=$(verifier_pids)
  c0=$(ticks_of $pids); read -r v0 m0 <<<"$(verifies)"
  sleep $((SECS - 2))
  c1=$(ticks_of $pids); read -r v1 m1 <<<"$(verifies)"
  wait "$verifier" || { cat "$work/verify.out" >&2; return 1; }
  if [ -n "$third" ]; then wait "$third" || { cat "$work/third.out" >&2; return 1; }; fi
  t=$(tps_of <"$work/verify.out")
  awk -v t="$t" -v c=$((c1 - c0)) -v hz="$hz" -v v=$((v1 - v0)) -v m=$((m1 - m0)) \
    'BEGIN {printf "%s %.2f %.2f\n", t, (v > 0 ? c / hz * 1e6 / v : 0), (v > 0 ? m * 1000 / v : 0)}'
}
for r in $(seq "$ROUNDS"); do
  read -r t c m <<<"$(measure)" || exit 1
  quiet+="$t " cpu_quiet+="$c " miss_quiet+="$m "
  read -r t c m <<<"$(measure revoke.sql)" || exit 1
  revoking+="$t " cpu_revoking+="$c " miss_revoking+="$m "
  revokes+="$(awk -v a="$(sql -c "SELECT count(*) FROM insight.audit_log WHERE action = 'key.revoked'")" \
                  -v b="${revoked_before:-0}" -v s="$SECS" 'BEGIN {printf "%.0f", (a - b) / s}') "
  revoked_before=$(sql -c "SELECT count(*) FROM insight.audit_log WHERE action = 'key.revoked'")
  read -r t c m <<<"$(measure control.sql)" || exit 1
  control+="$t " cpu_control+="$c " miss_control+="$m "
done
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
q=$(med "$quiet") v=$(med "$revoking") c=$(med "$control") rps=$(med "$revokes")
r_v=$(ratio "$v" "$q") r_vc=$(ratio "$v" "$c") r_cq=$(ratio "$c" "$q")
s_v=$(pairwise ratio "$revoking" "$quiet" | spread_of)
s_vc=$(pairwise ratio "$revoking" "$control" | spread_of)
# CPU per verify, quiet / revoking: the throughput the verifying backends' CPU
# allows, the same direction as the TPS ratio.
cpu_rounds=$(pairwise ratio "$cpu_quiet" "$cpu_revoking")
r_cpu=$(median_of "$cpu_rounds") s_cpu=$(spread_of <<<"$cpu_rounds")
cq=$(med "$cpu_quiet") cv=$(med "$cpu_revoking") cc=$(med "$cpu_control")
mq=$(med "$miss_quiet") mv=$(med "$miss_revoking") mc=$(med "$miss_control")
revoked=$(sql -c "SELECT count(*) FROM insight.audit_log WHERE action = 'key.revoked'")
left=$(sql -c "SELECT count(*) FROM insight.api_keys WHERE id IN (SELECT key_id FROM bench_victims)")

cat <<EOF
## Invalidation (bench/suites/15_invalidation.sh)

$nkeys keys stored, $VERIFY_KEYS of them verified (a random one per transaction, read by \\gset);
pgbench -M prepared -c 2 -j 2, $SECS s per run, $ROUNDS interleaved rounds, medians. "revoking": a third
session revokes one of the other keys every 10 ms (insight.revoke_key, one transaction each).

| target | measured | result |
|---|---|---|
| verify TPS while revoking ≥ 0.9 × verify TPS without | $v vs $q TPS = **$r_v ×** at $rps revocations/s | $(judge "$r_v" 0.9 ">=" "$s_v") |
| (what the invalidations cost) revoking vs the same third session rolling back | $v vs $c TPS = $r_vc × | $(judge "$r_vc" 0.9 ">=" "$s_vc") |
| (what a third busy session costs) rolling back vs quiet | $c vs $q TPS = $r_cq × | — |
| the verifying backends' CPU per transaction (fetch + verify), quiet / revoking (middle of each run) | $cq vs $cv µs = **$(awk -v r="$r_cpu" 'BEGIN {printf "%.2f", r}') ×** (control $cc µs) | $(judge "$r_cpu" 0.9 ">=" "$s_cpu") |
| verify cache misses per 1,000 verifies: quiet, revoking, control | $mq, **$mv**, $mc | — |

- Raw TPS per round: quiet $quiet; revoking $revoking; control $control; revocations/s $revokes.
- CPU µs per transaction per round: quiet $cpu_quiet; revoking $cpu_revoking; control $cpu_control.
- Cache misses per 1,000 verifies per round: quiet $miss_quiet; revoking $miss_revoking; control $miss_control.
- $revoked keys revoked in all ($left victims still stored).
EOF
