# arm64: 64-bit ARMv8 gateways (Debian aarch64-linux-gnu).
# Compiler: gcc-aarch64-linux-gnu (toolchain/deps.sh cross), default -march=armv8-a.
# Libraries: build/sysroot-arm64 (cross/sysroot.sh). Tests: qemu-aarch64 (cross/qemu-run.sh).
TRIPLET := aarch64-linux-gnu
CROSS_COMPILE ?= $(TRIPLET)-
TARGET_CPPFLAGS ?=
TARGET_CFLAGS ?=
