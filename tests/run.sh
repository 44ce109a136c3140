#!/bin/sh
# Run every test through prove: the cmocka unit binaries (TAP output) and the
# CLI integration scripts in tests/cli/*.t.  Prints one summary line last.
# Env: BUILD (default build), SANITIZE=1 (ASan+UBSan options), PROVE_JOBS.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SL_BIN=$(pwd)/$BUILD/storelink
SL_BUILD=$(pwd)/$BUILD
export SL_BIN SL_BUILD
export CMOCKA_MESSAGE_OUTPUT=TAP
if [ "${SANITIZE:-}" = 1 ]; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
unit=""
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] && unit="$unit $t"
done
# prove's own exit status, not tee's: a failing test must fail the run
rcfile=$(mktemp)
trap 'rm -f "$log" "$rcfile"' EXIT
# shellcheck disable=SC2086
{ prove -j"${PROVE_JOBS:-2}" -e '' $unit tests/cli/*.t 2>&1; echo $? > "$rcfile"; } | tee "$log"
rc=$(cat "$rcfile")
# prove's own summary, condensed to the one line CI reads
tests=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$log" | tail -n 1)
failed=$(awk '/^Failed [0-9]+\/[0-9]+ subtests/ {split($2, a, "/"); f += a[1]} END {print f + 0}' "$log")
bad=$(grep -c "Wstat: [1-9]\|Parse errors\|No subtests run" "$log")
tests=${tests:-0}
passed=$((tests - failed))
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=$bad; fi
echo "storelink tests: $passed passed, $failed failed"
exit $rc
