#!/bin/sh
# make soak SOAK_MIN=N: N minutes of steady recording (10 sales/s through
# `storelink record`, 20/s through the ingest socket in short connections of
# 10, and `storelink status` over the control socket every 10 s) while the
# agent syncs through tests/reliability/faultproxy to a real broker and hub;
# every 60 s the broker restarts (SIGTERM and SIGKILL in turn), every 45 s the
# proxy drops all connections and every 100 s it black-holes the link for 20 s.
# Every 10 s one line: elapsed, the agent's RSS and heap (RssAnon), open file
# descriptors, the hub's RSS and heap, backlog (unacknowledged records).
# Goal: no growth in heap or descriptors after warm-up (RSS also counts the
# journal's mapped pages, which grow with the journal).  Not in CI.
# Ends with the growth from the first sample after warm-up (a quarter of the
# run, at least 60 s: allocator arenas and caches fill for minutes) to the last,
# and exit 1 when the agent's heap grew by more than 2 MiB or its descriptors
# by more than 4, or records are missing at the hub after a final drain.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SL_BIN=$(pwd)/$BUILD/storelink
SL_BUILD=$(pwd)/$BUILD
REL_BUILD=$SL_BUILD/rel
export SL_BIN SL_BUILD REL_BUILD
SOAK_MIN=${SOAK_MIN:-10}
[ -x "$SL_BUILD/tests/ingest_client" ] || { echo "soak: $SL_BUILD/tests/ingest_client not built (make soak builds it)" >&2; exit 1; }
. tests/cli/lib.sh
. tests/lib/broker.sh
. tests/lib/sync.sh
trap 'kill ${REC_PID:-} ${ING_PID:-} ${PROXY_PID:-} 2>/dev/null; agent_kill dev-1; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT INT TERM

sync_setup > /dev/null || { echo "soak: broker did not start" >&2; exit 1; }
port=$BROKER_PORT
echo pass > "$TMP/ctl"
"$REL_BUILD/faultproxy" 0 "$port" "$TMP/ctl" > "$TMP/proxy.out" 2> "$TMP/proxy.err" &
PROXY_PID=$!
wait_for 5 'grep -q listening "$TMP/proxy.out"'
pport=$(sed -n 's/^listening //p' "$TMP/proxy.out")
hub_conf hub-a
agent_conf dev-1 "keepalive = 10"
sed -i "s/^broker_port = .*/broker_port = $pport/" "$TMP/dev-1.conf"
hub_start hub-a || { echo "soak: hub did not start" >&2; exit 1; }
agent_start dev-1
(   # 10 sales a second, one `storelink record` per sale
    i=0
    while :; do
        i=$((i + 1))
        gen_sales S "$i" "$i" | ag dev-1 record > /dev/null 2>&1
        sleep 0.1
    done
) &
REC_PID=$!
wait_for 10 '[ -S "$TMP/dev-1/ingest.sock" ]'
(   # 20 sales a second through the ingest socket, a new connection for 10
    i=0
    while :; do
        i=$((i + 1))
        "$SL_BUILD/tests/ingest_client" "$TMP/dev-1/ingest.sock" "I$i" 10 > /dev/null 2>&1
        sleep 0.5
    done
) &
ING_PID=$!

kb() { sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null || echo 0; }
# the heap (anonymous memory): RSS also counts the journal's pages mapped by
# LMDB, which grow with the journal and are the kernel's to drop
anon() { sed -n 's/^RssAnon:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l | tr -d ' '; }
end=$(( $(date +%s) + SOAK_MIN * 60 ))
warm=$(( SOAK_MIN * 15 > 60 ? SOAK_MIN * 15 : 60 ))   # seconds
t0=$(date +%s)
printf '%8s %10s %10s %6s %10s %10s %8s\n' elapsed agent_kB agent_anon fds hub_kB hub_anon backlog
first_rss="" first_fds=""
while [ "$(date +%s)" -lt "$end" ]; do
    sleep 10
    el=$(( $(date +%s) - t0 ))
    [ $((el % 60)) -lt 10 ] && [ "$el" -ge 60 ] && {
        if [ $(( (el / 60) % 2 )) -eq 0 ]; then broker_kill; else broker_stop; fi
        broker_start "$TMP/pki" "$port" > /dev/null
    }
    [ $((el % 45)) -lt 10 ] && { echo drop > "$TMP/ctl"; sleep 0.2; echo pass > "$TMP/ctl"; }
    [ $((el % 100)) -lt 10 ] && [ "$el" -ge 100 ] && { echo blackhole > "$TMP/ctl"; sleep 20; echo pass > "$TMP/ctl"; }
    a=$(eval echo "\$AGENT_PID_dev_1"); h=$(eval echo "\$HUB_PID_hub_a")
    ag dev-1 status --json > /dev/null 2>&1
    ack=$(acked dev-1 || echo 0)   # first: records keep coming
    last=$(ag dev-1 journal verify 2>/dev/null | sed -n 's/.*last seq \([0-9]*\).*/\1/p')
    backlog=$(( ${last:-0} - ${ack:-0} ))
    r=$(kb "$a"); ra=$(anon "$a"); f=$(fds "$a"); hr=$(kb "$h"); ha=$(anon "$h")
    printf '%8s %10s %10s %6s %10s %10s %8s\n' "$el" "$r" "$ra" "$f" "$hr" "$ha" "$backlog"
    if [ -z "$first_rss" ] && [ "$el" -ge "$warm" ]; then
        first_rss=$r; first_anon=$ra; first_fds=$f; first_hub=$hr; first_hanon=$ha
    fi
done
kill "$REC_PID" "$ING_PID" 2>/dev/null; REC_PID= ING_PID=
wait_for 120 '[ "$(acked dev-1)" = "$(ag dev-1 journal verify | sed -n "s/.*last seq \([0-9]*\).*/\1/p")" ]'
drained=$?
last=$(ag dev-1 journal verify | sed -n 's/.*last seq \([0-9]*\).*/\1/p')
"$HUB_BIN" --config "$TMP/hub-a.conf" export --format jsonl --device dev-1 > "$TMP/hub.jsonl"
uniq=$(sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$TMP/hub.jsonl" | sort -n | uniq | wc -l | tr -d ' ')
via_sock=$(grep -c '"txn_id":"I[0-9]*-' "$TMP/hub.jsonl")
drss=$(( r - ${first_rss:-$r} )); danon=$(( ra - ${first_anon:-$ra} )); dfds=$(( f - ${first_fds:-$f} ))
echo "soak: ${SOAK_MIN} min, $last records ($via_sock through the ingest socket), hub holds $uniq distinct; agent growth after the ${warm} s warm-up: RSS ${drss} kB (heap ${danon} kB), descriptors ${dfds}; hub: RSS $(( hr - ${first_hub:-$hr} )) kB (heap $(( ha - ${first_hanon:-$ha} )) kB)"
[ "$drained" -eq 0 ] && [ "$uniq" = "$last" ] && [ "$danon" -le 2048 ] && [ "$dfds" -le 4 ]
