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

. tests/lib/ctest.sh

start=$(date +%s)
# Only the unit target: the integration tests need a server and have their own runner.
cmake_build insight_unit_tests -DINSIGHT_SANITIZE=$SANITIZE
run_ctest unit -j2
echo "unit: $total tests, build+run $(($(date +%s) - start))s (${BUILD#$ROOT/}, sanitize=$SANITIZE)"
echo "suite-result: $passed $failed"
[ "$failed" -eq 0 ]
