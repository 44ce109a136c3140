/* Record codec: docs/PROTOCOL.md "Record".  Streaming libcbor only. */
#include <string.h>

#include "cborio.h"
#include "codec.h"

static int has_currency(const sl_event *ev, int mode, const char *wire_cur)
{
    if (ev->currency[0] == '\0')
        return 0;
    if (mode == SL_ENC_WIRE && wire_cur != NULL && strcmp(ev->currency, wire_cur) == 0)
        return 0;
    return 1;
}

static void encode_line(sl__cw *w, const sl_line *l)
{
    size_t n = 2 + (l->unit_price != 0) + (l->discount != 0) + (l->tax != 0) +
               (l->disposition != 0) + (l->has_expected != 0);
    sl__cw_map(w, n);
    sl__cw_uint(w, SL_KL_SKU);
    sl__cw_cstr(w, l->sku);
    sl__cw_uint(w, SL_KL_QTY);
    sl__cw_int(w, l->qty_milli);
    if (l->unit_price) {
        sl__cw_uint(w, SL_KL_PRICE);
        sl__cw_int(w, l->unit_price);
    }
    if (l->discount) {
        sl__cw_uint(w, SL_KL_DISCOUNT);
        sl__cw_int(w, l->discount);
    }
    if (l->tax) {
        sl__cw_uint(w, SL_KL_TAX);
        sl__cw_int(w, l->tax);
    }
    if (l->disposition) {
        sl__cw_uint(w, SL_KL_DISP);
        sl__cw_uint(w, l->disposition);
    }
    if (l->has_expected) {
        sl__cw_uint(w, SL_KL_EXPECTED);
        sl__cw_int(w, l->expected_milli);
    }
}

int sl__codec_encode(const sl_event *ev, int mode, uint64_t seq,
                     const uint8_t *prev, const char *wire_currency,
                     uint8_t *buf, size_t cap, size_t *len)
{
    return sl__codec_encode_ts(ev, ev->ts_ms, mode, seq, prev, wire_currency, buf, cap, len);
}

int sl__codec_encode_ts(const sl_event *ev, int64_t ts_ms, int mode, uint64_t seq,
                        const uint8_t *prev, const char *wire_currency,
                        uint8_t *buf, size_t cap, size_t *len)
{
    return sl__codec_encode_flags(ev, ts_ms, ev->flags, mode, seq, prev, wire_currency, buf,
                                  cap, len);
}

/* day_close body: every key always present (docs/PROTOCOL.md "Day close") */
static void encode_day(sl__cw *w, const sl_day_close *d)
{
    static const uint8_t zeros[32];
    sl__cw_uint(w, SL_K_DAY_DATE);
    sl__cw_cstr(w, d->date);
    sl__cw_uint(w, SL_K_DAY_TZ);
    sl__cw_cstr(w, d->timezone);
    sl__cw_uint(w, SL_K_DAY_END);
    sl__cw_uint(w, d->day_end_min);
    sl__cw_uint(w, SL_K_DAY_PREV);
    sl__cw_array(w, 2);
    sl__cw_cstr(w, d->prev_date);
    sl__cw_uint(w, d->prev_seq);
    sl__cw_uint(w, SL_K_DAY_FIRST);
    sl__cw_uint(w, d->first_seq);
    sl__cw_uint(w, SL_K_DAY_LAST);
    sl__cw_uint(w, d->last_seq);
    sl__cw_uint(w, SL_K_DAY_HASH);
    sl__cw_bstr(w, d->last_seq ? d->last_hash : zeros, 32);
    sl__cw_uint(w, SL_K_DAY_RECORDS);
    sl__cw_uint(w, d->records);
    sl__cw_uint(w, SL_K_DAY_UNTRUSTED);
    sl__cw_uint(w, d->clock_untrusted);
    sl__cw_uint(w, SL_K_DAY_TOTALS);
    sl__cw_array(w, d->n_totals);
    for (size_t i = 0; i < d->n_totals && i < SL_DAY_MAX_TOTALS; i++) {
        const sl_day_total *t = &d->totals[i];
        sl__cw_array(w, 5);
        sl__cw_uint(w, t->kind);
        sl__cw_cstr(w, t->currency);
        sl__cw_uint(w, t->count);
        sl__cw_int(w, t->amount);
        sl__cw_int(w, t->tax);
    }
    sl__cw_uint(w, SL_K_DAY_METHODS);
    sl__cw_array(w, d->n_methods);
    for (size_t i = 0; i < d->n_methods && i < SL_DAY_MAX_METHODS; i++) {
        const sl_day_method *m = &d->methods[i];
        sl__cw_array(w, 5);
        sl__cw_uint(w, m->kind);
        sl__cw_cstr(w, m->currency);
        sl__cw_cstr(w, m->method);
        sl__cw_uint(w, m->count);
        sl__cw_int(w, m->amount);
    }
    sl__cw_uint(w, SL_K_DAY_UNITS);
    sl__cw_array(w, d->n_units);
    for (size_t i = 0; i < d->n_units && i < SL_DAY_MAX_UNITS; i++) {
        const sl_day_units *u = &d->units[i];
        sl__cw_array(w, 3);
        sl__cw_uint(w, u->reason);
        sl__cw_uint(w, u->count);
        sl__cw_int(w, u->qty_milli);
    }
    sl__cw_uint(w, SL_K_DAY_THROUGH);
    sl__cw_uint(w, d->through_seq);
}

#define DAY_KEYS 13   /* SL_K_DAY_DATE .. SL_K_DAY_THROUGH */

int sl__codec_encode_flags(const sl_event *ev, int64_t ts_ms, uint32_t flags, int mode,
                           uint64_t seq, const uint8_t *prev, const char *wire_currency,
                           uint8_t *buf, size_t cap, size_t *len)
{
    static const uint8_t zeros[32];
    int day = ev->kind == SL_KIND_DAY_CLOSE;
    int stored = mode == SL_ENC_STORED;
    int with_ts = mode != SL_ENC_CONTENT;
    int cur = has_currency(ev, mode, wire_currency);
    size_t n = 2 /* kind, txn */ + 2 * stored + with_ts + (flags != 0) +
               cur + (ev->original_txn_id[0] != 0) + (ev->reason != 0) +
               (ev->location[0] != 0) + 1 /* lines */ + (ev->n_tenders != 0) +
               (ev->target_seq != 0) + (ev->target_txn_id[0] != 0) + (ev->note[0] != 0) +
               (ev->operator_name[0] != 0) +
               (day ? DAY_KEYS : 0);
    sl__cw w;
    sl__cw_init(&w, buf, cap);
    sl__cw_map(&w, n);
    sl__cw_uint(&w, SL_K_KIND);
    sl__cw_uint(&w, (uint64_t)ev->kind);
    if (stored) {
        sl__cw_uint(&w, SL_K_SEQ);
        sl__cw_uint(&w, seq);
    }
    sl__cw_uint(&w, SL_K_TXN);
    sl__cw_cstr(&w, ev->txn_id);
    if (with_ts) {
        sl__cw_uint(&w, SL_K_TS);
        sl__cw_int(&w, ts_ms);
    }
    if (stored) {
        sl__cw_uint(&w, SL_K_PREV);
        sl__cw_bstr(&w, prev ? prev : zeros, 32);
    }
    if (flags) {
        sl__cw_uint(&w, SL_K_FLAGS);
        sl__cw_uint(&w, flags);
    }
    if (cur) {
        sl__cw_uint(&w, SL_K_CURRENCY);
        sl__cw_cstr(&w, ev->currency);
    }
    if (ev->original_txn_id[0]) {
        sl__cw_uint(&w, SL_K_ORIG_TXN);
        sl__cw_cstr(&w, ev->original_txn_id);
    }
    if (ev->reason) {
        sl__cw_uint(&w, SL_K_REASON);
        sl__cw_uint(&w, (uint64_t)ev->reason);
    }
    if (ev->location[0]) {
        sl__cw_uint(&w, SL_K_LOCATION);
        sl__cw_cstr(&w, ev->location);
    }
    sl__cw_uint(&w, SL_K_LINES);
    sl__cw_array(&w, ev->n_lines);
    for (size_t i = 0; i < ev->n_lines && i < SL_MAX_LINES; i++)
        encode_line(&w, &ev->lines[i]);
    if (ev->n_tenders) {
        sl__cw_uint(&w, SL_K_TENDERS);
        sl__cw_array(&w, ev->n_tenders);
        for (size_t i = 0; i < ev->n_tenders && i < SL_MAX_TENDERS; i++) {
            sl__cw_array(&w, 2);
            sl__cw_cstr(&w, ev->tenders[i].method);
            sl__cw_int(&w, ev->tenders[i].amount);
        }
    }
    if (ev->target_seq) {
        sl__cw_uint(&w, SL_K_TARGET_SEQ);
        sl__cw_uint(&w, ev->target_seq);
    }
    if (ev->target_txn_id[0]) {
        sl__cw_uint(&w, SL_K_TARGET_TXN);
        sl__cw_cstr(&w, ev->target_txn_id);
    }
    if (ev->note[0]) {
        sl__cw_uint(&w, SL_K_NOTE);
        sl__cw_cstr(&w, ev->note);
    }
    if (ev->operator_name[0]) {
        sl__cw_uint(&w, SL_K_OPERATOR);
        sl__cw_cstr(&w, ev->operator_name);
    }
    if (day)
        encode_day(&w, &ev->day);
    if (w.overflow || ev->n_lines > SL_MAX_LINES || ev->n_tenders > SL_MAX_TENDERS)
        return SL_ERR_TOO_LARGE;
    *len = w.len;
    return SL_OK;
}

static int decode_line(sl__cr *r, sl_line *l)
{
    size_t n;
    uint64_t key, prev_key = 0, v;
    int have_qty = 0;
    if (sl__cr_map(r, &n) != 0 || n > 7)
        return -1;
    memset(l, 0, sizeof *l);
    for (size_t i = 0; i < n; i++) {
        if (sl__cr_uint(r, &key) != 0 || key <= prev_key)
            return -1;
        prev_key = key;
        switch (key) {
        case SL_KL_SKU:
            if (sl__cr_tstr_copy(r, l->sku, sizeof l->sku) != 0) return -1;
            break;
        case SL_KL_QTY:
            if (sl__cr_int(r, &l->qty_milli) != 0) return -1;
            have_qty = 1;
            break;
        case SL_KL_PRICE:
            if (sl__cr_int(r, &l->unit_price) != 0 || l->unit_price == 0) return -1;
            break;
        case SL_KL_DISCOUNT:
            if (sl__cr_int(r, &l->discount) != 0 || l->discount == 0) return -1;
            break;
        case SL_KL_TAX:
            if (sl__cr_int(r, &l->tax) != 0 || l->tax == 0) return -1;
            break;
        case SL_KL_DISP:
            if (sl__cr_uint(r, &v) != 0 || v == 0 || v > SL_DISP_DAMAGED) return -1;
            l->disposition = (uint8_t)v;
            break;
        case SL_KL_EXPECTED:
            if (sl__cr_int(r, &l->expected_milli) != 0) return -1;
            l->has_expected = 1;
            break;
        default:
            return -1;
        }
    }
    /* sku and qty are mandatory (a missing qty would decode as 0, a second
     * encoding of a zero-quantity line) */
    return (l->sku[0] != '\0' && have_qty) ? 0 : -1;
}

/* one day_close key (kind already known to be day_close); 0 or -1 */
static int decode_day_key(sl__cr *r, uint64_t key, sl_day_close *d)
{
    size_t cnt, k;
    uint64_t v;
    switch (key) {
    case SL_K_DAY_DATE:
        return sl__cr_tstr_copy(r, d->date, sizeof d->date);
    case SL_K_DAY_TZ:
        return sl__cr_tstr_copy(r, d->timezone, sizeof d->timezone);
    case SL_K_DAY_END:
        if (sl__cr_uint(r, &v) != 0 || v >= 1440)
            return -1;
        d->day_end_min = (uint32_t)v;
        return 0;
    case SL_K_DAY_PREV:
        if (sl__cr_array(r, &cnt) != 0 || cnt != 2)
            return -1;
        return sl__cr_tstr_copy(r, d->prev_date, sizeof d->prev_date) != 0 ||
               sl__cr_uint(r, &d->prev_seq) != 0 ? -1 : 0;
    case SL_K_DAY_FIRST:
        return sl__cr_uint(r, &d->first_seq);
    case SL_K_DAY_LAST:
        return sl__cr_uint(r, &d->last_seq);
    case SL_K_DAY_HASH: {
        const uint8_t *s;
        size_t sn;
        if (sl__cr_bstr(r, &s, &sn) != 0 || sn != 32)
            return -1;
        /* with no records the encoder writes zeros (key 25 comes first):
         * any other hash would be a second encoding of the same close,
         * with a different record hash (found by tests/fuzz/fuzz_codec.c) */
        if (d->last_seq == 0) {
            static const uint8_t zeros[32];
            return memcmp(s, zeros, 32) == 0 ? 0 : -1;
        }
        memcpy(d->last_hash, s, 32);
        return 0;
    }
    case SL_K_DAY_RECORDS:
        return sl__cr_uint(r, &d->records);
    case SL_K_DAY_UNTRUSTED:
        return sl__cr_uint(r, &d->clock_untrusted);
    case SL_K_DAY_TOTALS:
        if (sl__cr_array(r, &cnt) != 0 || cnt > SL_DAY_MAX_TOTALS)
            return -1;
        for (k = 0; k < cnt; k++) {
            sl_day_total *t = &d->totals[k];
            size_t five;
            if (sl__cr_array(r, &five) != 0 || five != 5 || sl__cr_uint(r, &v) != 0 ||
                v > 255 || sl__cr_tstr_copy(r, t->currency, sizeof t->currency) != 0 ||
                sl__cr_uint(r, &t->count) != 0 || sl__cr_int(r, &t->amount) != 0 ||
                sl__cr_int(r, &t->tax) != 0)
                return -1;
            t->kind = (uint8_t)v;
        }
        d->n_totals = cnt;
        return 0;
    case SL_K_DAY_METHODS:
        if (sl__cr_array(r, &cnt) != 0 || cnt > SL_DAY_MAX_METHODS)
            return -1;
        for (k = 0; k < cnt; k++) {
            sl_day_method *m = &d->methods[k];
            size_t five;
            if (sl__cr_array(r, &five) != 0 || five != 5 || sl__cr_uint(r, &v) != 0 ||
                v > 255 || sl__cr_tstr_copy(r, m->currency, sizeof m->currency) != 0 ||
                sl__cr_tstr_copy(r, m->method, sizeof m->method) != 0 ||
                sl__cr_uint(r, &m->count) != 0 || sl__cr_int(r, &m->amount) != 0)
                return -1;
            m->kind = (uint8_t)v;
        }
        d->n_methods = cnt;
        return 0;
    case SL_K_DAY_UNITS:
        if (sl__cr_array(r, &cnt) != 0 || cnt > SL_DAY_MAX_UNITS)
            return -1;
        for (k = 0; k < cnt; k++) {
            sl_day_units *u = &d->units[k];
            size_t three;
            if (sl__cr_array(r, &three) != 0 || three != 3 || sl__cr_uint(r, &v) != 0 ||
                v > 255 || sl__cr_uint(r, &u->count) != 0 || sl__cr_int(r, &u->qty_milli) != 0)
                return -1;
            u->reason = (uint8_t)v;
        }
        d->n_units = cnt;
        return 0;
    case SL_K_DAY_THROUGH:
        return sl__cr_uint(r, &d->through_seq);
    default:
        return -1;
    }
}

int sl__codec_decode(const uint8_t *buf, size_t len, int mode,
                     const char *wire_currency, sl_event *ev, uint64_t *seq,
                     uint8_t *prev)
{
    sl__cr r;
    size_t n, cnt;
    uint64_t key, prev_key = 0, v;
    uint64_t seen = 0;
    sl__cr_init(&r, buf, len);
    ev->kind = SL_KIND_NONE;
    ev->flags = 0;
    ev->txn_id[0] = ev->currency[0] = ev->original_txn_id[0] = '\0';
    ev->location[0] = '\0';
    ev->ts_ms = 0;
    ev->reason = SL_REASON_NONE;
    ev->n_lines = ev->n_tenders = 0;
    ev->target_seq = 0;
    ev->target_txn_id[0] = ev->note[0] = ev->operator_name[0] = '\0';
    memset(&ev->day, 0, sizeof ev->day);
    if (sl__cr_map(&r, &n) != 0 || n > 16 + DAY_KEYS)
        return SL_ERR_CORRUPT;
    for (size_t i = 0; i < n; i++) {
        if (sl__cr_uint(&r, &key) != 0 || key <= prev_key || key > 39)
            return SL_ERR_CORRUPT;
        prev_key = key;
        seen |= (uint64_t)1 << key;
        if (key >= SL_K_DAY_DATE && key <= SL_K_DAY_THROUGH) {
            if (ev->kind != SL_KIND_DAY_CLOSE || decode_day_key(&r, key, &ev->day) != 0)
                return SL_ERR_CORRUPT;
            continue;
        }
        switch (key) {
        case SL_K_KIND:
            if (sl__cr_uint(&r, &v) != 0 || v < SL_KIND_SALE || v > SL_KIND_DAY_CLOSE)
                return SL_ERR_CORRUPT;
            ev->kind = (sl_kind)v;
            break;
        case SL_K_SEQ:
            if (mode != SL_ENC_STORED || sl__cr_uint(&r, &v) != 0)
                return SL_ERR_CORRUPT;
            if (seq) *seq = v;
            break;
        case SL_K_TXN:
            if (sl__cr_tstr_copy(&r, ev->txn_id, sizeof ev->txn_id) != 0)
                return SL_ERR_CORRUPT;
            break;
        case SL_K_TS:
            if (mode == SL_ENC_CONTENT || sl__cr_int(&r, &ev->ts_ms) != 0)
                return SL_ERR_CORRUPT;
            break;
        case SL_K_PREV: {
            const uint8_t *s;
            size_t sn;
            if (mode != SL_ENC_STORED || sl__cr_bstr(&r, &s, &sn) != 0 || sn != 32)
                return SL_ERR_CORRUPT;
            if (prev) memcpy(prev, s, 32);
            break;
        }
        case SL_K_FLAGS:
            if (sl__cr_uint(&r, &v) != 0 || v == 0 || v > 0xffffffffu)
                return SL_ERR_CORRUPT;
            ev->flags = (uint32_t)v;
            break;
        case SL_K_CURRENCY:
            if (sl__cr_tstr_copy(&r, ev->currency, sizeof ev->currency) != 0 ||
                ev->currency[0] == '\0')
                return SL_ERR_CORRUPT;
            break;
        case SL_K_ORIG_TXN:
            if (sl__cr_tstr_copy(&r, ev->original_txn_id, sizeof ev->original_txn_id) != 0 ||
                ev->original_txn_id[0] == '\0')
                return SL_ERR_CORRUPT;
            break;
        case SL_K_REASON:
            if (sl__cr_uint(&r, &v) != 0 || v == 0 || v > SL_REASON_TRANSFER_OUT)
                return SL_ERR_CORRUPT;
            ev->reason = (sl_reason)v;
            break;
        case SL_K_LOCATION:
            if (sl__cr_tstr_copy(&r, ev->location, sizeof ev->location) != 0 ||
                ev->location[0] == '\0')
                return SL_ERR_CORRUPT;
            break;
        case SL_K_LINES:
            if (sl__cr_array(&r, &cnt) != 0 || cnt > SL_MAX_LINES)
                return SL_ERR_CORRUPT;
            for (size_t k = 0; k < cnt; k++)
                if (decode_line(&r, &ev->lines[k]) != 0)
                    return SL_ERR_CORRUPT;
            ev->n_lines = cnt;
            break;
        case SL_K_TENDERS:
            if (sl__cr_array(&r, &cnt) != 0 || cnt == 0 || cnt > SL_MAX_TENDERS)
                return SL_ERR_CORRUPT;
            for (size_t k = 0; k < cnt; k++) {
                size_t two;
                if (sl__cr_array(&r, &two) != 0 || two != 2 ||
                    sl__cr_tstr_copy(&r, ev->tenders[k].method,
                                     sizeof ev->tenders[k].method) != 0 ||
                    sl__cr_int(&r, &ev->tenders[k].amount) != 0)
                    return SL_ERR_CORRUPT;
            }
            ev->n_tenders = cnt;
            break;
        case SL_K_TARGET_SEQ:
            if (sl__cr_uint(&r, &ev->target_seq) != 0 || ev->target_seq == 0)
                return SL_ERR_CORRUPT;
            break;
        case SL_K_TARGET_TXN:
            if (sl__cr_tstr_copy(&r, ev->target_txn_id, sizeof ev->target_txn_id) != 0 ||
                ev->target_txn_id[0] == '\0')
                return SL_ERR_CORRUPT;
            break;
        case SL_K_NOTE:
            if (sl__cr_tstr_copy(&r, ev->note, sizeof ev->note) != 0 || ev->note[0] == '\0')
                return SL_ERR_CORRUPT;
            break;
        case SL_K_OPERATOR:
            if (sl__cr_tstr_copy(&r, ev->operator_name, sizeof ev->operator_name) != 0 ||
                ev->operator_name[0] == '\0')
                return SL_ERR_CORRUPT;
            break;
        default:
            return SL_ERR_CORRUPT;
        }
    }
    if (r.err || r.off != len)
        return SL_ERR_CORRUPT;
    uint64_t need = (1u << SL_K_KIND) | (1u << SL_K_TXN) | (1u << SL_K_LINES);
    if (mode == SL_ENC_STORED)
        need |= (1u << SL_K_SEQ) | (1u << SL_K_PREV) | (1u << SL_K_TS);
    if (mode == SL_ENC_WIRE)
        need |= 1u << SL_K_TS;
    if (ev->kind == SL_KIND_DAY_CLOSE)
        need |= (((uint64_t)1 << DAY_KEYS) - 1) << SL_K_DAY_DATE;
    if ((seen & need) != need)
        return SL_ERR_CORRUPT;
    /* the wire form leaves out a currency equal to the batch's: spelling it
     * out is a second encoding */
    if (mode == SL_ENC_WIRE && (seen & (1u << SL_K_CURRENCY)) && wire_currency != NULL &&
        strcmp(ev->currency, wire_currency) == 0)
        return SL_ERR_CORRUPT;
    if (mode == SL_ENC_WIRE && !(seen & (1u << SL_K_CURRENCY)) &&
        ev->kind != SL_KIND_ADJUSTMENT && ev->kind != SL_KIND_DLQ_DROP &&
        ev->kind != SL_KIND_DAY_CLOSE &&
        wire_currency != NULL) {
        if (strlen(wire_currency) >= sizeof ev->currency)
            return SL_ERR_CORRUPT;
        strcpy(ev->currency, wire_currency);
    }
    return SL_OK;
}
