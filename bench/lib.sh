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

# median_of "v1 v2 ...": the median of the values ("nan" when there are none).
median_of() {
  tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# iqr_spread_of "v1 v2 ...": (third quartile - first quartile) / median of the
# values, in percent: how much the middle half of many rounds disagrees. For
# suites that run many short rounds, where max - min (spread_of) would grow
# with the number of rounds and one preempted round would decide it.
iqr_spread_of() {
  tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR] = $1} END {
    if (NR < 4) { print 0; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    q1 = v[int((NR + 3) / 4)]; q3 = v[NR + 1 - int((NR + 3) / 4)]
    if (m < 0) m = -m
    printf "%.0f\n", (m > 0 ? 100 * (q3 - q1) / m : 0) }'
}

# bench_clock_sql: SQL defining, in the current database, bench_clock(q[, reps])
# -> (wall_us, cpu_us): the elapsed time of statement q (run reps times, 1 by
# default) in the server, and the same minus the time the backend waited for a
# core meanwhile (run_delay, the second field of /proc/self/schedstat, which
# the kernel adds up each time the task gets a core back, so it is exact when
# read by the running task itself): the time the backend ran, with what other
# processes took from it left out. cpu_us is NULL where the kernel does not
# provide it. The statements run with the caller's rights (row-level security
# applies); only the schedstat read is SECURITY DEFINER.
bench_clock_sql() {
  cat <<'SQL'
CREATE FUNCTION public.bench_run_delay_ns() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog AS $f$
BEGIN
  RETURN split_part(pg_read_file('/proc/self/schedstat'), ' ', 2)::bigint;
EXCEPTION WHEN OTHERS THEN
  RETURN NULL;
END
$f$;
CREATE FUNCTION public.bench_clock(q text, reps int DEFAULT 1, OUT wall_us float8, OUT cpu_us float8)
LANGUAGE plpgsql AS $f$
DECLARE
  t0 timestamptz;
  d0 bigint;
BEGIN
  d0 := public.bench_run_delay_ns();
  t0 := clock_timestamp();
  FOR i IN 1 .. reps LOOP
    EXECUTE q;
  END LOOP;
  wall_us := extract(epoch FROM clock_timestamp() - t0) * 1e6;
  cpu_us := wall_us - (public.bench_run_delay_ns() - d0) / 1e3;
END
$f$;
GRANT EXECUTE ON FUNCTION public.bench_run_delay_ns(), public.bench_clock(text, int) TO PUBLIC;
SQL
}
