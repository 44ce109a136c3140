#!/bin/sh
# The INI configuration: unknown keys warn with a suggestion, invalid values
# fail with exit 78 naming file, line and key, state_dir is honoured and
# --state-dir overrides it; the shipped sample parses cleanly.
. "$(dirname "$0")/lib.sh"
plan 27

SAMPLE="$(cd "$(dirname "$0")/../.." && pwd)/docs/storelink.conf.sample"
EV='{"kind":"adjustment","txn_id":"CFG-1","reason":"receive","lines":[{"sku":"4006381333931","qty":4}]}'
EV2='{"kind":"adjustment","txn_id":"CFG-2","reason":"receive","lines":[{"sku":"4006381333931","qty":5}]}'
# slc CONFIG ARGS...: no --state-dir unless given in ARGS
slc() { c=$1; shift; STORELINK_CONFIG='' "$SL_BIN" --config "$c" "$@"; }

# --- unknown key: warning with a suggestion, still works ------------------------
printf '[journal]\nmax_dbmb = 4\n' > "$TMP/typo.conf"
out=$(printf '%s\n' "$EV" | slc "$TMP/typo.conf" --state-dir "$TMP/state" record 2>"$TMP/err")
is "$?" 0 "unknown key: the command still succeeds"
is "$out" "recorded seq 1 CFG-1" "unknown key: the event is recorded"
like "$(cat "$TMP/err")" "typo\\.conf.*max_dbmb.*did you mean 'max_db_mb'" "unknown key warns: did you mean 'max_db_mb'"
is "$(wc -l < "$TMP/err" | tr -d ' ')" 1 "one warning line"
printf 'colour = blue\n' > "$TMP/far.conf"
slc "$TMP/far.conf" --state-dir "$TMP/state" journal verify > /dev/null 2>"$TMP/err"
is "$?" 0 "a key unlike any other: still works"
like "$(cat "$TMP/err")" "unknown key 'colour'" "a key unlike any other: warned"
unlike "$(cat "$TMP/err")" "did you mean" "a key unlike any other: no suggestion"

# --- invalid values: exit 78, path:line: key: reason ------------------------------
printf '# storelink\n[device]\nstore_id = store-7\n\n[journal]\nmax_db_mb = abc\n' > "$TMP/bad.conf"
slc "$TMP/bad.conf" --state-dir "$TMP/state" journal verify > /dev/null 2>"$TMP/err"
is "$?" 78 "max_db_mb = abc: exit 78"
like "$(cat "$TMP/err")" "bad\\.conf:6: max_db_mb: " "names the file, line 6 and the key"
is "$(wc -l < "$TMP/err" | tr -d ' ')" 1 "one error line"
printf '[journal]\nmax_db_mb = 0\n' > "$TMP/zero.conf"
slc "$TMP/zero.conf" --state-dir "$TMP/state" journal verify > /dev/null 2>"$TMP/err"
is "$?" 78 "max_db_mb = 0: exit 78"
printf '[log]\nlog_level = loud\n' > "$TMP/lvl.conf"
slc "$TMP/lvl.conf" --state-dir "$TMP/state" journal verify > /dev/null 2>"$TMP/err"
is "$?" 78 "log_level = loud: exit 78"
like "$(cat "$TMP/err")" "lvl\\.conf:2: log_level: " "names line 2 and log_level"
printf '[device]\ndevice_id = till 1\n' > "$TMP/id.conf"
slc "$TMP/id.conf" --state-dir "$TMP/state" journal verify > /dev/null 2>"$TMP/err"
is "$?" 78 "device_id with a space: exit 78"
like "$(cat "$TMP/err")" "id\\.conf:2: device_id: " "names line 2 and device_id"
# an invalid config stops record before anything is written
printf '%s\n' "$EV2" | slc "$TMP/bad.conf" --state-dir "$TMP/state" record > /dev/null 2>&1
is "$?" 78 "record with an invalid config: exit 78"
is "$(sl journal list --json | wc -l | tr -d ' ')" 1 "... and nothing recorded"

# --- missing --config file --------------------------------------------------------
slc "$TMP/nope.conf" --state-dir "$TMP/state" journal verify > /dev/null 2>"$TMP/err"
is "$?" 78 "--config of a missing file: exit 78"
like "$(cat "$TMP/err")" "nope\\.conf" "the error names the missing file"

# --- state_dir from the file, --state-dir overrides ------------------------------
printf '[journal]\nstate_dir = %s\n' "$TMP/from-config" > "$TMP/dir.conf"
out=$(printf '%s\n' "$EV" | slc "$TMP/dir.conf" record 2>&1)
is "$out" "recorded seq 1 CFG-1" "record with state_dir from the config"
[ -f "$TMP/from-config/journal/data.mdb" ]
ok $? "the journal is created in the config's state_dir"
out=$(printf '%s\n' "$EV2" | slc "$TMP/dir.conf" --state-dir "$TMP/from-option" record 2>&1)
is "$out" "recorded seq 1 CFG-2" "--state-dir overrides the config's state_dir"
is "$(slc "$TMP/dir.conf" journal list --json | sed 's/.*"txn_id":"\([^"]*\)".*/\1/' | paste -sd ' ' -)" \
   "CFG-1" "the config's journal did not get the overridden event"
out=$(STORELINK_CONFIG="$TMP/dir.conf" "$SL_BIN" journal list --json | wc -l | tr -d ' ')
is "$out" 1 "STORELINK_CONFIG names the config when --config is absent"

# --- the shipped sample ----------------------------------------------------------
[ -f "$SAMPLE" ]
ok $? "docs/storelink.conf.sample exists"
printf '%s\n' "$EV" | slc "$SAMPLE" --state-dir "$TMP/sample-state" record > /dev/null 2>"$TMP/err"
is "$?|$(cat "$TMP/err")" "0|" "record with the sample config: exit 0, no warning"
missing=""
for k in device_id store_id state_dir max_db_mb log_level; do
    grep -Eq "^[#; ]*$k *=" "$SAMPLE" || missing="$missing $k"
done
is "$missing" "" "the sample documents every key"

done_testing
