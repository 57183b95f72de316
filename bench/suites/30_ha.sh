#!/usr/bin/env bash
# 30_ha: the high-availability figures, on the test cluster of tests/ha
# (three etcd members, three Patroni nodes: tests/ha/cluster.sh starts it and
# always stops it), ports BENCH_HA_PORT_BASE (default 25600) + 1-22. Prints a
# markdown section.
#
#   (a) verify TPS on the synchronous standby vs on the primary: pgbench -n
#       -M prepared -T BENCH_HA_SECONDS (10) -c/-j BENCH_HA_CLIENTS (2), one
#       valid key, rounds interleaved (primary, standby, primary, ...),
#       medians of BENCH_ROUNDS (3) rounds, and the median of the per-round
#       ratios
#   (b) revocation visibility on the asynchronous replica: for each of
#       BENCH_HA_REVOKES (300) keys, the time from revoke_key's return on the
#       primary (the commit acknowledged, i.e. applied on the synchronous
#       standby) to the first verify on the asynchronous replica that answers
#       NOT_FOUND, polled back to back from a connection of its own; p50/p99
#   (c) kill -9 of the primary's postmaster to the first INSERT acknowledged
#       by the new primary, BENCH_HA_FAILOVERS (3) rounds, each after the old
#       primary has rejoined; median and range
# shellcheck disable=SC2034,SC2154  # HA_PORT_BASE is for, $work from, tests/ha/cluster.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. scripts/common.sh
. bench/lib.sh

HA_PORT_BASE=${BENCH_HA_PORT_BASE:-25600}
. tests/ha/cluster.sh
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_HA_SECONDS:-10}
CLIENTS=${BENCH_HA_CLIENTS:-2}
NREVOKES=${BENCH_HA_REVOKES:-300}
NFAILOVERS=${BENCH_HA_FAILOVERS:-3}

give_up() {
  echo "30_ha: $1" >&2
  for f in "$work"/node*/pg-log/postgresql.log "$work"/*.log; do
    [ -f "$f" ] || continue
    echo "---- $f" >&2
    tail -15 "$f" >&2
  done
  exit 1
}
missing=$(ha_tools_missing)
[ -z "$missing" ] || { echo "30_ha: $missing is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }

median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
med() { tr ' ' '\n' | grep . | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
tps_of() { sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1; }

ha_start_cluster bench-ha
echo "# cluster up: leader $LEADER, sync $SYNC, async $ASYNC" >&2

DB=postgres q "$LEADER" "CREATE DATABASE app" >/dev/null || give_up "CREATE DATABASE app"
out=$(q "$LEADER" "
SET client_min_messages = warning;
CREATE EXTENSION insight_keys CASCADE;
CREATE ROLE bench_alice LOGIN;
CREATE TABLE public.ids (name text PRIMARY KEY, id uuid NOT NULL);
INSERT INTO public.ids VALUES ('acme', insight.create_organization('acme'));
INSERT INTO public.ids VALUES ('alice', insight.create_user('alice@example.com', 'Alice', false, 'bench_alice'));
SELECT insight.set_membership((SELECT id FROM public.ids WHERE name = 'alice'), (SELECT id FROM public.ids WHERE name = 'acme'), 'read_write');
CREATE TABLE public.failover_probe (round int, at timestamptz DEFAULT clock_timestamp());
GRANT insight_usage_reporter TO replicator;
") || { echo "$out" >&2; give_up "extension setup on the leader"; }
org=$(q "$LEADER" "SELECT id FROM public.ids WHERE name = 'acme'")
key=$(q "$LEADER" "SET ROLE bench_alice; SELECT api_key FROM insight.generate_user_key('$org', 'bench')")
lsn=$(q "$LEADER" "SELECT pg_current_wal_lsn()")
wait_until 60 "$ASYNC replays $lsn" replayed "$ASYNC" "$lsn"
for node in "$LEADER" "$SYNC" "$ASYNC"; do
  [ "$(q "$node" "SELECT code FROM insight.verify('$key')")" == VALID ] || give_up "the bench key does not verify on $node"
done
states=$(DB=postgres q "$LEADER" "SELECT string_agg(application_name || '=' || sync_state, ' ' ORDER BY application_name) FROM pg_stat_replication")
[ "$states" == "$(printf '%s\n' "$SYNC=sync" "$ASYNC=async" | sort | paste -sd' ')" ] ||
  give_up "pg_stat_replication.sync_state: $states (expected $SYNC sync, $ASYNC async)"

# ---- (a) verify TPS, synchronous standby vs primary
printf 'SELECT * FROM insight.verify(:k);\n' >"$work/verify.sql"
chown "$PG_USER" "$work/verify.sql" 2>/dev/null || true
pgb() {  # NODE -> tps
  as_pg pgbench -h 127.0.0.1 -p "${PG_PORT[$1]}" -U postgres -n -M prepared -T "$SECS" -c "$CLIENTS" -j "$CLIENTS" \
    -D k="$key" -f "$work/verify.sql" app 2>&1 | tps_of
}
tps_p="" tps_s=""
for r in $(seq "$ROUNDS"); do
  t=$(pgb "$LEADER"); [ -n "$t" ] || give_up "pgbench on the primary"
  tps_p+="$t "
  t=$(pgb "$SYNC"); [ -n "$t" ] || give_up "pgbench on the synchronous standby"
  tps_s+="$t "
  echo "# round $r: primary $(echo "$tps_p" | awk '{print $NF}') tps, sync standby $t tps" >&2
done
mp=$(med <<<"$tps_p")
ms=$(med <<<"$tps_s")
rs=$(pairwise ratio "$tps_s" "$tps_p")
mr=$(printf "%.2f" "$(med <<<"$rs")")
spread=$(spread_of <<<"$rs")

# ---- (b) revocation visibility on the asynchronous replica
conninfo() { echo "host=127.0.0.1 port=${PG_PORT[$1]} user=postgres dbname=app connect_timeout=2"; }
vis=$($PY - "$(conninfo "$LEADER")" "$(conninfo "$ASYNC")" "$org" "$NREVOKES" <<'PYEOF'
import sys, time
import psycopg2
primary = psycopg2.connect(sys.argv[1]); primary.autocommit = True
replica = psycopg2.connect(sys.argv[2]); replica.autocommit = True
org, n = sys.argv[3], int(sys.argv[4])
p, r = primary.cursor(), replica.cursor()
p.execute("SET ROLE bench_alice")
p.execute("SELECT key_id, api_key FROM generate_series(1, %s) g,"
          " LATERAL insight.generate_user_key(%s, 'visibility ' || g)", (n, org))
keys = p.fetchall()
p.execute("SELECT pg_current_wal_lsn()")
lsn = p.fetchone()[0]
deadline = time.monotonic() + 60
while True:
    r.execute("SELECT pg_last_wal_replay_lsn() >= %s", (lsn,))
    if r.fetchone()[0]:
        break
    if time.monotonic() > deadline:
        sys.exit("the replica did not replay the new keys")
    time.sleep(0.05)
delays, first = [], 0
for key_id, api_key in keys:
    r.execute("SELECT code FROM insight.verify(%s)", (api_key,))
    if r.fetchone()[0] != "VALID":
        sys.exit("a key is not VALID on the replica before its revocation")
    p.execute("SELECT insight.revoke_key(%s)", (key_id,))
    acked = time.perf_counter()
    polls = 0
    while True:
        r.execute("SELECT code FROM insight.verify(%s)", (api_key,))
        polls += 1
        if r.fetchone()[0] == "NOT_FOUND":
            delays.append(time.perf_counter() - acked)
            break
        if time.perf_counter() - acked > 30:
            sys.exit("a revocation was not visible on the replica after 30 s")
    first += polls == 1
delays.sort()
pct = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))] * 1000
print("%.2f %.2f %.2f %d %d" % (pct(0.5), pct(0.99), delays[-1] * 1000, first, len(delays)))
PYEOF
) || give_up "revocation visibility"
read -r v50 v99 vmax vfirst vn <<<"$vis"
echo "# visibility: p50 $v50 ms, p99 $v99 ms, max $vmax ms, $vfirst of $vn at the first poll" >&2

# ---- (c) kill -9 of the primary's postmaster -> first acknowledged write
fo_times="" fo_path=""
all_back() {
  cluster_complete && [ "$( (members replica; members sync_standby; members leader) | sort -u | wc -l)" -eq 3 ]
}
for r in $(seq "$NFAILOVERS"); do
  wait_until 120 "three running members before failover $r" all_back
  old=$(member leader)
  others=""
  for node in "${NODES[@]}"; do [ "$node" == "$old" ] || others+="$(conninfo "$node")|"; done
  pid=$(head -1 "$work/$old/data/postmaster.pid")
  t=$($PY - "$pid" "$r" "$others" <<'PYEOF'
import os, signal, sys, time
import psycopg2
pid, rnd, targets = int(sys.argv[1]), int(sys.argv[2]), [t for t in sys.argv[3].split("|") if t]
conns = {}
def conn(t):
    if t not in conns:
        c = psycopg2.connect(t); c.autocommit = True; conns[t] = c
    return conns[t]
for t in targets:
    conn(t)
killed = time.perf_counter()
os.kill(pid, signal.SIGKILL)
while time.perf_counter() - killed < 120:
    for t in targets:
        try:
            # No statement_timeout: a commit whose wait for the synchronous
            # standby is cancelled is local only, not an accepted write.
            conn(t).cursor().execute("INSERT INTO public.failover_probe (round) VALUES (%s)", (rnd,))
            print("%.2f" % (time.perf_counter() - killed))
            sys.exit(0)
        except psycopg2.Error:
            c = conns.pop(t, None)
            if c is not None and c.closed == 0:
                conns[t] = c  # read-only (still a standby): keep it
        time.sleep(0.02)
sys.exit("no write accepted within 120 s")
PYEOF
) || give_up "failover $r"
  has_leader() { [ -n "$(member leader)" ]; }
  wait_until 60 "a new leader after failover $r" has_leader
  new=$(member leader)
  echo "# failover $r: $old -> $new, first write $t s after the kill" >&2
  fo_times+="$t "
  fo_path+="$old→$new "
done
fo_med=$(med <<<"$fo_times")
fo_min=$(tr ' ' '\n' <<<"$fo_times" | grep . | sort -g | head -1)
fo_max=$(tr ' ' '\n' <<<"$fo_times" | grep . | sort -g | tail -1)

cat <<EOF
## High availability (bench/suites/30_ha.sh)

The test cluster of docs/SCALING.md (tests/ha: three etcd members, three Patroni nodes, synchronous_mode_strict,
synchronous_commit = remote_apply) on this machine; pg_stat_replication.sync_state at the start: $states.

| figure | measured |
|---|---|
| verify TPS, synchronous standby vs primary (pgbench -M prepared -T $SECS -c $CLIENTS, $ROUNDS interleaved rounds, medians) | $ms vs $mp tps = **$mr ×** (median of per-round ratios; rounds within ${spread}%) |
| revocation visible on the asynchronous replica after the primary's ack ($vn revocations, polled back to back) | p50 **$v50 ms**, p99 **$v99 ms**, max $vmax ms; $vfirst of $vn already at the first poll |
| kill -9 of the primary's postmaster → first acknowledged INSERT on the new primary ($NFAILOVERS rounds) | median **$fo_med s**, range $fo_min–$fo_max s |

- Raw: tps primary: $tps_p; sync standby: $tps_s; failover seconds: $fo_times($fo_path).
EOF
