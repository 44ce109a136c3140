/* The day close: dayclose.h, docs/PROTOCOL.md "Day close". */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dayclose.h"
#include "event.h"
#include "journal_internal.h"

int sl__day_scope_of_close(sl__day_scope *s, const sl_day_close *c)
{
    memset(s, 0, sizeof *s);
    if (sl__date_parse(c->date, &s->day) != 0)
        return SL_ERR_CORRUPT;
    s->through = c->through_seq;
    if (c->prev_date[0] != '\0') {
        if (sl__date_parse(c->prev_date, &s->prev_day) != 0)
            return SL_ERR_CORRUPT;
        s->has_prev = 1;
        s->prev_through = c->prev_seq;
    }
    return sl__bizday_init(&s->bd, c->timezone, c->day_end_min);
}

int sl__day_member(sl__day_scope *s, const sl_record *rec, int *member)
{
    int64_t bd;
    *member = 0;
    if (rec->ev.kind == SL_KIND_DAY_CLOSE || rec->seq > s->through)
        return SL_OK;
    int rc = sl__bizday_of(&s->bd, rec->ev.ts_ms, &bd);
    if (rc != SL_OK)
        return rc;
    *member = bd <= s->day &&
              (!s->has_prev || rec->seq > s->prev_through || bd > s->prev_day);
    return SL_OK;
}

void sl__day_init(sl_day_close *d, int64_t day, const char *tz, uint32_t day_end_min)
{
    memset(d, 0, sizeof *d);
    sl__date_format(day, d->date);
    snprintf(d->timezone, sizeof d->timezone, "%s", tz);
    d->day_end_min = day_end_min;
}

static int cmp_total(const sl_day_total *a, const sl_day_total *b)
{
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return strcmp(a->currency, b->currency);
}

static int cmp_method(const sl_day_method *a, const sl_day_method *b)
{
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    int c = strcmp(a->currency, b->currency);
    return c ? c : strcmp(a->method, b->method);
}

/* index of the row equal to key in a sorted table, inserting it (zeroed
 * counters) if missing; -1 when the table is full */
#define FIND_OR_INSERT(rows, n, max, key, cmp, out)                          \
    do {                                                                     \
        size_t i_ = 0;                                                       \
        int c_ = 1;                                                          \
        while (i_ < (n) && (c_ = cmp(&(rows)[i_], (key))) < 0)               \
            i_++;                                                            \
        if (i_ < (n) && c_ == 0) {                                           \
            (out) = (long)i_;                                                \
        } else if ((n) >= (max)) {                                           \
            (out) = -1;                                                      \
        } else {                                                             \
            memmove(&(rows)[i_ + 1], &(rows)[i_], ((n) - i_) * sizeof (rows)[0]); \
            (rows)[i_] = *(key);                                             \
            (n)++;                                                           \
            (out) = (long)i_;                                                \
        }                                                                    \
    } while (0)

static int add64(int64_t *acc, int64_t v)
{
    return __builtin_add_overflow(*acc, v, acc) ? SL_ERR_TOO_LARGE : SL_OK;
}

int sl__day_add(sl_day_close *d, const sl_record *rec)
{
    const sl_event *ev = &rec->ev;
    long at;
    if (ev->kind == SL_KIND_SALE || ev->kind == SL_KIND_RETURN) {
        sl_day_total key;
        int64_t total, tax = 0;
        memset(&key, 0, sizeof key);
        key.kind = (uint8_t)ev->kind;
        memcpy(key.currency, ev->currency, sizeof key.currency);
        if (sl_event_total(ev, &total) != SL_OK)
            return SL_ERR_TOO_LARGE;
        for (size_t i = 0; i < ev->n_lines; i++)
            if (add64(&tax, ev->lines[i].tax) != SL_OK)
                return SL_ERR_TOO_LARGE;
        FIND_OR_INSERT(d->totals, d->n_totals, SL_DAY_MAX_TOTALS, &key, cmp_total, at);
        if (at < 0)
            return SL_ERR_TOO_LARGE;
        d->totals[at].count++;
        if (add64(&d->totals[at].amount, total) != SL_OK ||
            add64(&d->totals[at].tax, tax) != SL_OK)
            return SL_ERR_TOO_LARGE;
        for (size_t i = 0; i < ev->n_tenders; i++) {
            sl_day_method mk;
            memset(&mk, 0, sizeof mk);
            mk.kind = key.kind;
            memcpy(mk.currency, key.currency, sizeof mk.currency);
            memcpy(mk.method, ev->tenders[i].method, sizeof mk.method);
            FIND_OR_INSERT(d->methods, d->n_methods, SL_DAY_MAX_METHODS, &mk, cmp_method, at);
            if (at < 0)
                return SL_ERR_TOO_LARGE;
            d->methods[at].count++;
            if (add64(&d->methods[at].amount, ev->tenders[i].amount) != SL_OK)
                return SL_ERR_TOO_LARGE;
        }
    } else if (ev->kind == SL_KIND_ADJUSTMENT) {
        size_t i = 0;
        while (i < d->n_units && d->units[i].reason < (uint8_t)ev->reason)
            i++;
        if (i == d->n_units || d->units[i].reason != (uint8_t)ev->reason) {
            if (d->n_units >= SL_DAY_MAX_UNITS)
                return SL_ERR_TOO_LARGE;
            memmove(&d->units[i + 1], &d->units[i], (d->n_units - i) * sizeof d->units[0]);
            memset(&d->units[i], 0, sizeof d->units[i]);
            d->units[i].reason = (uint8_t)ev->reason;
            d->n_units++;
        }
        d->units[i].count++;
        for (size_t k = 0; k < ev->n_lines; k++)
            if (add64(&d->units[i].qty_milli, ev->lines[k].qty_milli) != SL_OK)
                return SL_ERR_TOO_LARGE;
    } else {
        return SL_OK;   /* a day close is never a member */
    }
    d->records++;
    if (ev->flags & SL_FLAG_CLOCK_MASK)
        d->clock_untrusted++;
    if (d->first_seq == 0)
        d->first_seq = rec->seq;
    d->last_seq = rec->seq;
    memcpy(d->last_hash, rec->hash, 32);
    return SL_OK;
}

int sl__day_merge(sl_day_close *into, const sl_day_close *from)
{
    long at;
    for (size_t i = 0; i < from->n_totals; i++) {
        sl_day_total key = from->totals[i];
        key.count = 0;
        key.amount = key.tax = 0;
        FIND_OR_INSERT(into->totals, into->n_totals, SL_DAY_MAX_TOTALS, &key, cmp_total, at);
        if (at < 0)
            return SL_ERR_TOO_LARGE;
        into->totals[at].count += from->totals[i].count;
        if (add64(&into->totals[at].amount, from->totals[i].amount) != SL_OK ||
            add64(&into->totals[at].tax, from->totals[i].tax) != SL_OK)
            return SL_ERR_TOO_LARGE;
    }
    for (size_t i = 0; i < from->n_methods; i++) {
        sl_day_method key = from->methods[i];
        key.count = 0;
        key.amount = 0;
        FIND_OR_INSERT(into->methods, into->n_methods, SL_DAY_MAX_METHODS, &key, cmp_method, at);
        if (at < 0)
            return SL_ERR_TOO_LARGE;
        into->methods[at].count += from->methods[i].count;
        if (add64(&into->methods[at].amount, from->methods[i].amount) != SL_OK)
            return SL_ERR_TOO_LARGE;
    }
    for (size_t i = 0; i < from->n_units; i++) {
        size_t k = 0;
        while (k < into->n_units && into->units[k].reason < from->units[i].reason)
            k++;
        if (k == into->n_units || into->units[k].reason != from->units[i].reason) {
            if (into->n_units >= SL_DAY_MAX_UNITS)
                return SL_ERR_TOO_LARGE;
            memmove(&into->units[k + 1], &into->units[k],
                    (into->n_units - k) * sizeof into->units[0]);
            memset(&into->units[k], 0, sizeof into->units[k]);
            into->units[k].reason = from->units[i].reason;
            into->n_units++;
        }
        into->units[k].count += from->units[i].count;
        if (add64(&into->units[k].qty_milli, from->units[i].qty_milli) != SL_OK)
            return SL_ERR_TOO_LARGE;
    }
    into->records += from->records;
    into->clock_untrusted += from->clock_untrusted;
    into->first_seq = into->last_seq = 0;
    memset(into->last_hash, 0, sizeof into->last_hash);
    return SL_OK;
}

/* ---- comparison -------------------------------------------------------- */

typedef struct diff_ctx {
    const char *an, *bn;
    sl__day_diff_fn fn;
    void *ctx;
    int n;
} diff_ctx;

__attribute__((format(printf, 2, 3)))
static void say(diff_ctx *c, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->n++;
    if (c->fn)
        c->fn(line, c->ctx);
}

static void diff_u64(diff_ctx *c, const char *what, uint64_t a, uint64_t b)
{
    if (a != b)
        say(c, "%s: %s %llu, %s %llu", what, c->an, (unsigned long long)a, c->bn,
            (unsigned long long)b);
}

int sl__day_diff(const sl_day_close *a, const char *a_name, const sl_day_close *b,
                 const char *b_name, sl__day_diff_fn fn, void *ctx)
{
    diff_ctx c = {a_name, b_name, fn, ctx, 0};
    static const sl_day_total zt;
    static const sl_day_method zm;
    static const sl_day_units zu;
    diff_u64(&c, "records", a->records, b->records);
    diff_u64(&c, "first seq", a->first_seq, b->first_seq);
    diff_u64(&c, "last seq", a->last_seq, b->last_seq);
    diff_u64(&c, "clock-untrusted records", a->clock_untrusted, b->clock_untrusted);
    size_t i = 0, k = 0;
    while (i < a->n_totals || k < b->n_totals) {
        int cmp = i == a->n_totals ? 1 : k == b->n_totals ? -1
                                        : cmp_total(&a->totals[i], &b->totals[k]);
        const sl_day_total *x = cmp <= 0 ? &a->totals[i] : &zt;
        const sl_day_total *y = cmp >= 0 ? &b->totals[k] : &zt;
        const sl_day_total *key = cmp <= 0 ? x : y;
        if (x->count != y->count || x->amount != y->amount || x->tax != y->tax)
            say(&c, "%s %s total: %s %llu for %lld (tax %lld), %s %llu for %lld (tax %lld)",
                sl__kind_name((sl_kind)key->kind), key->currency, c.an,
                (unsigned long long)x->count, (long long)x->amount, (long long)x->tax, c.bn,
                (unsigned long long)y->count, (long long)y->amount, (long long)y->tax);
        i += cmp <= 0;
        k += cmp >= 0;
    }
    i = k = 0;
    while (i < a->n_methods || k < b->n_methods) {
        int cmp = i == a->n_methods ? 1 : k == b->n_methods ? -1
                                         : cmp_method(&a->methods[i], &b->methods[k]);
        const sl_day_method *x = cmp <= 0 ? &a->methods[i] : &zm;
        const sl_day_method *y = cmp >= 0 ? &b->methods[k] : &zm;
        const sl_day_method *key = cmp <= 0 ? x : y;
        if (x->count != y->count || x->amount != y->amount)
            say(&c, "%s %s %s: %s %llu for %lld, %s %llu for %lld",
                key->kind == SL_KIND_SALE ? "tender" : "refund", key->currency, key->method,
                c.an, (unsigned long long)x->count, (long long)x->amount, c.bn,
                (unsigned long long)y->count, (long long)y->amount);
        i += cmp <= 0;
        k += cmp >= 0;
    }
    i = k = 0;
    while (i < a->n_units || k < b->n_units) {
        int cmp = i == a->n_units ? 1 : k == b->n_units ? -1
                  : a->units[i].reason < b->units[k].reason ? -1
                  : a->units[i].reason > b->units[k].reason;
        const sl_day_units *x = cmp <= 0 ? &a->units[i] : &zu;
        const sl_day_units *y = cmp >= 0 ? &b->units[k] : &zu;
        const sl_day_units *key = cmp <= 0 ? x : y;
        if (x->count != y->count || x->qty_milli != y->qty_milli)
            say(&c, "adjustment %s: %s %llu for %lld milli-units, %s %llu for %lld milli-units",
                sl__reason_name((sl_reason)key->reason), c.an, (unsigned long long)x->count,
                (long long)x->qty_milli, c.bn, (unsigned long long)y->count,
                (long long)y->qty_milli);
        i += cmp <= 0;
        k += cmp >= 0;
    }
    if (a->last_seq != 0 && a->last_seq == b->last_seq &&
        memcmp(a->last_hash, b->last_hash, 32) != 0) {
        char ha[65], hb[65];
        sl_hash_hex(a->last_hash, ha);
        sl_hash_hex(b->last_hash, hb);
        say(&c, "chain hash at seq %llu: %s %.16s..., %s %.16s...",
            (unsigned long long)a->last_seq, c.an, ha, c.bn, hb);
    }
    return c.n;
}

/* ---- the agent's journal ----------------------------------------------- */

typedef struct state_ctx {
    int64_t day;
    sl__day_state *st;
} state_ctx;

static int state_cb(const sl_record *rec, void *ctx)
{
    state_ctx *c = ctx;
    sl__day_state *st = c->st;
    int64_t dd;
    st->tail_seq = rec->seq;
    if (rec->ev.kind != SL_KIND_DAY_CLOSE)
        return 0;
    if (sl__date_parse(rec->ev.day.date, &dd) != 0)
        return SL_ERR_CORRUPT;
    if (dd == c->day) {
        st->closed = 1;
        st->close_seq = rec->seq;
        st->close = rec->ev.day;
    } else if (dd < c->day && (!st->has_prev || dd > st->prev_day)) {
        st->has_prev = 1;
        st->prev_day = dd;
        st->prev_through = rec->ev.day.through_seq;
    }
    st->has_last = 1;
    st->last_day = dd;
    st->last_seq = rec->seq;
    st->last_through = rec->ev.day.through_seq;
    return 0;
}

int sl__day_state_get(sl_journal *j, int64_t day, sl__day_state *st)
{
    state_ctx c = {day, st};
    memset(st, 0, sizeof *st);
    return sl__journal_foreach_nohash(j, 0, 0, state_cb, &c);
}

typedef struct open_ctx {
    sl__bizday *bd;
    const sl__day_state *st;
    int64_t *days;
    size_t max, n;
    int more;
} open_ctx;

static int open_cb(const sl_record *rec, void *ctx)
{
    open_ctx *c = ctx;
    const sl__day_state *st = c->st;
    int64_t d;
    size_t i;
    if (rec->ev.kind == SL_KIND_DAY_CLOSE)
        return 0;
    int rc = sl__bizday_of(c->bd, rec->ev.ts_ms, &d);
    if (rc != SL_OK)
        return rc;
    if (st->has_last && rec->seq <= st->last_through && d <= st->last_day)
        return 0;   /* counted by a close already */
    if (st->has_last && d <= st->last_day)
        d = st->last_day + 1;
    for (i = 0; i < c->n && c->days[i] < d; i++)
        ;
    if (i < c->n && c->days[i] == d)
        return 0;
    if (c->n == c->max) {
        c->more = 1;
        if (i == c->n)
            return 0;   /* later than every day kept: the last close counts it */
        c->n--;         /* drop the latest day kept for this earlier one */
    }
    memmove(&c->days[i + 1], &c->days[i], (c->n - i) * sizeof c->days[0]);
    c->days[i] = d;
    c->n++;
    return 0;
}

int sl__day_open_days(sl_journal *j, sl__bizday *bd, const sl__day_state *st, int64_t *days,
                      size_t max, size_t *n, int *more)
{
    open_ctx c = {bd, st, days, max, 0, 0};
    int rc = sl__journal_foreach_nohash(j, 0, 0, open_cb, &c);
    *n = c.n;
    *more = c.more;
    return rc;
}

typedef struct compute_ctx {
    sl__day_scope *s;
    sl_day_close *d;
} compute_ctx;

static int compute_cb(const sl_record *rec, void *ctx)
{
    compute_ctx *c = ctx;
    int member, rc;
    if (rec->seq > c->s->through)
        return -1;   /* stop: nothing later can belong */
    if ((rc = sl__day_member(c->s, rec, &member)) != SL_OK)
        return rc;
    return member ? sl__day_add(c->d, rec) : SL_OK;
}

int sl__day_compute(sl_journal *j, sl__day_scope *s, const char *tz, uint32_t day_end_min,
                    sl_day_close *d)
{
    compute_ctx c = {s, d};
    sl__day_init(d, s->day, tz, day_end_min);
    int rc = sl__journal_foreach_nohash(j, 0, 0, compute_cb, &c);
    if (rc == -1)
        rc = SL_OK;
    if (rc != SL_OK)
        return rc;
    if (s->has_prev) {
        sl__date_format(s->prev_day, d->prev_date);
        d->prev_seq = s->prev_through;
    }
    if (d->last_seq != 0) {
        sl_record *rec = malloc(sizeof *rec);
        if (rec == NULL)
            return SL_ERR_NOMEM;
        rc = sl_journal_get(j, d->last_seq, rec);
        if (rc == SL_OK)
            memcpy(d->last_hash, rec->hash, 32);
        free(rec);
    }
    return rc;
}
