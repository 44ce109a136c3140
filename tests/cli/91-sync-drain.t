#!/bin/sh
# Offline, then online: the backlog drains to the hub exactly once, in
# order, with the chain intact; also across a broker crash, an agent
# SIGKILL and a hub SIGKILL in the middle of a drain.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'agent_kill dev-1; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
plan 19

sync_setup
ok $? "broker with mutual TLS started on 127.0.0.1:$BROKER_PORT"
hub_conf hub-a
# small batches and a narrow window so the kills below land mid-drain
agent_conf dev-1 "batch_max_records = 50
max_inflight = 2"

# 10,000 sales while there is no network at all
gen_sales T 1 10000 > "$TMP/sales1.jsonl"
ag dev-1 record --file "$TMP/sales1.jsonl" > /dev/null
ok $? "10,000 sales recorded offline"
hub_start hub-a
ok $? "hub running"
agent_start dev-1
wait_for 90 '[ "$(acked dev-1)" = 10000 ]'
ok $? "agent reports all 10,000 acknowledged"
is "$(hub_count)" 10000 "hub stored 10,000 records"
"$HUB_BIN" --config "$TMP/hub-a.conf" export --format jsonl > "$TMP/export1.jsonl"
is "$(sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$TMP/export1.jsonl" | sort -n | uniq | wc -l | tr -d ' ')" 10000 \
    "each seq 1..10000 exactly once at the hub"
last_hub=$(sed -n 's/.*"seq":10000,.*"hash":"\([0-9a-f]*\)".*/\1/p' "$TMP/export1.jsonl")
last_dev=$(ag dev-1 journal verify --json | sed -n 's/.*"tail_hash":"\([0-9a-f]*\)".*/\1/p')
is "$last_hub" "$last_dev" "hub's hash of seq 10000 equals the device's chain tail"

# broker crash (SIGKILL) and restart on the same port during a drain
agent_stop dev-1
gen_sales U 1 6000 > "$TMP/sales2.jsonl"
ag dev-1 record --file "$TMP/sales2.jsonl" > /dev/null
agent_start dev-1
wait_for 30 '[ "$(acked dev-1)" -gt 10000 ]'
port=$BROKER_PORT
at=$(acked dev-1)
broker_kill
broker_start "$TMP/pki" "$port"
ok $? "broker restarted after SIGKILL"
diag "broker killed at acked_through $at"
[ "$at" -lt 16000 ]
ok $? "the broker was killed mid-drain (acked $at of 16000)"
wait_for 90 '[ "$(acked dev-1)" = 16000 ]'
ok $? "drain completes after the broker crash"

# agent SIGKILL mid-drain, then restart
agent_kill dev-1
gen_sales V 1 6000 > "$TMP/sales3.jsonl"
ag dev-1 record --file "$TMP/sales3.jsonl" > /dev/null
agent_start dev-1
wait_for 30 '[ "$(acked dev-1)" -gt 16000 ]'
agent_kill dev-1
at=$(acked dev-1)
[ "$at" -lt 22000 ]
ok $? "the agent was SIGKILLed mid-drain (acked $at of 22000)"
agent_start dev-1
wait_for 90 '[ "$(acked dev-1)" = 22000 ]'
ok $? "drain completes after the agent was SIGKILLed mid-drain"

# hub SIGKILL mid-drain (it may die between storing and acking)
agent_stop dev-1
gen_sales W 1 6000 > "$TMP/sales4.jsonl"
ag dev-1 record --file "$TMP/sales4.jsonl" > /dev/null
agent_start dev-1
wait_for 30 '[ "$(hub_count)" -gt 22000 ]'
hub_kill hub-a
at=$(hub_count)
[ "$at" -lt 28000 ]
ok $? "the hub was SIGKILLed mid-drain (stored $at of 28000)"
hub_start hub-a
ok $? "hub restarted after SIGKILL"
wait_for 90 '[ "$(acked dev-1)" = 28000 ]'
ok $? "drain completes after the hub was SIGKILLed mid-drain"

is "$(hub_count)" 28000 "hub holds 28,000 records"
"$HUB_BIN" --config "$TMP/hub-a.conf" export --format jsonl > "$TMP/export2.jsonl"
is "$(sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$TMP/export2.jsonl" | sort -n | uniq -d | wc -l | tr -d ' ')" 0 \
    "no seq twice at the hub"
is "$(sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$TMP/export2.jsonl" | sort -n | awk 'NR != $1 {bad++} END {print bad + 0}')" 0 \
    "seqs at the hub are exactly 1..28000 (no gap)"
agent_stop dev-1
is "$?" 0 "agent stops cleanly on SIGTERM (exit 0)"
done_testing
