/* timeparse.h - absolute instants as users write them (shared by the
 * agent's look-ups and the hub's price files). */
#ifndef SL_TIMEPARSE_H
#define SL_TIMEPARSE_H

#include <stdint.h>

#define SL_TIME_MAX 253402300799999LL   /* 9999-12-31T23:59:59.999Z, Unix ms */

/* Days since 1970-01-01 of a proleptic Gregorian date (y, m 1-12, d). */
int64_t sl__days_from_civil(int64_t y, int64_t m, int64_t d);

/* The inverse: civil date of a day count since 1970-01-01. */
void sl__civil_from_days(int64_t z, int64_t *y, int *m, int *d);

/* Unix milliseconds, or ISO 8601 with an explicit zone:
 * YYYY-MM-DDTHH:MM[:SS[.fff]](Z|+HH:MM|-HH:MM).  A zone is required: a
 * price instant is absolute, the device never guesses one.  0 or -1. */
int sl__parse_time(const char *s, int64_t *out_ms);

#endif
