# Native build: the host compiler and the host's pkg-config. An integrator's
# cross toolchain also builds as "native" with CROSS_COMPILE=... SYSROOT=...
# (README, "Cross-building").
TRIPLET :=
TARGET_CPPFLAGS ?=
TARGET_CFLAGS ?=
