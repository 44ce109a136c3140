/*
 * scanmode.h - what a scanner's scans do: the per-scanner state machine
 * (mode, quantity prefix, count session, idle timer) between the framing
 * layer and the journal.  No I/O and no clock of its own: records,
 * look-ups and messages go through an sl_scan_sink and the caller passes
 * the monotonic time, so the unit tests drive it with a fake clock.
 */
#ifndef SL_SCANMODE_H
#define SL_SCANMODE_H

#include <stddef.h>
#include <stdint.h>

#include "storelink.h"

#define SL_SCANNER_NAME_MAX 24     /* [scanner.NAME]: goes into txn ids */
#define SL_SCANNER_PATH_MAX 512
#define SL_QTY_PREFIX_MAX 16
#define SL_QTY_PENDING_MS 30000    /* a QTY code not followed by an item expires */
#define SL_COUNT_RETRY_MS 5000     /* a count that failed to record is retried */

typedef enum sl_scan_mode {
    SL_SCAN_RECEIVE = 1,   /* one receive adjustment (+qty) per scan */
    SL_SCAN_COUNT = 2,     /* scans accumulate; one count adjustment at the end */
    SL_SCAN_DAMAGE = 3,    /* one damage adjustment (-qty) per scan */
    SL_SCAN_LOOKUP = 4,    /* nothing recorded: price and stock answered */
} sl_scan_mode;

typedef enum sl_scan_type {
    SL_SCANNER_EVDEV = 1,  /* HID keyboard wedge, /dev/input/event* */
    SL_SCANNER_SERIAL = 2, /* USB CDC-ACM or RS-232 tty */
    SL_SCANNER_PIPE = 3,   /* a FIFO (tests, or another program feeding scans) */
} sl_scan_type;

typedef enum sl_pipe_format {
    SL_PIPE_LINES = 0,     /* text lines, as a serial scanner sends */
    SL_PIPE_EVENTS = 1,    /* struct input_event records, as evdev gives */
} sl_pipe_format;

/* One [scanner.NAME] section (agent/config_scanners.c). */
typedef struct sl_scanner_conf {
    char name[SL_SCANNER_NAME_MAX + 1];
    char device[SL_SCANNER_PATH_MAX];
    sl_scan_type type;
    unsigned baud;                        /* serial */
    sl_pipe_format format;                /* pipe */
    int grab;                             /* evdev: EVIOCGRAB (default 1) */
    sl_scan_mode mode;
    char location[SL_TEXT_MAX + 1];       /* "" = none */
    char qty_prefix[SL_QTY_PREFIX_MAX + 1]; /* "" = no quantity codes */
    char end_code[SL_SKU_MAX + 1];        /* count: commits the session, "" = none */
    uint64_t count_idle_ms;               /* count: idle commit, 0 = never */
    char output[SL_SCANNER_PATH_MAX];     /* lookup answers: file, "" = the log */
    int output_device;                    /* lookup answers back to the (serial) device */
} sl_scanner_conf;

/* Where the state machine's effects go.  All pointers are borrowed for the
 * call; strings passed to the callbacks only live during the call. */
typedef struct sl_scan_sink {
    void *ctx;
    /* sl_journal_record() semantics */
    int (*record)(void *ctx, const sl_event *ev, uint64_t *seq, sl_status *st, sl_problem *p);
    /* sl_price_lookup() at the current time / sl_stock_lookup(); may be NULL */
    int (*price)(void *ctx, const char *sku, sl_price *out);
    int (*stock)(void *ctx, const char *sku, sl_stock *out);
    /* a lookup answer (one line, no newline) */
    void (*answer)(void *ctx, const char *line);
    /* progress and problems; prio is SL_LOG_* (platform.h) */
    void (*report)(void *ctx, int prio, const char *line);
} sl_scan_sink;

typedef struct sl_scan_stats {
    uint64_t scans;        /* complete scans seen */
    uint64_t recorded;     /* events recorded (a count session is one) */
    uint64_t rejected;     /* dropped: framing, SKU rules, bad quantity code */
    uint64_t bad_check;    /* of those: a bad GS1 check digit */
    uint64_t lookups;
    uint64_t failed;       /* the journal refused or failed a record */
} sl_scan_stats;

typedef struct sl_scanmode sl_scanmode;

/* A state machine for conf (copied) writing through sink (copied).
 * start_ms (wall clock at start), salt (random) and the scan counter make
 * txn ids "scan-<name>-<start_ms base 36><salt: 3 base-36 digits>-<n>"
 * unique per device, also when a device without a real-time clock starts
 * twice at the same restored time.  Free with sl__scanmode_free(). */
SL_NODISCARD int sl__scanmode_new(sl_scanmode **out, const sl_scanner_conf *conf,
                                  const sl_scan_sink *sink, int64_t start_ms, uint32_t salt);
/* Frees; an open count session is discarded (see sl__scanmode_abandon). */
void sl__scanmode_free(sl_scanmode *m);
/* One complete scan from the framing layer (err as in framing.h) at
 * monotonic time now_ms.  SL_OK, or SL_ERR_NOMEM; everything else is
 * reported through the sink and counted. */
SL_NODISCARD int sl__scanmode_scan(sl_scanmode *m, const char *code, size_t len, int err, uint64_t now_ms);
/* The monotonic time the next sl__scanmode_tick is due (an idle count
 * commit, a count retry, a quantity code expiring), UINT64_MAX for none. */
uint64_t sl__scanmode_deadline(const sl_scanmode *m);
/* Run what is due at now_ms. */
void sl__scanmode_tick(sl_scanmode *m, uint64_t now_ms);
/* Drop an open count session (shutdown: a count cut short must not reset
 * on-hand to a partial figure); returns how many SKUs it held. */
size_t sl__scanmode_abandon(sl_scanmode *m);
void sl__scanmode_stats(const sl_scanmode *m, sl_scan_stats *st);
/* Open count session size (SKUs), for tests and status. */
size_t sl__scanmode_count_skus(const sl_scanmode *m);

const char *sl__scan_mode_name(sl_scan_mode m);

#endif
