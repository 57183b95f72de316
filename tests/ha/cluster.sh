# shellcheck shell=bash disable=SC2034  # LEADER, SYNC, ASYNC, PY are for the sourcing script
# Sourced by tests/ha/run.sh and bench/suites/30_ha.sh: the test cluster of
# docs/SCALING.md, three etcd members and three Patroni nodes of PostgreSQL 15
# (PG_BIN) on 127.0.0.1, run unprivileged, data in a temporary directory.
#
# The caller has cd'd to the repository root, sourced scripts/common.sh, set
# HA_PORT_BASE and defined give_up MESSAGE (report, then exit: the EXIT trap
# set here stops everything). Ports: HA_PORT_BASE + 1-3 (etcd clients), 4-6
# (etcd peers), 10-12 (PostgreSQL), 20-22 (Patroni REST).
# INSIGHT_HA_KEEP=1 keeps the directory.

NODES=(node1 node2 node3)
ETCD_MEMBERS=(etcd1 etcd2 etcd3)
declare -A PG_PORT REST_PORT ETCD_CLIENT_PORT ETCD_PEER_PORT
for i in 0 1 2; do
  PG_PORT[${NODES[$i]}]=$((HA_PORT_BASE + 10 + i))
  REST_PORT[${NODES[$i]}]=$((HA_PORT_BASE + 20 + i))
  ETCD_CLIENT_PORT[${ETCD_MEMBERS[$i]}]=$((HA_PORT_BASE + 1 + i))
  ETCD_PEER_PORT[${ETCD_MEMBERS[$i]}]=$((HA_PORT_BASE + 4 + i))
done
PY=/usr/bin/python3  # Patroni's interpreter (with psycopg2): always there when Patroni is

ha_tools_missing() {  # prints the first missing tool, if any
  local tool
  for tool in patroni etcd curl; do
    command -v "$tool" >/dev/null || { echo "$tool"; return 0; }
  done
}

# ---- teardown: runs on every exit
declare -A PGID
BG_PIDS=()
cleanup() {
  set +e
  # Paused first: otherwise stopping the leader's Patroni sets off a failover.
  for node in "${NODES[@]}"; do
    curl -s -m 2 -o /dev/null -X PATCH -d '{"pause": true}' "http://127.0.0.1:${REST_PORT[$node]}/config" && break
  done
  for name in "${!PGID[@]}"; do kill -TERM -- "-${PGID[$name]}" 2>/dev/null; done
  # Patroni starts the postmaster in a session of its own: stop it by its PID.
  for node in "${NODES[@]}"; do
    local pidfile=$work/$node/data/postmaster.pid
    [ -f "$pidfile" ] && kill -QUIT "$(head -1 "$pidfile" 2>/dev/null)" 2>/dev/null
  done
  local deadline=$((SECONDS + 15)) alive
  while :; do
    alive=0
    for name in "${!PGID[@]}"; do kill -0 -- "-${PGID[$name]}" 2>/dev/null && alive=1; done
    for node in "${NODES[@]}"; do
      local pidfile=$work/$node/data/postmaster.pid
      [ -f "$pidfile" ] && kill -0 "$(head -1 "$pidfile" 2>/dev/null)" 2>/dev/null && alive=1
    done
    [ "$alive" -eq 0 ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      for name in "${!PGID[@]}"; do kill -KILL -- "-${PGID[$name]}" 2>/dev/null; done
      for node in "${NODES[@]}"; do
        local pidfile=$work/$node/data/postmaster.pid
        [ -f "$pidfile" ] && kill -KILL "$(head -1 "$pidfile" 2>/dev/null)" 2>/dev/null
      done
      break
    fi
    sleep 0.2
  done
  for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "${INSIGHT_HA_KEEP:-}" ]; then echo "# kept $work"; else rm -rf "$work"; fi
}

# spawn NAME COMMAND...: runs COMMAND as the PostgreSQL user in a session (and
# process group) of its own, so the teardown can stop it with all it forked.
spawn() {
  local name=$1
  shift
  as_pg bash -c 'echo $$ >"$0"; exec setsid "$@"' "$work/$name.pid" "$@" >"$work/$name.log" 2>&1 &
  BG_PIDS+=($!)
  local deadline=$((SECONDS + 10))
  until [ -s "$work/$name.pid" ]; do
    [ "$SECONDS" -ge "$deadline" ] && give_up "$name did not start"
    sleep 0.05
  done
  PGID[$name]=$(cat "$work/$name.pid")
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds;
# gives up (a failed test, then the teardown) after SECONDS.
wait_until() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$deadline" ] && give_up "timed out after ${limit}s: $what"
    sleep 0.2
  done
}

# poll_until SECONDS COMMAND...: like wait_until, but only returns non-zero
# after SECONDS (the assertion that follows reports it).
poll_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}

# q NODE SQL: one statement (or several) in database app as postgres.
q() {
  local node=$1
  shift
  as_pg env PGCONNECT_TIMEOUT=3 psql -X -qAt -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PG_PORT[$node]}" \
    -U postgres -d "${DB:-app}" -c "$*" 2>&1
}

# The members of /cluster as Patroni sees them (leader, sync_standby, replica).
cluster_json() {
  local node
  for node in "${NODES[@]}"; do
    curl -s -m 2 "http://127.0.0.1:${REST_PORT[$node]}/cluster" && return 0
  done
  return 1
}
members() {  # members ROLE -> names of running members with that role
  cluster_json | $PY -c '
import json, sys
want = sys.argv[1]
for m in json.load(sys.stdin).get("members", []):
    if m.get("role") == want and m.get("state") in ("running", "streaming"):
        print(m["name"])' "$1"
}
member() { members "$1" | head -1; }
rest_status() {  # rest_status NODE PATH -> HTTP code
  curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:${REST_PORT[$1]}$2"
}
# replayed NODE LSN: NODE has replayed the WAL up to LSN. A function, so that
# wait_until asks again each time (a "$(q ...)" argument is asked only once).
replayed() {
  [ "$(q "$1" "SELECT pg_last_wal_replay_lsn() >= '$2'")" == t ]
}
cluster_complete() {
  [ -n "$(member leader)" ] && [ -n "$(member sync_standby)" ] && [ -n "$(member replica)" ]
}

# ha_start_cluster NAME: a pg_workdir ($work), the teardown trap, three etcd
# members, then the three Patroni nodes; returns once there is a leader, a
# synchronous standby and an asynchronous replica ($LEADER, $SYNC, $ASYNC).
ha_start_cluster() {
  work=$(pg_workdir "$1")
  trap cleanup EXIT
  trap 'exit 1' INT TERM

  # ---- etcd: three members, all started before any is polled (a member is
  # healthy only once a quorum has elected a leader).
  local member initial="" node
  for member in "${ETCD_MEMBERS[@]}"; do
    initial+="${initial:+,}$member=http://127.0.0.1:${ETCD_PEER_PORT[$member]}"
  done
  mkdir -p "$work/etcd"
  for member in "${ETCD_MEMBERS[@]}"; do
    mkdir -p "$work/etcd/$member"
    chmod 700 "$work/etcd/$member"
  done
  chown -R "$PG_USER" "$work/etcd"
  for member in "${ETCD_MEMBERS[@]}"; do
    local client="http://127.0.0.1:${ETCD_CLIENT_PORT[$member]}" peer="http://127.0.0.1:${ETCD_PEER_PORT[$member]}"
    # Election timeout 2 s: on a busy 2-core machine a 1 s timeout lets a
    # starved member call elections that only slow the others down.
    spawn "$member" etcd --name "$member" --data-dir "$work/etcd/$member" \
      --listen-client-urls "$client" --advertise-client-urls "$client" \
      --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
      --initial-cluster "$initial" --initial-cluster-token insight-ha --initial-cluster-state new \
      --heartbeat-interval 200 --election-timeout 2000 --log-level warn
  done
  etcd_healthy() { curl -s -m 2 "http://127.0.0.1:$1/health" | grep -q '"health":"true"'; }
  for member in "${ETCD_MEMBERS[@]}"; do
    wait_until 30 "$member healthy" etcd_healthy "${ETCD_CLIENT_PORT[$member]}"
  done

  # ---- three Patroni nodes, all at once: whichever takes etcd's initialize
  # key bootstraps, the others wait for it and then clone it with
  # pg_basebackup.
  for node in "${NODES[@]}"; do
    mkdir -p "$work/$node/pg-log" "$work/$node/patroni-log"
    sed -e "s|@NAME@|$node|g" -e "s|@WORK@|$work|g" -e "s|@PG_BIN@|$PG_BIN|g" \
        -e "s|@REST_PORT@|${REST_PORT[$node]}|g" -e "s|@PG_PORT@|${PG_PORT[$node]}|g" \
        -e "s|@ETCD1_PORT@|${ETCD_CLIENT_PORT[etcd1]}|g" -e "s|@ETCD2_PORT@|${ETCD_CLIENT_PORT[etcd2]}|g" \
        -e "s|@ETCD3_PORT@|${ETCD_CLIENT_PORT[etcd3]}|g" tests/ha/patroni.yml.in >"$work/$node/patroni.yml"
    chown -R "$PG_USER" "$work/$node"
    spawn "patroni-$node" patroni "$work/$node/patroni.yml"
  done
  wait_until 90 "a leader, a synchronous standby and a replica" cluster_complete
  LEADER=$(member leader)
  SYNC=$(member sync_standby)
  ASYNC=$(member replica)
}
