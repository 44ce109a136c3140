#!/bin/sh
# Dead letters and trace through a real broker and hub: a hub that does not
# accept USD rejects a sale, `dlq list` shows the hub's reason, `dlq retry`
# while the rule stands keeps it, and after the operator adds USD the retry
# flips it to ok at the hub exactly once; a second rejected record is
# dropped with `dlq drop`, which journals a dlq_drop record that syncs to the
# hub with both chains intact.  `trace` follows records that are acked,
# rejected, dropped and waiting (daemon stopped, broker down).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'agent_kill dev-1; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
plan 53

show() { sed 's/^/#   /' "$@"; }
hub_export() { "$HUB_BIN" --config "$TMP/hub-a.conf" export --format jsonl; }
# the hub's row for one seq of dev-1
hub_row() { hub_export | grep "\"device\":\"dev-1\"" | grep "\"seq\":$1,"; }

sync_setup
ok $? "broker with mutual TLS started on 127.0.0.1:$BROKER_PORT"
hub_conf hub-a "currencies = EUR"
hub_start hub-a
ok $? "hub running, accepting EUR only"
agent_conf dev-1
agent_start dev-1

# seq 1-3 EUR, 4 USD (rejected), 5-6 EUR
{ gen_sales E 1 3 EUR; gen_sales U 1 1 USD; gen_sales E 4 5 EUR; } > "$TMP/s1.jsonl"
ag dev-1 record --file "$TMP/s1.jsonl" > /dev/null
ok $? "6 sales recorded, one in USD"
wait_for 30 '[ "$(acked dev-1)" = 6 ]'
ok $? "all 6 acknowledged (a rejected record is acknowledged too)"
wait_for 10 'ag dev-1 dlq list | grep -q "^4 "'
out=$(ag dev-1 dlq list)
ok $? "dlq list exits 0"
like "$out" '^4 +U-000001 +sale .* 2 currency .*currency USD not accepted$' \
    "dlq list: seq, txn_id, kind, code and the hub's reason"
is "$(echo "$out" | grep -c '^[0-9]')" 1 "exactly one dead letter"
js=$(ag dev-1 dlq list --json)
like "$js" '^\{"dead_letters":\[\{"seq":4,"txn_id":"U-000001","kind":"sale","ts":[0-9]+,"rejected_ms":[0-9]+,"code":2,"code_name":"currency","reason":"currency USD not accepted","retry":"none"\}\]\}$' \
    "dlq list --json: the documented fields"
like "$(ag dev-1 status)" 'dead letters 1' "status counts the dead letter"
like "$(hub_row 4)" '"status":"rejected","reject_code":2' "hub stored seq 4 as rejected"

# trace: an acked record, and the rejected one
tr=$(ag dev-1 trace E-000002)
ok $? "trace of an acked record exits 0"
like "$tr" 'seq +2' "trace: seq"
like "$tr" 'batch +1\.\.[0-9]+, first sent [0-9]{4}-' "trace: batch range and send time"
like "$tr" 'state +acked' "trace: acked"
like "$tr" 'acked +[0-9]{4}-[0-9-]+T[0-9:.]+Z? ' "trace: when acked"
tr=$(ag dev-1 trace U-000001)
like "$tr" 'state +rejected' "trace of the rejected record: rejected"
like "$tr" 'rejected +code 2 \(currency\) at .*: currency USD not accepted' "trace: code and the hub's reason"
like "$tr" 'dead letter kept: storelink dlq retry 4' "trace: what to do next"
like "$(ag dev-1 trace U-000001 --json)" '"state":"rejected".*"dead_letter":\{"code":2' "trace --json"

# retry while the hub still rejects USD: still a dead letter, reason refreshed
out=$(ag dev-1 dlq retry 4)
ok $? "dlq retry 4 exits 0"
like "$out" '1 dead letter\(s\) marked for retry' "dlq retry: says what it did"
wait_for 20 'grep -q "seq 4 retried, still rejected" "$TMP/hub-a.log"'
ok $? "the hub re-evaluated seq 4 and still rejects it"
wait_for 20 'ag dev-1 dlq list | grep -q "^4 .* - .*currency USD not accepted"'
ok $? "still a dead letter, retry settled (no longer pending)"
is "$(hub_export | grep -c '"seq":4,')" 1 "hub holds seq 4 once"

# the operator adds USD; retry again
hub_stop hub-a
hub_conf hub-a "currencies = EUR,USD"
hub_start hub-a
ok $? "hub restarted accepting EUR and USD"
ag dev-1 dlq retry --all > /dev/null
ok $? "dlq retry --all exits 0"
wait_for 30 '[ "$(ag dev-1 dlq list)" = "no dead letters" ]'
ok $? "the dead letter is gone after the hub's ack"
like "$(hub_row 4)" '"status":"ok".*"txn_id":"U-000001"' "hub now holds seq 4 as ok"
is "$(hub_export | grep -c '"seq":4,')" 1 "seq 4 exactly once at the hub (no double count)"
is "$(hub_count)" 6 "hub holds 6 records"
like "$(ag dev-1 trace U-000001)" 'state +acked' "trace: the retried record is now acked"

# a second rejected record (GBP), dropped by an operator
gen_sales G 1 1 GBP | ag dev-1 record > /dev/null
wait_for 30 'ag dev-1 dlq list | grep -q "^7 .*currency GBP not accepted"'
ok $? "GBP sale (seq 7) is a dead letter"
ag dev-1 dlq drop 7 2> "$TMP/err"
is "$?" 64 "dlq drop without --reason: exit 64"
like "$(cat "$TMP/err")" 'reason is required' "  one-line error naming --reason"
ag dev-1 dlq drop 99 --reason "typo" 2> "$TMP/err"
is "$?" 65 "dlq drop of an unknown seq: exit 65"
like "$(cat "$TMP/err")" 'seq 99 is not a dead letter' "  one-line error"
ag dev-1 dlq drop 3 --reason "typo" 2> /dev/null
is "$?" 65 "dlq drop of a record that is not a dead letter: exit 65"
ag dev-1 dlq drop 7 --reason "card 4111 1111 1111 1111 refunded" 2> "$TMP/err"
is "$?" 65 "dlq drop with a card number in the reason: exit 65"
like "$(cat "$TMP/err")" '\-\-reason: looks like a payment card number' "  names the field, never the number"
is "$(ag dev-1 journal list | grep -c '^[0-9]')" 7 "refused drops wrote nothing"
out=$(SUDO_USER=alice ag dev-1 dlq drop 7 --reason "GBP till: refunded in cash, booked by hand")
ok $? "dlq drop 7 --reason ... exits 0"
like "$out" 'dropped dead letter 7 \(G-000001\): recorded as seq 8 \(dlq_drop by alice\)' "drop reports the new record"
is "$(ag dev-1 dlq list)" "no dead letters" "dlq is empty"
like "$(ag dev-1 journal list --json | grep '"seq":8,')" \
    '"kind":"dlq_drop","txn_id":"storelink:dlq-drop:7",.*"target_seq":7,"target_txn_id":"G-000001","reason":"GBP till: refunded in cash, booked by hand","operator":"alice"' \
    "the dlq_drop record is in the journal"
wait_for 30 '[ "$(acked dev-1)" = 8 ]'
ok $? "the dlq_drop record is acknowledged"
like "$(hub_row 8)" '"status":"ok".*"kind":"dlq_drop".*"target_seq":7.*"operator":"alice"' \
    "hub's audit trail shows who dropped what and why"
like "$(ag dev-1 trace G-000001)" 'dropped +by alice at .* \(seq 8\): GBP till' "trace: dropped by whom"

# both chains intact: device verifies, hub's records link seq by seq to the device's tail
ag dev-1 journal verify > /dev/null
ok $? "device chain verifies"
hub_export | grep '"device":"dev-1"' | sed -n 's/.*"seq":\([0-9]*\),.*"prev_hash":"\([0-9a-f]*\)","hash":"\([0-9a-f]*\)".*/\1 \2 \3/p' |
    sort -n > "$TMP/chain"
awk 'BEGIN { p = sprintf("%064d", 0) } $2 != p || $1 != NR { bad = 1 } { p = $3 } END { exit bad }' "$TMP/chain"
ok $? "hub chain: seq 1..8, each prev_hash is the previous hash"
is "$(tail -n 1 "$TMP/chain" | cut -d' ' -f3)" \
   "$(ag dev-1 journal verify --json | sed -n 's/.*"tail_hash":"\([0-9a-f]*\)".*/\1/p')" \
   "hub's last hash is the device's chain tail"

# waiting: daemon stopped, then running with the broker down
agent_stop dev-1
gen_sales W 1 1 EUR | ag dev-1 record > /dev/null
like "$(ag dev-1 trace W-000001)" 'waiting +the daemon is not running' "trace: waiting, daemon not running"
port=$BROKER_PORT
broker_stop
agent_start dev-1
wait_for 10 'ag dev-1 trace W-000001 | grep -Eq "waiting +(offline|connecting) since"'
ok $? "trace: waiting, offline since (broker down)"
ag dev-1 trace W-000001 | show

ag dev-1 trace NO-SUCH-TXN 2> "$TMP/err"
is "$?" 66 "trace of an unknown txn_id: exit 66"
done_testing
