/* ISO 8601 / Unix-ms instants for prices and look-ups (docs/CLI.md). */
#include <string.h>

#include "timeparse.h"

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil); pure arithmetic, no time zone database involved */
int64_t sl__days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* H. Hinnant's civil_from_days, the inverse of the above */
void sl__civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* n digits at s into *v; 0 or -1 */
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

/*
 * TIME: Unix milliseconds, or ISO 8601 with an explicit zone:
 * YYYY-MM-DDTHH:MM[:SS[.fff]](Z|+HH:MM|-HH:MM).  A zone is required: a
 * price instant is absolute (NOTES.md), the device never guesses one.
 */
int sl__parse_time(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    int64_t v;
    if (n > 0 && strspn(s, "0123456789") == n) {
        if (n > 15 || digits(s, (int)n, &v) != 0 || v > SL_TIME_MAX)
            return -1;
        *out = v;
        return 0;
    }
    int64_t y, mo, d, h, mi, sec = 0, ms = 0;
    if (n < 17 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || s[10] != 'T' || digits(s + 11, 2, &h) || s[13] != ':' ||
        digits(s + 14, 2, &mi))
        return -1;
    const char *p = s + 16;
    if (*p == ':') {
        if (digits(p + 1, 2, &sec))
            return -1;
        p += 3;
        if (*p == '.') {
            int nf = 0;
            p++;
            while (p[nf] >= '0' && p[nf] <= '9')
                nf++;
            if (nf < 1 || nf > 3 || digits(p, nf, &ms))
                return -1;
            for (int i = nf; i < 3; i++)
                ms *= 10;
            p += nf;
        }
    }
    int64_t off = 0;
    if (p[0] == 'Z' && p[1] == '\0') {
        off = 0;
    } else if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6 && p[3] == ':') {
        int64_t oh, om;
        if (digits(p + 1, 2, &oh) || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = (oh * 60 + om) * 60000 * (p[0] == '-' ? -1 : 1);
    } else {
        return -1;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
        return -1;
    v = ((sl__days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + sec * 1000 + ms - off;
    if (v < 0 || v > SL_TIME_MAX)
        return -1;
    *out = v;
    return 0;
}
