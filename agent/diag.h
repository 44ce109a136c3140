/* diag.h - pieces `storelink status` and `storelink doctor` share
 * (implemented in cli_status.c). */
#ifndef SL_DIAG_H
#define SL_DIAG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* "3 h 12 min", "4 min 5 s", "2 d 3 h" for a duration in ms (>= 0). */
void sl__human_age(int64_t ms, char *out, size_t outsz);
/* "14.2 MiB", "512 B", "3.1 GiB". */
void sl__human_bytes(uint64_t n, char *out, size_t outsz);
/* <state_dir>/daemon.json parsed (caller json_decref()s it; NULL when
 * missing or unreadable).  *running is 1 when it says running and its pid
 * is alive (a daemon killed with -9 leaves running:true behind). */
json_t *sl__daemon_view(const char *state_dir, int *running, long *pid);
/* The same, asked live over the control socket when the daemon runs. */
json_t *sl__daemon_view_live(const sl_config *cfg, int *running, long *pid);
#endif
