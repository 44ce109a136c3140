#!/bin/sh
# storelink-hub reconcile and report day with a real broker and hub: four
# devices of store s-1 sell on 2026-03-28 (Europe/Berlin, day ends 04:00).
# dev-1 closes and syncs cleanly; dev-2 closes but the hub loses a row;
# dev-3 sells and never closes; dev-4 closes but the hub's copy of a sale
# and of the chain hash at the day's last record are altered.  The hub
# database is edited with the sqlite3 shell: nothing else can remove or
# change a stored row, which is the point.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'for d in dev-1 dev-2 dev-3 dev-4; do agent_kill $d; done; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
plan 28

pki_init "$TMP/pki" > /dev/null &&
for d in dev-1 dev-2 dev-3 dev-4; do
    pki_device "$TMP/pki" $d s-1 > /dev/null && acl_device "$TMP/pki" s-1 $d || exit 1
done &&
broker_start "$TMP/pki"
ok $? "broker with mutual TLS started on 127.0.0.1:$BROKER_PORT"
hub_conf hub-a
hub_start hub-a
ok $? "hub running"
for d in dev-1 dev-2 dev-4; do
    agent_conf $d "[day]
timezone = Europe/Berlin
day_end = 04:00"
done
# dev-3's days are closed by hand only (its POS runs close-day), and nobody did
agent_conf dev-3 "[day]
timezone = Europe/Berlin
day_end = 04:00
auto_close = no"

sale() {  # sale TXN TS METHOD PRICE
    printf '{"kind":"sale","txn_id":"%s","ts":%s,"currency":"EUR","lines":[{"sku":"4006381333931","qty":2,"unit_price":%s,"tax":38}],"tenders":[{"method":"%s","amount":%s}]}\n' \
        "$1" "$2" "$4" "$3" $(($4 * 2 + 38))
}
{
    sale S-1 1774692000000 card 199          # 10:00Z on the 28th
    sale S-2 1774744200000 voucher 500       # 01:30 CET on the 29th: still the 28th
    printf '{"kind":"return","txn_id":"R-1","ts":1774745000000,"currency":"EUR","original_txn_id":"S-1","lines":[{"sku":"4006381333931","qty":1,"unit_price":199,"tax":19,"disposition":"restock"}],"refunds":[{"method":"card","amount":218}]}\n'
    printf '{"kind":"adjustment","txn_id":"A-1","ts":1774745100000,"reason":"shrink","lines":[{"sku":"4006381333931","qty":-1.5}]}\n'
    sale S-3 1774749600000 card 300          # 04:00 CEST on the 29th: the 29th
} > "$TMP/day.jsonl"

# sync DEV N: run the agent until the hub acknowledged N records, then stop it
sync_dev() {
    agent_start "$1"
    wait_for 30 "[ \"\$(acked $1)\" = $2 ]"
    _r=$?
    agent_stop "$1"
    return $_r
}
hub() { "$HUB_BIN" --config "$TMP/hub-a.conf" "$@"; }

for d in dev-1 dev-2 dev-4; do
    ag $d record --file "$TMP/day.jsonl" > /dev/null &&
    ag $d close-day --date 2026-03-28 > /dev/null || exit 1
done
# the daemon closes the ended days that have records by itself, here the
# 29th (S-3): 5 events + the close of the 28th + the close of the 29th
sync_dev dev-1 7
ok $? "dev-1 synced 7 records"
is "$(ag dev-1 journal list --json | grep -c '"txn_id":"day-close:2026-03-29"')" 1 \
    "the daemon closed the ended 29th by itself"
sync_dev dev-2 7
ok $? "dev-2 synced"
sync_dev dev-4 7
ok $? "dev-4 synced"

out=$(hub reconcile --date 2026-03-28 --store s-1)
is "$?" 0 "three closed devices reconcile: exit 0"
like "$out" "2026-03-28: 3 devices, 0 discrepancies" "summary line"
like "$(printf '%s\n' "$out" | grep '^dev-1 ')" "dev-1 +s-1 +yes +4 +4 +reconciles" "dev-1's close and the hub agree on 4 records"
out=$(hub report day --date 2026-03-28 --store s-1)
is "$?" 0 "hub report day exits 0"
printf '%s\n' "$out" | sed 's/^/# /'
like "$out" "devices +3 \(3 closed, 3 reconcile\)" "report counts devices and closes"
like "$out" "sales +6 +44\.22 EUR +tax 2\.28 EUR" "consolidated sales across the devices"
like "$out" "tender voucher +3 +31\.14 EUR" "consolidated per tender method"
like "$out" "adj shrink +3 +-4\.500 units" "consolidated units adjusted"

# dev-3 sells and syncs, but nobody closes its days
ag dev-3 record --file "$TMP/day.jsonl" > /dev/null
sync_dev dev-3 5
ok $? "dev-3 synced without a close of the 28th"

hub_stop hub-a
db="$TMP/hub.db"
# dev-2: the hub loses seq 2 (the voucher sale)
sqlite3 "$db" "DELETE FROM records WHERE device = 'dev-2' AND seq = 2;"
ok $? "deleted dev-2 seq 2 from the hub database"
# dev-4: seq 1's unit price 199 -> 200 in the stored body (CBOR 03 18 c7),
# and the stored hash of seq 4, the day's last record
sqlite3 "$db" "SELECT writefile('$TMP/body.bin', body) FROM records WHERE device = 'dev-4' AND seq = 1;" > /dev/null
off=$(LC_ALL=C grep -obUaP '\x03\x18\xc7' "$TMP/body.bin" | head -n 1 | cut -d: -f1)
printf '\310' | dd of="$TMP/body.bin" bs=1 seek=$((off + 2)) count=1 conv=notrunc 2>/dev/null
sqlite3 "$db" "UPDATE records SET body = readfile('$TMP/body.bin') WHERE device = 'dev-4' AND seq = 1;
               UPDATE records SET hash = zeroblob(32) WHERE device = 'dev-4' AND seq = 4;"
ok $? "altered dev-4's sale total and chain hash in the hub database"

out=$(hub reconcile --date 2026-03-28 --store s-1)
is "$?" 1 "reconcile exits 1 when anything does not reconcile"
printf '%s\n' "$out" | sed 's/^/# /'
like "$(printf '%s\n' "$out" | grep '^dev-1 ')" "reconciles" "dev-1 still reconciles"
is "$(printf '%s\n' "$out" | grep -c '^discrepancy  dev-1 ')" 0 "no discrepancy for dev-1"
like "$out" "discrepancy  dev-2 \(store s-1\): seq 2 missing at the hub" "the deleted row, by device and seq"
like "$out" "discrepancy  dev-2 \(store s-1\): tender EUR voucher: device close 1 for 1038, hub 0 for 0" \
    "and what it takes out of the totals"
like "$out" "discrepancy  dev-3 \(store s-1\): sold but never closed: 4 records \(seq 1\.\.4\) and no day_close for 2026-03-28" \
    "the device that sold but never closed"
like "$out" "discrepancy  dev-4 \(store s-1\): sale EUR total: device close 2 for 1474 \(tax 76\), hub 2 for 1476 \(tax 76\)" \
    "the altered total"
like "$out" "discrepancy  dev-4 \(store s-1\): chain hash at seq 4 does not match" "the chain hash mismatch"
out=$(hub reconcile --date 2026-03-28 --store s-1 --json)
like "$out" '"reconciled":false,"discrepancies":[1-9]' "JSON says it does not reconcile"
like "$out" '\{"device":"dev-1","store":"s-1","closed":true,"close_seq":6,"close_records":4,"hub_records":4,"reconciled":true,"discrepancies":\[\]\}' \
    "and dev-1 reconciles in JSON"
out=$(hub reconcile --store s-1 2>&1)
is "$?" 64 "reconcile without --date is a usage error"
done_testing
