# TAP helpers for the CLI integration tests (sourced, POSIX sh).
# Each test file: . "$(dirname "$0")/lib.sh"; plan N; ok/is/...; done_testing
# SL_BIN is the storelink binary (set by tests/run.sh).
: "${SL_BIN:=$(cd "$(dirname "$0")/../.." && pwd)/build/storelink}"
: "${SL_BUILD:=$(dirname "$SL_BIN")}"
# the host's NTP state must not change what tests record (clock trust flags)
: "${STORELINK_CLOCK_STATE:=synced}"; export STORELINK_CLOCK_STATE
_tap_n=0
_tap_fail=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sltest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
plan() { echo "1..$1"; }
# a failure is also appended to $TAP_FAILLOG (set by the runners), which
# they print after the summary, where a CI log's tail shows it
_nok() {
    echo "not ok $_tap_n - $1"; _tap_fail=$((_tap_fail + 1))
    [ -n "${TAP_FAILLOG:-}" ] && echo "$(basename "$0"): not ok $_tap_n - $1" >> "$TAP_FAILLOG"
    return 0
}
ok() {  # ok CONDITION-EXIT-CODE DESCRIPTION
    _tap_n=$((_tap_n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $_tap_n - $2"
    else _nok "$2"; fi
}
is() {  # is GOT EXPECTED DESCRIPTION
    _tap_n=$((_tap_n + 1))
    if [ "$1" = "$2" ]; then echo "ok $_tap_n - $3"
    else _nok "$3"; printf '%s\n' "got:      '$1'" "expected: '$2'" | sed 's/^/#   /'; fi
}
like() {  # like GOT PATTERN(grep -E) DESCRIPTION
    _tap_n=$((_tap_n + 1))
    if printf '%s\n' "$1" | grep -Eq -- "$2"; then echo "ok $_tap_n - $3"
    else _nok "$3"; printf '%s\n' "got: '$1'" "want match: '$2'" | sed 's/^/#   /'; fi
}
unlike() {
    _tap_n=$((_tap_n + 1))
    if printf '%s\n' "$1" | grep -Eq -- "$2"; then _nok "$3"; printf '%s\n' "got: '$1'" | sed 's/^/#   /'
    else echo "ok $_tap_n - $3"; fi
}
diag() { echo "# $*"; }
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # skip $1"; }   # counted as skipped, never passed
done_testing() { [ "$_tap_fail" -eq 0 ]; exit $?; }
# sl ARGS...: run storelink on the test's own state dir with no config file
sl() { STORELINK_CONFIG= "$SL_BIN" --config "$TMP/none.conf" --state-dir "$TMP/state" "$@"; }
: > "$TMP/none.conf"
