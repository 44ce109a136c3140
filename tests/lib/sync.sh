# tests/lib/sync.sh - run a real hub and agent against the test broker.
# POSIX sh, sourced after tests/cli/lib.sh and tests/lib/broker.sh.
#
#   sync_setup              PKI in $TMP/pki, devices dev-1 and dev-2 (store s-1),
#                           broker started; sets HUB_BIN
#   hub_conf NAME [EXTRA]   writes $TMP/NAME.conf for a hub sharing $TMP/hub.db
#   hub_start NAME          starts storelink-hub run; waits for "hub ready"
#   hub_stop NAME / hub_kill NAME
#   agent_conf DEV [EXTRA]  writes $TMP/DEV.conf (state dir $TMP/DEV)
#   agent_start DEV / agent_stop DEV / agent_kill DEV
#   ag DEV ARGS...          runs storelink with DEV's config
#   hub_count               number of records the hub stored
#   wait_for SECONDS COND   evaluates the shell condition COND (in this shell,
#                           so the functions here work) every 0.2 s until true
#   json_get JSON PATH      python3-free field extraction (flat dotted path)

HUB_BIN=${SL_HUB_BIN:-$SL_BUILD/storelink-hub}

sync_setup() {
    pki_init "$TMP/pki" >/dev/null || return 1
    pki_device "$TMP/pki" dev-1 s-1 >/dev/null || return 1
    pki_device "$TMP/pki" dev-2 s-1 >/dev/null || return 1
    acl_device "$TMP/pki" s-1 dev-1
    acl_device "$TMP/pki" s-1 dev-2
    broker_start "$TMP/pki"
}

hub_conf() {
    cat > "$TMP/$1.conf" <<EOC
[broker]
host = localhost
port = $BROKER_PORT
ca_file = $TMP/pki/ca.crt
cert_file = $TMP/pki/hub.crt
key_file = $TMP/pki/hub.key
client_id = $1
[hub]
db_path = $TMP/hub.db
${2:-}
EOC
}

# process ids live in variables named after the (sanitised) process name
_pidvar() { printf '%s_%s' "$1" "$(printf '%s' "$2" | tr -c 'A-Za-z0-9_' '_')"; }

hub_start() {
    "$HUB_BIN" --config "$TMP/$1.conf" run >> "$TMP/$1.log" 2>&1 &
    eval "$(_pidvar HUB_PID "$1")=\$!"
    wait_for 10 "grep -q 'hub ready' '$TMP/$1.log'"
}

_sig() {  # _sig PREFIX NAME SIGNAL: signal the process, wait for it, forget it
    _v=$(_pidvar "$1" "$2")
    eval "_p=\${$_v:-}"
    _rc=0
    if [ -n "$_p" ]; then
        kill "-$3" "$_p" 2>/dev/null
        wait "$_p" 2>/dev/null
        _rc=$?
    fi
    eval "$_v="
    return $_rc
}
hub_stop() { _sig HUB_PID "$1" TERM; return 0; }
hub_kill() { _sig HUB_PID "$1" KILL; return 0; }

agent_conf() {
    cat > "$TMP/$1.conf" <<EOC
[device]
device_id = $1
store_id = s-1
key_file = $TMP/pki/$1.key
cert_file = $TMP/pki/$1.crt
[journal]
state_dir = $TMP/$1
[sync]
broker_host = localhost
broker_port = $BROKER_PORT
ca_file = $TMP/pki/ca.crt
ack_timeout = 5
${2:-}
EOC
}

ag() { _d=$1; shift; STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/$_d.conf" "$@"; }

agent_start() {
    # the binary itself in the background (not a function in a subshell),
    # so $! is the agent and signals reach it
    STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/$1.conf" run >> "$TMP/$1.log" 2>&1 &
    eval "$(_pidvar AGENT_PID "$1")=\$!"
}
agent_stop() { _sig AGENT_PID "$1" TERM; }
agent_kill() { _sig AGENT_PID "$1" KILL; return 0; }

hub_count() { "$HUB_BIN" --config "$TMP/hub-a.conf" count "$@" 2>/dev/null || echo 0; }

wait_for() {
    _w_limit=$(( $1 * 5 )); shift
    _w_i=0
    while [ "$_w_i" -lt "$_w_limit" ]; do
        eval "$*" >/dev/null 2>&1 && return 0
        sleep 0.2
        _w_i=$((_w_i + 1))
    done
    return 1
}

# gen_sales PREFIX FROM TO [CURRENCY]: JSON lines of small sales
gen_sales() {
    awk -v p="$1" -v a="$2" -v b="$3" -v c="${4:-EUR}" 'BEGIN {
        for (i = a; i <= b; i++)
            printf "{\"kind\":\"sale\",\"txn_id\":\"%s-%06d\",\"currency\":\"%s\",\"lines\":[{\"sku\":\"SKU-%05d\",\"qty\":%d,\"unit_price\":%d,\"tax\":%d}],\"tenders\":[{\"method\":\"card\",\"amount\":%d}]}\n", p, i, c, i % 997, 1 + i % 3, 100 + i % 250, 19, (1 + i % 3) * (100 + i % 250) + 19
    }'
}

# acked DEV: acked_through from `storelink status --json`
acked() { ag "$1" status --json 2>/dev/null | sed -n 's/.*"acked_through":\([0-9]*\).*/\1/p'; }
