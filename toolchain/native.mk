# Native build: the host compiler and the host's pkg-config.
TRIPLET :=
