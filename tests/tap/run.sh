#!/usr/bin/env bash
# TAP tests (PostgreSQL::Test::Cluster) under tests/tap/t/*.pl, run by prove
# as the PostgreSQL user. Counts every assertion.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. scripts/common.sh

shopt -s nullglob
tests=(tests/tap/t/*.pl)
if [ "${#tests[@]}" -eq 0 ]; then
  echo "no TAP tests"
  echo "suite-result: 0 1"
  exit 1
fi
work=$(pg_workdir tap)
cp -r tests/tap "$work/"
# Files of the checkout that tests read, copied where the server's user can
# read them (the checkout may be under a private home such as /root).
mkdir -p "$work/tap/from_checkout"
cp README.md scripts/demo.sql "$work/tap/from_checkout/"
chown -R "$PG_USER" "$work" 2>/dev/null
out=$(cd "$work/tap" && as_pg env TESTDIR="$work/tap" PG_REGRESS="$PG_REGRESS" \
      PERL5LIB="$PGXS_DIR/src/test/perl:$work/tap/lib" INSIGHT_ROOT="$ROOT" \
      INSIGHT_README="$work/tap/from_checkout/README.md" \
      INSIGHT_DEMO_SQL="$work/tap/from_checkout/demo.sql" \
      prove -v --timer ${TAP_TESTS:-t/*.pl} 2>&1)
rc=$?
echo "$out"
pass=$(grep -cE '^\s*ok [0-9]+' <<<"$out")
fail=$(grep -cE '^\s*not ok [0-9]+' <<<"$out")
if [ "$rc" -ne 0 ]; then
  [ "$fail" -eq 0 ] && fail=1
  for f in "$work"/tap/tmp_check/log/*; do
    echo "---- $f"
    tail -50 "$f"
  done 2>/dev/null | tail -300
fi
rm -rf "$work"
echo "suite-result: $pass $fail"
[ "$fail" -eq 0 ]
