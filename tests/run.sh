#!/bin/sh
# Run every test through prove: the cmocka unit binaries (TAP output) and the
# CLI integration scripts in tests/cli/*.t.  Prints one summary line last.
# Env: BUILD (default build), SANITIZE=1 (ASan+UBSan options), PROVE_JOBS.
# Cross-built binaries (make cross-test): SL_RUN is the runner prefix, e.g.
# "cross/qemu-run.sh armhf"; SL_TARGET adds tests/cross/*.t; SL_HUB_BIN is the
# (native) hub for the sync tests.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SL_BIN=$(pwd)/$BUILD/storelink
SL_BUILD=$(pwd)/$BUILD
export SL_BIN SL_BUILD
unit_dir=$BUILD/tests
cross_tests=""
if [ -n "${SL_RUN:-}" ]; then
    # Wrappers in $BUILD/qemu run each target binary through $SL_RUN, so prove and
    # the CLI scripts ("$SL_BIN", "$SL_BUILD/tests/writer") use them unchanged.
    # The unit binaries are linked into qemu/target, which has no writer next to
    # them: test_journal then finds its writer helper as $SL_BUILD/tests/writer,
    # the wrapper (a target binary cannot exec another one under qemu-user).
    SL_REAL_BUILD=$SL_BUILD
    wrap_dir=$SL_BUILD/qemu
    rm -rf "$wrap_dir"
    mkdir -p "$wrap_dir/tests" "$wrap_dir/target"
    wrap() {  # wrap WRAPPER PROGRAM
        printf '#!/bin/sh\n# runs %s under %s (tests/run.sh)\nexec %s %s "$@"\n' \
            "$2" "$SL_RUN" "$SL_RUN" "$2" > "$1" && chmod +x "$1"
    }
    wrap "$wrap_dir/storelink" "$SL_REAL_BUILD/storelink"
    for h in writer catalog_feed scanfeed ingest_client; do
        [ -x "$SL_REAL_BUILD/tests/$h" ] && wrap "$wrap_dir/tests/$h" "$SL_REAL_BUILD/tests/$h"
    done
    mkdir -p "$wrap_dir/examples"
    [ -x "$SL_REAL_BUILD/examples/pos_minimal" ] &&
        wrap "$wrap_dir/examples/pos_minimal" "$SL_REAL_BUILD/examples/pos_minimal"
    for t in "$SL_REAL_BUILD"/tests/test_*; do
        [ -x "$t" ] || continue
        n=${t##*/}
        ln -f "$t" "$wrap_dir/target/$n" 2>/dev/null || cp "$t" "$wrap_dir/target/$n"
        wrap "$wrap_dir/tests/$n" "$wrap_dir/target/$n"
    done
    if [ -n "${SL_HUB_BIN:-}" ]; then ln -sf "$SL_HUB_BIN" "$wrap_dir/storelink-hub"; fi
    SL_BIN=$wrap_dir/storelink
    SL_BUILD=$wrap_dir
    unit_dir=$BUILD/qemu/tests
    [ -n "${SL_TARGET:-}" ] && cross_tests=$(ls tests/cross/*.t 2>/dev/null)
    export SL_RUN SL_REAL_BUILD
fi
export CMOCKA_MESSAGE_OUTPUT=TAP
# records carry the host's NTP state (docs/PROTOCOL.md "Clock trust"); tests
# that want another state set it themselves
export STORELINK_CLOCK_STATE="${STORELINK_CLOCK_STATE:-synced}"
if [ "${SANITIZE:-}" = 1 ]; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
unit=""
for t in "$unit_dir"/test_*; do
    [ -x "$t" ] && unit="$unit $t"
done
# prove's own exit status, not tee's: a failing test must fail the run
rcfile=$(mktemp)
TAP_FAILLOG=$(mktemp); export TAP_FAILLOG
trap 'rm -f "$log" "$rcfile" "$TAP_FAILLOG"' EXIT
# shellcheck disable=SC2086
# -v so skipped subtests can be counted (a skip is not a pass); the console
# gets everything but the passing subtest lines, the whole log stays in $log
{ prove -v -j"${PROVE_JOBS:-2}" -e '' $unit tests/cli/*.t $cross_tests 2>&1; echo $? > "$rcfile"; } |
    tee "$log" | grep -Ev '^[[:space:]]*ok [0-9]+' || :
rc=$(cat "$rcfile")
# prove's own summary, condensed to the one line CI reads
tests=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$log" | tail -n 1)
failed=$(awk '/^Failed [0-9]+\/[0-9]+ subtests/ {split($2, a, "/"); f += a[1]} END {print f + 0}' "$log")
bad=$(grep -c "Wstat: [1-9]\|Parse errors\|No subtests run" "$log")
tests=${tests:-0}
skipped=$(grep -Eic '^[[:space:]]*ok [0-9]+.*# skip' "$log")
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=$bad; fi
passed=$((tests - failed - skipped))
echo "storelink tests: $passed passed, $skipped skipped, $failed failed"
# what failed, last, where the tail of a CI log shows it
if [ "$rc" -ne 0 ]; then
    sed -n '/^Test Summary Report/,/^Files=/p' "$log" | grep -v '^Files=\|^---' | sed 's/^/  /'
    sed 's/^/  /' "$TAP_FAILLOG"
fi
exit $rc
