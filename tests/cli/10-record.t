#!/bin/sh
# storelink record: the three example events, duplicates, conflicts, --json,
# --file, a pretty-printed event and JSON lines with one bad line.
. "$(dirname "$0")/lib.sh"
plan 34

have_py=0
command -v python3 >/dev/null 2>&1 && have_py=1

count() { sl journal list --json | wc -l | tr -d ' '; }

cat > "$TMP/examples.jsonl" <<'EOF'
{"kind":"sale","txn_id":"T-1001","ts":1763893200000,"currency":"EUR","lines":[{"sku":"4006381333931","qty":2,"unit_price":199,"discount":0,"tax":38}],"tenders":[{"method":"card","amount":436}]}
{"kind":"return","txn_id":"R-77","original_txn_id":"T-1001","currency":"EUR","lines":[{"sku":"4006381333931","qty":1,"unit_price":199,"tax":19,"disposition":"restock"}],"refunds":[{"method":"card","amount":218}]}
{"kind":"adjustment","txn_id":"A-5","reason":"damage","location":"aisle-4","lines":[{"sku":"4006381333931","qty":-3}]}
EOF

# --- the three examples, one process each (stdin) ------------------------
i=0
for txn in T-1001 R-77 A-5; do
    i=$((i + 1))
    out=$(sed -n "${i}p" "$TMP/examples.jsonl" | sl record 2>"$TMP/err")
    rc=$?
    is "$rc" 0 "example $txn recorded: exit 0"
    is "$out" "recorded seq $i $txn" "example $txn gets seq $i"
done
is "$(count)" 3 "journal holds 3 records"

# --- re-recording the same content: duplicate, same seqs -------------------
out=$(sl record < "$TMP/examples.jsonl" 2>"$TMP/err")
rc=$?
is "$rc" 0 "re-recording the examples: exit 0"
is "$out" "duplicate seq 1 T-1001
duplicate seq 2 R-77
duplicate seq 3 A-5" "re-recording reports duplicate with the original seqs"
is "$(cat "$TMP/err")" "" "duplicates print nothing on stderr"
is "$(count)" 3 "duplicates add no record"

# --- same txn_id, different content: conflict ------------------------------
conflict='{"kind":"sale","txn_id":"T-1001","ts":1763893200000,"currency":"EUR","lines":[{"sku":"4006381333931","qty":3,"unit_price":199,"discount":0,"tax":57}],"tenders":[{"method":"card","amount":654}]}'
out=$(printf '%s\n' "$conflict" | sl record 2>"$TMP/err")
rc=$?
is "$rc" 65 "conflicting content for T-1001: exit 65"
is "$out" "" "conflict prints nothing on stdout"
like "$(cat "$TMP/err")" '^storelink: line 1: txn_id: .*(different content|conflict)' \
    "conflict message names txn_id"
is "$(wc -l < "$TMP/err" | tr -d ' ')" 1 "conflict: exactly one stderr line"
is "$(count)" 3 "conflict leaves the journal unchanged"
show1=$(sl journal show 1 --json)
like "$show1" '"qty":2,' "seq 1 still holds the original content"

# --- --json output ------------------------------------------------------------
sl record --json < "$TMP/examples.jsonl" > "$TMP/json.out" 2>"$TMP/err"
rc=$?
is "$rc" 0 "record --json of duplicates: exit 0"
is "$(wc -l < "$TMP/json.out" | tr -d ' ')" 3 "record --json prints one line per event"
if [ "$have_py" = 1 ]; then
    res=$(python3 -c '
import json, sys
out = []
for line in open(sys.argv[1]):
    o = json.loads(line)
    out.append("%d %s %s" % (o["seq"], o["txn_id"], o["status"]))
print(";".join(out))' "$TMP/json.out" 2>&1)
else
    res=$(sed -n 's/^{"seq":\([0-9]*\),"txn_id":"\([^"]*\)","status":"\([a-z]*\)"}$/\1 \2 \3/p' \
          "$TMP/json.out" | paste -sd ';' -)
fi
is "$res" "1 T-1001 duplicate;2 R-77 duplicate;3 A-5 duplicate" "record --json output parses with seq, txn_id, status"
new='{"kind":"adjustment","txn_id":"A-6","reason":"receive","lines":[{"sku":"4006381333931","qty":12}]}'
out=$(printf '%s\n' "$new" | sl record --json)
is "$out" '{"seq":4,"txn_id":"A-6","status":"recorded"}' "record --json of a new event: status recorded, seq 4"

# --- --file -------------------------------------------------------------------
cat > "$TMP/file.jsonl" <<'EOF'
{"kind":"sale","txn_id":"F-1","ts":1763893260000,"currency":"EUR","lines":[{"sku":"4006381333931","qty":1,"unit_price":199,"tax":19}],"tenders":[{"method":"cash","amount":500}]}
EOF
out=$(sl record --file "$TMP/file.jsonl" < /dev/null)
rc=$?
is "$rc" 0 "record --file: exit 0"
is "$out" "recorded seq 5 F-1" "record --file reads the file, not stdin"
sl record --file "$TMP/no-such-file.jsonl" < /dev/null > /dev/null 2>"$TMP/err"
is "$?" 66 "record --file of a missing file: exit 66"

# --- one pretty-printed event over several lines ------------------------------
cat > "$TMP/pretty.json" <<'EOF'
{
  "kind": "sale",
  "txn_id": "P-1",
  "ts": 1763893320000,
  "currency": "EUR",
  "lines": [
    {
      "sku": "4006381333931",
      "qty": 1.235,
      "unit_price": 299,
      "tax": 26
    }
  ],
  "tenders": [
    { "method": "cash", "amount": 400 }
  ]
}
EOF
out=$(sl record < "$TMP/pretty.json" 2>"$TMP/err")
rc=$?
is "$rc" 0 "pretty-printed multi-line event: exit 0"
is "$out" "recorded seq 6 P-1" "pretty-printed event recorded as one event"
like "$(sl journal show 6 --json)" '"qty":1\.235,' "weighed qty 1.235 stored exactly"

# --- JSON lines, line 2 bad ---------------------------------------------------
cat > "$TMP/mixed.jsonl" <<'EOF'
{"kind":"adjustment","txn_id":"M-1","reason":"receive","lines":[{"sku":"4006381333931","qty":5}]}
{"kind":"adjustment","txn_id":"M-2","reason":"receive","lines":[{"sku":"4006381333931","qty":0}]}
{"kind":"adjustment","txn_id":"M-3","reason":"receive","lines":[{"sku":"4006381333931","qty":7}]}
EOF
out=$(sl record < "$TMP/mixed.jsonl" 2>"$TMP/err")
rc=$?
is "$rc" 65 "mixed lines with one bad line: exit 65 (worst outcome)"
is "$out" "recorded seq 7 M-1
recorded seq 8 M-3" "lines 1 and 3 recorded with consecutive seqs"
like "$(cat "$TMP/err")" '^storelink: line 2: lines\[0\]\.qty: ' "error names line 2 and the field"
is "$(wc -l < "$TMP/err" | tr -d ' ')" 1 "mixed lines: exactly one stderr line"
sl journal list --json > "$TMP/list"
grep -q '"txn_id":"M-2"' "$TMP/list"
ok $((! $?)) "bad line 2 (M-2) was not recorded"
is "$(wc -l < "$TMP/list" | tr -d ' ')" 8 "journal holds 8 records"
sl journal verify > /dev/null
is "$?" 0 "journal verifies after all of the above"

done_testing
