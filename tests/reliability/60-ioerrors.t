#!/bin/sh
# I/O errors under the journal, injected with libfiu (fiu-run -x: its POSIX
# preload fails the named calls): intermittent failures (each call fails with
# a probability) and persistent ones (every call fails) in pwrite, writev
# (LMDB's page writes), fdatasync (its data sync) and msync.  A failed commit
# is never reported as success (exit 74, no "recorded" line), and after the
# faults the records on disk are exactly those reported recorded.
. "$(dirname "$0")/lib.sh"
command -v fiu-run > /dev/null || { echo "1..0 # SKIP fiu-run not installed (toolchain/deps.sh stress)"; exit 0; }
iters=$(scale 60 600)
seed=${STRESS_SEED:-$$}
plan 9
diag "iterations $iters, seed $seed"

ev() {  # ev TXN: one small sale
    printf '{"kind":"sale","txn_id":"%s","currency":"EUR","lines":[{"sku":"4006381333931","qty":1,"unit_price":250}],"tenders":[{"method":"card","amount":250}]}\n' "$1"
}
# a journal to start from, made without faults
ev IO-0 | sl record > /dev/null
ok $? "journal created"
echo IO-0 > "$TMP/told"

# errno 5 EIO (a failing card) or 28 ENOSPC (a full one)
awk -v s="$seed" -v n="$iters" 'BEGIN { srand(s); split("pwrite writev fdatasync msync", f, " ");
    for (i = 1; i <= n; i++) printf "%d %s %.2f %d\n", i, f[1 + int(rand() * 4)], 0.1 + rand() * 0.5, rand() < 0.7 ? 5 : 28 }' \
    > "$TMP/plan"
lied=0 badcode=0 okn=0 failn=0
while read -r i point p errno; do
    case $point in
    msync) name=posix/mm/msync ;;
    fdatasync) name=posix/io/sync/fdatasync ;;
    *) name=posix/io/rw/$point ;;
    esac
    # five events per call (JSON lines: each its own commit, all-or-nothing each)
    : > "$TMP/in"
    for k in 1 2 3 4 5; do ev "IO-$i-$k" >> "$TMP/in"; done
    out=$(fiu-run -x -c "enable_random name=$name,probability=$p,failinfo=$errno" \
          "$SL_BIN" --config "$TMP/none.conf" --state-dir "$TMP/state" record --file "$TMP/in" 2> "$TMP/err")
    rc=$?
    printf '%s\n' "$out" | sed -n 's/^recorded seq [0-9]* \(.*\)$/\1/p' >> "$TMP/told"
    if [ "$rc" -eq 0 ]; then okn=$((okn + 1)); else failn=$((failn + 1)); fi
    # exit 0 only when every event was recorded; a storage failure is 74
    n_rec=$(printf '%s\n' "$out" | grep -c '^recorded seq')
    [ "$rc" -eq 0 ] && [ "$n_rec" -ne 5 ] && lied=$((lied + 1))
    case $rc in 0|74|75) ;; *) badcode=$((badcode + 1)); sed 's/^/# /' "$TMP/err" | head -3 ;; esac
done < "$TMP/plan"
diag "$okn calls fully recorded, $failn saw an injected failure"
is "$lied" 0 "no call reported success while an event was not recorded"
is "$badcode" 0 "every failure exited 74 (I/O) or 75 (temporary)"
[ "$failn" -gt 0 ]
ok $? "the faults hit ($failn of $iters calls failed)"

sl journal verify > "$TMP/v" 2>&1
ok $? "journal verifies after $iters faulty calls"
sl export --format jsonl | sed -n 's/.*"txn_id":"\([^"]*\)".*/\1/p' | sort > "$TMP/have"
sort "$TMP/told" > "$TMP/told.s"
is "$(comm -3 "$TMP/have" "$TMP/told.s" | wc -l | tr -d ' ')" 0 \
    "records on disk are exactly the $(wc -l < "$TMP/told.s" | tr -d ' ') reported recorded"

# persistent: every fdatasync fails
before=$(wc -l < "$TMP/have" | tr -d ' ')
: > "$TMP/in"
for k in 1 2 3 4 5; do ev "P-$k" >> "$TMP/in"; done
out=$(fiu-run -x -c "enable name=posix/io/sync/fdatasync,failinfo=5" \
      "$SL_BIN" --config "$TMP/none.conf" --state-dir "$TMP/state" record --file "$TMP/in" 2> "$TMP/err")
is "$?" 74 "every fdatasync failing: exit 74"
after=$(sl export --format jsonl | wc -l | tr -d ' ')
is "$after" "$before" "nothing recorded while the disk cannot sync"
out=$(sl record --file "$TMP/in")
ok $? "the same events record once the disk is healthy again"
lost=$(comm -23 "$TMP/told.s" "$TMP/have" | wc -l | tr -d ' ')
[ "$_tap_fail" -eq 0 ] && res=PASS || res=FAIL
report "I/O errors (libfiu), CLI writers" "$iters" "$((before + 5))" "$lost" 0 "$res"
done_testing
