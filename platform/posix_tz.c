/*
 * Time zones and clock trust for POSIX systems (platform.h).
 *
 * Time zones go through the C library (localtime_r with TZ set to the
 * zone): glibc reads the same TZif files every other program on the device
 * uses, with the rules for every year, so DST is right without a table of
 * our own.  glibc silently falls back to UTC for a TZ it cannot load, which
 * is why sl_plat_tz_check looks for the file first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#if defined(__has_include)
#if __has_include(<sys/timex.h>)
#include <sys/timex.h>
#define HAVE_ADJTIMEX 1
#endif
#endif

#include "platform.h"
#include "storelink.h"

static int tz_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > SL_TZ_MAX || name[0] == '/' || strspn(name,
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") != n)
        return 0;
    /* no "." at all: rules out ".." without parsing path components */
    return strstr(name, "//") == NULL && name[n - 1] != '/';
}

int sl_plat_tz_check(const char *name)
{
    if (!tz_name_ok(name))
        return SL_ERR_INVALID;
    if (strcmp(name, "UTC") == 0)
        return SL_OK;
    const char *dir = getenv("TZDIR");
    char path[512];
    if (dir == NULL || dir[0] == '\0')
        dir = "/usr/share/zoneinfo";
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return SL_ERR_INVALID;
    /* a regular file starting with the TZif magic: "Europe" (a directory)
     * or a stray file under the zoneinfo tree is not a zone */
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return SL_ERR_NOT_FOUND;
    FILE *f = fopen(path, "rb");
    char magic[4];
    int ok = f != NULL && fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
    if (f != NULL)
        fclose(f);
    return ok ? SL_OK : SL_ERR_NOT_FOUND;
}

int sl_plat_tz_offset(const char *name, int64_t utc_ms, int32_t *offset_s)
{
    int rc = sl_plat_tz_check(name);
    if (rc != SL_OK)
        return rc;
    /* floor division: a negative instant still lands in the right second */
    int64_t sec = utc_ms / 1000 - (utc_ms % 1000 < 0);
    time_t t = (time_t)sec;
    if ((int64_t)t != sec)
        return SL_ERR_TOO_LARGE;   /* 32-bit time_t past 2038 */
    char saved[256];
    const char *old = getenv("TZ");
    int had = old != NULL && strlen(old) < sizeof saved;
    if (had)
        snprintf(saved, sizeof saved, "%s", old);
    /* a leading ':' makes glibc read the file and never parse the name as
     * a POSIX TZ rule string */
    char tzval[SL_TZ_MAX + 2];
    snprintf(tzval, sizeof tzval, ":%s", name);
    struct tm tm;
    setenv("TZ", tzval, 1);
    tzset();
    struct tm *ok = localtime_r(&t, &tm);
    if (had)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    if (ok == NULL)
        return SL_ERR_TOO_LARGE;
    *offset_s = (int32_t)tm.tm_gmtoff;
    return SL_OK;
}

unsigned sl_plat_clock_trust(void)
{
    /* wall minus monotonic is constant while nobody steps the clock; the
     * first call only takes the baseline */
    static int have_base;
    static int64_t base;
    unsigned bits = 0;
    struct timespec w, m;
    clock_gettime(CLOCK_REALTIME, &w);
    clock_gettime(CLOCK_MONOTONIC, &m);
    int64_t off = ((int64_t)w.tv_sec - (int64_t)m.tv_sec) * 1000 +
                  ((int64_t)w.tv_nsec - (int64_t)m.tv_nsec) / 1000000;
    if (have_base && (off - base > SL_PLAT_CLOCK_JUMP_MS || base - off > SL_PLAT_CLOCK_JUMP_MS))
        bits |= SL_PLAT_CLOCK_JUMP;
    base = off;
    have_base = 1;

    const char *inject = getenv("STORELINK_CLOCK_STATE");
    if (inject != NULL && inject[0] != '\0') {
        if (strcmp(inject, "unsynced") == 0)
            return SL_PLAT_CLOCK_UNSYNC;
        if (strcmp(inject, "jump") == 0)
            return SL_PLAT_CLOCK_JUMP;
        /* "synced" (or anything else): the kernel's sync state is taken as
         * good, but a step this process saw itself is still reported (the
         * clock-jump test runs on hosts whose kernel says unsynchronised) */
        return bits;
    }
#ifdef HAVE_ADJTIMEX
    /* modes 0 only reads; needs no privilege */
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    int state = adjtimex(&tx);
    if (state == TIME_ERROR || state < 0 || (tx.status & STA_UNSYNC) ||
        tx.maxerror >= 16000000L)
        bits |= SL_PLAT_CLOCK_UNSYNC;
#endif
    return bits;
}
