#!/usr/bin/env bash
# Isolation specs: tests/isolation/specs/*.spec against
# tests/isolation/expected/*.out, in a temporary instance with the library
# preloaded. ISOLATION="rotate_vs_revoke" (PGXS's name) runs only those specs.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. scripts/common.sh

shopt -s nullglob
specs=(tests/isolation/specs/*.spec)
if [ "${#specs[@]}" -eq 0 ]; then
  echo "no isolation specs"
  echo "suite-result: 0 1"
  exit 1
fi
names=()
for s in "${specs[@]}"; do names+=("$(basename "$s" .spec)"); done
if [ -n "${ISOLATION:-}" ]; then
  names=($ISOLATION)
  for n in "${names[@]}"; do
    [ -f "tests/isolation/specs/$n.spec" ] && continue
    echo "ISOLATION names $n: no tests/isolation/specs/$n.spec"
    echo "suite-result: 0 1"
    exit 1
  done
fi
# A TRUNCATE of several insight tables takes their locks in list order; the
# cascade worker (woken by the commit before a teardown) locks cascade_queue
# first, so any other order can deadlock with it (docs/WORKER.md, "Lock order").
order_errors=0
for s in "${specs[@]}"; do
  while IFS= read -r stmt; do
    echo "$(basename "$s"): TRUNCATE must name insight.cascade_queue first: $stmt"
    order_errors=$((order_errors + 1))
  done < <(perl -0777 -ne 'while (/\bTRUNCATE\s+(?:TABLE\s+)?([^;]*);/gi) { my $l = $1; $l =~ s/\s+/ /g;
             my @t = grep { /^insight\./ } map { s/^\s+|\s+$//gr } split /,/, $l;
             print "TRUNCATE $l\n" if @t > 1 && $t[0] ne "insight.cascade_queue"; }' "$s")
done
if [ "$order_errors" -ne 0 ]; then
  echo "suite-result: 0 $order_errors"
  exit 1
fi
work=$(pg_workdir isolation)
cp -r tests/isolation/specs tests/isolation/expected "$work/"
cp tests/isolation/isolation.conf "$work/temp.conf"
chown -R "$PG_USER" "$work" 2>/dev/null
out=$(cd "$work" && as_pg "$PG_ISOLATION_REGRESS" --bindir="$PG_BIN" --inputdir=. --outputdir=. \
      --temp-instance="$work/tmp_check" --temp-config="$work/temp.conf" \
      --port="${INSIGHT_ISOLATION_PORT:-25442}" --dbname=insight_isolation \
      --load-extension=pgcrypto --load-extension=insight_keys "${names[@]}" 2>&1)
echo "$out"
# Every test line that is not "ok" failed (FAILED, or a missing expected file).
pass=$(grep -cE '\.\.\. ok |^ok ' <<<"$out")
fail=$(grep -E '\.\.\. |^not ok ' <<<"$out" | grep -cvE '\.\.\. ok ')
if [ -f "$work/regression.diffs" ]; then
  echo "---- regression.diffs"
  head -300 "$work/regression.diffs"
fi
rm -rf "$work"
echo "suite-result: $pass $fail"
[ "$fail" -eq 0 ]
