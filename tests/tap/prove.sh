#!/usr/bin/env bash
# prove ARGS, for both ways the TAP suite runs: tests/tap/run.sh (make test)
# and PGXS's "make installcheck", which calls it as $(PROVE) from the top of
# the checkout. The tests start their own clusters (PostgreSQL::Test::Cluster)
# with the binaries first in PATH, and initdb refuses root: so the files the
# tests read are staged in a directory the PostgreSQL user can enter (a
# checkout under /root is out of its reach), prove runs there as that user
# when we are root, and the servers' logs are copied back to
# $TESTDIR/tmp_check/log (PGXS's place for them) before the stage goes.
# Paths in ARGS are relative to the top of the checkout (tests/tap/t/...).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# make installcheck passes PG_CONFIG; the binaries are those it names.
if [ -n "${PG_CONFIG:-}" ] && [ -z "${PG_BIN:-}" ]; then
  PG_BIN=$("$PG_CONFIG" --bindir)
fi
. "$ROOT/scripts/common.sh"

logs_to=${TESTDIR:-}
stage=$(pg_workdir tap)
mkdir -p "$stage/tests" "$stage/scripts"
cp -r "$ROOT/tests/tap" "$stage/tests/"
cp "$ROOT/README.md" "$stage/"
cp "$ROOT/scripts/demo.sql" "$stage/scripts/"
chown -R "$PG_USER" "$stage" 2>/dev/null

rc=0
(cd "$stage" && as_pg env TESTDIR="$stage" \
   PG_REGRESS="$PG_REGRESS" \
   PERL5LIB="$PGXS_DIR/src/test/perl:$stage/tests/tap/lib${PERL5LIB:+:$PERL5LIB}" \
   INSIGHT_ROOT="$ROOT" INSIGHT_README="$stage/README.md" \
   INSIGHT_DEMO_SQL="$stage/scripts/demo.sql" \
   prove "$@") || rc=$?
if [ -n "$logs_to" ] && [ -d "$stage/tmp_check/log" ]; then
  mkdir -p "$logs_to/tmp_check"
  rm -rf "$logs_to/tmp_check/log"
  cp -r "$stage/tmp_check/log" "$logs_to/tmp_check/"
fi
rm -rf "$stage"
exit "$rc"
