#!/bin/sh
# Security and refusal paths through the real broker and hub: nothing is
# lost, nothing is retired, and `storelink status` says why.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'agent_kill dev-1; agent_kill dev-2; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
plan 20

sync_setup
ok $? "broker started"
pki_device_expired "$TMP/pki" dev-old s-1 >/dev/null
pki_wrong_ca "$TMP/pki" dev-1 s-1 >/dev/null
hub_conf hub-a "currencies = EUR"
hub_start hub-a
ok $? "hub running (accepts EUR only)"

status_err() { ag "$1" status --json | sed -n 's/.*"last_error":"\([^"]*\)".*/\1/p'; }

# 1. A device that publishes to another device's topic: dev-1's certificate
#    configured as dev-2.  The ACL (%u = certificate CN) refuses it with
#    PUBACK 0x87; the records stay, nothing is retired.
agent_conf dev-2 "batch_max_records = 10"
sed -i "s|$TMP/pki/dev-2.key|$TMP/pki/dev-1.key|; s|$TMP/pki/dev-2.crt|$TMP/pki/dev-1.crt|" "$TMP/dev-2.conf"
gen_sales X 1 25 | ag dev-2 record > /dev/null
agent_start dev-2
wait_for 15 '[ -n "$(status_err dev-2 | grep "not authorized")" ]'
ok $? "publishing to another device's topic: status says not authorized"
like "$(status_err dev-2)" "0x87" "the PUBACK reason code is shown"
is "$(acked dev-2)" 0 "nothing retired after a refused PUBACK"
is "$(hub_count --device dev-2)" 0 "the hub received nothing for dev-2"
like "$(ag dev-2 status; echo "exit=$?")" "backlog +25 unacknowledged" "status shows the 25 records still waiting"
agent_stop dev-2
is "$(ag dev-2 journal list --json | wc -l | tr -d ' ')" 25 "all 25 records are still in the journal"

# 2. Wrong CA: the broker's certificate is not trusted
agent_conf dev-1 "batch_max_records = 10"
sed -i "s|^ca_file = .*|ca_file = $TMP/pki/wrongca.crt|" "$TMP/dev-1.conf"
gen_sales Y 1 5 | ag dev-1 record > /dev/null
agent_start dev-1
wait_for 15 '[ -n "$(status_err dev-1)" ]'
like "$(status_err dev-1)" "TLS" "wrong CA: status names the TLS failure"
like "$(ag dev-1 status --json)" '"state":"(offline|connecting)"' "wrong CA: not connected"
agent_stop dev-1

# 3. Expired device certificate: the broker refuses the handshake
agent_conf dev-old
gen_sales Z 1 5 | ag dev-old record > /dev/null
agent_start dev-old
wait_for 15 '[ -n "$(status_err dev-old)" ]'
ok $? "expired certificate: status reports an error"
like "$(status_err dev-old)" "device certificate expired on 2021-01-01" "expired certificate: status names the expiry date"
diag "expired certificate: $(status_err dev-old)"
is "$(acked dev-old)" 0 "expired certificate: nothing retired"
agent_stop dev-old

# 4. Dead letters: the hub rejects a GBP sale (it accepts EUR only).
#    retention_days = 0: retired records go as soon as they are acked, but
#    never a dead letter.  auto_close = no and no close by hand: a device
#    that does not use day closes (tests/cli/86-retention.t has one that does).
agent_conf dev-1 "batch_max_records = 10
[journal]
retention_days = 0
[day]
auto_close = no"
gen_sales G 1 1 GBP | ag dev-1 record > /dev/null
agent_start dev-1
wait_for 20 '[ "$(acked dev-1)" = 6 ]'
ok $? "all 6 of dev-1's records acknowledged (the rejected one too)"
like "$(ag dev-1 status --json)" '"dead_letters":1' "the rejected record is a dead letter on the device"
like "$(ag dev-1 status; echo "exit=$?")" "exit=1" "status exits 1 (degraded) with a dead letter"
wait_for 10 '[ "$(ag dev-1 journal list --json | wc -l)" -eq 1 ]'
ok $? "retention 0: the 5 retired records were pruned, the dead letter kept"
like "$(ag dev-1 journal list --json)" '"seq":6,.*"currency":"GBP"' "the kept record is the rejected GBP sale"
ag dev-1 journal verify > /dev/null
ok $? "the pruned journal still verifies from its anchor"
agent_stop dev-1
is "$?" 0 "agent stopped cleanly"
done_testing
