#!/bin/sh
# cross/sysroot.sh TARGET: make build/sysroot-TARGET (TARGET armhf or arm64) from
# Debian bookworm's TARGET-architecture .deb files of storelink's dependencies.
#
# Nothing is installed into the host: apt-get runs with a private state (package
# lists, cache, an empty dpkg status, the host's sources copied) and
# APT::Architectures=ARCH, so the host's dpkg architecture list is never touched
# (no `dpkg --add-architecture`). The .deb files are fetched with
# `apt-get download` into build/cross-cache/ARCH/debs and unpacked with `dpkg -x`;
# absolute symlinks are made relative so they resolve inside the sysroot (for the
# linker and for `qemu-arm -L`). The .pc files keep prefix=/usr: the Makefile
# sets PKG_CONFIG_SYSROOT_DIR and PKG_CONFIG_LIBDIR for every pkg-config call.
#
# Stamped: build/sysroot-TARGET/.sysroot.mk records this script's checksum; when
# it matches, the script returns at once. --force rebuilds.
# Env: SYSROOT_DIR (default build/sysroot-TARGET), CROSS_CACHE (default
# build/cross-cache).
set -eu
cd "$(dirname "$0")/.."

force=0
if [ "${1:-}" = --force ]; then force=1; shift; fi
target=${1:-}
case "$target" in
armhf) arch=armhf triplet=arm-linux-gnueabihf ;;
arm64) arch=arm64 triplet=aarch64-linux-gnu ;;
*) echo "usage: cross/sysroot.sh [--force] armhf|arm64" >&2; exit 64 ;;
esac

# The libraries storelink links (and their runtime dependencies), the target's
# C library and kernel headers (libssl's and libmosquitto's symbol versions
# resolve against libc6), cmocka for the unit tests, sqlite3 for test_hub.
PKGS="libc6 libc6-dev linux-libc-dev libgcc-s1 libcrypt1
liblmdb-dev liblmdb0 libcbor-dev libcbor0.8
libmbedtls-dev libmbedcrypto7 libmbedx509-1 libmbedtls14
libmosquitto-dev libmosquitto1 libssl3
libinih-dev libinih1 libjansson-dev libjansson4 libzstd-dev libzstd1
libcmocka-dev libcmocka0 libsqlite3-dev libsqlite3-0"

sysroot=${SYSROOT_DIR:-build/sysroot-$target}
cache=${CROSS_CACHE:-build/cross-cache}/$arch
stamp=$sysroot/.sysroot.mk
sum=$(cksum < "$0" | cut -d' ' -f1)

if [ "$force" = 0 ] && [ -f "$stamp" ] && grep -q "^SYSROOT_CKSUM_$arch = $sum\$" "$stamp"; then
    touch "$stamp"    # up to date (make compares its time with this script's)
    exit 0
fi

command -v apt-get >/dev/null 2>&1 || { echo "sysroot.sh: needs apt-get (Debian)" >&2; exit 69; }
command -v dpkg >/dev/null 2>&1 || { echo "sysroot.sh: needs dpkg" >&2; exit 69; }

# --- a private apt for ARCH ----------------------------------------------------
apt_dir=$(pwd)/$cache/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources" \
         "$cache/debs"
: > "$apt_dir/status"
# the host's Debian sources (.list and .sources); the host's apt.conf.d (proxy,
# mirrors) applies as usual since only the options below are replaced
rm -f "$apt_dir/sources/"*
if [ -f /etc/apt/sources.list ]; then cp /etc/apt/sources.list "$apt_dir/sources/host.list"; fi
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && cp "$f" "$apt_dir/sources/"
done
# apt runs downloads as user _apt: the private dirs must be reachable for it
chmod 755 "$apt_dir" "$apt_dir/lists" "$apt_dir/cache" 2>/dev/null || true

# as root apt would hand downloads to user _apt, which cannot write into build/
sandbox=""
if [ "$(id -u)" -eq 0 ]; then sandbox="-oAPT::Sandbox::User=root"; fi
apt_private() {
    apt-get -q \
        -o APT::Architecture="$arch" -o APT::Architectures="$arch" \
        -o Dir::State::Lists="$apt_dir/lists" -o Dir::State::status="$apt_dir/status" \
        -o Dir::Cache="$apt_dir/cache" -o Dir::Etc::SourceList=/dev/null \
        -o Dir::Etc::SourceParts="$apt_dir/sources" -o Acquire::Languages=none \
        ${sandbox:+"$sandbox"} "$@"
}

t0=$(date +%s)
echo "sysroot.sh: $arch package lists (private apt state in $apt_dir)" >&2
if ! apt_private update > "$apt_dir/update.log" 2>&1; then
    # a suite whose index failed (e.g. a mirror mid-sync) is skipped by apt; carry
    # on with the others when they hold every package, and say so
    echo "sysroot.sh: warning: apt-get update reported errors; using the indexes it got:" >&2
    grep -E '^(E|W|Err):' "$apt_dir/update.log" | sed 's/^/  /' >&2 || true
fi

# --- download ------------------------------------------------------------------
# shellcheck disable=SC2086
if ! apt_private -qq --print-uris download $PKGS > "$apt_dir/uris" 2> "$apt_dir/uris.err"; then
    cat "$apt_dir/uris.err" >&2
    echo "sysroot.sh: cannot resolve the $arch packages (see above)" >&2
    exit 1
fi
# apt-get download writes into the current directory; files already in the cache
# with the right size are kept
missing=""
debs=""
while read -r _uri file size _hash; do
    debs="$debs $file"
    if [ ! -f "$cache/debs/$file" ] || [ "$(wc -c < "$cache/debs/$file" | tr -d ' ')" != "$size" ]; then
        pkg=${file%%_*}
        missing="$missing $pkg"
    fi
done < "$apt_dir/uris"
if [ -n "$missing" ]; then
    echo "sysroot.sh: downloading$missing" >&2
    # shellcheck disable=SC2086
    (cd "$cache/debs" && apt_private -qq download $missing) >&2
fi

# --- unpack --------------------------------------------------------------------
tmp=$sysroot.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
for f in $debs; do
    dpkg -x "$cache/debs/$f" "$tmp"
done

# absolute symlinks point into the host: make them relative inside the sysroot
find "$tmp" -type l | while read -r link; do
    dest=$(readlink "$link")
    case "$dest" in
    /*) ln -sfn "$(realpath -ms --relative-to="$(dirname "$link")" "$tmp$dest")" "$link" ;;
    esac
done

# sanity: what the compiler, the linker and qemu will look for
for f in "usr/include/$triplet/bits/types.h" "usr/include/lmdb.h" "usr/include/mosquitto.h" \
         "usr/include/mbedtls/sha256.h" "usr/lib/$triplet/libc.so" "usr/lib/$triplet/crt1.o" \
         "usr/lib/$triplet/pkgconfig/libmosquitto.pc" "usr/lib/$triplet/libssl.so.3"; do
    [ -e "$tmp/$f" ] || { echo "sysroot.sh: $f missing from the unpacked packages" >&2; exit 1; }
done
interp=$(find "$tmp/lib" -maxdepth 1 -name 'ld-linux*.so.*' | head -n 1)
if [ -z "$interp" ] || [ ! -e "$interp" ]; then
    echo "sysroot.sh: no dynamic loader in $tmp/lib" >&2
    exit 1
fi

{
    echo "# made by cross/sysroot.sh $target; delete this file (or the sysroot) to remake it"
    echo "SYSROOT_CKSUM_$arch = $sum"
    sed 's/^/# /' "$apt_dir/uris" | awk '{print $1, $3}'
} > "$tmp/.sysroot.mk"
rm -rf "$sysroot"
mv "$tmp" "$sysroot"
echo "sysroot.sh: $sysroot ready ($(echo "$debs" | wc -w) packages, $(du -sh "$sysroot" | cut -f1), $(( $(date +%s) - t0 )) s)" >&2
