# armhf: 32-bit ARMv7 hard-float POS terminals (Debian arm-linux-gnueabihf).
# Compiler: gcc-arm-linux-gnueabihf (toolchain/deps.sh cross); it defaults to
# -march=armv7-a+fp -mfpu=vfpv3-d16 -mfloat-abi=hard -mthumb, Debian's armhf baseline.
# Libraries: build/sysroot-armhf (cross/sysroot.sh). Tests: qemu-arm (cross/qemu-run.sh).
TRIPLET := arm-linux-gnueabihf
CROSS_COMPILE ?= $(TRIPLET)-
# 64-bit time_t and off_t (glibc >= 2.34): with bookworm's 32-bit default, a time
# past 2038-01-19 wraps (a price scheduled for 2099 printed as 1962). None of the
# library interfaces storelink uses carries a time_t or off_t, and
# include/storelink.h has none, so this does not touch any ABI.
TARGET_CPPFLAGS ?= -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64
TARGET_CFLAGS ?=
