#!/bin/sh
# storelink demo (`make demo`): one morning at a small grocery till.
# Part 1 records sales, a return and stock adjustments into a fresh journal,
# shows them, verifies the hash chain and exports the journal as JSON lines
# (the sample configuration, state dir under build/demo).
# Part 2 connects a till to a hub through a real mosquitto broker with
# mutual TLS (a throw-away PKI made by tests/lib/broker.sh): sales recorded
# while the broker is down reach the hub once it is up, the hub publishes
# signed prices and a price change, and the till still answers price
# look-ups when the broker is gone again.  Everything lives under
# build/demo; every process the demo starts is stopped by its pid when the
# demo ends, also on a failure or Ctrl-C.
# Exits non-zero as soon as a step fails.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)

BIN=${SL_BIN:-build/storelink}
HUB_BIN=${SL_HUB_BIN:-build/storelink-hub}
CONF=docs/storelink.conf.sample
DEMO=build/demo
STATE=$DEMO/state
EXPORT=$DEMO/export.jsonl

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'demo: FAILED: %s\n' "$*" >&2; exit 1; }
sl() { STORELINK_CONFIG='' "$BIN" --config "$CONF" --state-dir "$STATE" "$@"; }
# record DESCRIPTION: one event from stdin, echoing what storelink says
record() {
    printf '   %-44s -> ' "$1"
    sl record || fail "record: $1"
}

[ -x "$BIN" ] || fail "$BIN not built (run make)"
[ -f "$CONF" ] || fail "$CONF missing"

step "Setup: $("$BIN" --version), config $CONF, fresh journal in $STATE"
rm -rf "$DEMO"
mkdir -p "$DEMO"
echo "   products: bread 4006381000017, milk 4006381000024, butter 4006381000031,"
echo "   coffee 4006381000048, eggs 4006381000055, apples (weighed) PLU 4131"
echo "   prices in euro cents; 'tax' is the VAT of the line in cents"

step "1. Sales at the till (EUR)"
record "card: bread, 2 x milk" <<'EOF'
{"kind":"sale","txn_id":"S-0001","ts":1763884800000,"currency":"EUR","lines":[{"sku":"4006381000017","qty":1,"unit_price":249,"tax":17},{"sku":"4006381000024","qty":2,"unit_price":119,"tax":17}],"tenders":[{"method":"card","amount":521}]}
EOF
record "cash 10.00: apples 1.235 kg, milk (change)" <<'EOF'
{"kind":"sale","txn_id":"S-0002","ts":1763885400000,"currency":"EUR","lines":[{"sku":"4131","qty":1.235,"unit_price":299,"tax":26},{"sku":"4006381000024","qty":1,"unit_price":119,"tax":8}],"tenders":[{"method":"cash","amount":1000}]}
EOF
record "card: coffee with 1.00 off, bread" <<'EOF'
{"kind":"sale","txn_id":"S-0003","ts":1763886000000,"currency":"EUR","lines":[{"sku":"4006381000048","qty":1,"unit_price":699,"discount":100,"tax":42},{"sku":"4006381000017","qty":1,"unit_price":249,"tax":17}],"tenders":[{"method":"card","amount":907}]}
EOF
record "prices incl. VAT: bread, butter, eggs" <<'EOF'
{"kind":"sale","txn_id":"S-0004","ts":1763886600000,"currency":"EUR","tax_included":true,"lines":[{"sku":"4006381000017","qty":1,"unit_price":249,"tax":16},{"sku":"4006381000031","qty":1,"unit_price":229,"tax":15},{"sku":"4006381000055","qty":1,"unit_price":289,"tax":19}],"tenders":[{"method":"voucher","amount":500},{"method":"cash","amount":300}]}
EOF
record "exact cash: 2 x butter" <<'EOF'
{"kind":"sale","txn_id":"S-0005","ts":1763887200000,"currency":"EUR","lines":[{"sku":"4006381000031","qty":2,"unit_price":229,"tax":32}],"tenders":[{"method":"cash","amount":490}]}
EOF
record "card: apples 0.870 kg, eggs, coffee" <<'EOF'
{"kind":"sale","txn_id":"S-0006","ts":1763887800000,"currency":"EUR","lines":[{"sku":"4131","qty":0.870,"unit_price":299,"tax":18},{"sku":"4006381000055","qty":1,"unit_price":289,"tax":20},{"sku":"4006381000048","qty":1,"unit_price":699,"tax":49}],"tenders":[{"method":"card","amount":1335}]}
EOF

step "2. The till re-sends S-0001 after a timeout: recorded once, same seq"
record "S-0001 again" <<'EOF'
{"kind":"sale","txn_id":"S-0001","ts":1763884800000,"currency":"EUR","lines":[{"sku":"4006381000017","qty":1,"unit_price":249,"tax":17},{"sku":"4006381000024","qty":2,"unit_price":119,"tax":17}],"tenders":[{"method":"card","amount":521}]}
EOF

step "3. A return: the coffee from S-0003 back to the shelf, refund to card"
record "return of S-0003" <<'EOF'
{"kind":"return","txn_id":"R-0001","ts":1763888400000,"original_txn_id":"S-0003","currency":"EUR","lines":[{"sku":"4006381000048","qty":1,"unit_price":699,"discount":100,"tax":42,"disposition":"restock"}],"refunds":[{"method":"card","amount":641}]}
EOF

step "4. Stock adjustments in the back room"
record "delivery received: 24 milk, 12 butter" <<'EOF'
{"kind":"adjustment","txn_id":"ADJ-0001","ts":1763888700000,"reason":"receive","location":"backroom","lines":[{"sku":"4006381000024","qty":24},{"sku":"4006381000031","qty":12}]}
EOF
record "damage: 2 milk cartons burst" <<'EOF'
{"kind":"adjustment","txn_id":"ADJ-0002","ts":1763889000000,"reason":"damage","location":"dairy-aisle","lines":[{"sku":"4006381000024","qty":-2}]}
EOF
record "count: apples 18.500 kg, system said 20 kg" <<'EOF'
{"kind":"adjustment","txn_id":"ADJ-0003","ts":1763889600000,"reason":"count","location":"produce","lines":[{"sku":"4131","qty":18.5,"expected":20}]}
EOF

step "5. The journal (storelink journal list)"
sl journal list || fail "journal list"

step "6. One record in full: the weighed-apples cash sale (storelink journal show 2)"
sl journal show 2 || fail "journal show"

step "7. Tamper check: recompute the hash chain (storelink journal verify)"
sl journal verify || fail "journal verify"

step "8. Export for the back office (storelink export --format jsonl > $EXPORT)"
sl export --format jsonl > "$EXPORT" || fail "export"
lines=$(wc -l < "$EXPORT" | tr -d ' ')
records=$(sl journal list --json | wc -l | tr -d ' ')
echo "   $EXPORT: $lines lines, one JSON object per record"
if [ "$lines" -ne "$records" ] || [ "$lines" -ne 10 ]; then
    fail "export has $lines lines, journal $records records, expected 10"
fi
echo "   first line:"
head -n 1 "$EXPORT" | cut -c 1-150 | sed 's/^/   /; s/$/.../'

# ---- part 2: the till, the broker and the hub ------------------------------------

. "$ROOT/tests/lib/broker.sh"
NET=$ROOT/$DEMO/net            # test PKI, broker configuration and log
HUBDIR=$ROOT/$DEMO/hub         # hub configuration, database, catalog key, log
TILL=$ROOT/$DEMO/till          # the till's state dir (configuration: $TILL.conf)
AGENT_PID=
HUB_PID=
BROKER_PID=

# Stop what the demo started, by pid (broker_stop uses $BROKER_PID).
cleanup() {
    set +e
    if [ -n "$AGENT_PID" ]; then kill -TERM "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null; fi
    if [ -n "$HUB_PID" ]; then kill -TERM "$HUB_PID" 2>/dev/null; wait "$HUB_PID" 2>/dev/null; fi
    broker_stop > /dev/null 2>&1
    AGENT_PID=
    HUB_PID=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

till() { STORELINK_CONFIG='' "$BIN" --config "$TILL.conf" "$@"; }
hub() { "$HUB_BIN" --config "$HUBDIR/hub.conf" "$@"; }
# show CMD...: run it and indent what it prints; a failure fails the demo
show() {
    _out=$("$@" 2>&1) || { printf '%s\n' "$_out" | sed 's/^/   /'; fail "$*"; }
    printf '%s\n' "$_out" | sed 's/^/   /'
}
# `storelink status` exits 1 while records wait to be sent: shown, not judged
show_status() {
    _out=$(till status 2>&1) || true
    printf '%s\n' "$_out" | sed 's/^/   /'
}
# wait_until SECONDS CMD...: run CMD every 0.2 s until it succeeds
wait_until() {
    _limit=$(($1 * 5))
    shift
    _i=0
    until "$@" > /dev/null 2>&1; do
        _i=$((_i + 1))
        [ "$_i" -le "$_limit" ] || return 1
        sleep 0.2
    done
}
acked_is() { till status --json | grep -q "\"acked_through\":$1,"; }
conn_is() { till status --json | grep -q "\"state\":\"$1\""; }
price_is() { till price "$1" | grep -q "^price  *$2\$"; }
sale() {  # sale TXN SKU UNIT_PRICE: a one-line card sale, JSON
    printf '{"kind":"sale","txn_id":"%s","currency":"EUR","lines":[{"sku":"%s","qty":1,"unit_price":%s,"tax":0}],"tenders":[{"method":"card","amount":%s}]}\n' \
        "$1" "$2" "$3" "$3"
}

step "9. Till, broker, hub: a test PKI, the catalog signing key, configurations"
command -v mosquitto > /dev/null 2>&1 || fail "mosquitto is not installed (make deps)"
[ -x "$HUB_BIN" ] || fail "$HUB_BIN not built (run make)"
mkdir -p "$HUBDIR"
pki_init "$NET" > /dev/null || fail "test PKI"
pki_device "$NET" till-1 store-1 > /dev/null || fail "till certificate"
acl_device "$NET" store-1 till-1 || fail "broker ACL"
PORT=$(free_port) || fail "no free port on 127.0.0.1"
echo "   CA, broker, hub and till-1 certificates in $DEMO/net"
"$HUB_BIN" catalog-keygen --out "$HUBDIR/catalog.key" --pub "$HUBDIR/catalog.pub" > "$HUBDIR/keygen.out" ||
    fail "storelink-hub catalog-keygen"
sed 's/^/   /' "$HUBDIR/keygen.out"
cat > "$HUBDIR/hub.conf" <<EOC
[broker]
host = localhost
port = $PORT
ca_file = $NET/ca.crt
cert_file = $NET/hub.crt
key_file = $NET/hub.key
client_id = hub-demo
[hub]
db_path = $HUBDIR/hub.db
catalog_key = $HUBDIR/catalog.key
currencies = EUR
EOC
cat > "$TILL.conf" <<EOC
[device]
device_id = till-1
store_id = store-1
key_file = $NET/till-1.key
cert_file = $NET/till-1.crt
[journal]
state_dir = $TILL
[sync]
broker_host = localhost
broker_port = $PORT
ca_file = $NET/ca.crt
[catalog]
catalog_pubkey = $HUBDIR/catalog.pub
[log]
log_level = notice
EOC
echo "   till-1 of store-1: $DEMO/till.conf; hub: $DEMO/hub/hub.conf; broker: 127.0.0.1:$PORT"

step "10. The till's agent starts while the broker is DOWN; three sales are recorded"
STORELINK_CONFIG='' "$BIN" --config "$TILL.conf" run >> "$ROOT/$DEMO/till.log" 2>&1 &
AGENT_PID=$!
echo "   agent running (pid $AGENT_PID)"
{
    sale T-0001 4006381000017 249   # bread
    sale T-0002 4006381000024 119   # milk
    sale T-0003 4006381000048 699   # coffee
} > "$ROOT/$DEMO/till-sales.jsonl"
show till record --file "$ROOT/$DEMO/till-sales.jsonl"
wait_until 10 conn_is offline || fail "the agent does not report offline"
till status --json | grep -q '"unacked":3,' || fail "the backlog is not 3 records"
echo "   storelink status:"
show_status

step "11. The broker and the hub start: the backlog drains to the hub"
broker_start "$NET" "$PORT" || fail "mosquitto did not start"
echo "   mosquitto listening on 127.0.0.1:$PORT (pid $BROKER_PID)"
"$HUB_BIN" --config "$HUBDIR/hub.conf" run >> "$HUBDIR/hub.log" 2>&1 &
HUB_PID=$!
wait_until 10 grep -q 'hub ready' "$HUBDIR/hub.log" || fail "the hub did not come up (see $DEMO/hub/hub.log)"
echo "   hub running (pid $HUB_PID); the till reconnects at its next attempt (backoff)..."
wait_until 40 acked_is 3 || fail "the 3 sales were not acknowledged (see $DEMO/till.log)"
echo "   storelink status:"
show_status
echo "   storelink-hub devices:"
show hub devices
echo "   storelink-hub count:"
show hub count
[ "$(hub count)" = 3 ] || fail "the hub does not hold 3 records"

step "12. Head office publishes the store's prices, then a price change for bread"
cat > "$HUBDIR/prices.csv" <<'EOC'
sku,price,currency,effective_from
4006381000017,249,EUR,
4006381000024,119,EUR,
4006381000031,229,EUR,
4006381000048,699,EUR,
4006381000055,289,EUR,
EOC
show hub publish prices "$HUBDIR/prices.csv" --store store-1
wait_until 10 price_is 4006381000017 "2.49 EUR" || fail "the till did not get the prices"
printf 'sku,price,currency\n4006381000017,229,EUR\n' > "$HUBDIR/bread.csv"
echo "   bread.csv: 4006381000017 (bread) 2.49 -> 2.29 EUR"
show hub publish prices "$HUBDIR/bread.csv" --store store-1 --delta
wait_until 10 price_is 4006381000017 "2.29 EUR" || fail "the till did not get the price change"
echo "   storelink price 4006381000017:"
show till price 4006381000017

step "12b. The POS program records through the daemon's ingest socket; the manager closes the day"
POS=$ROOT/${BUILD:-build}/examples/pos_minimal
if [ -x "$POS" ]; then
    echo "   docs/examples/pos_minimal $TILL P-0001 (the C client library, one durable reply):"
    "$POS" "$TILL" P-0001 | sed 's/^/   /' || fail "pos_minimal through the ingest socket"
fi
TODAY=$(date -u +%Y-%m-%d)
echo "   storelink close-day --date $TODAY:"
show till close-day --date "$TODAY"
last=$(till journal verify | sed -n 's/.*last seq \([0-9]*\).*/\1/p')
wait_until 20 acked_is "$last" || fail "the day's records and its close were not acknowledged"
echo "   storelink report day --date $TODAY (the Z-report, checked against the close):"
show till report day --date "$TODAY"
echo "   storelink-hub reconcile --date $TODAY (the hub's records against the till's close):"
show hub reconcile --date "$TODAY" || fail "the day does not reconcile at the hub"

step "13. The broker goes down again: the till still answers price look-ups"
broker_stop || fail "the broker did not stop"
wait_until 15 conn_is offline || fail "the agent does not report offline"
echo "   storelink status:"
show_status
echo "   storelink price 4006381000017 (no network):"
show till price 4006381000017
price_is 4006381000017 "2.29 EUR" || fail "the offline price look-up"

step "14. Stopping the agent and the hub"
kill -TERM "$AGENT_PID" && wait "$AGENT_PID" || fail "the agent did not stop cleanly"
AGENT_PID=
kill -TERM "$HUB_PID" && wait "$HUB_PID" || fail "the hub did not stop cleanly"
HUB_PID=
echo "   stopped; logs in $DEMO/till.log and $DEMO/hub/hub.log"

step "Demo complete: journal intact and exported; offline sales reached the hub; signed prices reached the till and answer offline"
