#!/bin/sh
# bench/ingest_bench.sh - records per second and p99 latency through the
# daemon's ingest socket (issue 6) with 1, 4 and 16 concurrent clients, with
# group commit ([ingest] batch_max = 256, the default) and with one
# transaction per record (batch_max = 1), in the same run.  Goal: with 16
# clients, group commit at least 10x the one-transaction-per-record rate.
#
# Called by bench/run.sh (`make bench`); builds nothing.  A missed goal is
# reported, not failed.  The daemon runs offline (no broker: nothing
# listens on its broker port), its state directory on the repository's disk.
# Env: BUILD (default build), INGEST_N records per client (default 200).
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
N=${INGEST_N:-200}
SL_BIN=$(pwd)/$BUILD/storelink
SL_BUILD=$(pwd)/$BUILD
CLIENT=$SL_BUILD/tests/ingest_client
export SL_BIN SL_BUILD
for b in "$SL_BIN" "$CLIENT"; do
    [ -x "$b" ] || { echo "bench/ingest_bench.sh: $b is missing: run 'make bench'" >&2; exit 1; }
done
mkdir -p build || exit 1
TMPDIR=$(pwd)/build
. tests/cli/lib.sh
. tests/lib/broker.sh
. tests/lib/sync.sh
trap 'agent_kill dev-1; rm -rf "$TMP"' EXIT
pki_init "$TMP/pki" >/dev/null && pki_device "$TMP/pki" dev-1 s-1 >/dev/null || exit 1
BROKER_PORT=$(free_port)
SOCK=$TMP/dev-1/ingest.sock

# run BATCH CLIENTS: prints "RATE P99_MS"
run() {
    agent_kill dev-1
    rm -rf "$TMP/dev-1" "$TMP"/lat.*
    agent_conf dev-1 "[ingest]
batch_max = $1"
    agent_start dev-1
    wait_for 10 '[ -S "$SOCK" ]' || { echo "0 0"; return 1; }
    t0=$(date +%s%N); i=1; pids=
    while [ "$i" -le "$2" ]; do
        "$CLIENT" "$SOCK" "B$i" "$N" -l > "$TMP/lat.$i" &
        pids="$pids $!"
        i=$((i + 1))
    done
    fail=0
    for p in $pids; do wait "$p" || fail=1; done
    t1=$(date +%s%N)
    total=$(cat "$TMP"/lat.* | wc -l)
    [ "$fail" -eq 0 ] && [ "$total" -eq $(($2 * N)) ] || { echo "0 0"; return 1; }
    p99=$(cat "$TMP"/lat.* | awk '{print $4}' | sort -n |
          awk -v n="$total" 'NR == int((n * 99 + 99) / 100) { printf "%.1f", $1 / 1000 }')
    echo "$((total * 1000000000 / (t1 - t0))) $p99"
}

echo "== ingest socket: $N records per client, offline daemon =="
printf '%-8s %-22s %-22s %s\n' clients "group commit rec/s" "1 txn/record rec/s" "p99 ms (group / 1 txn)"
failed=0
# run in this shell, not in $(...): the daemon's pid must stay known here so
# the next run and the exit trap stop it
for c in 1 4 16; do
    run 256 "$c" > "$TMP/res" || failed=1
    set -- $(cat "$TMP/res")
    g=$1 gp=$2
    run 1 "$c" > "$TMP/res" || failed=1
    set -- $(cat "$TMP/res")
    o=$1 op=$2
    printf '%-8s %-22s %-22s %s\n' "$c" "$g" "$o" "$gp / $op"
    [ "$c" = 16 ] && g16=$g o16=$o
done
if [ "${o16:-0}" -gt 0 ]; then
    ratio=$(awk -v g="$g16" -v o="$o16" 'BEGIN { printf "%.1f", g / o }')
    verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 10 ? "met" : "missed") }')
    echo "16 clients: group commit ${ratio}x one transaction per record (goal >= 10x): $verdict"
fi
exit "$failed"
