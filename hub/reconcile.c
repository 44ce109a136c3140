/*
 * storelink-hub reconcile: each device's day_close against the records the
 * hub stored for that device and day (reconcile.h).  The membership rule is
 * the agent's own (agent/dayclose.c), run over the hub's rows with the zone,
 * day end and previous close the device wrote into its close, so both sides
 * decide "which records belong to the day" the same way.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "codec.h"
#include "day_json.h"
#include "dayclose.h"
#include "platform.h"
#include "reconcile.h"

/* bound on the seq range a close may span for the missing-seq bitmap */
#define SEQ_SPAN_MAX 50000000u

typedef struct pass1 {
    int64_t day;
    hub_day_dev *dv;
    sl_record *rec;
    int have_tz;                 /* a close of any date: the device's zone */
    char tz[SL_TZ_MAX + 1];
    uint32_t day_end_min;
    int has_prev;
    int64_t prev_day;
    uint64_t prev_through;
    int err;
} pass1;

static int decode_row(const hub_row *row, sl_record *rec)
{
    memset(rec, 0, sizeof *rec);
    int rc = sl__codec_decode(row->body, row->body_len, SL_ENC_STORED, NULL, &rec->ev,
                              &rec->seq, rec->prev_hash);
    if (rc != SL_OK)
        return rc;
    memcpy(rec->hash, row->hash, 32);
    rec->stored_len = row->body_len;
    return SL_OK;
}

static int p1_cb(const hub_row *row, void *ctx)
{
    pass1 *p = ctx;
    int64_t dd;
    if (row->rejected)
        return 0;
    int rc = decode_row(row, p->rec);
    if (rc != SL_OK)
        return rc;
    if (p->rec->ev.kind != SL_KIND_DAY_CLOSE)
        return 0;
    const sl_day_close *c = &p->rec->ev.day;
    if (sl__date_parse(c->date, &dd) != 0)
        return SL_ERR_CORRUPT;
    p->have_tz = 1;
    snprintf(p->tz, sizeof p->tz, "%s", c->timezone);
    p->day_end_min = c->day_end_min;
    if (dd == p->day) {
        p->dv->closed = 1;
        p->dv->close_seq = p->rec->seq;
        p->dv->close = *c;
    } else if (dd < p->day && (!p->has_prev || dd > p->prev_day)) {
        p->has_prev = 1;
        p->prev_day = dd;
        p->prev_through = c->through_seq;
    }
    return 0;
}

typedef struct pass2 {
    sl__day_scope *s;
    hub_day_dev *dv;
    sl_record *rec;
    uint8_t *seen;               /* bitmap over the close's seq range */
    uint64_t lo, hi;
} pass2;

static int p2_cb(const hub_row *row, void *ctx)
{
    pass2 *p = ctx;
    int member, rc;
    if (p->seen && row->seq >= p->lo && row->seq <= p->hi) {
        uint64_t b = row->seq - p->lo;
        p->seen[b / 8] |= (uint8_t)(1u << (b % 8));
    }
    if ((rc = decode_row(row, p->rec)) != SL_OK)
        return rc;
    if ((rc = sl__day_member(p->s, p->rec, &member)) != SL_OK || !member)
        return rc;
    if (row->rejected) {
        /* stored but not booked: the device counted it, the hub did not */
        if (p->dv->n_rejected < HUB_DAY_MAX_SEQS)
            p->dv->rejected[p->dv->n_rejected] = row->seq;
        p->dv->n_rejected++;
        return 0;
    }
    return sl__day_add(&p->dv->hub, p->rec);
}

int hub_day_device(hub_store *st, const char *device, const char *store, int64_t day,
                   const hub_day_opts *o, hub_day_dev *dv)
{
    pass1 p1;
    pass2 p2;
    sl__day_scope *s = malloc(sizeof *s);
    sl_record *rec = malloc(sizeof *rec);
    int rc = s && rec ? SL_OK : SL_ERR_NOMEM;
    memset(dv, 0, sizeof *dv);
    memset(&p1, 0, sizeof p1);
    memset(&p2, 0, sizeof p2);
    snprintf(dv->device, sizeof dv->device, "%s", device);
    snprintf(dv->store, sizeof dv->store, "%s", store);
    p1.day = day;
    p1.dv = dv;
    p1.rec = rec;
    if (rc == SL_OK)
        rc = hub_store_foreach(st, 0, device, 0, p1_cb, &p1);
    dv->zone_from_close = p1.have_tz;
    if (rc == SL_OK && dv->closed) {
        rc = sl__day_scope_of_close(s, &dv->close);
    } else if (rc == SL_OK) {
        memset(s, 0, sizeof *s);
        rc = sl__bizday_init(&s->bd, p1.have_tz ? p1.tz : o->tz,
                             p1.have_tz ? p1.day_end_min : o->day_end_min);
        s->day = day;
        s->through = UINT64_MAX;
        s->has_prev = p1.has_prev;
        s->prev_day = p1.prev_day;
        s->prev_through = p1.prev_through;
    }
    if (rc != SL_OK)
        goto out;
    sl__day_init(&dv->hub, day, s->bd.tz, s->bd.day_end_min);
    p2.s = s;
    p2.dv = dv;
    p2.rec = rec;
    if (dv->closed && dv->close.last_seq >= dv->close.first_seq && dv->close.last_seq != 0 &&
        dv->close.last_seq - dv->close.first_seq < SEQ_SPAN_MAX) {
        p2.lo = dv->close.first_seq;
        p2.hi = dv->close.last_seq;
        p2.seen = calloc((size_t)((p2.hi - p2.lo) / 8 + 1), 1);
        if (p2.seen == NULL) {
            rc = SL_ERR_NOMEM;
            goto out;
        }
    }
    rc = hub_store_foreach(st, 0, device, 0, p2_cb, &p2);
    if (rc != SL_OK)
        goto out;
    if (dv->hub.records && s->has_prev) {
        sl__date_format(s->prev_day, dv->hub.prev_date);
        dv->hub.prev_seq = s->prev_through;
    }
    for (uint64_t q = p2.lo; p2.seen && q <= p2.hi; q++) {
        uint64_t b = q - p2.lo;
        if (!(p2.seen[b / 8] & (1u << (b % 8)))) {
            if (dv->n_missing < HUB_DAY_MAX_SEQS)
                dv->missing[dv->n_missing] = q;
            dv->n_missing++;
        }
    }
    if (dv->closed && dv->close.last_seq != 0) {
        int h = hub_store_record_hash(st, device, dv->close.last_seq, dv->hub_hash);
        if (h == SL_OK) {
            dv->hash_checked = 1;
            dv->hash_differs = memcmp(dv->hub_hash, dv->close.last_hash, 32) != 0;
        } else if (h != SL_ERR_NOT_FOUND) {
            rc = h;
        }
    }
out:
    free(p2.seen);
    free(s);
    free(rec);
    return rc;
}

typedef struct line_ctx {
    void (*fn)(const char *line, void *ctx);
    void *ctx;
    int n;
} line_ctx;

static void emit(line_ctx *l, const char *line)
{
    l->n++;
    if (l->fn)
        l->fn(line, l->ctx);
}

static void on_diff(const char *what, void *ctx)
{
    emit(ctx, what);
}

static void seq_lines(line_ctx *l, const char *what, const uint64_t *seqs, uint64_t n)
{
    char line[256];
    for (uint64_t i = 0; i < n && i < HUB_DAY_MAX_SEQS; i++) {
        snprintf(line, sizeof line, "seq %llu %s", (unsigned long long)seqs[i], what);
        emit(l, line);
    }
    if (n > HUB_DAY_MAX_SEQS) {
        snprintf(line, sizeof line, "and %llu more seqs %s",
                 (unsigned long long)(n - HUB_DAY_MAX_SEQS), what);
        emit(l, line);
    }
}

int hub_day_discrepancies(const hub_day_dev *dv, void (*fn)(const char *line, void *ctx),
                          void *ctx)
{
    line_ctx l = {fn, ctx, 0};
    char line[256];
    if (!dv->closed) {
        if (dv->hub.records) {
            snprintf(line, sizeof line, "sold but never closed: %llu records (seq %llu..%llu) "
                     "and no day_close for %s", (unsigned long long)dv->hub.records,
                     (unsigned long long)dv->hub.first_seq, (unsigned long long)dv->hub.last_seq,
                     dv->hub.date);
            emit(&l, line);
        }
        return l.n;
    }
    seq_lines(&l, "missing at the hub", dv->missing, dv->n_missing);
    seq_lines(&l, "stored as rejected at the hub", dv->rejected, dv->n_rejected);
    /* the chain hash is compared at the close's last seq directly; the diff
     * below compares totals */
    sl_day_close *h = malloc(sizeof *h);
    if (h == NULL) {
        emit(&l, "out of memory comparing totals");
        return l.n;
    }
    *h = dv->hub;
    memcpy(h->last_hash, dv->close.last_hash, 32);
    sl__day_diff(&dv->close, "device close", h, "hub", on_diff, &l);
    free(h);
    if (dv->hash_checked && dv->hash_differs) {
        char a[65], b[65];
        sl_hash_hex(dv->close.last_hash, a);
        sl_hash_hex(dv->hub_hash, b);
        snprintf(line, sizeof line, "chain hash at seq %llu does not match: device close %.16s..., "
                 "hub %.16s...", (unsigned long long)dv->close.last_seq, a, b);
        emit(&l, line);
    }
    return l.n;
}

/* ---- command line ------------------------------------------------------------ */

int hub_day_args_parse(const char *cmd, int first, int argc, char **argv, hub_day_args *a)
{
    int have_date = 0;
    memset(a, 0, sizeof *a);
    snprintf(a->o.tz, sizeof a->o.tz, "UTC");
    for (int i = first; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--json") == 0) {
            a->json = 1;
        } else if (strcmp(argv[i], "--date") == 0) {
            if (v == NULL || sl__date_parse(v, &a->day) != 0) {
                fprintf(stderr, "storelink-hub: --date: must be a date YYYY-MM-DD (2000-2099)\n");
                return EX_USAGE_;
            }
            have_date = 1;
            i++;
        } else if (strcmp(argv[i], "--store") == 0) {
            if (v == NULL || v[0] == '\0' || strlen(v) > HUB_ID_MAX) {
                fprintf(stderr, "storelink-hub: --store: 1-%d characters\n", HUB_ID_MAX);
                return EX_USAGE_;
            }
            a->store = v;
            i++;
        } else if (strcmp(argv[i], "--timezone") == 0) {
            if (v == NULL || strlen(v) > SL_TZ_MAX || sl_plat_tz_check(v) != SL_OK) {
                fprintf(stderr, "storelink-hub: --timezone: not a known IANA time zone\n");
                return EX_USAGE_;
            }
            snprintf(a->o.tz, sizeof a->o.tz, "%s", v);
            i++;
        } else if (strcmp(argv[i], "--day-end") == 0) {
            if (v == NULL || sl__hhmm_parse(v, &a->o.day_end_min) != 0) {
                fprintf(stderr, "storelink-hub: --day-end: must be HH:MM\n");
                return EX_USAGE_;
            }
            i++;
        } else {
            fprintf(stderr, "storelink-hub: %s: unknown option '%s' (usage: storelink-hub %s "
                    "--date YYYY-MM-DD [--store S] [--json])\n", cmd, argv[i], cmd);
            return EX_USAGE_;
        }
    }
    if (!have_date) {
        fprintf(stderr, "storelink-hub: %s: --date YYYY-MM-DD is required\n", cmd);
        return EX_USAGE_;
    }
    return 0;
}


static int collect_dev(const hub_device_row *row, void *ctx)
{
    hub_dev_list *l = ctx;
    if (l->store != NULL && strcmp(l->store, row->store) != 0)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        void *p = realloc(l->dev, cap * sizeof l->dev[0]);
        if (p == NULL)
            return SL_ERR_NOMEM;
        l->dev = p;
        l->cap = cap;
    }
    snprintf(l->dev[l->n][0], HUB_ID_MAX + 1, "%s", row->device);
    snprintf(l->dev[l->n][1], HUB_ID_MAX + 1, "%s", row->store);
    l->n++;
    return 0;
}

int hub_day_devices(hub_store *st, const char *store, hub_dev_list *l)
{
    memset(l, 0, sizeof *l);
    l->store = store;
    return hub_store_devices(st, collect_dev, l);
}

int hub_day_zone(hub_store *st, const hub_dev_list *l, size_t i, const hub_day_opts *dflt,
                 hub_zone_cache *zc, hub_day_opts *o)
{
    const char *store = l->dev[i][1];
    size_t e;
    *o = *dflt;
    for (e = 0; e < zc->n; e++)
        if (strcmp(zc->e[e].store, store) == 0)
            break;
    if (e == zc->n) {
        /* first device of this store: find the zone once, from the first
         * of its devices that wrote a close */
        hub_day_dev *dv = malloc(sizeof *dv);
        if (dv == NULL)
            return SL_ERR_NOMEM;
        int rc = SL_OK, known = 0;
        hub_day_opts found = *dflt;
        for (size_t k = 0; rc == SL_OK && !known && k < l->n; k++) {
            if (strcmp(l->dev[k][1], store) != 0)
                continue;
            rc = hub_day_device(st, l->dev[k][0], store, 0, dflt, dv);
            if (rc == SL_OK && dv->zone_from_close) {
                known = 1;
                snprintf(found.tz, sizeof found.tz, "%s", dv->hub.timezone);
                found.day_end_min = dv->hub.day_end_min;
            }
        }
        free(dv);
        if (rc != SL_OK)
            return rc;
        if (zc->n == HUB_ZONE_CACHE_MAX) {
            *o = found;   /* too many stores to remember: ask again next time */
            return SL_OK;
        }
        snprintf(zc->e[e].store, sizeof zc->e[e].store, "%s", store);
        zc->e[e].o = found;
        zc->n++;
    }
    *o = zc->e[e].o;
    return SL_OK;
}

typedef struct print_ctx {
    const hub_day_dev *dv;
    json_t *arr;
} print_ctx;

static void print_line(const char *line, void *ctx)
{
    print_ctx *p = ctx;
    json_array_append_new(p->arr, json_string(line));
}

int hub_cli_open_db(const hub_config *cfg, hub_store **st)
{
    int rc = hub_store_open(st, cfg->db_path, HUB_STORE_READONLY);
    if (rc == SL_ERR_NOT_FOUND)
        fprintf(stderr, "storelink-hub: no database at %s (has the hub run yet?)\n",
                cfg->db_path);
    else if (rc != SL_OK)
        fprintf(stderr, "storelink-hub: cannot open database %s: %s\n", cfg->db_path,
                sl_strerror(rc));
    return rc;
}

int hub_cmd_reconcile(const hub_config *cfg, int argc, char **argv)
{
    hub_day_args a;
    hub_store *st = NULL;
    hub_dev_list l;
    char date[11];
    int ex = hub_day_args_parse("reconcile", 1, argc, argv, &a);
    if (ex != 0)
        return ex;
    int rc = hub_cli_open_db(cfg, &st);
    if (rc != SL_OK)
        return sl__cli_exit(rc);
    memset(&l, 0, sizeof l);
    hub_day_dev *dv = malloc(sizeof *dv);
    hub_zone_cache *zc = calloc(1, sizeof *zc);
    json_t *out = json_object(), *devs = json_array();
    int total = 0, ndev = 0;
    sl__date_format(a.day, date);
    rc = dv && zc && out && devs ? hub_day_devices(st, a.store, &l) : SL_ERR_NOMEM;
    if (!a.json && rc == SL_OK)
        printf("%-24s %-16s %-8s %10s %10s  %s\n", "DEVICE", "STORE", "CLOSED", "CLOSE_RECS",
               "HUB_RECS", "RESULT");
    for (size_t i = 0; rc == SL_OK && i < l.n; i++) {
        hub_day_opts zo;
        rc = hub_day_zone(st, &l, i, &a.o, zc, &zo);
        if (rc == SL_OK)
            rc = hub_day_device(st, l.dev[i][0], l.dev[i][1], a.day, &zo, dv);
        if (rc != SL_OK)
            break;
        if (!dv->closed && dv->hub.records == 0)
            continue;   /* nothing sold, nothing closed: not part of this day */
        ndev++;
        /* each device is computed once: its lines are kept (as JSON
         * strings) and printed after the table */
        json_t *o = json_object(), *lines = json_array();
        print_ctx p = {dv, lines};
        int n = hub_day_discrepancies(dv, print_line, &p);
        total += n;
        json_object_set_new(o, "device", json_string(dv->device));
        json_object_set_new(o, "store", json_string(dv->store));
        json_object_set_new(o, "closed", json_boolean(dv->closed));
        if (dv->closed) {
            json_object_set_new(o, "close_seq", json_integer((json_int_t)dv->close_seq));
            json_object_set_new(o, "close_records", json_integer((json_int_t)dv->close.records));
        }
        json_object_set_new(o, "hub_records", json_integer((json_int_t)dv->hub.records));
        json_object_set_new(o, "reconciled", json_boolean(n == 0));
        json_object_set_new(o, "discrepancies", lines);
        json_array_append_new(devs, o);
        if (!a.json) {
            char cr[24] = "-";
            if (dv->closed)
                snprintf(cr, sizeof cr, "%llu", (unsigned long long)dv->close.records);
            printf("%-24s %-16s %-8s %10s %10llu  %s\n", dv->device, dv->store,
                   dv->closed ? "yes" : "no", cr, (unsigned long long)dv->hub.records,
                   n == 0 ? "reconciles" : "DISCREPANCIES");
        }
    }
    if (rc == SL_OK && !a.json) {
        /* the discrepancy lines after the table, one per line */
        size_t i;
        json_t *o;
        json_array_foreach(devs, i, o) {
            size_t k;
            json_t *line;
            json_array_foreach(json_object_get(o, "discrepancies"), k, line)
                printf("discrepancy  %s (store %s): %s\n",
                       json_string_value(json_object_get(o, "device")),
                       json_string_value(json_object_get(o, "store")), json_string_value(line));
        }
        printf("%s: %d device%s, %d discrepanc%s\n", date, ndev, ndev == 1 ? "" : "s", total,
               total == 1 ? "y" : "ies");
    }
    if (rc == SL_OK && a.json) {
        json_object_set_new(out, "date", json_string(date));
        json_object_set_new(out, "store", a.store ? json_string(a.store) : json_null());
        json_object_set_new(out, "reconciled", json_boolean(total == 0));
        json_object_set_new(out, "discrepancies", json_integer(total));
        json_object_set_new(out, "devices", devs);
        devs = NULL;
        char *s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (s)
            puts(s);
        free(s);
    }
    json_decref(out);
    json_decref(devs);
    free(l.dev);
    free(dv);
    free(zc);
    hub_store_close(st);
    if (rc != SL_OK) {
        fprintf(stderr, "storelink-hub: reconcile %s: %s\n", date, sl_strerror(rc));
        return sl__cli_exit(rc);
    }
    return total == 0 ? EX_OK_ : EX_FAIL_;
}
