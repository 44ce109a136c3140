#!/bin/sh
# The fleet view: devices publish their status (docs/PROTOCOL.md "Status"),
# the hub keeps the latest per device and `storelink-hub devices` lists the
# fleet worst first.  dev-1 syncs and is healthy; dev-2 holds a backlog whose
# oldest record is two hours old and that cannot leave: its first record is
# larger than the broker's message_size_limit (the broker refuses the batch
# with 0x95, the small status still gets through), so the backlog is real
# whatever else the daemon publishes.  Then a clean stop (dev-1) and a kill
# (dev-2, the last will) turn each offline.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap 'agent_kill dev-1; agent_kill dev-2; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
plan 24

BROKER_MSG_LIMIT=4096 sync_setup
ok $? "broker with mutual TLS and a 4 KiB message limit on 127.0.0.1:$BROKER_PORT"
hub_conf hub-a
agent_conf dev-1
agent_conf dev-2 "compress = 0"
hub() { "$HUB_BIN" --config "$TMP/hub-a.conf" "$@"; }
# field DEVICE KEY: one field of DEVICE's object in `devices --json` ("None" for null)
field() {
    hub devices --json | python3 -c '
import json, sys
for d in json.load(sys.stdin):
    if d["device"] == sys.argv[1]:
        print(d[sys.argv[2]])' "$1" "$2"
}

hub_start hub-a
ok $? "hub running"
gen_sales F 1 3 > "$TMP/small.jsonl"
ag dev-1 record --file "$TMP/small.jsonl" > /dev/null
agent_start dev-1
wait_for 60 '[ "$(acked dev-1)" = 3 ]'
ok $? "dev-1 synced its 3 sales"

# dev-2: a 200-line sale made two hours ago (about 7 KiB uncompressed), then
# a small one stuck behind it
old_ts=$(( $(date +%s) * 1000 - 7200 * 1000 ))
awk -v ts="$old_ts" 'BEGIN {
    printf "{\"kind\":\"sale\",\"txn_id\":\"BIG-1\",\"ts\":%s,\"currency\":\"EUR\",\"lines\":[", ts
    s = 0
    for (i = 1; i <= 200; i++) {
        printf "%s{\"sku\":\"LONG-SKU-NUMBER-%05d-%d\",\"qty\":1,\"unit_price\":%d,\"tax\":0}", \
            (i > 1 ? "," : ""), i, i * 7919, 100 + i
        s += 100 + i
    }
    printf "],\"tenders\":[{\"method\":\"card\",\"amount\":%d}]}\n", s
}' > "$TMP/big.jsonl"
ag dev-2 record --file "$TMP/big.jsonl" > /dev/null && gen_sales G 1 1 | ag dev-2 record > /dev/null
ok $? "dev-2 recorded a large sale from two hours ago and a small one"
agent_start dev-2
wait_for 60 '[ "$(field dev-2 backlog 2>/dev/null)" = 2 ]'
ok $? "the hub has dev-2's status with a backlog of 2"
wait_for 30 "grep -q 'packet too large' '$TMP/dev-2.log'"
ok $? "the broker refuses dev-2's batch (0x95): the backlog cannot drain"

out=$(hub devices)
ok $? "devices exits 0"
printf '%s\n' "$out" | sed 's/^/#   /'
like "$(printf '%s\n' "$out" | sed -n 1p)" \
    '^STORE +DEVICE +STATE +SINCE +LAST SEEN +ACKED +DEV SEQ +BACKLOG +OLDEST +DEAD +HEALTH +CERT +PRICES +STOCK$' \
    "header names every column"
like "$(printf '%s\n' "$out" | sed -n 2p)" \
    '^s-1 +dev-2 +online +[0-9]+ (s|min) +[0-9]+ (s|min) ago +0 +2 +2 +2 h [0-9]+ min +0 +degraded +36[45] d +- +-$' \
    "dev-2 first: online, hub acked 0, device at seq 2, backlog 2, oldest 2 h, degraded"
like "$(printf '%s\n' "$out" | sed -n 3p)" \
    '^s-1 +dev-1 +online .* 3 +3 +0 +- +0 +healthy +36[45] d +- +-$' \
    "dev-1 second: healthy, acked 3, no backlog"
is "$(printf '%s\n' "$out" | awk 'NR == 1 { h = index($0, "HEALTH") }
    NR > 1 { print (match($0, / (healthy|degraded|failing|unknown) /) + 1 == h) }' | sort -u)" \
    1 "columns line up (each row's health word starts under HEALTH)"

# --json: the documented fields
hub devices --json > "$TMP/fleet.json"
ok $? "devices --json exits 0"
python3 -m json.tool "$TMP/fleet.json" | sed -n 's/^/#   /; 2,39p'
python3 - "$TMP/fleet.json" > "$TMP/fleet.check" 2>&1 <<'EOF'
import json, sys
fleet = json.load(open(sys.argv[1]))
fields = ["store", "device", "state", "since_ms", "health", "last_seen_ms", "last_seen",
          "acked_through", "last_seq", "device_last_seq", "device_acked_through", "backlog",
          "oldest_unacked_ts_ms", "oldest_unacked_age_ms", "dead_letters", "inflight",
          "last_ack_ms", "cert_not_after_ms", "cert_days_left", "prices_version",
          "prices_issued_ms", "chain_prices_version", "stock_version", "stock_issued_ms",
          "started_ms", "resent", "rejected", "journal_used_bytes", "journal_limit_bytes",
          "last_error", "version", "rejected_count", "status_ms", "status_bytes", "status_error"]
assert [d["device"] for d in fleet] == ["dev-2", "dev-1"], "order"
for d in fleet:
    missing = [f for f in fields if f not in d]
    assert not missing, "missing %s" % missing
d2, d1 = fleet
assert d2["state"] == "online" and d2["health"] == "degraded", d2
assert d2["backlog"] == 2 and d2["device_last_seq"] == 2 and d2["acked_through"] == 0, d2
assert 7200000 <= d2["oldest_unacked_age_ms"] < 7200000 + 600000, d2["oldest_unacked_age_ms"]
assert d2["dead_letters"] == 0 and d2["status_error"] is None, d2
assert d2["journal_limit_bytes"] > d2["journal_used_bytes"] > 0, d2
assert 364 <= d2["cert_days_left"] <= 365, d2["cert_days_left"]
assert d2["prices_version"] is None, "no catalog_pubkey: no catalog keys"
assert d1["state"] == "online" and d1["health"] == "healthy", d1
assert d1["backlog"] == 0 and d1["acked_through"] == 3 and d1["last_seq"] == 3, d1
assert d1["oldest_unacked_age_ms"] is None and d1["since_ms"] > 0, d1
assert isinstance(d1["version"], str) and d1["status_bytes"] > 50, d1
print("ok")
EOF
ok $? "--json: worst first, every documented field, values right ($(tail -n 1 "$TMP/fleet.check"))"

# --store filter and bad input
is "$(hub devices --store s-1 | wc -l | tr -d ' ')" 3 "--store s-1: header and 2 devices"
is "$(hub devices --store s-9 | wc -l | tr -d ' ')" 1 "--store s-9: header only"
is "$(hub devices --store s-9 --json)" "[]" "--store s-9 --json: an empty array"
hub devices --store 'a/b' > /dev/null 2> "$TMP/err"
is $? 64 "--store a/b: exit 64"
like "$(cat "$TMP/err")" "^storelink-hub: devices: --store: " "one line naming --store"
hub devices --bogus > /dev/null 2>&1
is $? 64 "unknown option: exit 64"

# a clean stop: dev-1's full status, offline
agent_stop dev-1
wait_for 30 '[ "$(field dev-1 state)" = offline ]'
ok $? "dev-1 offline after a clean stop"
is "$(field dev-1 health)/$(field dev-1 backlog)" "healthy/0" "dev-1 stopped clean: healthy, no backlog"

# SIGKILL: the broker publishes dev-2's last will
agent_kill dev-2
wait_for 30 '[ "$(field dev-2 state)" = offline ]'
ok $? "dev-2 offline through its last will"
is "$(field dev-2 backlog)/$(field dev-2 health)" "2/degraded" \
    "the will carries the backlog; the hub judges it degraded (2 h old)"
out=$(hub devices)
printf '%s\n' "$out" | sed 's/^/#   /'
like "$(printf '%s\n' "$out" | sed -n 2p)" '^s-1 +dev-2 +offline .* 2 h [0-9]+ min ' "dev-2 still listed first"
diag "status sizes: dev-1 (clean stop) $(field dev-1 status_bytes) bytes, dev-2 (last will) $(field dev-2 status_bytes) bytes"
