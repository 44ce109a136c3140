#!/bin/sh
# storelink price / storelink stock: look-ups in the offline catalog.
# build/tests/catalog_feed stands in for the hub (builds and signs catalog
# messages) and for the daemon (applies one message file), so no broker is
# involved; the look-ups are also run with no network at all.
. "$(dirname "$0")/lib.sh"
plan 79

FEED="$SL_BUILD/tests/catalog_feed"
A=4006381333931
B=2000000000015
C=5901234123457
NOW=$(($(date +%s) * 1000))
FUTURE=4070908800000            # 2099-01-01T00:00:00Z
feed() { "$FEED" "$TMP/state" "$TMP/cat.pub" "$TMP/$1" device-1 store-1; }
build() { f=$1; shift; "$FEED" --build "$TMP/cat.key" "$TMP/$f" "$@"; }
rec() { printf '%s\n' "$1" | sl record > /dev/null; }

# --- before any update -----------------------------------------------------------
sl price $A > "$TMP/out" 2> "$TMP/err"
is "$?" 66 "price with no catalog: exit 66"
like "$(cat "$TMP/err")" "no catalog in .*/catalog" "price with no catalog says so"
sl stock $A > /dev/null 2> "$TMP/err"
is "$?" 66 "stock with no catalog: exit 66"

"$FEED" --keygen "$TMP/cat.key" "$TMP/cat.pub"
is "$?" 0 "catalog key pair created"

# --- prices: store snapshot v3 (issued 3 h 12 min ago) and chain-wide v1 ------------
build p3.msg type=prices scope=store-1 version=3 kind=snapshot \
    issued=$((NOW - 3 * 3600000 - 12 * 60000 - 20000)) \
    item=$A,199,EUR,0 item=$A,249,EUR,$FUTURE item=$B,1250,JPY,0
is "$?" 0 "prices snapshot v3 built and signed"
is "$(feed p3.msg)" "applied prices store-1 v3" "snapshot v3 applied"
build all1.msg type=prices scope=all version=1 kind=snapshot issued=$NOW \
    item=$C,99,EUR,0 item=$A,10,EUR,0
is "$(feed all1.msg)" "applied prices all v1" "chain-wide prices v1 applied"

sl price $A > "$TMP/out" 2> "$TMP/err"
is "$?" 0 "price: exit 0"
out=$(cat "$TMP/out")
like "$out" '^sku +4006381333931$' "price: the sku"
like "$out" '^price +1\.99 EUR$' "price: the store's price, not the chain-wide 0.10"
like "$out" '^effective +immediately \(since v3\)$' "price: effective immediately"
like "$out" '^catalog +prices v3 for store store-1, issued 3 h 12 min ago$' \
    "price: catalog version and its age"
is "$(cat "$TMP/err")" "" "price: nothing on stderr"
like "$(sl price $B)" '^price +1250 JPY$' "price in a currency without minor units"
out=$(sl price $C)
like "$out" '^price +0\.99 EUR$' "a SKU only the chain-wide catalog has"
like "$out" '^catalog +prices v1 for all stores \(chain-wide\), issued [0-9]+ s ago$' \
    "chain-wide price names its catalog"

# --- --at: the scheduled price ----------------------------------------------------
out=$(sl price $A --at 2099-01-01T00:00:00Z)
is "$?" 0 "price --at ISO: exit 0"
like "$out" '^price +2\.49 EUR$' "--at the scheduled instant: the new price"
like "$out" '^effective +since 2099-01-01T00:00:00\.000Z$' "--at: effective since the schedule"
like "$out" '^at +2099-01-01T00:00:00\.000Z$' "--at: the instant asked about"
like "$(sl price $A --at 2098-12-31T23:59:59.999Z)" '^price +1\.99 EUR$' "--at 1 ms before: the old price"
like "$(sl price $A --at $FUTURE)" '^price +2\.49 EUR$' "--at Unix ms"
like "$(sl price $A --at $((FUTURE - 1)))" '^price +1\.99 EUR$' "--at Unix ms, 1 ms before"
like "$(sl price $A --at 2099-01-01T01:00:00+01:00)" '^price +2\.49 EUR$' "--at with a +01:00 offset"
like "$(sl price --at 2099-01-01T00:00:00Z $A)" '^price +2\.49 EUR$' "--at before the SKU"

# --- --json --------------------------------------------------------------------------
out=$(sl price $A --json)
is "$?" 0 "price --json: exit 0"
like "$out" '^\{"sku":"4006381333931","price":199,"currency":"EUR","effective_from":0,"scope":"store-1","version":3,"issued_at":[0-9]+,"received_at":[0-9]+,"age_ms":[0-9]+,"at":[0-9]+\}$' \
    "price --json: one object with the fields"
like "$(sl price $A --json --at $FUTURE)" "\"price\":249,.*\"effective_from\":$FUTURE,.*\"at\":$FUTURE\\}" \
    "price --json --at"
like "$(sl price $C --json)" '"scope":"all","version":1,' "price --json: chain-wide scope"

# --- not found and usage ------------------------------------------------------------
sl price 9999999999994 > "$TMP/out" 2> "$TMP/err"
is "$?" 66 "unknown SKU: exit 66"
like "$(cat "$TMP/err")" "no price for '9999999999994' .*prices v3 for store store-1" \
    "unknown SKU: names the catalog searched"
is "$(cat "$TMP/out")" "" "unknown SKU: nothing on stdout"
sl price > /dev/null 2> "$TMP/err"
is "$?" 64 "price without SKU: exit 64"
like "$(cat "$TMP/err")" 'usage: storelink price SKU' "price without SKU: usage"
sl price $A --at > /dev/null 2>&1
is "$?" 64 "--at without TIME: exit 64"
sl price $A --at tomorrow > /dev/null 2> "$TMP/err"
is "$?" 64 "--at tomorrow: exit 64"
like "$(cat "$TMP/err")" "is not Unix ms or an ISO 8601 time" "--at tomorrow: says what TIME is"
sl price $A --at 2099-01-01T00:00:00 > /dev/null 2>&1
is "$?" 64 "--at without a zone: exit 64"
sl price $A --at 2099-02-30T00:00:00Z > /dev/null 2>&1
is "$?" 64 "--at February 30: exit 64"
sl price $A $B > /dev/null 2>&1
is "$?" 64 "two SKUs: exit 64"
sl price "$(printf '%065d' 1)" > /dev/null 2>&1
is "$?" 64 "a 65-byte SKU: exit 64"
sl price $A --bogus > /dev/null 2>&1
is "$?" 64 "unknown option: exit 64"
sl stock $A --at $FUTURE > /dev/null 2>&1
is "$?" 64 "stock takes no --at: exit 64"

# --- what the daemon gets wrong on purpose ------------------------------------------
out=$(feed p3.msg)
is "$?" 2 "the same snapshot again: stale (exit 2)"
like "$out" '^stale prices store-1 v3 \(held v3\)$' "stale names held version"
build d6.msg type=prices scope=store-1 version=6 kind=delta issued=$NOW item=$A,1,EUR,0
out=$(feed d6.msg)
is "$?" 4 "delta v6 on held v3: need snapshot (exit 4)"
like "$out" '^need-snapshot prices store-1 held v3 request a30101026773746f72652d310303$' \
    "need snapshot: the catalog-request {1: 1, 2: store-1, 3: 3}"
cp "$TMP/p3.msg" "$TMP/bad.msg"
build p4.msg type=prices scope=store-1 version=4 kind=snapshot issued=$NOW item=$A,1,EUR,0
cp "$TMP/p4.msg" "$TMP/tampered.msg"
# the first SKU digit sits inside the signed payload: make it another digit
off=$(grep -abo "$A" "$TMP/tampered.msg" | head -n 1 | cut -d: -f1)
printf '5' | dd of="$TMP/tampered.msg" bs=1 seek="$off" conv=notrunc 2> /dev/null
out=$(feed tampered.msg)
is "$?" 3 "tampered message: rejected (exit 3)"
like "$out" "^rejected: signature does not verify" "tampered: the signature fails"
build unsigned.msg type=prices scope=store-1 version=4 issued=$NOW item=$A,1,EUR,0 sign=no
out=$(feed unsigned.msg)
is "$?" 3 "unsigned payload: rejected"
"$FEED" --keygen "$TMP/wrong.key" "$TMP/wrong.pub"
"$FEED" --build "$TMP/wrong.key" "$TMP/wrong.msg" type=prices scope=store-1 version=4 \
    issued=$NOW item=$A,1,EUR,0
out=$(feed wrong.msg)
is "$?" 3 "signed by another key: rejected"
build exp.msg type=prices scope=store-1 version=4 issued=$((NOW - 7200000)) \
    expires=$((NOW - 3600000)) item=$A,1,EUR,0
out=$(feed exp.msg)
is "$?" 3 "expired: rejected"
like "$out" "expired at" "expired: says so"
like "$(sl price $A)" '^price +1\.99 EUR$' "none of them changed the price"
out=$("$FEED" --stats "$TMP/state")
like "$out" '^applied 2 stale 1 rejected 4 gaps 1$' "counters: applied, stale, rejected, gaps"
like "$out" '^last rejected: prices v4 for store-1 expired at ' "last rejection reason kept"

# --- stock ------------------------------------------------------------------------------
sl stock $A > /dev/null 2> "$TMP/err"
is "$?" 66 "stock with prices only: exit 66"
like "$(cat "$TMP/err")" "no stock catalog received yet for store store-1" "stock: no stock catalog yet"

rec '{"kind":"sale","txn_id":"T-1","currency":"EUR","lines":[{"sku":"'$A'","qty":2,"unit_price":100}],"tenders":[{"method":"cash","amount":200}]}'
build s1.msg type=stock scope=store-1 version=1 issued=$((NOW - 600000)) \
    item=$A,40000 item=$B,5000 wm=device-1,1 wm=device-2,99
is "$(feed s1.msg)" "applied stock store-1 v1" "stock snapshot v1 (device-1 reflected through seq 1)"
out=$(sl stock $A)
is "$?" 0 "stock: exit 0"
like "$out" '^on hand +40$' "stock: the catalog figure; seq 1 is not counted twice"
like "$out" '^catalog +stock v1 for store store-1, issued 10 min ago: 40 on hand$' \
    "stock: version, age and the catalog figure"
like "$out" '^local +no records of device-1 after seq 1$' "stock: no local records after the watermark"

rec '{"kind":"sale","txn_id":"T-2","currency":"EUR","lines":[{"sku":"'$A'","qty":3,"unit_price":100}],"tenders":[{"method":"cash","amount":300}]}'
rec '{"kind":"return","txn_id":"R-1","original_txn_id":"T-2","currency":"EUR","lines":[{"sku":"'$A'","qty":1,"unit_price":100,"disposition":"restock"}],"refunds":[{"method":"cash","amount":100}]}'
rec '{"kind":"return","txn_id":"R-2","original_txn_id":"T-2","currency":"EUR","lines":[{"sku":"'$A'","qty":1,"unit_price":100,"disposition":"damaged"}],"refunds":[{"method":"cash","amount":100}]}'
like "$(sl stock $A)" '^on hand +38$' "sale -3, restock return +1, damaged return 0"
rec '{"kind":"adjustment","txn_id":"A-1","reason":"receive","lines":[{"sku":"'$A'","qty":10}]}'
rec '{"kind":"adjustment","txn_id":"A-2","reason":"damage","lines":[{"sku":"'$A'","qty":-2.5}]}'
like "$(sl stock $A)" '^on hand +45\.5$' "receive +10, damage -2.5"
rec '{"kind":"adjustment","txn_id":"A-3","reason":"count","lines":[{"sku":"'$A'","qty":30,"expected":45.5}]}'
rec '{"kind":"sale","txn_id":"T-3","currency":"EUR","lines":[{"sku":"'$A'","qty":1,"unit_price":100}],"tenders":[{"method":"cash","amount":100}]}'
out=$(sl stock $A)
like "$out" '^on hand +29$' "a count sets 30, the sale after it applies on top"
like "$out" '^local +7 records of device-1 after seq 1 applied \(a count reset the figure\)$' \
    "stock: how many local records were applied"
like "$(sl stock $A --json)" '^\{"sku":"4006381333931","store":"store-1","on_hand_milli":29000,"catalog_milli":40000,"version":1,"issued_at":[0-9]+,"received_at":[0-9]+,"age_ms":[0-9]+,"device":"device-1","watermark":1,"local_records":7,"last_seq":8,"counted":true\}$' \
    "stock --json"
like "$(sl stock $B)" '^on hand +5$' "another SKU: untouched by A's records"
sl stock 9999999999994 > /dev/null 2> "$TMP/err"
is "$?" 66 "stock of an unknown SKU: exit 66"
like "$(cat "$TMP/err")" "not in the stock catalog \\(stock v1 for store store-1" "unknown SKU: names the catalog"

# the hub catches up through seq 5: the same answer
build s2.msg type=stock scope=store-1 version=2 kind=delta issued=$NOW item=$A,48000 wm=device-1,5
is "$(feed s2.msg)" "applied stock store-1 v2" "stock delta v2 (through seq 5) applied"
like "$(sl stock $A)" '^local +3 records of device-1 after seq 5 applied' "after the delta: 3 local records"
like "$(sl stock $A)" '^on hand +29$' "after the delta: still 29"

# device_id comes from the configuration: device-9 has no watermark, so all count
printf '[device]\ndevice_id = device-9\n' > "$TMP/dev9.conf"
out=$(STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/dev9.conf" --state-dir "$TMP/state" stock $A)
like "$out" '^local +8 records of device-9 after seq 0 applied' "device_id from the configuration"

# --- no network ---------------------------------------------------------------------------
printf '[device]\ndevice_id = device-1\n[sync]\nbroker_host = 192.0.2.1\nbroker_port = 8883\nca_file = %s/missing-ca.pem\n' \
    "$TMP" > "$TMP/off.conf"
out=$(STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/off.conf" --state-dir "$TMP/state" price $A)
like "$out" '^price +1\.99 EUR$' "price with an unreachable broker configured"
if unshare -rn true 2> /dev/null; then
    out=$(STORELINK_CONFIG='' unshare -rn "$SL_BIN" --config "$TMP/none.conf" --state-dir "$TMP/state" price $A --at $FUTURE)
    like "$out" '^price +2\.49 EUR$' "price in a network namespace without any interface up"
    out=$(STORELINK_CONFIG='' unshare -rn "$SL_BIN" --config "$TMP/none.conf" --state-dir "$TMP/state" stock $A)
    like "$out" '^on hand +29$' "stock in a network namespace without any interface up"
else
    ok 0 "price with no network # SKIP unshare -rn not permitted here"
    ok 0 "stock with no network # SKIP unshare -rn not permitted here"
fi

# --- a look-up does not write ------------------------------------------------------------
before=$(cksum < "$TMP/state/catalog/data.mdb")
sl price $A > /dev/null
sl stock $A > /dev/null
is "$(cksum < "$TMP/state/catalog/data.mdb")" "$before" "look-ups leave the catalog unchanged"

done_testing
