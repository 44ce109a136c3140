/* Kernel randomness (getrandom(2), which blocks only until the pool is
 * first initialised at boot). */
#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include "platform.h"
#include "storelink.h"

int sl_plat_random(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return SL_ERR_IO;
        }
        p += n;
        len -= (size_t)n;
    }
    return SL_OK;
}
