#!/bin/sh
# Readers left behind by killed processes, while the daemon holds the
# journal open (with no other process holding it, the next opener resets
# LMDB's lock file and the question does not arise): `storelink export` of a big
# journal is stopped mid-read (its stdout is a pipe nobody reads, so it
# blocks inside its read transaction) and SIGKILLed.  Its slot in LMDB's
# reader table keeps the old snapshot alive, and pages freed after it cannot
# be reused: left there, the file would grow with every write.  Pass: the
# next open (mdb_reader_check in sl_journal_open) clears the dead slot
# (mdb_stat -r), and over repeated kill cycles of writes the file grows no
# more than the same writes without killed readers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
command -v mdb_stat > /dev/null || { echo "1..0 # SKIP mdb_stat not installed (lmdb-utils)"; exit 0; }
trap 'agent_kill dev-1; broker_stop; rm -rf "$TMP"' EXIT
plan 6
sync_setup
agent_conf dev-1
sl() { ag dev-1 "$@"; }
cycles=$(scale 10 200)
sz() { wc -c < "$TMP/dev-1/journal/data.mdb" | tr -d ' '; }
ev() {  # ev PREFIX FROM TO
    awk -v p="$1" -v a="$2" -v b="$3" 'BEGIN { for (i = a; i <= b; i++)
        printf "{\"kind\":\"sale\",\"txn_id\":\"%s-%d\",\"currency\":\"EUR\",\"lines\":[{\"sku\":\"4006381333931\",\"qty\":1,\"unit_price\":250}],\"tenders\":[{\"method\":\"card\",\"amount\":250}]}\n", p, i }'
}
ev BIG 1 3000 | sl record > /dev/null
ok $? "a journal of 3000 records"
agent_start dev-1
wait_for 20 'grep -q "^    *$AGENT_PID_dev_1 " "$TMP/readers" 2> /dev/null || { mdb_stat -r "$TMP/dev-1/journal" > "$TMP/readers"; false; }'
ok $? "the daemon holds the journal open"
writes() {  # writes TAG: 20 commits (one record each), which free and allocate pages
    ev "$1" 1 20 > "$TMP/w.in"
    sl record --file "$TMP/w.in" > /dev/null
}
# baseline: the growth of the same writes with no reader left behind
# (after a warm-up, so the freelist is in steady state)
writes warm; writes warm2
s0=$(sz)
c=0
while [ "$c" -lt "$cycles" ]; do c=$((c + 1)); writes "base$c"; done
base=$(( $(sz) - s0 ))

mkfifo "$TMP/fifo"
stale_seen=0 stale_left=0
s1=$(sz)
c=0
while [ "$c" -lt "$cycles" ]; do
    c=$((c + 1))
    exec 3<> "$TMP/fifo"   # held open, never read: the pipe fills, export blocks
    # exec: $! must be the reader itself, not a subshell
    (STORELINK_CONFIG='' exec "$SL_BIN" --config "$TMP/dev-1.conf" export --format jsonl \
        > "$TMP/fifo" 2> /dev/null) &
    xp=$!
    sleep 0.3
    kill -KILL "$xp"
    wait "$xp" 2> /dev/null
    exec 3<&-
    mdb_stat -r "$TMP/dev-1/journal" 2> /dev/null | grep -q "^ *$xp " && stale_seen=$((stale_seen + 1))
    writes "cyc$c"
    mdb_stat -r "$TMP/dev-1/journal" 2> /dev/null | grep -q "^ *$xp " && stale_left=$((stale_left + 1))
done
grown=$(( $(sz) - s1 ))
diag "data.mdb grew $base bytes over $cycles x 20 commits without stale readers, $grown with one killed reader per cycle"
is "$stale_seen" "$cycles" "each killed export left its reader slot behind (mdb_stat -r)"
is "$stale_left" 0 "the next storelink open cleared it every time"
[ "$grown" -le $((base + 65536)) ]
ok $? "the file does not grow more than without killed readers ($grown <= $base + 64 KiB)"
sl journal verify > /dev/null
ok $? "journal verifies"
[ "$_tap_fail" -eq 0 ] && res=PASS || res=FAIL
report "stale readers (SIGKILLed export)" "$cycles" "$((3040 + cycles * 40))" 0 0 "$res"
done_testing
