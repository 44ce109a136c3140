#!/bin/sh
# The journal refuses to run with deferred syncs or a writable map: with
# MDB_NOSYNC, MDB_MAPASYNC or MDB_WRITEMAP forced into mdb_env_open (by
# unsafe.so), `storelink record` fails with the documented error (exit 74)
# and nothing is recorded.
. "$(dirname "$0")/lib.sh"
plan 8
ev='{"kind":"sale","txn_id":"U-1","currency":"EUR","lines":[{"sku":"123","qty":1,"unit_price":100}],"tenders":[{"method":"cash","amount":100}]}'
# liblmdb's values (lmdb.h)
for f in NOSYNC:0x10000 MAPASYNC:0x100000 WRITEMAP:0x80000; do
    name=${f%%:*}; val=${f#*:}
    out=$(echo "$ev" | UNSAFE_FLAGS=$val LD_PRELOAD=$REL_BUILD/unsafe.so sl record 2>&1)
    is "$?" 74 "MDB_$name: record refused with exit 74"
    like "$out" "without durable commits" "MDB_$name: the message says why"
done
n=$(sl journal list --json 2>/dev/null | grep -c '"seq"')
is "$n" 0 "nothing was recorded"
echo "$ev" | sl record > /dev/null 2>&1
ok $? "without the shim the same event records"
[ "$_tap_fail" -eq 0 ] && res=PASS || res=FAIL
report "unsafe LMDB flags refused" 3 1 0 0 "$res"
done_testing
