#!/usr/bin/env bash
# libFuzzer over the pure core (tests/fuzz/fuzz_keys.cpp) with AddressSanitizer
# and UndefinedBehaviorSanitizer, for a bounded time:
#   bash tests/fuzz/run.sh [SECONDS]     (default 60; make fuzz passes 600)
# Seeds come from tests/fuzz/corpus (checked in, never written); inputs the
# fuzzer finds go to build/fuzz/corpus, a crashing input to build/fuzz/crash-*.
# Last line: "suite-result: P F" (1 0 when the run ends without a finding).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SECONDS_TO_RUN=${1:-60}
OUT=$ROOT/build/fuzz
CXX_FUZZ=${CXX_FUZZ:-clang++}
mkdir -p "$OUT/corpus"

if ! command -v "$CXX_FUZZ" >/dev/null; then
  echo "clang++ not found (install clang; scripts/install-deps.sh does)"
  echo "suite-result: 0 1"
  exit 1
fi

# The flags and the core's sources are the build's (buildflags.mk).
build_var() { sed -n "s/^$1 *= *//p" buildflags.mk; }
# shellcheck disable=SC2207 # the value is a list of globs: split and expanded on purpose
CORE=($(build_var INSIGHT_CORE_SOURCES))
read -r -a WARNINGS <<<"$(build_var INSIGHT_WARNINGS)"
read -r -a DEBUG_FLAGS <<<"$(build_var INSIGHT_DEBUG_FLAGS)"
echo "== build $OUT/fuzz_keys"
if ! "$CXX_FUZZ" -std=c++"$(build_var INSIGHT_CXX_STANDARD)" -g -O1 "${DEBUG_FLAGS[@]}" \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
      "${WARNINGS[@]}" -Werror -Iextension/core \
      tests/fuzz/fuzz_keys.cpp "${CORE[@]}" -o "$OUT/fuzz_keys"; then
  echo "fuzz harness failed to build"
  echo "suite-result: 0 1"
  exit 1
fi

echo "== run for ${SECONDS_TO_RUN}s"
log=$OUT/fuzz_keys.log
# -max_len: keys are 73-74 bytes; 4 KB leaves room for log-line-sized text
# around them without slowing each run down.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=32 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$OUT/fuzz_keys" "$OUT/corpus" tests/fuzz/corpus \
  -dict=tests/fuzz/keys.dict -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$OUT/" >"$log" 2>&1
rc=$?
grep -E 'INITED|DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb' "$log"
if [ "$rc" -ne 0 ]; then
  echo "---- fuzzer finding (exit $rc); log $log"
  grep -E -A40 'ERROR: |runtime error|invariant failed|deadly signal|timeout' "$log" | head -80
  ls "$OUT"/crash-* "$OUT"/leak-* "$OUT"/timeout-* "$OUT"/oom-* 2>/dev/null
  echo "not ok 1 - fuzz_keys found a failing input"
  echo "suite-result: 0 1"
  exit 1
fi
echo "ok 1 - fuzz_keys ran ${SECONDS_TO_RUN}s without a finding"
echo "suite-result: 1 0"
