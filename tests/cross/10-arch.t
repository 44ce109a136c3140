#!/bin/sh
# The cross-built binaries are really for the target (ELF header read byte by
# byte, and `file`), so are libstorelink.a's objects and libstorelink.so, and
# they are what the other tests ran: storelink and the test binaries reached
# through the qemu wrappers of tests/run.sh. A build that silently came out
# native fails here.
# Env (make cross-test): SL_TARGET, SL_REAL_BUILD, SL_RUN, SL_BIN.
. "$(dirname "$0")/../cli/lib.sh"
plan 12

if [ -z "${SL_TARGET:-}" ] || [ -z "${SL_REAL_BUILD:-}" ]; then
    echo "Bail out! run through make cross-test (SL_TARGET, SL_REAL_BUILD unset)"
    exit 1
fi
case "$SL_TARGET" in
armhf) want="class=1 data=1 machine=40" file_re='ELF 32-bit LSB .*, ARM, EABI5'
       interp=/lib/ld-linux-armhf.so.3 qemu="qemu-arm" ;;
arm64) want="class=2 data=1 machine=183" file_re='ELF 64-bit LSB .*, ARM aarch64'
       interp=/lib/ld-linux-aarch64.so.1 qemu="qemu-aarch64" ;;
*) echo "Bail out! unknown SL_TARGET '$SL_TARGET'"; exit 1 ;;
esac

# elf_id FILE: "class=C data=D machine=M" from the ELF header (e_ident[4],
# e_ident[5], e_machine little-endian at byte 18), or "not-elf"
elf_id() {
    od -An -tu1 -N20 "$1" 2>/dev/null | tr -s ' \n' '  ' | awk '{
        if ($1 != 127 || $2 != 69 || $3 != 76 || $4 != 70) { print "not-elf"; exit }
        m = ($6 == 1) ? $19 + 256 * $20 : 256 * $19 + $20
        printf "class=%d data=%d machine=%d\n", $5, $6, m }'
}
# le32 FILE OFFSET: a little-endian 32-bit word
le32() { od -An -tu4 --endian=little -j "$2" -N4 "$1" | tr -d ' '; }

bin=$SL_REAL_BUILD/storelink
is "$(elf_id "$bin")" "$want" "storelink: ELF header is $SL_TARGET ($want)"
like "$(file -b "$bin")" "$file_re" "storelink: file says $(file -b "$bin" | cut -d, -f1-3)"
like "$(file -b "$bin")" "interpreter $interp" "storelink: dynamic loader $interp"
if [ "$SL_TARGET" = armhf ]; then
    # e_flags (offset 36 in ELF32): EABI version 5, hard-float (EF_ARM_ABI_FLOAT_HARD)
    flags=$(le32 "$bin" 36)
    is "$(( (flags >> 24) & 255 )):$(( (flags & 1024) != 0 ))" "5:1" \
        "storelink: EABI5, hard-float ABI (e_flags $(printf '0x%08x' "$flags"))"
else
    # e_flags (offset 48 in ELF64): AArch64 defines none
    is "$(le32 "$bin" 48)" 0 "storelink: e_flags 0 (AArch64)"
fi

bad=""
n=0
for f in "$SL_REAL_BUILD"/tests/test_* "$SL_REAL_BUILD"/tests/writer "$SL_REAL_BUILD"/tests/catalog_feed; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    [ "$(elf_id "$f")" = "$want" ] || bad="$bad ${f##*/}($(elf_id "$f"))"
done
[ "$n" -ge 3 ]
ok $? "found the unit test binaries and helpers ($n)"
is "$bad" "" "every unit test binary and helper is $SL_TARGET"

mkdir -p "$TMP/ar"
(cd "$TMP/ar" && ar x "$SL_REAL_BUILD/libstorelink.a")
bad=""
n=0
for f in "$TMP"/ar/*.o; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    [ "$(elf_id "$f")" = "$want" ] || bad="$bad ${f##*/}($(elf_id "$f"))"
done
diag "libstorelink.a: $n objects"
is "${bad:-none}" none "every object in libstorelink.a is $SL_TARGET"
is "$(elf_id "$SL_REAL_BUILD/libstorelink.so.1.0.0")" "$want" "libstorelink.so.1.0.0 is $SL_TARGET"

# what the CLI tests ran as "$SL_BIN": the target binary under qemu
like "$(cat "$SL_BIN")" "exec .*qemu-run\.sh $SL_TARGET $bin " "SL_BIN runs $bin through cross/qemu-run.sh"
out=$("$SL_BIN" version 2>&1)
like "$out" '^storelink [0-9]' "storelink version runs under $qemu: $out"
# with no binfmt_misc the host cannot run it directly (informational)
"$bin" version > /dev/null 2>&1
diag "running $bin directly on the host: exit $? (126 = not executable here)"
# a storelink process waiting for input is qemu-user running the target binary
mkfifo "$TMP/in"
STORELINK_CONFIG='' "$SL_BIN" --config "$TMP/none.conf" --state-dir "$TMP/state" record \
    < "$TMP/in" > "$TMP/rec.out" 2>&1 &
pid=$!
exec 3> "$TMP/in"
i=0
exe=""
while [ $i -lt 50 ]; do
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
    case "$exe" in *qemu-*) break ;; esac
    sleep 0.2
    i=$((i + 1))
done
# in a subshell: if storelink is already gone, SIGPIPE ends only the subshell
(printf '%s\n' '{"kind":"sale","txn_id":"ARCH-1","currency":"EUR","lines":[{"sku":"SKU-1","qty":1,"unit_price":100,"tax":19}],"tenders":[{"method":"card","amount":119}]}' >&3) 2>/dev/null
exec 3>&-
wait $pid
rc=$?
like "$exe" "/$qemu\$" "the running storelink process is $qemu ($exe)"
is "$rc:$(cat "$TMP/rec.out")" "0:recorded seq 1 ARCH-1" "it records a sale under emulation"
done_testing
