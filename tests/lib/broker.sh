# tests/lib/broker.sh - a real mosquitto broker with mutual TLS for storelink's tests.
# POSIX sh, sourced:  . "$(dirname "$0")/../lib/broker.sh"
# Needs: mosquitto (2.0.x), openssl (3.x), kill, sleep, awk, od; python3 optional.
# See docs/BROKER.md for what each broker setting is for.
#
# Functions (all return 0 on success, non-zero with a message on stderr otherwise):
#
#   free_port
#       Prints a TCP port that is free on 127.0.0.1 (and on ::1, so that a client resolving
#       "localhost" to ::1 first cannot reach another service). python3 binds port 0 when it is
#       available; otherwise random ports in 20000-59999 are probed against /proc/net/tcp{,6}
#       (or `ss`). Another process can still take the port before the broker binds it:
#       broker_start retries with a new port when the bind fails.
#
#   pki_init DIR
#       Creates DIR (mode 0700) and in it: ca.crt/ca.key (EC P-256 CA, 10 years),
#       server.crt/server.key (CN=localhost, SAN DNS:localhost + IP:127.0.0.1, serverAuth),
#       hub.crt/hub.key (client certificate CN=hub, clientAuth), and openssl.cnf (the extension
#       profiles the other pki_* functions use). Every private key is mode 0600.
#
#   pki_device DIR DEVICE STORE
#       DIR/DEVICE.crt + DIR/DEVICE.key: EC P-256 (prime256v1), subject O=STORE, CN=DEVICE,
#       clientAuth, signed by DIR/ca, valid 1 year.
#
#   pki_device_expired DIR DEVICE STORE
#       Same file names and subject, but the validity lies in the past (2020-01-01 to
#       2021-01-01), made with `openssl ca -startdate/-enddate` and a throwaway CA database in
#       DIR/.ca-db. Checked with `openssl x509 -checkend 0`. Use a DEVICE name of its own
#       (it overwrites DIR/DEVICE.crt).
#
#   pki_wrong_ca DIR DEVICE STORE
#       A second, unrelated CA (DIR/wrongca.crt/.key, created once) and
#       DIR/DEVICE-wrongca.crt/.key (O=STORE, CN=DEVICE) signed by it.
#
#   pki_sign_csr DIR CSR_FILE OUT_CRT
#       Signs CSR_FILE (PEM or DER, e.g. written by mbedtls) with DIR/ca as a client certificate
#       (clientAuth, 1 year), copying the CSR's subject. The CSR's own signature is verified.
#
#   acl_device DIR STORE DEVICE
#       Records DEVICE's `user` block (prices/stock of STORE, all/prices) in DIR/acl.devices.
#       Call before broker_start, which assembles DIR/acl: the %u patterns first, then the hub's
#       block, then the device blocks. (The patterns cover every certificate, so a device without
#       acl_device still has its journal/status/ack/catalog-request topics.)
#
#   broker_start DIR [PORT]
#       Writes DIR/mosquitto.conf and DIR/acl and starts `mosquitto -c DIR/mosquitto.conf` in the
#       background on 127.0.0.1:<free port> (or on PORT: to restart a broker where its clients
#       expect it, e.g. after broker_kill; no retry then), then waits (up to
#       BROKER_START_TIMEOUT seconds, default 5) until the port is listening (a listening socket
#       on 127.0.0.1:PORT in /proc/net/tcp). Sets and exports BROKER_PORT, BROKER_PID,
#       BROKER_DIR, BROKER_LOG (DIR/mosquitto.log; it accumulates over restarts in DIR).
#       On failure prints what the broker logged to stderr and returns 1.
#       Call it in the test's own shell (not in $(...)), or the variables and the child are lost.
#       The caller should stop the broker from its EXIT trap: trap 'broker_stop; ...' EXIT
#
#   broker_stop
#       kill -TERM $BROKER_PID, waits up to 5 s, then kill -KILL; reaps it. Returns 0 when the
#       process is gone (also when no broker was running).
#
#   broker_kill
#       kill -KILL $BROKER_PID and reap it (a crash, for durability tests).
#
#   broker_wait_grep FILE ERE [SECONDS]
#       Waits (default 5 s) until `grep -E ERE FILE` matches; returns 1 on timeout. With
#       log_type subscribe the broker log gets "<client id> <qos> <topic>" once a subscription is
#       in place: wait for that before publishing (mosquitto_sub's own stdout is block-buffered).
#
#   broker_client_opts DIR NAME
#       Prints the mosquitto_pub/_sub options for certificate DIR/NAME.crt:
#       -V mqttv5 --cafile DIR/ca.crt --cert DIR/NAME.crt --key DIR/NAME.key -h localhost -p PORT
#       (unquoted use: DIR must not contain blanks).
#
# Environment read by broker_start:
#   BROKER_PERSIST=1        persistence true, persistence_location DIR/ (default: persistence false)
#   BROKER_MSG_LIMIT=N      message_size_limit N
#   BROKER_MAX_QUEUED=N     max_queued_messages N (default 10000)
#   BROKER_EXTRA_CONF=...   lines appended verbatim to mosquitto.conf
#   BROKER_LOG_TYPES="..."  log_type values (default: error warning notice information subscribe)
#   BROKER_START_TIMEOUT=S  seconds to wait for the listener (default 5)
# Exported by broker_start: BROKER_PORT, BROKER_PID, BROKER_DIR, BROKER_LOG (DIR/mosquitto.log).
# broker_stop/broker_kill empty BROKER_PID (keep a copy to check the process is gone).
#
# Findings (mosquitto 2.0.11, checked by tests/cli/90-broker.t):
# - acl_file never refuses a SUBSCRIBE: the v5 SUBACK grants it, and `read` is checked on each
#   delivery against the message's topic. A subscriber that may not read gets nothing, silently.
# - A denied PUBLISH gets PUBACK 0x87 (v5, QoS 1); mosquitto_pub prints "Warning: Publish 1
#   failed: Not authorized." and still exits 0. Over message_size_limit: 0x95.
# - "Denied PUBLISH" is logged at debug level: BROKER_LOG_TYPES=all to see it.
# - Client-id takeover: add BROKER_EXTRA_CONF="use_username_as_clientid true" (a listener option,
#   so it must follow the listener line, which it does) to make the client id the certificate CN.
#   Every hub client then gets client id "hub": run one at a time, or give each its own CN.

# --- ports --------------------------------------------------------------------

# _port_in_use PORT: true when something is bound to PORT on 127.0.0.1, 0.0.0.0, ::1 or ::
# (any TCP state), judged from /proc/net/tcp{,6}, else from ss.
_port_in_use() {
    if [ -r /proc/net/tcp ]; then
        _piu_f=/proc/net/tcp
        [ -r /proc/net/tcp6 ] && _piu_f="$_piu_f /proc/net/tcp6"
        # shellcheck disable=SC2086
        awk -v p="$(printf '%04X' "$1")" '
            FNR > 1 {
                n = split($2, a, ":"); port = a[n]; addr = a[1]
                if (port == p && (addr == "0100007F" || addr == "00000000" ||
                    addr == "00000000000000000000000001000000" ||
                    addr == "00000000000000000000000000000000")) { found = 1 }
            }
            END { exit found ? 0 : 1 }' $_piu_f
        return $?
    fi
    if command -v ss >/dev/null 2>&1; then
        ss -Htan 2>/dev/null | awk -v p="$1" '
            { n = split($4, a, ":"); if (a[n] == p) found = 1 }
            END { exit found ? 0 : 1 }'
        return $?
    fi
    return 1
}

# _port_listening PORT: true when a socket LISTENs on 127.0.0.1:PORT.
_port_listening() {
    if [ -r /proc/net/tcp ]; then
        awk -v p="0100007F:$(printf '%04X' "$1")" '
            FNR > 1 && $2 == p && $4 == "0A" { found = 1 }
            END { exit found ? 0 : 1 }' /proc/net/tcp
        return $?
    fi
    if command -v ss >/dev/null 2>&1; then
        [ -n "$(ss -Htln "sport = :$1" 2>/dev/null | awk '$4 ~ /^127\.0\.0\.1:/')" ]
        return $?
    fi
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
        "$1" 2>/dev/null
}

_random_u16() {
    od -An -N2 -tu2 /dev/urandom 2>/dev/null | tr -d ' \n'
}

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        _fp=$(python3 - <<'EOF' 2>/dev/null
import socket
for _ in range(50):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    try:    # also free on ::1, where "localhost" may resolve first
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s6.bind(("::1", port))
        finally:
            s6.close()
    except OSError as e:
        if e.errno not in (97, 99):  # EAFNOSUPPORT, EADDRNOTAVAIL: no IPv6 here
            s.close()
            continue
    s.close()
    print(port)
    break
EOF
)
        if [ -n "$_fp" ]; then echo "$_fp"; return 0; fi
    fi
    _fp_i=0
    while [ "$_fp_i" -lt 200 ]; do
        _fp_i=$((_fp_i + 1))
        _fp_r=$(_random_u16)
        [ -n "$_fp_r" ] || _fp_r=$(awk -v s="$$$_fp_i" 'BEGIN { srand(s); print int(rand() * 65536) }')
        _fp=$((20000 + _fp_r % 40000))
        if ! _port_in_use "$_fp"; then echo "$_fp"; return 0; fi
    done
    echo "free_port: no free port found on 127.0.0.1" >&2
    return 1
}

# --- PKI ----------------------------------------------------------------------

_pki_cnf() {  # _pki_cnf DIR: the extension profiles (no dependency on the system openssl.cnf)
    cat > "$1/openssl.cnf" <<'EOF'
# storelink test PKI (generated by tests/lib/broker.sh)
[ req ]
distinguished_name = req_dn
prompt             = no
utf8               = yes
[ req_dn ]
CN = unused

[ ca_ext ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ server_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

[ client_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
EOF
}

_pki_key() {  # _pki_key KEYFILE: EC P-256 private key (PKCS#8 PEM), mode 0600
    rm -f "$1"
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 \
        -out "$1" 2>/dev/null) || { echo "pki: cannot generate key $1" >&2; return 1; }
    chmod 600 "$1"
}

_pki_ca() {  # _pki_ca DIR NAME CN: self-signed CA DIR/NAME.crt + DIR/NAME.key, 10 years
    _pki_key "$1/$2.key" || return 1
    openssl req -config "$1/openssl.cnf" -new -x509 -key "$1/$2.key" -sha256 -days 3650 \
        -subj "/CN=$3" -extensions ca_ext -out "$1/$2.crt" 2>"$1/.openssl.err" || {
        cat "$1/.openssl.err" >&2; return 1; }
}

# _pki_issue DIR CANAME SUBJ PROFILE DAYS BASE: key BASE.key, certificate BASE.crt
_pki_issue() {
    _pki_key "$6.key" || return 1
    openssl req -config "$1/openssl.cnf" -new -key "$6.key" -subj "$3" -out "$6.csr" \
        2>"$1/.openssl.err" || { cat "$1/.openssl.err" >&2; return 1; }
    _pki_x509 "$1" "$2" "$6.csr" "$4" "$5" "$6.crt" || return 1
    rm -f "$6.csr" "$1/.openssl.err"
}

# _pki_x509 DIR CANAME CSR PROFILE DAYS OUT [INFORM]
_pki_x509() {
    openssl x509 -req -inform "${7:-PEM}" -in "$3" -CA "$1/$2.crt" -CAkey "$1/$2.key" \
        -CAserial "$1/$2.srl" -CAcreateserial -sha256 -days "$5" \
        -extfile "$1/openssl.cnf" -extensions "$4" -out "$6" 2>"$1/.openssl.err" || {
        cat "$1/.openssl.err" >&2; return 1; }
    openssl verify -CAfile "$1/$2.crt" "$6" >/dev/null 2>"$1/.openssl.err" || {
        echo "pki: $6 does not verify against $1/$2.crt" >&2; cat "$1/.openssl.err" >&2; return 1; }
}

pki_init() {
    [ -n "${1:-}" ] || { echo "usage: pki_init DIR" >&2; return 64; }
    command -v openssl >/dev/null 2>&1 || { echo "pki_init: openssl not found" >&2; return 1; }
    mkdir -p "$1" && chmod 700 "$1" || return 1
    _pki_cnf "$1" || return 1
    _pki_ca "$1" ca "storelink test CA" || return 1
    _pki_issue "$1" ca "/CN=localhost" server_ext 825 "$1/server" || return 1
    _pki_issue "$1" ca "/CN=hub" client_ext 365 "$1/hub" || return 1
}

pki_device() {
    [ $# -eq 3 ] || { echo "usage: pki_device DIR DEVICE STORE" >&2; return 64; }
    _pki_issue "$1" ca "/O=$3/CN=$2" client_ext 365 "$1/$2"
}

pki_device_expired() {
    [ $# -eq 3 ] || { echo "usage: pki_device_expired DIR DEVICE STORE" >&2; return 64; }
    pki_device_dated "$1" "$2" "$3" 20200101000000Z 20210101000000Z || return 1
    if openssl x509 -in "$1/$2.crt" -noout -checkend 0 >/dev/null 2>&1; then
        echo "pki_device_expired: $1/$2.crt is not expired" >&2
        return 1
    fi
}

# pki_device_dated DIR DEVICE STORE START END: a device certificate valid
# from START to END (YYYYMMDDHHMMSSZ): expired, or not yet valid
pki_device_dated() {
    [ $# -eq 5 ] || { echo "usage: pki_device_dated DIR DEVICE STORE START END" >&2; return 64; }
    # openssl 3.0's `x509 -req` cannot back-date, `openssl ca` can (-startdate/-enddate).
    _pde_db="$1/.ca-db"
    rm -rf "$_pde_db" && mkdir -p "$_pde_db" || return 1
    : > "$_pde_db/index.txt"
    openssl rand -hex 16 > "$_pde_db/serial" || return 1
    cat > "$_pde_db/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir              = $_pde_db
database         = \$dir/index.txt
new_certs_dir    = \$dir
serial           = \$dir/serial
certificate      = $1/ca.crt
private_key      = $1/ca.key
default_md       = sha256
policy           = policy_any
unique_subject   = no
email_in_dn      = no
copy_extensions  = none
[ policy_any ]
organizationName = optional
commonName       = supplied
EOF
    _pki_key "$1/$2.key" || return 1
    openssl req -config "$1/openssl.cnf" -new -key "$1/$2.key" -subj "/O=$3/CN=$2" \
        -out "$_pde_db/req.csr" 2>"$1/.openssl.err" || { cat "$1/.openssl.err" >&2; return 1; }
    openssl ca -batch -config "$_pde_db/ca.cnf" -in "$_pde_db/req.csr" -out "$1/$2.crt" \
        -startdate "$4" -enddate "$5" -preserveDN -notext \
        -extfile "$1/openssl.cnf" -extensions client_ext 2>"$1/.openssl.err" || {
        cat "$1/.openssl.err" >&2; return 1; }
    rm -rf "$_pde_db" "$1/.openssl.err"
}

pki_wrong_ca() {
    [ $# -eq 3 ] || { echo "usage: pki_wrong_ca DIR DEVICE STORE" >&2; return 64; }
    if [ ! -f "$1/wrongca.crt" ] || [ ! -f "$1/wrongca.key" ]; then
        _pki_ca "$1" wrongca "unrelated CA" || return 1
    fi
    _pki_issue "$1" wrongca "/O=$3/CN=$2" client_ext 365 "$1/$2-wrongca"
}

pki_sign_csr() {
    [ $# -eq 3 ] || { echo "usage: pki_sign_csr DIR CSR_FILE OUT_CRT" >&2; return 64; }
    _psc_form=DER
    grep -q -- '-----BEGIN' "$2" 2>/dev/null && _psc_form=PEM
    _pki_x509 "$1" ca "$2" client_ext 365 "$3" "$_psc_form" || return 1
    rm -f "$1/.openssl.err"
}

# --- ACL ----------------------------------------------------------------------

acl_device() {
    [ $# -eq 3 ] || { echo "usage: acl_device DIR STORE DEVICE" >&2; return 64; }
    cat >> "$1/acl.devices" <<EOF

# device $3 of store $2 (its certificate CN is $3)
user $3
topic read storelink/v1/$2/prices
topic read storelink/v1/$2/stock
topic read storelink/v1/all/prices
EOF
}

_acl_write() {  # _acl_write DIR: DIR/acl = patterns, hub block, device blocks
    {
        cat <<'EOF'
# storelink ACL (generated by tests/lib/broker.sh). Usernames are certificate CNs
# (use_identity_as_username). Patterns use %u, never %c: a client chooses its own client id.
# Patterns apply to every user; `topic` lines apply to the `user` line above them.
pattern write storelink/v1/+/%u/journal
pattern write storelink/v1/+/%u/status
pattern write storelink/v1/+/%u/catalog-request
pattern read storelink/v1/+/%u/ack

# The hub subscribes to $share/hub/storelink/v1/+/+/journal. mosquitto 2.0.11's acl_file never
# refuses a SUBSCRIBE (SUBACK grants it whatever the ACL says); it checks `read` when it delivers
# each message, against the message's own topic. So it is the plain topic below that matters: a
# `topic read $share/hub/...` line alone grants the subscription but delivers nothing.
user hub
topic read storelink/v1/+/+/journal
topic read storelink/v1/+/+/status
topic read storelink/v1/+/+/catalog-request
topic write storelink/v1/+/+/ack
topic write storelink/v1/+/prices
topic write storelink/v1/+/stock
topic write storelink/v1/all/prices
EOF
        if [ -f "$1/acl.devices" ]; then cat "$1/acl.devices"; fi
    } > "$1/acl"
}

# --- broker -------------------------------------------------------------------

_broker_conf() {  # _broker_conf DIR PORT
    {
        echo "# generated by tests/lib/broker.sh"
        echo "per_listener_settings false"
        # as root mosquitto would switch to user "mosquitto", which cannot read the test dir
        echo "user $(id -un)"
        echo "listener $2 127.0.0.1"
        echo "cafile $1/ca.crt"
        echo "certfile $1/server.crt"
        echo "keyfile $1/server.key"
        echo "require_certificate true"
        echo "use_identity_as_username true"
        echo "tls_version tlsv1.2"
        echo "allow_anonymous false"
        echo "acl_file $1/acl"
        echo "set_tcp_nodelay true"
        echo "max_queued_messages ${BROKER_MAX_QUEUED:-10000}"
        if [ "${BROKER_PERSIST:-0}" = 1 ]; then
            echo "persistence true"
            echo "persistence_location $1/"
        else
            echo "persistence false"
        fi
        [ -n "${BROKER_MSG_LIMIT:-}" ] && echo "message_size_limit $BROKER_MSG_LIMIT"
        echo "log_dest file $1/mosquitto.log"
        for _bc_t in ${BROKER_LOG_TYPES:-error warning notice information subscribe}; do
            echo "log_type $_bc_t"
        done
        echo "log_timestamp_format %Y-%m-%dT%H:%M:%S"
        echo "connection_messages true"
        [ -n "${BROKER_EXTRA_CONF:-}" ] && printf '%s\n' "$BROKER_EXTRA_CONF"
        true
    } > "$1/mosquitto.conf"
}

_broker_sleep() { sleep 0.1 2>/dev/null || sleep 1; }

broker_start() {
    [ -n "${1:-}" ] || { echo "usage: broker_start DIR [PORT]" >&2; return 64; }
    [ -f "$1/server.crt" ] || { echo "broker_start: run pki_init $1 first" >&2; return 1; }
    command -v mosquitto >/dev/null 2>&1 || { echo "broker_start: mosquitto not found" >&2; return 1; }
    if [ -n "${BROKER_PID:-}" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
        echo "broker_start: a broker is already running (pid $BROKER_PID): broker_stop first" >&2
        return 1
    fi
    _bs_fixed=${2:-}
    _acl_write "$1" || return 1
    _bs_try=0
    while :; do
        _bs_try=$((_bs_try + 1))
        if [ -n "$_bs_fixed" ]; then BROKER_PORT=$_bs_fixed; else BROKER_PORT=$(free_port) || return 1; fi
        _broker_conf "$1" "$BROKER_PORT" || return 1
        # the log accumulates over restarts; judge this start by what it appends
        _bs_off=0
        [ -f "$1/mosquitto.log" ] && _bs_off=$(wc -c < "$1/mosquitto.log" | tr -d ' ')
        mosquitto -c "$1/mosquitto.conf" > "$1/mosquitto.out" 2>&1 &
        BROKER_PID=$!
        BROKER_DIR=$1
        BROKER_LOG=$1/mosquitto.log
        export BROKER_PORT BROKER_PID BROKER_DIR BROKER_LOG
        _bs_limit=$(( ${BROKER_START_TIMEOUT:-5} * 10 ))
        _bs_i=0
        while [ "$_bs_i" -lt "$_bs_limit" ]; do
            if ! kill -0 "$BROKER_PID" 2>/dev/null; then break; fi
            _port_listening "$BROKER_PORT" && return 0
            _broker_sleep
            _bs_i=$((_bs_i + 1))
        done
        if kill -0 "$BROKER_PID" 2>/dev/null; then    # alive but not listening: give up
            broker_stop
        else
            wait "$BROKER_PID" 2>/dev/null
            # lost the race for the port to another process: pick another one
            if [ -z "$_bs_fixed" ] && [ "$_bs_try" -lt 3 ] &&
               { tail -c +$((_bs_off + 1)) "$1/mosquitto.log"; cat "$1/mosquitto.out"; } 2>/dev/null |
                   grep -q "Address already in use"; then
                continue
            fi
        fi
        echo "broker_start: mosquitto did not come up on 127.0.0.1:$BROKER_PORT" >&2
        { cat "$1/mosquitto.out"; tail -c +$((_bs_off + 1)) "$1/mosquitto.log"; } >&2 2>/dev/null
        BROKER_PID=
        return 1
    done
}

broker_stop() {
    [ -n "${BROKER_PID:-}" ] || return 0
    if kill -TERM "$BROKER_PID" 2>/dev/null; then
        _bst_i=0
        while kill -0 "$BROKER_PID" 2>/dev/null && [ "$_bst_i" -lt 50 ]; do
            _broker_sleep
            _bst_i=$((_bst_i + 1))
        done
        if kill -0 "$BROKER_PID" 2>/dev/null; then
            echo "broker_stop: $BROKER_PID ignored SIGTERM, sending SIGKILL" >&2
            kill -KILL "$BROKER_PID" 2>/dev/null
        fi
    fi
    wait "$BROKER_PID" 2>/dev/null
    if kill -0 "$BROKER_PID" 2>/dev/null; then
        echo "broker_stop: $BROKER_PID still running" >&2
        return 1
    fi
    BROKER_PID=
    return 0
}

broker_kill() {
    [ -n "${BROKER_PID:-}" ] || return 0
    kill -KILL "$BROKER_PID" 2>/dev/null
    wait "$BROKER_PID" 2>/dev/null
    BROKER_PID=
    return 0
}

broker_wait_grep() {
    _bwg_limit=$(( ${3:-5} * 10 ))
    _bwg_i=0
    while ! grep -Eq -- "$2" "$1" 2>/dev/null; do
        [ "$_bwg_i" -ge "$_bwg_limit" ] && return 1
        _broker_sleep
        _bwg_i=$((_bwg_i + 1))
    done
    return 0
}

broker_client_opts() {
    [ $# -eq 2 ] || { echo "usage: broker_client_opts DIR NAME" >&2; return 64; }
    echo "-V mqttv5 --cafile $1/ca.crt --cert $1/$2.crt --key $1/$2.key -h localhost -p $BROKER_PORT"
}
