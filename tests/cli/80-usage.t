#!/bin/sh
# Usage errors (exit 64), version and help.
. "$(dirname "$0")/lib.sh"
plan 25

VERSION=$(sed -n 's/^#define SL_VERSION "\(.*\)"$/\1/p' "$(dirname "$0")/../../include/storelink.h")
[ -n "$VERSION" ]
ok $? "SL_VERSION read from include/storelink.h ($VERSION)"

"$SL_BIN" > "$TMP/out" 2> "$TMP/err"
is "$?" 64 "no arguments: exit 64"
like "$(cat "$TMP/err")" '^usage: storelink ' "no arguments: usage on stderr"
is "$(cat "$TMP/out")" "" "no arguments: nothing on stdout"

sl frobnicate > "$TMP/out" 2> "$TMP/err"
is "$?" 64 "unknown command: exit 64"
like "$(cat "$TMP/err")" "unknown command 'frobnicate'" "unknown command: named on stderr"

out=$("$SL_BIN" --version)
is "$?" 0 "--version: exit 0"
is "$out" "storelink $VERSION" "--version prints the version"
out=$("$SL_BIN" version)
is "$?" 0 "version: exit 0"
is "$out" "storelink $VERSION" "version prints the version"
out=$(sl --version)
is "$out" "storelink $VERSION" "--version after the global options"

"$SL_BIN" help > "$TMP/out" 2> "$TMP/err"
is "$?" 0 "help: exit 0"
like "$(head -n 1 "$TMP/out")" '^usage: storelink ' "help prints usage on stdout"
for c in record 'journal list' 'journal show' 'journal verify' export; do
    grep -q "^  $c" "$TMP/out"
    ok $? "help lists '$c'"
done
"$SL_BIN" --help > /dev/null
is "$?" 0 "--help: exit 0"

sl record --bogus < /dev/null > /dev/null 2>&1
is "$?" 64 "record with an unknown option: exit 64"
sl journal > /dev/null 2>&1
is "$?" 64 "journal without a subcommand: exit 64"
sl journal prune > /dev/null 2>&1
is "$?" 64 "journal with an unknown subcommand: exit 64"
sl journal show > /dev/null 2>&1
is "$?" 64 "journal show without SEQ: exit 64"
sl journal list --from x > /dev/null 2>&1
is "$?" 64 "journal list --from x: exit 64"
"$SL_BIN" --config "$TMP/none.conf" journal list --state-dir > /dev/null 2>&1
is "$?" 64 "--state-dir without a value: exit 64"

done_testing
