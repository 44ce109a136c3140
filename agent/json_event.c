/* JSON in and out with jansson.  Field rules: docs/PROTOCOL.md "JSON input". */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "day_json.h"
#include "json_event.h"

static int fail(sl_problem *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(sl_problem *p, const char *field, const char *fmt, ...)
{
    va_list ap;
    snprintf(p->field, sizeof p->field, "%s", field);
    va_start(ap, fmt);
    vsnprintf(p->reason, sizeof p->reason, fmt, ap);
    va_end(ap);
    return SL_ERR_INVALID;
}

/* Field names are echoed in errors only when they are plain identifiers:
 * a key may itself carry a card number or control characters. */
static const char *safe_key(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 32)
        return "(unnamed)";
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
              (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
            return "(unnamed)";
    /* all digits is a plain identifier too, and may be a card number */
    if (sl__has_card_data(k, n))
        return "(unnamed)";
    return k;
}

static int check_keys(json_t *obj, const char *const *allowed, const char *prefix,
                      sl_problem *p)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        int ok = 0;
        for (size_t i = 0; allowed[i] != NULL; i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = 1;
        if (!ok) {
            char f[48];
            snprintf(f, sizeof f, "%s%s", prefix, safe_key(key));
            return fail(p, f, "unknown field");
        }
    }
    return SL_OK;
}

static int get_string(json_t *obj, const char *key, const char *field, int required,
                      char *dst, size_t dstsz, sl_problem *p)
{
    json_t *v = json_object_get(obj, key);
    dst[0] = '\0';
    if (v == NULL)
        return required ? fail(p, field, "is required") : SL_OK;
    if (!json_is_string(v))
        return fail(p, field, "must be a string");
    size_t n = json_string_length(v);
    if (n >= dstsz)
        return fail(p, field, "longer than %zu bytes", dstsz - 1);
    memcpy(dst, json_string_value(v), n + 1);
    return SL_OK;
}

static int get_money(json_t *obj, const char *key, const char *field, int required,
                     int64_t *out, sl_problem *p)
{
    json_t *v = json_object_get(obj, key);
    *out = 0;
    if (v == NULL)
        return required ? fail(p, field, "is required") : SL_OK;
    if (json_is_real(v))
        return fail(p, field, "must be an integer number of minor units");
    if (!json_is_integer(v))
        return fail(p, field, "must be a number");
    json_int_t i = json_integer_value(v);
    if (i < 0)
        return fail(p, field, "must not be negative");
    if (i > SL_MONEY_MAX)
        return fail(p, field, "exceeds %lld minor units", (long long)SL_MONEY_MAX);
    *out = (int64_t)i;
    return SL_OK;
}

/* A quantity with at most 3 decimals, as integer milli-units. */
static int get_qty(json_t *v, const char *field, int64_t *out, sl_problem *p)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i > SL_QTY_MAX / 1000 || i < -SL_QTY_MAX / 1000)
            return fail(p, field, "exceeds %lld units", (long long)(SL_QTY_MAX / 1000));
        *out = (int64_t)i * 1000;
        return SL_OK;
    }
    if (!json_is_real(v))
        return fail(p, field, "must be a number");
    double d = json_real_value(v);
    if (!isfinite(d) || fabs(d) > (double)(SL_QTY_MAX / 1000))
        return fail(p, field, "exceeds %lld units", (long long)(SL_QTY_MAX / 1000));
    double m = d * 1000.0, r = round(m);
    /* decimal input is not exact in binary: allow the conversion error,
     * which is far below 1e-6 milli-units in this range */
    if (fabs(m - r) > 1e-6)
        return fail(p, field, "has more than 3 decimals");
    *out = (int64_t)r;
    return SL_OK;
}

static int parse_line(json_t *jl, size_t i, sl_event *ev, sl_problem *p)
{
    static const char *const sale_keys[] = {"sku", "qty", "unit_price", "discount",
                                            "tax", NULL};
    static const char *const return_keys[] = {"sku", "qty", "unit_price", "discount",
                                              "tax", "disposition", NULL};
    static const char *const adj_keys[] = {"sku", "qty", "expected", NULL};
    char prefix[40], f[96];
    int rc;
    snprintf(prefix, sizeof prefix, "lines[%zu].", i);
    if (!json_is_object(jl)) {
        snprintf(f, sizeof f, "lines[%zu]", i);
        return fail(p, f, "must be an object");
    }
    const char *const *keys = ev->kind == SL_KIND_SALE ? sale_keys
                            : ev->kind == SL_KIND_RETURN ? return_keys : adj_keys;
    if ((rc = check_keys(jl, keys, prefix, p)) != SL_OK)
        return rc;
    sl_line *l = &ev->lines[i];
    memset(l, 0, sizeof *l);
#define F(name) (snprintf(f, sizeof f, "%s%s", prefix, name), f)
    if ((rc = get_string(jl, "sku", F("sku"), 1, l->sku, sizeof l->sku, p)) != SL_OK)
        return rc;
    json_t *q = json_object_get(jl, "qty");
    if (q == NULL)
        return fail(p, F("qty"), "is required");
    if ((rc = get_qty(q, F("qty"), &l->qty_milli, p)) != SL_OK)
        return rc;
    if (ev->kind == SL_KIND_ADJUSTMENT) {
        json_t *e = json_object_get(jl, "expected");
        if (e != NULL) {
            if ((rc = get_qty(e, F("expected"), &l->expected_milli, p)) != SL_OK)
                return rc;
            l->has_expected = 1;
        }
        return SL_OK;
    }
    if ((rc = get_money(jl, "unit_price", F("unit_price"), 1, &l->unit_price, p)) != SL_OK ||
        (rc = get_money(jl, "discount", F("discount"), 0, &l->discount, p)) != SL_OK ||
        (rc = get_money(jl, "tax", F("tax"), 0, &l->tax, p)) != SL_OK)
        return rc;
    if (ev->kind == SL_KIND_RETURN) {
        char d[16];
        if ((rc = get_string(jl, "disposition", F("disposition"), 1, d, sizeof d, p)) != SL_OK)
            return rc;
        sl_disposition disp;
        if (sl__disp_parse(d, &disp) != SL_OK)
            return fail(p, F("disposition"), "must be restock or damaged");
        l->disposition = (uint8_t)disp;
    }
    return SL_OK;
#undef F
}

static int parse_tenders(json_t *arr, const char *name, sl_event *ev, sl_problem *p)
{
    char f[96];
    if (!json_is_array(arr))
        return fail(p, name, "must be an array");
    if (json_array_size(arr) > SL_MAX_TENDERS)
        return fail(p, name, "more than %d entries", SL_MAX_TENDERS);
    static const char *const keys[] = {"method", "amount", NULL};
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *t = json_array_get(arr, i);
        char prefix[40];
        snprintf(prefix, sizeof prefix, "%s[%zu].", name, i);
        if (!json_is_object(t)) {
            snprintf(f, sizeof f, "%s[%zu]", name, i);
            return fail(p, f, "must be an object");
        }
        int rc = check_keys(t, keys, prefix, p);
        if (rc != SL_OK)
            return rc;
        sl_tender *td = &ev->tenders[i];
        snprintf(f, sizeof f, "%smethod", prefix);
        if ((rc = get_string(t, "method", f, 1, td->method, sizeof td->method, p)) != SL_OK)
            return rc;
        snprintf(f, sizeof f, "%samount", prefix);
        if ((rc = get_money(t, "amount", f, 1, &td->amount, p)) != SL_OK)
            return rc;
    }
    ev->n_tenders = json_array_size(arr);
    return SL_OK;
}

static int parse_obj(json_t *root, sl_event *ev, sl_problem *p)
{
    static const char *const sale_keys[] = {"kind", "txn_id", "ts", "currency",
                                            "tax_included", "lines", "tenders", NULL};
    static const char *const return_keys[] = {"kind", "txn_id", "ts", "currency",
                                              "tax_included", "original_txn_id",
                                              "lines", "refunds", NULL};
    static const char *const adj_keys[] = {"kind", "txn_id", "ts", "reason", "location",
                                           "lines", NULL};
    int rc;
    char buf[32];
    if (!json_is_object(root))
        return fail(p, "event", "must be a JSON object");
    if ((rc = get_string(root, "kind", "kind", 1, buf, sizeof buf, p)) != SL_OK)
        return rc;
    sl_kind kind;
    if (sl__kind_parse(buf, &kind) != SL_OK)
        return fail(p, "kind", "must be sale, return or adjustment");
    sl_event_init(ev, kind, NULL);
    const char *const *keys = kind == SL_KIND_SALE ? sale_keys
                            : kind == SL_KIND_RETURN ? return_keys : adj_keys;
    if ((rc = check_keys(root, keys, "", p)) != SL_OK)
        return rc;
    if ((rc = get_string(root, "txn_id", "txn_id", 1, ev->txn_id, sizeof ev->txn_id, p)) != SL_OK)
        return rc;
    json_t *ts = json_object_get(root, "ts");
    if (ts != NULL) {
        if (!json_is_integer(ts))
            return fail(p, "ts", "must be an integer (Unix milliseconds)");
        ev->ts_ms = (int64_t)json_integer_value(ts);
        if (ev->ts_ms <= 0)
            return fail(p, "ts", "must be Unix milliseconds between 2000 and 2100");
    }
    if (kind == SL_KIND_ADJUSTMENT) {
        if ((rc = get_string(root, "reason", "reason", 1, buf, sizeof buf, p)) != SL_OK)
            return rc;
        if (sl__reason_parse(buf, &ev->reason) != SL_OK)
            return fail(p, "reason", "must be receive, damage, shrink, count, "
                        "transfer_in or transfer_out");
        if ((rc = get_string(root, "location", "location", 0, ev->location,
                             sizeof ev->location, p)) != SL_OK)
            return rc;
    } else {
        if ((rc = get_string(root, "currency", "currency", 1, ev->currency,
                             sizeof ev->currency, p)) != SL_OK)
            return rc;
        json_t *ti = json_object_get(root, "tax_included");
        if (ti != NULL) {
            if (!json_is_boolean(ti))
                return fail(p, "tax_included", "must be true or false");
            if (json_is_true(ti))
                ev->flags |= SL_FLAG_TAX_INCLUDED;
        }
        if (kind == SL_KIND_RETURN &&
            (rc = get_string(root, "original_txn_id", "original_txn_id", 1,
                             ev->original_txn_id, sizeof ev->original_txn_id, p)) != SL_OK)
            return rc;
        const char *tn = kind == SL_KIND_SALE ? "tenders" : "refunds";
        json_t *t = json_object_get(root, tn);
        if (t == NULL)
            return fail(p, tn, "is required");
        if ((rc = parse_tenders(t, tn, ev, p)) != SL_OK)
            return rc;
    }
    json_t *lines = json_object_get(root, "lines");
    if (lines == NULL)
        return fail(p, "lines", "is required");
    if (!json_is_array(lines))
        return fail(p, "lines", "must be an array");
    if (json_array_size(lines) == 0)
        return fail(p, "lines", "must not be empty");
    if (json_array_size(lines) > SL_MAX_LINES)
        return fail(p, "lines", "more than %d lines", SL_MAX_LINES);
    for (size_t i = 0; i < json_array_size(lines); i++)
        if ((rc = parse_line(json_array_get(lines, i), i, ev, p)) != SL_OK)
            return rc;
    ev->n_lines = json_array_size(lines);
    return SL_OK;
}

int sl__json_parse_event(const char *text, size_t len, sl_event *ev, sl_problem *p)
{
    memset(p, 0, sizeof *p);
    sl_event_init(ev, SL_KIND_NONE, NULL);
    if (len > SL_EVENT_JSON_MAX)
        return fail(p, "event", "larger than %d bytes", SL_EVENT_JSON_MAX);
    if (!sl__utf8_valid(text, len))
        return fail(p, "event", "is not valid UTF-8");
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        /* jansson quotes the offending token ("near '4111...'"): drop that
         * part, it may be a card number */
        char *near = strstr(err.text, " near ");
        if (near != NULL)
            *near = '\0';
        return fail(p, "event", "is not valid JSON: %s (column %d)", err.text, err.column);
    }
    int rc = parse_obj(root, ev, p);
    json_decref(root);
    return rc;
}

/* ---- output ---------------------------------------------------------- */

static json_t *qty_json(int64_t milli)
{
    if (milli % 1000 == 0)
        return json_integer(milli / 1000);
    return json_real((double)milli / 1000.0);
}

char *sl__json_record(const sl_record *rec)
{
    const sl_event *ev = &rec->ev;
    char hex[65];
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "seq", json_integer((json_int_t)rec->seq));
    json_object_set_new(o, "kind", json_string(sl__kind_name(ev->kind)));
    json_object_set_new(o, "txn_id", json_string(ev->txn_id));
    json_object_set_new(o, "ts", json_integer(ev->ts_ms));
    if (ev->kind == SL_KIND_DLQ_DROP) {
        /* no goods, no money: who dropped which dead letter and why */
        json_object_set_new(o, "target_seq", json_integer((json_int_t)ev->target_seq));
        json_object_set_new(o, "target_txn_id", json_string(ev->target_txn_id));
        json_object_set_new(o, "reason", json_string(ev->note));
        json_object_set_new(o, "operator", json_string(ev->operator_name));
        goto hashes;
    }
    if (ev->kind == SL_KIND_ADJUSTMENT) {
        json_object_set_new(o, "reason", json_string(sl__reason_name(ev->reason)));
        if (ev->location[0])
            json_object_set_new(o, "location", json_string(ev->location));
    } else if (ev->kind != SL_KIND_DAY_CLOSE) {
        json_object_set_new(o, "currency", json_string(ev->currency));
        if (ev->flags & SL_FLAG_TAX_INCLUDED)
            json_object_set_new(o, "tax_included", json_true());
        if (ev->kind == SL_KIND_RETURN)
            json_object_set_new(o, "original_txn_id", json_string(ev->original_txn_id));
    }
    if (ev->flags & SL_FLAG_CLOCK_UNSYNC)
        json_object_set_new(o, "clock_unsynced", json_true());
    if (ev->flags & SL_FLAG_CLOCK_JUMP)
        json_object_set_new(o, "clock_jump", json_true());
    if (ev->kind == SL_KIND_DAY_CLOSE)
        json_object_set_new(o, "day", sl__day_json(&ev->day));
    json_t *lines = json_array();
    for (size_t i = 0; i < ev->n_lines; i++) {
        const sl_line *l = &ev->lines[i];
        json_t *jl = json_object();
        json_object_set_new(jl, "sku", json_string(l->sku));
        json_object_set_new(jl, "qty", qty_json(l->qty_milli));
        if (ev->kind != SL_KIND_ADJUSTMENT) {
            int64_t amount = 0;
            json_object_set_new(jl, "unit_price", json_integer(l->unit_price));
            json_object_set_new(jl, "discount", json_integer(l->discount));
            json_object_set_new(jl, "tax", json_integer(l->tax));
            if (sl_line_amount(ev, l, &amount) == SL_OK)
                json_object_set_new(jl, "amount", json_integer(amount));
        }
        if (l->disposition)
            json_object_set_new(jl, "disposition",
                                json_string(sl__disp_name((sl_disposition)l->disposition)));
        if (l->has_expected)
            json_object_set_new(jl, "expected", qty_json(l->expected_milli));
        json_array_append_new(lines, jl);
    }
    json_object_set_new(o, "lines", lines);
    if (ev->kind == SL_KIND_SALE || ev->kind == SL_KIND_RETURN) {
        int64_t total = 0;
        json_t *ts = json_array();
        for (size_t i = 0; i < ev->n_tenders; i++) {
            json_t *t = json_object();
            json_object_set_new(t, "method", json_string(ev->tenders[i].method));
            json_object_set_new(t, "amount", json_integer(ev->tenders[i].amount));
            json_array_append_new(ts, t);
        }
        json_object_set_new(o, ev->kind == SL_KIND_SALE ? "tenders" : "refunds", ts);
        if (sl_event_total(ev, &total) == SL_OK)
            json_object_set_new(o, "total", json_integer(total));
    }
hashes:
    sl_hash_hex(rec->prev_hash, hex);
    json_object_set_new(o, "prev_hash", json_string(hex));
    sl_hash_hex(rec->hash, hex);
    json_object_set_new(o, "hash", json_string(hex));
    /* 10 significant digits print every qty exactly (at most 10^6 units
     * with 3 decimals) without binary noise */
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(o);
    return s;
}
