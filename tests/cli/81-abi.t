#!/bin/sh
# libstorelink.so's ABI: the real file libstorelink.so.1.0.0 with the links
# libstorelink.so.1 (its soname) and libstorelink.so; it exports exactly the
# functions declared in include/storelink.h, each in version node
# STORELINK_1, and nothing else (no sl__* internals, no sl_plat_* platform
# functions, no data, no foreign symbols); packaging/libstorelink.map, the
# version script, lists the same functions; and a program calling an
# internal function does not link against it.  readelf reads the target's
# ELF, so under make cross-test this checks the target's library.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
plan 15

dir=${SL_REAL_BUILD:-$SL_BUILD}
[ -f "$dir/libstorelink.so.1.0.0" ] && [ ! -L "$dir/libstorelink.so.1.0.0" ]
ok $? "libstorelink.so.1.0.0 is the library file"
is "$(readlink "$dir/libstorelink.so.1")" libstorelink.so.1.0.0 "libstorelink.so.1 -> libstorelink.so.1.0.0"
is "$(readlink "$dir/libstorelink.so")" libstorelink.so.1 "libstorelink.so -> libstorelink.so.1"
so=$dir/libstorelink.so.1.0.0
is "$(LC_ALL=C readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')" libstorelink.so.1 \
    "SONAME libstorelink.so.1"

# defined global (and weak) dynamic symbols as "TYPE NAME@@VERSION", without
# the version node's own (ABS) symbol; ARM's linker also lists local SECTION
# symbols (.init, .data), which no program can bind to
LC_ALL=C readelf --dyn-syms -W "$so" |
    awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $5 != "LOCAL" && !($7 == "ABS" && $8 ~ /^STORELINK_/) {
         print $4, $8 }' \
    > "$TMP/dynsym"
names() { sed 's/^[^ ]* //; s/@.*//' "$TMP/dynsym" | sort -u; }
[ "$(wc -l < "$TMP/dynsym")" -gt 0 ]
ok $? "readelf lists the library's defined dynamic symbols"
is "$(names | grep -v '^sl_' | tr '\n' ' ')" "" "no exported symbol outside sl_"
is "$(names | grep '^sl__' | tr '\n' ' ')" "" "no sl__ internal exported"
is "$(names | grep '^sl_plat_' | tr '\n' ' ')" "" "no sl_plat_ platform function exported"
is "$(awk '$1 != "FUNC"' "$TMP/dynsym" | tr '\n' ' ')" "" "every exported symbol is a function"
is "$(grep -v '@@STORELINK_1$' "$TMP/dynsym" | tr '\n' ' ')" "" "every exported symbol is in version STORELINK_1"

# the header's functions: identifiers followed by "(" once the preprocessor
# has taken out the comments (a function-pointer typedef reads "(*sl_x)(")
${CC:-cc} -E -P "$ROOT/include/storelink.h" > "$TMP/h.i" 2> "$TMP/cpp.err"
ok $? "the preprocessor reads include/storelink.h"
grep -o '\bsl_[a-z0-9_]*[[:space:]]*(' "$TMP/h.i" | tr -d ' \t(' | sort -u > "$TMP/header"
names > "$TMP/exported"
is "$(comm -23 "$TMP/header" "$TMP/exported" | tr '\n' ' ')" "" \
    "every function declared in include/storelink.h is exported ($(wc -l < "$TMP/header") functions)"
is "$(comm -13 "$TMP/header" "$TMP/exported" | tr '\n' ' ')" "" \
    "every exported function is declared in include/storelink.h"
sed -n '/global:/,/local:/p' "$ROOT/packaging/libstorelink.map" | sed -n 's/^[[:space:]]*\(sl_[a-z0-9_]*\);.*/\1/p' |
    sort -u > "$TMP/map"
is "$(diff "$TMP/header" "$TMP/map" | grep '^[<>]' | tr '\n' ' ')" "" \
    "packaging/libstorelink.map lists exactly the header's functions (< header only, > map only)"

# through the linker, as a POS program's build would: an internal function
# that the static library has is not there for a program linked to the .so
case ${SL_TARGET:-native} in
native) tcc="${CC:-cc}" ;;
armhf) tcc="arm-linux-gnueabihf-gcc --sysroot=${SL_SYSROOT:-}" ;;
arm64) tcc="aarch64-linux-gnu-gcc --sysroot=${SL_SYSROOT:-}" ;;
*) tcc="" ;;
esac
internal=$(LC_ALL=C readelf -sW "$dir/libstorelink.a" 2>/dev/null |
           awk '$4 == "FUNC" && $5 == "GLOBAL" && $7 != "UND" && $8 ~ /^sl__/ { print $8; exit }')
# shellcheck disable=SC2086 # tcc is a command with its options
if [ -z "$tcc" ] || ! command -v ${tcc%% *} >/dev/null 2>&1 || [ -z "$internal" ]; then
    skip "link check: no compiler for ${SL_TARGET:-native} or no sl__ function in libstorelink.a"
else
    printf 'int %s(void);\nint main(void) { return %s(); }\n' "$internal" "$internal" > "$TMP/internal.c"
    # shellcheck disable=SC2086
    $tcc -o "$TMP/internal" "$TMP/internal.c" -L"$dir" -lstorelink > "$TMP/link.log" 2>&1
    rc=$?
    [ "$rc" -ne 0 ] && grep -q "undefined reference to .$internal" "$TMP/link.log"
    ok $? "a program calling $internal (in libstorelink.a) does not link against libstorelink.so"
    [ "$rc" -ne 0 ] || diag "it linked"
fi
done_testing
