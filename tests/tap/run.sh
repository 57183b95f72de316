#!/usr/bin/env bash
# TAP tests (PostgreSQL::Test::Cluster) under tests/tap/t/*.pl, run by prove
# through tests/tap/prove.sh (as the PostgreSQL user), as make installcheck
# runs them. Counts every assertion. TAP_TESTS (or PROVE_TESTS, PGXS's name)
# picks files: "t/023_upgrade_catalog.pl" or "tests/tap/t/023_upgrade_catalog.pl".
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
# TAP_TESTS=1 is PGXS's switch (the Makefile's), not a choice of files.
selection=${PROVE_TESTS:-${TAP_TESTS:-}}
[ "$selection" = 1 ] && selection=
if [ -n "$selection" ]; then
  tests=()
  for t in $selection; do
    case $t in tests/tap/*) ;; *) t=tests/tap/$t ;; esac
    tests+=("$t")
  done
fi
logs=$(mktemp -d "${TMPDIR:-/tmp}/insight_keys.tap-logs.XXXXXX")
out=$(TESTDIR="$logs" bash tests/tap/prove.sh -v --timer "${tests[@]}" 2>&1)
rc=$?
echo "$out"
pass=$(grep -cE '^\s*ok [0-9]+' <<<"$out")
fail=$(grep -cE '^\s*not ok [0-9]+' <<<"$out")
if [ "$rc" -ne 0 ]; then
  [ "$fail" -eq 0 ] && fail=1
  for f in "$logs"/tmp_check/log/*; do
    echo "---- $f"
    tail -50 "$f"
  done 2>/dev/null | tail -300
fi
rm -rf "$logs"
echo "suite-result: $pass $fail"
[ "$fail" -eq 0 ]
