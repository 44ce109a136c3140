#!/bin/sh
# Bad events through the real binary: each exits 65, prints exactly one
# stderr line naming the field, and writes nothing.  Card numbers never
# reach stderr or the state directory.
. "$(dirname "$0")/lib.sh"

CARD=4111111111111111
TS='"ts":1763893200000'
SKU='"sku":"4006381333931"'
L1='"lines":[{"sku":"4006381333931","qty":1,"unit_price":199}]'
PAY='"tenders":[{"method":"cash","amount":199}]'

count() { sl journal list --json | wc -l | tr -d ' '; }

# bad NAME FIELD-REGEX FILE [no-card]: 4 assertions, +2 with no-card
bad() {
    before=$(count)
    out=$(sl record < "$3" 2>"$TMP/err")
    rc=$?
    is "$rc" 65 "$1: exit 65"
    is "$(wc -l < "$TMP/err" | tr -d ' ')" 1 "$1: exactly one stderr line"
    like "$(cat "$TMP/err")" "$2" "$1: stderr names the field"
    is "$out|$(count)" "|$before" "$1: nothing printed on stdout, nothing recorded"
    if [ "${4:-}" = no-card ]; then
        unlike "$(cat "$TMP/err")" '4111 ?1111 ?1111 ?1111|1111111111' "$1: stderr does not echo the card number"
        jout=$(sl record --json < "$3" 2>&1)
        unlike "$jout" '4111 ?1111 ?1111 ?1111|1111111111' "$1: record --json output does not echo it either"
    fi
}
# badj NAME FIELD-REGEX JSON [no-card]
badj() {
    printf '%s\n' "$3" > "$TMP/in"
    bad "$1" "$2" "$TMP/in" "${4:-}"
}

plan 94

# a first good event so the journal exists and the count starts at 1
printf '%s\n' "{\"kind\":\"sale\",\"txn_id\":\"BASE-1\",$TS,\"currency\":\"EUR\",$L1,$PAY}" \
    | sl record > /dev/null 2>&1
is "$(count)" 1 "baseline event recorded"

badj "missing txn_id" '^storelink: line 1: txn_id: ' \
    "{\"kind\":\"sale\",$TS,\"currency\":\"EUR\",$L1,$PAY}"
badj "unknown field" '^storelink: line 1: colour: unknown field' \
    "{\"kind\":\"sale\",\"txn_id\":\"X-1\",\"colour\":\"red\",$TS,\"currency\":\"EUR\",$L1,$PAY}"
badj "unknown kind" '^storelink: line 1: kind: ' \
    "{\"kind\":\"refund\",\"txn_id\":\"X-1\",$TS,\"currency\":\"EUR\",$L1,$PAY}"
badj "qty 0" '^storelink: line 1: lines\[0\]\.qty: ' \
    "{\"kind\":\"sale\",\"txn_id\":\"X-1\",$TS,\"currency\":\"EUR\",\"lines\":[{$SKU,\"qty\":0,\"unit_price\":199}],$PAY}"
badj "qty 1.2345 (4 decimals)" '^storelink: line 1: lines\[0\]\.qty: ' \
    "{\"kind\":\"sale\",\"txn_id\":\"X-1\",$TS,\"currency\":\"EUR\",\"lines\":[{$SKU,\"qty\":1.2345,\"unit_price\":199}],\"tenders\":[{\"method\":\"cash\",\"amount\":300}]}"
badj "unit_price 1.5" '^storelink: line 1: lines\[0\]\.unit_price: ' \
    "{\"kind\":\"sale\",\"txn_id\":\"X-1\",$TS,\"currency\":\"EUR\",\"lines\":[{$SKU,\"qty\":1,\"unit_price\":1.5}],$PAY}"
badj "negative discount" '^storelink: line 1: lines\[0\]\.discount: ' \
    "{\"kind\":\"sale\",\"txn_id\":\"X-1\",$TS,\"currency\":\"EUR\",\"lines\":[{$SKU,\"qty\":1,\"unit_price\":199,\"discount\":-10}],$PAY}"
badj "currency eu" '^storelink: line 1: currency: ' \
    "{\"kind\":\"sale\",\"txn_id\":\"X-1\",$TS,\"currency\":\"eu\",$L1,$PAY}"

printf '\n\n   \n\t\n' > "$TMP/in"
bad "empty lines only" '^storelink: (line [0-9]+: [a-z_]+: |no event)' "$TMP/in"

long=$(printf '%065d' 7)
badj "sku of 65 bytes" '^storelink: line 1: lines\[0\]\.sku: ' \
    "{\"kind\":\"sale\",\"txn_id\":\"X-1\",$TS,\"currency\":\"EUR\",\"lines\":[{\"sku\":\"S$long\",\"qty\":1,\"unit_price\":199}],$PAY}"
badj "tenders do not cover the total" '^storelink: line 1: tenders: ' \
    "{\"kind\":\"sale\",\"txn_id\":\"X-1\",$TS,\"currency\":\"EUR\",$L1,\"tenders\":[{\"method\":\"cash\",\"amount\":198}]}"
badj "return without original_txn_id" '^storelink: line 1: original_txn_id: ' \
    "{\"kind\":\"return\",\"txn_id\":\"X-1\",$TS,\"currency\":\"EUR\",\"lines\":[{$SKU,\"qty\":1,\"unit_price\":199,\"disposition\":\"restock\"}],\"refunds\":[{\"method\":\"cash\",\"amount\":199}]}"
badj "adjustment without reason" '^storelink: line 1: reason: ' \
    "{\"kind\":\"adjustment\",\"txn_id\":\"X-1\",$TS,\"lines\":[{$SKU,\"qty\":-1}]}"

printf '{"kind":"sale","txn_id":"X-\303\050",%s,"currency":"EUR",%s,%s}\n' "$TS" "$L1" "$PAY" > "$TMP/in"
bad "invalid UTF-8" '^storelink: line 1: (event|txn_id): .*UTF-8' "$TMP/in"

# over 16 KiB of valid JSON (whitespace padding)
printf '{"kind":"adjustment",%17000s"txn_id":"X-BIG","reason":"receive","lines":[{%s,"qty":5}]}\n' '' "$SKU" \
    > "$TMP/in"
bad "event over 16 KiB" '^storelink: line 1: event: .*16384' "$TMP/in"

# a Luhn-valid card number wherever free text goes
badj "card number in txn_id" '^storelink: line 1: txn_id: .*card' \
    "{\"kind\":\"sale\",\"txn_id\":\"$CARD\",$TS,\"currency\":\"EUR\",$L1,$PAY}" no-card
badj "card number in location" '^storelink: line 1: location: .*card' \
    "{\"kind\":\"adjustment\",\"txn_id\":\"X-1\",\"reason\":\"damage\",\"location\":\"$CARD\",\"lines\":[{$SKU,\"qty\":-1}]}" no-card
badj "card number in sku" '^storelink: line 1: lines\[0\]\.sku: .*card' \
    "{\"kind\":\"sale\",\"txn_id\":\"X-1\",$TS,\"currency\":\"EUR\",\"lines\":[{\"sku\":\"$CARD\",\"qty\":1,\"unit_price\":199}],$PAY}" no-card
badj "spaced card number in location" '^storelink: line 1: location: .*card' \
    "{\"kind\":\"adjustment\",\"txn_id\":\"X-1\",\"reason\":\"damage\",\"location\":\"4111 1111 1111 1111\",\"lines\":[{$SKU,\"qty\":-1}]}" no-card
badj "card number as a field name" '^storelink: line 1: [^:]*: unknown field' \
    "{\"kind\":\"sale\",\"txn_id\":\"X-1\",\"$CARD\":1,$TS,\"currency\":\"EUR\",$L1,$PAY}" no-card

# accepted: a GTIN that happens to pass Luhn is a product code
out=$(printf '%s\n' "{\"kind\":\"sale\",\"txn_id\":\"GTIN-1\",$TS,\"currency\":\"EUR\",\"lines\":[{\"sku\":\"5901234123457\",\"qty\":1,\"unit_price\":199}],$PAY}" \
      | sl record 2>"$TMP/err")
rc=$?
is "$rc|$out" "0|recorded seq 2 GTIN-1" "sku 5901234123457 (valid GTIN) is recorded"

# nothing of the card numbers reached the disk
ls "$TMP/state/journal/data.mdb" > /dev/null 2>&1
ok $? "the journal file exists (the grep below looks at real data)"
hits=$(grep -rlaE "$CARD|4111 1111 1111 1111" "$TMP/state")
is "$hits" "" "no file in the state dir contains the card number"

done_testing
