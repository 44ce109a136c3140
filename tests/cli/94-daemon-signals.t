#!/bin/sh
# The daemon's signals: SIGHUP applies new batch limits and names settings
# that need a restart; SIGTERM publishes the retained "offline" status
# itself, exits 0, and status then says the daemon is not running.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'agent_kill dev-1; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
plan 11

sync_setup
ok $? "broker started"
hub_conf hub-a
hub_start hub-a
agent_conf dev-1 "batch_max_records = 100"
agent_start dev-1
wait_for 10 'ag dev-1 status --json | grep -q "\"state\":\"connected\""'
ok $? "agent connected"

sed -i 's/batch_max_records = 100/batch_max_records = 7/; s/^broker_port = .*/broker_port = 1/' \
    "$TMP/dev-1.conf"
printf 'keepalive = 45\n[status]\nstatus_interval = 7\n' >> "$TMP/dev-1.conf"
kill -HUP "$AGENT_PID_dev_1"
wait_for 5 'grep -q "configuration reloaded" "$TMP/dev-1.log"'
ok $? "SIGHUP: configuration reloaded"
like "$(cat "$TMP/dev-1.log")" "reload: broker changed: restart storelink to apply it" \
    "SIGHUP: a changed broker port is named as needing a restart"
like "$(cat "$TMP/dev-1.log")" "reload: keepalive changed: restart storelink to apply it" \
    "SIGHUP: a changed keepalive is named too"
wait_for 5 'grep -q "\"status_interval\":7" "$TMP/dev-1/daemon.json"'
ok $? "SIGHUP: the new status_interval (7 s) applies without a restart"
gen_sales H 1 20 | ag dev-1 record > /dev/null
wait_for 15 '[ "$(acked dev-1)" = 20 ]'
ok $? "still connected to the old broker: 20 records acknowledged"
like "$(cat "$TMP/hub-a.log")" "seq 1-7:" "the new batch limit (7) is in force"

# a subscriber sees the retained status after the daemon stopped
agent_stop dev-1
is "$?" 0 "SIGTERM: exit 0"
# shellcheck disable=SC2046
st=$(timeout 10 mosquitto_sub $(broker_client_opts "$TMP/pki" hub) -t 'storelink/v1/s-1/dev-1/status' -C 1 -W 5 | od -An -c | tr -d ' \n')
like "$st" "offline" "retained status after SIGTERM is offline"
like "$(ag dev-1 status)" "daemon +not running" "status: daemon not running"
done_testing
