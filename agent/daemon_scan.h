/*
 * daemon_scan.h - the [scanner.NAME] barcode scanners run by `storelink
 * run` (drivers/scanner.h), kept out of daemon.c so the daemon's loop only
 * adds their fds, their deadline, one service call and a status object.
 */
#ifndef SL_DAEMON_SCAN_H
#define SL_DAEMON_SCAN_H

#include <jansson.h>
#include <stdint.h>

#include "platform.h"
#include "storelink.h"

typedef struct sl__dscan sl__dscan;

/* Check the [scanner.NAME] sections of conf_path only: run does this
 * before it opens (and creates) anything.  SL_OK, SL_ERR_CONFIG with a
 * one-line message in err, SL_ERR_NOMEM. */
SL_NODISCARD int sl__dscan_check(const char *conf_path, char *err, size_t errsz);
/* Read the [scanner.NAME] sections of conf_path (NULL or "": none) and
 * start one scanner each, writing through j and looking up in cat (both
 * borrowed: the daemon's handles, one LMDB environment per process; cat
 * may be NULL).  *out is NULL-safe to use when there are no scanners.
 * SL_OK; SL_ERR_CONFIG with a one-line message in err; SL_ERR_NOMEM. */
SL_NODISCARD int sl__dscan_open(sl__dscan **out, const char *conf_path, sl_journal *j,
                                sl_catalog *cat, const char *device_id, char *err, size_t errsz);
/* Add the open scanners' fds to fds (at most max); returns how many. */
int sl__dscan_pollfds(sl__dscan *ds, sl_pollfd *fds, int max);
/* The earliest scanner deadline (monotonic ms), UINT64_MAX for none. */
uint64_t sl__dscan_deadline(const sl__dscan *ds);
/* After poll: read what the fds given by sl__dscan_pollfds have, then run
 * every scanner's timers.  Returns how many records were committed (the
 * caller kicks the sync engine), or -1 when out of memory; *changed says
 * whether the status changed (a scan, a device gone or back). */
int sl__dscan_service(sl__dscan *ds, const sl_pollfd *fds, int n, uint64_t now_ms, int *changed);
/* Per-scanner state and counters for daemon.json / the control socket
 * (a new array; NULL when there are no scanners). */
json_t *sl__dscan_json(const sl__dscan *ds);
/* SIGHUP: re-read the scanner sections; unchanged scanners keep running,
 * removed or changed ones are stopped (an open count discarded with a
 * warning), new or changed ones started.  On an error the running
 * scanners are kept and the log says why. */
void sl__dscan_reload(sl__dscan *ds, const char *conf_path);
/* Close the devices (open counts are discarded with a warning) and free.
 * NULL is a no-op. */
void sl__dscan_free(sl__dscan *ds);

#endif
