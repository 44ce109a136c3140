#!/bin/sh
# The broker harness itself (tests/lib/broker.sh): test PKI, a mosquitto with mutual TLS on
# 127.0.0.1:<free port>, the storelink ACL (docs/BROKER.md), stop and kill.
# Every client call is bounded by `timeout`; nothing talks to anything but 127.0.0.1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"

for _c in mosquitto mosquitto_pub mosquitto_sub openssl timeout; do
    command -v "$_c" >/dev/null 2>&1 ||
        { echo "Bail out! $_c not found (Debian: mosquitto, mosquitto-clients, openssl, coreutils)"; exit 1; }
done

plan 60

SUBS=""    # background subscribers (timeout pids), killed on exit
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    for _p in $SUBS; do kill "$_p" 2>/dev/null; done
    broker_stop >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# lines LISTEN-ing on PORT in /proc/net/tcp{,6}, as hex local addresses
listen_addrs() {
    awk -v p="$(printf '%04X' "$1")" 'FNR > 1 && $4 == "0A" {
        n = split($2, a, ":"); if (a[n] == p) print a[1] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        sort | paste -sd ' ' -
}
# count_in FILE ERE: matching lines
count_in() { grep -Ec -- "$2" "$1" 2>/dev/null || true; }
# wait_count FILE ERE N: wait (5 s) until FILE has more than N matching lines
wait_count() {
    _wc_i=0
    while [ "$(count_in "$1" "$2")" -le "$3" ] && [ "$_wc_i" -lt 50 ]; do
        sleep 0.1; _wc_i=$((_wc_i + 1))
    done
    [ "$(count_in "$1" "$2")" -gt "$3" ]
}
show() { sed 's/^/#   /' "$@"; }
# mqtt_lines FILE: the received messages in a mosquitto_sub -d output (debug lines dropped)
mqtt_lines() { grep -v -e '^Client ' -e '^Subscribed ' "$1"; }

P=$TMP/pki

# --- PKI ----------------------------------------------------------------------
pki_init "$P"
ok $? "pki_init: CA, server and hub certificates"
pki_device "$P" dev-1 s-1
ok $? "pki_device dev-1 s-1"
pki_device_expired "$P" dev-old s-1
ok $? "pki_device_expired dev-old s-1"
pki_wrong_ca "$P" dev-1 s-1
ok $? "pki_wrong_ca dev-1 s-1"

is "$(find "$P" -name '*.key' ! -perm 600 | wc -l | tr -d ' ')" 0 "every private key is mode 0600"
is "$(openssl x509 -in "$P/dev-1.crt" -noout -subject -nameopt RFC2253)" "subject=CN=dev-1,O=s-1" \
   "device certificate: CN=device, O=store"
like "$(openssl x509 -in "$P/dev-1.crt" -noout -text)" 'ASN1 OID: prime256v1' "device key is EC P-256"
like "$(openssl x509 -in "$P/dev-1.crt" -noout -ext extendedKeyUsage)" 'TLS Web Client Authentication' \
     "device certificate is for clientAuth"
like "$(openssl x509 -in "$P/server.crt" -noout -ext subjectAltName)" \
     'DNS:localhost, IP Address:127\.0\.0\.1' "server certificate: SAN DNS:localhost, IP:127.0.0.1"
openssl x509 -in "$P/dev-old.crt" -noout -checkend 0 >/dev/null
is "$?" 1 "expired certificate: x509 -checkend 0 says expired"
like "$(openssl verify -CAfile "$P/ca.crt" "$P/dev-old.crt" 2>&1)" 'certificate has expired' \
     "expired certificate: signed by the CA, rejected for its dates only"
openssl verify -CAfile "$P/ca.crt" "$P/dev-1-wrongca.crt" >/dev/null 2>&1
is "$?" 2 "wrong-CA certificate does not verify against the test CA"

# pki_sign_csr: a CSR made elsewhere (here by openssl; in the agent tests by mbedtls), PEM and DER
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$P/dev-csr.key" 2>/dev/null
chmod 600 "$P/dev-csr.key"
openssl req -new -key "$P/dev-csr.key" -subj "/O=s-1/CN=dev-csr" -out "$TMP/dev-csr.csr" \
    -config "$P/openssl.cnf" 2>/dev/null
pki_sign_csr "$P" "$TMP/dev-csr.csr" "$P/dev-csr.crt" &&
    openssl verify -CAfile "$P/ca.crt" "$P/dev-csr.crt" >/dev/null
ok $? "pki_sign_csr: PEM CSR signed by the CA"
is "$(openssl x509 -in "$P/dev-csr.crt" -noout -subject -nameopt RFC2253)" "subject=CN=dev-csr,O=s-1" \
   "pki_sign_csr copies the CSR's subject"
openssl req -in "$TMP/dev-csr.csr" -outform DER -out "$TMP/dev-csr.der" 2>/dev/null
pki_sign_csr "$P" "$TMP/dev-csr.der" "$TMP/dev-csr-der.crt" &&
    openssl verify -CAfile "$P/ca.crt" "$TMP/dev-csr-der.crt" >/dev/null
ok $? "pki_sign_csr: DER CSR signed by the CA"

# --- broker -------------------------------------------------------------------
acl_device "$P" s-1 dev-1
acl_device "$P" s-1 dev-csr
# log_type all: the denials ("Denied PUBLISH") are logged at debug level
BROKER_LOG_TYPES=all
export BROKER_LOG_TYPES
broker_start "$P"
ok $? "broker_start"
unset BROKER_LOG_TYPES
like "$BROKER_PORT" '^[0-9]+$' "BROKER_PORT is set ($BROKER_PORT)"
kill -0 "$BROKER_PID" 2>/dev/null
ok $? "BROKER_PID $BROKER_PID is running"
is "$(listen_addrs "$BROKER_PORT")" "0100007F" "the broker listens on 127.0.0.1 only"
diag "broker: mosquitto $(mosquitto -h 2>/dev/null | sed -n '1s/.*version //p') on 127.0.0.1:$BROKER_PORT"

HUB=$(broker_client_opts "$P" hub)
DEV1=$(broker_client_opts "$P" dev-1)
DEVCSR=$(broker_client_opts "$P" dev-csr)
WRONG="-V mqttv5 --cafile $P/ca.crt --cert $P/dev-1-wrongca.crt --key $P/dev-1-wrongca.key -h localhost -p $BROKER_PORT"
OLD="-V mqttv5 --cafile $P/ca.crt --cert $P/dev-old.crt --key $P/dev-old.key -h localhost -p $BROKER_PORT"
LOG=$BROKER_LOG

# (1)+(2) journal: the hub's shared subscription gets dev-1's own journal, not a forged one
# shellcheck disable=SC2086,SC2016
timeout 15 mosquitto_sub $HUB -i t90-hub -q 1 -t '$share/hub/storelink/v1/+/+/journal' \
    -C 3 -W 10 -F '%t %p' > "$TMP/hub.out" 2> "$TMP/hub.err" &
HUBSUB=$!; SUBS="$SUBS $HUBSUB"
# shellcheck disable=SC2016
broker_wait_grep "$LOG" ' t90-hub 1 \$share/hub/storelink/v1/\+/\+/journal$'
ok $? "hub subscribed to \$share/hub/storelink/v1/+/+/journal"
# shellcheck disable=SC2086
timeout 10 mosquitto_pub $DEV1 -i dev-1 -q 1 -t storelink/v1/s-1/dev-1/journal -m j1 2> "$TMP/pub.err"
ok $? "dev-1 publishes to storelink/v1/s-1/dev-1/journal"
# shellcheck disable=SC2086
timeout 10 mosquitto_pub $DEV1 -d -i dev-1 -q 1 -t storelink/v1/s-1/dev-2/journal -m forged \
    > "$TMP/forged.out" 2>&1
diag "dev-1 -> storelink/v1/s-1/dev-2/journal: mosquitto_pub exit $?, printed:"
show "$TMP/forged.out"
like "$(cat "$TMP/forged.out")" 'received PUBACK \(Mid: 1, RC:135\)' "the broker answers PUBACK reason 0x87 (135)"
like "$(cat "$TMP/forged.out")" 'Publish 1 failed: Not authorized' "mosquitto_pub reports 'Not authorized'"
# shellcheck disable=SC2086
timeout 10 mosquitto_pub $DEVCSR -i dev-csr -q 1 -t storelink/v1/s-1/dev-csr/journal -m j2
ok $? "dev-csr (certificate from pki_sign_csr) publishes to its own journal"
# shellcheck disable=SC2086
timeout 10 mosquitto_pub $DEV1 -i dev-1 -q 1 -t storelink/v1/s-1/dev-1/journal -m j3
wait "$HUBSUB"
is "$?" 0 "hub subscriber got its 3 messages"
is "$(cat "$TMP/hub.out")" "storelink/v1/s-1/dev-1/journal j1
storelink/v1/s-1/dev-csr/journal j2
storelink/v1/s-1/dev-1/journal j3" "hub received j1, j2, j3 in order (dev-1's own journal, dev-csr's)"
unlike "$(cat "$TMP/hub.out")" 'dev-2|forged' "the forged dev-2 journal message was not delivered"
like "$(cat "$LOG")" "Denied PUBLISH from dev-1 .*'storelink/v1/s-1/dev-2/journal'" "broker log: Denied PUBLISH"

# (3) prices: dev-1 reads its store's and the chain-wide prices, its own acks, nothing else
# shellcheck disable=SC2086
timeout 15 mosquitto_sub $DEV1 -d -i t90-dev1 -q 1 -C 3 -W 10 -F '%t %p' \
    -t storelink/v1/s-2/prices -t storelink/v1/s-1/dev-2/ack \
    -t storelink/v1/s-1/prices -t storelink/v1/all/prices -t storelink/v1/s-1/dev-1/ack \
    > "$TMP/dev1.out" 2> "$TMP/dev1.err" &
DEVSUB=$!; SUBS="$SUBS $DEVSUB"
broker_wait_grep "$LOG" ' t90-dev1 1 storelink/v1/s-1/dev-1/ack$'
ok $? "dev-1 subscribed to five topics"
for tm in s-2/prices:p-s2 s-1/dev-2/ack:a-dev2 s-1/prices:p-s1 all/prices:p-all s-1/dev-1/ack:a-dev1; do
    # shellcheck disable=SC2086
    timeout 10 mosquitto_pub $HUB -i t90-hubpub -q 1 -t "storelink/v1/${tm%%:*}" -m "${tm#*:}" \
        2>> "$TMP/hubpub.err"
done
wait "$DEVSUB"
is "$?" 0 "dev-1 subscriber got its 3 messages"
is "$(mqtt_lines "$TMP/dev1.out")" "storelink/v1/s-1/prices p-s1
storelink/v1/all/prices p-all
storelink/v1/s-1/dev-1/ack a-dev1" "dev-1 received s-1/prices, all/prices and its own ack, in order"
unlike "$(mqtt_lines "$TMP/dev1.out")" 's-2|dev-2' "dev-1 received nothing for store s-2 or device dev-2"
diag "dev-1's SUBACK: $(grep '^Subscribed' "$TMP/dev1.out")"
like "$(grep '^Subscribed' "$TMP/dev1.out")" '^Subscribed \(mid: 1\): 1, 1, 1, 1, 1$' \
     "acl_file grants every SUBSCRIBE (v5 SUBACK 1, not 0x87): the ACL filters on delivery"
# shellcheck disable=SC2086
timeout 10 mosquitto_pub $DEV1 -d -i dev-1 -q 1 -t storelink/v1/s-1/prices -m fake > "$TMP/fake.out" 2>&1
like "$(cat "$TMP/fake.out")" 'RC:135' "dev-1 may not publish prices (0x87)"

# (4) wrong CA, (5) expired: the TLS handshake fails, the broker logs why
n=$(count_in "$LOG" 'certificate verify failed')
# shellcheck disable=SC2086
out=$(timeout 10 mosquitto_pub $WRONG -i dev-1 -q 1 -t storelink/v1/s-1/dev-1/journal -m x 2>&1)
rc=$?
diag "wrong-CA client: exit $rc: $out"
[ "$rc" -ne 0 ]
ok $? "a certificate from another CA cannot connect"
wait_count "$LOG" 'certificate verify failed' "$n"
ok $? "broker log: certificate verify failed (wrong CA)"
n=$(count_in "$LOG" 'certificate verify failed')
# shellcheck disable=SC2086
out=$(timeout 10 mosquitto_pub $OLD -i dev-old -q 1 -t storelink/v1/s-1/dev-old/journal -m x 2>&1)
rc=$?
diag "expired client: exit $rc: $out"
[ "$rc" -ne 0 ]
ok $? "an expired certificate cannot connect"
wait_count "$LOG" 'certificate verify failed' "$n"
ok $? "broker log: certificate verify failed (expired)"

# (6) by IP: the server certificate's SAN IP:127.0.0.1 verifies too (status topic round trip)
HUBIP=$(echo "$HUB" | sed 's/ -h localhost / -h 127.0.0.1 /')
DEV1IP=$(echo "$DEV1" | sed 's/ -h localhost / -h 127.0.0.1 /')
# shellcheck disable=SC2086
timeout 15 mosquitto_sub $HUBIP -i t90-hubip -q 1 -t 'storelink/v1/+/+/status' -C 1 -W 10 -F '%t %p' \
    > "$TMP/ip.out" 2> "$TMP/ip.err" &
IPSUB=$!; SUBS="$SUBS $IPSUB"
broker_wait_grep "$LOG" ' t90-hubip 1 storelink/v1/\+/\+/status$'
ok $? "hub connected to 127.0.0.1 by IP and subscribed"
# shellcheck disable=SC2086
timeout 10 mosquitto_pub $DEV1IP -i dev-1 -q 1 -t storelink/v1/s-1/dev-1/status -m up
ok $? "dev-1 connects to 127.0.0.1 by IP"
wait "$IPSUB"
is "$(cat "$TMP/ip.out")" "storelink/v1/s-1/dev-1/status up" "hub received dev-1's status"
[ -s "$TMP/ip.err" ] && show "$TMP/ip.err"

# --- stop ---------------------------------------------------------------------
pid=$BROKER_PID
port=$BROKER_PORT
broker_stop
ok $? "broker_stop"
kill -0 "$pid" 2>/dev/null
is "$?" 1 "broker pid $pid is gone"
is "$(listen_addrs "$port")" "" "port $port no longer listening"

# --- options, broker_kill, restart on the same port ----------------------------
BROKER_PERSIST=1 BROKER_MSG_LIMIT=1024 BROKER_EXTRA_CONF="autosave_interval 3600"
export BROKER_PERSIST BROKER_MSG_LIMIT BROKER_EXTRA_CONF
broker_start "$P"
ok $? "broker_start with BROKER_PERSIST, BROKER_MSG_LIMIT, BROKER_EXTRA_CONF"
conf=$(cat "$P/mosquitto.conf")
like "$conf" "persistence true" "conf: persistence true"
like "$conf" "persistence_location $P/" "conf: persistence_location DIR/"
like "$conf" "message_size_limit 1024" "conf: message_size_limit"
like "$conf" "autosave_interval 3600" "conf: extra lines appended"
big=$(awk 'BEGIN { while (i++ < 2000) printf "x" }')
# shellcheck disable=SC2046
timeout 10 mosquitto_pub $(broker_client_opts "$P" dev-1) -d -i dev-1 -q 1 \
    -t storelink/v1/s-1/dev-1/journal -m "$big" > "$TMP/big.out" 2>&1
diag "2000-byte publish over message_size_limit 1024: $(grep -E 'PUBACK|failed|Error' "$TMP/big.out" | paste -sd '|' -)"
like "$(cat "$TMP/big.out")" 'RC:149' "over message_size_limit: PUBACK reason 0x95 (149)"
pid=$BROKER_PID
port=$BROKER_PORT
broker_kill
kill -0 "$pid" 2>/dev/null
is "$?" 1 "broker_kill: pid $pid is gone"
unset BROKER_PERSIST BROKER_MSG_LIMIT BROKER_EXTRA_CONF
broker_start "$P" "$port" && [ "$BROKER_PORT" = "$port" ]
ok $? "broker_start DIR PORT restarts on the same port"

# --- client-id takeover (docs/BROKER.md) -----------------------------------------
# dev-2 holds a persistent session; dev-1's valid certificate then connects with client id dev-2.
pki_device "$P" dev-2 s-1
# takeover DESCRIPTION-PREFIX: run the scenario, leave what the broker logged in $TMP/takeover.log
takeover() {
    _off=$(wc -c < "$BROKER_LOG" | tr -d ' ')
    # shellcheck disable=SC2046
    timeout 15 mosquitto_sub $(broker_client_opts "$P" dev-2) -i dev-2 -c -x 600 -q 1 \
        -t storelink/v1/s-1/dev-2/ack -W 10 > /dev/null 2>&1 &
    _sp=$!; SUBS="$SUBS $_sp"
    broker_wait_grep "$BROKER_LOG" ' dev-2 1 storelink/v1/s-1/dev-2/ack$'
    ok $? "$1: dev-2 holds a session"
    # shellcheck disable=SC2046
    timeout 10 mosquitto_pub $(broker_client_opts "$P" dev-1) -i dev-2 -q 1 \
        -t storelink/v1/s-1/dev-1/journal -m takeover > /dev/null 2>&1
    kill "$_sp" 2>/dev/null; wait "$_sp" 2>/dev/null
    tail -c +$((_off + 1)) "$BROKER_LOG" | grep -E 'New client connected|already connected' |
        sed 's/^[^ ]* //' > "$TMP/takeover.log"
    show "$TMP/takeover.log"
}
takeover "default config"
like "$(cat "$TMP/takeover.log")" "Client dev-2 already connected, closing old connection" \
     "default config: dev-1's certificate with client id dev-2 kicks dev-2 off"
like "$(cat "$TMP/takeover.log")" "as dev-2 \\(p5, c1, k60, u'dev-1'\\)" \
     "default config: the broker accepts client id dev-2 for certificate CN dev-1"
broker_stop
BROKER_EXTRA_CONF="use_username_as_clientid true"
export BROKER_EXTRA_CONF
broker_start "$P"
ok $? "broker_start with use_username_as_clientid true"
unset BROKER_EXTRA_CONF
takeover "use_username_as_clientid"
like "$(cat "$TMP/takeover.log")" "as dev-1 \\(p5, c1, k60, u'dev-1'\\)" \
     "use_username_as_clientid: the client id becomes the certificate CN (dev-1)"
unlike "$(cat "$TMP/takeover.log")" "already connected" "use_username_as_clientid: dev-2's session is left alone"

pid=$BROKER_PID
broker_stop && ! kill -0 "$pid" 2>/dev/null
ok $? "last broker stopped"

done_testing
