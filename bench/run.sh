#!/usr/bin/env bash
# make bench: builds and installs, then runs every bench/suites/*.sh in order.
# Each suite prints a markdown section; all of them are collected in
# build/bench/results.md (copy the figures into docs/PERFORMANCE.md).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
. bench/lib.sh
# Under the build lock: someone else may be building in the same tree.
bash scripts/dev-install.sh PG_CONFIG="$PG_CONFIG" >/dev/null || exit 1
mkdir -p build/bench
results=build/bench/results.md
# How busy the machine is before any of the bench's own processes run: the
# figures are ratios of runs on the same cores, and what other jobs take from
# them lands in the ratios.
BENCH_MAX_BUSY=${BENCH_MAX_BUSY:-25}
busy_before=$(cpu_busy_pct 5)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# insight_keys benchmark results"
  echo
  echo "- date: $(date -u +%FT%TZ)"
  echo "- machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
  echo "- PostgreSQL: $("$PG_BIN/postgres" --version)"
  echo "- before the bench: ${busy_before}% of the cores busy over 5 s, load average $load_before"
  echo "- verdicts: \"unsure\" where a figure's rounds differ by more than ${BENCH_MAX_SPREAD}% of their median"
  echo
} >"$results"
cat "$results"
status=0
for suite in ${BENCH_SUITES:-bench/suites/*.sh}; do
  echo "== $suite"
  bash "$suite" | tee -a "$results" || status=1
done
busy_after=$(cpu_busy_pct 5)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo
  echo "## Conditions"
  echo
  echo "Cores busy with other work: ${busy_before}% before the bench, ${busy_after}% after it (load average $load_before before, $load_after after)."
  if [ "$busy_before" -gt "$BENCH_MAX_BUSY" ] || [ "$busy_after" -gt "$BENCH_MAX_BUSY" ]; then
    echo
    echo "**The machine was busy** (more than ${BENCH_MAX_BUSY}% of its cores in use by other processes):"
    echo "these ratios are not comparable with the quiet-machine figures in docs/PERFORMANCE.md;"
    echo "a \"missed\" here says little about the code. Run again when the machine is quiet."
  fi
} | tee -a "$results"
echo "results: $results"
exit $status
