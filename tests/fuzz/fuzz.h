/*
 * fuzz.h - shared bits of the libFuzzer targets in tests/fuzz/ (built and
 * run by `make fuzz`, see tests/fuzz/run.sh).  Each target feeds the bytes
 * libFuzzer gives it to one decoder of outside input, the way the agent or
 * the hub calls it, and checks properties that must hold for any input
 * (round trips, NUL-terminated outputs).  A broken property aborts, so
 * libFuzzer saves the input as a crash like any sanitizer report.
 *
 * Test code, not the product: it may call the OS directly (built with
 * -D_GNU_SOURCE for memfd_create).
 */
#ifndef SL_FUZZ_H
#define SL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, what)                                                      \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "fuzz: property broken at %s:%d: %s\n", __FILE__,       \
                    __LINE__, (what));                                              \
            abort();                                                                \
        }                                                                           \
    } while (0)

/* 1 when buf[0..sz) holds a NUL (a C string that fits its buffer). */
static inline int fuzz_terminated(const char *buf, size_t sz)
{
    return memchr(buf, '\0', sz) != NULL;
}

/* A private scratch directory for the process (keys, files), under
 * $TMPDIR or /tmp; run.sh points TMPDIR at its own scratch and removes it. */
static inline const char *fuzz_scratch(void)
{
    static char dir[512];
    if (dir[0] == '\0') {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/sl-fuzz-XXXXXX", t && t[0] ? t : "/tmp");
        if (mkdtemp(dir) == NULL) {
            perror("fuzz: mkdtemp");
            abort();
        }
    }
    return dir;
}

/*
 * The input as a file, for decoders that take a path (config files, the
 * hub's catalog CSV).  An in-memory file (memfd) read through its
 * /proc/self/fd path, as the decoder would read one from /etc; rewriting a
 * file on disk held a target at ~200 runs/s (ext4 writes back a file that
 * is truncated and rewritten).  Falls back to a file in the scratch
 * directory.  Returns the path, the same each call.
 */
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
    static char path[600];
    static int fd = -2;
    if (fd == -2) {
        fd = memfd_create("fuzz-input", 0);
        if (fd >= 0)
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        else
            snprintf(path, sizeof path, "%s/fuzz-input", fuzz_scratch());
    }
    if (fd >= 0) {
        if (ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t)size)
            return path;
    } else {
        (void)remove(path);
        FILE *f = fopen(path, "wb");
        if (f != NULL && fwrite(data, 1, size, f) == size && fclose(f) == 0)
            return path;
    }
    perror("fuzz: writing the input file");
    abort();
}

#endif
