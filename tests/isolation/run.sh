#!/usr/bin/env bash
# Isolation specs: tests/isolation/specs/*.spec against
# tests/isolation/expected/*.out, in a temporary instance with the library
# preloaded.
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
work=$(pg_workdir isolation)
cp -r tests/isolation/specs tests/isolation/expected "$work/"
cp tests/isolation/isolation.conf "$work/temp.conf"
chown -R "$PG_USER" "$work" 2>/dev/null
out=$(cd "$work" && as_pg "$PG_ISOLATION_REGRESS" --bindir="$PG_BIN" --inputdir=. --outputdir=. \
      --temp-instance="$work/tmp_check" --temp-config="$work/temp.conf" \
      --port="${INSIGHT_ISOLATION_PORT:-55442}" --dbname=insight_isolation \
      --load-extension=pgcrypto --load-extension=insight_keys "${names[@]}" 2>&1)
echo "$out"
pass=$(grep -cE '\.\.\. ok|^ok ' <<<"$out")
fail=$(grep -cE '\.\.\. FAILED|^not ok ' <<<"$out")
if [ -f "$work/regression.diffs" ]; then
  echo "---- regression.diffs"
  head -300 "$work/regression.diffs"
fi
rm -rf "$work"
echo "suite-result: $pass $fail"
[ "$fail" -eq 0 ]
