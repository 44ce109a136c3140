/* Day close output: day_json.h. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "day_json.h"
#include "event.h"

static json_t *qty_json(int64_t milli)
{
    if (milli % 1000 == 0)
        return json_integer(milli / 1000);
    return json_real((double)milli / 1000.0);
}

json_t *sl__day_json(const sl_day_close *d)
{
    char hex[65], hhmm[8];
    json_t *o = json_object(), *a;
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "date", json_string(d->date));
    json_object_set_new(o, "timezone", json_string(d->timezone));
    snprintf(hhmm, sizeof hhmm, "%02u:%02u", (d->day_end_min / 60) % 100, d->day_end_min % 60);
    json_object_set_new(o, "day_end", json_string(hhmm));
    if (d->prev_date[0]) {
        json_t *p = json_object();
        json_object_set_new(p, "date", json_string(d->prev_date));
        json_object_set_new(p, "through_seq", json_integer((json_int_t)d->prev_seq));
        json_object_set_new(o, "prev", p);
    } else {
        json_object_set_new(o, "prev", json_null());
    }
    json_object_set_new(o, "through_seq", json_integer((json_int_t)d->through_seq));
    json_object_set_new(o, "first_seq", json_integer((json_int_t)d->first_seq));
    json_object_set_new(o, "last_seq", json_integer((json_int_t)d->last_seq));
    json_object_set_new(o, "records", json_integer((json_int_t)d->records));
    json_object_set_new(o, "clock_untrusted", json_integer((json_int_t)d->clock_untrusted));
    sl_hash_hex(d->last_hash, hex);
    json_object_set_new(o, "last_hash", json_string(hex));
    a = json_array();
    for (size_t i = 0; i < d->n_totals; i++) {
        const sl_day_total *t = &d->totals[i];
        json_t *r = json_object();
        json_object_set_new(r, "kind", json_string(sl__kind_name((sl_kind)t->kind)));
        json_object_set_new(r, "currency", json_string(t->currency));
        json_object_set_new(r, "count", json_integer((json_int_t)t->count));
        json_object_set_new(r, "amount", json_integer(t->amount));
        json_object_set_new(r, "tax", json_integer(t->tax));
        json_array_append_new(a, r);
    }
    json_object_set_new(o, "totals", a);
    a = json_array();
    for (size_t i = 0; i < d->n_methods; i++) {
        const sl_day_method *m = &d->methods[i];
        json_t *r = json_object();
        json_object_set_new(r, "type", json_string(m->kind == SL_KIND_SALE ? "tender" : "refund"));
        json_object_set_new(r, "currency", json_string(m->currency));
        json_object_set_new(r, "method", json_string(m->method));
        json_object_set_new(r, "count", json_integer((json_int_t)m->count));
        json_object_set_new(r, "amount", json_integer(m->amount));
        json_array_append_new(a, r);
    }
    json_object_set_new(o, "methods", a);
    a = json_array();
    for (size_t i = 0; i < d->n_units; i++) {
        const sl_day_units *u = &d->units[i];
        json_t *r = json_object();
        json_object_set_new(r, "reason", json_string(sl__reason_name((sl_reason)u->reason)));
        json_object_set_new(r, "count", json_integer((json_int_t)u->count));
        json_object_set_new(r, "qty", qty_json(u->qty_milli));
        json_array_append_new(a, r);
    }
    json_object_set_new(o, "units", a);
    return o;
}

void sl__day_print(FILE *f, const sl_day_close *d)
{
    char m1[48], m2[48], hex[65];
    if (d->records == 0 || d->last_seq == 0)
        fprintf(f, "records       %llu, %llu with an untrusted clock\n",
                (unsigned long long)d->records, (unsigned long long)d->clock_untrusted);
    else
        fprintf(f, "records       %llu (seq %llu..%llu), %llu with an untrusted clock\n",
                (unsigned long long)d->records, (unsigned long long)d->first_seq,
                (unsigned long long)d->last_seq, (unsigned long long)d->clock_untrusted);
    for (size_t i = 0; i < d->n_totals; i++) {
        const sl_day_total *t = &d->totals[i];
        sl__cli_money(t->amount, t->currency, m1, sizeof m1);
        sl__cli_money(t->tax, t->currency, m2, sizeof m2);
        fprintf(f, "%-16s %5llu  %14s  tax %s\n", t->kind == SL_KIND_SALE ? "sales" : "returns",
                (unsigned long long)t->count, m1, m2);
    }
    for (size_t i = 0; i < d->n_methods; i++) {
        const sl_day_method *m = &d->methods[i];
        char label[40];
        snprintf(label, sizeof label, "%s %s", m->kind == SL_KIND_SALE ? "tender" : "refund",
                 m->method);
        sl__cli_money(m->amount, m->currency, m1, sizeof m1);
        fprintf(f, "%-16s %5llu  %14s\n", label, (unsigned long long)m->count, m1);
    }
    for (size_t i = 0; i < d->n_units; i++) {
        const sl_day_units *u = &d->units[i];
        char label[40];
        snprintf(label, sizeof label, "adj %s", sl__reason_name((sl_reason)u->reason));
        uint64_t q = u->qty_milli < 0 ? (uint64_t)(-(u->qty_milli + 1)) + 1 : (uint64_t)u->qty_milli;
        char qty[40];
        snprintf(qty, sizeof qty, "%s%llu.%03llu", u->qty_milli < 0 ? "-" : "",
                 (unsigned long long)(q / 1000), (unsigned long long)(q % 1000));
        fprintf(f, "%-16s %5llu  %14s units\n", label, (unsigned long long)u->count, qty);
    }
    if (d->last_seq) {
        sl_hash_hex(d->last_hash, hex);
        fprintf(f, "chain hash    %s (seq %llu)\n", hex, (unsigned long long)d->last_seq);
    }
}
