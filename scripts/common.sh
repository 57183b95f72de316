# Shared by the project's scripts: where PostgreSQL 15 lives and how to run
# its programs as the unprivileged user it insists on.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_CONFIG=${PG_CONFIG:-$PG_BIN/pg_config}
PGXS_DIR=$("$PG_CONFIG" --pkglibdir)/pgxs
PG_REGRESS=$PGXS_DIR/src/test/regress/pg_regress
PG_ISOLATION_REGRESS=$PGXS_DIR/src/test/isolation/pg_isolation_regress
PG_USER=${PG_USER:-postgres}
# One locale for every cluster the scripts start (initdb takes its encoding
# from it) and every client: without it a root shell with no LANG (a minimal
# Debian, a container) gets SQL_ASCII databases, where the tests of non-ASCII
# input fail. C.UTF-8 ships with Debian's libc; it also sorts like C.
export LC_ALL=C.UTF-8 LANG=C.UTF-8
unset LANGUAGE

# Runs a command as $PG_USER when we are root (PostgreSQL refuses root).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$PG_USER" -- env PATH="$PG_BIN:$PATH" "$@"
  else
    env PATH="$PG_BIN:$PATH" "$@"
  fi
}

# free_tcp_port START: the first port from START on (at most 100 tried) that
# nothing holds on 127.0.0.1. Default ports are below 32768: the kernel hands
# out 32768-60999 to client sockets, and one of those (or its TIME-WAIT) on a
# fixed server port makes a later start fail with "Address already in use".
# The port can still be taken between this check and the server's bind, so a
# caller that listens on TCP retries with the next one (see
# tests/integration/run.sh). The other servers listen on a unix socket only
# (listen_addresses = ''), where the port merely names the socket file: the
# demo, the bench, pg_regress/pg_isolation_regress temporary instances, and
# PostgreSQL 15's PostgreSQL::Test::Cluster (TAP), which on Linux also picks
# its ports from 10200-32767 after a bind check on 127.0.0.1.
free_tcp_port() {
  perl -MSocket -e '
    for my $p ($ARGV[0] .. $ARGV[0] + 99) {
      socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
      setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);
      if (bind($s, sockaddr_in($p, inet_aton("127.0.0.1"))) && listen($s, 1)) { print "$p\n"; exit 0 }
      close $s;
    }
    exit 1' "$1" || { echo "no free TCP port in $1..$(($1 + 99))" >&2; return 1; }
}

# A directory the PostgreSQL user can write, owned by it when we are root.
pg_workdir() {
  local d
  d=$(mktemp -d "${TMPDIR:-/tmp}/insight_keys.$1.XXXXXX")
  chmod 755 "$d"
  [ "$(id -u)" -eq 0 ] && chown "$PG_USER" "$d"
  echo "$d"
}

# start_throwaway_cluster NAME PORT [postgresql.conf lines]: a fresh cluster
# in a pg_workdir, run by $PG_USER, reachable only on a unix socket in that
# directory, insight_keys preloaded. Sets $work and $data; the cluster is
# stopped and removed when the script exits.
start_throwaway_cluster() {
  work=$(pg_workdir "$1")
  data=$work/data
  trap 'as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  as_pg "$PG_BIN/initdb" -D "$data" -A trust -U postgres >/dev/null
  cat >>"$data/postgresql.conf" <<CONF
port = $2
listen_addresses = ''
unix_socket_directories = '$work'
shared_preload_libraries = 'insight_keys'
max_connections = 20
log_min_messages = warning
${3:-}
CONF
  as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$work/server.log" -w start >/dev/null
}
