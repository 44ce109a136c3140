#!/bin/sh
# Install the Debian packages storelink needs, only those missing.
# usage: toolchain/deps.sh [build] [test] [bench] [stress] [clang] [cross] [fuzz]   (default: build test)
# stress: libfiu (fiu-run) for I/O-error injection and faketime for clock jumps (make stress)
# cross: the Debian cross compilers and qemu-user for `make TARGET=armhf|arm64` and
# `make cross-test`; the target's libraries come from cross/sysroot.sh, never
# from foreign-architecture packages installed on this host.
# Runs apt-get through sudo when not root.  Debian bookworm packages only.
set -eu

groups=${*:-build test}
pkgs=""
for g in $groups; do
    case "$g" in
    build) pkgs="$pkgs gcc make pkg-config liblmdb-dev libcbor-dev libmbedtls-dev \
                 libmosquitto-dev libinih-dev libjansson-dev libzstd-dev libsqlite3-dev" ;;
    test)  pkgs="$pkgs libcmocka-dev perl mosquitto mosquitto-clients lmdb-utils openssl python3 \
                 sqlite3 tzdata \
                 dpkg-dev" ;;
    bench) pkgs="$pkgs valgrind" ;;
    stress) pkgs="$pkgs fiu-utils faketime" ;;
    clang) pkgs="$pkgs clang" ;;
    # libFuzzer: clang 14's sanitizer and fuzzer runtimes (libclang_rt.fuzzer*) are in
    # libclang-rt-14-dev, only a Recommends (of libclang-common-14-dev, which clang-14
    # depends on), so --no-install-recommends leaves it out; openssl makes the
    # throwaway CA of the batch target
    fuzz)  pkgs="$pkgs clang libclang-rt-14-dev openssl" ;;
    cross) pkgs="$pkgs gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu qemu-user file dpkg" ;;
    *) echo "deps.sh: unknown group '$g'" >&2; exit 64 ;;
    esac
done

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
