#!/bin/sh
# tests/fuzz/run.sh - runs the libFuzzer targets built by `make fuzz`.
# usage: BUILD=build/fuzz FUZZ_SECONDS=N tests/fuzz/run.sh TARGET...
#
# For each target:
#  1. regression: every file in tests/fuzz/regress/TARGET/ (inputs that once
#     crashed) is run once through the target;
#  2. fuzzing (FUZZ_SECONDS > 0): libFuzzer runs for FUZZ_SECONDS from a
#     scratch copy of tests/fuzz/corpus/TARGET/, so the committed corpus
#     does not grow.  A crashing input is kept as
#     $BUILD/fuzz/crashes/TARGET-crash-<sha1>: reproduce it with
#     `$BUILD/fuzz/fuzz_TARGET FILE`, fix, and commit the file under
#     tests/fuzz/regress/TARGET/.
# Cheap targets (small decoders whose coverage stops growing within a few
# seconds on an idle machine: CHEAP below) fuzz for FUZZ_CHEAP_SECONDS, by
# default a third of FUZZ_SECONDS, so CI's `make fuzz FUZZ_SECONDS=10` stays
# near its old time with 15 targets (NOTES-fuzz2.md, "What I measured").
# Prints one line per target (executions, executions/s, coverage) and a
# closing "fuzz: N passed, N failed"; exits 1 if any target failed.
set -u
cd "$(dirname "$0")/../.."
: "${BUILD:=build/fuzz}"
: "${FUZZ_SECONDS:=60}"
: "${FUZZ_CHEAP_SECONDS:=$(( FUZZ_SECONDS >= 3 ? FUZZ_SECONDS / 3 : FUZZ_SECONDS ))}"
CHEAP=" ack catreq barcode control topic ctlreply "
bin=$BUILD/fuzz
crashes=$bin/crashes
mkdir -p "$crashes"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/sl-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT INT TERM
# the targets make their keys and files under TMPDIR
export TMPDIR="$scratch"

# a throwaway CA for fuzz_batch's certificate step (any cert in a fuzzed
# batch fails against it; the point is to run mbedtls's checks on it)
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
       -keyout "$scratch/ca.key" -out "$scratch/ca.crt" -subj /CN=fuzz-ca -days 2 \
       >/dev/null 2>&1; then
    export SL_FUZZ_CA="$scratch/ca.crt"
else
    echo "run.sh: openssl could not make a CA; fuzz_batch runs without the certificate step" >&2
fi

passed=0 failed=0
printf '%-11s %7s %10s %7s %6s %6s %7s  %s\n' target regress execs exec/s cov ft corpus result
for t in "$@"; do
    exe=$bin/fuzz_$t
    log=$crashes/$t.log
    res=ok nreg=0 execs=- rate=- cov=- ft=- units=-
    if [ ! -x "$exe" ]; then
        echo "run.sh: $exe not built" >&2
        failed=$((failed + 1))
        continue
    fi
    : > "$log"
    # 1. regression inputs, each once
    if [ -d "tests/fuzz/regress/$t" ]; then
        set --  # the file list, in the positional parameters (names may have blanks)
        for f in "tests/fuzz/regress/$t"/*; do
            [ -f "$f" ] && set -- "$@" "$f"
        done
        nreg=$#
        if [ "$nreg" -gt 0 ] && ! "$exe" "$@" >> "$log" 2>&1; then
            res="FAIL (regression input; see $log)"
        fi
    fi
    # 2. fuzzing from a copy of the seeds
    secs=$FUZZ_SECONDS
    case $CHEAP in *" $t "*) [ "$FUZZ_CHEAP_SECONDS" -lt "$secs" ] && secs=$FUZZ_CHEAP_SECONDS ;; esac
    if [ "$res" = ok ] && [ "$secs" -gt 0 ]; then
        work=$scratch/corpus-$t
        mkdir -p "$work"
        if [ -d "tests/fuzz/corpus/$t" ]; then
            cp tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null
        fi
        if ! "$exe" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
                -rss_limit_mb=2048 -artifact_prefix="$crashes/$t-" "$work" >> "$log" 2>&1; then
            res="FAIL (see $log and $crashes/$t-*)"
        fi
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
        # the last status line: "#N  DONE  cov: C ft: F corp: U/..."
        last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
        cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
        ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
        units=$(printf '%s\n' "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
    fi
    case $res in ok) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
    printf '%-11s %7s %10s %7s %6s %6s %7s  %s\n' "$t" "$nreg" "${execs:--}" "${rate:--}" \
        "${cov:--}" "${ft:--}" "${units:--}" "$res"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
