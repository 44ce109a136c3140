#!/bin/sh
# mTLS refusals the agent must explain and survive: a device certificate not
# valid yet (a till whose clock is wrong, or a certificate issued ahead), a
# broker whose certificate names another host, and a device certificate that
# is missing.  Each time: nothing is sent or retired, and `storelink status`
# says why in plain words.  (Wrong CA and expired certificates are in
# tests/cli/92-sync-security.t.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'agent_kill dev-1; agent_kill dev-fut; broker_stop; rm -rf "$TMP"' EXIT
plan 8

sync_setup
ok $? "broker with mutual TLS on 127.0.0.1:$BROKER_PORT"
port=$BROKER_PORT

# 1. not yet valid
pki_device_dated "$TMP/pki" dev-fut s-1 20300101000000Z 20310101000000Z
acl_device "$TMP/pki" s-1 dev-fut
broker_stop; broker_start "$TMP/pki" "$port"
agent_conf dev-fut
gen_sales F 1 5 | ag dev-fut record > /dev/null
agent_start dev-fut
wait_for 15 'ag dev-fut status 2>&1 | grep -q "not valid before 2030-01-01"'
ok $? "not-yet-valid certificate: status says 'not valid before 2030-01-01: check the clock'"
is "$(acked dev-fut)" 0 "not-yet-valid certificate: nothing retired"
agent_stop dev-fut

# 2. the broker's certificate names another host
cat >> "$TMP/pki/openssl.cnf" <<'EOC'

[ server_other_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:mqtt.other.example
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
EOC
cp "$TMP/pki/server.crt" "$TMP/pki/server.crt.good"; cp "$TMP/pki/server.key" "$TMP/pki/server.key.good"
_pki_issue "$TMP/pki" ca "/CN=mqtt.other.example" server_other_ext 30 "$TMP/pki/server"
broker_stop; broker_start "$TMP/pki" "$port"
agent_conf dev-1
gen_sales H 1 5 | ag dev-1 record > /dev/null
agent_start dev-1
wait_for 15 'ag dev-1 status --json 2>&1 | grep -q "\"state\":\"offline\"" && ag dev-1 status 2>&1 | grep -qi "certificate\|TLS"'
ok $? "broker certificate for another host: the agent does not connect"
st=$(ag dev-1 status 2>&1)
like "$st" "TLS|certificate|hostname|verif" "status names the TLS verification failure"
diag "$(printf '%s\n' "$st" | grep -m1 'last error')"
is "$(acked dev-1)" 0 "hostname mismatch: nothing retired"
agent_stop dev-1
mv "$TMP/pki/server.crt.good" "$TMP/pki/server.crt"; mv "$TMP/pki/server.key.good" "$TMP/pki/server.key"
broker_stop; broker_start "$TMP/pki" "$port"

# 3. the device certificate is missing
agent_conf dev-1
sed -i "s|^cert_file = .*|cert_file = $TMP/pki/nonexistent.crt|" "$TMP/dev-1.conf"
out=$(timeout 10 "$SL_BIN" --config "$TMP/dev-1.conf" run 2>&1)
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]
ok $? "missing certificate: storelink run refuses to start (exit $rc)"
like "$out" "nonexistent.crt" "the message names the missing file"
[ "$_tap_fail" -eq 0 ] && res=PASS || res=FAIL
report "mTLS: not yet valid, wrong host, missing cert" 3 10 0 0 "$res"
done_testing
