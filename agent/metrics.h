/*
 * metrics.h - the Prometheus textfile (config metrics_file): the daemon's
 * numbers in the text exposition format, for node_exporter's textfile
 * collector.  Written atomically (temp file in the same directory, then
 * rename), so the collector never reads half a file.
 */
#ifndef SL_METRICS_H
#define SL_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct sl__metrics {
    const char *device, *store;      /* label values, borrowed */
    int up;                          /* 1 running, 0 written on a clean stop */
    int connected;
    uint64_t backlog_records;        /* recorded, not yet acknowledged */
    double oldest_unacked_age_s;     /* 0 with no backlog */
    uint64_t acked_records_total;    /* acked_through */
    uint64_t resent_records_total;   /* since the daemon started */
    uint64_t rejected_records_total; /* since the daemon started */
    uint64_t dead_letters;           /* held now */
    int have_prices, have_stock;     /* catalog held: the age lines are written */
    double prices_age_s, stock_age_s;
} sl__metrics;

/* Format m into buf (NUL-terminated).  SL_OK or SL_ERR_TOO_LARGE. */
int sl__metrics_format(const sl__metrics *m, char *buf, size_t cap, size_t *len);
/* Format and replace path atomically (mode 0644).  SL_OK or the error. */
int sl__metrics_write(const char *path, const sl__metrics *m);

#endif
