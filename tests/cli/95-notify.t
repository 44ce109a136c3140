#!/bin/sh
# `storelink run` speaks the systemd notification protocol to the socket in
# $NOTIFY_SOCKET (bound here by a small python3 reader, standing in for
# systemd): READY=1 while offline (no broker), WATCHDOG=1 about every half
# of WATCHDOG_USEC, STOPPING=1 once SIGTERM starts the drain, exit 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/sync.sh"
DPID=""
RPID=""
trap '[ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null; [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; rm -rf "$TMP"' EXIT
plan 8

# an identity the daemon accepts (the broker it names is never reached)
STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/none.conf" keygen --out "$TMP/device.key" > /dev/null
openssl req -new -x509 -key "$TMP/device.key" -subj "/O=s-1/CN=dev-1" -days 30 \
    -out "$TMP/device.crt" 2>/dev/null
ok $? "device key (storelink keygen) and a self-signed certificate"
# a TCP port nobody listens on: bound and released again
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$TMP/agent.conf" <<EOC
[device]
device_id = dev-1
store_id = s-1
key_file = $TMP/device.key
cert_file = $TMP/device.crt
[journal]
state_dir = $TMP/state
[sync]
broker_host = 127.0.0.1
broker_port = $port
ca_file = $TMP/device.crt
EOC

# the reader: one line per assignment received, until 2 s after STOPPING=1
# (or 60 s of silence)
cat > "$TMP/reader.py" <<'EOP'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "w", buffering=1) as out:
    while True:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        for line in msg.split("\n"):
            out.write(line + "\n")
        if "STOPPING=1" in msg.split("\n"):
            s.settimeout(2)
EOP
python3 "$TMP/reader.py" "$TMP/notify.sock" "$TMP/notify.log" &
RPID=$!
wait_for 10 '[ -S "$TMP/notify.sock" ]'
ok $? "reader bound $TMP/notify.sock"

# WATCHDOG_PID set the way systemd does: the pid of the process it started
NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=400000 STORELINK_CONFIG='' \
    sh -c 'WATCHDOG_PID=$$ exec "$0" --config "$1" run' "$SL_BIN" "$TMP/agent.conf" \
    > "$TMP/daemon.log" 2>&1 &
DPID=$!
wait_for 20 'grep -qx "READY=1" "$TMP/notify.log"'
ok $? "READY=1 while the broker is unreachable"
wait_for 20 '[ "$(grep -cx "WATCHDOG=1" "$TMP/notify.log")" -ge 3 ]'
ok $? "WATCHDOG=1 repeated (WATCHDOG_USEC=400000)"
is "$(grep -nx 'READY=1\|WATCHDOG=1' "$TMP/notify.log" | head -n 1 | cut -d: -f2)" "READY=1" \
    "READY=1 comes before the first WATCHDOG=1"
like "$(cat "$TMP/notify.log")" "^STATUS=(offline|connecting), backlog 0 record" \
    "STATUS= line with the connection and the backlog"
kill -TERM "$DPID"
wait "$DPID"
is "$?" 0 "SIGTERM: exit 0"
DPID=""
wait_for 10 'grep -qx "STOPPING=1" "$TMP/notify.log"'
ok $? "STOPPING=1 after SIGTERM"
[ "$_tap_fail" -eq 0 ] || { diag "notifications:"; sed 's/^/#   /' "$TMP/notify.log"; \
    diag "daemon log:"; sed 's/^/#   /' "$TMP/daemon.log"; }
done_testing
