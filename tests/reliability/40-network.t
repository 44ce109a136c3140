#!/bin/sh
# Network faults between agent and broker, made by tests/reliability/faultproxy
# (netem and toxiproxy are not available): connections dropped mid-PUBLISH,
# writes sliced into single bytes, latency, a throttled link, refused
# connections, and a black hole (half-open: no FIN, no RST).  Pass: every
# record reaches the hub once and in order, the black hole is noticed within
# 1.5 x keepalive, reconnects back off with jitter, memory stays bounded.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'agent_kill dev-1; hub_kill hub-a; [ -n "${PROXY_PID:-}" ] && kill $PROXY_PID 2>/dev/null; broker_stop; rm -rf "$TMP"' EXIT
plan 15
drops=$(scale 10 40)

sync_setup
ok $? "broker with mutual TLS on 127.0.0.1:$BROKER_PORT"
echo pass > "$TMP/ctl"
"$REL_BUILD/faultproxy" 0 "$BROKER_PORT" "$TMP/ctl" > "$TMP/proxy.out" 2> "$TMP/proxy.err" &
PROXY_PID=$!
wait_for 5 'grep -q listening "$TMP/proxy.out"'
PPORT=$(sed -n 's/^listening //p' "$TMP/proxy.out")
hub_conf hub-a
agent_conf dev-1 "batch_max_records = 20
max_inflight = 2
keepalive = 6"
sed -i "s/^broker_port = .*/broker_port = $PPORT/" "$TMP/dev-1.conf"
hub_start hub-a
ok $? "hub running; agent goes through the proxy on port $PPORT"

rss() { sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$AGENT_PID_dev_1/status" 2>/dev/null || echo 0; }
n=0
rec() {  # rec COUNT: COUNT more sales
    gen_sales "N" $((n + 1)) $((n + $1)) > "$TMP/s.jsonl"
    ag dev-1 record --file "$TMP/s.jsonl" > /dev/null && n=$((n + $1))
}

# 1. dropped connections in the middle of a drain
rec 3000
agent_start dev-1
wait_for 20 '[ "$(acked dev-1)" -gt 0 ]'
rss0=$(rss)
i=0
while [ $i -lt "$drops" ]; do
    sleep 0.4; echo drop > "$TMP/ctl"; sleep 0.05; echo pass > "$TMP/ctl"
    i=$((i + 1))
done
wait_for 120 '[ "$(acked dev-1)" = $n ]'
ok $? "$drops dropped connections mid-drain: all $n acknowledged"
reconn=$(grep -c 'connected to' "$TMP/dev-1.log")
[ "$reconn" -ge 3 ]
ok $? "the drops hit live connections: agent connected $reconn times"

# 2. single-byte writes, 3. latency, 4. throttled link
echo slice > "$TMP/ctl"
rec 200
wait_for 90 '[ "$(acked dev-1)" = $n ]'
ok $? "1-byte slices: all $n acknowledged"
echo "latency 300" > "$TMP/ctl"
rec 200
wait_for 60 '[ "$(acked dev-1)" = $n ]'
ok $? "300 ms latency each way: all $n acknowledged"
echo "throttle 4000" > "$TMP/ctl"
rec 300
wait_for 90 '[ "$(acked dev-1)" = $n ]'
ok $? "4 kB/s link: all $n acknowledged"
echo pass > "$TMP/ctl"

# an idle, healthy link must not be mistaken for a dead one
lost0=$(grep -c "connection lost" "$TMP/dev-1.log")
sleep 20
is "$(grep -c "connection lost" "$TMP/dev-1.log")" "$lost0" "idle for 20 s (3 x keepalive) on a healthy link: no false 'connection lost'"

# 5. a black hole: nothing passes, nothing closes.  The clock starts at the
# last byte the proxy delivered to the agent (the silence the agent can
# see), and the agent's live view (control socket, no daemon.json lag) is
# polled every 0.2 s: allow 1.5 x keepalive plus that polling.
echo blackhole > "$TMP/ctl"
t0=$(date +%s%N)
rec 20
wait_for 5 'grep -q "^silent since" "$TMP/proxy.out"'
wait_for 30 '! ag dev-1 status --json | grep -q "\"state\":\"connected\""'
t1=$(date +%s%N)
silent=$(sed -n 's/^silent since //p' "$TMP/proxy.out" | tail -1)
ms=$(( t1 / 1000000 - silent ))
diag "black hole noticed $ms ms after the last byte from the broker, $(( (t1 - t0) / 1000000 )) ms after it began (keepalive 6 s)"
[ "$ms" -le 9500 ] && [ "$ms" -ge 8500 ]
ok $? "black hole noticed after 1.5 x keepalive of silence ($ms ms; 9000 expected, 0.5 s polling slack)"
# 6. refused connections: backoff grows, with jitter
echo refuse > "$TMP/ctl"
echo drop > "$TMP/ctl.tmp"; mv "$TMP/ctl.tmp" "$TMP/ctl"; sleep 0.2; echo refuse > "$TMP/ctl"
sleep 12
echo pass > "$TMP/ctl"
wait_for 90 '[ "$(acked dev-1)" = $n ]'
ok $? "after the black hole and refused connections: all $n acknowledged"
rss1=$(rss)
diag "agent RSS ${rss0} kB at the start, ${rss1} kB at the end"
[ "${rss1:-0}" -gt 0 ] && [ "$rss1" -lt $((rss0 + 8192)) ]
ok $? "memory bounded: RSS grew by less than 8 MiB ($rss0 -> $rss1 kB)"

"$HUB_BIN" --config "$TMP/hub-a.conf" export --format jsonl --device dev-1 > "$TMP/hub.jsonl"
sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$TMP/hub.jsonl" > "$TMP/seqs"
is "$(sort -n "$TMP/seqs" | uniq | wc -l | tr -d ' ')" "$n" "the hub holds seq 1..$n"
is "$(wc -l < "$TMP/seqs" | tr -d ' ')" "$n" "none twice"
sort -n -c "$TMP/seqs" 2>/dev/null
ok $? "stored in sequence order"
ag dev-1 journal verify > /dev/null
ok $? "journal intact"
[ "$_tap_fail" -eq 0 ] && res=PASS || res=FAIL
report "network faults via proxy" "$drops" "$n" "$((n - $(sort -n "$TMP/seqs" | uniq | wc -l)))" "$(( $(wc -l < "$TMP/seqs") - $(sort -n "$TMP/seqs" | uniq | wc -l) ))" "$res"
done_testing
