#!/bin/sh
# The catalog downlink end to end: `storelink-hub publish` signs price and
# stock updates and sends them through the real broker (mutual TLS) to a
# running agent; `storelink price` / `storelink stock` answer from the
# agent's copy, also with the broker down.  Forged, stale and out-of-order
# messages are published by hand (mosquitto_pub with the hub's certificate,
# messages built by tests/unit/catalog_feed); a gap makes the agent ask for
# a snapshot, which the hub re-issues.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'agent_kill dev-1; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
plan 72

FEED="$SL_BUILD/tests/catalog_feed"
A=4006381333931          # GTINs with valid check digits
B=2000000000015
C=5901234123457
hub() { "$HUB_BIN" --config "$TMP/hub-a.conf" "$@"; }
now_ms() { date +%s%3N; }
# pub_as CERT TOPIC FILE: publish a file QoS 1 with a certificate of the test PKI
pub_as() {
    # shellcheck disable=SC2046
    mosquitto_pub $(broker_client_opts "$TMP/pki" "$1") -q 1 -t "$2" -f "$3"
}
# lines of the broker log matching ERE
log_count() { grep -Ec -- "$1" "$BROKER_LOG" 2>/dev/null || true; }
price_json() { ag dev-1 price "$@" --json 2>/dev/null; }
field() { sed -n "s/.*\"$1\":\\([0-9-]*\\).*/\\1/p"; }
stats() { "$FEED" --stats "$TMP/dev-1"; }
T_PRICES=storelink/v1/s-1/prices

sync_setup
ok $? "broker with mutual TLS on 127.0.0.1:$BROKER_PORT"
mkdir -p "$TMP/cat"
"$HUB_BIN" catalog-keygen --out "$TMP/cat/catalog.key" --pub "$TMP/cat/catalog.pub" > "$TMP/out"
ok $? "storelink-hub catalog-keygen made a key pair"
like "$(stat -c %a "$TMP/cat/catalog.key")" '^600$' "the catalog key is mode 0600"
"$HUB_BIN" catalog-keygen --out "$TMP/cat/catalog.key" > /dev/null 2>&1
is "$?" 73 "catalog-keygen never overwrites a key (exit 73)"
hub_conf hub-a "catalog_key = $TMP/cat/catalog.key"
agent_conf dev-1 "batch_max_records = 10
[catalog]
catalog_pubkey = $TMP/cat/catalog.pub"
hub_start hub-a
ok $? "hub running"
like "$(cat "$TMP/hub-a.log")" 'subscribed to .*catalog-request' "the hub listens for catalog-requests"
agent_start dev-1
broker_wait_grep "$BROKER_LOG" "dev-1 1 $T_PRICES" 10
ok $? "agent subscribed to its store's prices"

# --- CSV checks: a bad line publishes nothing --------------------------------------
printf 'sku,price,currency,effective_from\n%s,199,EUR,\n%s,12.50,EUR,0\n' $A $B > "$TMP/bad.csv"
hub publish prices "$TMP/bad.csv" --store s-1 > "$TMP/out" 2> "$TMP/err"
is "$?" 65 "a price with decimals: exit 65"
like "$(cat "$TMP/err")" "bad.csv:3: price: '12.50' is not a whole number" \
    "the error names the line and the field"
printf 'sku,price\n%s,199\n' $A > "$TMP/bad2.csv"
hub publish prices "$TMP/bad2.csv" --store s-1 > /dev/null 2> "$TMP/err"
rc=$?
like "exit=$rc $(cat "$TMP/err")" "exit=65 .*bad2.csv:1: header: expected 'sku,price,currency" \
    "a wrong header is named"
printf 'sku,price,currency\n%s,199,EUR\n%s,249,EUR\n' $A $A > "$TMP/dup.csv"
hub publish prices "$TMP/dup.csv" --store s-1 > /dev/null 2> "$TMP/err"
like "$(cat "$TMP/err")" "dup.csv:3: sku: repeats line 2" "a SKU given twice is refused"
hub publish prices "$TMP/dup.csv" --store s-1 --delta > /dev/null 2> "$TMP/err"
is "$?" 65 "a bad delta is refused too"
printf 'sku,on_hand\n%s,5\n' $A > "$TMP/s0.csv"
hub publish stock "$TMP/s0.csv" --store s-1 --delta > /dev/null 2> "$TMP/err"
rc=$?
like "exit=$rc $(cat "$TMP/err")" "exit=65 .*nothing published yet for stock of store s-1" \
    "--delta before any snapshot: refused"
hub publish stock "$TMP/s0.csv" --store all > /dev/null 2>&1
is "$?" 64 "stock for --store all: usage error"
printf 'sku,on_hand\n%s,1.2345\n' $A > "$TMP/bad3.csv"
hub publish stock "$TMP/bad3.csv" --store s-1 > /dev/null 2> "$TMP/err"
like "$(cat "$TMP/err")" "bad3.csv:2: on_hand: '1.2345' has more than 3 decimals" "on_hand: at most 3 decimals"
printf 'sku,price,currency,effective_from\n%s,199,EUR,tomorrow\n%s,199,eur,\n' $A $B > "$TMP/bad4.csv"
hub publish prices "$TMP/bad4.csv" --store s-1 > /dev/null 2> "$TMP/err"
like "$(cat "$TMP/err")" "bad4.csv:2: effective_from: 'tomorrow' is not Unix ms or an ISO 8601 time" \
    "effective_from: a time with a zone, or Unix ms"
printf 'sku,price,currency\n4111111111111111,199,EUR\n' > "$TMP/bad5.csv"
hub publish prices "$TMP/bad5.csv" --store s-1 > /dev/null 2> "$TMP/err"
like "$(cat "$TMP/err")" "bad5.csv:2: sku: looks like a payment card number" "the SKU rule refuses card numbers"
unlike "$(cat "$TMP/err")" "4111111111111111" "without echoing the number"
hub publish prices "$TMP/missing.csv" --store s-1 > /dev/null 2>&1
is "$?" 66 "a missing file: exit 66"

# --- (a) a price snapshot reaches the agent --------------------------------------
{
    echo "sku,price,currency,effective_from"
    echo "$A,199,EUR,"
    echo "$B,1250,EUR,0"
    echo "\"$C\",99,EUR,2030-01-01T00:00:00Z"
} > "$TMP/prices1.csv"
out=$(hub publish prices "$TMP/prices1.csv" --store s-1)
ok $? "publish a price snapshot"
is "$out" "published prices v1 (snapshot, 3 items) for store s-1" "publish says version, kind, count"
wait_for 10 "ag dev-1 price $A"
ok $? "the agent has the price"
out=$(ag dev-1 price $A)
like "$out" '^price +1\.99 EUR$' "price of A from the hub"
like "$out" '^catalog +prices v1 for store s-1, issued [0-9]+ s ago$' "it comes from version 1"
like "$(ag dev-1 price $C --at 2030-01-01T00:00:00Z)" '^price +0\.99 EUR$' \
    "an ISO 8601 effective_from became a scheduled price"
# keep the genuine v1 (retained) for the replay below
# shellcheck disable=SC2046
mosquitto_sub $(broker_client_opts "$TMP/pki" dev-1) -t $T_PRICES -C 1 -W 5 -N > "$TMP/v1.msg"
ok $? "the snapshot is retained on the broker"

# --- (b) a delta updates one SKU ----------------------------------------------------
printf 'sku,price,currency\n%s,219,EUR\n' $A > "$TMP/delta2.csv"
is "$(hub publish prices "$TMP/delta2.csv" --store s-1 --delta)" \
    "published prices v2 (delta, 1 item) for store s-1" "publish a delta (v2: the bad files used no version)"
wait_for 10 "ag dev-1 price $A | grep -q '2\\.19 EUR'"
ok $? "the delta changed A's price"
like "$(ag dev-1 price $A)" 'prices v2 for store s-1' "A now comes from v2"
like "$(ag dev-1 price $B)" '^price +12\.50 EUR$' "B kept its price"

# --- (c) the broker goes away: look-ups still answer ---------------------------------
port=$BROKER_PORT
broker_stop
ok $? "broker stopped"
wait_for 10 "ag dev-1 status --json | grep -q '\"state\":\"offline\"'"
like "$(ag dev-1 status --json)" '"state":"(offline|connecting)"' "the agent knows it is offline"
out=$(ag dev-1 price $A)
ok $? "storelink price answers with the broker down"
like "$out" '^price +2\.19 EUR$' "offline: the last price the hub sent"
hub publish prices "$TMP/delta2.csv" --store s-1 --delta > /dev/null 2> "$TMP/err"
rc=$?
like "exit=$rc $(cat "$TMP/err")" "exit=69 .*nothing published: cannot connect to the broker" \
    "publish with the broker down: exit 69, nothing published"
subs_agent=$(log_count "dev-1 1 $T_PRICES")
SUB_RE='hub-a 1 [$]share/hub/storelink/v1/[+]/[+]/catalog-request'
subs_hub=$(log_count "$SUB_RE")
broker_start "$TMP/pki" "$port"
ok $? "broker back on port $port"
wait_for 30 '[ "$(log_count "dev-1 1 $T_PRICES")" -gt "$subs_agent" ] && [ "$(log_count "$SUB_RE")" -gt "$subs_hub" ]'
ok $? "agent and hub subscribed again"

# --- (d) a scheduled price: now + 3 s ----------------------------------------------------
E=$(( $(now_ms) + 3000 ))
printf 'sku,price,currency,effective_from\n%s,249,EUR,%s\n' $A "$E" > "$TMP/delta3.csv"
is "$(hub publish prices "$TMP/delta3.csv" --store s-1 --delta)" \
    "published prices v3 (delta, 1 item) for store s-1" \
    "publish a price effective in 3 s (v3: the failed publish used no version)"
wait_for 3 "ag dev-1 price $A --at $E | grep -q '2\\.49 EUR'"
ok $? "--at the scheduled instant: the new price"
out=$(ag dev-1 price $A)
before=$(now_ms)
like "$out" '^price +2\.19 EUR$' "before that instant: still the old price"
[ "$before" -lt "$E" ]
ok $? "(the look-up ran before the scheduled instant)"
wait_for 10 "[ \$(now_ms) -ge $E ] && ag dev-1 price $A | grep -q '2\\.49 EUR'"
ok $? "once the instant passed, the plain look-up gives the new price"

# --- (e) a forged update (signed by another key) is rejected -------------------------------
"$FEED" --keygen "$TMP/other.key" "$TMP/other.pub"
"$FEED" --build "$TMP/other.key" "$TMP/forged.msg" type=prices scope=s-1 version=50 \
    kind=snapshot issued="$(now_ms)" item=$A,1,EUR,0
pub_as hub $T_PRICES "$TMP/forged.msg"
ok $? "forged snapshot published with the hub's certificate"
wait_for 10 "grep -q 'catalog: rejected an update on $T_PRICES' '$TMP/dev-1.log'"
ok $? "the daemon logs the rejection"
like "$(grep 'rejected an update' "$TMP/dev-1.log")" 'signature' "the reason is the signature"
like "$(stats)" 'rejected 1 ' "the rejection is counted in the catalog"
like "$(ag dev-1 status --json)" '"rejected":1,' "storelink status --json counts the rejected update"
like "$(ag dev-1 status)" 'catalog +1 update\(s\) rejected' "storelink status names the rejected update"
like "$(ag dev-1 price $A)" '^price +2\.49 EUR$' "the price is unchanged"

# --- (f) stale: the genuine v1 again --------------------------------------------------------
stale0=$(stats | sed -n 's/.*stale \([0-9]*\).*/\1/p')
pub_as hub $T_PRICES "$TMP/v1.msg"
ok $? "the old v1 snapshot re-published"
wait_for 10 '[ "$(stats | sed -n "s/.*stale \([0-9]*\).*/\1/p")" -gt "$stale0" ]'
ok $? "the agent saw it and counted it stale"
out=$(ag dev-1 price $A)
like "$out" '^price +2\.49 EUR$' "stale: the price is unchanged"
like "$out" 'prices v3 for store s-1' "stale: the agent still holds v3"

# --- (g) a gap: a delta that applies on v4 while the agent holds v3 --------------------------
"$FEED" --build "$TMP/cat/catalog.key" "$TMP/gap.msg" type=prices scope=s-1 version=5 \
    kind=delta issued="$(now_ms)" item=$A,9999,EUR,0
pub_as hub $T_PRICES "$TMP/gap.msg"
wait_for 10 "grep -q 'gap on $T_PRICES, requested a snapshot' '$TMP/dev-1.log'"
ok $? "the agent notices the gap and asks for a snapshot"
wait_for 10 "grep -q 're-issued prices v4 (snapshot, 3 items) on $T_PRICES at the request of s-1/dev-1 (held v3)' '$TMP/hub-a.log'"
ok $? "the hub re-issues a snapshot at v4"
wait_for 10 '[ "$(price_json $A | field version)" = 4 ]'
ok $? "the agent holds v4, the hub's latest"
like "$(ag dev-1 price $A)" '^price +2\.49 EUR$' "the gap's delta was not applied, the snapshot was"
like "$(ag dev-1 price $C --at 2030-01-01T00:00:00Z)" '^price +0\.99 EUR$' \
    "the re-issued snapshot kept the scheduled price"
is "$(hub publish prices "$TMP/delta2.csv" --store s-1 --delta)" \
    "published prices v5 (delta, 1 item) for store s-1" "the next delta follows the re-issue"
wait_for 10 "ag dev-1 price $A | grep -q '2\\.19 EUR'"
ok $? "and applies on it"
# requests sent by hand: the rate limit, a wrong store, garbage
printf '\243\001\001\002\143s-1\003\000' > "$TMP/req.cbor"
pub_as dev-1 storelink/v1/s-1/dev-1/catalog-request "$TMP/req.cbor"
wait_for 10 "grep -q 'one was re-issued less than 10 s ago' '$TMP/hub-a.log'"
ok $? "a second request within 10 s is not answered"
printf '\243\001\001\002\143s-2\003\000' > "$TMP/req2.cbor"
pub_as dev-1 storelink/v1/s-1/dev-1/catalog-request "$TMP/req2.cbor"
printf 'hello' > "$TMP/req3.cbor"
pub_as dev-1 storelink/v1/s-1/dev-1/catalog-request "$TMP/req3.cbor"
wait_for 10 "grep -q 'invalid catalog-request from s-1/dev-1 ignored: not a valid' '$TMP/hub-a.log'"
ok $? "a malformed request is logged and ignored"
like "$(grep 'invalid catalog-request' "$TMP/hub-a.log")" "asks for store s-2's prices on a topic of store s-1" \
    "a request for another store's catalog is ignored"

# --- (h) stock: snapshot with the device's watermark, then 2 local sales ---------------------
sale() {  # sale TXN QTY
    printf '{"kind":"sale","txn_id":"%s","currency":"EUR","lines":[{"sku":"%s","qty":%s,"unit_price":219,"tax":0}],"tenders":[{"method":"cash","amount":%s}]}\n' \
        "$1" $A "$2" $((219 * $2))
}
{ sale H-1 1; sale H-2 2; sale H-3 1; } | ag dev-1 record > /dev/null
wait_for 20 '[ "$(acked dev-1)" = 3 ]'
ok $? "3 sales synced to the hub"
# as a spreadsheet writes it: byte order mark, CRLF
printf '\357\273\277sku,on_hand\r\n%s,50\r\n%s,7.5\r\n' $A $B > "$TMP/stock1.csv"
is "$(hub publish stock "$TMP/stock1.csv" --store s-1)" \
    "published stock v1 (snapshot, 2 items) for store s-1" "publish a stock snapshot"
wait_for 10 "ag dev-1 stock $A"
ok $? "the agent has the stock figures"
out=$(ag dev-1 stock $A --json)
like "$out" '"on_hand_milli":50000,' "stock of A: the hub's figure"
like "$out" '"watermark":3,' "with the device's watermark: seq 3, the last the hub stored"
{ sale H-4 1; sale H-5 1; } | ag dev-1 record > /dev/null
out=$(ag dev-1 stock $A)
like "$out" '^on hand +48$' "after 2 more sales: 50 - 2 = 48"
like "$out" '2 records of dev-1 after seq 3 applied' "the 2 local records are named"
like "$(ag dev-1 stock $B)" '^on hand +7\.5$' "a fractional figure (7.5)"

agent_stop dev-1
is "$?" 0 "agent stops cleanly"
done_testing
