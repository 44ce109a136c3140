#!/bin/sh
# bench/run.sh - run storelink's benchmarks and print one results table.
#
# Called by `make bench`, which builds the programs first (this script builds
# nothing).  A benchmark, not a test: it is not run in CI, and a missed goal
# is reported, not failed.  Exit status is non-zero only when a benchmark
# program (or valgrind running one) fails or is missing.
#
# Env: BUILD         build directory holding bench/ (default build)
#      BENCH_N       records per journal phase (default 2000)
#      BENCH_ROUNDS  alternating floor/api rounds, medians reported (default 5)
#      SYNC_*        the sync benchmark run at the end, see bench/sync_bench.sh
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
N=${BENCH_N:-2000}
ROUNDS=${BENCH_ROUNDS:-5}
BJ=$BUILD/bench/bench_journal
BC=$BUILD/bench/bench_codec
GOAL_OVERHEAD=15      # storelink time per record over the floor, percent (<)
GOAL_BYTES=1.0        # storelink bytes written per record over the floor (<=)
GOAL_ENC=3000         # instructions per encoded record (<=)
GOAL_DEC=6000         # instructions per decoded record (<=)

for b in "$BJ" "$BC"; do
    if [ ! -x "$b" ]; then
        echo "bench/run.sh: $b is missing: run 'make bench'" >&2
        exit 1
    fi
done

# the journal runs on the repository's own disk, as in real use (not /tmp)
mkdir -p build || exit 1
tmp=$(mktemp -d build/bench.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
failed=0

fstype=$(df -T "$tmp" 2>/dev/null | awk 'NR == 2 { print $2 }')
[ -n "$fstype" ] || fstype=$(stat -f -c %T "$tmp" 2>/dev/null)
[ -n "$fstype" ] || fstype=unknown

# ---- 1. journal: floor vs storelink, then group commit -----------------
echo "== bench_journal ($N records per phase, $ROUNDS rounds, $tmp on $fstype) =="
mkdir "$tmp/journal" || exit 1
{
    "$BJ" "$tmp/journal" "$N" "$ROUNDS"
    echo $? >"$tmp/bj.rc"
} | tee "$tmp/bj.out" | grep -v '^RESULT '
if [ "$(cat "$tmp/bj.rc" 2>/dev/null)" != 0 ]; then
    echo "bench/run.sh: bench_journal failed" >&2
    failed=1
fi
rm -rf "$tmp/journal"

# value of key=value from the RESULT lines of a file ("" when absent)
val() {
    grep '^RESULT ' "$2" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$1=//p" | tail -n 1
}

# ---- 2. codec: instructions per record under callgrind -----------------
echo
echo "== bench_codec =="
if "$BC" encode 1 >"$tmp/bc.out"; then
    grep -v '^RESULT ' "$tmp/bc.out"
else
    echo "bench/run.sh: bench_codec failed" >&2
    failed=1
fi
enc_bytes=$(val encoded_bytes "$tmp/bc.out")

# total instructions (Ir) of one callgrind run of bench_codec MODE N
callgrind_ir() {
    out=$tmp/cg.$1.$2
    if ! valgrind --tool=callgrind --callgrind-out-file="$out" "$BC" "$1" "$2" \
        >"$out.stdout" 2>"$out.stderr"; then
        cat "$out.stderr" >&2
        echo "bench/run.sh: valgrind --tool=callgrind $BC $1 $2 failed" >&2
        return 1
    fi
    ir=$(sed -n 's/^summary: *\([0-9][0-9]*\).*/\1/p' "$out" | tail -n 1)
    [ -n "$ir" ] || ir=$(sed -n 's/^totals: *\([0-9][0-9]*\).*/\1/p' "$out" | tail -n 1)
    if [ -z "$ir" ]; then
        echo "bench/run.sh: no instruction total in $out" >&2
        return 1
    fi
    echo "$ir"
}

enc_ipr=""
dec_ipr=""
na_codec="n/a"
if command -v valgrind >/dev/null 2>&1; then
    for mode in encode decode; do
        if ir1=$(callgrind_ir "$mode" 1) && ir1001=$(callgrind_ir "$mode" 1001); then
            ipr=$(awk -v a="$ir1" -v b="$ir1001" 'BEGIN { printf "%.0f", (b - a) / 1000 }')
            echo "callgrind $mode: $ir1 Ir at N=1, $ir1001 Ir at N=1001 -> $ipr instructions per record"
            if [ "$mode" = encode ]; then enc_ipr=$ipr; else dec_ipr=$ipr; fi
        else
            failed=1
        fi
    done
else
    na_codec="skipped (no valgrind)"
    echo "valgrind is not installed: skipping the instruction counts" \
         "(install it with ./toolchain/deps.sh bench)"
fi

# ---- 3. the results table ---------------------------------------------
f=$tmp/bj.out
# verdict A OP B  ->  PASS / MISS / n/a
verdict() {
    if [ -z "$1" ]; then echo "n/a"; return; fi
    awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
        ok = (op == "<") ? (a < b) : (a <= b); print ok ? "PASS" : "MISS" }'
}
or_na() { if [ -n "$1" ]; then echo "$1"; else echo "$na_codec"; fi; }
grp() { # group-commit cell: "api rec/s (floor rec/s)"
    a=$(val "g$1_api_rate" "$f")
    b=$(val "g$1_floor_rate" "$f")
    if [ -n "$a" ]; then echo "$a rec/s (floor $b)"; else echo "n/a"; fi
}
phase_cell() { # "rate rec/s  p50 x us  p99 y us"
    r=$(val "$1_rate" "$f")
    if [ -z "$r" ]; then echo "n/a"; return; fi
    echo "$r rec/s  p50 $(val "$1_p50_us" "$f") us  p99 $(val "$1_p99_us" "$f") us"
}
bytes_cell() {
    b=$(val "$1_bytes" "$f")
    if [ -n "$b" ]; then echo "$b B/rec"; else echo "n/a"; fi
}

ovh=$(val overhead_pct "$f")
stored=$(val api_stored "$f")
bratio=$(val bytes_ratio "$f")
bsrc=$(val bytes_src "$f")
case "$bsrc" in
proc_io) bsrc="/proc/self/io write_bytes" ;;
file_growth) bsrc="data.mdb growth (no /proc/self/io)" ;;
*) bsrc="n/a" ;;
esac
row() { printf '%-36s %-40s %-9s %s\n' "$1" "$2" "$3" "$4" | sed 's/ *$//'; }
ovh50=$(val overhead_p50_pct "$f")
signed() { case "$1" in -*) echo "$1" ;; *) echo "+$1" ;; esac; }

echo
echo "== storelink bench results: medians of $ROUNDS rounds x $N durable records, $fstype =="
row "figure" "value" "goal" "result"
row "floor: raw LMDB, 1 record/commit" "$(phase_cell floor)" "" ""
row "  bytes written per record" "$(bytes_cell floor)" "" ""
row "storelink: sl_journal_record" "$(phase_cell api)" "" ""
row "  bytes written per record" "$(bytes_cell api)" "" ""
row "  stored record size" "$(if [ -n "$stored" ]; then echo "$stored B (floor value 200 B)"; else echo n/a; fi)" "" ""
row "time per record over the floor" "$(if [ -n "$ovh" ]; then echo "$(signed "$ovh") % (at p50 $(signed "$ovh50") %)"; else echo n/a; fi)" \
    "< $GOAL_OVERHEAD %" "$(verdict "$ovh" "<" "$GOAL_OVERHEAD")"
row "bytes written per record over floor" "$(if [ -n "$bratio" ]; then echo "${bratio}x"; else echo n/a; fi)" \
    "<= ${GOAL_BYTES}x" "$(verdict "$bratio" "<=" "$GOAL_BYTES")"
row "group commit, 10 per commit" "$(grp 10)" "" ""
row "group commit, 100 per commit" "$(grp 100)" "" ""
row "codec encode, instructions/record" "$(or_na "$enc_ipr")" "<= 3,000" "$(verdict "$enc_ipr" "<=" "$GOAL_ENC")"
row "codec decode, instructions/record" "$(or_na "$dec_ipr")" "<= 6,000" "$(verdict "$dec_ipr" "<=" "$GOAL_DEC")"
row "encoded sale (3 lines, 1 tender)" "$(if [ -n "$enc_bytes" ]; then echo "$enc_bytes B"; else echo n/a; fi)" "" ""
echo "(bytes written: $bsrc; rec/s = records / sum of call times; latency per call)"

# ---- 4. sync: wire bytes and drain throughput (its own table) ---------
echo
if ! BUILD=$BUILD ./bench/sync_bench.sh; then
    echo "bench/run.sh: bench/sync_bench.sh failed" >&2
    failed=1
fi

# ---- 5. the ingest socket: group commit vs one transaction per record ----
echo
if ! BUILD=$BUILD ./bench/ingest_bench.sh; then
    echo "bench/run.sh: bench/ingest_bench.sh failed" >&2
    failed=1
fi
# the same with a store terminal's sync cost (3 ms per fsync/fdatasync)
if [ -f "$BUILD/bench/slowsync.so" ]; then
    echo "(again with 3 ms per fsync, as on eMMC: LD_PRELOAD=$BUILD/bench/slowsync.so)"
    if ! SLOWSYNC_US=3000 LD_PRELOAD=$(pwd)/$BUILD/bench/slowsync.so BUILD=$BUILD \
            ./bench/ingest_bench.sh; then
        echo "bench/run.sh: bench/ingest_bench.sh (slow sync) failed" >&2
        failed=1
    fi
fi

if [ "$failed" -ne 0 ]; then
    echo "bench/run.sh: a benchmark program failed (see above)" >&2
    exit 1
fi
exit 0
