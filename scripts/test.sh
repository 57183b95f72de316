#!/usr/bin/env bash
# make test: build, install, run every suite; the last line is "N passed, M failed".
# Each suite is tests/<kind>/run.sh and ends its output with "suite-result: P F".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/common.sh

SUITES=(${INSIGHT_SUITES:-unit sanitize regress isolation integration tap browser ha fuzz})
LOGDIR=$ROOT/build/test-logs
mkdir -p "$LOGDIR"

echo "== build and install"
if ! { make -j"$(nproc)" PG_CONFIG="$PG_CONFIG" && make install PG_CONFIG="$PG_CONFIG"; } >"$LOGDIR/build.log" 2>&1; then
  tail -40 "$LOGDIR/build.log"
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
total_pass=0
total_fail=0
summary=()
# The extension must build warning-free, as the unit runner requires of its
# build (tests/lib/ctest.sh): a warning counts as a failure. Only what make
# recompiled can warn, so the objects go: the next run compiles and reports
# them again until the warning is fixed.
if grep -q "warning:" "$LOGDIR/build.log"; then
  echo "compiler warnings in the extension build (it must be warning-free):"
  grep -A3 "warning:" "$LOGDIR/build.log" | head -40
  find extension worker -name '*.o' -delete
  summary+=("$(printf '%-12s compiler warnings (build/test-logs/build.log)' build)")
  total_fail=$((total_fail + 1))
fi
for suite in "${SUITES[@]}"; do
  runner=tests/$suite/run.sh
  if [ ! -f "$runner" ]; then
    echo "== $suite: no runner ($runner)"
    summary+=("$(printf '%-12s missing runner' "$suite")")
    total_fail=$((total_fail + 1))
    continue
  fi
  echo "== $suite"
  start=$(date +%s)
  bash "$runner" 2>&1 | tee "$LOGDIR/$suite.log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E '^suite-result: [0-9]+ [0-9]+$' "$LOGDIR/$suite.log" | tail -1)
  if [ -z "$line" ]; then
    p=0
    f=1
  else
    read -r _ p f <<<"$line"
    # A runner that failed without counting a failure still counts as one.
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  fi
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
  summary+=("$(printf '%-12s %5d passed %3d failed  (%ss)' "$suite" "$p" "$f" $(( $(date +%s) - start )))")
done

echo
echo "== summary (logs in build/test-logs)"
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
