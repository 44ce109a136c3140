/*
 * log.h - the hub's log lines: "<prio>storelink-hub: message" on stderr,
 * one write per line, syslog priorities as in platform.h (journald reads
 * the prefix).  platform/posix_log.c hard-codes the "storelink:" ident, so
 * the hub formats its own lines here; library modules it links still log
 * through sl_plat_log() with the agent's ident.
 */
#ifndef HUB_LOG_H
#define HUB_LOG_H

#include "platform.h"   /* SL_LOG_* priorities */

/* Lines with a priority above level are dropped (default SL_LOG_INFO).
 * Also sets the level of sl_plat_log() for the library modules. */
void hub_log_set_level(int level);
void hub_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line printed whatever the level: readiness and shutdown notices that
 * scripts and tests wait for. */
void hub_log_always(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
