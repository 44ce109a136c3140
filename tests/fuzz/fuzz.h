/*
 * fuzz.h - shared bits of the libFuzzer targets in tests/fuzz/ (built and
 * run by `make fuzz`, see tests/fuzz/run.sh).  Each target feeds the bytes
 * libFuzzer gives it to one decoder of outside input, the way the agent or
 * the hub calls it, and checks properties that must hold for any input
 * (round trips, NUL-terminated outputs).  A broken property aborts, so
 * libFuzzer saves the input as a crash like any sanitizer report.
 *
 * Test code, not the product: it may call the OS directly.
 */
#ifndef SL_FUZZ_H
#define SL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* A private scratch directory for the process (keys, a config file),
 * under $TMPDIR or /tmp; removed by run.sh with the rest of its scratch. */
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

#endif
