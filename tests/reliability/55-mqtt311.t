#!/bin/sh
# MQTT v5 only: a broker that speaks only 3.1.1 answers the agent's v5
# CONNECT with the 3.1.1 CONNACK "unacceptable protocol version" (return code
# 1).  The agent must refuse to work with it (3.1.1 PUBACKs hide messages the
# broker dropped), say so in plain words in its log and in `storelink status`,
# retire nothing, and retry with backoff, never in a hot loop.  The 3.1.1
# broker is a few lines of python3 with the test PKI's server certificate.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap '[ -n "${FAKE_PID:-}" ] && kill $FAKE_PID 2>/dev/null; agent_kill dev-1; rm -rf "$TMP"' EXIT
plan 7

pki_init "$TMP/pki" > /dev/null && pki_device "$TMP/pki" dev-1 s-1 > /dev/null
ok $? "test PKI"
BROKER_PORT=$(free_port)
python3 - "$TMP/pki" "$BROKER_PORT" "$TMP/fake.log" <<'PY' &
import socket, ssl, sys, time
d, port, log = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "a", buffering=1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/server.crt", d + "/server.key")
ctx.load_verify_locations(d + "/ca.crt")
ctx.verify_mode = ssl.CERT_REQUIRED
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(8)
while True:
    c, _ = s.accept()
    try:
        t = ctx.wrap_socket(c, server_side=True)
        pkt = t.recv(4096)
        # CONNECT: fixed header, remaining length, "\0\4MQTT", protocol level
        i = 1
        while pkt[i] & 0x80: i += 1
        level = pkt[i + 7]
        log.write("connect level %d at %.3f\n" % (level, time.monotonic()))
        # a 3.1.1 broker: CONNACK, session present 0, return code 1
        t.sendall(b"\x20\x02\x00\x01")
        t.close()
    except Exception as e:
        log.write("error %s\n" % e)
        c.close()
PY
FAKE_PID=$!
wait_for 5 "grep -q ':$(printf %04X "$BROKER_PORT") 00000000:0000 0A' /proc/net/tcp"
agent_conf dev-1
gen_sales M 1 20 | ag dev-1 record > /dev/null
agent_start dev-1
wait_for 15 'grep -q "refused MQTT v5" "$TMP/dev-1.log"'
ok $? "the agent refuses the 3.1.1 broker: $(grep -m1 'refused MQTT v5' "$TMP/dev-1.log" | cut -c1-120)"
grep -q "connect level 5" "$TMP/fake.log"
ok $? "it asked for MQTT v5 (protocol level 5)"
n0=$(grep -c "connect level" "$TMP/fake.log")
sleep 6
n1=$(grep -c "connect level" "$TMP/fake.log")
diag "connection attempts: $n0 before, $n1 after 6 more seconds"
[ $((n1 - n0)) -le 4 ]
ok $? "retries back off: $((n1 - n0)) attempts in 6 s, not a hot loop"
like "$(ag dev-1 status 2>&1)" "refused MQTT v5" "status names the reason"
# exponential backoff with jitter: gaps grow, and are not exact doublings
sleep 8
sed -n 's/.* at \([0-9.]*\)$/\1/p' "$TMP/fake.log" > "$TMP/times"
gaps=$(awk 'NR > 1 { printf "%.2f ", $1 - prev } { prev = $1 }' "$TMP/times")
diag "gaps between attempts (s): $gaps"
echo "$gaps" | awk '{ n = NF; if (n < 3) exit 1; grow = 0; exact = 0
    for (i = 2; i <= n; i++) { if ($i > $(i - 1)) grow++; r = $i / $(i - 1); if (r > 1.98 && r < 2.02) exact++ }
    exit !(grow >= n - 2 && exact < n - 1) }'
ok $? "backoff grows and is jittered (gaps $gaps)"
is "$(acked dev-1)" 0 "nothing retired"
[ "$_tap_fail" -eq 0 ] && res=PASS || res=FAIL
report "MQTT 3.1.1-only broker refused" "$n1" 20 0 0 "$res"
done_testing
