/* Uplink batches: docs/PROTOCOL.md "Batch". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "batch.h"
#include "cborio.h"
#include "codec.h"
#include "hash.h"
#include "journal_internal.h"

enum { BK_VERSION = 1, BK_DEVICE = 2, BK_STORE = 3, BK_FIRST = 4, BK_LAST = 5,
       BK_PREV = 6, BK_CURRENCY = 7, BK_COMP = 8, BK_BODY = 9, BK_CERT = 10,
       BK_SENT_AT = 11, BK_RETRY = 12,
       BK_EPOCH = 13, BK_EPOCH_FROM = 14,
       BK_EPOCH_BASE = 15 };   /* docs/PROTOCOL.md "Journal epochs" */

struct build_ctx {
    const sl__batch_opts *o;
    uint8_t *recs;            /* concatenated wire records */
    size_t len, cap, limit;
    size_t n;
    uint64_t first, last;
    uint8_t prev[32];
    char currency[4];
    uint8_t tmp[SL_RECORD_MAX];
    int err;
};

static int add_record(const sl_record *rec, void *vctx)
{
    struct build_ctx *c = vctx;
    size_t wl;
    if (c->n == 0) {
        c->first = rec->seq;
        memcpy(c->prev, rec->prev_hash, 32);
    }
    if (c->n == 0 || c->currency[0] == '\0')
        memcpy(c->currency, rec->ev.currency, sizeof c->currency);
    if (c->n > 0 && rec->seq != c->last + 1)
        return 1;   /* a hole (pruned or being written): stop at it */
    int rc = sl__codec_encode(&rec->ev, SL_ENC_WIRE, 0, NULL, c->currency, c->tmp,
                              sizeof c->tmp, &wl);
    if (rc != SL_OK) {
        c->err = rc;
        return rc;
    }
    if (c->n > 0 && c->len + wl > c->limit)
        return 1;   /* full */
    if (c->len + wl > c->cap) {
        size_t ncap = (c->len + wl) * 2;
        uint8_t *p = realloc(c->recs, ncap);
        if (p == NULL) {
            c->err = SL_ERR_NOMEM;
            return SL_ERR_NOMEM;
        }
        c->recs = p;
        c->cap = ncap;
    }
    memcpy(c->recs + c->len, c->tmp, wl);
    c->len += wl;
    c->last = rec->seq;
    c->n++;
    return c->n >= c->o->max_records ? 1 : 0;
}

int sl__batch_build(sl_journal *j, uint64_t from_seq, const sl__batch_opts *o,
                    uint8_t **out, size_t *len, uint64_t *first, uint64_t *last,
                    size_t *raw_bytes)
{
    struct build_ctx *c = calloc(1, sizeof *c);
    uint8_t *body = NULL, *zbody = NULL, *env = NULL, *msg = NULL;
    int rc;
    if (c == NULL)
        return SL_ERR_NOMEM;
    c->o = o;
    /* room for the envelope around the body */
    size_t overhead = 256 + o->cert_len + SL_SIG_MAX;
    c->limit = o->max_bytes > overhead + 1024 ? o->max_bytes - overhead : 1024;
    rc = sl__journal_foreach_nohash(j, from_seq, 0, add_record, c);
    if (c->err) {
        rc = c->err;
        goto out;
    }
    if (rc != SL_OK && rc != 1)
        goto out;
    if (c->n == 0) {
        rc = SL_ERR_NOT_FOUND;
        goto out;
    }
    /* body: array header + records */
    size_t body_cap = c->len + 9;
    body = malloc(body_cap);
    if (body == NULL) {
        rc = SL_ERR_NOMEM;
        goto out;
    }
    sl__cw w;
    sl__cw_init(&w, body, body_cap);
    sl__cw_array(&w, c->n);
    memcpy(body + w.len, c->recs, c->len);
    size_t body_len = w.len + c->len;
    const uint8_t *send = body;
    size_t send_len = body_len;
    int comp = 0;
    if (o->compress) {
        size_t zcap = ZSTD_compressBound(body_len);
        zbody = malloc(zcap);
        if (zbody == NULL) {
            rc = SL_ERR_NOMEM;
            goto out;
        }
        size_t zl = ZSTD_compress(zbody, zcap, body, body_len, 3);
        if (!ZSTD_isError(zl) && zl < body_len) {
            send = zbody;
            send_len = zl;
            comp = 1;
        }
    }
    size_t env_cap = send_len + o->cert_len + 512;
    env = malloc(env_cap);
    if (env == NULL) {
        rc = SL_ERR_NOMEM;
        goto out;
    }
    int has_cur = c->currency[0] != '\0';
    /* a journal that replaced a damaged one tells the hub where its chain
     * starts, in every batch (signed with the rest) */
    sl__epoch ep;
    int has_epoch = sl__journal_epoch(j, &ep) == SL_OK && ep.epoch > 1;
    int has_base = has_epoch && ep.import_base < ep.from_seq;
    sl__cw_init(&w, env, env_cap);
    sl__cw_map(&w, 9 + (size_t)has_cur + (size_t)comp + (size_t)(o->retry != 0) +
                       2 * (size_t)has_epoch + (size_t)has_base);
    sl__cw_uint(&w, BK_VERSION); sl__cw_uint(&w, SL_BATCH_VERSION);
    sl__cw_uint(&w, BK_DEVICE); sl__cw_cstr(&w, o->device);
    sl__cw_uint(&w, BK_STORE); sl__cw_cstr(&w, o->store);
    sl__cw_uint(&w, BK_FIRST); sl__cw_uint(&w, c->first);
    sl__cw_uint(&w, BK_LAST); sl__cw_uint(&w, c->last);
    sl__cw_uint(&w, BK_PREV); sl__cw_bstr(&w, c->prev, 32);
    if (has_cur) {
        sl__cw_uint(&w, BK_CURRENCY);
        sl__cw_cstr(&w, c->currency);
    }
    if (comp) {
        sl__cw_uint(&w, BK_COMP);
        sl__cw_uint(&w, 1);
    }
    sl__cw_uint(&w, BK_BODY); sl__cw_bstr(&w, send, send_len);
    sl__cw_uint(&w, BK_CERT); sl__cw_bstr(&w, o->cert_der, o->cert_len);
    sl__cw_uint(&w, BK_SENT_AT); sl__cw_int(&w, o->now_ms);
    if (o->retry) {
        sl__cw_uint(&w, BK_RETRY);
        sl__cw_uint(&w, 1);
    }
    if (has_epoch) {
        sl__cw_uint(&w, BK_EPOCH); sl__cw_uint(&w, ep.epoch);
        sl__cw_uint(&w, BK_EPOCH_FROM); sl__cw_uint(&w, ep.from_seq);
    }
    if (has_base) {
        sl__cw_uint(&w, BK_EPOCH_BASE); sl__cw_uint(&w, ep.import_base);
    }
    if (w.overflow) {
        rc = SL_ERR_TOO_LARGE;
        goto out;
    }
    size_t env_len = w.len;
    uint8_t sig[SL_SIG_MAX];
    size_t siglen;
    if ((rc = sl__key_sign(o->key, env, env_len, sig, sizeof sig, &siglen)) != SL_OK)
        goto out;
    size_t msg_cap = env_len + siglen + 32;
    msg = malloc(msg_cap);
    if (msg == NULL) {
        rc = SL_ERR_NOMEM;
        goto out;
    }
    sl__cw_init(&w, msg, msg_cap);
    sl__cw_array(&w, 2);
    sl__cw_bstr(&w, env, env_len);
    sl__cw_bstr(&w, sig, siglen);
    if (w.overflow) {
        rc = SL_ERR_TOO_LARGE;
        goto out;
    }
    *out = msg;
    msg = NULL;
    *len = w.len;
    *first = c->first;
    *last = c->last;
    if (raw_bytes)
        *raw_bytes = body_len;
    rc = SL_OK;
out:
    free(msg);
    free(env);
    free(zbody);
    free(body);
    free(c->recs);
    free(c);
    return rc;
}

static int bad(char *why, size_t whysz, const char *msg)
{
    snprintf(why, whysz, "%s", msg);
    return SL_ERR_CORRUPT;
}

int sl__batch_parse(const uint8_t *msg, size_t len, sl__batch_in *b, char *why, size_t whysz)
{
    sl__cr r;
    size_t n, sl;
    const uint8_t *s;
    uint64_t key, prev_key = 0, v;
    memset(b, 0, sizeof *b);
    sl__cr_init(&r, msg, len);
    if (sl__cr_array(&r, &n) != 0 || n != 2 || sl__cr_bstr(&r, &b->env, &b->env_len) != 0 ||
        sl__cr_bstr(&r, &b->sig, &b->sig_len) != 0 || r.off != len)
        return bad(why, whysz, "not a batch message ([envelope, signature])");
    const uint8_t *body = NULL;
    size_t body_len = 0;
    unsigned seen = 0;
    sl__cr_init(&r, b->env, b->env_len);
    if (sl__cr_map(&r, &n) != 0 || n > 15)
        return bad(why, whysz, "envelope is not a map");
    for (size_t i = 0; i < n; i++) {
        if (sl__cr_uint(&r, &key) != 0 || key <= prev_key || key > BK_EPOCH_BASE)
            return bad(why, whysz, "envelope keys malformed or out of order");
        prev_key = key;
        seen |= 1u << key;
        int e = 0;
        switch (key) {
        case BK_VERSION:
            e = sl__cr_uint(&r, &v) != 0 || v != SL_BATCH_VERSION;
            break;
        case BK_DEVICE:
            e = sl__cr_tstr_copy(&r, b->device, sizeof b->device);
            break;
        case BK_STORE:
            e = sl__cr_tstr_copy(&r, b->store, sizeof b->store);
            break;
        case BK_FIRST:
            e = sl__cr_uint(&r, &b->first);
            break;
        case BK_LAST:
            e = sl__cr_uint(&r, &b->last);
            break;
        case BK_PREV:
            e = sl__cr_bstr(&r, &s, &sl) != 0 || sl != 32;
            if (!e) memcpy(b->prev, s, 32);
            break;
        case BK_CURRENCY:
            e = sl__cr_tstr_copy(&r, b->currency, sizeof b->currency);
            break;
        case BK_COMP:
            e = sl__cr_uint(&r, &v) != 0 || v != 1;
            b->compressed = 1;
            break;
        case BK_BODY:
            e = sl__cr_bstr(&r, &body, &body_len);
            break;
        case BK_CERT:
            e = sl__cr_bstr(&r, &b->cert, &b->cert_len);
            break;
        case BK_SENT_AT:
            e = sl__cr_int(&r, &b->sent_at);
            break;
        case BK_RETRY:
            e = sl__cr_uint(&r, &v) != 0 || v != 1;
            b->retry = 1;
            break;
        case BK_EPOCH:
            e = sl__cr_uint(&r, &v) != 0 || v < 2 || v > UINT32_MAX;
            b->epoch = (uint32_t)v;
            break;
        case BK_EPOCH_FROM:
            e = sl__cr_uint(&r, &b->epoch_from);
            break;
        case BK_EPOCH_BASE:
            e = sl__cr_uint(&r, &b->epoch_base);
            b->has_epoch_base = 1;
            break;
        }
        if (e)
            return bad(why, whysz, "envelope field malformed");
    }
    unsigned need = (1u << BK_VERSION) | (1u << BK_DEVICE) | (1u << BK_STORE) |
                    (1u << BK_FIRST) | (1u << BK_LAST) | (1u << BK_PREV) | (1u << BK_BODY) |
                    (1u << BK_CERT) | (1u << BK_SENT_AT);
    if ((seen & need) != need || r.off != b->env_len)
        return bad(why, whysz, "envelope incomplete");
    if (((seen >> BK_EPOCH) & 1) != ((seen >> BK_EPOCH_FROM) & 1))
        return bad(why, whysz, "envelope epoch without its from_seq");
    if (b->has_epoch_base && (!((seen >> BK_EPOCH) & 1) || b->epoch_base >= b->epoch_from))
        return bad(why, whysz, "envelope epoch import base invalid");
    if (b->first == 0 || b->last < b->first)
        return bad(why, whysz, "envelope sequence range invalid");
    if (b->compressed) {
        unsigned long long sz = ZSTD_getFrameContentSize(body, body_len);
        if (sz == ZSTD_CONTENTSIZE_ERROR || sz == ZSTD_CONTENTSIZE_UNKNOWN ||
            sz > SL_BATCH_BODY_MAX)
            return bad(why, whysz, "compressed body size unknown or too large");
        b->body = malloc(sz ? (size_t)sz : 1);
        if (b->body == NULL)
            return SL_ERR_NOMEM;
        size_t got = ZSTD_decompress(b->body, (size_t)sz, body, body_len);
        if (ZSTD_isError(got) || got != sz) {
            sl__batch_in_free(b);
            return bad(why, whysz, "body does not decompress");
        }
        b->body_len = got;
    } else {
        if (body_len > SL_BATCH_BODY_MAX)
            return bad(why, whysz, "body too large");
        b->body = malloc(body_len ? body_len : 1);
        if (b->body == NULL)
            return SL_ERR_NOMEM;
        memcpy(b->body, body, body_len);
        b->body_len = body_len;
    }
    return SL_OK;
}

int sl__batch_verify(const sl__batch_in *b, sl__ca *ca, char *why, size_t whysz)
{
    return sl__cert_check_sig(ca, b->cert, b->cert_len, b->device, b->env, b->env_len,
                              b->sig, b->sig_len, why, whysz);
}

void sl__batch_in_free(sl__batch_in *b)
{
    free(b->body);
    b->body = NULL;
}

int sl__batch_records(const sl__batch_in *b, sl__batch_rec_fn fn, void *ctx)
{
    sl__cr r;
    size_t n;
    sl_event *ev = malloc(sizeof *ev);
    uint8_t *stored = malloc(SL_RECORD_MAX);
    uint8_t prev[32], hash[32];
    int rc = SL_OK;
    if (ev == NULL || stored == NULL) {
        rc = SL_ERR_NOMEM;
        goto out;
    }
    sl__cr_init(&r, b->body, b->body_len);
    if (sl__cr_array(&r, &n) != 0 || n != b->last - b->first + 1) {
        rc = SL_ERR_CORRUPT;
        goto out;
    }
    memcpy(prev, b->prev, 32);
    for (size_t i = 0; i < n; i++) {
        size_t start = r.off;
        if (sl__cr_skip(&r) != 0) {
            rc = SL_ERR_CORRUPT;
            goto out;
        }
        size_t sl;
        if (sl__codec_decode(b->body + start, r.off - start, SL_ENC_WIRE,
                             b->currency[0] ? b->currency : NULL, ev, NULL, NULL) != SL_OK ||
            sl__codec_encode(ev, SL_ENC_STORED, b->first + i, prev, NULL, stored,
                             SL_RECORD_MAX, &sl) != SL_OK) {
            rc = SL_ERR_CORRUPT;
            goto out;
        }
        sl__sha256(stored, sl, hash);
        if ((rc = fn(b->first + i, ev, stored, sl, prev, hash, ctx)) != 0)
            goto out;
        memcpy(prev, hash, 32);
    }
    if (r.off != b->body_len)
        rc = SL_ERR_CORRUPT;
out:
    free(stored);
    free(ev);
    return rc;
}
