#!/bin/sh
# Upgrades: journals written by earlier on-disk layouts open with this
# storelink and continue their sequence and hash chain.  Each fixture is an
# `mdb_dump -a` of a journal an earlier release wrote (text: LMDB's file is
# word-size dependent, the dump is not), with that release's export.
#   journal-v1-0.1.0: format 1 as first released (commit ceb66b4: records,
#   txn, meta; no dead-letter database yet), made by recording
#   journal-v1-0.1.0.input.jsonl with that release.
. "$(dirname "$0")/lib.sh"
FX=$(cd "$(dirname "$0")/fixtures" && pwd)
plan 10
n=0
for fx in "$FX"/journal-v*.dump; do
    name=$(basename "$fx" .dump)
    rm -rf "$TMP/state"; mkdir -p "$TMP/state/journal"
    mdb_load -f "$fx" "$TMP/state/journal" 2> "$TMP/load.err"
    ok $? "$name: loaded"
    out=$(sl journal verify)
    ok $? "$name: verifies with this release"
    last=$(echo "$out" | sed -n 's/.*last seq \([0-9]*\).*/\1/p')
    tail=$(echo "$out" | sed -n 's/.*tail hash \([0-9a-f]*\).*/\1/p')
    sl export --format jsonl > "$TMP/export.jsonl"
    cmp -s "$TMP/export.jsonl" "$FX/$name.export.jsonl"
    ok $? "$name: records, fields and hashes read back as that release wrote them"
    out=$(echo '{"kind":"sale","txn_id":"UPG-1","currency":"EUR","lines":[{"sku":"123","qty":1,"unit_price":100}],"tenders":[{"method":"cash","amount":100}]}' | sl record)
    is "$out" "recorded seq $((last + 1)) UPG-1" "$name: the sequence continues after $last"
    # no clock baseline in an old journal: the first append stores one and
    # is not a jump (docs/PROTOCOL.md "Clock trust")
    unlike "$(sl journal show $((last + 1)) --json)" '"clock_jump":true' "$name: the first record is not taken for a clock jump"
    mdb_dump -p -s meta "$TMP/state/journal" | grep -qx ' clock'
    ok $? "$name: and the clock baseline is now in the meta database"
    prev=$(sl journal show $((last + 1)) --json | sed -n 's/.*"prev_hash":"\([0-9a-f]*\)".*/\1/p')
    is "$prev" "$tail" "$name: the new record links to the old tail hash"
    sl journal verify > /dev/null
    ok $? "$name: the continued chain verifies"
    dup=$(sed -n 1p "$FX/$name.input.jsonl" | sl record)
    like "$dup" "^duplicate seq 1 " "$name: an old txn_id is still recognised"
    sl status --json > /dev/null 2>&1
    [ $? -le 2 ]
    ok $? "$name: status reads it"
    n=$((n + 1))
done
[ "$_tap_fail" -eq 0 ] && res=PASS || res=FAIL
report "upgrade from older journal layouts" "$n" 5 0 0 "$res"
done_testing
