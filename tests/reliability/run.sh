#!/bin/sh
# make stress: every scenario in tests/reliability/ through prove, then the
# table of scenario, iterations, records, lost, duplicated at the hub, result.
# STRESS_SCALE=ci|full (make stress uses full, .ci/run ci).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SL_BIN=$(pwd)/$BUILD/storelink
SL_BUILD=$(pwd)/$BUILD
REL_BUILD=$SL_BUILD/rel
STRESS_REPORT=$(mktemp "${TMPDIR:-/tmp}/slstress.XXXXXX")
TAP_FAILLOG=$(mktemp "${TMPDIR:-/tmp}/slfail.XXXXXX")
export SL_BIN SL_BUILD REL_BUILD STRESS_REPORT TAP_FAILLOG
log=$(mktemp "${TMPDIR:-/tmp}/slstress.log.XXXXXX")
prove ${PROVE_JOBS:+-j "$PROVE_JOBS"} tests/reliability/*.t 2>&1 | tee "$log"
rc=$(grep -q '^Result: PASS' "$log" && echo 0 || echo 1)
echo
awk -F'|' 'BEGIN { printf "%-52s %10s %8s %6s %6s  %s\n", "scenario", "iterations", "records", "lost", "dup", "result" }
           { printf "%-52s %10s %8s %6s %6s  %s\n", $1, $2, $3, $4, $5, $6 }' "$STRESS_REPORT"
# what failed, last, where the tail of a CI log shows it
if [ "$rc" -ne 0 ]; then
    echo
    sed -n '/^Test Summary Report/,/^Files=/p' "$log" | grep -v '^Files=\|^---' | sed 's/^/  /'
    sed 's/^/  /' "$TAP_FAILLOG"
fi
rm -f "$STRESS_REPORT" "$TAP_FAILLOG" "$log"
exit $rc
