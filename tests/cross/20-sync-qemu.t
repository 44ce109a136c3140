#!/bin/sh
# The cross-built agent under qemu-user syncs with the host: mutual TLS to the
# native mosquitto broker, the native hub stores the backlog, and every record
# is acknowledged exactly once (the acks on the device's ack topic cover
# 1..N without overlap; the hub holds each seq once, chained to the device).
# Env (make cross-test): SL_TARGET, SL_REAL_BUILD, SL_BIN (the qemu wrapper),
# SL_HUB_BIN (the native hub).
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'kill "$SUB_PID" 2>/dev/null; agent_kill dev-1; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
SUB_PID=
N=500
plan 13

if [ -z "${SL_TARGET:-}" ] || [ -z "${SL_REAL_BUILD:-}" ]; then
    echo "Bail out! run through make cross-test (SL_TARGET, SL_REAL_BUILD unset)"
    exit 1
fi
case "$SL_TARGET" in armhf) qemu="qemu-arm" ;; arm64) qemu="qemu-aarch64" ;; esac

sync_setup
ok $? "native mosquitto with mutual TLS on 127.0.0.1:$BROKER_PORT"
hub_conf hub-a
# ack_timeout well above emulation's delays: a resend here would be a real one
agent_conf dev-1 "batch_max_records = 50
max_inflight = 4
ack_timeout = 60"

gen_sales Q 1 $N > "$TMP/sales.jsonl"
ag dev-1 record --file "$TMP/sales.jsonl" > /dev/null
ok $? "$N sales recorded offline by the $SL_TARGET agent"
hub_start hub-a
ok $? "native hub running ($(file -b "$HUB_BIN" | cut -d, -f2 | sed 's/^ //'))"

# every ack the hub sends to dev-1, as hex (client id of its own, dev-1's
# certificate: the ACL lets dev-1 read its ack topic)
# shellcheck disable=SC2046
stdbuf -oL mosquitto_sub $(broker_client_opts "$TMP/pki" dev-1) -i t-acks -q 1 \
    -t storelink/v1/s-1/dev-1/ack -F '%x' > "$TMP/acks.hex" 2> "$TMP/acks.err" &
SUB_PID=$!
broker_wait_grep "$BROKER_LOG" 't-acks 1 storelink/v1/s-1/dev-1/ack' 10
ok $? "ack listener subscribed"

agent_start dev-1
pid=$(eval "echo \$$(_pidvar AGENT_PID dev-1)")
wait_for 10 "readlink /proc/$pid/exe | grep -q '/$qemu\$'"
like "$(readlink "/proc/$pid/exe")" "/$qemu\$" "the running agent is $qemu"
like "$(tr '\0' ' ' < "/proc/$pid/cmdline")" "$SL_REAL_BUILD/storelink " "running $SL_REAL_BUILD/storelink"
broker_wait_grep "$BROKER_LOG" 'as dev-1 .*u.dev-1' 30
ok $? "the broker authenticated dev-1 by its client certificate (TLS)"

t0=$(date +%s)
wait_for 180 "[ \"\$(acked dev-1)\" = $N ]"
ok $? "the agent reports all $N acknowledged"
diag "drain of $N records under $qemu: $(( $(date +%s) - t0 )) s"
is "$(hub_count)" $N "hub stored $N records"
"$HUB_BIN" --config "$TMP/hub-a.conf" export --format jsonl > "$TMP/export.jsonl"
is "$(sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$TMP/export.jsonl" | sort -n | uniq | awk 'NR == $1 {n++} END {print n + 0}')" $N \
    "the hub holds seq 1..$N, each once"
last_hub=$(sed -n "s/.*\"seq\":$N,.*\"hash\":\"\\([0-9a-f]*\\)\".*/\\1/p" "$TMP/export.jsonl")
last_dev=$(ag dev-1 journal verify --json | sed -n 's/.*"tail_hash":"\([0-9a-f]*\)".*/\1/p')
is "$last_hub" "$last_dev" "the hub's hash of seq $N equals the $SL_TARGET device's chain tail"

agent_stop dev-1
is "$?" 0 "agent under $qemu stops cleanly on SIGTERM (exit 0)"
sleep 0.5
kill "$SUB_PID" 2>/dev/null
wait "$SUB_PID" 2>/dev/null
SUB_PID=

# acked_through of each ack: the CBOR map's first entry, key 1 (a1..a5 01 <uint>)
acks=$(awk '{
    h = tolower($0)
    if (substr(h, 3, 2) != "01") { print "bad:" h; next }
    t = substr(h, 5, 2); v = 0
    if (t < "18") v = index("0123456789abcdef", substr(t, 1, 1)) * 16 - 16 + index("0123456789abcdef", substr(t, 2, 1)) - 1
    else {
        n = (t == "18") ? 1 : (t == "19") ? 2 : (t == "1a") ? 4 : 8
        for (i = 0; i < 2 * n; i++) v = v * 16 + index("0123456789abcdef", substr(h, 7 + i, 1)) - 1
    }
    print v
}' "$TMP/acks.hex" | tr '\n' ' ')
diag "acked_through of each ack: $acks"
# strictly increasing and ending at N: no range acknowledged twice, none left out
# shellcheck disable=SC2086
is "$(printf '%s\n' $acks | awk -v n=$N 'BEGIN {p = 0; bad = 0}
    { if ($1 !~ /^[0-9]+$/ || $1 <= p) bad++; p = $1 }
    END { print (bad == 0 && p == n) ? "once" : "bad (" bad " out of order, last " p ")" }')" once \
    "the hub's acks cover 1..$N, each record acknowledged once"
done_testing
