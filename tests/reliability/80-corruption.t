#!/bin/sh
# Corruption does not stop the shop (issue 8, docs/PROTOCOL.md "Journal
# epochs"): a damaged data.mdb - truncated, random bytes in a record in its
# middle, random bytes in the tail record's page - is found by the next
# `storelink record`, moved aside untouched, and a new epoch continues the
# sequence and the chain; status and doctor say so.
. "$(dirname "$0")/lib.sh"
plan 30
N=$(scale 120 400)
sale() {  # sale TXN_ID
    printf '{"kind":"sale","txn_id":"%s","currency":"EUR","lines":[{"sku":"123","qty":1,"unit_price":100}],"tenders":[{"method":"cash","amount":100}]}\n' "$1"
}
fill() {  # fill PREFIX: N records
    i=1
    while [ $i -le "$N" ]; do sale "$1-$(printf %04d $i)"; i=$((i + 1)); done | sl record > /dev/null
}
# damage CASE: change data.mdb the way CASE says
damage() {
    f=$TMP/state/journal/data.mdb
    size=$(wc -c < "$f")
    case $1 in
    truncate)
        # keep the first half: the meta pages still name the whole file
        truncate -s $((size / 2 / 4096 * 4096)) "$f" ;;
    middle)
        # random bytes over a record from the middle of the run (the
        # records and txn databases both hold its txn_id)
        for off in $(grep -a -b -o "$2-$(printf %04d $((N / 2)))" "$f" | cut -d: -f1); do
            head -c 48 /dev/urandom | dd of="$f" bs=1 seek=$((off - 8)) conv=notrunc 2> /dev/null
        done ;;
    tail)
        # random bytes over the page holding the last record
        off=$(grep -a -b -o "$2-$(printf %04d "$N")" "$f" | head -1 | cut -d: -f1)
        head -c 512 /dev/urandom | dd of="$f" bs=1 seek=$((off / 4096 * 4096 + 64)) conv=notrunc 2> /dev/null ;;
    esac
}
n=0
for case in truncate middle tail; do
    rm -rf "$TMP/state"
    fill "$case"
    last=$(sl journal verify | sed -n 's/.*last seq \([0-9]*\).*/\1/p')
    damage "$case" "$case"
    cp "$TMP/state/journal/data.mdb" "$TMP/damaged.copy"
    out=$(sale "$case-after" | sl record 2> "$TMP/err")
    ok $? "$case: the next record succeeds"
    seq=$(echo "$out" | sed -n 's/^recorded seq \([0-9]*\) .*/\1/p')
    dd=$(ls -d "$TMP"/state/journal.damaged-* 2> /dev/null | head -1)
    [ -n "$dd" ] && cmp -s "$dd/data.mdb" "$TMP/damaged.copy"
    ok $? "$case: the damaged journal was moved aside, byte for byte"
    grep -q "journal damaged at .*moved to .*new epoch 2 from seq" "$TMP/err"
    ok $? "$case: the move is logged"
    sl journal verify > /dev/null
    ok $? "$case: the new epoch verifies"
    from=$(sl status --json | sed -n 's/.*"epoch_from_seq":\([0-9]*\).*/\1/p')
    is "$seq" "$((from + 1))" "$case: seqs continue after the old epoch's last verified seq $from"
    [ "$from" -le "$last" ] && [ "$from" -gt 0 ]
    ok $? "$case: that seq ($from) is in the old epoch (1..$last)"
    prev=$(sl journal show "$seq" --json | sed -n 's/.*"prev_hash":"\([0-9a-f]*\)".*/\1/p')
    want=$(sl status --json | sed -n 's/.*"epoch_from_hash":"\([0-9a-f]*\)".*/\1/p')
    [ -n "$want" ] && [ "$prev" = "$want" ]
    ok $? "$case: the new epoch's first record links to the old epoch's verified hash"
    # (no certificate here, so status also fails for that: exit 2; the
    # sync part below checks exit 1)
    sl status --json | grep -q '"severity":"degraded","problem":"journal damaged at '
    ok $? "$case: status lists the damage as degraded"
    sl status 2>&1 | grep -q "journal damaged at .* moved to .*journal.damaged-.*, new epoch 2 from seq $from"
    ok $? "$case: status names the damage"
    sl doctor > "$TMP/doctor" 2>&1
    grep -q "journal damaged at" "$TMP/doctor"
    ok $? "$case: doctor names the damage"
    [ "$_tap_fail" -eq 0 ] && n=$((n + 1))
done
[ "$_tap_fail" -eq 0 ] && res=PASS || res=FAIL
report "damaged journal -> new epoch" 3 $((3 * N)) 0 0 "$res"
done_testing
