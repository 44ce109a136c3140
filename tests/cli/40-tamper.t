#!/bin/sh
# Change one byte of a stored record in data.mdb: journal verify must
# exit 1 and name the altered record's seq.
. "$(dirname "$0")/lib.sh"
plan 15

i=0
while [ $i -lt 10 ]; do
    i=$((i + 1))
    printf '{"kind":"adjustment","txn_id":"TAMPER-%04d","ts":1763893200000,"reason":"receive","location":"backroom","lines":[{"sku":"4006381333931","qty":%d}]}\n' $i $i
done > "$TMP/in.jsonl"
sl record < "$TMP/in.jsonl" > /dev/null
is "$?" 0 "10 events recorded"
sl journal verify > /dev/null
is "$?" 0 "journal intact before tampering"

db="$TMP/state/journal/data.mdb"
offsets=$(grep -obUa 'TAMPER-0007' "$db" | cut -d: -f1)
[ -n "$offsets" ]
ok $? "TAMPER-0007 found in data.mdb"
diag "TAMPER-0007 at byte offsets: $(printf '%s' "$offsets" | tr '\n' ' ')"

# poke FILE OFFSET CHAR: overwrite one byte in place
poke() { printf '%s' "$3" | dd of="$1" bs=1 seek="$2" count=1 conv=notrunc 2>/dev/null; }

# The txn_id is stored in the record and as the key of the txn index.  Try
# each copy on its own state dir; both must be caught (an altered index
# entry would let a retried sale be recorded twice).
n=0 caught=0 ncaught=0 wrong=""
for off in $offsets; do
    n=$((n + 1))
    cp -R "$TMP/state" "$TMP/state.$n"
    poke "$TMP/state.$n/journal/data.mdb" $((off + 10)) X   # TAMPER-0007 -> TAMPER-000X
    out=$(STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/none.conf" --state-dir "$TMP/state.$n" \
          journal verify 2>&1)
    rc=$?
    diag "copy $n (offset $off): exit $rc: $out"
    if [ $rc -eq 1 ] && printf '%s\n' "$out" | grep -Eq 'seq 7([^0-9]|$)'; then
        [ "$caught" -gt 0 ] || caught=$n
        ncaught=$((ncaught + 1))
    elif [ $rc -ne 0 ]; then
        wrong="$wrong copy $n: exit $rc: $out;"
    fi
done
[ "$caught" -gt 0 ]
ok $? "altering TAMPER-0007 in the record: verify exits 1 naming seq 7"
is "$ncaught" "$n" "every copy of TAMPER-0007 (record and txn index) is caught"
is "$wrong" "" "no tampered copy made verify fail any other way"

# on the real state dir: alter the record copy found above
[ "$caught" -gt 0 ] || caught=1
off=$(printf '%s\n' "$offsets" | sed -n "${caught}p")
cmp -s "$TMP/state/journal/data.mdb" "$TMP/state.$caught/journal/data.mdb"
is "$?" 1 "the tampered copy differs from the original"
poke "$db" $((off + 10)) X
sl journal verify > "$TMP/out" 2>"$TMP/err"
is "$?" 1 "journal verify after tampering: exit 1"
like "$(cat "$TMP/out")" 'BROKEN at seq 7([^0-9]|$)' "verify output names seq 7"
like "$(cat "$TMP/out")" '\(6 records verified before it\)' "verify counts the 6 good records before seq 7"
unlike "$(cat "$TMP/out")" 'intact' "verify does not claim intact"
out=$(sl journal verify --json)
is "$?" 1 "journal verify --json after tampering: exit 1"
like "$out" '"intact":false' "verify --json: intact false"
like "$out" '"first_bad_seq":7[,}]' "verify --json: first_bad_seq 7"

# the untouched records still read back
like "$(sl journal show 6)" '^txn_id +TAMPER-0006$' "record 6 still reads back"

done_testing
