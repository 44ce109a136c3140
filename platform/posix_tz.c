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
#include <unistd.h>
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

/* The kernel's id of this boot, read once: a reboot restarts the time since
 * boot, so baselines of two boots cannot be compared.  Without one (not
 * Linux, /proc not mounted) the id is made unique to this process. */
static void boot_id(char out[SL_PLAT_BOOT_ID_MAX + 1])
{
    static char id[SL_PLAT_BOOT_ID_MAX + 1];
    const char *test = getenv("STORELINK_BOOT_ID");
    if (test != NULL && test[0] != '\0') {
        snprintf(out, SL_PLAT_BOOT_ID_MAX + 1, "%s", test);
        return;
    }
    if (id[0] == '\0') {
        FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
        size_t n = f != NULL ? fread(id, 1, SL_PLAT_BOOT_ID_MAX, f) : 0;
        if (f != NULL)
            fclose(f);
        id[n] = '\0';
        id[strspn(id, "0123456789abcdef-")] = '\0';   /* drops the newline */
        if (id[0] == '\0') {
            struct timespec m;
            clock_gettime(CLOCK_MONOTONIC, &m);
            snprintf(id, sizeof id, "process-%ld-%lld.%09ld", (long)getpid(),
                     (long long)m.tv_sec, (long)m.tv_nsec);
        }
    }
    memcpy(out, id, sizeof id);
}

unsigned sl_plat_clock_trust(const sl_plat_clock_base *prev, sl_plat_clock_base *now)
{
    /* wall minus time-since-boot is constant while nobody steps the clock.
     * CLOCK_BOOTTIME rather than CLOCK_MONOTONIC where there is one: the
     * baseline is kept across processes and idle hours, and the monotonic
     * clock stops while the machine is suspended, which would make every
     * resume look like a step forward. */
#ifdef CLOCK_BOOTTIME
    const clockid_t since_boot = CLOCK_BOOTTIME;
#else
    const clockid_t since_boot = CLOCK_MONOTONIC;
#endif
    unsigned bits = 0;
    struct timespec w, m;
    clock_gettime(CLOCK_REALTIME, &w);
    clock_gettime(since_boot, &m);
    now->wall_minus_boot_ms = ((int64_t)w.tv_sec - (int64_t)m.tv_sec) * 1000 +
                              ((int64_t)w.tv_nsec - (int64_t)m.tv_nsec) / 1000000;
    boot_id(now->boot_id);
    if (prev != NULL && strcmp(prev->boot_id, now->boot_id) == 0) {
        int64_t d = now->wall_minus_boot_ms - prev->wall_minus_boot_ms;
        if (d > SL_PLAT_CLOCK_JUMP_MS || d < -SL_PLAT_CLOCK_JUMP_MS)
            bits |= SL_PLAT_CLOCK_JUMP;
    }

    const char *inject = getenv("STORELINK_CLOCK_STATE");
    if (inject != NULL && inject[0] != '\0') {
        if (strcmp(inject, "unsynced") == 0)
            return SL_PLAT_CLOCK_UNSYNC;
        if (strcmp(inject, "jump") == 0)
            return SL_PLAT_CLOCK_JUMP;
        /* "synced" (or anything else): the kernel's sync state is taken as
         * good, but a measured step is still reported (the clock-jump test
         * runs on hosts whose kernel says unsynchronised) */
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
