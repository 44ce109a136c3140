/* Business days across DST: bizday.h.  The only time zone knowledge is
 * sl_plat_tz_offset (the C library's); everything else is integer math. */
#include <stdio.h>
#include <string.h>

#include "bizday.h"
#include "platform.h"
#include "timeparse.h"

#define DAY_MS 86400000LL
#define HALF_DAY_MS 50400000LL   /* 14 h: beyond any zone's offset */

int sl__bizday_init(sl__bizday *b, const char *tz, uint32_t day_end_min)
{
    memset(b, 0, sizeof *b);
    if (day_end_min >= 1440)
        return SL_ERR_USAGE;
    int rc = sl_plat_tz_check(tz);
    if (rc != SL_OK)
        return rc;
    memcpy(b->tz, tz, strlen(tz) + 1);
    b->day_end_min = day_end_min;
    return SL_OK;
}

/* local wall time (as if it were UTC) of instant u */
static int local_of(sl__bizday *b, int64_t u, int64_t *local)
{
    int32_t off;
    int rc = sl_plat_tz_offset(b->tz, u, &off);
    if (rc == SL_OK)
        *local = u + (int64_t)off * 1000;
    return rc;
}

/*
 * First instant whose local time is >= L.  Around L the zone has at most
 * two offsets (before and after a change, probed 14 h away); a candidate
 * L - offset is right when the zone really has that offset there.  Both
 * right: L happens twice (the autumn change), the first one counts.
 * Neither: L falls into the spring gap, and the day starts at the change
 * itself, found by bisection (local time only moves forward there).
 */
static int first_at_or_after(sl__bizday *b, int64_t L, int64_t *out)
{
    int32_t oa, ob, o;
    int rc;
    if ((rc = sl_plat_tz_offset(b->tz, L - HALF_DAY_MS, &oa)) != SL_OK ||
        (rc = sl_plat_tz_offset(b->tz, L + HALF_DAY_MS, &ob)) != SL_OK)
        return rc;
    int64_t ca = L - (int64_t)oa * 1000, cb = L - (int64_t)ob * 1000;
    int va, vb;
    if ((rc = sl_plat_tz_offset(b->tz, ca, &o)) != SL_OK)
        return rc;
    va = o == oa;
    if ((rc = sl_plat_tz_offset(b->tz, cb, &o)) != SL_OK)
        return rc;
    vb = o == ob;
    if (va && vb) {
        *out = ca < cb ? ca : cb;
        return SL_OK;
    }
    if (va || vb) {
        *out = va ? ca : cb;
        return SL_OK;
    }
    int64_t lo = ca < cb ? ca : cb, hi = ca < cb ? cb : ca, loc;
    /* invariant: local(lo) < L <= local(hi); zone changes fall on whole
     * seconds, so stop at one second */
    while (hi - lo > 1000) {
        int64_t mid = lo + (hi - lo) / 2;
        if ((rc = local_of(b, mid, &loc)) != SL_OK)
            return rc;
        if (loc >= L)
            hi = mid;
        else
            lo = mid;
    }
    *out = hi - hi % 1000;
    if ((rc = local_of(b, *out, &loc)) != SL_OK)
        return rc;
    if (loc < L)
        *out += 1000;
    return SL_OK;
}

static int day_start(sl__bizday *b, int64_t day, int64_t *start)
{
    return first_at_or_after(b, day * DAY_MS + (int64_t)b->day_end_min * 60000, start);
}

int sl__bizday_bounds(sl__bizday *b, int64_t day, int64_t *start_ms, int64_t *end_ms)
{
    if (b->have_cache && b->c_day == day) {
        *start_ms = b->c_start;
        *end_ms = b->c_end;
        return SL_OK;
    }
    int rc = day_start(b, day, start_ms);
    if (rc == SL_OK)
        rc = day_start(b, day + 1, end_ms);
    if (rc == SL_OK) {
        b->have_cache = 1;
        b->c_day = day;
        b->c_start = *start_ms;
        b->c_end = *end_ms;
    }
    return rc;
}

static int64_t floor_div(int64_t a, int64_t n)
{
    return a / n - (a % n < 0);
}

int sl__bizday_of(sl__bizday *b, int64_t ts_ms, int64_t *day)
{
    if (b->have_cache && ts_ms >= b->c_start && ts_ms < b->c_end) {
        *day = b->c_day;
        return SL_OK;
    }
    int64_t local, s, e;
    int rc = local_of(b, ts_ms, &local);
    if (rc != SL_OK)
        return rc;
    int64_t d = floor_div(local - (int64_t)b->day_end_min * 60000, DAY_MS);
    /* the estimate is off by one at most around a change (the repeated
     * hour); the bounds decide */
    for (int i = 0; i < 4; i++) {
        if ((rc = sl__bizday_bounds(b, d, &s, &e)) != SL_OK)
            return rc;
        if (ts_ms < s)
            d--;
        else if (ts_ms >= e)
            d++;
        else {
            *day = d;
            return SL_OK;
        }
    }
    return SL_ERR_CORRUPT;   /* unreachable with a sane zone */
}

static int digits(const char *s, int n, int64_t *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

int sl__date_parse(const char *s, int64_t *day)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t y, m, d;
    if (strlen(s) != 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &m) ||
        s[7] != '-' || digits(s + 8, 2, &d))
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 2000 || y > 2099 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
        (m == 2 && d == 29 && !leap))
        return -1;
    *day = sl__days_from_civil(y, m, d);
    return 0;
}

void sl__date_format(int64_t day, char out[11])
{
    int64_t y;
    int m, d;
    sl__civil_from_days(day, &y, &m, &d);
    /* years are 2000..2099 here; the mask only tells the compiler so */
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
             (unsigned)d % 100u);
}

int sl__hhmm_parse(const char *s, uint32_t *min)
{
    int64_t h, m;
    if (strlen(s) != 5 || digits(s, 2, &h) || s[2] != ':' || digits(s + 3, 2, &m) || h > 23 ||
        m > 59)
        return -1;
    *min = (uint32_t)(h * 60 + m);
    return 0;
}
