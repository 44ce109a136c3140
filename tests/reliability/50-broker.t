#!/bin/sh
# Broker trouble during a drain: restarted with SIGTERM and SIGKILL, some
# restarts with its persistence file deleted (session-present 0: the agent
# and the hub must subscribe again), and a message_size_limit below the batch
# size (PUBACK 0x95: the agent splits its batches).  Pass: everything reaches
# the hub exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'agent_kill dev-1; agent_kill dev-2; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
plan 9
restarts=$(scale 6 20)

BROKER_PERSIST=1
export BROKER_PERSIST
sync_setup
ok $? "broker (persistence on) with mutual TLS on 127.0.0.1:$BROKER_PORT"
port=$BROKER_PORT
hub_conf hub-a
# small batches, one in flight: the drain must outlast several restarts
agent_conf dev-1 "batch_max_records = 20
max_inflight = 1"
total=$(scale 10000 20000)
gen_sales R 1 "$total" > "$TMP/s.jsonl"
ag dev-1 record --file "$TMP/s.jsonl" > /dev/null
hub_start hub-a
agent_start dev-1
lostp=0 i=0 mid=0
while [ $i -lt "$restarts" ]; do
    i=$((i + 1))
    before=$(hub_count)
    wait_for 20 '[ "$(hub_count)" -gt "$before" ]'
    [ "$(hub_count)" -lt "$total" ] && mid=$((mid + 1))
    if [ $((i % 2)) -eq 0 ]; then broker_kill; else broker_stop; fi
    if [ $((i % 3)) -eq 0 ]; then rm -f "$TMP/pki/mosquitto.db"; lostp=$((lostp + 1)); fi
    broker_start "$TMP/pki" "$port" || break
done
diag "$restarts restarts ($mid while records were still unsent), $lostp with the persistence file deleted"
[ "$mid" -ge $((restarts / 3)) ]
ok $? "the restarts hit the drain ($mid of $restarts while records were unsent)"
wait_for 180 '[ "$(acked dev-1)" = "$total" ]'
ok $? "all $total acknowledged after $restarts broker restarts"
"$HUB_BIN" --config "$TMP/hub-a.conf" export --format jsonl --device dev-1 > "$TMP/hub.jsonl"
uniq=$(sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$TMP/hub.jsonl" | sort -n | uniq | wc -l | tr -d ' ')
all=$(wc -l < "$TMP/hub.jsonl" | tr -d ' ')
is "$uniq" "$total" "the hub holds seq 1..$total"
is "$all" "$uniq" "none twice"
ag dev-1 journal verify > /dev/null
ok $? "journal intact"

# a broker that takes less than a batch: PUBACK 0x95, the agent splits
broker_stop
BROKER_MSG_LIMIT=6000
export BROKER_MSG_LIMIT
broker_start "$TMP/pki" "$port"
ok $? "broker restarted with message_size_limit 6000"
agent_conf dev-2 "batch_max_records = 500
compress = no"
gen_sales B 1 2000 > "$TMP/b.jsonl"
ag dev-2 record --file "$TMP/b.jsonl" > /dev/null
agent_start dev-2
wait_for 90 '[ "$(acked dev-2)" = 2000 ]'
ok $? "2,000 records acknowledged through the size limit"
grep -q "packet too large" "$TMP/dev-2.log"
ok $? "the agent saw 0x95 and said so"
dup=$((all - uniq))
[ "$_tap_fail" -eq 0 ] && res=PASS || res=FAIL
report "broker restarts (TERM/KILL, lost persistence), 0x95" "$restarts" "$((total + 2000))" "$((total - uniq))" "$dup" "$res"
done_testing
