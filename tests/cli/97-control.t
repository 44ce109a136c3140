#!/bin/sh
# The daemon's control socket through the CLI: `sync now` and `tail`
# without a daemon (exit 75), a second daemon on the same state directory
# refused, a stale socket from a killed daemon replaced, `sync now` cutting
# a long reconnect backoff short, `tail --json` following recorded -> sent
# -> acked, the peer check (another uid refused with exit 77 and a log
# line, then allowed through admin_group), the metrics file moving as
# records sync, and an idle daemon that does not spin.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/broker.sh"
. "$(dirname "$0")/../lib/sync.sh"
trap '[ -n "${TAIL_PID:-}" ] && kill "$TAIL_PID" 2>/dev/null; agent_kill dev-1; hub_kill hub-a; broker_stop; rm -rf "$TMP"' EXIT
plan 48

# jnum FILE KEY / jstr FILE KEY: a top-level field of a one-line JSON object
jnum() { sed -n "s/.*\"$2\":\\(-\\{0,1\\}[0-9.]*\\).*/\\1/p" "$1"; }
jstr() { sed -n "s/.*\"$2\":\"\\([^\"]*\\)\".*/\\1/p" "$1"; }
# metric NAME [LABELS]: the value of one sample in the metrics file
metric() { sed -n "s/^storelink_$1{device=\"dev-1\",store=\"s-1\"${2:-}} //p" "$TMP/metrics.prom"; }
now_ms() { date +%s%3N; }
STATE=$TMP/dev-1
SOCK=$STATE/control.sock

sync_setup
ok $? "broker started"
PORT=$BROKER_PORT
hub_conf hub-a
hub_start hub-a
agent_conf dev-1 "[status]
status_interval = 5
metrics_file = $TMP/metrics.prom"

# ---- no daemon ----------------------------------------------------------
out=$(ag dev-1 sync now 2>&1); rc=$?
is "$rc" 75 "sync now without a daemon: exit 75"
like "$out" "no storelink daemon is running \\(nothing answers on .*control.sock\\)" \
    "sync now without a daemon: says so"
out=$(ag dev-1 tail --json 2>&1); rc=$?
is "$rc" 75 "tail without a daemon: exit 75"
like "$out" "tail: no storelink daemon is running" "tail without a daemon: says so"

# ---- offline start, long backoff, sync now ------------------------------
broker_stop
gen_sales OFF 1 3 | ag dev-1 record > /dev/null
agent_start dev-1
wait_for 10 '[ -S "$SOCK" ]'
ok $? "daemon listens on \$state_dir/control.sock"
is "$(stat -c %a "$SOCK")" 660 "control socket mode 0660"
out=$(ag dev-1 run 2>&1); rc=$?
is "$rc" 73 "a second daemon on the same state directory: exit 73"
like "$out" "another storelink daemon is running" "a second daemon: clear error"
wait_for 10 '[ -f "$TMP/metrics.prom" ]'
ok $? "metrics file written"
bad=$(grep -v '^#' "$TMP/metrics.prom" |
      grep -Evc '^storelink_[a-z_]+\{device="dev-1",store="s-1"(,type="(prices|stock)")?\} -?[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?$')
is "$bad" 0 "every metrics sample line is name{labels} value"
is "$(grep -c '^# TYPE storelink_' "$TMP/metrics.prom")" "$(grep -vc '^#' "$TMP/metrics.prom")" \
    "a # TYPE line for each metric"
is "$(metric backlog_records)" 3 "metrics offline: backlog 3"
is "$(metric connected)" 0 "metrics offline: connected 0"
is "$(metric up)" 1 "metrics: up 1"
age=$(metric oldest_unacked_age_seconds)
ok "$(awk -v a="$age" 'BEGIN { print (a > 0) ? 0 : 1 }')" "metrics offline: oldest unacked age > 0 ($age s)"

# five refused attempts: the wait before the sixth is 8-16 s
wait_for 40 '[ "$(grep -c "refused" "$TMP/dev-1.log")" -ge 5 ]'
ok $? "agent retried the absent broker five times"
sleep 1.5   # daemon.json follows a change within a second
left=$(( $(jnum "$STATE/daemon.json" reconnect_at_ms) - $(now_ms) ))
ok "$([ "$left" -gt 5000 ] && echo 0 || echo 1)" "daemon.json: next attempt in ${left} ms (> 5 s)"
is "$(jstr "$STATE/daemon.json" last_error_class)" "connection refused" \
    "daemon.json: last_error_class in plain words"
like "$(jstr "$STATE/daemon.json" last_error)" "connection to localhost:$PORT refused" \
    "daemon.json: last_error keeps the detail"
at=$(jnum "$STATE/daemon.json" reconnect_at_ms)
broker_start "$TMP/pki" "$PORT"
t0=$(now_ms)
ag dev-1 sync now --json > "$TMP/syncnow.out"; rc=$?
is "$rc" 0 "sync now: exit 0"
skipped=$(jnum "$TMP/syncnow.out" skipped_wait_ms)
ok "$([ "${skipped:-0}" -gt 1000 ] && echo 0 || echo 1)" "sync now skipped ${skipped} ms of backoff"
# normally within a second; the bound is loose for a loaded machine, the
# proof is that the connection came before the scheduled attempt
wait_for 10 'grep -q "\"connection\":\"connected\"" "$STATE/daemon.json"'
ok $? "connected $(( $(now_ms) - t0 )) ms after sync now"
since=$(jnum "$STATE/daemon.json" since_ms)
ok "$([ "$since" -lt "$at" ] && echo 0 || echo 1)" \
    "connected $(( at - since )) ms before the backoff's next attempt was due"
wait_for 15 '[ "$(acked dev-1)" = 3 ]'
ok $? "the 3 offline records acknowledged"
wait_for 5 '[ "$(metric acked_records_total)" = 3 ] && [ "$(metric connected)" = 1 ]'
ok $? "metrics after the sync: acked_records_total 3, connected 1"
is "$(metric backlog_records)" 0 "metrics after the sync: backlog 0"
like "$(ag dev-1 sync now)" "^already connected to localhost:$PORT, 0 record\\(s\\) pending" \
    "sync now while connected: says so"

# the retained status comes again every status_interval (5 s here) while
# idle: the retained copy on subscribing, then a fresh one within 5 s
# shellcheck disable=SC2046
n=$(timeout 12 mosquitto_sub $(broker_client_opts "$TMP/pki" hub) -t 'storelink/v1/s-1/dev-1/status' \
    -C 2 -W 10 -F '%t' 2>/dev/null | wc -l | tr -d ' ')
is "$n" 2 "status republished every status_interval while idle"

# ---- tail --json: recorded -> sent -> acked ------------------------------
STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/dev-1.conf" tail --json > "$TMP/tail.out" 2>&1 &
TAIL_PID=$!
wait_for 5 'grep -q "\"event\":\"following\"" "$TMP/tail.out"'
ok $? "tail --json: following"
gen_sales TL 1 5 | ag dev-1 record > /dev/null
wait_for 15 'grep -q "\"event\":\"acked\",.*\"acked_through\":8" "$TMP/tail.out"'
ok $? "tail --json: acked through 8"
is "$(grep -c '"event":"recorded"' "$TMP/tail.out")" 5 "tail --json: 5 recorded events"
like "$(grep '"event":"recorded"' "$TMP/tail.out" | head -n 1)" \
    '^\{"event":"recorded","ts":[0-9]{13},"seq":4,"kind":"sale","txn_id":"TL-000001"\}$' \
    "recorded: seq, kind, txn_id and ts only"
like "$(grep '"event":"sent"' "$TMP/tail.out" | head -n 1)" \
    '"first":4,"last":[0-9]+,"records":[0-9]+,"bytes":[0-9]+' "sent: batch range, records, bytes"
order=$(grep -n '"event":"\(recorded\|sent\|acked\)"' "$TMP/tail.out" |
        sed 's/^\([0-9]*\):.*"event":"\([a-z]*\)".*/\2/' | uniq | tr '\n' ' ')
like "$order" "^recorded (sent )?.*acked" "order: recorded before sent before acked ($order)"
unlike "$(cat "$TMP/tail.out")" '"(lines|tenders|amount|unit_price|sku)"' "no line or payment data in tail"
kill -INT "$TAIL_PID"; wait "$TAIL_PID"; rc=$?; TAIL_PID=
is "$rc" 0 "tail: SIGINT ends it with exit 0"

# ---- peer check -----------------------------------------------------------
# The tests run as root, which the daemon always allows, so the client runs
# as nobody (uid/gid 65534).  The state directory is 0700 and the socket
# 0660 root:root, which would stop nobody at the file system already; open
# them up here so the daemon's own SO_PEERCRED check is what is tested.
chmod 0755 "$TMP"; chmod 0711 "$STATE"; chmod 0644 "$TMP/dev-1.conf"; chmod 0666 "$SOCK"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
out=$(as_nobody "$SL_BIN" --config "$TMP/dev-1.conf" sync now 2>&1); rc=$?
is "$rc" 77 "another uid: sync now exit 77"
like "$out" "not authorized on the control socket" "another uid: not authorized"
out=$(as_nobody "$SL_BIN" --config "$TMP/dev-1.conf" tail 2>&1); rc=$?
is "$rc" 77 "another uid: tail exit 77"
like "$(cat "$TMP/dev-1.log")" "control: refused uid 65534 \\(pid [0-9]+\\)" "daemon log names the refused uid and pid"

# admin_group: the same uid is allowed as a member (primary or supplementary)
STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/dev-1.conf" tail > "$TMP/tail2.out" 2>&1 &
TAIL_PID=$!
wait_for 5 'grep -q "following" "$TMP/tail2.out"'
agent_stop dev-1
wait "$TAIL_PID"; rc=$?; TAIL_PID=
is "$rc" 75 "tail: the daemon stopping ends it with exit 75"
like "$(tr "\n" " " < "$TMP/tail2.out")" "following +journal at seq 8.*closed the connection" \
    "tail (human): following line, then the daemon closed the connection"
printf '[control]\nadmin_group = nogroup\n' >> "$TMP/dev-1.conf"
agent_start dev-1
wait_for 10 '[ -S "$SOCK" ]' && chmod 0666 "$SOCK"
out=$(as_nobody "$SL_BIN" --config "$TMP/dev-1.conf" sync now 2>&1); rc=$?
is "$rc" 0 "admin_group nogroup: uid 65534 with primary gid 65534 allowed ($out)"
out=$(setpriv --reuid=65534 --regid=1 --groups=65534 "$SL_BIN" --config "$TMP/dev-1.conf" sync now 2>&1); rc=$?
is "$rc" 0 "admin_group nogroup: allowed through a supplementary group ($out)"

# ---- stale socket; idle daemon -------------------------------------------
agent_kill dev-1
ok "$([ -S "$SOCK" ] && echo 0 || echo 1)" "SIGKILL leaves the socket file behind"
agent_start dev-1
wait_for 10 'ag dev-1 sync now >/dev/null 2>&1'
ok $? "a new daemon replaces the stale socket and answers"
wait_for 10 'grep -q "\"connection\":\"connected\"" "$STATE/daemon.json"'
sleep 1
pid=$(jnum "$STATE/daemon.json" pid)
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
c0=$(cpu); sleep 3; c1=$(cpu)
ok "$([ $((c1 - c0)) -le 5 ] && echo 0 || echo 1)" "idle daemon: $((c1 - c0)) CPU ticks in 3 s"
done_testing
