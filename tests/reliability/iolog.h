/* iolog.h - the log format shared by iolog.so and plcheck (see iolog.c). */
#ifndef SL_TEST_IOLOG_H
#define SL_TEST_IOLOG_H

#include <stdint.h>

enum { IOL_WRITE = 1, IOL_DWRITE = 2, IOL_SYNC = 3, IOL_TRUNC = 4, IOL_MARK = 5, IOL_RENAME = 6 };

struct iol_hdr {
    uint32_t type;
    uint32_t pad;
    uint64_t off;
    uint64_t len;   /* bytes that follow (writes and marks) */
};

#endif
