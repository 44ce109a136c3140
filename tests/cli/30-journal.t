#!/bin/sh
# journal list / show / verify and export --format jsonl.
. "$(dirname "$0")/lib.sh"
plan 47

have_py=0
command -v python3 >/dev/null 2>&1 && have_py=1

cat > "$TMP/in.jsonl" <<'EOF'
{"kind":"sale","txn_id":"T-1001","ts":1763893200000,"currency":"EUR","lines":[{"sku":"4006381333931","qty":2,"unit_price":199,"discount":0,"tax":38}],"tenders":[{"method":"card","amount":436}]}
{"kind":"return","txn_id":"R-77","ts":1763893500000,"original_txn_id":"T-1001","currency":"EUR","lines":[{"sku":"4006381333931","qty":1,"unit_price":199,"tax":19,"disposition":"restock"}],"refunds":[{"method":"card","amount":218}]}
{"kind":"adjustment","txn_id":"A-5","ts":1763893800000,"reason":"damage","location":"aisle-4","lines":[{"sku":"4006381333931","qty":-3}]}
{"kind":"sale","txn_id":"T-1002","ts":1763894100000,"currency":"EUR","lines":[{"sku":"2000000000015","qty":1.235,"unit_price":299,"tax":26},{"sku":"4006381333931","qty":1,"unit_price":199,"discount":20,"tax":13}],"tenders":[{"method":"cash","amount":1000}]}
EOF
sl record < "$TMP/in.jsonl" > /dev/null
is "$?" 0 "four events recorded"

# --- list ---------------------------------------------------------------------
sl journal list > "$TMP/list"
is "$?" 0 "journal list: exit 0"
like "$(head -n 1 "$TMP/list")" '^SEQ +TIME \(UTC\) +KIND +TXN_ID +DETAIL' "list starts with a header"
is "$(wc -l < "$TMP/list" | tr -d ' ')" 5 "list: header + 4 rows"
is "$(sed -n '2,$p' "$TMP/list" | awk '{print $1 "/" $3 "/" $4}' | paste -sd ' ' -)" \
   "1/sale/T-1001 2/return/R-77 3/adjustment/A-5 4/sale/T-1002" "list rows: seq, kind, txn_id in order"
like "$(sed -n 2p "$TMP/list")" '2025-11-23T10:20:00\.000Z .*4\.36 EUR' "sale row shows UTC time and total"
like "$(sed -n 4p "$TMP/list")" 'damage +-3 units @aisle-4' "adjustment row shows reason, units, location"

out=$(sl journal list --kind sale | sed -n '2,$p' | awk '{print $1 "/" $3}' | paste -sd ' ' -)
is "$out" "1/sale 4/sale" "list --kind sale shows the sales only"
out=$(sl journal list --kind adjustment --json | wc -l | tr -d ' ')
is "$out" 1 "list --kind adjustment --json: one line"
out=$(sl journal list --from 2 --limit 2 | sed -n '2,$p' | awk '{print $1}' | paste -sd ' ' -)
is "$out" "2 3" "list --from 2 --limit 2 shows seqs 2 and 3"
out=$(sl journal list --from 4 | sed -n '2,$p' | awk '{print $1}' | paste -sd ' ' -)
is "$out" "4" "list --from 4 shows seq 4 only"
out=$(sl journal list --from 2 --limit 1 --kind sale | sed -n '2,$p' | awk '{print $1}')
is "$out" "4" "--from, --limit and --kind combine (the first sale from seq 2 on)"
sl journal list --json > "$TMP/list.json"
is "$(wc -l < "$TMP/list.json" | tr -d ' ')" 4 "list --json: one line per record, no header"
sl journal list --kind refund > /dev/null 2>&1
is "$?" 64 "list --kind with an unknown kind: exit 64"

# --- show ---------------------------------------------------------------------
sl journal show 2 > "$TMP/show"
is "$?" 0 "journal show 2: exit 0"
show=$(cat "$TMP/show")
like "$show" '^seq +2$' "show: seq"
like "$show" '^kind +return$' "show: kind"
like "$show" '^txn_id +R-77$' "show: txn_id"
like "$show" '^original +T-1001$' "show: original_txn_id"
like "$show" '^time +2025-11-23T10:25:00\.000Z \(1763893500000\)$' "show: time in UTC and Unix ms"
like "$show" '^  4006381333931 +qty 1\.000 .*2\.18 EUR restock$' "show: the line with amount and disposition"
like "$show" '^total +2\.18 EUR$' "show: total"
like "$show" '^hash +[0-9a-f]{64}$' "show: hash"
h1=$(sed -n 's/^hash *//p' "$TMP/show")
like "$(sed -n 2p "$TMP/list.json")" "\"hash\":\"$h1\"" "show's hash matches list --json"

like "$(sl journal show 4)" '2000000000015 +qty 1\.235 x 299 - 0 \+ tax 26 = 3\.95 EUR' \
    "show: weighed line 1.235 x 2.99 rounds to 3.69 + 0.26 tax"
like "$(sl journal show 3)" '^reason +damage$' "show of an adjustment: reason"

out=$(sl journal show 2 --json)
is "$?" 0 "journal show --json: exit 0"
if [ "$have_py" = 1 ]; then
    res=$(printf '%s\n' "$out" | python3 -c '
import json, sys
o = json.loads(sys.stdin.read())
print(o["seq"], o["kind"], o["txn_id"], o["original_txn_id"], o["total"], o["lines"][0]["disposition"])' 2>&1)
else
    res=$(printf '%s\n' "$out" | sed -n 's/^{"seq":\([0-9]*\),"kind":"\([a-z]*\)","txn_id":"\([^"]*\)".*"original_txn_id":"\([^"]*\)".*"disposition":"\([a-z]*\)".*"total":\([0-9]*\).*/\1 \2 \3 \4 \6 \5/p')
fi
is "$res" "2 return R-77 T-1001 218 restock" "show --json parses with the record's fields"

sl journal show 99 > /dev/null 2>"$TMP/err"
is "$?" 66 "show of a missing seq: exit 66"
like "$(cat "$TMP/err")" 'no record with seq 99' "show of a missing seq says so"
sl journal show abc > /dev/null 2>&1
is "$?" 64 "show with a non-number SEQ: exit 64"

# --- verify -------------------------------------------------------------------
out=$(sl journal verify)
is "$?" 0 "verify of an intact journal: exit 0"
like "$out" '^journal intact: 4 records verified, last seq 4' "verify says intact and counts 4"
like "$(sl journal verify --json)" '^\{"intact":true,"checked":4,"last_seq":4,' "verify --json"

# --- export -------------------------------------------------------------------
sl export --format jsonl > "$TMP/export"
is "$?" 0 "export --format jsonl: exit 0"
is "$(wc -l < "$TMP/export" | tr -d ' ')" 4 "export: one line per record"
if [ "$have_py" = 1 ]; then
    res=$(python3 -c '
import json, sys
prev = "0" * 64
out = []
for line in open(sys.argv[1]):
    o = json.loads(line)
    for k in ("seq", "kind", "txn_id", "ts", "lines", "hash"):
        if k not in o:
            print("missing", k, "in seq", o.get("seq")); sys.exit(0)
    if o["prev_hash"] != prev:
        print("chain broken at", o["seq"]); sys.exit(0)
    prev = o["hash"]
    out.append("%d:%s:%s" % (o["seq"], o["kind"], o["txn_id"]))
print(" ".join(out))' "$TMP/export" 2>&1)
else
    res=$(grep '"seq":[0-9]*,"kind":"[a-z]*","txn_id":"[^"]*","ts":[0-9]*,.*"lines":\[.*"hash":"[0-9a-f]\{64\}"}$' \
          "$TMP/export" | sed 's/^{"seq":\([0-9]*\),"kind":"\([a-z]*\)","txn_id":"\([^"]*\)".*/\1:\2:\3/' \
          | paste -sd ' ' -)
fi
is "$res" "1:sale:T-1001 2:return:R-77 3:adjustment:A-5 4:sale:T-1002" \
   "export: valid JSON objects with seq, kind, txn_id, ts, lines, hash, chained by prev_hash"
is "$(sl export --format jsonl | cmp - "$TMP/list.json" && echo same)" "same" \
   "export and list --json print the same records"

seqs() { sed 's/^{"seq":\([0-9]*\),.*/\1/' | paste -sd ' ' -; }
is "$(sl export --format jsonl --from 2 --to 3 | seqs)" "2 3" "export --from 2 --to 3"
is "$(sl export --format jsonl --from 3 | seqs)" "3 4" "export --from 3"
is "$(sl export --format jsonl --to 1 | seqs)" "1" "export --to 1"
is "$(sl export --format jsonl --from 5 | wc -l | tr -d ' ')" 0 "export --from past the end: nothing"
sl export --format csv > /dev/null 2>&1
is "$?" 64 "export --format csv: exit 64"

# --- fractional adjustments ---------------------------------------------------
cat > "$TMP/adj.jsonl" <<'EOF'
{"kind":"adjustment","txn_id":"A-6","ts":1763894400000,"reason":"damage","lines":[{"sku":"2000000000015","qty":-0.25}]}
{"kind":"adjustment","txn_id":"A-7","ts":1763894700000,"reason":"count","location":"produce","lines":[{"sku":"2000000000015","qty":18.5,"expected":20}]}
EOF
sl record < "$TMP/adj.jsonl" > /dev/null
like "$(sl journal show 5)" '^  2000000000015 +qty -0\.250$' "show keeps the sign of a quantity above -1 (-0.250)"
like "$(sl journal show 6)" '^  2000000000015 +qty 18\.500 \(expected 20\.000\)$' "show of a count: counted and expected"
like "$(sl journal list --from 5)" 'damage +-0\.250 units' "list: fractional damage keeps its sign"
unlike "$(sl journal list --from 6)" 'count +\+' "list: a count is not shown as a signed change"

done_testing
