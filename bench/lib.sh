# Shared by bench/run.sh and bench/suites/*.sh: how far a figure can be
# trusted. On a busy machine the rounds of one measurement disagree, and a
# median ratio then says more about the neighbours than about the code: such
# a figure is reported "unsure", not "met" or "missed".

# Rounds may differ by this much (percent of their median) before a verdict
# is withheld.
BENCH_MAX_SPREAD=${BENCH_MAX_SPREAD:-15}

# spread_of "v1 v2 ...": (max - min) / median of the values, in percent.
spread_of() {
  tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {
    if (NR < 2) { print 0; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    if (m < 0) m = -m
    printf "%.0f\n", (m > 0 ? 100 * (v[NR] - v[1]) / m : 0) }'
}

# pairwise OP "a1 a2 ..." "b1 b2 ...": a_i / b_i (OP "ratio") or a_i - b_i
# (OP "diff") for each round i, space-separated.
pairwise() {
  paste -d ' ' <(tr ' ' '\n' <<<"$2" | grep .) <(tr ' ' '\n' <<<"$3" | grep .) |
    awk -v op="$1" '{ if (op == "ratio") { if ($2 > 0) printf "%s ", $1 / $2 } else printf "%s ", $1 - $2 }'
}

# judge VALUE TARGET DIR SPREAD: "met" or "**missed**" (DIR ">=" or "<="),
# or "unsure" with the spread when the rounds differ by more than
# BENCH_MAX_SPREAD percent.
judge() {
  awk -v v="$1" -v t="$2" -v dir="$3" -v s="${4:-0}" -v max="$BENCH_MAX_SPREAD" 'BEGIN {
    if (s + 0 > max + 0) { printf "unsure: rounds differ by %d%%\n", s; exit }
    ok = (dir == ">=") ? v >= t : v <= t
    printf "%s (rounds within %d%%)\n", ok ? "met" : "**missed**", s }'
}

# cpu_busy_pct SECONDS: percent of all cores' time spent busy over SECONDS
# (from /proc/stat; steal counts as busy: a neighbour had the core).
cpu_busy_pct() {
  local a b
  a=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat)
  sleep "$1"
  b=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
    busy = y[1] - x[1]; idle = y[2] - x[2]
    printf "%.0f\n", ((busy + idle) > 0 ? 100 * busy / (busy + idle) : 0) }'
}
