/*
 * config_scanners.h - the [scanner.NAME] sections of the configuration
 * file (keys in NOTES-drivers.md / README "Scanners").  agent/config.c
 * skips these sections; this module reads them in a second pass, so only
 * the programs that run scanners pay for them and report their errors.
 */
#ifndef SL_CONFIG_SCANNERS_H
#define SL_CONFIG_SCANNERS_H

#include <stddef.h>

#include "scanmode.h"

#define SL_SCANNERS_MAX 8   /* sl_plat_poll takes 16 fds; the daemon has its own */
#define SL_COUNT_IDLE_DEFAULT_S 120

typedef struct sl_scanners {
    size_t n;
    sl_scanner_conf sc[SL_SCANNERS_MAX];
} sl_scanners;

/* Read every [scanner.NAME] section of path into *out (n = 0 when there
 * are none).  SL_OK, or SL_ERR_CONFIG with a one-line message
 * ("<path>:<line>: scanner.NAME.key: reason" or "<path>: scanner.NAME:
 * reason") in err.  Unknown keys are logged as warnings, like config.c. */
SL_NODISCARD int sl__config_scanners(const char *path, sl_scanners *out, char *err, size_t errsz);

#endif
