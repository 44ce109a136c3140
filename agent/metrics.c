/* The Prometheus textfile; see metrics.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "platform.h"
#include "storelink.h"

struct out {
    char *p;
    size_t cap, len;
    int overflow;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    if (o->overflow)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->overflow = 1;
    else
        o->len += (size_t)n;
}

/* device and store ids are [A-Za-z0-9._-] (config rule), so they need no
 * escaping inside a label value */
static void metric(struct out *o, const sl__metrics *m, const char *name, const char *type,
                   const char *help, const char *extra_label, double v)
{
    put(o, "# HELP storelink_%s %s\n# TYPE storelink_%s %s\n", name, help, name, type);
    put(o, "storelink_%s{device=\"%s\",store=\"%s\"%s} %.15g\n", name, m->device, m->store,
        extra_label ? extra_label : "", v);
}

int sl__metrics_format(const sl__metrics *m, char *buf, size_t cap, size_t *len)
{
    struct out o = {buf, cap, 0, cap == 0};
    metric(&o, m, "up", "gauge", "1 while the storelink daemon runs", NULL, m->up);
    metric(&o, m, "connected", "gauge", "1 when connected to the broker", NULL, m->connected);
    metric(&o, m, "backlog_records", "gauge", "Records not yet acknowledged by the hub", NULL,
           (double)m->backlog_records);
    metric(&o, m, "oldest_unacked_age_seconds", "gauge",
           "Age of the oldest record the hub has not acknowledged (0 when none)", NULL,
           m->oldest_unacked_age_s);
    metric(&o, m, "acked_records_total", "counter",
           "Records the hub has acknowledged (the acked sequence number)", NULL,
           (double)m->acked_records_total);
    metric(&o, m, "resent_records_total", "counter",
           "Records sent again since the daemon started (ack timeout or hub request)", NULL,
           (double)m->resent_records_total);
    metric(&o, m, "rejected_records_total", "counter",
           "Records the hub rejected since the daemon started", NULL,
           (double)m->rejected_records_total);
    metric(&o, m, "dead_letters", "gauge", "Rejected records held as dead letters", NULL,
           (double)m->dead_letters);
    if (m->have_prices || m->have_stock) {
        put(&o, "# HELP storelink_catalog_age_seconds Age of the held catalog version (since "
                "it was issued)\n# TYPE storelink_catalog_age_seconds gauge\n");
        if (m->have_prices)
            put(&o, "storelink_catalog_age_seconds{device=\"%s\",store=\"%s\",type=\"prices\"} "
                    "%.15g\n", m->device, m->store, m->prices_age_s);
        if (m->have_stock)
            put(&o, "storelink_catalog_age_seconds{device=\"%s\",store=\"%s\",type=\"stock\"} "
                    "%.15g\n", m->device, m->store, m->stock_age_s);
    }
    if (o.overflow)
        return SL_ERR_TOO_LARGE;
    *len = o.len;
    return SL_OK;
}

int sl__metrics_write(const char *path, const sl__metrics *m)
{
    char buf[4096];
    size_t len;
    int rc = sl__metrics_format(m, buf, sizeof buf, &len);
    if (rc == SL_OK)
        rc = sl_plat_replace_file(path, buf, len, 0644);
    return rc;
}
