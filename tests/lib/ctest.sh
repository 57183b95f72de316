# Shared by tests/unit/run.sh and tests/integration/run.sh: build one CMake
# target warning-free, run one ctest label, count. Expects ROOT, BUILD and LOG.

give_up() {
  echo "$1"
  echo "suite-result: 0 1"
  exit 1
}

# cmake_build TARGET [cmake -D options...]: sets warnings (0 or 1).
cmake_build() {
  local target=$1
  shift
  cmake -S "$ROOT" -B "$BUILD" "$@" >"$LOG/configure.log" 2>&1 \
    || { cat "$LOG/configure.log"; give_up "cmake configure failed"; }
  cmake --build "$BUILD" --target "$target" -j2 >"$LOG/build.log" 2>&1 \
    || { tail -60 "$LOG/build.log"; give_up "build failed"; }
  warnings=0
  if grep -q 'warning:' "$LOG/build.log"; then
    echo "compiler warnings (the build must be -Wall -Wextra clean):"
    grep -A3 'warning:' "$LOG/build.log" | head -60
    warnings=1
  fi
}

# run_ctest LABEL [ctest options...]: sets rc, total, passed, failed (a
# compiler warning counts as a failure; so does a failing run with no count).
run_ctest() {
  local label=$1 summary
  shift
  ctest --test-dir "$BUILD" -L "$label" "$@" --output-on-failure >"$LOG/ctest.log" 2>&1
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
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
}
