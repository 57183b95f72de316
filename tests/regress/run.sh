#!/usr/bin/env bash
# pg_regress over sql/ and expected/: the preloaded schedule, then the
# no-preload schedule, each in its own temporary instance. REGRESS="00_setup
# 06_bad_input 99_teardown" (PGXS's name) runs only those tests, each in the
# instance of the schedule that lists it, in schedule order.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. scripts/common.sh

# Every sql/*.sql must be in exactly one schedule.
status=0
for f in sql/*.sql; do
  t=$(basename "$f" .sql)
  if ! grep -qwh "$t" sql/schedule sql/schedule_nopreload 2>/dev/null; then
    echo "sql/$t.sql is in no schedule"
    status=1
  fi
done

pass=0
fail=$status
run_schedule() {  # schedule temp-config
  local work out
  work=$(pg_workdir regress)
  cp -r sql expected "$work/"
  if [ -n "${REGRESS:-}" ]; then
    awk -v pick=" $REGRESS " '/^test:/ { for (i = 2; i <= NF; i++) if (index(pick, " " $i " ")) print "test: " $i }' \
      "sql/$1" >"$work/sql/$1"
    if [ ! -s "$work/sql/$1" ]; then rm -rf "$work"; return; fi
  fi
  [ -d tests/regress/input ] && cp -r tests/regress/input "$work/"
  cp "$2" "$work/temp.conf"
  chown -R "$PG_USER" "$work" 2>/dev/null
  out=$(cd "$work" && as_pg "$PG_REGRESS" --bindir="$PG_BIN" --inputdir=. --outputdir=. \
        --temp-instance="$work/tmp_check" --temp-config="$work/temp.conf" \
        --port="${INSIGHT_REGRESS_PORT:-25432}" \
        --schedule="sql/$1" --dbname=insight_regress 2>&1)
  echo "$out"
  # Every test line that is not "ok" failed: FAILED, and also a test whose
  # expected file is missing (pg_regress then prints "diff: ..." instead).
  pass=$((pass + $(grep -cE '\.\.\. ok |^ok ' <<<"$out")))
  fail=$((fail + $(grep -E '\.\.\. |^not ok ' <<<"$out" | grep -cvE '\.\.\. ok ')))
  if [ -f "$work/regression.diffs" ]; then
    echo "---- regression.diffs ($1)"
    head -300 "$work/regression.diffs"
  fi
  rm -rf "$work"
}

if [ -n "${REGRESS:-}" ]; then
  for t in $REGRESS; do
    if ! grep -qE "^test:.*[[:space:]]$t([[:space:]]|\$)" sql/schedule sql/schedule_nopreload; then
      echo "REGRESS names $t, which no schedule lists"
      fail=$((fail + 1))
    fi
  done
fi
run_schedule schedule tests/regress/preload.conf
[ -f sql/schedule_nopreload ] && run_schedule schedule_nopreload tests/regress/nopreload.conf
echo "suite-result: $pass $fail"
[ "$fail" -eq 0 ]
