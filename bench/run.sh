#!/usr/bin/env bash
# make bench: builds and installs, then runs every bench/suites/*.sh in order.
# Each suite prints a markdown section; all of them are collected in
# build/bench/results.md (copy the figures into docs/PERFORMANCE.md).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
# Under the build lock: someone else may be building in the same tree.
bash scripts/dev-install.sh PG_CONFIG="$PG_CONFIG" >/dev/null || exit 1
mkdir -p build/bench
results=build/bench/results.md
{
  echo "# insight_keys benchmark results"
  echo
  echo "- date: $(date -u +%FT%TZ)"
  echo "- machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
  echo "- PostgreSQL: $("$PG_BIN/postgres" --version)"
  echo
} >"$results"
status=0
for suite in ${BENCH_SUITES:-bench/suites/*.sh}; do
  echo "== $suite"
  bash "$suite" | tee -a "$results" || status=1
done
echo "results: $results"
exit $status
