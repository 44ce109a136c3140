/*
 * Events: construction, amounts and validation (docs/PROTOCOL.md, "Event
 * rules").  Every rule that the JSON input, the C API and (later) the ingest
 * socket must share lives here, so they cannot drift apart.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "event.h"

void sl_event_init(sl_event *ev, sl_kind kind, const char *txn_id)
{
    /* the line and tender arrays are left as they are: only n_* counts */
    ev->kind = kind;
    ev->flags = 0;
    ev->txn_id[0] = '\0';
    if (txn_id != NULL)
        snprintf(ev->txn_id, sizeof ev->txn_id, "%s", txn_id);
    ev->ts_ms = 0;
    ev->currency[0] = '\0';
    ev->original_txn_id[0] = '\0';
    ev->reason = SL_REASON_NONE;
    ev->location[0] = '\0';
    ev->n_lines = 0;
    ev->n_tenders = 0;
    ev->target_seq = 0;
    ev->target_txn_id[0] = ev->note[0] = ev->operator_name[0] = '\0';
}

int sl_event_add_line(sl_event *ev, const char *sku, int64_t qty_milli,
                      int64_t unit_price, int64_t discount, int64_t tax)
{
    if (ev->n_lines >= SL_MAX_LINES || strlen(sku) > SL_SKU_MAX)
        return SL_ERR_TOO_LARGE;
    sl_line *l = &ev->lines[ev->n_lines++];
    memset(l, 0, sizeof *l);
    memcpy(l->sku, sku, strlen(sku) + 1);
    l->qty_milli = qty_milli;
    l->unit_price = unit_price;
    l->discount = discount;
    l->tax = tax;
    return SL_OK;
}

int sl_event_add_tender(sl_event *ev, const char *method, int64_t amount)
{
    if (ev->n_tenders >= SL_MAX_TENDERS || strlen(method) > SL_METHOD_MAX)
        return SL_ERR_TOO_LARGE;
    sl_tender *t = &ev->tenders[ev->n_tenders++];
    memcpy(t->method, method, strlen(method) + 1);
    t->amount = amount;
    return SL_OK;
}

int sl_line_amount(const sl_event *ev, const sl_line *l, int64_t *amount)
{
    int64_t p, a;
    if (__builtin_mul_overflow(l->qty_milli, l->unit_price, &p))
        return SL_ERR_TOO_LARGE;
    /* qty is in milli-units: round half away from zero to the minor unit */
    int64_t v = p >= 0 ? (p + 500) / 1000 : -((-p + 500) / 1000);
    if (__builtin_sub_overflow(v, l->discount, &a))
        return SL_ERR_TOO_LARGE;
    if (!(ev->flags & SL_FLAG_TAX_INCLUDED) && __builtin_add_overflow(a, l->tax, &a))
        return SL_ERR_TOO_LARGE;
    *amount = a;
    return SL_OK;
}

int sl_event_total(const sl_event *ev, int64_t *total)
{
    int64_t t = 0, a;
    for (size_t i = 0; i < ev->n_lines; i++) {
        int rc = sl_line_amount(ev, &ev->lines[i], &a);
        if (rc != SL_OK)
            return rc;
        if (__builtin_add_overflow(t, a, &t))
            return SL_ERR_TOO_LARGE;
    }
    *total = t;
    return SL_OK;
}

const char *sl__kind_name(sl_kind k)
{
    switch (k) {
    case SL_KIND_SALE: return "sale";
    case SL_KIND_RETURN: return "return";
    case SL_KIND_ADJUSTMENT: return "adjustment";
    case SL_KIND_DLQ_DROP: return "dlq_drop";
    case SL_KIND_DAY_CLOSE: return "day_close";
    case SL_KIND_NONE: break;
    }
    return "unknown";
}

int sl__kind_parse(const char *s, sl_kind *k)
{
    for (int i = SL_KIND_SALE; i <= SL_KIND_ADJUSTMENT; i++)
        if (strcmp(s, sl__kind_name((sl_kind)i)) == 0) {
            *k = (sl_kind)i;
            return SL_OK;
        }
    return SL_ERR_INVALID;
}

static const char *const reason_names[] = {
    NULL, "receive", "damage", "shrink", "count", "transfer_in", "transfer_out",
};

const char *sl__reason_name(sl_reason r)
{
    if (r >= SL_REASON_RECEIVE && r <= SL_REASON_TRANSFER_OUT)
        return reason_names[r];
    return "none";
}

int sl__reason_parse(const char *s, sl_reason *r)
{
    for (int i = SL_REASON_RECEIVE; i <= SL_REASON_TRANSFER_OUT; i++)
        if (strcmp(s, reason_names[i]) == 0) {
            *r = (sl_reason)i;
            return SL_OK;
        }
    return SL_ERR_INVALID;
}

const char *sl__disp_name(sl_disposition d)
{
    return d == SL_DISP_RESTOCK ? "restock" : d == SL_DISP_DAMAGED ? "damaged" : "none";
}

int sl__disp_parse(const char *s, sl_disposition *d)
{
    if (strcmp(s, "restock") == 0) *d = SL_DISP_RESTOCK;
    else if (strcmp(s, "damaged") == 0) *d = SL_DISP_DAMAGED;
    else return SL_ERR_INVALID;
    return SL_OK;
}

/* ---- text rules ------------------------------------------------------ */

int sl__utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
        else return 0;
        if (i + len > n) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return 0;
        i += len;
    }
    return 1;
}

/* C0, DEL and C1 controls (C1 arrives UTF-8 encoded as c2 80..c2 9f) */
static int has_control(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f)
            return 1;
        if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
            return 1;
    }
    return 0;
}

static int luhn_ok(const char *digits, size_t n)
{
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = digits[n - 1 - i] - '0';
        if (i % 2 == 1) {
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

int sl__gs1_check_ok(const char *s, size_t n)
{
    if (n < 2) return 0;
    int sum = 0;
    /* weights 3,1,3,... from the digit left of the check digit */
    for (size_t i = 0; i + 1 < n; i++) {
        int d = s[n - 2 - i] - '0';
        sum += (i % 2 == 0) ? 3 * d : d;
    }
    return (10 - sum % 10) % 10 == s[n - 1] - '0';
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return n > 0;
}

int sl__is_gtin(const char *s, size_t n)
{
    return (n == 8 || n == 12 || n == 13 || n == 14) && all_digits(s, n) &&
           sl__gs1_check_ok(s, n);
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Do the k digit groups (offsets and lengths in s) read as one card number
 * the way cards print it: a single unbroken run, groups of four with a last
 * group of 1-4 ("4111 1111 1111 1111"), or American Express / Diners 4-6-5 /
 * 4-6-4; 13-19 digits in all, Luhn-valid.  Joining any groups at all would
 * make ids like "POS1-20240115-000123" fail Luhn's 1-in-10 by chance, and
 * checking only the whole run would miss "Aisle 12 4111-1111-1111-1111". */
static int groups_are_card(const char *s, const size_t *start, const size_t *len, size_t k)
{
    char digits[19];
    size_t nd = 0;
    int fours = len[k - 1] <= 4;
    for (size_t g = 0; g < k; g++) {
        if (g + 1 < k && len[g] != 4)
            fours = 0;
        nd += len[g];
    }
    int amex = k == 3 && len[0] == 4 && len[1] == 6 && (len[2] == 5 || len[2] == 4);
    if ((k > 1 && !fours && !amex) || nd < 13 || nd > 19)
        return 0;
    nd = 0;
    for (size_t g = 0; g < k; g++) {
        memcpy(digits + nd, s + start[g], len[g]);
        nd += len[g];
    }
    return luhn_ok(digits, nd);
}

int sl__has_card_data(const char *s, size_t n)
{
    /* the last (at most 5) digit groups of the current run, where a run is
     * groups joined by single spaces or dashes */
    size_t start[5], len[5], ng = 0, run_start = 0, run_digits = 0;
    size_t i = 0;
    while (i < n) {
        if (!is_digit(s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && is_digit(s[j]))
            j++;
        size_t prev_end = ng > 0 ? start[ng - 1] + len[ng - 1] : 0;
        if (!(ng > 0 && i == prev_end + 1 && (s[prev_end] == ' ' || s[prev_end] == '-'))) {
            ng = 0;
            run_start = i;
            run_digits = 0;
        }
        if (ng == 5) {
            memmove(start, start + 1, 4 * sizeof start[0]);
            memmove(len, len + 1, 4 * sizeof len[0]);
            ng = 4;
        }
        start[ng] = i;
        len[ng] = j - i;
        ng++;
        run_digits += j - i;
        for (size_t k = 1; k <= ng; k++)
            if (groups_are_card(s, start + ng - k, len + ng - k, k))
                return 1;
        /* track 2 data: ';' PAN '=' expiry/service code, whatever the
         * check digit */
        if (run_digits >= 12 && run_start > 0 && s[run_start - 1] == ';' && j < n && s[j] == '=')
            return 1;
        i = j;
    }
    return 0;
}

/* ---- validation ------------------------------------------------------ */

static int fail(sl_problem *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(sl_problem *p, const char *field, const char *fmt, ...)
{
    if (p != NULL) {
        va_list ap;
        snprintf(p->field, sizeof p->field, "%s", field);
        va_start(ap, fmt);
        vsnprintf(p->reason, sizeof p->reason, fmt, ap);
        va_end(ap);
    }
    return SL_ERR_INVALID;
}

#define CARD_REASON "looks like a payment card number (not stored, PCI DSS)"

static int check_ascii_id(const char *s, const char *field, int required, sl_problem *p)
{
    size_t n = strlen(s);
    if (n == 0)
        return required ? fail(p, field, "is required") : SL_OK;
    if (n > SL_TXN_ID_MAX)
        return fail(p, field, "longer than %d bytes", SL_TXN_ID_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return fail(p, field, "must be printable ASCII");
    if (sl__has_card_data(s, n))
        return fail(p, field, CARD_REASON);
    return SL_OK;
}

int sl__check_text(const char *s, size_t max, const char *field, sl_problem *p)
{
    size_t n = strlen(s);
    if (n > max)
        return fail(p, field, "longer than %zu bytes", max);
    if (!sl__utf8_valid(s, n))
        return fail(p, field, "is not valid UTF-8");
    if (has_control(s, n))
        return fail(p, field, "contains control characters");
    if (sl__has_card_data(s, n))
        return fail(p, field, CARD_REASON);
    return SL_OK;
}

int sl__check_sku(const char *s, const char *field, sl_problem *p)
{
    size_t n = strlen(s);
    if (n == 0)
        return fail(p, field, "must not be empty");
    if (n > SL_SKU_MAX)
        return fail(p, field, "longer than %d bytes", SL_SKU_MAX);
    /* a GTIN with a correct GS1 check digit is a product code even when it
     * also passes Luhn (about one EAN-13 in ten does) */
    if (sl__is_gtin(s, n))
        return SL_OK;
    return sl__check_text(s, SL_SKU_MAX, field, p);
}

static int check_currency(const char *c, sl_problem *p)
{
    if (c[0] == '\0')
        return fail(p, "currency", "is required");
    for (int i = 0; i < 3; i++)
        if (c[i] < 'A' || c[i] > 'Z')
            return fail(p, "currency", "must be 3 upper-case letters (ISO 4217)");
    if (c[3] != '\0')
        return fail(p, "currency", "must be 3 upper-case letters (ISO 4217)");
    return SL_OK;
}

static int check_method(const char *m, const char *field, sl_problem *p)
{
    size_t n = strlen(m);
    if (n == 0 || n > SL_METHOD_MAX)
        return fail(p, field, "must be 1-%d characters", SL_METHOD_MAX);
    for (size_t i = 0; i < n; i++)
        if (!((m[i] >= 'a' && m[i] <= 'z') || (m[i] >= '0' && m[i] <= '9') || m[i] == '_'))
            return fail(p, field, "must use a-z, 0-9 and _ only");
    if (sl__has_card_data(m, n))
        return fail(p, field, CARD_REASON);
    return SL_OK;
}

static int check_money(int64_t v, const char *field, sl_problem *p)
{
    if (v < 0)
        return fail(p, field, "must not be negative");
    if (v > SL_MONEY_MAX)
        return fail(p, field, "exceeds %lld minor units", (long long)SL_MONEY_MAX);
    return SL_OK;
}

/* Prefix the failing field with its array position ("lines[2].").  Done
 * only on failure: formatting every field path up front cost more than
 * the rest of validation together. */
static int at(int rc, sl_problem *p, const char *arr, size_t i)
{
    if (rc != SL_OK && p != NULL) {
        char f[sizeof p->field];
        snprintf(f, sizeof f, "%.8s[%u].%.24s", arr, (unsigned)(i % 1000), p->field);
        memcpy(p->field, f, sizeof f);
    }
    return rc;
}

static int check_line(const sl_event *ev, size_t i, sl_problem *p)
{
    const sl_line *l = &ev->lines[i];
    char f[48];
    int rc;
#define FIELD(name) (snprintf(f, sizeof f, "lines[%zu].%s", i, name), f)
    if ((rc = sl__check_sku(l->sku, "sku", p)) != SL_OK)
        return at(rc, p, "lines", i);
    if (l->qty_milli == 0 && !(ev->kind == SL_KIND_ADJUSTMENT && ev->reason == SL_REASON_COUNT))
        return fail(p, FIELD("qty"), "must not be zero");
    if (l->qty_milli > SL_QTY_MAX || l->qty_milli < -SL_QTY_MAX)
        return fail(p, FIELD("qty"), "exceeds %lld units", (long long)(SL_QTY_MAX / 1000));
    if (l->has_expected && !(ev->kind == SL_KIND_ADJUSTMENT && ev->reason == SL_REASON_COUNT))
        return fail(p, FIELD("expected"), "is allowed on count adjustments only");
    if (ev->kind == SL_KIND_ADJUSTMENT) {
        if (l->unit_price || l->discount || l->tax)
            return fail(p, FIELD("unit_price"), "is not allowed on an adjustment");
        if (l->disposition)
            return fail(p, FIELD("disposition"), "is allowed on return lines only");
        switch (ev->reason) {
        case SL_REASON_RECEIVE:
        case SL_REASON_TRANSFER_IN:
            if (l->qty_milli < 0)
                return fail(p, FIELD("qty"), "must be positive for reason %s",
                            sl__reason_name(ev->reason));
            break;
        case SL_REASON_DAMAGE:
        case SL_REASON_SHRINK:
        case SL_REASON_TRANSFER_OUT:
            if (l->qty_milli > 0)
                return fail(p, FIELD("qty"), "must be negative for reason %s",
                            sl__reason_name(ev->reason));
            break;
        case SL_REASON_COUNT:
            if (l->qty_milli < 0)
                return fail(p, FIELD("qty"), "is the counted quantity and must not be negative");
            if (l->has_expected && (l->expected_milli < -SL_QTY_MAX || l->expected_milli > SL_QTY_MAX))
                return fail(p, FIELD("expected"), "out of range");
            break;
        case SL_REASON_NONE:
            break;
        }
        return SL_OK;
    }
    if (l->qty_milli < 0)
        return fail(p, FIELD("qty"), "must be positive");
    if ((rc = check_money(l->unit_price, "unit_price", p)) != SL_OK ||
        (rc = check_money(l->discount, "discount", p)) != SL_OK ||
        (rc = check_money(l->tax, "tax", p)) != SL_OK)
        return at(rc, p, "lines", i);
    if (ev->kind == SL_KIND_RETURN && l->disposition == SL_DISP_NONE)
        return fail(p, FIELD("disposition"), "is required on a return (restock or damaged)");
    if (ev->kind == SL_KIND_SALE && l->disposition != SL_DISP_NONE)
        return fail(p, FIELD("disposition"), "is allowed on return lines only");
    int64_t amount, gross;
    if (sl_line_amount(ev, l, &amount) != SL_OK || amount > SL_MONEY_MAX)
        return fail(p, FIELD("unit_price"), "line amount is too large");
    gross = amount + ((ev->flags & SL_FLAG_TAX_INCLUDED) ? 0 : -l->tax);
    if (gross < 0)
        return fail(p, FIELD("discount"), "exceeds the line value");
    if ((ev->flags & SL_FLAG_TAX_INCLUDED) && l->tax > amount)
        return fail(p, FIELD("tax"), "exceeds the tax-inclusive line amount");
    return SL_OK;
#undef FIELD
}

/* A dlq_drop record (docs/PROTOCOL.md "Dead letters"): written by
 * `storelink dlq drop`, never by a POS, so it carries no money or goods. */
static int check_dlq_drop(const sl_event *ev, sl_problem *p)
{
    int rc;
    if (ev->n_lines || ev->n_tenders)
        return fail(p, ev->n_lines ? "lines" : "tenders", "are not allowed on a dlq_drop");
    if (ev->currency[0] || ev->original_txn_id[0] || ev->reason || ev->location[0] ||
        (ev->flags & SL_FLAG_TAX_INCLUDED))
        return fail(p, "kind", "dlq_drop carries only target_seq, target_txn_id, reason, operator");
    if (ev->target_seq == 0)
        return fail(p, "target_seq", "is required");
    if ((rc = check_ascii_id(ev->target_txn_id, "target_txn_id", 1, p)) != SL_OK)
        return rc;
    size_t n = strlen(ev->note), chars = 0;
    if (n == 0)
        return fail(p, "reason", "is required");
    if ((rc = sl__check_text(ev->note, 4 * SL_NOTE_MAX, "reason", p)) != SL_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        chars += ((unsigned char)ev->note[i] & 0xc0) != 0x80;
    if (chars > SL_NOTE_MAX)
        return fail(p, "reason", "longer than %d characters", SL_NOTE_MAX);
    if (ev->operator_name[0] == '\0')
        return fail(p, "operator", "is required");
    return sl__check_text(ev->operator_name, SL_TEXT_MAX, "operator", p);
}

/* A day close is made by close-day from the journal itself; these rules
 * only keep a malformed one out (docs/PROTOCOL.md "Day close"). */
static int check_day_close(const sl_event *ev, sl_problem *p)
{
    const sl_day_close *d = &ev->day;
    char want[SL_TXN_ID_MAX + 1];
    if (strlen(d->date) != 10 || d->date[4] != '-' || d->date[7] != '-' ||
        strspn(d->date, "0123456789-") != 10)
        return fail(p, "day.date", "must be YYYY-MM-DD");
    snprintf(want, sizeof want, "day-close:%s", d->date);
    if (strcmp(ev->txn_id, want) != 0)
        return fail(p, "txn_id", "must be day-close:<date> on a day close");
    if (d->timezone[0] == '\0' || d->day_end_min >= 1440)
        return fail(p, "day.timezone", "and day_end are required");
    if (d->prev_date[0] != '\0' && strlen(d->prev_date) != 10)
        return fail(p, "day.prev", "date must be YYYY-MM-DD");
    if (d->first_seq > d->last_seq || (d->records == 0) != (d->last_seq == 0) ||
        d->last_seq > d->through_seq || d->prev_seq > d->through_seq ||
        d->clock_untrusted > d->records)
        return fail(p, "day.records", "first/last seq and counts disagree");
    if (d->n_totals > SL_DAY_MAX_TOTALS || d->n_methods > SL_DAY_MAX_METHODS ||
        d->n_units > SL_DAY_MAX_UNITS)
        return fail(p, "day", "too many rows");
    if (ev->n_lines || ev->n_tenders || ev->currency[0] || ev->reason || ev->location[0] ||
        ev->original_txn_id[0] || (ev->flags & SL_FLAG_TAX_INCLUDED))
        return fail(p, "kind", "a day close carries no lines, tenders or event fields");
    return SL_OK;
}

int sl_event_validate(const sl_event *ev, sl_problem *p)
{
    int rc;
    char f[48];
    if (ev->kind == SL_KIND_DLQ_DROP) {
        if ((rc = check_ascii_id(ev->txn_id, "txn_id", 1, p)) != SL_OK)
            return rc;
        if (ev->flags & ~(uint32_t)SL_FLAG_CLOCK_MASK)
            return fail(p, "flags", "has unknown bits");
        if (ev->ts_ms != 0 && (ev->ts_ms < 946684800000LL || ev->ts_ms >= 4102444800000LL))
            return fail(p, "ts", "must be Unix milliseconds between 2000 and 2100");
        return check_dlq_drop(ev, p);
    }
    if ((ev->kind < SL_KIND_SALE || ev->kind > SL_KIND_ADJUSTMENT) &&
        ev->kind != SL_KIND_DAY_CLOSE)
        return fail(p, "kind", "must be sale, return or adjustment");
    if (ev->target_seq || ev->target_txn_id[0] || ev->note[0] || ev->operator_name[0])
        return fail(p, "target_seq", "is allowed on dlq_drop records only");
    if ((rc = check_ascii_id(ev->txn_id, "txn_id", 1, p)) != SL_OK)
        return rc;
    if (ev->flags & ~(uint32_t)(SL_FLAG_TAX_INCLUDED | SL_FLAG_CLOCK_MASK))
        return fail(p, "flags", "has unknown bits");
    /* 2000-01-01 .. 2100-01-01: a clock reset to 1970 must be caught */
    if (ev->ts_ms != 0 && (ev->ts_ms < 946684800000LL || ev->ts_ms >= 4102444800000LL))
        return fail(p, "ts", "must be Unix milliseconds between 2000 and 2100");
    if (ev->kind == SL_KIND_DAY_CLOSE)
        return check_day_close(ev, p);
    if (ev->n_lines == 0)
        return fail(p, "lines", "must not be empty");
    if (ev->n_lines > SL_MAX_LINES)
        return fail(p, "lines", "more than %d lines", SL_MAX_LINES);
    if (ev->n_tenders > SL_MAX_TENDERS)
        return fail(p, "tenders", "more than %d entries", SL_MAX_TENDERS);

    if (ev->kind == SL_KIND_ADJUSTMENT) {
        if (ev->reason == SL_REASON_NONE)
            return fail(p, "reason", "is required on an adjustment");
        if (ev->reason > SL_REASON_TRANSFER_OUT)
            return fail(p, "reason", "is not a known reason");
        if (ev->currency[0])
            return fail(p, "currency", "is not allowed on an adjustment");
        if (ev->flags & SL_FLAG_TAX_INCLUDED)
            return fail(p, "tax_included", "is not allowed on an adjustment");
        if (ev->n_tenders)
            return fail(p, "tenders", "are not allowed on an adjustment");
        if (ev->original_txn_id[0])
            return fail(p, "original_txn_id", "is allowed on returns only");
        if ((rc = sl__check_text(ev->location, SL_TEXT_MAX, "location", p)) != SL_OK)
            return rc;
        for (size_t i = 0; i < ev->n_lines; i++)
            if ((rc = check_line(ev, i, p)) != SL_OK)
                return rc;
        return SL_OK;
    }

    const char *tname = ev->kind == SL_KIND_SALE ? "tenders" : "refunds";
    if (ev->reason != SL_REASON_NONE)
        return fail(p, "reason", "is allowed on adjustments only");
    if (ev->location[0])
        return fail(p, "location", "is allowed on adjustments only");
    if ((rc = check_currency(ev->currency, p)) != SL_OK)
        return rc;
    if (ev->kind == SL_KIND_RETURN) {
        if ((rc = check_ascii_id(ev->original_txn_id, "original_txn_id", 1, p)) != SL_OK)
            return rc;
    } else if (ev->original_txn_id[0]) {
        return fail(p, "original_txn_id", "is allowed on returns only");
    }
    for (size_t i = 0; i < ev->n_lines; i++)
        if ((rc = check_line(ev, i, p)) != SL_OK)
            return rc;

    int64_t total, paid = 0, non_cash = 0;
    if (sl_event_total(ev, &total) != SL_OK || total > SL_MONEY_MAX)
        return fail(p, "lines", "total is too large");
    for (size_t i = 0; i < ev->n_tenders; i++) {
        const sl_tender *t = &ev->tenders[i];
        if ((rc = check_method(t->method, "method", p)) != SL_OK ||
            (rc = check_money(t->amount, "amount", p)) != SL_OK)
            return at(rc, p, tname, i);
        if (t->amount == 0) {
            snprintf(f, sizeof f, "%s[%zu].amount", tname, i);
            return fail(p, f, "must not be zero");
        }
        paid += t->amount;
        if (strcmp(t->method, "cash") != 0)
            non_cash += t->amount;
    }
    if (ev->kind == SL_KIND_SALE) {
        if (paid < total)
            return fail(p, "tenders", "cover %lld of the total %lld", (long long)paid,
                        (long long)total);
        /* only cash can exceed the total (change is given) */
        if (non_cash > total)
            return fail(p, "tenders", "non-cash tenders %lld exceed the total %lld",
                        (long long)non_cash, (long long)total);
    } else if (paid != total) {
        return fail(p, "refunds", "sum to %lld but the return total is %lld",
                    (long long)paid, (long long)total);
    }
    return SL_OK;
}
