#!/bin/sh
# storelink close-day and report day: a business day in Europe/Berlin
# ending at 04:00 across the spring DST change, double close refused, a
# late record going to the next day, clock-untrusted records counted, and a
# record altered after the close caught by the report.
. "$(dirname "$0")/lib.sh"
plan 38

printf '[day]\ntimezone = Europe/Berlin\nday_end = 04:00\n' > "$TMP/day.conf"
d() { STORELINK_CONFIG= "$SL_BIN" --config "$TMP/day.conf" --state-dir "$TMP/state" "$@"; }

# 2026-03-28 business day = [2026-03-28T03:00Z, 2026-03-29T02:00Z): 23 hours,
# the clocks go forward at 01:00Z on the 29th
sale() {  # sale TXN TS METHOD PRICE
    printf '{"kind":"sale","txn_id":"%s","ts":%s,"currency":"EUR","lines":[{"sku":"4006381333931","qty":2,"unit_price":%s,"tax":38}],"tenders":[{"method":"%s","amount":%s}]}\n' \
        "$1" "$2" "$4" "$3" $(($4 * 2 + 38))
}
{
    sale S-1 1774692000000 card 199          # 10:00Z on the 28th
    sale S-2 1774744200000 voucher 500       # 01:30 CET on the 29th: still the 28th
    printf '{"kind":"return","txn_id":"R-1","ts":1774745000000,"currency":"EUR","original_txn_id":"S-1","lines":[{"sku":"4006381333931","qty":1,"unit_price":199,"tax":19,"disposition":"restock"}],"refunds":[{"method":"card","amount":218}]}\n'
    printf '{"kind":"adjustment","txn_id":"A-1","ts":1774745100000,"reason":"shrink","lines":[{"sku":"4006381333931","qty":-1.5}]}\n'
    sale S-3 1774749600000 card 300          # 04:00 CEST on the 29th: the 29th
} > "$TMP/day1.jsonl"
d record < "$TMP/day1.jsonl" > /dev/null
is "$?" 0 "five events recorded"

out=$(d report day --date 2026-03-28)
is "$?" 0 "report of an open day exits 0"
like "$out" "status +open" "the day is open"
like "$out" "records +4 \(seq 1\.\.4\), 0 with an untrusted clock" "01:30 local after midnight belongs to the 28th, 04:00 CEST does not"
like "$out" "sales +2 +14\.74 EUR +tax 0\.76 EUR" "sales total and tax"
like "$out" "returns +1 +2\.18 EUR" "returns total"
like "$out" "tender voucher +1 +10\.38 EUR" "per tender method"
like "$out" "adj shrink +1 +-1\.500 units" "units adjusted per reason"

out=$(d close-day --date 2026-03-28)
is "$?" 0 "close-day exits 0"
is "$out" "closed business day 2026-03-28 as seq 6: 4 records (seq 1..4)" "close-day names the close and its records"
out=$(d close-day --date 2026-03-28 2>&1)
is "$?" 65 "closing the same day twice exits 65"
is "$out" "storelink: close-day: business day 2026-03-28 is already closed (seq 6)" "and says it is closed"
is "$(d journal list --json | grep -c '"kind":"day_close"')" 1 "only one close in the journal"
out=$(d close-day --date 2026-03-27 2>&1)
is "$?" 65 "an earlier day cannot be closed after a later one"
like "$out" "a later day \(2026-03-28, seq 6\) is already closed" "and the error says why"

# a sale dated on the 28th arrives after its close: it goes to the next day
sale S-LATE 1774700000000 cash 100 | d record > /dev/null
out=$(d report day --date 2026-03-28)
is "$?" 0 "the closed day still matches its close after a late record"
like "$out" "status +closed, journal matches the close \(close seq 6\)" "report says the journal matches"
like "$out" "records +4 \(seq 1\.\.4\)" "the late record is not in the closed day"
out=$(d report day --date 2026-03-29 --json)
like "$out" '"closed":false' "the 29th is open"
like "$out" '"first_seq":5,"last_seq":7,"records":2' "the 29th holds its own sale and the late one"

# clock trust: injected through the platform layer
sale S-U 1774760000000 card 100 | STORELINK_CLOCK_STATE=unsynced d record > /dev/null
like "$(d journal show 8 --json)" '"clock_unsynced":true' "a record made with an unsynchronised clock is flagged"
sale S-J 1774760100000 card 100 | STORELINK_CLOCK_STATE=jump d record > /dev/null
like "$(d journal show 9 --json)" '"clock_jump":true' "a record made after a clock jump is flagged"
out=$(d close-day --date 2026-03-29 --json)
is "$?" 0 "close of the 29th"
like "$out" '"records":4,"clock_untrusted":2' "the Z-report counts the clock-untrusted records"
like "$(d report day --date 2026-03-29)" "records +4 \(seq 5\.\.9\), 2 with an untrusted clock" "the report counts them too"
d journal verify > /dev/null
is "$?" 0 "journal intact with closes and flagged records"

# change one byte of a closed day's sale (voucher -> voucheX): the tender
# as the sale stores it is ["voucher", 1038], CBOR 82 67 "voucher"
cp -R "$TMP/state" "$TMP/state.t"
db="$TMP/state.t/journal/data.mdb"
off=$(LC_ALL=C grep -obUaP '\x82\x67voucher' "$db" | head -n 1 | cut -d: -f1)
[ -n "$off" ]
ok $? "the sale's voucher tender found in data.mdb"
printf 'X' | dd of="$db" bs=1 seek=$((off + 8)) count=1 conv=notrunc 2>/dev/null
out=$(STORELINK_CONFIG= "$SL_BIN" --config "$TMP/day.conf" --state-dir "$TMP/state.t" report day --date 2026-03-28)
is "$?" 1 "report of a tampered closed day exits 1"
like "$out" "journal does NOT match the close" "and says the journal no longer matches"
like "$out" "mismatch +tender EUR voucher: close 1 for 1038, journal 0 for 0" "naming the tender the close counted"
like "$out" "mismatch +journal chain broken at seq 2" "and the broken chain at the altered sale"
# the same byte in the close record itself (its tender table: "EUR" 67 "voucher")
cp -R "$TMP/state" "$TMP/state.c"
db="$TMP/state.c/journal/data.mdb"
off=$(LC_ALL=C grep -obUaP 'EUR\x67voucher' "$db" | head -n 1 | cut -d: -f1)
printf 'X' | dd of="$db" bs=1 seek=$((off + 10)) count=1 conv=notrunc 2>/dev/null
out=$(STORELINK_CONFIG= "$SL_BIN" --config "$TMP/day.conf" --state-dir "$TMP/state.c" report day --date 2026-03-28)
is "$?" 1 "a tampered close record is caught too"
like "$out" "mismatch +journal chain broken at seq 6" "at the close's seq"

# usage and configuration errors
out=$(d close-day --date 2026-02-30 2>&1)
is "$?" 64 "an impossible --date is a usage error"
like "$out" "^storelink: --date: must be a date YYYY-MM-DD" "naming the option"
out=$(d close-day --date 2099-01-01 2>&1)
is "$?" 65 "a day that has not begun cannot be closed"
printf '[day]\ntimezone = Europe/Berlln\n' > "$TMP/bad.conf"
out=$(STORELINK_CONFIG= "$SL_BIN" --config "$TMP/bad.conf" --state-dir "$TMP/state" report day 2>&1)
is "$?" 78 "an unknown time zone is a configuration error"
like "$out" "bad.conf:2: timezone: no such time zone" "naming the key and line"
done_testing
