#!/usr/bin/env bash
# The GoogleTest unit suites under AddressSanitizer + UndefinedBehaviorSanitizer
# (make test-sanitize; the "sanitize" suite of make test). The build and run are
# tests/unit/run.sh's, with INSIGHT_SANITIZE=1 (build/sanitize); this wrapper
# adds one check of its own, that the binary really carries the sanitizers, so
# an option that silently stopped working cannot pass as a sanitized run.
# Last line: "suite-result: P F".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

out=$(INSIGHT_SANITIZE=1 bash tests/unit/run.sh 2>&1)
rc=$?
echo "$out" | grep -v '^suite-result:'
line=$(grep -E '^suite-result: [0-9]+ [0-9]+$' <<<"$out" | tail -1)
if [ -z "$line" ]; then
  p=0
  f=1
else
  read -r _ p f <<<"$line"
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
fi

bin=$(find "$ROOT/build/sanitize" -type f -name insight_unit_tests -perm -u+x 2>/dev/null | head -1)
# ldd's output is read whole first: `ldd | grep -q` under pipefail fails at
# random when grep exits before ldd has written everything (SIGPIPE).
libs=$([ -n "$bin" ] && ldd "$bin" 2>/dev/null)
if grep -q libasan <<<"$libs" && grep -q libubsan <<<"$libs"; then
  echo "ok - $(basename "$bin") links libasan and libubsan"
  p=$((p + 1))
else
  echo "not ok - no unit test binary built with ASan + UBSan under build/sanitize"
  f=$((f + 1))
fi
echo "suite-result: $p $f"
[ "$f" -eq 0 ]
