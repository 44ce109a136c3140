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
export SL_BIN SL_BUILD REL_BUILD STRESS_REPORT
prove ${PROVE_JOBS:+-j "$PROVE_JOBS"} tests/reliability/*.t
rc=$?
echo
awk -F'|' 'BEGIN { printf "%-52s %10s %8s %6s %6s  %s\n", "scenario", "iterations", "records", "lost", "dup", "result" }
           { printf "%-52s %10s %8s %6s %6s  %s\n", $1, $2, $3, $4, $5, $6 }' "$STRESS_REPORT"
rm -f "$STRESS_REPORT"
exit $rc
