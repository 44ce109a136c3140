/* Clocks for POSIX systems. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#include "platform.h"

int64_t sl_plat_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t sl_plat_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t sl_plat_mono_ms(void)
{
    return sl_plat_mono_ns() / 1000000u;
}

/* civil date of a day count since 1970-01-01 (H. Hinnant's algorithm):
 * pure integer arithmetic, so dates past 2038 print right where time_t is
 * 32 bits (armhf) */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
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

void sl_plat_format_utc(int64_t ms, char *out, size_t outsz)
{
    /* floor division so pre-1970 values still format sensibly */
    int64_t sec = ms / 1000, rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        sec -= 1;
    }
    int64_t days = sec / 86400, sod = sec % 86400;
    if (sod < 0) {
        sod += 86400;
        days -= 1;
    }
    int64_t y;
    int mo, d;
    civil_from_days(days, &y, &mo, &d);
    snprintf(out, outsz, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, mo, d,
             (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (int)rem);
}

void sl_plat_format_local_time(int64_t ms, char *out, size_t outsz)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (outsz == 0)
        return;
    if (localtime_r(&t, &tm) == NULL || strftime(out, outsz, "%H:%M:%S", &tm) == 0)
        snprintf(out, outsz, "?");
}
