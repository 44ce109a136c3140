#!/bin/sh
# storelink scan: barcode scanners recording into the journal, through the
# user's path (a config file with [scanner.NAME] sections, the CLI, the
# journal read back with `journal list --json`).
#   serial: a pseudo-terminal pair made by build/tests/scanfeed (posix_openpt);
#           split reads, CRLF, QTY codes, bad check digits, a card number, an
#           overlong line, and hot-plug (the pair closed and made again)
#   evdev:  the same key decoder fed struct input_event records through a FIFO
#           (type = pipe, format = input_event), and through /dev/uinput where
#           the machine has it (a TAP skip, not a pass, where it does not)
#   modes:  count (end code, idle timeout, expected on-hand from the stock
#           catalog), damage, lookup (answers into an output file)
. "$(dirname "$0")/lib.sh"
plan 72

FEED="$SL_BUILD/tests/scanfeed"
CATFEED="$SL_BUILD/tests/catalog_feed"
A=4006381333931
B=5901234123457
C=96385074
# wait_for FILE PATTERN: up to 10 s for a line matching PATTERN (grep -E)
wait_for() {
    i=0
    while ! grep -Eq -- "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 100 ] && return 1
        sleep 0.1
    done
    return 0
}
# records COUNT: up to 10 s until the journal holds COUNT records
records() {
    i=0
    while [ "$(sl journal list --json 2>/dev/null | wc -l)" -lt "$1" ]; do
        i=$((i + 1))
        [ $i -gt 100 ] && return 1
        sleep 0.1
    done
    return 0
}
# start_scan CONF NAME: storelink scan in the background (pid in $SCAN_PID)
start_scan() {
    : > "$TMP/scan.out"
    : > "$TMP/scan.err"
    STORELINK_CONFIG= "$SL_BIN" --config "$1" --state-dir "$TMP/state" scan --scanner "$2" \
        > "$TMP/scan.out" 2> "$TMP/scan.err" &
    SCAN_PID=$!
}
# stop_scan: SIGTERM, the exit code in $SCAN_RC
stop_scan() {
    kill -TERM "$SCAN_PID"
    wait "$SCAN_PID"
    SCAN_RC=$?
}
rec_line() { sl journal list --json | sed -n "${1}p"; }

# --- configuration --------------------------------------------------------------------
STORELINK_CONFIG= "$SL_BIN" --state-dir "$TMP/state" --config "$TMP/none.conf" scan \
    > /dev/null 2> "$TMP/err"
is "$?" 78 "scan with no scanner sections: exit 78"
like "$(cat "$TMP/err")" "no \[scanner\.NAME\] section in" "says that no scanner is configured"
cat > "$TMP/bad.conf" <<EOF
[scanner.dock1]
device = /dev/ttyACM0
type = serial
mode = recieve
EOF
STORELINK_CONFIG= "$SL_BIN" --config "$TMP/bad.conf" --state-dir "$TMP/state" scan 2> "$TMP/err"
is "$?" 78 "a bad mode: exit 78"
is "$(cat "$TMP/err")" \
    "storelink: $TMP/bad.conf:4: scanner.dock1.mode: must be receive, count, damage or lookup" \
    "the error names file, line, scanner, key and the allowed values"
printf '[scanner.dock1]\ntype = serial\n' > "$TMP/bad.conf"
STORELINK_CONFIG= "$SL_BIN" --config "$TMP/bad.conf" --state-dir "$TMP/state" scan 2> "$TMP/err"
is "$?" 78 "a scanner without a device: exit 78"
like "$(cat "$TMP/err")" "scanner\.dock1: device: is required" "names the missing key"
printf '[scanner.dock1]\ndevice = /x\ntype = serial\nbaud = 9601\n' > "$TMP/bad.conf"
STORELINK_CONFIG= "$SL_BIN" --config "$TMP/bad.conf" --state-dir "$TMP/state" scan 2> "$TMP/err"
like "$(cat "$TMP/err")" "scanner\.dock1\.baud: must be one of 1200, .*115200" "an unsupported baud rate"
printf '[scanner.d1]\ndevice = /x\ntype = pipe\nmode = count\ncount_idle = 0\n' > "$TMP/bad.conf"
STORELINK_CONFIG= "$SL_BIN" --config "$TMP/bad.conf" --state-dir "$TMP/state" scan 2> "$TMP/err"
like "$(cat "$TMP/err")" "a count never ends" "count mode needs an end code or an idle timeout"
is "$(ls "$TMP/state" 2>/dev/null)" "" "bad configuration: nothing written"
printf '[scanner.d1]\ndevice = /x\ntype = pipe\nmode = receive\nbaudrate = 9600\n' > "$TMP/bad.conf"
STORELINK_CONFIG= "$SL_BIN" --config "$TMP/bad.conf" --state-dir "$TMP/state" scan --bogus \
    2> "$TMP/err"
is "$?" 64 "an unknown option: exit 64"
STORELINK_CONFIG= "$SL_BIN" --config "$TMP/bad.conf" --state-dir "$TMP/state" journal list \
    > /dev/null 2> "$TMP/err"
unlike "$(cat "$TMP/err")" "baudrate" "other commands do not read scanner sections"

# --- serial through a pseudo-terminal pair --------------------------------------------
mkfifo "$TMP/pty.in"
"$FEED" pty "$TMP/ttyScanner" < "$TMP/pty.in" > "$TMP/feed.out" 2> "$TMP/feed.err" &
FEED_PID=$!
exec 4> "$TMP/pty.in"
wait_for "$TMP/feed.out" '^ready$'
ok $? "scanfeed made a pseudo-terminal pair"
cat > "$TMP/serial.conf" <<EOF
[device]
device_id = device-1
[scanner.dock1]
device = $TMP/ttyScanner
type = serial
baud = 115200
mode = receive
location = dock 1
EOF
# the other commands take a config with scanner sections without a warning
sl_c() { STORELINK_CONFIG= "$SL_BIN" --config "$TMP/serial.conf" --state-dir "$TMP/state" "$@"; }
sl_c journal list > /dev/null 2> "$TMP/err"
unlike "$(cat "$TMP/err")" "unknown key|scanner" "[scanner.NAME] sections are known to the main config parser"
STORELINK_CONFIG= "$SL_BIN" --config "$TMP/serial.conf" --state-dir "$TMP/state" scan \
    --scanner dock9 2> "$TMP/err"
is "$?" 64 "--scanner with an unknown name: exit 64"

start_scan "$TMP/serial.conf" dock1
wait_for "$TMP/scan.out" "scanner dock1: opened $TMP/ttyScanner \(receive mode\)"
ok $? "scan opened the serial scanner"
printf '%s\n' "$A\\r\\n" >&4
printf '%s\n' "59012341" >&4          # a line split across writes and reads
printf '%s\n' "!sleep 150" >&4
printf '%s\n' "23457\\r" >&4
printf '%s\n' "!sleep 150" >&4
printf '%s\n' "\\nQTY3\\r\\n$C\\n" >&4
printf '%s\n' "4006381333932\\r\\n" >&4
printf '%s\n' "4111111111111111\\r\\n" >&4
printf '%s\n' "$(printf '%0200d' 7)\\r\\n" >&4
printf '%s\n' "AB\\x01CD\\r\\n" >&4
records 3
ok $? "three scans recorded"
out=$(sl journal list --json)
is "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 3 "exactly three records"
like "$(rec_line 1)" "\"kind\":\"adjustment\",\"txn_id\":\"scan-dock1-[0-9a-z]+-1\",.*\"reason\":\"receive\",\"location\":\"dock 1\",\"lines\":\[\{\"sku\":\"$A\",\"qty\":1\}\]" \
    "scan 1: receive +1 at dock 1 with a scanner txn id"
like "$(rec_line 2)" "\"sku\":\"$B\",\"qty\":1\}" "scan 2: the line split across reads"
like "$(rec_line 3)" "\"sku\":\"$C\",\"qty\":3\}" "scan 3: QTY3 then the item: +3"
wait_for "$TMP/scan.err" "longer than 128 bytes"
like "$(cat "$TMP/scan.err")" "scan dropped: barcode: bad GS1 check digit" "a bad check digit is logged"
like "$(cat "$TMP/scan.err")" "scan dropped: sku: looks like a payment card number" \
    "a card number is logged as such"
unlike "$(cat "$TMP/scan.err")" "4111|4006381333932|ABCD|AB.CD" "rejected payloads are not echoed"
like "$(cat "$TMP/scan.err")" "scan dropped: longer than 128 bytes" "an overlong line is dropped"
like "$(cat "$TMP/scan.out")" "receive $C \+3 seq 3" "progress on stdout"

# hot-plug: the scanner goes away and comes back
printf '%s\n' "!hangup" >&4
wait_for "$TMP/scan.err" "ttyScanner went away; waiting for it to come back"
ok $? "unplugged: reported"
printf '%s\n' "!plug" >&4
wait_for "$TMP/scan.out" "scanner dock1: reopened $TMP/ttyScanner"
ok $? "plugged in again: reopened without a restart"
printf '%s\n' "$B\\r" >&4
records 4
ok $? "a scan after the reopen is recorded"
like "$(rec_line 4)" "\"txn_id\":\"scan-dock1-[0-9a-z]+-4\",.*\"sku\":\"$B\",\"qty\":1\}" \
    "its txn id continues the device's sequence"
stop_scan
is "$SCAN_RC" 0 "SIGTERM: exit 0"
is "$(tail -n 1 "$TMP/scan.out")" \
    "scanner dock1: 9 scans, 4 recorded, 4 rejected (1 bad check digit), 0 lookups, 0 failed" \
    "the summary line"
exec 4>&-
wait "$FEED_PID"
ok $? "scanfeed finished"
like "$(sl journal verify --json)" '^\{"intact":true,"checked":4,' "journal chain intact"

# --- evdev decoding: struct input_event records through a FIFO -------------------------
mkfifo "$TMP/kbd"
cat > "$TMP/kbd.conf" <<EOF
[scanner.wedge]
device = $TMP/kbd
type = pipe
format = input_event
mode = damage
location = back room
EOF
start_scan "$TMP/kbd.conf" wedge
exec 5> "$TMP/kbd"
wait_for "$TMP/scan.out" "scanner wedge: opened"
ok $? "scan opened the FIFO"
printf '%s\n' "SHELF-A12" "QTY2" "$A" "40063\\x0181333931" "Back-Room_9!" | "$FEED" events >&5
records 7
ok $? "three key-event scans recorded"
like "$(rec_line 5)" "\"reason\":\"damage\",\"location\":\"back room\",\"lines\":\[\{\"sku\":\"SHELF-A12\",\"qty\":-1\}\]" \
    "shifted letters and '-': damage -1"
like "$(rec_line 6)" "\"sku\":\"$A\",\"qty\":-2\}" "QTY2 typed on the wedge: damage -2"
like "$(rec_line 7)" "\"sku\":\"Back-Room_9!\",\"qty\":-1\}" "shifted symbols"
wait_for "$TMP/scan.err" "a key or byte with no character"
ok $? "a scan with an unknown key is dropped whole"
stop_scan
exec 5>&-
is "$SCAN_RC" 0 "exit 0"

# --- evdev through /dev/uinput -----------------------------------------------------------
if [ -c /dev/uinput ]; then
    mkfifo "$TMP/ui.in"
    "$FEED" uinput < "$TMP/ui.in" > "$TMP/ui.out" 2> "$TMP/ui.err" &
    UI_PID=$!
    exec 6> "$TMP/ui.in"
    if wait_for "$TMP/ui.out" '^/dev/input/event'; then
        dev=$(head -n 1 "$TMP/ui.out")
        printf '[scanner.hid]\ndevice = %s\ntype = evdev\nmode = receive\n' "$dev" > "$TMP/ui.conf"
        start_scan "$TMP/ui.conf" hid
        wait_for "$TMP/scan.out" "scanner hid: opened"
        ok $? "evdev: the uinput keyboard opened and grabbed"
        echo "$C" >&6
        records 8
        ok $? "evdev: a scan typed on a uinput keyboard is recorded"
        like "$(rec_line 8)" "\"reason\":\"receive\".*\"sku\":\"$C\",\"qty\":1\}" "evdev: receive +1"
        stop_scan
        is "$SCAN_RC" 0 "evdev: exit 0"
    else
        for t in 1 2 3 4; do skip "/dev/uinput present but unusable: $(cat "$TMP/ui.err")"; done
    fi
    exec 6>&-
    wait "$UI_PID" 2>/dev/null
else
    for t in 1 2 3 4; do skip "/dev/uinput is not available on this machine (key decoding: test_scanner and the FIFO tests above)"; done
fi
n_before=$(sl journal list --json | wc -l)

# --- count mode: end code, expected on-hand, idle timeout -------------------------------
"$CATFEED" --keygen "$TMP/cat.key" "$TMP/cat.pub"
NOW=$(($(date +%s) * 1000))
"$CATFEED" --build "$TMP/cat.key" "$TMP/s1.msg" type=stock scope=store-1 version=1 \
    issued=$NOW item=$A,40000 "wm=device-1,$n_before"
is "$("$CATFEED" "$TMP/state" "$TMP/cat.pub" "$TMP/s1.msg" device-1 store-1)" \
    "applied stock store-1 v1" "a stock catalog: $A has 40 on hand"
mkfifo "$TMP/count"
cat > "$TMP/count.conf" <<EOF
[device]
device_id = device-1
[scanner.aisle]
device = $TMP/count
type = pipe
mode = count
location = aisle 7
end_code = COUNT-END
count_idle = 4
EOF
start_scan "$TMP/count.conf" aisle
exec 7> "$TMP/count"
wait_for "$TMP/scan.out" "scanner aisle: opened"
printf '%s\n' "$A" "$A" "QTY12" "$B" "$A" > "$TMP/count.in"
cat "$TMP/count.in" >&7
wait_for "$TMP/scan.out" "count $A: 3 \(2 SKUs"
ok $? "scans accumulate"
is "$(sl journal list --json | wc -l)" "$n_before" "nothing recorded before the end code"
echo "COUNT-END" >&7
records $((n_before + 1))
ok $? "the end code commits one count adjustment"
like "$(rec_line $((n_before + 1)))" "\"reason\":\"count\",\"location\":\"aisle 7\",\"lines\":\[\{\"sku\":\"$A\",\"qty\":3,\"expected\":40\},\{\"sku\":\"$B\",\"qty\":12\}\]" \
    "counted figures; expected on-hand from the stock catalog where it has one"
like "$(sl stock $A)" '^on hand +3$' "the count resets on-hand"
# idle timeout: one scan, then nothing for count_idle (4 s: long enough that the checks above, slow under qemu, run before it)
echo "$C" >&7
records $((n_before + 2))
ok $? "idle timeout commits the count"
like "$(rec_line $((n_before + 2)))" "\"reason\":\"count\",.*\"lines\":\[\{\"sku\":\"$C\",\"qty\":1\}\]" \
    "the idle-committed count"
like "$(cat "$TMP/scan.out")" "count committed \(idle timeout\): 1 SKU" "says why it committed"
# stopped in the middle of a count: not committed
echo "$A" >&7
wait_for "$TMP/scan.out" "count $A: 1 \(1 SKU"
stop_scan
exec 7>&-
is "$SCAN_RC" 0 "exit 0"
like "$(cat "$TMP/scan.err")" "count with 1 SKU not committed" "a count cut short is reported, not recorded"
is "$(sl journal list --json | wc -l)" "$((n_before + 2))" "nothing more recorded"

# --- lookup mode: price and stock, into an output file ---------------------------------
"$CATFEED" --build "$TMP/cat.key" "$TMP/p1.msg" type=prices scope=store-1 version=3 \
    kind=snapshot issued=$NOW item=$A,199,EUR,0
"$CATFEED" "$TMP/state" "$TMP/cat.pub" "$TMP/p1.msg" device-1 store-1 > /dev/null
mkfifo "$TMP/look"
cat > "$TMP/look.conf" <<EOF
[scanner.info]
device = $TMP/look
type = pipe
mode = lookup
output = $TMP/answers
EOF
start_scan "$TMP/look.conf" info
exec 8> "$TMP/look"
wait_for "$TMP/scan.out" "scanner info: opened"
printf '%s\n' "$A" "$C" >&8
wait_for "$TMP/answers" "^info: $C"
ok $? "lookup answers written"
is "$(cat "$TMP/answers")" "info: $A price 1.99 EUR (prices v3), on hand 3 (stock v1)
info: $C price unknown, on hand unknown" "price and on-hand per scan"
stop_scan
exec 8>&-
is "$SCAN_RC" 0 "exit 0"
is "$(sl journal list --json | wc -l)" "$((n_before + 2))" "lookup records nothing"
like "$(tail -n 1 "$TMP/scan.out")" "scanner info: 2 scans, 0 recorded, 0 rejected .*2 lookups" \
    "lookup summary"

# --- lookup answers back to a serial scanner (output = device) -------------------------
mkfifo "$TMP/pty2.in"
"$FEED" pty "$TMP/ttyLook" < "$TMP/pty2.in" > "$TMP/feed2.out" 2>&1 &
FEED2_PID=$!
exec 4> "$TMP/pty2.in"
wait_for "$TMP/feed2.out" '^ready$'
printf '[scanner.desk]\ndevice = %s/ttyLook\ntype = serial\nmode = lookup\noutput = device\n' \
    "$TMP" > "$TMP/desk.conf"
start_scan "$TMP/desk.conf" desk
wait_for "$TMP/scan.out" "scanner desk: opened"
printf '%s\n' "$A\\r" >&4
wait_for "$TMP/feed2.out" "^desk: $A"
ok $? "the answer goes back to the serial scanner"
is "$(sed -n 2p "$TMP/feed2.out")" "desk: $A price 1.99 EUR (prices v3), on hand 3 (stock v1)" \
    "the answer line on the device"
unlike "$(cat "$TMP/scan.out")" "desk: $A price" "and not on stdout"
stop_scan
exec 4>&-
wait "$FEED2_PID"
printf '[scanner.d]\ndevice = /x\ntype = pipe\nmode = lookup\noutput = device\n' > "$TMP/bad.conf"
STORELINK_CONFIG= "$SL_BIN" --config "$TMP/bad.conf" --state-dir "$TMP/state" scan 2> "$TMP/err"
like "$(cat "$TMP/err")" "output = device: only for type serial" "output = device needs a serial scanner"

# --- a regular file is not a scanner: it would be read again at every reopen -----------
printf '%s\n' "$A" > "$TMP/plain.txt"
printf '[scanner.file]\ndevice = %s/plain.txt\ntype = pipe\ncolour = red\n' "$TMP" > "$TMP/file.conf"
n_now=$(sl journal list --json | wc -l)
start_scan "$TMP/file.conf" file
wait_for "$TMP/scan.err" "plain.txt is not a FIFO \(type pipe\); retrying"
ok $? "type pipe on a regular file is refused"
like "$(cat "$TMP/scan.err")" "\[scanner\.file\]: unknown key 'colour'" "an unknown scanner key is warned about"
sleep 1.2
stop_scan
is "$(sl journal list --json | wc -l)" "$n_now" "nothing recorded from it"

# --- a device missing at start is waited for -------------------------------------------
printf '[scanner.late]\ndevice = %s/late\ntype = pipe\n' "$TMP" > "$TMP/late.conf"
start_scan "$TMP/late.conf" late
wait_for "$TMP/scan.err" "late is not there; waiting for it"
ok $? "a missing device is reported"
mkfifo "$TMP/late"
exec 9> "$TMP/late"
wait_for "$TMP/scan.out" "scanner late: opened"
ok $? "and opened once it appears"
echo "$B" >&9
records $((n_before + 3))
ok $? "its scan is recorded"
stop_scan
exec 9>&-
is "$SCAN_RC" 0 "exit 0"
done_testing
