#!/bin/sh
# storelink doctor through the real broker and hub: a healthy device (daemon
# running and stopped), that doctor changes nothing (files, the broker
# session and the messages queued in it), an unknown config key, a wrong CA,
# an expired certificate, a closed broker port and a silent one (timeouts).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
SILENT_PID=
trap 'agent_kill dev-1; hub_kill hub-a; broker_stop; [ -n "$SILENT_PID" ] && kill "$SILENT_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
plan 34

sync_setup
ok $? "broker started"
pki_device_expired "$TMP/pki" dev-old s-1 >/dev/null
pki_wrong_ca "$TMP/pki" dev-1 s-1 >/dev/null
hub_conf hub-a
hub_start hub-a
ok $? "hub running"

agent_conf dev-1
gen_sales D 1 5 | ag dev-1 record > /dev/null
agent_start dev-1
wait_for 20 '[ "$(acked dev-1)" = 5 ] && ag dev-1 status --json | grep -q "\"state\":\"connected\""'
ok $? "dev-1 synced and connected"

# 1. daemon running: its connection is reported, no second session is opened
ag dev-1 doctor > "$TMP/run.txt" 2>&1
is "$?" 0 "daemon running: doctor exits 0"
like "$(cat "$TMP/run.txt")" "^ok +mqtt connect: the daemon \(pid [0-9]+\) is connected; not opening a second session" \
    "daemon running: its connection state is reported"
like "$(cat "$TMP/run.txt")" "^skip +mqtt publish" "daemon running: the publish probe is skipped"
like "$(cat "$TMP/run.txt")" "^ok +tls: TLSv1.2, broker certificate verified for 'localhost'" "TLS verified with mbedtls"
agent_stop dev-1

# 2. daemon stopped: every step runs, and nothing changes.  A message
#    queued in dev-1's broker session (a malformed ack, which the daemon
#    logs) must still reach the daemon after doctor resumed that session.
timeout 10 mosquitto_pub $(broker_client_opts "$TMP/pki" hub) -i t99-pub -q 1 \
    -t storelink/v1/s-1/dev-1/ack -m x
ok $? "a message is queued in dev-1's stored session"
snap() { (cd "$TMP/dev-1" && ls -lR --time-style=full-iso . | grep -v lock.mdb; cksum journal/data.mdb); }
snap > "$TMP/before"
ag dev-1 doctor > "$TMP/ok.txt" 2>&1
is "$?" 0 "daemon stopped, all well: exit 0"
is "$(grep -c '^ok ' "$TMP/ok.txt")" 15 "15 checks, all ok"
like "$(cat "$TMP/ok.txt")" "^ok +mqtt connect: CONNECT accepted as 'dev-1' \(stored session resumed\)" \
    "CONNECT accepted, the stored session resumed (clean start off)"
like "$(cat "$TMP/ok.txt")" "^ok +mqtt publish: QoS 1 publish to storelink/v1/s-1/dev-1/status acknowledged" \
    "the device may publish to its own topic (PUBACK checked)"
snap > "$TMP/after"
is "$(cmp "$TMP/before" "$TMP/after" && echo same)" same "nothing in the state dir changed"
wait_for 5 '"$HUB_BIN" --config "$TMP/hub-a.conf" devices --json | grep -q "\"health\":\"healthy\""'
ok $? "the hub's fleet view still has the device's health after doctor's offline status"
: > "$TMP/dev-1.log"
agent_start dev-1
wait_for 15 "grep -q 'ignoring malformed ack (1 bytes)' '$TMP/dev-1.log'"
ok $? "the queued message still reached the daemon (doctor did not acknowledge it)"
like "$(grep 'connected to' "$TMP/dev-1.log")" "session resumed" "the daemon resumed its session"
agent_stop dev-1

ag dev-1 doctor --json --full > "$TMP/doc.json" 2>/dev/null
is "$?" 0 "--json --full: exit 0"
is "$(python3 -c 'import json,sys
a = json.load(open(sys.argv[1]))
ok = isinstance(a, list) and all(isinstance(e.get(k), str) for e in a for k in ("check", "result", "detail", "fix"))
print(" ".join(e["check"] for e in a) if ok else "bad")' "$TMP/doc.json")" \
    "config state dir journal certificate key issuer permissions permissions dns tcp tls mqtt connect mqtt publish clock disk" \
    "--json parses: an array of {check, result, detail, fix} in order"
like "$(cat "$TMP/doc.json")" '"check":"journal","result":"ok","detail":"opens read-only; whole chain verified \(5 records' "--full verifies the whole chain"

# 3. an unknown config key: warn with the nearest valid key
agent_conf dev-1 "brokr_port = 1883"
ag dev-1 doctor > "$TMP/key.txt" 2>/dev/null
is "$?" 1 "unknown key: exit 1 (warning)"
like "$(cat "$TMP/key.txt")" "^warn +config: .*unknown key 'sync.brokr_port' \(did you mean 'broker_port'\?\)" "the unknown key is named with the nearest key"
like "$(cat "$TMP/key.txt")" "fix: rename the key to 'broker_port'" "the fix names the key to use"

# 3b. a device key others can read
chmod 644 "$TMP/pki/dev-1.key"
ag dev-1 doctor > "$TMP/perm.txt" 2>&1
is "$?" 2 "key readable by others: exit 2"
like "$(cat "$TMP/perm.txt")" "^fail +permissions: .*dev-1.key is mode 0644: group or others can read the device key" \
    "the permissions check names the key and its mode"
chmod 600 "$TMP/pki/dev-1.key"

# 4. wrong CA: the TLS step names the CA problem
agent_conf dev-1
sed -i "s|^ca_file = .*|ca_file = $TMP/pki/wrongca.crt|" "$TMP/dev-1.conf"
ag dev-1 doctor > "$TMP/ca.txt" 2>&1
is "$?" 2 "wrong CA: exit 2"
like "$(cat "$TMP/ca.txt")" "^fail +tls: localhost:[0-9]+: the broker's certificate is not issued by the CA in ca_file" \
    "wrong CA: the TLS step says the broker's certificate is not from that CA"

# 5. an expired device certificate
agent_conf dev-old
ag dev-old doctor > "$TMP/old.txt" 2>&1
is "$?" 2 "expired certificate: exit 2"
like "$(cat "$TMP/old.txt")" "^fail +certificate: .*expired on 2021-01-01" "the certificate check names the expiry"
like "$(cat "$TMP/old.txt")" "fix: renew it: storelink csr" "with the fix"
like "$(cat "$TMP/old.txt")" "^fail +tls: .*refused this device's certificate" "the TLS step says the broker refused the certificate"

# 6. broker port closed: fails at the TCP step, at once
agent_conf dev-1
sed -i "s|^broker_port = .*|broker_port = $(free_port)|" "$TMP/dev-1.conf"
t0=$(date +%s)
ag dev-1 doctor --timeout 3 > "$TMP/closed.txt" 2>&1
rc=$?
el=$(( $(date +%s) - t0 ))
like "$(cat "$TMP/closed.txt")" "^fail +tcp: .*connection refused" "closed port: the TCP step fails (refused)"
[ "$rc" = 2 ] && [ "$el" -le 3 ]
ok $? "closed port: exit 2 within the timeout (exit $rc after ${el}s)"

# 7. a port that accepts and never answers: the TLS step times out
port=$(free_port)
python3 -c 'import socket,sys,time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4); c = s.accept(); time.sleep(60)' "$port" &
SILENT_PID=$!
wait_for 5 "grep -q ':$(printf %04X "$port") 00000000:0000 0A' /proc/net/tcp"
sed -i "s|^broker_port = .*|broker_port = $port|" "$TMP/dev-1.conf"
t0=$(date +%s)
ag dev-1 doctor --timeout 1 > "$TMP/silent.txt" 2>&1
el=$(( $(date +%s) - t0 ))
like "$(cat "$TMP/silent.txt")" "^fail +tls: .*no TLS answer within 1000 ms" "silent port: the TLS step times out"
[ "$el" -le 4 ]
ok $? "silent port: doctor answered in ${el}s with --timeout 1"
done_testing
