#!/bin/sh
# max_db_mb = 1: record batches of large events until the journal is full
# (exit 75, "journal full"); what was reported recorded is all there and the
# journal still verifies.
. "$(dirname "$0")/lib.sh"
plan 11

printf '# a tiny journal\n[journal]\nmax_db_mb = 1\n' > "$TMP/full.conf"
slf() { STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/full.conf" --state-dir "$TMP/state" "$@"; }

# batch B: 10 sales of 150 lines each (about 10 KiB of JSON per event)
batch() {
    awk -v b="$1" 'BEGIN {
        for (e = 0; e < 10; e++) {
            s = ""
            for (i = 0; i < 150; i++)
                s = s (i ? "," : "") sprintf("{\"sku\":\"FULL-%03d-%03d-shelf-item\",\"qty\":1,\"unit_price\":%d}", b, i, i + 1)
            printf "{\"kind\":\"sale\",\"txn_id\":\"FULL-%03d-%02d\",\"ts\":1763893200000,\"currency\":\"EUR\",\"lines\":[%s],\"tenders\":[{\"method\":\"cash\",\"amount\":20000}]}\n", b, e, s
        }
    }'
}

b=0 rc=0
: > "$TMP/recorded"
while [ $b -lt 60 ]; do
    b=$((b + 1))
    batch $b > "$TMP/batch.jsonl"
    slf record --file "$TMP/batch.jsonl" > "$TMP/out" 2> "$TMP/err"
    rc=$?
    grep '^recorded seq ' "$TMP/out" >> "$TMP/recorded"
    [ $rc -eq 0 ] || break
done
diag "stopped after batch $b with exit $rc"
is "$rc" 75 "recording into a full journal: exit 75"
like "$(cat "$TMP/err")" '^storelink: line [0-9]+: journal full' "stderr says journal full"
unlike "$(cat "$TMP/out")" 'duplicate' "no event of the last batch was a duplicate"
nrec=$(wc -l < "$TMP/recorded" | tr -d ' ')
[ "$nrec" -gt 10 ] && [ "$nrec" -lt 600 ]
ok $? "some batches fitted before the cap ($nrec events)"

# the cap held: data.mdb did not grow past max_db_mb
size=$(wc -c < "$TMP/state/journal/data.mdb" | tr -d ' ')
[ "$size" -le 1048576 ]
ok $? "data.mdb is at most 1 MiB ($size bytes)"

slf journal verify > "$TMP/verify"
is "$?" 0 "journal verify of the full journal: exit 0"
like "$(cat "$TMP/verify")" "^journal intact: $nrec records verified, last seq $nrec," \
    "verify counts exactly the recorded events"

# every "recorded seq N TXN" is in the journal under that seq, nothing else is
slf journal list --json | sed 's/^{"seq":\([0-9]*\),"kind":"[a-z]*","txn_id":"\([^"]*\)".*/recorded seq \1 \2/' \
    > "$TMP/listed"
is "$(cmp "$TMP/recorded" "$TMP/listed" 2>&1 && echo same)" "same" \
    "the journal holds exactly the events reported recorded, with their seqs"

# the journal stays full, re-recording the accepted part is still fine
slf record --file "$TMP/batch.jsonl" > "$TMP/out2" 2> /dev/null
is "$?" 75 "the rest of the last batch still does not fit: exit 75"
is "$(grep -c '^duplicate seq ' "$TMP/out2")" "$(grep -c '^recorded seq ' "$TMP/out")" \
    "events of the last batch that were recorded are reported duplicate"
slf journal verify > /dev/null
is "$?" 0 "journal still verifies"

done_testing
