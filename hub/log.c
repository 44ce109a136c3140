/* Hub log lines (see log.h for why the hub does not use sl_plat_log). */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static int hub_level = SL_LOG_INFO;

void hub_log_set_level(int level)
{
    hub_level = level;
    sl_plat_log_set_level(level);
}

static void emit(int prio, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* one fprintf per line so concurrent writers do not interleave */
    fprintf(stderr, "<%d>storelink-hub: %s\n", prio, msg);
}

void hub_log(int prio, const char *fmt, ...)
{
    va_list ap;
    if (prio > hub_level)
        return;
    va_start(ap, fmt);
    emit(prio, fmt, ap);
    va_end(ap);
}

void hub_log_always(int prio, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(prio, fmt, ap);
    va_end(ap);
}
