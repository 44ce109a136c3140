/*
 * dayclose.h - the day close (Z-report): which records belong to a
 * business day, their totals, and the comparison of a close with the
 * records (docs/PROTOCOL.md "Day close").  Shared by the agent (close-day,
 * report day) and the hub (reconcile, report day).
 *
 * Membership.  A record r (not itself a day close) with business date
 * bd(r) belongs to business day D, closed by a close with through_seq T
 * whose previous close was (P, TP), when
 *     r.seq <= T  and  bd(r) <= D  and  (r.seq > TP or bd(r) > P).
 * So a record recorded after D's close (seq > T), even one dated D or
 * earlier, belongs to the next day that is closed after it: "late records
 * go to the next business day", decided by seq, never by rewriting a
 * closed day.  Closes are made in date order (close-day refuses a date at
 * or before the last closed one), which is what makes this rule partition
 * the journal.  An open day uses T = infinity.
 */
#ifndef SL_DAYCLOSE_H
#define SL_DAYCLOSE_H

#include <stddef.h>
#include <stdint.h>

#include "bizday.h"
#include "storelink.h"

typedef struct sl__day_scope {
    int64_t day;                 /* D */
    uint64_t through;            /* T; UINT64_MAX for an open day */
    int has_prev;
    int64_t prev_day;            /* P */
    uint64_t prev_through;       /* TP */
    sl__bizday bd;
} sl__day_scope;

/* Scope of a recorded close (its own zone, day end and previous close,
 * not today's configuration).  SL_OK or the time zone error. */
int sl__day_scope_of_close(sl__day_scope *s, const sl_day_close *c);

/* *member = 1 if rec belongs to the scope's day. */
int sl__day_member(sl__day_scope *s, const sl_record *rec, int *member);

/* Start an accumulation for date (day number) with zone and day end. */
void sl__day_init(sl_day_close *d, int64_t day, const char *tz, uint32_t day_end_min);
/* Add one member record (rec->hash is used only when it is the last one
 * so far; pass records in seq order).  SL_OK, SL_ERR_TOO_LARGE when a
 * table is full or a sum overflows. */
int sl__day_add(sl_day_close *d, const sl_record *rec);

/* Add the totals of `from` to `into` (a store's consolidated day across
 * devices); seq range and hash are cleared, they mean nothing across
 * devices.  SL_OK or SL_ERR_TOO_LARGE. */
int sl__day_merge(sl_day_close *into, const sl_day_close *from);

/* Compare a close (a, named a_name) with a recomputation (b, b_name):
 * calls fn once per difference with a one-line description, returns the
 * number of differences.  Seq range, counts, every total row, and the
 * chain hash at the last record are compared. */
typedef void (*sl__day_diff_fn)(const char *what, void *ctx);
int sl__day_diff(const sl_day_close *a, const char *a_name, const sl_day_close *b,
                 const char *b_name, sl__day_diff_fn fn, void *ctx);

/* What the journal holds about closes around day D. */
typedef struct sl__day_state {
    int closed;                  /* D has a close */
    uint64_t close_seq;
    sl_day_close close;          /* its content when closed */
    int has_prev;                /* the last close before D */
    int64_t prev_day;
    uint64_t prev_through;
    int has_last;                /* the last close of all */
    int64_t last_day;
    uint64_t last_seq;
    uint64_t last_through;
    uint64_t tail_seq;           /* journal's last seq at the scan */
} sl__day_state;

/* Scan the journal for closes (one pass, no hashing). */
int sl__day_state_get(sl_journal *j, int64_t day, sl__day_state *st);

/* The distinct business days (ascending, at most max) of the records no
 * close has counted yet (st from sl__day_state_get), by bd's zone.  A day
 * at or before the last closed one is reported as the day after it (where
 * such late records will be counted).  *more is set when later days were
 * left out (a later call finds them once these are closed). */
int sl__day_open_days(sl_journal *j, sl__bizday *bd, const sl__day_state *st, int64_t *days,
                      size_t max, size_t *n, int *more);

/* Compute day D from the journal with scope s into *d (records in seq
 * order; the chain hash of the last member is read back). */
int sl__day_compute(sl_journal *j, sl__day_scope *s, const char *tz, uint32_t day_end_min,
                    sl_day_close *d);

#endif
