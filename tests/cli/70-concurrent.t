#!/bin/sh
# 8 record processes at once, 500 events each: 4000 records, seqs exactly
# 1..4000, every txn_id once, and an intact hash chain.
. "$(dirname "$0")/lib.sh"
plan 8

P=8 N=500
p=0
while [ $p -lt $P ]; do
    p=$((p + 1))
    awk -v p=$p -v n=$N 'BEGIN {
        for (i = 1; i <= n; i++)
            printf "{\"kind\":\"sale\",\"txn_id\":\"POS%d-%04d\",\"ts\":1763893200000,\"currency\":\"EUR\",\"lines\":[{\"sku\":\"4006381333931\",\"qty\":%d,\"unit_price\":199}],\"tenders\":[{\"method\":\"cash\",\"amount\":%d}]}\n", p, i, p, p * 199
    }' > "$TMP/in.$p"
done

# start them all, then collect each exit code
pids=""
p=0
while [ $p -lt $P ]; do
    p=$((p + 1))
    sl record < "$TMP/in.$p" > "$TMP/out.$p" 2> "$TMP/err.$p" &
    pids="$pids $!"
done
codes=""
for pid in $pids; do
    wait "$pid"
    codes="$codes $?"
done
is "$codes" " 0 0 0 0 0 0 0 0" "all 8 writers exit 0"
is "$(cat "$TMP"/err.*)" "" "no writer printed an error"
is "$(cat "$TMP"/out.* | grep -c '^recorded seq ')" 4000 "4000 events reported recorded"

sl journal list --json > "$TMP/list"
is "$(wc -l < "$TMP/list" | tr -d ' ')" 4000 "journal list --json: 4000 records"
sed 's/^{"seq":\([0-9]*\),.*/\1/' "$TMP/list" | sort -n | uniq > "$TMP/seqs"
seq 1 4000 > "$TMP/want"
is "$(cmp "$TMP/seqs" "$TMP/want" 2>&1 && echo same)" "same" "seqs are exactly 1..4000, no gap, no repeat"
is "$(sed 's/.*"txn_id":"\([^"]*\)".*/\1/' "$TMP/list" | sort -u | wc -l | tr -d ' ')" 4000 \
   "4000 distinct txn_ids"
# the seqs each writer was told are the seqs its events got
sed -n 's/^recorded seq \([0-9]*\) \(.*\)/\1 \2/p' "$TMP"/out.* | sort -n > "$TMP/told"
sed 's/^{"seq":\([0-9]*\),"kind":"sale","txn_id":"\([^"]*\)".*/\1 \2/' "$TMP/list" > "$TMP/stored"
is "$(cmp "$TMP/told" "$TMP/stored" 2>&1 && echo same)" "same" "each writer's reported seqs match the journal"

sl journal verify > /dev/null
is "$?" 0 "journal verify: exit 0"

done_testing
