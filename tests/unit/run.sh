#!/usr/bin/env bash
# GoogleTest unit tests of the pure C++ core (extension/core), built with CMake.
#   tests/unit/run.sh                      into build/unit
#   INSIGHT_SANITIZE=1 tests/unit/run.sh   into build/sanitize, with ASan + UBSan
# Prints ctest's summary, then "suite-result: PASS FAIL" (counts from ctest);
# exits non-zero on any failure (a compiler warning counts as one).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

if [ "${INSIGHT_SANITIZE:-0}" = 1 ]; then
  BUILD=$ROOT/build/sanitize
  SANITIZE=ON
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
else
  BUILD=$ROOT/build/unit
  SANITIZE=OFF
fi
mkdir -p "$BUILD"
LOG=$BUILD/run-logs
mkdir -p "$LOG"

give_up() {
  echo "$1"
  echo "suite-result: 0 1"
  exit 1
}

start=$(date +%s)
cmake -S "$ROOT" -B "$BUILD" -DINSIGHT_SANITIZE=$SANITIZE >"$LOG/configure.log" 2>&1 \
  || { cat "$LOG/configure.log"; give_up "cmake configure failed"; }
# Only the unit target: the integration tests need a server and have their own runner.
cmake --build "$BUILD" --target insight_unit_tests -j2 >"$LOG/build.log" 2>&1 \
  || { tail -60 "$LOG/build.log"; give_up "build failed"; }
warnings=0
if grep -q 'warning:' "$LOG/build.log"; then
  echo "compiler warnings (the build must be -Wall -Wextra clean):"
  grep -A3 'warning:' "$LOG/build.log" | head -60
  warnings=1
fi

ctest --test-dir "$BUILD" -L unit -j2 --output-on-failure >"$LOG/ctest.log" 2>&1
rc=$?
summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$LOG/ctest.log" | tail -1)
if [ -z "$summary" ]; then
  tail -60 "$LOG/ctest.log"
  give_up "ctest gave no summary"
fi
if [ "$rc" -ne 0 ]; then
  # The output of each failed test, without the progress lines of the others.
  grep -vE '^ +Start +[0-9]+: |Test +#[0-9]+: .* +Passed +' "$LOG/ctest.log" | head -400
else
  sed -n '/tests passed, /,$p' "$LOG/ctest.log"
fi
read -r failed total < <(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/' <<<"$summary")
passed=$((total - failed))
failed=$((failed + warnings))
[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "unit: $total tests, build+run $(($(date +%s) - start))s (${BUILD#$ROOT/}, sanitize=$SANITIZE)"
echo "suite-result: $passed $failed"
[ "$failed" -eq 0 ]
