/* Bounded growing buffer (buf.h). */
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int sl__buf_append(void **buf, size_t *len, size_t *cap, const void *s, size_t n, size_t max)
{
    if (n > max || *len > max - n)
        return 0;
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n)
            c *= 2;
        if (c > max)
            c = max;
        void *p = realloc(*buf, c);
        if (p == NULL)
            return 0;
        *buf = p;
        *cap = c;
    }
    memcpy((char *)*buf + *len, s, n);
    *len += n;
    return 1;
}
