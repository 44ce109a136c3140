#!/bin/sh
# storelink status through the real broker and hub: a healthy synced device,
# the broker down with an old backlog, an expired certificate, a full journal,
# no config.  Exit 0 healthy / 1 degraded / 2 failing; --json has the
# documented fields with their types (checked with python3, a test dependency).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'agent_kill dev-1; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
plan 35

sync_setup
ok $? "broker started"
pki_device_expired "$TMP/pki" dev-old s-1 >/dev/null
hub_conf hub-a
hub_start hub-a
ok $? "hub running"

# fields FILE: every documented field of status --json, with its type
fields() {
    python3 - "$1" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
num, s, b = (int, float), str, bool
want = {
    "health": s, "device": s, "store": s, "problems": list,
    "daemon.running": b, "daemon.pid": int, "daemon.started_ms": int, "daemon.uptime_s": int,
    "daemon.version": s,
    "connection.state": s, "connection.broker": s, "connection.since_ms": int,
    "connection.last_error": s, "connection.last_error_class": s, "connection.last_error_detail": s,
    "connection.reconnect_at_ms": int,
    "backlog.last_seq": int, "backlog.acked_through": int, "backlog.unacked": int,
    "backlog.unsent": int, "backlog.oldest_unacked_age_ms": int,
    "backlog.oldest_unacked_ts_ms": int, "backlog.last_ack_ms": int, "backlog.inflight": int,
    "backlog.dead_letters": int, "backlog.records": int, "backlog.drain_rate": num,
    "backlog.drain_eta_s": int,
    "catalog.prices_version": int, "catalog.stock_version": int, "catalog.rejected": int,
    "storage.journal_bytes": int, "storage.journal_max_bytes": int,
    "storage.journal_used_pct": int, "storage.disk_free_bytes": int,
    "storage.disk_total_bytes": int, "storage.retained_records": int,
    "storage.retention_days": int,
    "identity.configured": b, "identity.cert_file": s, "identity.subject": s,
    "identity.not_after_ms": int, "identity.days_left": int, "identity.key_matches": b,
}
bad = []
for path, t in want.items():
    v = o
    for k in path.split("."):
        v = v.get(k) if isinstance(v, dict) else None
    if v is None or not isinstance(v, t) or (t in (int, num) and isinstance(v, bool)):
        bad.append(path)
for p in o["problems"]:
    if not all(isinstance(p.get(k), str) for k in ("severity", "problem", "fix")):
        bad.append("problems[]")
print(" ".join(bad) if bad else "all fields")
EOF
}
# jq-free field reading: jf FILE PATH
jf() { python3 -c 'import json,sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if not isinstance(v, str) else v)' "$1" "$2"; }

# 1. a healthy synced device
agent_conf dev-1 "[status]
alert_backlog_age = 60"
gen_sales A 1 5 | ag dev-1 record > /dev/null
agent_start dev-1
wait_for 20 '[ "$(acked dev-1)" = 5 ] && ag dev-1 status --json | grep -q "\"state\":\"connected\""'
ok $? "dev-1 synced and connected"
ag dev-1 status --json > "$TMP/st.json"
is "$?" 0 "healthy: status --json exits 0"
is "$(fields "$TMP/st.json")" "all fields" "healthy: every documented field present and typed"
is "$(jf "$TMP/st.json" health)" healthy "healthy: health is healthy"
is "$(jf "$TMP/st.json" problems)" "[]" "healthy: no problems"
is "$(jf "$TMP/st.json" identity.subject)" "O=s-1, CN=dev-1" "identity: certificate subject"
is "$(jf "$TMP/st.json" identity.key_matches)" true "identity: key matches"
is "$(jf "$TMP/st.json" sync.source)" "control socket" "the running daemon was asked over its control socket"
ag dev-1 status > "$TMP/st.txt"
is "$?" 0 "healthy: status exits 0"
like "$(cat "$TMP/st.txt")" "^daemon +running \(pid [0-9]+, up [0-9]+ s" "human: daemon running with pid and uptime"
like "$(cat "$TMP/st.txt")" "^storage +journal [0-9.]+ KiB of 512.0 MiB \([0-9]+%\)" "human: journal size against its limit"
unlike "$(cat "$TMP/st.txt")" "$(printf '\033')" "no colour when stdout is not a terminal"

# 2. the broker goes down; a record from 2 minutes ago waits (alert_backlog_age = 60)
broker_stop
wait_for 15 'ag dev-1 status --json | grep -q "\"state\":\"\(offline\|connecting\)\""'
old=$(( $(date +%s) * 1000 - 120000 ))
printf '{"kind":"sale","txn_id":"OLD-1","ts":%s,"currency":"EUR","lines":[{"sku":"S1","qty":1,"unit_price":100}],"tenders":[{"method":"cash","amount":100}]}\n' "$old" \
    | ag dev-1 record > /dev/null
ag dev-1 status > "$TMP/down.txt"
is "$?" 1 "broker down, backlog older than alert_backlog_age: exit 1 (degraded)"
like "$(cat "$TMP/down.txt")" "oldest unacknowledged record is 2 min [0-9]+ s old \(alert_backlog_age 1 min 0 s\)" \
    "the reason names the backlog age and the limit"
like "$(cat "$TMP/down.txt")" "^backlog +1 unacknowledged" "the backlog is shown"
ag dev-1 status --json > "$TMP/down.json"
like "$(jf "$TMP/down.json" problems.0.fix)" "." "the problem carries a fix hint"
agent_stop dev-1
broker_start "$TMP/pki" "$BROKER_PORT"
ag dev-1 status > "$TMP/stopped.txt"
like "$(cat "$TMP/stopped.txt")" "daemon not running with 1 record\(s\) unsent" "daemon stopped with a backlog: named"

# 3. an expired device certificate: failing, with the fix
agent_conf dev-old
ag dev-old status > "$TMP/old.txt"
is "$?" 2 "expired certificate: exit 2 (failing)"
like "$(cat "$TMP/old.txt")" "device certificate expired on 2021-01-01" "the expiry date is named"
like "$(cat "$TMP/old.txt")" "fix: renew it: storelink csr" "the fix hint says how to renew"
like "$(cat "$TMP/old.txt")" "^identity +O=s-1, CN=dev-old, EXPIRED" "identity shows the expired certificate"

# 4. a full journal (max_db_mb = 1, as in 50-full.t)
printf '[journal]\nmax_db_mb = 1\n' > "$TMP/full.conf"
big() {
    awk -v b="$1" 'BEGIN { for (e = 0; e < 10; e++) { s = ""
        for (i = 0; i < 150; i++) s = s (i ? "," : "") sprintf("{\"sku\":\"FULL-%03d-%03d-shelf-item\",\"qty\":1,\"unit_price\":%d}", b, i, i + 1)
        printf "{\"kind\":\"sale\",\"txn_id\":\"F-%03d-%02d\",\"ts\":1763893200000,\"currency\":\"EUR\",\"lines\":[%s],\"tenders\":[{\"method\":\"cash\",\"amount\":20000}]}\n", b, e, s } }'
}
b=0
while [ $b -lt 60 ]; do
    b=$((b + 1))
    big $b | STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/full.conf" --state-dir "$TMP/full" record \
        > /dev/null 2>&1 || break
done
STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/full.conf" --state-dir "$TMP/full" status > "$TMP/full.txt"
rc=$?
[ $rc -ge 1 ]
ok $? "full journal: status is degraded or failing (exit $rc)"
like "$(cat "$TMP/full.txt")" "journal [0-9.]+ (KiB|MiB) of 1.0 MiB \((9[0-9]|100)%\)" "full journal: storage shown against max_db_mb"
like "$(cat "$TMP/full.txt")" "fix: get the device synced" "full journal: fix hint"

# 5. no config: status still prints what it can and exits 2 (not 78)
STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/missing.conf" --state-dir "$TMP/dev-1" status > "$TMP/nocfg.txt" 2>&1
is "$?" 2 "missing config file: exit 2"
like "$(cat "$TMP/nocfg.txt")" "config: .*missing.conf: config file not found" "the config problem is named"
like "$(cat "$TMP/nocfg.txt")" "^backlog +1 unacknowledged" "and the journal is still shown"

# 6. a certificate that expires in 10 days: degraded; a key that is not the
#    certificate's: failing
_pki_issue "$TMP/pki" ca "/O=s-1/CN=dev-soon" client_ext 10 "$TMP/pki/dev-soon"
agent_conf dev-soon
ag dev-soon status > "$TMP/soon.txt"
is "$?" 1 "certificate expiring within 30 days: exit 1"
like "$(cat "$TMP/soon.txt")" "device certificate expires in (9|10) day\(s\)" "the days left are named"
agent_conf dev-1
sed -i "s|$TMP/pki/dev-1.key|$TMP/pki/dev-2.key|" "$TMP/dev-1.conf"
ag dev-1 status > "$TMP/mism.txt"
is "$?" 2 "key does not match the certificate: exit 2"
like "$(cat "$TMP/mism.txt")" "key_file does not match cert_file" "the mismatch is named"

# 7. colour: only on a terminal, and not with NO_COLOR
agent_conf dev-1
esc=$(printf '\033')
script -qec "STORELINK_CONFIG= '$SL_BIN' --config '$TMP/dev-1.conf' status" /dev/null > "$TMP/tty.txt" 2>&1
like "$(head -n 1 "$TMP/tty.txt")" "^health +${esc}\[3[0-9]m" "on a terminal the health word is coloured"
NO_COLOR=1 script -qec "STORELINK_CONFIG= '$SL_BIN' --config '$TMP/dev-1.conf' status" /dev/null > "$TMP/tty2.txt" 2>&1
unlike "$(cat "$TMP/tty2.txt")" "$esc" "NO_COLOR: no colour on a terminal either"
done_testing
