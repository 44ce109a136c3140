/*
 * scanner.h - one configured barcode scanner: a reader (reader.h) plus
 * its state machine (scanmode.h), writing through the journal.  This is
 * the API an event loop uses (today `storelink scan`, agent/cli_scan.c;
 * later `storelink run`):
 *
 *     sl__scanner_new()                       once per [scanner.NAME]
 *     loop:
 *         poll sl__scanner_fd() (if >= 0) for reading, with a timeout
 *         until sl__scanner_deadline()
 *         readable  -> sl__scanner_readable(now)
 *         always    -> sl__scanner_tick(now)   (runs what is due)
 *     sl__scanner_free()
 *
 * Times are monotonic milliseconds (sl_plat_mono_ms()).  Hot-plug: a
 * device that is missing at start or goes away is reopened every
 * SL_SCANNER_REOPEN_MS by sl__scanner_tick, and the fd changes.
 */
#ifndef SL_SCANNER_H
#define SL_SCANNER_H

#include <stdint.h>

#include "scanmode.h"
#include "storelink.h"

#define SL_SCANNER_REOPEN_MS 1000

typedef struct sl_scanner sl_scanner;

/* What the scanners write to and report through; borrowed, must outlive
 * the scanner.  catalog may be NULL (no catalog yet: lookups answer
 * "unknown" and counts carry no expected figure). */
typedef struct sl_scanner_env {
    sl_journal *journal;
    sl_catalog *catalog;
    const char *device_id;           /* whose records the stock figure adds */
    /* progress and problem lines (prio SL_LOG_*); NULL = sl_plat_log */
    void (*report)(void *ctx, int prio, const char *line);
    void *report_ctx;
} sl_scanner_env;

/* Create the scanner for conf (copied) and try to open its device (a
 * missing device is reported and retried, not an error).  SL_OK,
 * SL_ERR_NOMEM, SL_ERR_USAGE for a conf the readers do not know. */
SL_NODISCARD int sl__scanner_new(sl_scanner **out, const sl_scanner_conf *conf, const sl_scanner_env *env,
                    uint64_t now_ms);
/* The fd to poll for reading, -1 while the device is not open. */
int sl__scanner_fd(const sl_scanner *s);
/* Read and act on what arrived.  Only SL_ERR_NOMEM is returned as an
 * error; a device error closes the device (reopened by tick). */
SL_NODISCARD int sl__scanner_readable(sl_scanner *s, uint64_t now_ms);
/* When sl__scanner_tick is next due; UINT64_MAX for never. */
uint64_t sl__scanner_deadline(const sl_scanner *s);
void sl__scanner_tick(sl_scanner *s, uint64_t now_ms);
/* Counters (scans, recorded, rejected, bad check digits...). */
void sl__scanner_stats(const sl_scanner *s, sl_scan_stats *st);
const char *sl__scanner_name(const sl_scanner *s);
/* Close the device and free; an open count session is reported and
 * discarded.  NULL is a no-op. */
void sl__scanner_free(sl_scanner *s);

#endif
