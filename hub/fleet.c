/* The fleet view (fleet.h). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "platform.h"

#define DAY_MS 86400000LL
/* the agent's default alert_backlog_age, for statuses that carry no health */
#define HUB_FLEET_ALERT_MS (3600 * 1000LL)

static void human_age(int64_t ms, char *out, size_t outsz)
{
    int64_t s = ms > 0 ? ms / 1000 : 0;
    if (s < 60)
        snprintf(out, outsz, "%lld s", (long long)s);
    else if (s < 3600)
        snprintf(out, outsz, "%lld min", (long long)(s / 60));
    else if (s < 86400)
        snprintf(out, outsz, "%lld h %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(out, outsz, "%lld d %lld h", (long long)(s / 86400),
                 (long long)(s % 86400 / 3600));
}

static void derive(hub_fleet_dev *d, int64_t now)
{
    const sl__status *s = &d->st;
    d->state = HUB_FLEET_UNKNOWN;
    d->since_ms = 0;
    d->has_backlog = 0;
    d->backlog = 0;
    d->oldest_age_ms = -1;
    d->health = -1;
    if (!d->has_status)
        return;
    d->state = s->online ? HUB_FLEET_ONLINE : HUB_FLEET_OFFLINE;
    /* online: since the device's connection came up.  Offline: when the
     * hub got the offline status; the last will carries the time the
     * daemon built it (at start), not the time it went away. */
    if (s->online && sl__status_has(s, SL_ST_CONN_SINCE) && s->i[SL_ST_CONN_SINCE] > 0)
        d->since_ms = s->i[SL_ST_CONN_SINCE];
    else
        d->since_ms = d->status_ms;
    /* What the device recorded and the hub has not stored.  The device's
     * count can be older than the hub's view (the records arrived after
     * the status), so the hub's acked_through caps it. */
    uint64_t unacked = sl__status_has(s, SL_ST_UNACKED)
                           ? s->u[SL_ST_UNACKED]
                           : (s->last_seq > s->acked_through ? s->last_seq - s->acked_through : 0);
    uint64_t missing = s->last_seq > d->acked_through ? s->last_seq - d->acked_through : 0;
    d->has_backlog = 1;
    d->backlog = unacked < missing ? unacked : missing;
    if (d->backlog > 0 && sl__status_has(s, SL_ST_OLDEST_TS) && s->i[SL_ST_OLDEST_TS] > 0)
        d->oldest_age_ms = now > s->i[SL_ST_OLDEST_TS] ? now - s->i[SL_ST_OLDEST_TS] : 0;
    /* the device's own judgement (it knows its alert_backlog_age); the last
     * will has none: judge its facts by the same rule, with the default
     * alert age and the backlog as the hub sees it.  An old agent's status
     * (keys 1-5 only) says too little: unknown. */
    if (sl__status_has(s, SL_ST_HEALTH)) {
        d->health = (int)s->u[SL_ST_HEALTH];
    } else if (s->has != 0) {
        sl__status t = *s;
        sl__status_set_u(&t, SL_ST_UNACKED, d->backlog);
        d->health = sl__status_health(&t, now, HUB_FLEET_ALERT_MS);
    }
    /* a certificate that expired since: the device cannot say so itself,
     * the broker no longer lets it in */
    if (sl__status_has(s, SL_ST_CERT_NOT_AFTER) && s->i[SL_ST_CERT_NOT_AFTER] > 0 &&
        now > s->i[SL_ST_CERT_NOT_AFTER])
        d->health = SL_HEALTH_FAILING;
}

struct load_ctx {
    hub_fleet *f;
    int64_t now;
};

static int load_one(const hub_device_row *row, const void *blob, size_t len, void *vctx)
{
    struct load_ctx *c = vctx;
    hub_fleet *f = c->f;
    if (f->n == f->cap) {
        if (f->cap >= HUB_FLEET_MAX)
            return SL_ERR_TOO_LARGE;
        size_t cap = f->cap ? f->cap * 2 : 64;
        if (cap > HUB_FLEET_MAX)
            cap = HUB_FLEET_MAX;
        hub_fleet_dev *nd = realloc(f->dev, cap * sizeof *nd);
        if (nd == NULL)
            return SL_ERR_NOMEM;
        f->dev = nd;
        f->cap = cap;
    }
    hub_fleet_dev *d = &f->dev[f->n];
    memset(d, 0, sizeof *d);
    snprintf(d->device, sizeof d->device, "%s", row->device);
    snprintf(d->store, sizeof d->store, "%s", row->store);
    d->acked_through = row->last_seq;
    d->last_seen_ms = row->last_seen_ms;
    d->rejected_count = row->rejected_count;
    d->status_ms = row->status_ms;
    d->status_bytes = len;
    if (blob != NULL && len > 0)
        d->has_status = sl__status_decode(blob, len, &d->st, d->status_error,
                                          sizeof d->status_error) == SL_OK;
    else if (row->status_ms > 0)
        snprintf(d->status_error, sizeof d->status_error, "empty status (retained status cleared)");
    if (!d->has_status)
        memset(&d->st, 0, sizeof d->st);
    derive(d, c->now);
    f->n++;
    return 0;
}

int hub_fleet_load(hub_fleet *f, hub_store *st, const char *store, int64_t now_ms)
{
    struct load_ctx c = {f, now_ms};
    memset(f, 0, sizeof *f);
    int rc = hub_store_devices_status(st, store, load_one, &c);
    if (rc != SL_OK)
        hub_fleet_free(f);
    return rc;
}

void hub_fleet_free(hub_fleet *f)
{
    free(f->dev);
    memset(f, 0, sizeof *f);
}

static int health_rank(int h)
{
    switch (h) {
    case SL_HEALTH_FAILING: return 3;
    case SL_HEALTH_DEGRADED: return 2;
    case SL_HEALTH_HEALTHY: return 0;
    }
    return 1;   /* unknown: between, a device that says nothing is worth a look */
}

static int cmp_dev(const void *va, const void *vb)
{
    const hub_fleet_dev *a = va, *b = vb;
    int ra = health_rank(a->health), rb = health_rank(b->health);
    if (ra != rb)
        return rb - ra;
    if (a->oldest_age_ms != b->oldest_age_ms)
        return a->oldest_age_ms > b->oldest_age_ms ? -1 : 1;
    int oa = a->state != HUB_FLEET_ONLINE, ob = b->state != HUB_FLEET_ONLINE;
    if (oa != ob)
        return ob - oa;
    if (oa && a->since_ms != b->since_ms)
        return a->since_ms < b->since_ms ? -1 : 1;   /* offline longest first */
    int c = strcmp(a->store, b->store);
    return c ? c : strcmp(a->device, b->device);
}

void hub_fleet_sort(hub_fleet *f)
{
    if (f->n > 1)
        qsort(f->dev, f->n, sizeof f->dev[0], cmp_dev);
}

static const char *state_name(int state)
{
    return state == HUB_FLEET_ONLINE ? "online" : state == HUB_FLEET_OFFLINE ? "offline" : "unknown";
}

/* days left on the device certificate, floor; 0 when not reported */
static int cert_days(const sl__status *s, int64_t now, long long *days)
{
    if (!sl__status_has(s, SL_ST_CERT_NOT_AFTER) || s->i[SL_ST_CERT_NOT_AFTER] <= 0)
        return 0;
    int64_t left = s->i[SL_ST_CERT_NOT_AFTER] - now;
    *days = left >= 0 ? (long long)(left / DAY_MS) : -(long long)((-left + DAY_MS - 1) / DAY_MS);
    return 1;
}

static void version_cell(const sl__status *s, int key, char *out, size_t outsz)
{
    if (sl__status_has(s, key))
        snprintf(out, outsz, s->u[key] ? "v%llu" : "none", (unsigned long long)s->u[key]);
    else
        snprintf(out, outsz, "-");
}

/* the text cells of one row */
struct cells {
    char since[24], seen[24], acked[24], seq[24], backlog[24], oldest[24], dead[24], cert[24],
        prices[24], stock[24];
};

static void fill_cells(const hub_fleet_dev *d, int64_t now, struct cells *c)
{
    const sl__status *s = &d->st;
    long long days;
    if (d->since_ms > 0)
        human_age(now - d->since_ms, c->since, sizeof c->since);
    else
        snprintf(c->since, sizeof c->since, "-");
    if (d->last_seen_ms > 0) {
        human_age(now - d->last_seen_ms, c->seen, sizeof c->seen);
        strncat(c->seen, " ago", sizeof c->seen - strlen(c->seen) - 1);
    } else {
        snprintf(c->seen, sizeof c->seen, "never");
    }
    snprintf(c->acked, sizeof c->acked, "%llu", (unsigned long long)d->acked_through);
    if (d->has_status)
        snprintf(c->seq, sizeof c->seq, "%llu", (unsigned long long)s->last_seq);
    else
        snprintf(c->seq, sizeof c->seq, "-");
    if (d->has_backlog)
        snprintf(c->backlog, sizeof c->backlog, "%llu", (unsigned long long)d->backlog);
    else
        snprintf(c->backlog, sizeof c->backlog, "-");
    if (d->oldest_age_ms >= 0)
        human_age(d->oldest_age_ms, c->oldest, sizeof c->oldest);
    else
        snprintf(c->oldest, sizeof c->oldest, "-");
    if (d->has_status && sl__status_has(s, SL_ST_DEAD))
        snprintf(c->dead, sizeof c->dead, "%llu", (unsigned long long)s->u[SL_ST_DEAD]);
    else
        snprintf(c->dead, sizeof c->dead, "-");
    if (d->has_status && cert_days(s, now, &days))
        snprintf(c->cert, sizeof c->cert, days < 0 ? "expired" : "%lld d", days);
    else
        snprintf(c->cert, sizeof c->cert, "-");
    if (d->has_status) {
        version_cell(s, SL_ST_PRICES_VER, c->prices, sizeof c->prices);
        version_cell(s, SL_ST_STOCK_VER, c->stock, sizeof c->stock);
    } else {
        snprintf(c->prices, sizeof c->prices, "-");
        snprintf(c->stock, sizeof c->stock, "-");
    }
}

#define NCOL 14

static void row_cells(const hub_fleet_dev *d, const struct cells *c, const char *cell[NCOL])
{
    const char *v[NCOL] = {d->store, d->device, state_name(d->state), c->since, c->seen,
                           c->acked, c->seq, c->backlog, c->oldest, c->dead,
                           d->health >= 0 ? sl__status_health_name(d->health) : "unknown",
                           c->cert, c->prices, c->stock};
    memcpy(cell, v, sizeof v);
}

static void print_row(FILE *out, const char *const cell[NCOL], const size_t w[NCOL])
{
    /* numbers and ages right-aligned, words left; no trailing blanks */
    static const int right[NCOL] = {0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0};
    for (int k = 0; k < NCOL; k++) {
        if (k == NCOL - 1)
            fprintf(out, "%s\n", cell[k]);
        else if (right[k])
            fprintf(out, "%*s  ", (int)w[k], cell[k]);
        else
            fprintf(out, "%-*s  ", (int)w[k], cell[k]);
    }
}

void hub_fleet_print(const hub_fleet *f, int64_t now, FILE *out)
{
    static const char *const head[NCOL] = {
        "STORE", "DEVICE", "STATE", "SINCE", "LAST SEEN", "ACKED", "DEV SEQ", "BACKLOG",
        "OLDEST", "DEAD", "HEALTH", "CERT", "PRICES", "STOCK"};
    size_t w[NCOL];
    struct cells c;
    const char *cell[NCOL];
    for (int k = 0; k < NCOL; k++)
        w[k] = strlen(head[k]);
    /* two passes: widths first, so a fleet of any size lines up */
    for (size_t i = 0; i < f->n; i++) {
        fill_cells(&f->dev[i], now, &c);
        row_cells(&f->dev[i], &c, cell);
        for (int k = 0; k < NCOL; k++)
            if (strlen(cell[k]) > w[k])
                w[k] = strlen(cell[k]);
    }
    print_row(out, head, w);
    for (size_t i = 0; i < f->n; i++) {
        fill_cells(&f->dev[i], now, &c);
        row_cells(&f->dev[i], &c, cell);
        print_row(out, cell, w);
    }
}

/* an optional status key as a JSON integer, null when not reported */
static json_t *opt_u(const hub_fleet_dev *d, int key)
{
    return d->has_status && sl__status_has(&d->st, key) ? json_integer((json_int_t)d->st.u[key])
                                                       : json_null();
}

static json_t *opt_i(const hub_fleet_dev *d, int key)
{
    return d->has_status && sl__status_has(&d->st, key) ? json_integer((json_int_t)d->st.i[key])
                                                       : json_null();
}

static json_t *dev_json(const hub_fleet_dev *d, int64_t now)
{
    const sl__status *s = &d->st;
    json_t *o = json_object();
    char seen[40];
    long long days;
    if (o == NULL)
        return NULL;
    sl_plat_format_utc(d->last_seen_ms, seen, sizeof seen);
    int e = json_object_set_new(o, "store", json_string(d->store));
    e |= json_object_set_new(o, "device", json_string(d->device));
    e |= json_object_set_new(o, "state", json_string(state_name(d->state)));
    e |= json_object_set_new(o, "since_ms", d->since_ms > 0 ? json_integer(d->since_ms) : json_null());
    e |= json_object_set_new(o, "health", json_string(d->health >= 0 ? sl__status_health_name(d->health)
                                                                     : "unknown"));
    e |= json_object_set_new(o, "last_seen_ms", json_integer(d->last_seen_ms));
    e |= json_object_set_new(o, "last_seen", d->last_seen_ms > 0 ? json_string(seen) : json_null());
    e |= json_object_set_new(o, "acked_through", json_integer((json_int_t)d->acked_through));
    /* the first version's name for acked_through, kept for scripts */
    e |= json_object_set_new(o, "last_seq", json_integer((json_int_t)d->acked_through));
    e |= json_object_set_new(o, "device_last_seq",
                             d->has_status ? json_integer((json_int_t)s->last_seq) : json_null());
    e |= json_object_set_new(o, "device_acked_through",
                             d->has_status ? json_integer((json_int_t)s->acked_through) : json_null());
    e |= json_object_set_new(o, "backlog",
                             d->has_backlog ? json_integer((json_int_t)d->backlog) : json_null());
    e |= json_object_set_new(o, "oldest_unacked_ts_ms",
                             d->oldest_age_ms >= 0 ? json_integer(s->i[SL_ST_OLDEST_TS]) : json_null());
    e |= json_object_set_new(o, "oldest_unacked_age_ms",
                             d->oldest_age_ms >= 0 ? json_integer(d->oldest_age_ms) : json_null());
    e |= json_object_set_new(o, "dead_letters", opt_u(d, SL_ST_DEAD));
    e |= json_object_set_new(o, "inflight", opt_u(d, SL_ST_INFLIGHT));
    e |= json_object_set_new(o, "last_ack_ms", opt_i(d, SL_ST_LAST_ACK));
    e |= json_object_set_new(o, "cert_not_after_ms", opt_i(d, SL_ST_CERT_NOT_AFTER));
    e |= json_object_set_new(o, "cert_days_left", d->has_status && cert_days(s, now, &days)
                                                      ? json_integer(days) : json_null());
    e |= json_object_set_new(o, "prices_version", opt_u(d, SL_ST_PRICES_VER));
    e |= json_object_set_new(o, "prices_issued_ms", opt_i(d, SL_ST_PRICES_AT));
    e |= json_object_set_new(o, "chain_prices_version", opt_u(d, SL_ST_CHAIN_PRICES_VER));
    e |= json_object_set_new(o, "stock_version", opt_u(d, SL_ST_STOCK_VER));
    e |= json_object_set_new(o, "stock_issued_ms", opt_i(d, SL_ST_STOCK_AT));
    e |= json_object_set_new(o, "started_ms", opt_i(d, SL_ST_STARTED));
    e |= json_object_set_new(o, "resent", opt_u(d, SL_ST_RESENT));
    e |= json_object_set_new(o, "rejected", opt_u(d, SL_ST_REJECTED));
    e |= json_object_set_new(o, "journal_used_bytes", opt_u(d, SL_ST_JOURNAL_USED));
    e |= json_object_set_new(o, "journal_limit_bytes", opt_u(d, SL_ST_JOURNAL_LIMIT));
    e |= json_object_set_new(o, "last_error",
                             d->has_status && sl__status_has(s, SL_ST_LAST_ERROR)
                                 ? json_string(s->last_error) : json_null());
    e |= json_object_set_new(o, "version", d->has_status ? json_string(s->version) : json_null());
    e |= json_object_set_new(o, "rejected_count", json_integer((json_int_t)d->rejected_count));
    e |= json_object_set_new(o, "status_ms", json_integer(d->status_ms));
    e |= json_object_set_new(o, "status_bytes", json_integer((json_int_t)d->status_bytes));
    e |= json_object_set_new(o, "status_error",
                             d->status_error[0] ? json_string(d->status_error) : json_null());
    if (e != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int hub_fleet_write_json(const hub_fleet *f, int64_t now, FILE *out)
{
    /* one object at a time: memory stays flat however large the fleet */
    if (fputc('[', out) == EOF)
        return SL_ERR_IO;
    for (size_t i = 0; i < f->n; i++) {
        json_t *o = dev_json(&f->dev[i], now);
        char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (s == NULL)
            return SL_ERR_NOMEM;
        int e = fprintf(out, "%s%s", i ? "," : "", s) < 0;
        free(s);
        if (e)
            return SL_ERR_IO;
    }
    return fputs("]\n", out) == EOF ? SL_ERR_IO : SL_OK;
}
