# tests/reliability/lib.sh - shared by the reliability scenarios (POSIX sh).
# Each scenario is a TAP script (tests/cli/lib.sh helpers) that also adds one
# row to the report `make stress` prints:
#   report SCENARIO ITERATIONS RECORDS LOST DUPLICATED PASS|FAIL
# REL_BUILD: where iolog.so, unsafe.so, plwork and plcheck are (build/rel);
# STRESS_SCALE: ci (small, default) or full (the counts the issue asks for).
. "$(dirname "$0")/../cli/lib.sh"
: "${REL_BUILD:=$SL_BUILD/rel}"
: "${STRESS_SCALE:=ci}"
: "${STRESS_REPORT:=$TMP/report}"
report() {
    printf '%s|%s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >> "$STRESS_REPORT"
}
scale() {  # scale CI_VALUE FULL_VALUE
    if [ "$STRESS_SCALE" = full ]; then echo "$2"; else echo "$1"; fi
}
