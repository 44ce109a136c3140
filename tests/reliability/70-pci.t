#!/bin/sh
# PCI DSS: payment card data never gets in.  Luhn-valid card numbers (Visa,
# Mastercard, Amex, Discover), track-2-like data (";PAN=YYMM...?") and
# CVV-looking fields are injected through every field of the CLI's JSON
# input (the scanner path is covered by tests/cli/84-scanner.t) and must be
# refused (exit 65) without echoing the number.  Then real records are synced
# (compression off) while a sniffer with the hub's certificate captures the
# MQTT payloads, and the LMDB files, the logs, the exported files and the
# captured payloads are searched for every injected number: none may appear.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap '[ -n "${SNIFF_PID:-}" ] && kill $SNIFF_PID 2>/dev/null; agent_kill dev-1; broker_stop; rm -rf "$TMP"' EXIT
plan 8

PANS="4111111111111111 5500000000000004 378282246310005 6011111111111117 4012888888881881"
base='"currency":"EUR","lines":[{"sku":"4006381333931","qty":1,"unit_price":250}],"tenders":[{"method":"card","amount":250}]'
: > "$TMP/bad.jsonl"
n=0
for pan in $PANS; do
    n=$((n + 1))
    cat >> "$TMP/bad.jsonl" <<EOJ
{"kind":"sale","txn_id":"$pan",$base}
{"kind":"sale","txn_id":"X-$n-a","currency":"EUR","lines":[{"sku":"$pan","qty":1,"unit_price":250}],"tenders":[{"method":"card","amount":250}]}
{"kind":"sale","txn_id":"X-$n-b","currency":"EUR","lines":[{"sku":"A-$pan","qty":1,"unit_price":250}],"tenders":[{"method":"card","amount":250}]}
{"kind":"sale","txn_id":"X-$n-c","currency":"EUR","lines":[{"sku":"4006381333931","qty":1,"unit_price":250}],"tenders":[{"method":"c$pan","amount":250}]}
{"kind":"sale","txn_id":"X-$n-d","currency":"EUR","lines":[{"sku":";$pan=25121010000012300000?","qty":1,"unit_price":250}],"tenders":[{"method":"card","amount":250}]}
{"kind":"adjustment","txn_id":"X-$n-e","reason":"damage","location":"shelf $pan","lines":[{"sku":"4006381333931","qty":-1}]}
{"kind":"return","txn_id":"X-$n-f","original_txn_id":"T-$pan","currency":"EUR","lines":[{"sku":"4006381333931","qty":1,"unit_price":250,"disposition":"restock"}],"refunds":[{"method":"card","amount":250}]}
{"kind":"sale","txn_id":"X-$n-g","currency":"EUR","card":"$pan","cvv":"123",$(echo "$base" | sed 's/^"currency":"EUR",//')}
{"kind":"sale","txn_id":"X-$n-h",$base,"cvv2":"123"}
{"kind":"sale","txn_id":"X-$n-i","currency":"EUR","lines":[{"sku":"4006381333931","qty":1,"unit_price":250,"cvc":"123"}],"tenders":[{"method":"card","amount":250}]}
EOJ
done
total=$(wc -l < "$TMP/bad.jsonl" | tr -d ' ')
refused=0 wrongcode=0 echoed=0
while IFS= read -r line; do
    printf '%s\n' "$line" > "$TMP/one"
    out=$(sl record --file "$TMP/one" 2>&1)
    rc=$?
    [ "$rc" -eq 65 ] && refused=$((refused + 1))
    [ "$rc" -ne 65 ] && { wrongcode=$((wrongcode + 1)); echo "# exit $rc: $line"; }
    for pan in $PANS; do
        case $out in *"$pan"*) echoed=$((echoed + 1)) ;; esac
    done
    printf '%s\n' "$out" >> "$TMP/cli-errors.log"
done < "$TMP/bad.jsonl"
is "$refused" "$total" "all $total events carrying card data refused with exit 65"
is "$echoed" 0 "no error message echoes a card number"
grep -c "card number" "$TMP/cli-errors.log" > "$TMP/nc"
[ "$(cat "$TMP/nc")" -ge 25 ]
ok $? "the errors name the reason ($(cat "$TMP/nc") say 'card number')"

# real traffic: an agent syncing plain records while a sniffer with the hub's
# certificate records every journal payload (no hub runs: nothing is acked, so
# the agent resends, which is captured too)
sync_setup
ok $? "broker with mutual TLS on 127.0.0.1:$BROKER_PORT"
agent_conf dev-1 "compress = no"
cp -r "$TMP/state/." "$TMP/dev-1/" 2>/dev/null || { mkdir -p "$TMP/dev-1"; cp -r "$TMP/state/." "$TMP/dev-1/"; }
gen_sales OK 1 50 > "$TMP/ok.jsonl"
ag dev-1 record --file "$TMP/ok.jsonl" > /dev/null
# shellcheck disable=SC2046
mosquitto_sub $(broker_client_opts "$TMP/pki" hub) -t 'storelink/v1/+/+/journal' -t 'storelink/v1/+/+/status' \
    -F '%p' > "$TMP/payloads.bin" 2> "$TMP/sniff.err" &
SNIFF_PID=$!
sleep 1
agent_start dev-1
wait_for 15 '[ "$(wc -c < "$TMP/payloads.bin")" -gt 2000 ]'
ok $? "sniffer captured $(wc -c < "$TMP/payloads.bin" | tr -d ' ') bytes of journal payloads"
agent_stop dev-1
kill $SNIFF_PID 2>/dev/null; SNIFF_PID=
ag dev-1 export --format jsonl > "$TMP/export.jsonl"
is "$(wc -l < "$TMP/export.jsonl" | tr -d ' ')" 50 "the 50 plain sales are there"

found=""
for pan in $PANS; do
    for f in "$TMP"/dev-1/journal/*.mdb "$TMP"/state/journal/*.mdb "$TMP"/dev-1.log "$TMP/export.jsonl" \
             "$TMP/payloads.bin" "$TMP/cli-errors.log" "$TMP/pki/mosquitto.log"; do
        [ -f "$f" ] || continue
        grep -aq -- "$pan" "$f" && found="$found $(basename "$f"):$pan"
    done
done
is "$found" "" "no card number in the LMDB files, logs, export or MQTT payloads"
# and the scan can find one: the same search on a file that has one
printf 'x%sx' 4111111111111111 > "$TMP/control"
grep -aq 4111111111111111 "$TMP/control"
ok $? "(control: the search finds a number where there is one)"
[ "$_tap_fail" -eq 0 ] && res=PASS || res=FAIL
report "PCI: card data refused, found nowhere" "$total" 50 0 0 "$res"
done_testing
