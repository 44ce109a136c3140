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

void sl_plat_format_utc(int64_t ms, char *out, size_t outsz)
{
    /* floor division so pre-1970 values still format sensibly */
    int64_t sec = ms / 1000, rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        sec -= 1;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(out, outsz, "invalid-time");
        return;
    }
    snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)rem);
}
