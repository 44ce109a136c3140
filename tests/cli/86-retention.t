#!/bin/sh
# Retention never prunes a record of a business day no close has counted:
# a daemon with retention_days = 0 syncing to the hub keeps acknowledged
# records of the open days, `storelink close-day` and the Z-report count all
# of them, and once the close is acknowledged too the closed day's records
# go (but not the ones of the day still open).  A device that does not use
# day closes (auto_close = no, never closed one) prunes on ack as before.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'agent_kill dev-1; agent_kill dev-2; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
plan 17

# the test's "today" must not end while it runs (the daemon would close it
# at day_end, 00:00 UTC)
left=$(( 86400 - $(date -u +%s) % 86400 ))
[ "$left" -lt 300 ] && sleep $((left + 5))

sync_setup
ok $? "broker started"
hub_conf hub-a
hub_start hub-a
ok $? "hub running"

# three sales two days ago (an ended business day, UTC), two today
now=$(date -u +%s)
day=$(date -u -d "@$((now - 172800))" +%Y-%m-%d)
ts=$(( $(date -u -d "$day 12:00:00" +%s) * 1000 ))
for i in 1 2 3; do
    printf '{"kind":"sale","txn_id":"OLD-%d","ts":%d,"currency":"EUR","lines":[{"sku":"SKU-1","qty":1,"unit_price":%d,"tax":19}],"tenders":[{"method":"card","amount":%d}]}\n' \
        "$i" "$((ts + i * 1000))" "$((i * 100))" "$((i * 100 + 19))"
done > "$TMP/old.jsonl"
gen_sales NOW 1 2 > "$TMP/now.jsonl"

agent_conf dev-1 "[journal]
retention_days = 0"
# started before the records: its automatic close at start finds no ended
# day with records, and looks again only when today ends
agent_start dev-1
wait_for 20 'grep -q "connected" "$TMP/dev-1.log"'
ag dev-1 record --file "$TMP/old.jsonl" > /dev/null &&
    ag dev-1 record --file "$TMP/now.jsonl" > /dev/null
ok $? "5 records: 3 dated $day, 2 now"
wait_for 20 '[ "$(acked dev-1)" = 5 ]'
ok $? "all 5 acknowledged by the hub"
sleep 2   # the daemon prunes on each ack with retention_days = 0
is "$(ag dev-1 journal list --json | wc -l | tr -d ' ')" 5 \
    "acknowledged records of days no close counted are kept"
out=$(ag dev-1 report day --date "$day")
like "$out" "records +3 \(seq 1\.\.3\)" "Z-report of $day counts its 3 records"
like "$out" "sales +3 +6\.57 EUR +tax 0\.57 EUR" "and their totals"

# the daemon is stopped for the close, or its ack and the prune can come
# before the report below looks
agent_stop dev-1
out=$(ag dev-1 close-day --date "$day")
is "$out" "closed business day $day as seq 6: 3 records (seq 1..3)" "close-day counts every record of the day"
like "$(ag dev-1 report day --date "$day")" "closed, journal matches the close \(close seq 6\)" \
    "the journal matches the close"
agent_start dev-1
wait_for 20 '[ "$(acked dev-1)" = 6 ]'
ok $? "the close is acknowledged"
wait_for 10 '[ "$(ag dev-1 journal list --json | wc -l | tr -d " ")" -eq 3 ]'
ok $? "then the closed day's records are pruned"
seqs=$(ag dev-1 journal list --json | sed -n 's/.*"seq":\([0-9]*\).*/\1/p' | tr '\n' ' ')
is "$seqs" "4 5 6 " "today's records (recorded before the close, dated after its day) and the close stay"
like "$(ag dev-1 report day)" "records +2 \(seq 4\.\.5\)" "today's Z-report so far still counts both"
ag dev-1 journal verify > /dev/null
ok $? "the pruned journal verifies from its anchor"
agent_stop dev-1
is "$?" 0 "agent stopped cleanly"

# a device that does not use day closes: retention alone decides
agent_conf dev-2 "[journal]
retention_days = 0
[day]
auto_close = no"
ag dev-2 record --file "$TMP/old.jsonl" > /dev/null
agent_start dev-2
wait_for 20 '[ "$(acked dev-2)" = 3 ]'
ok $? "dev-2 (auto_close = no, never closed a day): 3 records acknowledged"
wait_for 10 '[ "$(ag dev-2 journal list --json | wc -l | tr -d " ")" -eq 0 ]'
ok $? "and pruned on ack, as before"
done_testing
