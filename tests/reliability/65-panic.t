#!/bin/sh
# MDB_PANIC, deterministic: the daemon runs under metafail.so, which fails
# exactly one meta-page write of journal/data.mdb each time the test asks,
# namely the one of the commit that holds a chosen txn_id (the shim arms
# when the record's data pages are written and fails the meta page that
# follows: tests/reliability/metafail.c).  LMDB then restores the old meta
# page and panics the environment.  For each of N such failures, while two
# CLI clients record concurrently and the sync drains:
#   - the ingest-socket client whose record was in that commit is told it
#     failed (SL_ERR_IO, field "journal"), and it is not in the journal;
#   - the daemon closes and reopens the environment (log, reopen count);
#   - recording the same txn_id again succeeds as new, not as a duplicate.
# At the end: status shows the alarm with the reopen count, the journal
# verifies, the set of records reported OK equals the journal's, and every
# one reaches the hub exactly once.  (66-panic-fiu.t drives the same path
# with random libfiu pwrite failures.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
SHIM=$REL_BUILD/metafail.so
CLIENT=$SL_BUILD/tests/ingest_client
[ -f "$SHIM" ] && [ -x "$CLIENT" ] ||
    { echo "1..0 # SKIP $SHIM or $CLIENT not built (make stress builds them)"; exit 0; }
trap 'touch "$TMP/stop"; agent_kill dev-1; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
plan 19
n=$(scale 3 20)
diag "injected meta-page write failures: $n"

sync_setup
ok $? "broker with mutual TLS on 127.0.0.1:$BROKER_PORT"
hub_conf hub-a
agent_conf dev-1 "batch_max_records = 5
max_inflight = 2"
hub_start hub-a
ok $? "hub running"
gen_sales P0 1 3 > "$TMP/first.in"
ag dev-1 record --file "$TMP/first.in" > "$TMP/c0.ok"

SOCK=$TMP/dev-1/ingest.sock
TRIG=$TMP/metafail.trigger
FLOG=$TMP/metafail.log
: > "$FLOG"
LD_PRELOAD=$SHIM SL_METAFAIL_TRIGGER=$TRIG SL_METAFAIL_LOG=$FLOG STORELINK_CONFIG='' \
    "$SL_BIN" --config "$TMP/dev-1.conf" run >> "$TMP/dev-1.log" 2>&1 &
AGENT_PID_dev_1=$!
wait_for 20 '[ "$(acked dev-1)" = 3 ] && [ -S "$SOCK" ]'
ok $? "daemon under metafail.so syncs and listens on the ingest socket"
"$CLIENT" "$SOCK" BEFORE 5 > "$TMP/i-before.out" 2>&1
ok $? "ingest client records before any fault"

client() {  # client K: CLI records (in their own process) until $TMP/stop exists
    _n=0
    while [ ! -e "$TMP/stop" ]; do
        _n=$((_n + 1))
        gen_sales "C$1-$_n" 1 2 > "$TMP/c$1.in"
        ag dev-1 record --file "$TMP/c$1.in" >> "$TMP/c$1.ok" 2>> "$TMP/c$1.err"
        sleep 0.05
    done
}
cpids=""
for k in 1 2; do client $k & cpids="$cpids $!"; done

reopens() { grep -c 'LMDB panic), environment reopened: ok' "$TMP/dev-1.log"; }
told_fail=0 absent=0 reopen_ok=0 retry_new=0 shim_ok=0
k=0
while [ "$k" -lt "$n" ]; do
    k=$((k + 1))
    # ask for the failure of the commit holding PANIC-k-1 (written whole,
    # then renamed: the shim must never read half a trigger)
    printf 'PANIC-%d-1\n' "$k" > "$TRIG.tmp" && mv "$TRIG.tmp" "$TRIG"
    "$CLIENT" "$SOCK" "PANIC-$k" 3 > "$TMP/i-panic-$k.out" 2>&1
    rc=$?
    # the client stops at its first error: one line, the failed record
    if [ "$rc" -eq 1 ] && [ "$(wc -l < "$TMP/i-panic-$k.out")" -eq 1 ] &&
        grep -q "^PANIC-$k-1 error 4 journal: " "$TMP/i-panic-$k.out"; then
        told_fail=$((told_fail + 1))
    else
        sed "s/^/# try $k: /" "$TMP/i-panic-$k.out"
    fi
    [ "$(grep -c 'failure' "$FLOG")" -eq "$k" ] && [ ! -e "$TRIG" ] && shim_ok=$((shim_ok + 1))
    # the next journal operation (the sync engine's, a client's) reopens
    wait_for 10 '[ "$(reopens)" -ge "$k" ]' && reopen_ok=$((reopen_ok + 1))
    ag dev-1 export 2>/dev/null | grep -q "\"txn_id\":\"PANIC-$k-1\"" || absent=$((absent + 1))
    # the same records again: PANIC-k-1 is new (the failed commit left nothing)
    "$CLIENT" "$SOCK" "PANIC-$k" 3 > "$TMP/i-retry-$k.out" 2>&1 &&
        grep -q "^PANIC-$k-1 [0-9]* recorded$" "$TMP/i-retry-$k.out" &&
        retry_new=$((retry_new + 1))
    sleep 0.3
done
is "$told_fail" "$n" "each of the $n failed commits was reported to its client as failed (SL_ERR_IO, journal)"
is "$shim_ok" "$n" "the shim failed exactly one meta-page write per request"
grep -q ' off [0-9]* len ' "$FLOG" &&
    ! awk '{ for (i = 1; i < NF; i++) if ($i == "off" && $(i + 1) >= 8192) bad = 1 } END { exit !bad }' "$FLOG"
ok $? "every failed write was to a meta page (offset < 2 x 4096)"
is "$absent" "$n" "no failed record is in the journal"
is "$reopen_ok" "$n" "the daemon reopened the environment after each panic"
is "$retry_new" "$n" "recording a failed txn_id again succeeds as new, not as a duplicate"
kill -0 "$AGENT_PID_dev_1" 2>/dev/null
ok $? "the same daemon is still running"

sleep 1.2   # daemon.json is rewritten at most once a second
ag dev-1 status > "$TMP/status.out" 2>&1
grep -q "journal storage failed (LMDB panic): reopened $(reopens) time(s)" "$TMP/status.out"
ok $? "status shows the alarm and the reopen count" || sed 's/^/# /' "$TMP/status.out"

touch "$TMP/stop"
for p in $cpids; do wait "$p" 2>/dev/null; done
"$CLIENT" "$SOCK" AFTER 5 > "$TMP/i-after.out" 2>&1
ok $? "ingest client records after the faults"
ag dev-1 journal verify > "$TMP/verify.out" 2>&1
ok $? "journal verifies"
last=$(sed -n 's/.*last seq \([0-9]*\).*/\1/p' "$TMP/verify.out")

# told OK: CLI "recorded seq N TXN" lines and ingest "TXN SEQ recorded" lines
{ cat "$TMP"/c?.ok | sed -n 's/^recorded seq [0-9]* \(.*\)$/\1/p'
  cat "$TMP"/i-*.out | sed -n 's/^\([^ ]*\) [0-9]* recorded$/\1/p'; } | sort > "$TMP/told"
ag dev-1 export 2>/dev/null | sed -n 's/.*"txn_id":"\([^"]*\)".*/\1/p' | sort > "$TMP/disk"
is "$(comm -3 "$TMP/told" "$TMP/disk" | wc -l | tr -d ' ')" 0 \
    "the records reported OK ($(wc -l < "$TMP/told" | tr -d ' ')) are exactly those in the journal"
is "$(wc -l < "$TMP/disk" | tr -d ' ')" "$last" "one journal record per seq (last seq $last)"

wait_for 60 '[ "$(acked dev-1)" = "$last" ]'
ok $? "the same daemon syncs everything, later records included"
"$HUB_BIN" --config "$TMP/hub-a.conf" export --format jsonl --device dev-1 > "$TMP/hub.jsonl"
sed -n 's/.*"txn_id":"\([^"]*\)".*/\1/p' "$TMP/hub.jsonl" | sort > "$TMP/hub.ids"
lost=$(comm -23 "$TMP/told" "$TMP/hub.ids" | wc -l | tr -d ' ')
is "$lost" 0 "every one of $(wc -l < "$TMP/told" | tr -d ' ') records clients were told about is at the hub"
total=$(wc -l < "$TMP/hub.jsonl" | tr -d ' ')
dup=$((total - $(sort -u "$TMP/hub.ids" | wc -l | tr -d ' ')))
is "$dup" 0 "none twice"
[ "$_tap_fail" -eq 0 ] && res=PASS || res=FAIL
report "MDB_PANIC (meta-page write EIO), daemon reopens" "$n" "$last" "$lost" "$dup" "$res"
done_testing
