#!/bin/sh
# Simulated power loss below the process (ALICE / SQLite crash-study method):
# plwork records through the public API under iolog.so, which logs every
# write and sync to data.mdb and every "reported durable" marker; plcheck
# builds crash images (synced state + a random subset of later writes, torn
# at 512-byte sectors) and opens each through the public API.  Every image
# must open and verify, and hold every record reported durable before the
# crash point.
. "$(dirname "$0")/lib.sh"
plan 5
records=$(scale 300 1000)
images=$(scale 3000 30000)
seed=${STRESS_SEED:-$(date +%s)}
diag "records $records, images $images, seed $seed (STRESS_SEED=$seed to repeat)"

IOLOG_FILE=$TMP/io.log LD_PRELOAD=$REL_BUILD/iolog.so "$REL_BUILD/plwork" "$TMP/state" "$records" \
    > "$TMP/work.out" 2> "$TMP/work.err"
ok $? "workload: $records records, single and group commits"
is "$(tail -n 1 "$TMP/work.out")" "ok $records $records" "every commit reported"
[ -s "$TMP/io.log" ] && [ "$(wc -c < "$TMP/io.log")" -gt $((records * 4096)) ]
ok $? "the shim logged the journal's writes"

"$REL_BUILD/plcheck" "$TMP/io.log" "$TMP" "$images" "$seed" > "$TMP/check.out" 2> "$TMP/check.err"
rc=$?
sed 's/^/# /' "$TMP/check.out" "$TMP/check.err" | head -20
ok $rc "$images crash images: all open, verify and keep every reported record"
line=$(cat "$TMP/check.out")
lost=$(echo "$line" | sed -n 's/.* lost \([0-9]*\) .*/\1/p')
syncs=$(echo "$line" | sed -n 's/.* syncs \([0-9]*\) .*/\1/p')
[ "${syncs:-0}" -gt "$records" ]
ok $? "crash points cover the sync points (${syncs:-0} syncs)"
[ "$rc" -eq 0 ] && res=PASS || res=FAIL
report "power loss (torn writes)" "$images" "$records" "${lost:-?}" 0 "$res"
done_testing
