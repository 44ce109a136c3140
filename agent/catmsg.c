/*
 * Catalog messages: build + sign for the hub, verify + strict parse for the
 * agent (format in catmsg.h, docs/PROTOCOL.md "Catalog").  Everything read
 * here comes from the network: every length is checked before it is used,
 * nothing recurses, and the payload is parsed only after its signature
 * verified.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catmsg.h"
#include "cborio.h"
#include "event.h"

/* payload keys */
enum { K_TYPE = 1, K_SCOPE, K_VERSION, K_KIND, K_BASE, K_ISSUED, K_EXPIRES, K_ITEMS, K_WM };

const char *sl__cat_type_name(int type)
{
    return type == SL_CAT_PRICES ? "prices" : type == SL_CAT_STOCK ? "stock" : "?";
}

int sl__cat_id_ok(const char *s, size_t n, int all_ok)
{
    if (n == 0 || n > SL_CAT_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    if (!all_ok && n == 3 && memcmp(s, SL_CAT_SCOPE_ALL, 3) == 0)
        return 0;
    return 1;
}

static int bad(char *why, size_t whysz, int rc, const char *fmt, const char *arg)
{
    if (why != NULL && whysz > 0)
        snprintf(why, whysz, fmt, arg ? arg : "");
    return rc;
}

static int currency_ok(const char *c)
{
    for (int i = 0; i < 3; i++)
        if (c[i] < 'A' || c[i] > 'Z')
            return 0;
    return c[3] == '\0';
}

/* Field rules shared by the builder and the parser. */
static int check_header(const sl__catmsg *m, char *why, size_t whysz)
{
    if (m->type != SL_CAT_PRICES && m->type != SL_CAT_STOCK)
        return bad(why, whysz, SL_ERR_INVALID, "unknown type", NULL);
    if (!sl__cat_id_ok(m->scope, strlen(m->scope), m->type == SL_CAT_PRICES))
        return bad(why, whysz, SL_ERR_INVALID, "scope is not a valid store id%s",
                   m->type == SL_CAT_STOCK ? " (\"all\" is for prices only)" : "");
    if (m->version == 0)
        return bad(why, whysz, SL_ERR_INVALID, "version must be at least 1", NULL);
    if (m->kind == SL_CAT_SNAPSHOT) {
        if (m->base != 0)
            return bad(why, whysz, SL_ERR_INVALID, "a snapshot has no base", NULL);
    } else if (m->kind == SL_CAT_DELTA) {
        if (m->version < 2 || m->base != m->version - 1)
            return bad(why, whysz, SL_ERR_INVALID, "a delta's base must be version - 1", NULL);
    } else {
        return bad(why, whysz, SL_ERR_INVALID, "unknown kind", NULL);
    }
    if (m->issued_at <= 0)
        return bad(why, whysz, SL_ERR_INVALID, "issued_at must be a positive Unix ms time", NULL);
    if (m->has_watermarks && m->type != SL_CAT_STOCK)
        return bad(why, whysz, SL_ERR_INVALID, "watermarks belong to stock updates only", NULL);
    if (m->n_items > SL_CAT_ITEMS_MAX)
        return bad(why, whysz, SL_ERR_TOO_LARGE, "too many items", NULL);
    if (m->n_watermarks > SL_CAT_WM_MAX)
        return bad(why, whysz, SL_ERR_TOO_LARGE, "too many watermarks", NULL);
    return SL_OK;
}

static int check_price(const sl__cat_price *p, char *why, size_t whysz)
{
    if (sl__check_sku(p->sku, "sku", NULL) != SL_OK)
        return bad(why, whysz, SL_ERR_INVALID, "price item: sku is not a valid SKU", NULL);
    if (p->price > (uint64_t)SL_MONEY_MAX)
        return bad(why, whysz, SL_ERR_INVALID, "price item %s: price out of range", p->sku);
    if (!currency_ok(p->currency))
        return bad(why, whysz, SL_ERR_INVALID,
                   "price item %s: currency must be 3 upper-case letters", p->sku);
    if (p->effective_from < 0)
        return bad(why, whysz, SL_ERR_INVALID, "price item %s: negative effective_from", p->sku);
    return SL_OK;
}

static int check_stock(const sl__cat_stock *s, char *why, size_t whysz)
{
    if (sl__check_sku(s->sku, "sku", NULL) != SL_OK)
        return bad(why, whysz, SL_ERR_INVALID, "stock item: sku is not a valid SKU", NULL);
    if (s->on_hand_milli > SL_CAT_ONHAND_MAX || s->on_hand_milli < -SL_CAT_ONHAND_MAX)
        return bad(why, whysz, SL_ERR_INVALID, "stock item %s: on_hand out of range", s->sku);
    return SL_OK;
}

/* Deterministic order of text-string map keys: the encoded bytes compare
 * bytewise, and the head grows with the length, so shorter sorts first. */
static int id_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    if (na != nb)
        return na < nb ? -1 : 1;
    return memcmp(a, b, na);
}

static int wm_cmp(const void *x, const void *y)
{
    const sl__cat_wm *a = *(const sl__cat_wm *const *)x, *b = *(const sl__cat_wm *const *)y;
    return id_cmp(a->device, strlen(a->device), b->device, strlen(b->device));
}

/* ---- build ------------------------------------------------------------ */

static int encode_payload(const sl__catmsg *m, const sl__cat_wm **wms, uint8_t *buf, size_t cap,
                          size_t *len)
{
    sl__cw w;
    sl__cw_init(&w, buf, cap);
    sl__cw_map(&w, 6u + (m->kind == SL_CAT_DELTA) + (size_t)(m->has_expires != 0) +
                       (size_t)(m->has_watermarks != 0));
    sl__cw_uint(&w, K_TYPE);
    sl__cw_uint(&w, (uint64_t)m->type);
    sl__cw_uint(&w, K_SCOPE);
    sl__cw_cstr(&w, m->scope);
    sl__cw_uint(&w, K_VERSION);
    sl__cw_uint(&w, m->version);
    sl__cw_uint(&w, K_KIND);
    sl__cw_uint(&w, (uint64_t)m->kind);
    if (m->kind == SL_CAT_DELTA) {
        sl__cw_uint(&w, K_BASE);
        sl__cw_uint(&w, m->base);
    }
    sl__cw_uint(&w, K_ISSUED);
    sl__cw_int(&w, m->issued_at);
    if (m->has_expires) {
        sl__cw_uint(&w, K_EXPIRES);
        sl__cw_int(&w, m->expires_at);
    }
    sl__cw_uint(&w, K_ITEMS);
    sl__cw_array(&w, m->n_items);
    for (size_t i = 0; i < m->n_items && !w.overflow; i++) {
        if (m->type == SL_CAT_PRICES) {
            const sl__cat_price *p = &m->prices[i];
            sl__cw_array(&w, 4);
            sl__cw_cstr(&w, p->sku);
            sl__cw_uint(&w, p->price);
            sl__cw_cstr(&w, p->currency);
            sl__cw_int(&w, p->effective_from);
        } else {
            const sl__cat_stock *s = &m->stock[i];
            sl__cw_array(&w, 2);
            sl__cw_cstr(&w, s->sku);
            sl__cw_int(&w, s->on_hand_milli);
        }
    }
    if (m->has_watermarks) {
        sl__cw_uint(&w, K_WM);
        sl__cw_map(&w, m->n_watermarks);
        for (size_t i = 0; i < m->n_watermarks; i++) {
            sl__cw_cstr(&w, wms[i]->device);
            sl__cw_uint(&w, wms[i]->seq);
        }
    }
    if (w.overflow)
        return SL_ERR_TOO_LARGE;
    *len = w.len;
    return SL_OK;
}

int sl__catmsg_build(const sl__catmsg *m, sl__key *key, uint8_t *out, size_t cap, size_t *len,
                     char *why, size_t whysz)
{
    int rc = check_header(m, why, whysz);
    if (rc != SL_OK)
        return rc;
    if (m->n_items > 0 && (m->type == SL_CAT_PRICES ? m->prices == NULL : m->stock == NULL))
        return bad(why, whysz, SL_ERR_INVALID, "items missing", NULL);
    if (m->n_watermarks > 0 && (!m->has_watermarks || m->watermarks == NULL))
        return bad(why, whysz, SL_ERR_INVALID, "watermarks missing", NULL);
    for (size_t i = 0; i < m->n_items; i++) {
        rc = m->type == SL_CAT_PRICES ? check_price(&m->prices[i], why, whysz)
                                      : check_stock(&m->stock[i], why, whysz);
        if (rc != SL_OK)
            return rc;
    }
    const sl__cat_wm **wms = NULL;
    uint8_t *payload = NULL;
    size_t plen = 0, pcap = cap < SL_CATMSG_MAX ? cap : SL_CATMSG_MAX;
    if (m->n_watermarks > 0) {
        wms = malloc(m->n_watermarks * sizeof *wms);
        if (wms == NULL)
            return SL_ERR_NOMEM;
        for (size_t i = 0; i < m->n_watermarks; i++) {
            const sl__cat_wm *wm = &m->watermarks[i];
            if (!sl__cat_id_ok(wm->device, strlen(wm->device), 0)) {
                rc = bad(why, whysz, SL_ERR_INVALID, "watermark device is not a valid id", NULL);
                goto out;
            }
            wms[i] = wm;
        }
        qsort(wms, m->n_watermarks, sizeof *wms, wm_cmp);
        for (size_t i = 1; i < m->n_watermarks; i++)
            if (wm_cmp(&wms[i - 1], &wms[i]) == 0) {
                rc = bad(why, whysz, SL_ERR_INVALID, "watermark for device %s given twice",
                         wms[i]->device);
                goto out;
            }
    }
    payload = malloc(pcap > 0 ? pcap : 1);
    if (payload == NULL) {
        rc = SL_ERR_NOMEM;
        goto out;
    }
    if ((rc = encode_payload(m, wms, payload, pcap, &plen)) != SL_OK) {
        bad(why, whysz, rc, "message does not fit", NULL);
        goto out;
    }
    uint8_t sig[SL_SIG_MAX];
    size_t siglen = 0;
    if ((rc = sl__key_sign(key, payload, plen, sig, sizeof sig, &siglen)) != SL_OK) {
        bad(why, whysz, rc, "signing failed", NULL);
        goto out;
    }
    sl__cw w;
    sl__cw_init(&w, out, cap);
    sl__cw_array(&w, 2);
    sl__cw_bstr(&w, payload, plen);
    sl__cw_bstr(&w, sig, siglen);
    if (w.overflow || w.len > SL_CATMSG_MAX) {
        rc = bad(why, whysz, SL_ERR_TOO_LARGE, "message does not fit", NULL);
        goto out;
    }
    *len = w.len;
    rc = SL_OK;
out:
    free(payload);
    free(wms);
    return rc;
}

/* ---- parse -------------------------------------------------------------- */

/* An array or map head whose count is checked as the 64-bit value on the
 * wire: size_t is 32 bits on armhf, where a count of 2^32 + 4 would
 * otherwise pass for 4. */
static int cr_count(sl__cr *r, enum sl__ct want, uint64_t max, size_t *n)
{
    if (sl__cr_next(r) != want || r->u > max) {
        r->err = 1;
        return -1;
    }
    *n = (size_t)r->u;
    return 0;
}


static int copy_tstr(sl__cr *r, char *dst, size_t dstsz)
{
    return sl__cr_tstr_copy(r, dst, dstsz);
}

static int parse_items(sl__cr *r, const sl__catmsg *m, const sl__catmsg_cbs *cbs, char *why,
                       size_t whysz)
{
    for (size_t i = 0; i < m->n_items; i++) {
        size_t n;
        int rc;
        if (m->type == SL_CAT_PRICES) {
            sl__cat_price p;
            const uint8_t *s;
            size_t slen;
            if (cr_count(r, SL_CT_ARRAY, 4, &n) != 0 || n != 4)
                return bad(why, whysz, SL_ERR_INVALID, "price item is not a 4-element array", NULL);
            if (copy_tstr(r, p.sku, sizeof p.sku) != 0)
                return bad(why, whysz, SL_ERR_INVALID, "price item: bad sku", NULL);
            if (sl__cr_uint(r, &p.price) != 0)
                return bad(why, whysz, SL_ERR_INVALID, "price item %s: bad price", p.sku);
            if (sl__cr_tstr(r, &s, &slen) != 0 || slen != 3)
                return bad(why, whysz, SL_ERR_INVALID, "price item %s: bad currency", p.sku);
            memcpy(p.currency, s, 3);
            p.currency[3] = '\0';
            if (sl__cr_int(r, &p.effective_from) != 0)
                return bad(why, whysz, SL_ERR_INVALID, "price item %s: bad effective_from", p.sku);
            if ((rc = check_price(&p, why, whysz)) != SL_OK)
                return rc;
            if (cbs && cbs->price && (rc = cbs->price(cbs->ctx, &p)) != 0)
                return rc;
        } else {
            sl__cat_stock st;
            if (cr_count(r, SL_CT_ARRAY, 2, &n) != 0 || n != 2)
                return bad(why, whysz, SL_ERR_INVALID, "stock item is not a 2-element array", NULL);
            if (copy_tstr(r, st.sku, sizeof st.sku) != 0)
                return bad(why, whysz, SL_ERR_INVALID, "stock item: bad sku", NULL);
            if (sl__cr_int(r, &st.on_hand_milli) != 0)
                return bad(why, whysz, SL_ERR_INVALID, "stock item %s: bad on_hand", st.sku);
            if ((rc = check_stock(&st, why, whysz)) != SL_OK)
                return rc;
            if (cbs && cbs->stock && (rc = cbs->stock(cbs->ctx, &st)) != 0)
                return rc;
        }
    }
    return SL_OK;
}

static int parse_watermarks(sl__cr *r, sl__catmsg *m, const sl__catmsg_cbs *cbs, char *why,
                            size_t whysz)
{
    size_t n;
    if (cr_count(r, SL_CT_MAP, SL_CAT_WM_MAX, &n) != 0)
        return bad(why, whysz, SL_ERR_INVALID, "watermarks is not a map of at most %s", "4096");
    m->n_watermarks = n;
    sl__cat_wm w, prev;
    for (size_t i = 0; i < n; i++) {
        if (copy_tstr(r, w.device, sizeof w.device) != 0 ||
            !sl__cat_id_ok(w.device, strlen(w.device), 0))
            return bad(why, whysz, SL_ERR_INVALID, "watermark device is not a valid id", NULL);
        if (i > 0 && id_cmp(prev.device, strlen(prev.device), w.device, strlen(w.device)) >= 0)
            return bad(why, whysz, SL_ERR_INVALID, "watermark devices out of order or repeated",
                       NULL);
        if (sl__cr_uint(r, &w.seq) != 0)
            return bad(why, whysz, SL_ERR_INVALID, "watermark of %s is not a sequence number",
                       w.device);
        int rc;
        if (cbs && cbs->watermark && (rc = cbs->watermark(cbs->ctx, &w)) != 0)
            return rc;
        prev = w;
    }
    return SL_OK;
}

int sl__catmsg_parse(const uint8_t *payload, size_t plen, sl__catmsg *m,
                     const sl__catmsg_cbs *cbs, char *why, size_t whysz)
{
    sl__cr r;
    size_t npairs;
    uint64_t u, last = 0;
    int rc, seen_items = 0;
    memset(m, 0, sizeof *m);
    if (plen > SL_CATMSG_MAX)
        return bad(why, whysz, SL_ERR_TOO_LARGE, "payload too large", NULL);
    sl__cr_init(&r, payload, plen);
    if (cr_count(&r, SL_CT_MAP, 9, &npairs) != 0 || npairs < 6)
        return bad(why, whysz, SL_ERR_INVALID, "payload is not a catalog map", NULL);
    for (size_t i = 0; i < npairs; i++) {
        if (sl__cr_uint(&r, &u) != 0)
            return bad(why, whysz, SL_ERR_INVALID, "payload key is not an unsigned integer", NULL);
        if (u <= last || u > K_WM)
            return bad(why, whysz, SL_ERR_INVALID, "payload key unknown, repeated or out of order",
                       NULL);
        last = u;
        switch (u) {
        case K_TYPE:
        case K_KIND: {
            uint64_t v;
            if (sl__cr_uint(&r, &v) != 0 || v < 1 || v > 2)
                return bad(why, whysz, SL_ERR_INVALID, u == K_TYPE ? "bad type" : "bad kind", NULL);
            if (u == K_TYPE)
                m->type = (int)v;
            else
                m->kind = (int)v;
            break;
        }
        case K_SCOPE:
            if (copy_tstr(&r, m->scope, sizeof m->scope) != 0)
                return bad(why, whysz, SL_ERR_INVALID, "bad scope", NULL);
            break;
        case K_VERSION:
            if (sl__cr_uint(&r, &m->version) != 0)
                return bad(why, whysz, SL_ERR_INVALID, "bad version", NULL);
            break;
        case K_BASE:
            if (sl__cr_uint(&r, &m->base) != 0)
                return bad(why, whysz, SL_ERR_INVALID, "bad base", NULL);
            /* a base of 0 would read like "absent" below: refuse it here */
            if (m->base == 0)
                return bad(why, whysz, SL_ERR_INVALID, "a delta's base must be version - 1", NULL);
            break;
        case K_ISSUED:
            if (sl__cr_int(&r, &m->issued_at) != 0)
                return bad(why, whysz, SL_ERR_INVALID, "bad issued_at", NULL);
            break;
        case K_EXPIRES:
            if (sl__cr_int(&r, &m->expires_at) != 0)
                return bad(why, whysz, SL_ERR_INVALID, "bad expires_at", NULL);
            m->has_expires = 1;
            break;
        case K_ITEMS:
            /* keys ascend, so the whole header (1-7) has been read by now:
             * check it before handing out any item */
            if (m->type == 0 || m->scope[0] == '\0' || m->version == 0 || m->kind == 0 ||
                m->issued_at == 0)
                return bad(why, whysz, SL_ERR_INVALID, "payload misses a required key", NULL);
            if (m->kind == SL_CAT_DELTA && m->base == 0)
                return bad(why, whysz, SL_ERR_INVALID, "a delta needs a base", NULL);
            if (cr_count(&r, SL_CT_ARRAY, SL_CAT_ITEMS_MAX, &m->n_items) != 0)
                return bad(why, whysz, SL_ERR_INVALID, "items is not an array of at most %s",
                           "1000000");
            if ((rc = check_header(m, why, whysz)) != SL_OK)
                return rc;
            if ((rc = parse_items(&r, m, cbs, why, whysz)) != SL_OK)
                return rc;
            seen_items = 1;
            break;
        case K_WM:
            m->has_watermarks = 1;
            if (m->type != SL_CAT_STOCK)
                return bad(why, whysz, SL_ERR_INVALID, "watermarks belong to stock updates only",
                           NULL);
            if ((rc = parse_watermarks(&r, m, cbs, why, whysz)) != SL_OK)
                return rc;
            break;
        }
    }
    if (!seen_items)
        return bad(why, whysz, SL_ERR_INVALID, "payload misses a required key", NULL);
    if (r.err || sl__cr_next(&r) != SL_CT_NONE)
        return bad(why, whysz, SL_ERR_INVALID, "bytes after the payload map", NULL);
    return SL_OK;
}

int sl__catmsg_open(const uint8_t *msg, size_t len, sl__pub *pub, sl__catmsg *m,
                    const uint8_t **payload, size_t *plen, char *why, size_t whysz)
{
    sl__cr r;
    size_t n;
    const uint8_t *p, *sig;
    size_t pl, sl;
    memset(m, 0, sizeof *m);
    if (len > SL_CATMSG_MAX)
        return bad(why, whysz, SL_ERR_TOO_LARGE, "message larger than the limit", NULL);
    sl__cr_init(&r, msg, len);
    if (cr_count(&r, SL_CT_ARRAY, 2, &n) != 0 || n != 2 || sl__cr_bstr(&r, &p, &pl) != 0)
        return bad(why, whysz, SL_ERR_CRYPTO, "not a signed catalog message", NULL);
    if (sl__cr_bstr(&r, &sig, &sl) != 0 || sl == 0 || sl > SL_SIG_MAX)
        return bad(why, whysz, SL_ERR_CRYPTO, "no valid signature", NULL);
    if (sl__cr_next(&r) != SL_CT_NONE)
        return bad(why, whysz, SL_ERR_INVALID, "bytes after the signed message", NULL);
    if (pub == NULL || sl__pub_verify(pub, p, pl, sig, sl) != SL_OK)
        return bad(why, whysz, SL_ERR_CRYPTO, "signature does not verify with the catalog key",
                   NULL);
    int rc = sl__catmsg_parse(p, pl, m, NULL, why, whysz);
    if (rc != SL_OK)
        return rc;
    *payload = p;
    *plen = pl;
    return SL_OK;
}

/* ---- catalog-request ------------------------------------------------------ */

int sl__catreq_encode(const sl__catreq *q, uint8_t *out, size_t cap, size_t *len)
{
    if ((q->type != SL_CAT_PRICES && q->type != SL_CAT_STOCK) ||
        !sl__cat_id_ok(q->scope, strlen(q->scope), q->type == SL_CAT_PRICES))
        return SL_ERR_INVALID;
    sl__cw w;
    sl__cw_init(&w, out, cap);
    sl__cw_map(&w, 3);
    sl__cw_uint(&w, 1);
    sl__cw_uint(&w, (uint64_t)q->type);
    sl__cw_uint(&w, 2);
    sl__cw_cstr(&w, q->scope);
    sl__cw_uint(&w, 3);
    sl__cw_uint(&w, q->have_version);
    if (w.overflow)
        return SL_ERR_TOO_LARGE;
    *len = w.len;
    return SL_OK;
}

int sl__catreq_decode(const uint8_t *p, size_t len, sl__catreq *q)
{
    sl__cr r;
    size_t n;
    uint64_t k1, k2, k3, type;
    memset(q, 0, sizeof *q);
    if (len > SL_CATREQ_MAX)
        return SL_ERR_INVALID;
    sl__cr_init(&r, p, len);
    if (cr_count(&r, SL_CT_MAP, 3, &n) != 0 || n != 3 || sl__cr_uint(&r, &k1) != 0 || k1 != 1 ||
        sl__cr_uint(&r, &type) != 0 || (type != SL_CAT_PRICES && type != SL_CAT_STOCK) ||
        sl__cr_uint(&r, &k2) != 0 || k2 != 2 ||
        sl__cr_tstr_copy(&r, q->scope, sizeof q->scope) != 0 ||
        sl__cr_uint(&r, &k3) != 0 || k3 != 3 || sl__cr_uint(&r, &q->have_version) != 0 ||
        sl__cr_next(&r) != SL_CT_NONE)
        return SL_ERR_INVALID;
    q->type = (int)type;
    if (!sl__cat_id_ok(q->scope, strlen(q->scope), q->type == SL_CAT_PRICES))
        return SL_ERR_INVALID;
    return SL_OK;
}

int sl__cat_topic(const char *prefix, const char *scope, int type, char *out, size_t outsz)
{
    if ((type != SL_CAT_PRICES && type != SL_CAT_STOCK) || prefix == NULL || prefix[0] == '\0' ||
        !sl__cat_id_ok(scope, strlen(scope), type == SL_CAT_PRICES))
        return SL_ERR_INVALID;
    int n = snprintf(out, outsz, "%s/%s/%s", prefix, scope, sl__cat_type_name(type));
    return n < 0 || (size_t)n >= outsz ? SL_ERR_TOO_LARGE : SL_OK;
}
