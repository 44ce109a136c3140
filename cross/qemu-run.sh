#!/bin/sh
# cross/qemu-run.sh TARGET PROGRAM [ARGS...]: run a cross-built program under
# qemu-user (no binfmt_misc needed): qemu-arm for armhf, qemu-aarch64 for arm64,
# with -L the full sysroot, where the program's dynamic loader and libraries are.
# The process becomes qemu itself (exec), so a caller's $! and signals reach it.
# Env: SL_SYSROOT (default build/sysroot-TARGET of this checkout).
set -eu
if [ $# -lt 2 ]; then
    echo "usage: cross/qemu-run.sh armhf|arm64 PROGRAM [ARGS...]" >&2
    exit 64
fi
target=$1
shift
case "$target" in
armhf) qemu="qemu-arm" ;;
arm64) qemu="qemu-aarch64" ;;
*) echo "qemu-run.sh: unknown target '$target' (armhf, arm64)" >&2; exit 64 ;;
esac
sysroot=${SL_SYSROOT:-$(cd "$(dirname "$0")/.." && pwd)/build/sysroot-$target}
if [ ! -d "$sysroot/lib" ]; then
    echo "qemu-run.sh: no sysroot at $sysroot (make sysroot TARGET=$target)" >&2
    exit 69
fi
command -v "$qemu" >/dev/null 2>&1 ||
    { echo "qemu-run.sh: $qemu not found (toolchain/deps.sh cross: qemu-user)" >&2; exit 69; }
exec "$qemu" -L "$sysroot" "$@"
