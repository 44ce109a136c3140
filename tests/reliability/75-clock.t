#!/bin/sh
# Clock jumps (libfaketime, monotonic clock left real with
# FAKETIME_DONT_FAKE_MONOTONIC=1, as an NTP step does):
# 1. a recorder whose wall clock steps back an hour, then one whose clock
#    steps forward a day, in the middle of a run, between two commits (FAKETIME_START_AFTER_NUMCALLS:
#    the step lands after N time calls; N is searched because the number of
#    calls per run is the binary's business): sequence numbers and the chain
#    are unaffected, the records of the first commit after the step carry
#    clock_jump, and the Z-report (`storelink report day`) counts them.
#    Between the two, a recorder at the real time: the baseline the journal
#    keeps is an hour back after the first run, so its commit is flagged.
# 2. the daemon under faketime with a timestamp file re-read on every call
#    (FAKETIME_TIMESTAMP_FILE, FAKETIME_NO_CACHE=1): back an hour, then
#    forward a day while records arrive: it keeps syncing, acks arrive without
#    resends (the ack timeout is monotonic), the link is not dropped, and the
#    status cadence goes on (daemon.json rewritten).
# 3. one `storelink record` per sale, as a POS that runs one per sale: the
#    baseline lives in the journal, so the call whose clock is an hour back
#    is flagged, the next one at the same offset is not (the baseline
#    moved), and a reboot (STORELINK_BOOT_ID, test-only) is not a jump.
# STORELINK_CLOCK_STATE stays "synced" (this host's kernel says
# unsynchronised): it sets the NTP state only, the jump is still measured.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
FT=
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/*/faketime/libfaketime.so.1 \
         /usr/lib/faketime/libfaketime.so.1; do
    [ -r "$f" ] && { FT=$f; break; }
done
[ -n "$FT" ] || { echo "1..0 # SKIP libfaketime not installed (toolchain/deps.sh stress)"; exit 0; }
trap 'agent_kill dev-1; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
plan 22
export STORELINK_CLOCK_STATE=synced
rounds=$(scale 1 5)

sync_setup
ok $? "broker with mutual TLS on 127.0.0.1:$BROKER_PORT"
hub_conf hub-a
agent_conf dev-1 "batch_max_records = 50"
hub_start hub-a
ok $? "hub running"

jsonl_ts() { sed -n 's/.*"ts":\([0-9]*\).*/\1/p'; }
# step OFFSET TAG: one `storelink record` of 600 events whose wall clock
# steps by OFFSET seconds mid-run; prints N used, or fails
step() {
    _n=1
    while [ "$_n" -le 80 ]; do
        rm -rf "$TMP/probe"
        cp -R "$TMP/dev-1" "$TMP/probe"   # same state: the same calls to the step
        gen_sales "$2-$_n" 1 600 > "$TMP/step.in"
        # a copy of the device's journal and config
        LD_PRELOAD=$FT FAKETIME="$1" FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_START_AFTER_NUMCALLS=$_n \
            STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/probe.conf" record --file "$TMP/step.in" > /dev/null 2>&1
        # the step landed mid-run when first and last record lie an offset apart
        ag probe export --format jsonl | grep "\"txn_id\":\"$2-$_n-" > "$TMP/probe.jsonl"
        # wanted: the step after the process measured its baseline (in its
        # first commit; records are committed 256 at a time): record 512
        # made before, record 513 after
        _f=$(sed -n 512p "$TMP/probe.jsonl" | jsonl_ts)
        _l=$(sed -n 513p "$TMP/probe.jsonl" | jsonl_ts)
        _d=$(( (_l - _f) / 1000 ))
        if [ "${_d#-}" -gt 1800 ]; then
            # the same run on the device's journal
            LD_PRELOAD=$FT FAKETIME="$1" FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_START_AFTER_NUMCALLS=$_n \
                STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/dev-1.conf" record --file "$TMP/step.in" \
                >> "$TMP/told" 2>> "$TMP/rec.err"
            echo "$_n"
            return 0
        fi
        _n=$((_n + 1))
    done
    return 1
}
sed "s|^state_dir = .*|state_dir = $TMP/probe|" "$TMP/dev-1.conf" > "$TMP/probe.conf"
gen_sales PRE 1 10 > "$TMP/pre.in"
ag dev-1 record --file "$TMP/pre.in" > "$TMP/told"
n1=$(step -3600 BACK)
ok $? "a recorder's wall clock stepped back an hour mid-run (after $n1 time calls)"
# the journal's baseline is an hour back now: a recorder at the real time
# sees the clock jump forward
gen_sales RESET 1 5 > "$TMP/reset.in"
ag dev-1 record --file "$TMP/reset.in" >> "$TMP/told"
reset=$(ag dev-1 export --format jsonl | grep -c '"txn_id":"RESET-.*"clock_jump":true')
is "$reset" 5 "the next recorder at the real time: its commit is flagged (baseline kept in the journal)"
n2=$(step +86400 FWD)
ok $? "a recorder's wall clock stepped forward a day mid-run (after $n2 time calls)"
ag dev-1 journal verify > "$TMP/verify.out" 2>&1
ok $? "the chain verifies across both steps"
last=$(sed -n 's/.*last seq \([0-9]*\).*/\1/p' "$TMP/verify.out")
records=$(sed -n 's/.*intact: \([0-9]*\) records.*/\1/p' "$TMP/verify.out")
is "$records" "$last" "sequence gapless: $records records, last seq $last"
ag dev-1 export --format jsonl > "$TMP/all.jsonl"
# the records of one commit at each step are flagged, and no others: the
# first commit after it, or the one whose clock was read across it (its
# timestamp taken just before the step, its trust measured just after)
awk '{ ts = $0; sub(/.*"ts":/, "", ts); sub(/,.*/, "", ts); ts = ts + 0
       run = $0; sub(/.*"txn_id":"/, "", run); sub(/-[0-9]*".*/, "", run)
       i = ++n[run]
       if (!(run in first)) first[run] = ts
       far = ts - first[run] > 1800000 || first[run] - ts > 1800000
       if (far && !(run in step)) step[run] = i
       if ($0 ~ /"clock_jump":true/) { flagged++; if (!(run in fa)) fa[run] = i; fb[run] = i; fc[run]++ } }
     END { for (r in step) { steps++
               if ((r in fa) && fc[r] == fb[r] - fa[r] + 1 && (fb[r] == step[r] - 1 || fa[r] == step[r])) found++ }
           for (r in fa) if (!(r in step) && r != "RESET") stray++
           printf "%d %d %d %d\n", steps, found, flagged, stray + 0 }' "$TMP/all.jsonl" > "$TMP/flags"
read -r steps found flagged stray < "$TMP/flags"
is "$steps/$found" "2/2" "two runs with a step, each with one flagged commit next to the step"
[ "$flagged" -gt 0 ] && [ "$stray" -eq 0 ]
ok $? "no other record carries clock_jump ($flagged flagged)"
# the Z-report counts them as made with an untrusted clock (the newest
# business day: no day is closed, so it spans every record)
newest=$(tail -1 "$TMP/all.jsonl" | jsonl_ts)
d=$(date -u -d "@$((newest / 1000))" +%Y-%m-%d)
ag dev-1 report day --date "$d" > "$TMP/z" 2>&1
sed 's/^/# /' "$TMP/z" | head -3
untrusted=$(sed -n 's/^records .*, \([0-9]*\) with an untrusted clock.*/\1/p' "$TMP/z")
is "$untrusted" "$flagged" "the Z-report counts $flagged records with an untrusted clock"

# 2. the daemon across steps of its own clock
echo "+0" > "$TMP/ft"
LD_PRELOAD=$FT FAKETIME_TIMESTAMP_FILE=$TMP/ft FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
    STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/dev-1.conf" run >> "$TMP/dev-1.log" 2>&1 &
AGENT_PID_dev_1=$!
wait_for 60 '[ "$(acked dev-1)" = "$last" ]'
ok $? "daemon under faketime syncs the $last records"
i=0
for off in -3600 +82800; do
    r=0
    while [ "$r" -lt "$rounds" ]; do
        r=$((r + 1)); i=$((i + 1))
        [ "$r" -eq 1 ] && echo "$off" > "$TMP/ft"
        gen_sales "D$i" 1 20 > "$TMP/d.in"
        ag dev-1 record --file "$TMP/d.in" >> "$TMP/told"
        sleep 1
    done
done
sleep 2
ag dev-1 journal verify > "$TMP/verify.out" 2>&1
last=$(sed -n 's/.*last seq \([0-9]*\).*/\1/p' "$TMP/verify.out")
wait_for 30 '[ "$(acked dev-1)" = "$last" ]'
ok $? "after back an hour and forward a day: everything acked (last seq $last)"
u1=$(sed -n 's/.*"updated_ms":\([0-9]*\).*/\1/p' "$TMP/dev-1/daemon.json")
ag dev-1 status --json > "$TMP/st.json"
resent=$(sed -n 's/.*"resent":\([0-9]*\).*/\1/p' "$TMP/st.json" | head -1)
conn=$(sed -n 's/.*"connection":"\([a-z]*\)".*/\1/p' "$TMP/st.json" | head -1)
is "$resent/$conn" "0/connected" "no resends (ack timeout is monotonic), still connected"
real=$(date +%s)
[ -n "$u1" ] && [ "$((u1 / 1000))" -gt "$((real + 79200))" ]
ok $? "daemon.json rewritten after the step (updated_ms $u1, a day ahead of $real)"
"$HUB_BIN" --config "$TMP/hub-a.conf" export --format jsonl --device dev-1 > "$TMP/hub.jsonl"
total=$(wc -l < "$TMP/hub.jsonl" | tr -d ' ')
uniq=$(sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$TMP/hub.jsonl" | sort -n | uniq | wc -l | tr -d ' ')
is "$uniq/$total" "$last/$last" "the hub holds each of the $last records once"
agent_stop dev-1

# 3. one process per sale
agent_conf solo
sale1() {  # sale1 TXN [ENV...]: one `storelink record` of one sale, prints nothing
    _t=$1; shift
    gen_sales "$_t" 1 1 | env "$@" STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/solo.conf" record > /dev/null
}
flag() { ag solo export --format jsonl | grep "\"txn_id\":\"$1-" | grep -c '"clock_jump":true'; }
BACK="LD_PRELOAD=$FT FAKETIME=-3600 FAKETIME_DONT_FAKE_MONOTONIC=1"
sale1 P1 && sale1 P2 $BACK && sale1 P3 $BACK && sale1 P4 && sale1 P5 STORELINK_BOOT_ID=test-reboot &&
    sale1 P6 STORELINK_BOOT_ID=test-reboot && sale1 P7 STORELINK_BOOT_ID=test-reboot $BACK
ok $? "seven one-shot recorders"
is "$(flag P1)" 0 "the first (no baseline yet) is not flagged"
is "$(flag P2)" 1 "the second, its clock an hour back, is flagged"
is "$(flag P3)" 0 "the third at the same offset is not (the baseline moved)"
is "$(flag P4)$(flag P5)" "10" "back to the real time is flagged; after a reboot (another boot id) it is not"
is "$(flag P6)$(flag P7)" "01" "in the new boot, a step back an hour is flagged again"
ag solo journal verify > /dev/null
ok $? "the one-shot journal verifies"

[ "$_tap_fail" -eq 0 ] && res=PASS || res=FAIL
report "clock jumps (faketime -1h, +1d)" "$((2 + 2 * rounds))" "$last" "$((last - uniq))" "$((total - uniq))" "$res"
done_testing
