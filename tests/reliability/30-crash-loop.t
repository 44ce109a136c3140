#!/bin/sh
# Crash loop: the daemon is SIGKILLed at random moments while 4 clients
# record and the sync drains to a real hub through a real broker (mutual
# TLS).  After every kill the journal verifies; at the end every record a
# client was told is recorded is in the journal, the sequence is gapless,
# and the hub holds each record exactly once.
#   clients: `storelink record` processes (one event or five JSON lines per
#   call), the path a POS without the ingest socket takes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'touch "$TMP/stop"; agent_kill dev-1; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
plan 9
iters=$(scale 15 1000)
seed=${STRESS_SEED:-$$}
diag "iterations $iters, seed $seed"

sync_setup
ok $? "broker with mutual TLS on 127.0.0.1:$BROKER_PORT"
hub_conf hub-a
agent_conf dev-1 "batch_max_records = 20
max_inflight = 2"
hub_start hub-a
ok $? "hub running"

client() {  # client K: records until $TMP/stop exists; logs what it was told
    _n=0
    while [ ! -e "$TMP/stop" ]; do
        _n=$((_n + 1))
        if [ $(( $1 % 2 )) -eq 0 ]; then
            gen_sales "C$1-$_n" 1 5 > "$TMP/c$1.in"
        else
            gen_sales "C$1-$_n" 1 1 > "$TMP/c$1.in"
        fi
        ag dev-1 record --file "$TMP/c$1.in" >> "$TMP/c$1.ok" 2>> "$TMP/c$1.err"
    done
}
cpids=""
for k in 1 2 3 4; do client $k & cpids="$cpids $!"; done

# the kill schedule: 50-600 ms of life per iteration, reproducible from the seed
awk -v s="$seed" -v n="$iters" 'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%.2f\n", 0.05 + rand() * 0.55 }' \
    > "$TMP/schedule"
bad_verify=0
i=0
while read -r life; do
    i=$((i + 1))
    agent_start dev-1
    sleep "$life"
    agent_kill dev-1
    if [ $((i % 5)) -eq 0 ] || [ "$i" -eq "$iters" ]; then
        ag dev-1 journal verify > "$TMP/verify.out" 2>&1 || { bad_verify=$((bad_verify + 1)); sed 's/^/# /' "$TMP/verify.out"; }
    fi
done < "$TMP/schedule"
touch "$TMP/stop"
for p in $cpids; do wait "$p" 2>/dev/null; done
is "$bad_verify" 0 "journal verified after every 5th of $iters SIGKILLs while 4 clients recorded"

ag dev-1 journal verify > "$TMP/verify.out" 2>&1
ok $? "journal verifies at the end"
last=$(sed -n 's/.*last seq \([0-9]*\).*/\1/p' "$TMP/verify.out")
records=$(sed -n 's/.*intact: \([0-9]*\) records.*/\1/p' "$TMP/verify.out")
is "$records" "$last" "gapless: $records records for last seq $last"
cat "$TMP"/c?.ok | sed -n 's/^recorded seq [0-9]* \(.*\)$/\1/p' | sort > "$TMP/told"
ag dev-1 export --format jsonl | sed -n 's/.*"txn_id":"\([^"]*\)".*/\1/p' | sort > "$TMP/have"
lost=$(comm -23 "$TMP/told" "$TMP/have" | wc -l | tr -d ' ')
is "$lost" 0 "every one of $(wc -l < "$TMP/told" | tr -d ' ') records clients were told about is in the journal"

diag "the hub had $(hub_count) records before the final restart (kills landed mid-drain)"
agent_start dev-1
wait_for 120 '[ "$(acked dev-1)" = "$last" ]'
ok $? "after the last restart everything is acknowledged (last seq $last)"
"$HUB_BIN" --config "$TMP/hub-a.conf" export --format jsonl --device dev-1 > "$TMP/hub.jsonl"
total=$(wc -l < "$TMP/hub.jsonl" | tr -d ' ')
uniq=$(sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$TMP/hub.jsonl" | sort -n | uniq | wc -l | tr -d ' ')
dup=$((total - uniq))
is "$dup" 0 "no record twice at the hub"
is "$uniq" "$last" "the hub holds every seq 1..$last"
[ "$_tap_fail" -eq 0 ] && res=PASS || res=FAIL
hub_lost=$((last - uniq))
[ "$hub_lost" -lt 0 ] && hub_lost=0
report "daemon SIGKILL loop, 4 clients" "$iters" "$last" "$((lost + hub_lost))" "$dup" "$res"
done_testing
