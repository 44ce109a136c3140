/* Logging to stderr with syslog priority prefixes, which journald parses. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "platform.h"
#include "storelink.h"

static int log_level = SL_LOG_NOTICE;

void sl_plat_log_set_level(int level)
{
    log_level = level;
}

int sl_plat_log_level_parse(const char *name, int *level)
{
    static const struct { const char *n; int l; } names[] = {
        {"error", SL_LOG_ERR}, {"warning", SL_LOG_WARNING},
        {"notice", SL_LOG_NOTICE}, {"info", SL_LOG_INFO},
        {"debug", SL_LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i].n) == 0) {
            *level = names[i].l;
            return SL_OK;
        }
    }
    return SL_ERR_INVALID;
}

void sl_plat_log(int prio, const char *fmt, ...)
{
    if (prio > log_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* one write per line so concurrent writers do not interleave */
    fprintf(stderr, "<%d>storelink: %s\n", prio, msg);
}
