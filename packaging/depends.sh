#!/bin/sh
# Print the Debian Depends line for ELF binaries and shared libraries: each
# NEEDED soname (readelf -d) mapped to its package by packaging/shlibs.map,
# libc6 with the newest GLIBC_ symbol version any of them uses; a soname one
# of the given files provides itself (the agent's libstorelink.so.1) is no
# dependency.  Works for any target architecture (readelf reads foreign ELF),
# unlike dpkg-shlibdeps, which wants the target's dpkg database.
# usage: packaging/depends.sh FILE...    env: READELF (readelf), SHLIBS_MAP
set -eu
[ $# -ge 1 ] || { echo "usage: packaging/depends.sh FILE..." >&2; exit 64; }
map=${SHLIBS_MAP:-$(dirname "$0")/shlibs.map}
READELF=${READELF:-readelf}
needed=""
own=""
glibc=""
for bin in "$@"; do
    n=$(LC_ALL=C "$READELF" -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
    [ -n "$n" ] || { echo "depends.sh: $bin: no NEEDED entries (static?)" >&2; exit 1; }
    needed="$needed $n"
    own="$own $(LC_ALL=C "$READELF" -d "$bin" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')"
    glibc="$glibc $(LC_ALL=C "$READELF" -V "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//')"
done
# shellcheck disable=SC2086 # one version per word
glibc=$(printf '%s\n' $glibc | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1)
deps=""
for so in $needed; do
    case " $own " in *" $so "*) continue ;; esac
    pkg=$(awk -v so="$so" '$1 == so { print $2 }' "$map")
    if [ -z "$pkg" ]; then
        echo "depends.sh: $* need $so, which $map does not map to a package" >&2
        exit 1
    fi
    if [ "$pkg" = libc6 ] && [ -n "$glibc" ]; then
        pkg="libc6 (>= $glibc)"
    fi
    case ", $deps, " in *", $pkg, "*) continue ;; esac
    deps="${deps:+$deps, }$pkg"
done
echo "$deps"
