#!/bin/sh
# storelink demo (`make demo`): one morning at a small grocery till.
# Records sales, a return and stock adjustments into a fresh journal, shows
# them, verifies the hash chain and exports the journal as JSON lines.
# Runs on the sample configuration with the state dir under build/demo.
# Exits non-zero as soon as a step fails.
set -eu
cd "$(dirname "$0")/.."

BIN=${SL_BIN:-build/storelink}
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

step "Demo complete: 10 records, journal intact, export in $EXPORT"
