#!/bin/sh
# Full disk: the state directory on a small tmpfs (mount -t tmpfs -o
# size=4m, needs root; skipped otherwise: 60-ioerrors.t covers ENOSPC with
# libfiu).  The filesystem is filled while the daemon runs: `storelink
# record` exits 75 with "disk full", records nothing of the failed call and
# loses nothing before it; after space is freed recording continues and the
# daemon, which kept running, syncs everything.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
mnt=$TMP/mnt
mkdir -p "$mnt"
mount -t tmpfs -o size=4m,mode=0700 tmpfs "$mnt" 2> /dev/null ||
    { echo "1..0 # SKIP cannot mount a tmpfs here (libfiu ENOSPC in 60-ioerrors.t covers the error path)"; exit 0; }
trap 'agent_kill dev-1; hub_kill hub-a; broker_stop; umount "$mnt"; rm -rf "$TMP"' EXIT
plan 10
rounds=$(scale 3 20)

sync_setup
ok $? "broker with mutual TLS on 127.0.0.1:$BROKER_PORT"
hub_conf hub-a
agent_conf dev-1
sed -i "s|^state_dir = .*|state_dir = $mnt/dev-1|" "$TMP/dev-1.conf"
hub_start hub-a
gen_sales D0 1 20 > "$TMP/d0.in"
ag dev-1 record --file "$TMP/d0.in" > "$TMP/told.0"
ok $? "journal on a 4 MiB tmpfs"
agent_start dev-1
wait_for 20 '[ "$(acked dev-1)" = 20 ]'
ok $? "daemon syncs from it"

bad=0 nfull=0 badmsg=0 n=0
r=0
while [ "$r" -lt "$rounds" ]; do
    r=$((r + 1))
    # fill the filesystem up to the last byte
    dd if=/dev/zero of="$mnt/filler" bs=64k 2> /dev/null
    before=$(ag dev-1 export --format jsonl | wc -l | tr -d ' ')
    k=0 rc=0
    while [ "$k" -lt 50 ]; do   # until the journal needs a page it cannot get
        k=$((k + 1)); n=$((n + 1))
        gen_sales "F$r" "$((k * 40))" "$((k * 40 + 39))" > "$TMP/f.in"
        ag dev-1 record --file "$TMP/f.in" >> "$TMP/told.$r" 2> "$TMP/f.err"
        rc=$?
        [ "$rc" -ne 0 ] && break
    done
    if [ "$rc" -eq 75 ] && grep -q 'disk full' "$TMP/f.err"; then nfull=$((nfull + 1)); else
        bad=$((bad + 1)); diag "round $r: exit $rc: $(head -1 "$TMP/f.err")"; fi
    # the refused call's events were each all-or-nothing: what it printed is what is there
    rm -f "$mnt/filler"
    gen_sales "G$r" 1 10 > "$TMP/g.in"
    ag dev-1 record --file "$TMP/g.in" >> "$TMP/told.$r" 2> "$TMP/g.err" || bad=$((bad + 1))
done
is "$nfull" "$rounds" "every full disk gave exit 75 'disk full' ($rounds rounds)"
is "$bad" 0 "recording continued after space was freed"
kill -0 "$AGENT_PID_dev_1" 2> /dev/null
ok $? "the daemon kept running"
ag dev-1 journal verify > "$TMP/verify.out" 2>&1
ok $? "journal verifies"
cat "$TMP"/told.* | sed -n 's/^recorded seq [0-9]* \(.*\)$/\1/p' | sort > "$TMP/told"
ag dev-1 export --format jsonl | sed -n 's/.*"txn_id":"\([^"]*\)".*/\1/p' | sort > "$TMP/have"
is "$(comm -3 "$TMP/told" "$TMP/have" | wc -l | tr -d ' ')" 0 \
    "records on disk are exactly the $(wc -l < "$TMP/told" | tr -d ' ') reported recorded"
last=$(sed -n 's/.*last seq \([0-9]*\).*/\1/p' "$TMP/verify.out")
wait_for 60 '[ "$(acked dev-1)" = "$last" ]'
ok $? "all $last synced by the same daemon"
"$HUB_BIN" --config "$TMP/hub-a.conf" export --format jsonl --device dev-1 > "$TMP/hub.jsonl"
total=$(wc -l < "$TMP/hub.jsonl" | tr -d ' ')
uniq=$(sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$TMP/hub.jsonl" | sort -n | uniq | wc -l | tr -d ' ')
lost=$(comm -23 "$TMP/told" "$TMP/have" | wc -l | tr -d ' ')
is "$((total - uniq))" 0 "the hub holds each seq once ($uniq)"
[ "$_tap_fail" -eq 0 ] && res=PASS || res=FAIL
report "full disk (4 MiB tmpfs), CLI + daemon" "$rounds" "$last" "$lost" "$((total - uniq))" "$res"
done_testing
