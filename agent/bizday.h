/*
 * bizday.h - business days in the store's time zone (docs/PROTOCOL.md
 * "Day close").  Business day D runs from D at day_end local time to D+1
 * at day_end, as UTC instants [start, end); with day_end 04:00 a sale at
 * 01:30 on the 21st belongs to the 20th.  Days are integers (days since
 * 1970-01-01 of the date), so nothing here depends on the width of time_t.
 */
#ifndef SL_BIZDAY_H
#define SL_BIZDAY_H

#include <stdint.h>

#include "storelink.h"

typedef struct sl__bizday {
    char tz[SL_TZ_MAX + 1];
    uint32_t day_end_min;        /* minutes after local midnight, 0..1439 */
    /* the last day looked up: records arrive in time order, so most
     * look-ups need no time zone call at all */
    int have_cache;
    int64_t c_day, c_start, c_end;
} sl__bizday;

/* Set up for a zone and day end.  SL_OK, or the sl_plat_tz_check error
 * (SL_ERR_NOT_FOUND, SL_ERR_INVALID), SL_ERR_USAGE for day_end >= 1440. */
int sl__bizday_init(sl__bizday *b, const char *tz, uint32_t day_end_min);
/* UTC instants [start_ms, end_ms) of business day `day`. */
int sl__bizday_bounds(sl__bizday *b, int64_t day, int64_t *start_ms, int64_t *end_ms);
/* The business day an instant belongs to (consistent with the bounds). */
int sl__bizday_of(sl__bizday *b, int64_t ts_ms, int64_t *day);

/* "YYYY-MM-DD" <-> day number.  Parse: 0, or -1 for a malformed or
 * impossible date (years 2000..2099, the range records may carry). */
int sl__date_parse(const char *s, int64_t *day);
void sl__date_format(int64_t day, char out[11]);
/* "HH:MM" -> minutes; 0 or -1. */
int sl__hhmm_parse(const char *s, uint32_t *min);

#endif
