#!/usr/bin/env bash
# High availability: three etcd members and a three-node Patroni cluster of
# PostgreSQL 15 (PG_BIN) with insight_keys preloaded, synchronous_mode_strict
# and synchronous_commit = remote_apply (tests/ha/patroni.yml.in), all on
# 127.0.0.1, run unprivileged, data in a temporary directory (started and
# stopped by tests/ha/cluster.sh). Checks the
# promises of docs/SCALING.md across a kill -9 of the primary's postmaster.
# Prints "ok N - ..." / "not ok N - ...", then "suite-result: PASS FAIL".
# Ports: INSIGHT_HA_PORT_BASE (default 22000) + 1-3 (etcd clients), 4-6 (etcd
# peers), 10-12 (PostgreSQL), 20-22 (Patroni REST). INSIGHT_HA_KEEP=1 keeps
# the directory.
# Everything it started is stopped and removed on every exit.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. scripts/common.sh

HA_PORT_BASE=${INSIGHT_HA_PORT_BASE:-22000}
. tests/ha/cluster.sh

pass=0
fail=0
n=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; }
# is GOT EXPECTED NAME
is() {
  if [ "$1" == "$2" ]; then ok "$3"; else not_ok "$3"; echo "#   got:      '$1'"; echo "#   expected: '$2'"; fi
}
finish() {
  echo "suite-result: $pass $fail"
  [ "$fail" -eq 0 ]
  exit
}
give_up() {
  not_ok "$1"
  echo "# $1"
  for f in "$work"/node*/pg-log/postgresql.log "$work"/*.log; do
    [ -f "$f" ] || continue
    echo "---- $f"
    tail -25 "$f"
  done
  finish
}

missing=$(ha_tools_missing)
if [ -n "$missing" ]; then
  echo "ha: $missing is missing (scripts/install-deps.sh installs it)"; echo "suite-result: 0 1"; exit 1
fi

start_time=$(date +%s)
ha_start_cluster ha
echo "# cluster up after $(($(date +%s) - start_time))s: leader $LEADER, sync $SYNC, replica $ASYNC"
etcd_members() {  # PORT -> the member names etcd lists, sorted
  curl -s -m 2 -X POST -d '{}' "http://127.0.0.1:$1/v3/cluster/member/list" |
    $PY -c 'import json, sys; print(",".join(sorted(m.get("name", "") for m in json.load(sys.stdin)["members"])))'
}
is "$(for m in "${ETCD_MEMBERS[@]}"; do etcd_members "${ETCD_CLIENT_PORT[$m]}"; done | sort -u)" "etcd1,etcd2,etcd3" \
  "etcd: every member lists the same three members"
is "$(rest_status "$LEADER" /primary) $(rest_status "$SYNC" /sync) $(rest_status "$ASYNC" /sync)" \
  "200 200 503" "REST: /primary on the leader, /sync on the synchronous standby only"
is "$(DB=postgres q "$LEADER" 'SHOW synchronous_commit')|$(DB=postgres q "$LEADER" 'SHOW shared_preload_libraries')" \
  "remote_apply|insight_keys" "the leader runs with remote_apply and insight_keys preloaded"

# ---- the application database
DB=postgres q "$LEADER" "CREATE DATABASE app" >/dev/null || give_up "CREATE DATABASE app"
setup=$(q "$LEADER" "
CREATE EXTENSION insight_keys CASCADE;
CREATE ROLE ha_alice LOGIN;
CREATE ROLE ha_bob LOGIN;
CREATE TABLE public.ids (name text PRIMARY KEY, id uuid NOT NULL);
GRANT SELECT ON public.ids TO PUBLIC;
GRANT INSERT ON public.ids TO ha_alice;
INSERT INTO public.ids VALUES ('acme', insight.create_organization('acme'));
INSERT INTO public.ids VALUES
  ('alice', insight.create_user('alice@example.com', 'Alice', false, 'ha_alice')),
  ('bob', insight.create_user('bob@example.com', 'Bob', false, 'ha_bob'));
CREATE FUNCTION public.id(text) RETURNS uuid LANGUAGE sql STABLE AS
\$\$SELECT id FROM public.ids WHERE name = \$1\$\$;
SELECT insight.set_membership(public.id('alice'), public.id('acme'), 'read_write');
SELECT insight.set_membership(public.id('bob'), public.id('acme'), 'org_admin');
-- The standbys' usage senders connect as the replication user (their
-- primary_conninfo): it may report key uses, nothing more.
GRANT insight_usage_reporter TO replicator;
")
[ $? -eq 0 ] || { echo "$setup"; give_up "extension setup on the leader"; }

# generate ROLE FUNCTION NAME -> "key_id api_key"
generate() {
  q "$LEADER" "SET ROLE $1; SELECT key_id || ' ' || api_key FROM insight.$2(public.id('acme'), '$3')"
}
verify() {  # verify NODE KEY -> "code key_id"
  q "$1" "SELECT concat_ws(' ', code, key_id) FROM insight.verify('$2')"
}

read -r alice_id alice_key <<<"$(generate ha_alice generate_user_key 'alice main')"
read -r org_id org_key <<<"$(generate ha_bob generate_org_key 'acme app')"
[ -n "$alice_key" ] && [ -n "$org_key" ] || give_up "generating keys on the leader"

# ---- the worker runs on the primary only
worker_types() {  # NODE -> insight_keys launcher/worker backend types, sorted
  DB=postgres q "$1" "SELECT coalesce(string_agg(backend_type || ':' || coalesce(datname, '-'), ',' ORDER BY backend_type), 'none')
    FROM pg_stat_activity WHERE backend_type IN ('insight_keys launcher', 'insight_keys cascade worker')"
}
worker_in_app() { [ "$(worker_types "$1")" == "insight_keys cascade worker:app,insight_keys launcher:-" ]; }
wait_until 30 "the cascade worker on the leader" worker_in_app "$LEADER"
is "$(worker_types "$LEADER")" "insight_keys cascade worker:app,insight_keys launcher:-" \
  "leader: the launcher and the cascade worker of database app run"
is "$(worker_types "$SYNC") $(worker_types "$ASYNC")" "none none" \
  "standbys: no launcher and no cascade worker"
senders() {  # NODE -> number of usage senders
  DB=postgres q "$1" "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'insight_keys usage sender'"
}
sender_up() { [ "$(senders "$1")" == 1 ]; }
poll_until 30 sender_up "$SYNC"
poll_until 30 sender_up "$ASYNC"
is "$(senders "$LEADER") $(senders "$SYNC") $(senders "$ASYNC")" "0 1 1" \
  "a usage sender runs on each standby, none on the leader"

# ---- replicas serve verify and authenticate; every commit was acknowledged
# with remote_apply, so the synchronous standby has the keys already.
for node in "$SYNC" "$ASYNC"; do
  [ "$node" == "$ASYNC" ] && { lsn=$(q "$LEADER" "SELECT pg_current_wal_lsn()");
    wait_until 30 "$ASYNC replays $lsn" replayed "$ASYNC" "$lsn"; }
  kind=$([ "$node" == "$SYNC" ] && echo "synchronous standby" || echo "asynchronous replica")
  is "$(q "$node" "SELECT concat_ws(' ', pg_is_in_recovery(), valid, code, key_id, kind, role) FROM insight.verify('$alice_key')")" \
    "t t VALID $alice_id user read_write" "$kind: verify answers VALID for a user key"
  is "$(q "$node" "SELECT concat_ws(' ', code, kind, role) FROM insight.verify('$org_key')")" \
    "VALID organization org_admin" "$kind: verify answers VALID for an organization key"
  is "$(q "$node" "SELECT code FROM insight.verify('${alice_key}x')")" "MALFORMED" \
    "$kind: verify answers MALFORMED for a damaged key"
  is "$(q "$node" "SELECT concat_ws(' ', code, key_id, role, rate_limit_remaining IS NULL) FROM insight.check('$alice_key', 'investigations:read', '127.0.0.1')")" \
    "VALID $alice_id read_write t" "$kind: check answers VALID for a key without settings"
  is "$(q "$node" "SELECT code FROM insight.check('${alice_key}x')")" "MALFORMED" \
    "$kind: check answers MALFORMED for a damaged key"
  is "$(q "$node" "BEGIN READ ONLY; SELECT code FROM insight.authenticate('$alice_key');
      SELECT concat_ws(' ', kind, via, role) FROM insight.whoami();
      SELECT string_agg(name, ',' ORDER BY name) FROM insight.keys; COMMIT;")" \
    "VALID
user api_key read_write
alice main" "$kind: authenticate makes the key the principal (whoami, insight.keys)"
  out=$(as_pg psql -X -qAt -v VERBOSITY=verbose -h 127.0.0.1 -p "${PG_PORT[$node]}" -U postgres -d app \
    -c "SELECT insight.authenticate('${alice_key}x')" 2>&1)
  if grep -q "ERROR:  28000" <<<"$out" && ! grep -qF "$alice_key" <<<"$out"; then
    ok "$kind: authenticate with a bad key fails with 28000, without echoing it"
  else
    not_ok "$kind: authenticate with a bad key fails with 28000, without echoing it"; echo "# $out"
  fi
done

# ---- key use on replicas reaches last_used_at on the primary
if [ -z "${INSIGHT_HA_NO_USAGE:-}" ]; then
  read -r used_id used_key <<<"$(generate ha_alice generate_user_key 'used on replicas')"
  read -r used2_id used2_key <<<"$(generate ha_alice generate_user_key 'used on the async replica')"
  lsn=$(q "$LEADER" "SELECT pg_current_wal_lsn()")
  wait_until 30 "$ASYNC replays $lsn" replayed "$ASYNC" "$lsn"
  is "$(q "$LEADER" "SELECT count(*) FROM insight.api_keys WHERE id IN ('$used_id', '$used2_id') AND last_used_at IS NOT NULL")" \
    "0" "primary: the two new keys were never used"
  before=$(q "$LEADER" "SELECT now()")
  is "$(verify "$SYNC" "$used_key") $(verify "$ASYNC" "$used2_key")" "VALID $used_id VALID $used2_id" \
    "each key verified once, on a different standby"
  used_on_primary() {
    [ "$(q "$LEADER" "SELECT count(*) FROM insight.api_keys WHERE id IN ('$used_id', '$used2_id') AND last_used_at >= '$before'")" == 2 ]
  }
  wait_until 30 "the standbys' uses reach last_used_at on the primary" used_on_primary
  ok "primary: last_used_at of both keys set from the standbys' uses"
  is "$(q "$LEADER" "SELECT count(*) FROM insight.api_keys WHERE id = '$alice_id' AND last_used_at >= '$before'")" \
    "0" "primary: a key not used since is left alone"
fi

# ---- a revocation is in force on the synchronous standby when acknowledged
seen=""
for i in 1 2 3 4 5; do
  read -r rid rkey <<<"$(generate ha_alice generate_user_key "revoked $i")"
  q "$LEADER" "SET ROLE ha_alice; SELECT insight.revoke_key('$rid')" >/dev/null || give_up "revoke_key"
  seen+="$(verify "$SYNC" "$rkey" | cut -d' ' -f1) "
done
is "$seen" "NOT_FOUND NOT_FOUND NOT_FOUND NOT_FOUND NOT_FOUND " \
  "synchronous standby: the first verify after each acknowledged revocation answers NOT_FOUND"

# ---- a cascade left pending by the failover: a user with 3000 keys, the
# upper half of them (and the one verified below) row-locked by another
# session until the kill, so the worker can only delete the rest before the
# primary dies.
q "$LEADER" "
CREATE ROLE ha_doomed LOGIN;
INSERT INTO public.ids VALUES ('doomed', insight.create_user('doomed@example.com', 'Doomed', false, 'ha_doomed'));
SELECT insight.set_membership(public.id('doomed'), public.id('acme'), 'org_admin');
" >/dev/null || give_up "creating the doomed user"
read -r dorg_id dorg_key <<<"$(generate ha_doomed generate_org_key 'made by doomed')"
read -r duser_id duser_key <<<"$(generate ha_doomed generate_user_key 'doomed own')"
# Keys inserted directly: generating 3000 one by one would take long.
q "$LEADER" "INSERT INTO insight.api_keys (lookup_id, kind, org_id, owner_id, created_by, created_by_label, name, hint, secret_hash)
  SELECT md5('doomed' || g), 'user', public.id('acme'), public.id('doomed'), NULL, 'doomed', 'doomed-' || g, 'hint', '\\x00'
    FROM generate_series(1, 2999) g" >/dev/null || give_up "inserting the doomed user's keys"
is "$(q "$LEADER" "SELECT count(*) FROM insight.api_keys WHERE owner_id = public.id('doomed')")" "3000" \
  "the doomed user owns 3000 user keys"

# (Not "ORDER BY id OFFSET 1500 FOR UPDATE": rows skipped by OFFSET are locked too.)
as_pg env PGAPPNAME=ha_lock_holder psql -X -qAt -h 127.0.0.1 -p "${PG_PORT[$LEADER]}" -U postgres -d app -c "
BEGIN;
SELECT count(*) FROM (SELECT 1 FROM insight.api_keys WHERE owner_id = public.id('doomed')
  AND (id >= (SELECT id FROM insight.api_keys WHERE owner_id = public.id('doomed') ORDER BY id OFFSET 1500 LIMIT 1)
       OR id = '$duser_id')
  FOR UPDATE) locked;
SELECT pg_sleep(600);" >"$work/lock_holder.log" 2>&1 &
BG_PIDS+=($!)
holding() {
  [ "$(DB=postgres q "$LEADER" "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ha_lock_holder' AND wait_event = 'PgSleep'")" == 1 ]
}
wait_until 30 "the lock holder holds its rows" holding
event=$(q "$LEADER" "SELECT insight.delete_user(public.id('doomed'));
  SELECT max(id) FROM insight.cascade_queue WHERE event = 'user_deleted'" | tail -1)
is "$(verify "$SYNC" "$duser_key" | cut -d' ' -f1)" "OWNER_INACTIVE" \
  "synchronous standby: the deleted user's key is OWNER_INACTIVE at once"
lower_half_done() {
  [ "$(q "$LEADER" "SELECT keys_done >= 1499 AND state <> 'done' FROM insight.cascade_queue WHERE id = $event")" == t ]
}
wait_until 60 "the worker deletes the unlocked half" lower_half_done
pending=$(q "$SYNC" "SELECT count(*) FROM insight.api_keys WHERE owner_id = public.id('doomed')")
if [ "$pending" -ge 1000 ]; then ok "at the kill, $pending of the cascade's keys are still there (synchronous standby)"
else not_ok "at the kill, part of the cascade is still pending (got $pending keys)"; fi

# ---- a writer revokes keys one per transaction while the primary is killed
q "$LEADER" "SET ROLE ha_alice;
  INSERT INTO public.ids SELECT 'w' || g, key_id FROM generate_series(1, 400) g,
    LATERAL insight.generate_user_key(public.id('acme'), 'writer ' || g)" >/dev/null || give_up "writer keys"
lsn=$(q "$LEADER" "SELECT pg_current_wal_lsn()")
wait_until 30 "$ASYNC replays $lsn" replayed "$ASYNC" "$lsn"
: >"$work/acked"
: >"$work/attempted"
writer() {
  local i
  for i in $(seq 1 400); do
    echo "w$i" >>"$work/attempted"
    q "$LEADER" "SET ROLE ha_alice; SELECT insight.revoke_key(public.id('w$i'))" >/dev/null || return 0
    echo "w$i" >>"$work/acked"
  done
}
writer &
writer_pid=$!
BG_PIDS+=($writer_pid)
acked_some() { [ "$(wc -l <"$work/acked")" -ge 5 ]; }
wait_until 60 "the writer's first revocations" acked_some
OLD=$LEADER
postmaster=$(head -1 "$work/$OLD/data/postmaster.pid")
kill_time=$(date +%s.%N)
kill -KILL "$postmaster"
echo "# kill -9 of $OLD's postmaster ($postmaster)"
wait "$writer_pid"

new_leader() {
  local l
  l=$(member leader)
  [ -n "$l" ] && [ "$l" != "$OLD" ] && [ "$(rest_status "$l" /primary)" == 200 ]
}
wait_until 90 "a new leader" new_leader
LEADER=$(member leader)
accepts_writes() { q "$LEADER" "CREATE TABLE IF NOT EXISTS public.after_failover (); SELECT 1" | grep -qx 1; }
wait_until 60 "the new leader accepts a write" accepts_writes
echo "# failover: $OLD -> $LEADER, first write accepted $($PY -c "import time; print(round(time.time() - $kill_time, 1))")s after the kill"
is "$LEADER" "$SYNC" "the synchronous standby became the leader"

acked=$(wc -l <"$work/acked")
acked_list=$(sed "s/.*/'&'/" "$work/acked" | paste -sd,)
in_doubt=$(comm -23 <(sort "$work/attempted") <(sort "$work/acked"))
# Every node that runs again must agree: the new leader, the old replica and
# the old primary once it has rejoined (pg_rewind) as a replica.
all_replicas_back() { [ "$( (members replica; members sync_standby) | sort -u | wc -l)" -eq 2 ]; }
wait_until 90 "both other nodes replicate from the new leader" all_replicas_back
lsn=$(q "$LEADER" "SELECT pg_current_wal_lsn()")
for node in "${NODES[@]}"; do
  [ "$node" == "$LEADER" ] && continue
  wait_until 60 "$node replays $lsn" replayed "$node" "$lsn"
done
answers=""
for node in "${NODES[@]}"; do
  lost=$(q "$node" "SELECT count(*) FROM public.ids i JOIN insight.api_keys k ON k.id = i.id WHERE i.name IN ($acked_list)")
  is "$lost" "0" "$node: none of the $acked acknowledged revocations is lost (role $(members leader | grep -qx "$node" && echo leader || echo replica))"
  if [ -n "$in_doubt" ]; then
    answers+="$(q "$node" "SELECT count(*) FROM insight.api_keys WHERE id = public.id('$in_doubt')") "
  fi
done
if [ -n "$in_doubt" ]; then
  case "$answers" in "0 0 0 " | "1 1 1 ") ok "every node agrees on the revocation in doubt ($in_doubt)";;
    *) not_ok "every node agrees on the revocation in doubt ($in_doubt): $answers";; esac
fi
doubt_gone=0
[ -n "$in_doubt" ] && [ "$(q "$LEADER" "SELECT count(*) FROM insight.api_keys WHERE id = public.id('$in_doubt')")" == 0 ] && doubt_gone=1
is "$(q "$LEADER" "SELECT count(*) FROM public.ids i JOIN insight.api_keys k ON k.id = i.id WHERE i.name LIKE 'w%'")" \
  "$((400 - acked - doubt_gone))" "new leader: the keys the writer never reached are all still there"

# ---- the worker moves with the primary and finishes the pending cascade
wait_until 30 "the cascade worker on the new leader" worker_in_app "$LEADER"
is "$(worker_types "$LEADER")" "insight_keys cascade worker:app,insight_keys launcher:-" \
  "new leader: the launcher and the cascade worker started on promotion"
cascade_done() { [ "$(q "$LEADER" "SELECT state FROM insight.cascade_queue WHERE id = $event")" == done ]; }
wait_until 60 "the pending cascade finishes on the new leader" cascade_done
is "$(q "$LEADER" "SELECT concat_ws(' ', state, keys_done) FROM insight.cascade_queue WHERE id = $event")" "done 3000" \
  "new leader: the cascade queued before the failover is done, every key counted once"
is "$(q "$LEADER" "SELECT count(*) FROM insight.api_keys WHERE kind = 'user' AND owner_id = public.id('doomed')")" "0" \
  "new leader: every user key of the deleted user is gone"
is "$(q "$LEADER" "SELECT count(*) || ' ' || count(DISTINCT key_id) FROM insight.audit_log WHERE action = 'key.deleted' AND (detail->>'event')::bigint = $event")" \
  "3000 3000" "new leader: each deleted key audited exactly once"
is "$(verify "$LEADER" "$dorg_key")" "VALID $dorg_id" "new leader: the organization key the deleted user created still verifies VALID"
is "$(verify "$LEADER" "$alice_key")" "VALID $alice_id" "new leader: an unrelated key still verifies VALID"
for node in "${NODES[@]}"; do
  [ "$node" == "$LEADER" ] && continue
  is "$(worker_types "$node")" "none" "$node (now a replica): no launcher and no cascade worker"
done
echo "# suite time $(($(date +%s) - start_time))s"
finish
