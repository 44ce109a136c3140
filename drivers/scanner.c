/* A scanner: reader + state machine + hot-plug (scanner.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "reader.h"
#include "scanner.h"

struct sl_scanner {
    sl_scanner_conf conf;
    sl_scanner_env env;
    const sl_reader_ops *ops;
    void *rd;                  /* NULL while closed */
    uint64_t reopen_at;
    int last_open_err;         /* report a failing open once, not every second */
    int was_open;
    uint64_t now;              /* time of the read being handled */
    int nomem;
    sl_scanmode *mode;
};

static void report(sl_scanner *s, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void report(sl_scanner *s, int prio, const char *fmt, ...)
{
    char line[400];
    int k = snprintf(line, sizeof line, "scanner %s: ", s->conf.name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + k, sizeof line - (size_t)k, fmt, ap);
    va_end(ap);
    if (s->env.report != NULL)
        s->env.report(s->env.report_ctx, prio, line);
    else
        sl_plat_log(prio, "%s", line);
}

/* ---- the sink: journal and catalog ---- */

static int sink_record(void *ctx, const sl_event *ev, uint64_t *seq, sl_status *st, sl_problem *p)
{
    sl_scanner *s = ctx;
    return sl_journal_record(s->env.journal, ev, seq, st, p);
}

static int sink_price(void *ctx, const char *sku, sl_price *out)
{
    sl_scanner *s = ctx;
    if (s->env.catalog == NULL)
        return SL_ERR_NOT_FOUND;
    return sl_price_lookup(s->env.catalog, sku, sl_plat_now_ms(), out);
}

static int sink_stock(void *ctx, const char *sku, sl_stock *out)
{
    sl_scanner *s = ctx;
    if (s->env.catalog == NULL)
        return SL_ERR_NOT_FOUND;
    return sl_stock_lookup(s->env.catalog, s->env.journal, s->env.device_id, sku, out);
}

static void sink_answer(void *ctx, const char *line)
{
    sl_scanner *s = ctx;
    if (s->conf.output_device && s->rd != NULL && s->ops->write != NULL) {
        char buf[512];
        /* CR LF: what a serial terminal or scanner display expects */
        int n = snprintf(buf, sizeof buf, "%s\r\n", line);
        if (n > 0 && (size_t)n < sizeof buf) {
            int rc = s->ops->write(s->rd, buf, (size_t)n);
            if (rc == SL_OK)
                return;
            report(s, SL_LOG_WARNING, "cannot send the answer to %s: %s", s->conf.device,
                   sl_strerror(rc));
        }
    }
    if (s->conf.output[0] != '\0') {
        char buf[512];
        int n = snprintf(buf, sizeof buf, "%s\n", line);
        if (n > 0 && (size_t)n < sizeof buf) {
            int rc = sl_plat_append_file(s->conf.output, buf, (size_t)n);
            if (rc == SL_OK)
                return;
            report(s, SL_LOG_ERR, "cannot write the answer to %s: %s", s->conf.output,
                   sl_strerror(rc));
        }
    }
    if (s->env.report != NULL)
        s->env.report(s->env.report_ctx, SL_LOG_NOTICE, line);
    else
        sl_plat_log(SL_LOG_NOTICE, "%s", line);
}

static void sink_report(void *ctx, int prio, const char *line)
{
    sl_scanner *s = ctx;
    if (s->env.report != NULL)
        s->env.report(s->env.report_ctx, prio, line);
    else
        sl_plat_log(prio, "%s", line);
}

/* ---- device ---- */

static void try_open(sl_scanner *s, uint64_t now)
{
    int rc = s->ops->open(&s->rd, &s->conf);
    if (rc == SL_OK) {
        report(s, SL_LOG_NOTICE, "%s %s (%s mode)", s->was_open ? "reopened" : "opened",
               s->conf.device, sl__scan_mode_name(s->conf.mode));
        s->was_open = 1;
        s->last_open_err = SL_OK;
        return;
    }
    s->rd = NULL;
    if (rc == SL_ERR_NOMEM)
        s->nomem = 1;
    if (rc != s->last_open_err) {
        if (rc == SL_ERR_NOT_FOUND)
            report(s, SL_LOG_WARNING, "%s is not there; waiting for it", s->conf.device);
        else if (rc == SL_ERR_BUSY)
            report(s, SL_LOG_WARNING, "%s is grabbed by another program; retrying", s->conf.device);
        else if (rc == SL_ERR_USAGE)
            report(s, SL_LOG_ERR, "%s is not %s; retrying", s->conf.device,
                   s->conf.type == SL_SCANNER_SERIAL ? "a serial device (tty)"
                   : s->conf.type == SL_SCANNER_PIPE ? "a FIFO (type pipe)"
                   : "an evdev input device");
        else
            report(s, SL_LOG_ERR, "cannot open %s: %s; retrying", s->conf.device, sl_strerror(rc));
    }
    s->last_open_err = rc;
    s->reopen_at = now + SL_SCANNER_REOPEN_MS;
}

static void close_dev(sl_scanner *s)
{
    s->ops->close(s->rd);
    s->rd = NULL;
}

int sl__scanner_new(sl_scanner **out, const sl_scanner_conf *conf, const sl_scanner_env *env,
                    uint64_t now)
{
    const sl_reader_ops *ops = sl__reader_for(conf->type);
    if (ops == NULL)
        return SL_ERR_USAGE;
    sl_scanner *s = calloc(1, sizeof *s);
    if (s == NULL)
        return SL_ERR_NOMEM;
    s->conf = *conf;
    s->env = *env;
    s->ops = ops;
    sl_scan_sink sink = {s, sink_record, sink_price, sink_stock, sink_answer, sink_report};
    uint32_t salt = 0;
    if (sl_plat_random(&salt, sizeof salt) != SL_OK)
        salt = (uint32_t)sl_plat_mono_ms();   /* the start time alone still mostly differs */
    int rc = sl__scanmode_new(&s->mode, conf, &sink, sl_plat_now_ms(), salt);
    if (rc != SL_OK) {
        free(s);
        return rc;
    }
    try_open(s, now);
    if (s->nomem) {
        sl__scanner_free(s);
        return SL_ERR_NOMEM;
    }
    *out = s;
    return SL_OK;
}

int sl__scanner_fd(const sl_scanner *s)
{
    return s->rd != NULL ? s->ops->fd(s->rd) : -1;
}

static void on_scan(void *ctx, const char *code, size_t len, int err)
{
    sl_scanner *s = ctx;
    if (sl__scanmode_scan(s->mode, code, len, err, s->now) == SL_ERR_NOMEM)
        s->nomem = 1;
}

int sl__scanner_readable(sl_scanner *s, uint64_t now)
{
    if (s->rd == NULL)
        return SL_OK;
    s->now = now;
    int rc = s->ops->read(s->rd, on_scan, s);
    if (rc != SL_OK) {
        if (rc == SL_ERR_NOT_FOUND)
            report(s, SL_LOG_WARNING, "%s went away; waiting for it to come back", s->conf.device);
        else
            report(s, SL_LOG_ERR, "reading %s: %s; reopening", s->conf.device, sl_strerror(rc));
        close_dev(s);
        s->last_open_err = SL_ERR_NOT_FOUND;   /* "not there" was just said */
        s->reopen_at = now + SL_SCANNER_REOPEN_MS;
    }
    return s->nomem ? SL_ERR_NOMEM : SL_OK;
}

uint64_t sl__scanner_deadline(const sl_scanner *s)
{
    uint64_t d = sl__scanmode_deadline(s->mode);
    if (s->rd == NULL && s->reopen_at < d)
        d = s->reopen_at;
    return d;
}

void sl__scanner_tick(sl_scanner *s, uint64_t now)
{
    if (s->rd == NULL && now >= s->reopen_at)
        try_open(s, now);
    sl__scanmode_tick(s->mode, now);
}

void sl__scanner_stats(const sl_scanner *s, sl_scan_stats *st)
{
    sl__scanmode_stats(s->mode, st);
}

const char *sl__scanner_name(const sl_scanner *s)
{
    return s->conf.name;
}

void sl__scanner_free(sl_scanner *s)
{
    if (s == NULL)
        return;
    if (s->rd != NULL)
        close_dev(s);
    if (s->mode != NULL) {
        sl__scanmode_abandon(s->mode);
        sl__scanmode_free(s->mode);
    }
    free(s);
}
