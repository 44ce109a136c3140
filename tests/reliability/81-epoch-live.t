#!/bin/sh
# Journal epochs with the daemon running (issue 8, docs/PROTOCOL.md "Journal
# epochs"): a `storelink record` that finds the journal damaged moves it
# aside and starts a new epoch while `storelink run` still has the old file
# open; the daemon follows the switch by itself (no restart) and syncs the
# new epoch.  Then: records the hub has not acknowledged when the damage is
# found are imported into the new epoch and reach the hub exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'agent_kill dev-1; agent_kill dev-2; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
plan 27
N=$(scale 120 200)
sale() {  # sale TXN_ID
    printf '{"kind":"sale","txn_id":"%s","currency":"EUR","lines":[{"sku":"123","qty":1,"unit_price":100}],"tenders":[{"method":"cash","amount":100}]}\n' "$1"
}
sales() {  # sales PREFIX FROM TO
    i=$2; while [ "$i" -le "$3" ]; do sale "$1-$(printf %04d "$i")"; i=$((i + 1)); done
}
# middle FILE TXN_ID: random bytes over that record's txn_id (in the records
# and the txn databases, every copy), in place: the daemon's map sees it
middle() {
    for off in $(grep -a -b -o "$2" "$1" | cut -d: -f1); do
        head -c 48 /dev/urandom | dd of="$1" bs=1 seek=$((off - 8)) conv=notrunc 2> /dev/null
    done
}
hubq() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$TMP/hub.db" "$1"; }
# chain DEV: "ok" when the hub's records of DEV are seq 1..max, each once,
# every prev the hash of the record before
chain() {
    python3 - "$TMP/hub.db" "$1" <<'EOF'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(
    "select seq, hash, prev from records where device=? order by seq, id", (sys.argv[2],)).fetchall()
want, h = 1, bytes(32)
for seq, hash_, prev in rows:
    if seq != want or bytes(prev) != h:
        print("break at seq %d (want %d)" % (seq, want)); sys.exit(0)
    want, h = want + 1, bytes(hash_)
print("ok %d" % (want - 1))
EOF
}

sync_setup
ok $? "broker started"
hub_conf hub-a
hub_start hub-a

# 1. The daemon follows an epoch switch made by a CLI record.
agent_conf dev-1
agent_start dev-1
sales A 1 "$N" | ag dev-1 record > /dev/null
wait_for 30 '[ "$(acked dev-1)" = "$N" ]'
ok $? "dev-1 synced $N records"
middle "$TMP/dev-1/journal/data.mdb" "A-$(printf %04d $((N / 2)))"
out=$(sale L-1 | ag dev-1 record 2> "$TMP/err")
ok $? "a CLI record finds the damage and succeeds"
# record N/2 no longer decodes: N/2 - 1 is verified when N/2's prev names it
X=$(sed -n 's/.*new epoch 2 from seq \([0-9]*\)$/\1/p' "$TMP/err")
[ -n "$X" ] && [ "$X" -ge $((N / 2 - 2)) ] && [ "$X" -lt $((N / 2)) ]
ok $? "it started epoch 2 from seq $X, the last verified one before $((N / 2))"
is "$out" "recorded seq $((X + 1)) L-1" "the CLI's record continues after the last verified seq"
sales L 2 5 | ag dev-1 record > /dev/null
ok $? "more CLI records"
wait_for 30 '[ "$(acked dev-1)" = "$((X + 5))" ]'
ok $? "the running daemon synced the new epoch: acked through $((X + 5))"
grep -q "moved aside (damaged, new epoch) by another process: reopened on the new epoch: ok" "$TMP/dev-1.log"
ok $? "the daemon logged that it followed the switch"
is "$(grep -c 'running: device dev-1' "$TMP/dev-1.log")" 1 "the daemon was not restarted"
is "$(chain dev-1)" "ok $((X + 5))" "the hub's chain of dev-1 is 1..$((X + 5)), each seq once"
is "$(hubq "select count(*) from epoch_records where device='dev-1'")" "$((N - X))" \
    "the old epoch's records past the break are kept at the hub (nothing lost)"
is "$(hubq "select count(*) from records where device='dev-1' and txn_id like 'L-%'")" 5 \
    "the CLI's records reached the hub once"
ag dev-1 status --json > "$TMP/st.json" 2> /dev/null
grep -q '"journal_epoch":{"epoch":2' "$TMP/st.json"
ok $? "status shows epoch 2"
grep -q '"journal_epoch_follows":1' "$TMP/st.json"
ok $? "status (the daemon's view) counts the switch it followed"
agent_stop dev-1

# 2. Verified records the hub has not acknowledged are imported into the
# new epoch: hub offline while dev-2 records, damage, new epoch, hub back.
agent_conf dev-2
agent_start dev-2
sales B 1 20 | ag dev-2 record > /dev/null
wait_for 30 '[ "$(acked dev-2)" = 20 ]'
ok $? "dev-2 synced 20 records"
agent_stop dev-2
hub_stop hub-a
sales B 21 "$((N + 20))" | ag dev-2 record > /dev/null
middle "$TMP/dev-2/journal/data.mdb" "B-$(printf %04d $((N / 2 + 20)))"
sale M-1 | ag dev-2 record > /dev/null 2> "$TMP/err2"
Y=$(sed -n 's/.*new epoch 2 from seq \([0-9]*\)$/\1/p' "$TMP/err2")
[ -n "$Y" ] && [ "$Y" -ge $((N / 2 + 18)) ] && [ "$Y" -lt $((N / 2 + 20)) ]
ok $? "dev-2: new epoch 2 from seq $Y"
grep -q "imported the verified records 21..$Y the hub had not acknowledged into epoch 2" "$TMP/err2"
ok $? "the verified records after acked_through (21..$Y) were imported"
ag dev-2 journal verify > /dev/null
ok $? "dev-2's new epoch (imported records included) verifies"
hub_start hub-a
agent_start dev-2
wait_for 40 '[ "$(acked dev-2)" = "$((Y + 1))" ]'
ok $? "dev-2 synced through $((Y + 1))"
is "$(chain dev-2)" "ok $((Y + 1))" "the hub holds dev-2's seq 1..$((Y + 1)) once each, chained"
out=$(sale "B-$(printf %04d 30)" | ag dev-2 record 2>&1)
is "$out" "duplicate seq 30 B-0030" "a POS retry of an imported record is a duplicate"

# 3. The daemon's background verify finds damage older than the open-time
# check's window (the last 256 records) and reports it; no new epoch.
agent_start dev-1
base=$(ag dev-1 journal verify | sed -n 's/.*last seq \([0-9]*\).*/\1/p')
sales C 1 300 | ag dev-1 record > /dev/null
wait_for 30 '[ "$(acked dev-1)" = "$((base + 300))" ]'
ok $? "dev-1 synced 300 more records"
middle "$TMP/dev-1/journal/data.mdb" C-0020
E=$((base + 20))
wait_for 40 'ag dev-1 status --json | grep -q "journal damaged at seq"'
ok $? "status reports the damage the background verify found"
bad=$(ag dev-1 status 2>&1 | sed -n 's/.*journal damaged at seq \([0-9]*\) .*background verify.*/\1/p')
[ -n "$bad" ] && [ "$bad" -ge $((E - 1)) ] && [ "$bad" -le "$E" ]
ok $? "it names the first damaged seq ($bad, record C-0020 is $E)"
ag dev-1 doctor 2>&1 | grep -q "warn  journal background verify: the daemon found the journal damaged at seq $bad"
ok $? "doctor names it"
ag dev-1 status --json 2> /dev/null | grep -q '"journal_epoch":{"epoch":2'
ok $? "no new epoch was started for it"
kill -0 "$AGENT_PID_dev_1" 2> /dev/null
ok $? "the daemon keeps running"
[ "$_tap_fail" -eq 0 ] && res=PASS || res=FAIL
report "epoch switch under a running daemon, import" 2 $((2 * N + 326)) 0 0 "$res"
done_testing
