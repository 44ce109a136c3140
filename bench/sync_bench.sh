#!/bin/sh
# bench/sync_bench.sh - storelink's sync benchmark: wire bytes per sale and
# drain throughput against a real mosquitto with mutual TLS, and a baseline
# of one QoS 1 MQTT message per record.  Prints one results table.
#
# Called at the end of bench/run.sh (`make bench`); builds nothing.  Like
# run.sh, a missed goal is reported, not failed; the exit status is non-zero
# only when something does not work (a record refused, a drain that does not
# complete, a missing program).
#
# 1. bench/gen_day.awk generates one business day (fixed seed) as JSON lines;
#    `storelink record` must take every line (exit 0).
# 2. Rounds (medians reported), each with a fresh broker per phase:
#    - baseline: `mosquitto_pub -V mqttv5 -q 1 -l` with the same lines over one
#      TLS connection (a device certificate, its own journal topic), timed
#      until it exits; once with nobody subscribed, once with a QoS 1
#      subscriber holding the hub's certificate.  The goal's reference is the
#      faster of the two.
#    - drains: the recorded journal (a copy) through agent, broker and a hub
#      with a fresh database, compress=no and compress=yes, the default config
#      otherwise (500 records or 64 KiB per batch, 8 in flight).  Time: agent
#      start until `storelink status` reports acked_through == N, polled every
#      50 ms (each poll is a process of ~10-20 ms).  Wire bytes per record:
#      the agent's bytes_sent (MQTT payloads: envelope, signature, certificate,
#      body) from daemon.json, against the compact JSON lines and their gzip -6.
#    Then one drain with larger batches (2000 records / 256 KiB), for scale.
# 3. With valgrind: instructions of the agent per synced record, from two
#    drains under callgrind (CG_BASE and CG_BASE + CG_N records; the
#    difference cancels start-up and the TLS handshake).
#
# Everything runs on 127.0.0.1 in a temporary directory under build/ (the
# repository's disk, as the journal would be); every process started here is
# stopped by pid, also on failure.
#
# Env: BUILD           build directory (default build)
#      SYNC_N          records in the generated day (default 100000)
#      SYNC_SEED       generator seed (default 20251121)
#      SYNC_ROUNDS     rounds of baselines and drains, medians reported (default 3)
#      SYNC_CG_N       records of the callgrind difference (default 5000, 0 = skip)
#      SYNC_TIMEOUT    seconds a drain may take before it counts as failed (default 120)
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) BDIR=$BUILD ;; *) BDIR=$ROOT/$BUILD ;; esac
N=${SYNC_N:-100000}
SEED=${SYNC_SEED:-20251121}
ROUNDS=${SYNC_ROUNDS:-3}
CG_N=${SYNC_CG_N:-5000}
CG_BASE=500
DRAIN_TIMEOUT=${SYNC_TIMEOUT:-120}
GOAL_RAW=30           # CBOR batches without compression, % of compact JSON (<=)
GOAL_ZSTD=10          # zstd batches, % of compact JSON (<=)
GOAL_SPEEDUP=10       # acked records/s over mosquitto_pub messages/s (>=)

SL_BIN=$BDIR/storelink
SL_BUILD=$BDIR
SL_HUB_BIN=$BDIR/storelink-hub
for b in "$SL_BIN" "$SL_HUB_BIN"; do
    if [ ! -x "$b" ]; then
        echo "bench/sync_bench.sh: $b is missing: run 'make'" >&2
        exit 1
    fi
done
for p in mosquitto mosquitto_pub mosquitto_sub openssl gzip; do
    if ! command -v "$p" >/dev/null 2>&1; then
        echo "bench/sync_bench.sh: $p is not installed (./toolchain/deps.sh test)" >&2
        exit 1
    fi
done

mkdir -p build || exit 1
TMP=$(mktemp -d "$ROOT/build/syncbench.XXXXXX") || exit 1
case "$TMP" in *[[:space:]]*)
    echo "bench/sync_bench.sh: $TMP contains blanks (the broker options cannot)" >&2
    rm -rf "$TMP"; exit 1 ;;
esac
export SL_BIN SL_BUILD SL_HUB_BIN TMP
# shellcheck source=../tests/lib/broker.sh
. "$ROOT/tests/lib/broker.sh"
# shellcheck source=../tests/lib/sync.sh
. "$ROOT/tests/lib/sync.sh"

# processes started here that sync.sh does not track
SUB_PID=
PUB_PID=
VG_PID=
stop_pid() {  # stop_pid PID: TERM, up to 5 s, then KILL; reap
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null
    _sp_i=0
    while kill -0 "$1" 2>/dev/null && [ "$_sp_i" -lt 50 ]; do
        sleep 0.1
        _sp_i=$((_sp_i + 1))
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}
cleanup() {
    for d in dev-nz dev-z dev-big dev-cg1 dev-cg2; do agent_kill "$d"; done
    for h in hub-nz hub-z hub-big hub-cg1 hub-cg2; do hub_kill "$h"; done
    stop_pid "$VG_PID"
    stop_pid "$PUB_PID"
    stop_pid "$SUB_PID"
    broker_stop
    rm -rf "$TMP"
}
trap 'cleanup' EXIT
trap 'exit 130' INT TERM

die() { echo "bench/sync_bench.sh: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }
# CPU seconds (user + system) a live process has used so far
cpu_ticks() {
    [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || { echo 0; return; }
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
secs() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }'; }
# value of a top-level integer field in a flat JSON object
jint() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" "$2" | head -n 1; }
pidof_var() { eval "echo \${$(_pidvar "$1" "$2"):-}"; }
calc() { awk "BEGIN { $1 }"; }
median() {  # median of a blank-separated list of numbers
    printf '%s\n' $1 | sort -n | awk '{ a[NR] = $1 }
        END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.0f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
range() { printf '%s\n' $1 | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }
rate() { calc "printf \"%.0f\", $N * 1000 / ($1 + 0.001)"; }   # per second from ms

# ---- 1. the day ----------------------------------------------------------
echo "== sync bench: generated day, $N records (bench/gen_day.awk, seed $SEED) =="
day=$TMP/day.jsonl
awk -f bench/gen_day.awk -v n="$N" -v seed="$SEED" > "$day" || die "gen_day.awk failed"
[ "$(wc -l < "$day" | tr -d ' ')" = "$N" ] || die "gen_day.awk wrote $(wc -l < "$day") lines, not $N"
: > "$TMP/none.conf"
t0=$(now_ms)
STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/none.conf" --state-dir "$TMP/day" \
    record --file "$day" > "$TMP/record.out" 2> "$TMP/record.err"
rc=$?
t1=$(now_ms)
recorded=$(grep -c '^recorded seq ' "$TMP/record.out")
if [ "$rc" -ne 0 ] || [ "$recorded" -ne "$N" ]; then
    head -n 5 "$TMP/record.err" >&2
    die "storelink record: exit $rc, $recorded of $N recorded"
fi
rec_rate=$(calc "printf \"%.0f\", $N * 1000 / ($t1 - $t0 + 0.001)")
awk -F'"kind":"' '{ split($2, a, "\""); k[a[1]]++ }
     END { printf "day: %d sales, %d returns, %d adjustments; ", k["sale"], k["return"], k["adjustment"] }' "$day"
awk '{ n += gsub(/"sku":/, "") } END { printf "%d lines (%.2f per event); ", n, n / NR }' "$day"
echo "recorded in $((t1 - t0)) ms ($rec_rate rec/s, exit 0)"

json_b=$(wc -c < "$day" | tr -d ' ')
gzip_b=$(gzip -6 -c "$day" | wc -c | tr -d ' ')
zjson_b=
command -v zstd >/dev/null 2>&1 && zjson_b=$(zstd -3 -q -c "$day" | wc -c | tr -d ' ')

# ---- 2. broker and identities --------------------------------------------
pki_init "$TMP/pki" >/dev/null || die "pki_init failed"
for d in dev-base dev-nz dev-z dev-big dev-cg1 dev-cg2; do
    pki_device "$TMP/pki" "$d" s-1 >/dev/null || die "pki_device $d failed"
done
# a fresh broker per phase: no session, queue or shared-subscription member
# of one phase is left over in the next
fresh_broker() {
    broker_stop
    broker_start "$TMP/pki" || die "broker did not start"
}

# ---- 3. baseline: one QoS 1 message per record ----------------------------
# base_run SUB: mosquitto_pub -q 1 -l with the day's lines over one TLS
# connection (dev-base's certificate, its own journal topic), timed until it
# exits.  SUB=1: a QoS 1 subscriber with the hub's certificate receives them
# (the broker routes each message as it would to the hub); SUB=0: nobody is
# subscribed (PUBACK 0x10, the broker drops them).  Sets B_MS B_RATE B_GOT
# B_WARN B_CPU.
base_run() {
    fresh_broker
    _bc0=$(cpu_ticks "$BROKER_PID")
    B_GOT=
    if [ "$1" = 1 ]; then
        # shellcheck disable=SC2046
        mosquitto_sub $(broker_client_opts "$TMP/pki" hub) -q 1 -i bench-sub \
            -t storelink/v1/s-1/dev-base/journal -C "$N" -W "$DRAIN_TIMEOUT" -F '%l' \
            > "$TMP/base-sub.out" 2> "$TMP/base-sub.err" &
        SUB_PID=$!
        broker_wait_grep "$BROKER_LOG" 'bench-sub 1 storelink/v1/s-1/dev-base/journal' 10 ||
            die "baseline subscriber did not subscribe"
    fi
    _t0=$(now_ms)
    # shellcheck disable=SC2046
    mosquitto_pub $(broker_client_opts "$TMP/pki" dev-base) -q 1 -l -i bench-pub \
        -t storelink/v1/s-1/dev-base/journal < "$day" > "$TMP/base-pub.out" 2>&1 &
    PUB_PID=$!
    wait "$PUB_PID"
    _prc=$?
    _t1=$(now_ms)
    PUB_PID=
    B_CPU=$(( $(cpu_ticks "$BROKER_PID") - _bc0 ))
    if [ "$1" = 1 ]; then
        # it exits after N messages; otherwise give it 1.5 s to take what
        # is still queued for it (at most max_queued_messages, 10000), then
        # SIGTERM (mosquitto_sub flushes its output and exits 0)
        _i=0
        while kill -0 "$SUB_PID" 2>/dev/null && [ "$_i" -lt 30 ]; do sleep 0.05; _i=$((_i + 1)); done
        stop_pid "$SUB_PID"
        SUB_PID=
        B_GOT=$(wc -l < "$TMP/base-sub.out" | tr -d ' ')
    fi
    [ "$_prc" -eq 0 ] || { cat "$TMP/base-pub.out" >&2; die "mosquitto_pub failed (exit $_prc)"; }
    B_WARN=$(grep -c -i 'warning\|error' "$TMP/base-pub.out")
    B_MS=$((_t1 - _t0))
    B_RATE=$(rate "$B_MS")
    if [ "$1" = 1 ]; then
        echo "  baseline, QoS 1 subscriber: $B_MS ms ($B_RATE msg/s), $B_WARN warnings;" \
             "the subscriber received $B_GOT of $N; broker CPU $(secs "$B_CPU") s"
    else
        echo "  baseline, no subscriber: $B_MS ms ($B_RATE msg/s), $B_WARN warnings; broker CPU $(secs "$B_CPU") s"
    fi
}
# ---- 4. drains: the day through agent, broker and hub ----------------------
# drain RUN COMPRESS: sets D_MS D_BATCHES D_RECS D_BYTES D_RESENT D_CPU_* D_HUB
drain() {
    _dev=dev-$1
    _hub=hub-$1
    fresh_broker
    # a fresh journal copy and a fresh hub database (a hub that knows the
    # device's chain acks it through at once)
    rm -rf "${TMP:?}/$_dev" "$TMP/$_hub.db" "$TMP/$_hub.db-wal" "$TMP/$_hub.db-shm" "$TMP/$_hub.log" \
           "$TMP/$_dev.log"
    cp -R "$TMP/day" "$TMP/$_dev" || die "cannot copy the journal"
    hub_conf "$_hub" "db_path = $TMP/$_hub.db"
    agent_conf "$_dev" "compress = $2
${3:-}"
    hub_start "$_hub" || { cat "$TMP/$_hub.log" >&2; die "hub $_hub did not start"; }
    _bc0=$(cpu_ticks "$BROKER_PID")
    _t0=$(now_ms)
    agent_start "$_dev"
    _apid=$(pidof_var AGENT_PID "$_dev")
    _hpid=$(pidof_var HUB_PID "$_hub")
    _limit=$((DRAIN_TIMEOUT * 20))
    _i=0
    _a=0
    while [ "$_i" -lt "$_limit" ]; do
        _a=$(acked "$_dev")
        [ "${_a:-0}" = "$N" ] && break
        kill -0 "$_apid" 2>/dev/null || break
        sleep 0.05
        _i=$((_i + 1))
    done
    _t1=$(now_ms)
    D_CPU_AGENT=$(cpu_ticks "$_apid")
    D_CPU_HUB=$(cpu_ticks "$_hpid")
    D_CPU_BROKER=$(( $(cpu_ticks "$BROKER_PID") - _bc0 ))
    agent_stop "$_dev"
    _arc=$?
    if [ "${_a:-0}" != "$N" ]; then
        tail -n 20 "$TMP/$_dev.log" >&2
        tail -n 20 "$TMP/$_hub.log" >&2
        die "drain $1: acked_through ${_a:-?} of $N after $(( (_t1 - _t0) / 1000 )) s"
    fi
    [ "$_arc" -eq 0 ] || echo "bench/sync_bench.sh: agent $_dev exited $_arc on SIGTERM" >&2
    D_HUB=$("$SL_HUB_BIN" --config "$TMP/$_hub.conf" count 2>/dev/null)
    hub_stop "$_hub"
    _j=$TMP/$_dev/daemon.json
    D_MS=$((_t1 - _t0))
    D_BATCHES=$(jint batches_sent "$_j")
    D_RECS=$(jint records_sent "$_j")
    D_BYTES=$(jint bytes_sent "$_j")
    D_RESENT=$(jint resent "$_j")
    D_ACKS=$(jint acks "$_j")
    D_NOACK=$(grep -c 'no ack for batch' "$TMP/$_dev.log")
    D_RATE=$(rate "$D_MS")
    echo "  $1 (compress=$2${3:+, $(echo "$3" | tr '\n' ',' | sed 's/,$//')}): acked $N in $D_MS ms ($D_RATE rec/s); $D_BATCHES batches," \
         "$D_RECS records and $D_BYTES bytes sent, $D_ACKS acks, $D_RESENT resent" \
         "($D_NOACK ack timeouts); hub stored $D_HUB;" \
         "CPU agent $(secs "$D_CPU_AGENT") s, hub $(secs "$D_CPU_HUB") s, broker $(secs "$D_CPU_BROKER") s"
    [ "$D_HUB" = "$N" ] || die "drain $1: the hub stored $D_HUB records, not $N"
    [ "${D_RECS:-0}" -ge "$N" ] || die "drain $1: the agent sent only ${D_RECS:-0} records"
    # anything at warning level or worse, and the agent's resends
    grep -E '^<[0-4]>|no ack' "$TMP/$_dev.log" "$TMP/$_hub.log" | grep -v 'catalog_pubkey not set' |
        head -n 5
}

echo "rounds: baselines over one TLS connection, and drains of the $N records recorded offline"
echo "(hub and agent started after; 500 records/64 KiB per batch, 8 in flight unless noted)"
b0_ms='' b1_ms='' b1_got='' nz_ms='' z_ms='' z_ca='' z_ch='' z_cb='' nz_resent=0 z_resent=0
r=1
while [ "$r" -le "$ROUNDS" ]; do
    echo "round $r of $ROUNDS"
    base_run 0
    b0_ms="$b0_ms $B_MS"
    base_run 1
    b1_ms="$b1_ms $B_MS" b1_got="$b1_got $B_GOT"
    drain nz no
    nz_ms="$nz_ms $D_MS" nz_batches=$D_BATCHES nz_recs=$D_RECS nz_bytes=$D_BYTES
    nz_resent=$((nz_resent + D_RESENT))
    drain z yes
    z_ms="$z_ms $D_MS" z_batches=$D_BATCHES z_recs=$D_RECS z_bytes=$D_BYTES
    z_resent=$((z_resent + D_RESENT))
    z_ca="$z_ca $D_CPU_AGENT" z_ch="$z_ch $D_CPU_HUB" z_cb="$z_cb $D_CPU_BROKER"
    r=$((r + 1))
done
# not the default: larger batches, to show what the batch size does (once)
drain big yes "batch_max_records = 2000
batch_max_bytes = 262144"
big_ms=$D_MS big_rate=$D_RATE big_batches=$D_BATCHES big_recs=$D_RECS big_bytes=$D_BYTES big_resent=$D_RESENT

base0_ms=$(median "$b0_ms") base1_ms=$(median "$b1_ms") base1_got=$(median "$b1_got")
base0_rate=$(rate "$base0_ms") base1_rate=$(rate "$base1_ms")
nz_rate=$(rate "$(median "$nz_ms")") z_rate=$(rate "$(median "$z_ms")")
z_cpu_agent=$(median "$z_ca") z_cpu_hub=$(median "$z_ch") z_cpu_broker=$(median "$z_cb")
# the goal's reference: the faster baseline (the conservative choice)
base_rate=$base0_rate base_what="no subscriber"
if [ "$base1_rate" -gt "$base0_rate" ]; then base_rate=$base1_rate base_what="QoS 1 subscriber"; fi

# ---- 5. agent instructions per synced record (callgrind) ------------------
# cg_ir RUN RECORDS: sets CG_IR, the total Ir of the agent draining RECORDS
# records (called in this shell, not in $(...): it starts processes)
cg_ir() {
    _dev=dev-$1
    _hub=hub-$1
    CG_IR=
    fresh_broker
    rm -rf "${TMP:?}/$_dev" "$TMP/$_hub.db" "$TMP/$_hub.db-wal" "$TMP/$_hub.db-shm"
    head -n "$2" "$day" > "$TMP/$_dev.jsonl"
    hub_conf "$_hub" "db_path = $TMP/$_hub.db"
    agent_conf "$_dev" "compress = yes"
    ag "$_dev" record --file "$TMP/$_dev.jsonl" >/dev/null 2>&1 || {
        echo "bench/sync_bench.sh: recording $2 records for callgrind failed" >&2; return 1; }
    hub_start "$_hub" || { echo "bench/sync_bench.sh: hub $_hub did not start" >&2; return 1; }
    STORELINK_CONFIG='' valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.$1" \
        "$SL_BIN" --config "$TMP/$_dev.conf" run > "$TMP/$_dev.log" 2>&1 &
    VG_PID=$!
    _i=0
    while [ "$_i" -lt $((DRAIN_TIMEOUT * 10)) ]; do
        [ "$(acked "$_dev")" = "$2" ] && break
        kill -0 "$VG_PID" 2>/dev/null || break
        sleep 0.1
        _i=$((_i + 1))
    done
    _a=$(acked "$_dev")
    kill -TERM "$VG_PID" 2>/dev/null
    wait "$VG_PID"
    _rc=$?
    VG_PID=
    hub_stop "$_hub"
    if [ "$_a" != "$2" ] || [ "$_rc" -ne 0 ]; then
        tail -n 20 "$TMP/$_dev.log" >&2
        echo "bench/sync_bench.sh: callgrind drain of $2: acked ${_a:-?}, exit $_rc" >&2
        return 1
    fi
    _ir=$(sed -n 's/^summary: *\([0-9][0-9]*\).*/\1/p' "$TMP/cg.$1" | tail -n 1)
    [ -n "$_ir" ] || _ir=$(sed -n 's/^totals: *\([0-9][0-9]*\).*/\1/p' "$TMP/cg.$1" | tail -n 1)
    [ -n "$_ir" ] || { echo "bench/sync_bench.sh: no instruction total in $TMP/cg.$1" >&2; return 1; }
    CG_IR=$_ir
}
cg_ipr=
cg_note="skipped (no valgrind)"
if [ "$CG_N" -gt 0 ] && [ "$N" -ge $((CG_BASE + CG_N)) ] && command -v valgrind >/dev/null 2>&1; then
    echo "callgrind: the agent draining $CG_BASE and $((CG_BASE + CG_N)) records (compress=yes)"
    if cg_ir cg1 "$CG_BASE" && ir1=$CG_IR && cg_ir cg2 $((CG_BASE + CG_N)) && ir2=$CG_IR; then
        cg_ipr=$(calc "printf \"%.0f\", ($ir2 - $ir1) / $CG_N")
        echo "  $ir1 Ir at $CG_BASE records, $ir2 Ir at $((CG_BASE + CG_N)) -> $cg_ipr instructions per record"
    else
        cg_note="failed"
        cg_failed=1
    fi
elif [ "$CG_N" -le 0 ]; then
    cg_note="skipped (SYNC_CG_N=0)"
fi
broker_stop

# ---- 6. the results table -------------------------------------------------
bpr() { calc "printf \"%.1f\", $1 / $N"; }                 # bytes per record
pct() { calc "printf \"%.1f\", 100 * $1 / $json_b"; }      # % of compact JSON
ratio() { calc "printf \"%.1f\", $1 / $2"; }
verdict() {  # verdict A OP B -> PASS / MISS / n/a
    if [ -z "$1" ]; then echo "n/a"; return; fi
    awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
        ok = (op == "<") ? (a < b) : (op == ">=") ? (a >= b) : (a <= b); print ok ? "PASS" : "MISS" }'
}
row() { printf '%-37s %-52s %-9s %s\n' "$1" "$2" "$3" "$4" | sed 's/ *$//'; }
batches_cell() {  # batches_cell BATCHES RECORDS RESENT
    _r="$1 batches, $(calc "printf \"%.0f\", $2 / $1") rec/batch, $3 resent"
    [ "$3" -gt 0 ] && _r="$_r (in all rounds; bytes may include resends)"
    echo "$_r"
}
us_rec() { calc "printf \"%.1f\", $1 * 1000000 / $HZ / $N"; }
cert_b=$(openssl x509 -in "$TMP/pki/dev-z.crt" -outform DER 2>/dev/null | wc -c | tr -d ' ')
nz_pct=$(pct "$nz_bytes")
z_pct=$(pct "$z_bytes")
z_vs_gzip=$(calc "printf \"%.2f\", $z_bytes / $gzip_b")
speedup=$(ratio "$z_rate" "$base_rate")

echo
echo "== storelink sync bench results: $N records of one generated day, medians of $ROUNDS rounds, mTLS mosquitto on 127.0.0.1 =="
row "figure" "value" "goal" "result"
row "compact JSON lines (the input)" "$(bpr "$json_b") B/rec ($json_b B)" "" ""
row "  gzip -6 of the JSON lines" "$(bpr "$gzip_b") B/rec ($(pct "$gzip_b") % of JSON)" "" ""
[ -n "$zjson_b" ] && row "  zstd -3 of the JSON lines" "$(bpr "$zjson_b") B/rec ($(pct "$zjson_b") % of JSON)" "" ""
row "wire: CBOR batches, compress=no" "$(bpr "$nz_bytes") B/rec ($nz_pct % of JSON)" "<= $GOAL_RAW %" \
    "$(verdict "$nz_pct" "<=" "$GOAL_RAW")"
row "wire: CBOR batches, zstd" "$(bpr "$z_bytes") B/rec ($z_pct % of JSON)" "<= $GOAL_ZSTD %" \
    "$(verdict "$z_pct" "<=" "$GOAL_ZSTD")"
row "  zstd batches vs gzip'd JSON lines" "${z_vs_gzip}x" "< 1.0x" "$(verdict "$z_vs_gzip" "<" 1)"
row "  certificate in each batch" "$cert_b B ($(calc "printf \"%.1f\", $cert_b * $z_batches / $N") B/rec at $(calc "printf \"%.0f\", $z_recs / $z_batches") rec/batch)" "" ""
row "baseline: mosquitto_pub -q 1 -l" "$base0_rate msg/s ($base0_ms ms; $(range "$b0_ms") ms), no subscriber" "" ""
row "  with a QoS 1 subscriber" "$base1_rate msg/s ($base1_ms ms; $(range "$b1_ms") ms), $base1_got delivered" "" ""
row "drain, compress=no" "$nz_rate rec/s ($(median "$nz_ms") ms; $(range "$nz_ms") ms)" "" ""
row "  batches" "$(batches_cell "$nz_batches" "$nz_recs" "$nz_resent")" "" ""
row "drain, zstd (the default config)" "$z_rate rec/s ($(median "$z_ms") ms; $(range "$z_ms") ms)" "" ""
row "  batches" "$(batches_cell "$z_batches" "$z_recs" "$z_resent")" "" ""
row "  CPU agent / hub / broker" "$(secs "$z_cpu_agent") / $(secs "$z_cpu_hub") / $(secs "$z_cpu_broker") s ($(us_rec "$z_cpu_agent") / $(us_rec "$z_cpu_hub") / $(us_rec "$z_cpu_broker") us/rec)" "" ""
row "  acked rec/s over baseline msg/s" "${speedup}x (vs $base_what, the faster)" ">= ${GOAL_SPEEDUP}x" "$(verdict "$speedup" ">=" "$GOAL_SPEEDUP")"
row "drain, zstd, 2000 rec/256 KiB batches" "$big_rate rec/s ($big_ms ms, 1 round), $(bpr "$big_bytes") B/rec" "" ""
row "  batches" "$(batches_cell "$big_batches" "$big_recs" "$big_resent")" "" ""
row "agent instructions per synced record" "${cg_ipr:-$cg_note}" "" ""
echo "(wire bytes: the agent's bytes_sent, MQTT payloads incl. envelope, signature and certificate;"
echo " drain: agent start to acked_through == $N, polled every 50 ms; baseline: until mosquitto_pub exits;"
echo " times: median; min-max of the rounds)"

[ "${cg_failed:-0}" -eq 0 ] || exit 1
exit 0
