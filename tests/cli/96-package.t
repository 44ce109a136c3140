#!/bin/sh
# `make deb` builds an installable package: unpacked into a scratch root
# (dpkg -x) it holds the stripped agent, /etc/storelink/storelink.conf as a
# conffile, the systemd unit (hardening directives, Type=notify with a
# watchdog, checked by systemd-analyze verify where it works), the
# sysusers.d file and the docs; Depends names the libraries it links; the
# installed binary runs.  It also holds what a POS program builds against:
# libstorelink.so.1 (+ links), storelink.h and storelink.pc in
# /usr/lib/<multiarch>; a small program compiled from the extracted package
# alone (pkg-config pointed into it) records an event and reads it back.
# Under make cross-test the package is the target's, and the binaries run
# through $SL_RUN (qemu-user).
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
plan 49

target=${SL_TARGET:-native}
if [ "$target" = native ]; then arch=$(dpkg --print-architecture); else arch=$target; fi
# the package of the plain build (not build/asan: a sanitizer runtime is no
# Debian dependency), built by a make of its own: the MAKEFLAGS of the make
# that runs the tests (SANITIZE=1, a jobserver) and tests/run.sh's BUILD must not
# reach it
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD make -s -C "$ROOT" deb TARGET="$target" SANITIZE= \
    > "$TMP/make.log" 2>&1
ok $? "make deb TARGET=$target"
[ "$_tap_fail" -eq 0 ] || sed 's/^/#   /' "$TMP/make.log" >&2
if [ "$target" = native ]; then bdir=$ROOT/build; else bdir=$ROOT/build/$target; fi
version=$(sed -n 's/^#define SL_VERSION "\(.*\)"/\1/p' "$ROOT/include/storelink.h")
deb=$bdir/storelink_${version}_$arch.deb
[ -f "$deb" ]
ok $? "package file storelink_${version}_$arch.deb"

f() { dpkg-deb -f "$deb" "$1" 2>/dev/null; }
is "$(f Package)" storelink "control: Package"
is "$(f Version)" "$version" "control: Version is SL_VERSION"
is "$(f Architecture)" "$arch" "control: Architecture"
# Depends: one package for each NEEDED library of the built binary
deps=$(f Depends)
missing=""
for so in $(LC_ALL=C readelf -d "$bdir/storelink" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
    pkg=$(awk -v so="$so" '$1 == so { print $2 }' "$ROOT/packaging/shlibs.map")
    printf '%s\n' "$deps" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx "${pkg:-none}" ||
        missing="$missing $so"
done
is "$missing" "" "control: Depends names the package of every NEEDED library"
like "$deps" "libc6 \(>= 2\.[0-9]+\)" "control: libc6 with a minimum version"
like "$deps" "liblmdb0.*libmbedcrypto7" "control: liblmdb0 ... libmbedcrypto7"
dpkg-deb -c "$deb" | grep '/usr/share/doc/storelink/examples/scanners.conf$' > /dev/null
ok $? "the scanner drop-in example is shipped"
like "$deps" "(^|, )tzdata(,|$)" "control: Depends has tzdata (business days in the store's time zone)"
# dpkg-shlibdeps (dpkg-dev) reads the host's dpkg database: native only
if [ "$target" = native ] && command -v dpkg-shlibdeps >/dev/null 2>&1; then
    mkdir -p "$TMP/shl/debian" && printf 'Source: storelink\n\nPackage: storelink\nArchitecture: any\n' \
        > "$TMP/shl/debian/control"
    want=$(cd "$TMP/shl" && dpkg-shlibdeps -O "$bdir/storelink" 2>/dev/null |
           sed -n 's/^shlibs:Depends=//p' | tr ',' '\n' | sed 's/^ *//; s/ .*//' | sort)
    have=$(printf '%s\n' "$deps" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -vx tzdata | sort)
    is "$have" "$want" "control: Depends has the packages dpkg-shlibdeps finds"
else
    skip "dpkg-shlibdeps cross-check: native target with dpkg-dev only"
fi

dpkg-deb -e "$deb" "$TMP/ctrl"
is "$(cat "$TMP/ctrl/conffiles")" "/etc/storelink/storelink.conf" "conffiles: the configuration"
for s in postinst prerm postrm; do
    [ -x "$TMP/ctrl/$s" ] && sh -n "$TMP/ctrl/$s"
    ok $? "$s: executable shell script"
done
like "$(cat "$TMP/ctrl/postinst")" "systemd-sysusers" "postinst creates the user through sysusers.d"

# files, modes and owners as dpkg records them
listing=$(dpkg-deb -c "$deb")
unlike "$(printf '%s\n' "$listing" | awk '$2 != "root/root"')" "." "every file owned by root/root"
dpkg -x "$deb" "$TMP/root"
ok $? "dpkg -x into a scratch root"
mode() { stat -c %a "$TMP/root/$1" 2>/dev/null || echo missing; }
is "$(mode usr/bin/storelink)" 755 "usr/bin/storelink 0755"
is "$(mode etc/storelink/storelink.conf)" 644 "etc/storelink/storelink.conf 0644"
cmp -s "$TMP/root/etc/storelink/storelink.conf" "$ROOT/docs/storelink.conf.sample"
ok $? "storelink.conf is the sample configuration"
is "$(mode lib/systemd/system/storelink.service)" 644 "lib/systemd/system/storelink.service 0644"
is "$(mode usr/lib/sysusers.d/storelink.conf)" 644 "usr/lib/sysusers.d/storelink.conf 0644"
[ -s "$TMP/root/usr/share/doc/storelink/README.md" ] && [ -s "$TMP/root/usr/share/doc/storelink/CLI.md" ]
ok $? "docs in usr/share/doc/storelink"
unlike "$(LC_ALL=C readelf -S "$TMP/root/usr/bin/storelink")" "\.symtab|\.debug_" "the binary is stripped"

like "$(cat "$TMP/root/usr/lib/sysusers.d/storelink.conf")" \
    "^u storelink - \"[^\"]*\" /var/lib/storelink " "sysusers.d: user storelink, home /var/lib/storelink"
unit=$TMP/root/lib/systemd/system/storelink.service
missing=""
for d in Type=notify "ExecStart=/usr/bin/storelink run" User=storelink StateDirectory=storelink \
         RuntimeDirectory=storelink RestartPreventExitStatus=78 Restart=on-failure \
         ProtectSystem=strict ProtectHome=yes NoNewPrivileges=yes PrivateTmp=yes \
         "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"; do
    grep -qx "$d" "$unit" || missing="$missing [$d]"
done
is "$missing" "" "unit: notify, user, directories, restart policy, sandbox, address families"
like "$(grep '^WatchdogSec=' "$unit")" "^WatchdogSec=[0-9]+s?$" "unit: WatchdogSec set"
unlike "$(cat "$unit")" "^DynamicUser=(yes|true|1)" "unit: no DynamicUser"
# systemd-analyze verify checks that ExecStart exists on this host: a copy of
# the unit points it at the scratch root's binary
if ! command -v systemd-analyze >/dev/null 2>&1; then
    skip "systemd-analyze not installed (package systemd)"
else
    mkdir -p "$TMP/probe" "$TMP/verify"
    printf '[Service]\nType=oneshot\nExecStart=/bin/true\n' > "$TMP/probe/probe.service"
    if ! out=$(systemd-analyze verify "$TMP/probe/probe.service" 2>&1) || [ -n "$out" ]; then
        skip "systemd-analyze verify does not work here: $(printf '%s' "$out" | head -n 1)"
    else
        sed "s|^ExecStart=/usr/bin/storelink|ExecStart=$TMP/root/usr/bin/storelink|" "$unit" \
            > "$TMP/verify/storelink.service"
        out=$(systemd-analyze verify "$TMP/verify/storelink.service" 2>&1)
        rc=$?
        [ "$rc" -eq 0 ] && [ -z "$out" ]
        ok $? "systemd-analyze verify: no errors or warnings"
        [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/#   /'
    fi
fi

# the library and the developer pieces (a POS program's build)
ma=$(dpkg-architecture -a"$arch" -qDEB_HOST_MULTIARCH 2>/dev/null)
lib=usr/lib/$ma
[ -n "$ma" ] && [ -f "$TMP/root/$lib/libstorelink.so.1.0.0" ] && [ ! -L "$TMP/root/$lib/libstorelink.so.1.0.0" ] &&
    [ "$(mode "$lib/libstorelink.so.1.0.0")" = 644 ]
ok $? "$lib/libstorelink.so.1.0.0, a file, 0644"
is "$(readlink "$TMP/root/$lib/libstorelink.so.1") $(readlink "$TMP/root/$lib/libstorelink.so")" \
    "libstorelink.so.1.0.0 libstorelink.so.1" "links libstorelink.so.1 -> .so.1.0.0 and libstorelink.so -> .so.1"
[ "$(mode usr/include/storelink.h)" = 644 ] && cmp -s "$TMP/root/usr/include/storelink.h" "$ROOT/include/storelink.h"
ok $? "usr/include/storelink.h 0644, the project's header"
is "$(mode "$lib/pkgconfig/storelink.pc")" 644 "$lib/pkgconfig/storelink.pc 0644"
pso=$TMP/root/$lib/libstorelink.so.1.0.0
[ "$(LC_ALL=C readelf -d "$pso" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')" = libstorelink.so.1 ] &&
    ! LC_ALL=C readelf -S "$pso" | grep -Eq '\.symtab|\.debug_' &&
    LC_ALL=C readelf --dyn-syms -W "$pso" | grep -q ' sl_strerror@@STORELINK_1$'
ok $? "the packaged library: soname libstorelink.so.1, stripped, exports sl_strerror@@STORELINK_1"
is "$(cat "$TMP/ctrl/shlibs")" "libstorelink 1 storelink (>= $version)" \
    "shlibs: programs linked to libstorelink.so.1 depend on storelink"
like "$(cat "$TMP/ctrl/triggers")" "^activate-noawait ldconfig$" "triggers: ldconfig"
is "$(grep -v '^\*' "$TMP/ctrl/symbols")" "libstorelink.so.1 storelink #MINVER#
 (symver)STORELINK_1 $version" "symbols: every STORELINK_1 symbol since $version"
# md5sums (dpkg --verify): every shipped file but the conffile, each sum right
(cd "$TMP/root" && md5sum -c --quiet "$TMP/ctrl/md5sums") > "$TMP/md5.log" 2>&1 &&
    [ "$(wc -l < "$TMP/ctrl/md5sums")" -eq "$(find "$TMP/root" -type f ! -path "$TMP/root/etc/*" | wc -l)" ]
ok $? "md5sums: each file but the conffile, sums match"
# pkg-config and the compiler see the extracted package only
pc() { PKG_CONFIG_SYSROOT_DIR=$TMP/root PKG_CONFIG_LIBDIR=$TMP/root/$lib/pkgconfig PKG_CONFIG_PATH='' \
       pkg-config "$@"; }
is "$(pc --modversion storelink 2>&1)" "$version" "pkg-config --modversion storelink (the package's .pc)"
is "$(pc --cflags --libs storelink 2>&1 | sed 's/ *$//')" "-I$TMP/root/usr/include -L$TMP/root/$lib -lstorelink" \
    "pkg-config --cflags --libs storelink: the package's directories"
cat > "$TMP/prog.c" <<'EOF'
/* a POS program built against the extracted package */
#include <stdio.h>
#include <stdlib.h>
#include <storelink.h>

int main(int argc, char **argv)
{
    sl_event *ev = malloc(sizeof *ev);
    sl_record *rec = malloc(sizeof *rec);
    sl_journal *j = NULL;
    sl_problem p = {"", ""};
    sl_status st = SL_STATUS_DUPLICATE;
    uint64_t seq = 0;
    int64_t total = 0;
    int rc = SL_ERR_NOMEM;

    if (argc != 2)
        return 2;
    printf("%s\n", sl_strerror(SL_ERR_FULL));
    if (ev != NULL && rec != NULL) {
        sl_event_init(ev, SL_KIND_SALE, "PKG-1");
        snprintf(ev->currency, sizeof ev->currency, "EUR");
        rc = sl_event_add_line(ev, "4006381333931", 2000, 199, 0, 0);
    }
    if (rc == SL_OK)
        rc = sl_event_add_tender(ev, "cash", 398);
    if (rc == SL_OK)
        rc = sl_journal_open(&j, argv[1], NULL);
    if (rc == SL_OK)
        rc = sl_journal_record(j, ev, &seq, &st, &p);
    if (rc == SL_OK) {
        printf("recorded seq %llu %s\n", (unsigned long long)seq,
               st == SL_STATUS_RECORDED ? "new" : "duplicate");
        rc = sl_journal_get(j, seq, rec);
    }
    if (rc == SL_OK)
        rc = sl_event_total(&rec->ev, &total);
    if (rc == SL_OK)
        printf("read back %s %s qty %lld total %lld\n", rec->ev.txn_id, rec->ev.lines[0].sku,
               (long long)rec->ev.lines[0].qty_milli, (long long)total);
    else
        fprintf(stderr, "prog: %s %s %s\n", sl_strerror(rc), p.field, p.reason);
    sl_journal_close(j);
    free(rec);
    free(ev);
    return rc == SL_OK ? 0 : 1;
}
EOF
case $target in
native) tcc="${CC:-cc}" ;;
armhf) tcc="arm-linux-gnueabihf-gcc --sysroot=${SL_SYSROOT:-}" ;;
arm64) tcc="aarch64-linux-gnu-gcc --sysroot=${SL_SYSROOT:-}" ;;
*) tcc="" ;;
esac
# shellcheck disable=SC2086 # tcc is a command with its options
if [ -n "$tcc" ] && command -v ${tcc%% *} >/dev/null 2>&1; then
    # shellcheck disable=SC2046,SC2086 # pkg-config's words
    $tcc -std=c11 -Wall -Wextra -Werror $(pc --cflags storelink) -o "$TMP/prog" "$TMP/prog.c" \
        $(pc --libs storelink) > "$TMP/cc.log" 2>&1
    ok $? "compile and link a program with the package's header, .pc and library"
    sed 's/^/#   /' "$TMP/cc.log"
    needed=$(LC_ALL=C readelf -d "$TMP/prog" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' | tr '\n' ' ')
    vneed=$(LC_ALL=C readelf -V "$TMP/prog" | grep -o 'Name: STORELINK_1 ' | head -n 1)
    like "$needed/$vneed" "(^| )libstorelink\.so\.1 .*/Name: STORELINK_1 $" \
        "the program needs libstorelink.so.1, symbol version STORELINK_1"
    mkdir -p "$TMP/pstate"
    # shellcheck disable=SC2086
    got=$(LD_LIBRARY_PATH=$TMP/root/$lib ${SL_RUN:-} "$TMP/prog" "$TMP/pstate" 2>&1)
    is "$got" "journal full (max_db_mb reached)
recorded seq 1 new
read back PKG-1 4006381333931 qty 2000 total 398" "the program runs on the package's library: sl_strerror, record, read back"
    # shellcheck disable=SC2086
    got=$(STORELINK_CONFIG='' ${SL_RUN:-} "$TMP/root/usr/bin/storelink" --config "$TMP/none.conf" \
          --state-dir "$TMP/pstate" journal show 1 --json 2>&1)
    like "$got" '"txn_id":"PKG-1"' "the packaged storelink reads the record the program wrote"
    if [ "$target" = native ]; then
        like "$(LD_LIBRARY_PATH=$TMP/root/$lib ldd "$TMP/prog" | grep libstorelink)" \
            "=> $TMP/root/$lib/libstorelink\.so\.1 " "the program loads the package's libstorelink.so.1"
    else
        skip "ldd: native only"
    fi
else
    for n in 1 2 3 4 5; do skip "no C compiler for $target ($tcc, check $n)"; done
fi

# the installed binary runs (under qemu-user for a cross target)
# shellcheck disable=SC2086
got=$(${SL_RUN:-} "$TMP/root/usr/bin/storelink" --version 2>&1)
is "$got" "storelink $version" "installed usr/bin/storelink --version"
# and reads its installed configuration: a bad one exits 78 (no restart loop)
printf '[journal]\nmax_db_mb = lots\n' > "$TMP/bad.conf"
# shellcheck disable=SC2086
STORELINK_CONFIG='' ${SL_RUN:-} "$TMP/root/usr/bin/storelink" --config "$TMP/bad.conf" run \
    > /dev/null 2>&1
is "$?" 78 "a bad configuration exits 78 (RestartPreventExitStatus)"
# shellcheck disable=SC2086
STORELINK_CONFIG='' ${SL_RUN:-} "$TMP/root/usr/bin/storelink" \
    --config "$TMP/root/etc/storelink/storelink.conf" --state-dir "$TMP/state" run > "$TMP/run.log" 2>&1
is "$?" 78 "the shipped sample configuration exits 78 until ca_file and the identity are set"
done_testing
