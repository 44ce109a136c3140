#!/bin/sh
# Print the Debian Depends line for an ELF binary: each NEEDED soname
# (readelf -d) mapped to its package by packaging/shlibs.map, libc6 with
# the newest GLIBC_ symbol version the binary uses.  Works for any target
# architecture (readelf reads foreign ELF), unlike dpkg-shlibdeps, which
# wants the target's dpkg database.
# usage: packaging/depends.sh BINARY [MAPFILE]    env: READELF (readelf)
set -eu
bin=$1
map=${2:-$(dirname "$0")/shlibs.map}
READELF=${READELF:-readelf}
needed=$(LC_ALL=C "$READELF" -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
[ -n "$needed" ] || { echo "depends.sh: $bin: no NEEDED entries (static?)" >&2; exit 1; }
deps=""
for so in $needed; do
    pkg=$(awk -v so="$so" '$1 == so { print $2 }' "$map")
    if [ -z "$pkg" ]; then
        echo "depends.sh: $bin needs $so, which $map does not map to a package" >&2
        exit 1
    fi
    if [ "$pkg" = libc6 ]; then
        glibc=$(LC_ALL=C "$READELF" -V "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' |
                sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1)
        [ -n "$glibc" ] && pkg="libc6 (>= $glibc)"
    fi
    case ", $deps, " in *", $pkg, "*) continue ;; esac
    deps="${deps:+$deps, }$pkg"
done
echo "$deps"
