/* Deterministic CBOR helpers over libcbor's streaming API (see cborio.h). */
#include <cbor.h>
#include <string.h>

#include "cborio.h"

void sl__cw_init(sl__cw *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = 0;
}

/* libcbor's encoders return 0 when the item does not fit */
#define CW_PUT(w, call)                                                   \
    do {                                                                  \
        if (!(w)->overflow) {                                             \
            size_t n_ = (call);                                           \
            if (n_ == 0)                                                  \
                (w)->overflow = 1;                                        \
            else                                                          \
                (w)->len += n_;                                           \
        }                                                                 \
    } while (0)

void sl__cw_uint(sl__cw *w, uint64_t v)
{
    CW_PUT(w, cbor_encode_uint(v, w->buf + w->len, w->cap - w->len));
}

void sl__cw_int(sl__cw *w, int64_t v)
{
    if (v >= 0)
        CW_PUT(w, cbor_encode_uint((uint64_t)v, w->buf + w->len, w->cap - w->len));
    else
        CW_PUT(w, cbor_encode_negint((uint64_t)(-(v + 1)), w->buf + w->len,
                                     w->cap - w->len));
}

static void put_raw(sl__cw *w, const void *p, size_t n)
{
    if (w->overflow)
        return;
    if (w->cap - w->len < n) {
        w->overflow = 1;
        return;
    }
    if (n)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void sl__cw_tstr(sl__cw *w, const char *s, size_t n)
{
    CW_PUT(w, cbor_encode_string_start(n, w->buf + w->len, w->cap - w->len));
    put_raw(w, s, n);
}

void sl__cw_cstr(sl__cw *w, const char *s)
{
    sl__cw_tstr(w, s, strlen(s));
}

void sl__cw_bstr(sl__cw *w, const uint8_t *b, size_t n)
{
    CW_PUT(w, cbor_encode_bytestring_start(n, w->buf + w->len, w->cap - w->len));
    put_raw(w, b, n);
}

void sl__cw_array(sl__cw *w, size_t n)
{
    CW_PUT(w, cbor_encode_array_start(n, w->buf + w->len, w->cap - w->len));
}

void sl__cw_map(sl__cw *w, size_t n)
{
    CW_PUT(w, cbor_encode_map_start(n, w->buf + w->len, w->cap - w->len));
}

void sl__cw_bool(sl__cw *w, bool b)
{
    CW_PUT(w, cbor_encode_bool(b, w->buf + w->len, w->cap - w->len));
}

/* ---- reader ------------------------------------------------------- */

static sl__cr *CR(void *ctx) { return ctx; }

static void cb_u8(void *c, uint8_t v) { CR(c)->type = SL_CT_UINT; CR(c)->u = v; }
static void cb_u16(void *c, uint16_t v) { CR(c)->type = SL_CT_UINT; CR(c)->u = v; }
static void cb_u32(void *c, uint32_t v) { CR(c)->type = SL_CT_UINT; CR(c)->u = v; }
static void cb_u64(void *c, uint64_t v) { CR(c)->type = SL_CT_UINT; CR(c)->u = v; }
static void cb_n8(void *c, uint8_t v) { CR(c)->type = SL_CT_NEGINT; CR(c)->u = v; }
static void cb_n16(void *c, uint16_t v) { CR(c)->type = SL_CT_NEGINT; CR(c)->u = v; }
static void cb_n32(void *c, uint32_t v) { CR(c)->type = SL_CT_NEGINT; CR(c)->u = v; }
static void cb_n64(void *c, uint64_t v) { CR(c)->type = SL_CT_NEGINT; CR(c)->u = v; }
static void cb_bstr(void *c, cbor_data d, size_t n)
{
    CR(c)->type = SL_CT_BSTR; CR(c)->s = d; CR(c)->slen = n; CR(c)->u = n;
}
static void cb_tstr(void *c, cbor_data d, size_t n)
{
    CR(c)->type = SL_CT_TSTR; CR(c)->s = d; CR(c)->slen = n; CR(c)->u = n;
}
static void cb_array(void *c, size_t n) { CR(c)->type = SL_CT_ARRAY; CR(c)->u = n; }
static void cb_map(void *c, size_t n) { CR(c)->type = SL_CT_MAP; CR(c)->u = n; }
static void cb_bool(void *c, bool b) { CR(c)->type = SL_CT_BOOL; CR(c)->b = b; }
static void cb_bad(void *c) { CR(c)->type = SL_CT_BAD; }
static void cb_bad64(void *c, uint64_t v) { (void)v; CR(c)->type = SL_CT_BAD; }
static void cb_badf(void *c, float v) { (void)v; CR(c)->type = SL_CT_BAD; }
static void cb_badd(void *c, double v) { (void)v; CR(c)->type = SL_CT_BAD; }

/* libcbor 0.8 names the definite-string callbacks oddly ("byte_string" is
 * the definite one, "byte_string_start" the indefinite one). */
static const struct cbor_callbacks callbacks = {
    .uint8 = cb_u8, .uint16 = cb_u16, .uint32 = cb_u32, .uint64 = cb_u64,
    .negint8 = cb_n8, .negint16 = cb_n16, .negint32 = cb_n32, .negint64 = cb_n64,
    .byte_string_start = cb_bad, .byte_string = cb_bstr,
    .string = cb_tstr, .string_start = cb_bad,
    .indef_array_start = cb_bad, .array_start = cb_array,
    .indef_map_start = cb_bad, .map_start = cb_map,
    .tag = cb_bad64, .float2 = cb_badf, .float4 = cb_badf, .float8 = cb_badd,
    .undefined = cb_bad, .null = cb_bad, .boolean = cb_bool,
    .indef_break = cb_bad,
};

/* bytes of the shortest head for argument v */
static size_t head_size(uint64_t v)
{
    if (v < 24) return 1;
    if (v <= 0xff) return 2;
    if (v <= 0xffff) return 3;
    if (v <= 0xffffffffu) return 5;
    return 9;
}

void sl__cr_init(sl__cr *r, const uint8_t *p, size_t len)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->len = len;
}

enum sl__ct sl__cr_next(sl__cr *r)
{
    if (r->err)
        return SL_CT_BAD;
    if (r->off >= r->len) {
        r->type = SL_CT_NONE;
        return SL_CT_NONE;
    }
    r->type = SL_CT_BAD;
    struct cbor_decoder_result res =
        cbor_stream_decode(r->p + r->off, r->len - r->off, &callbacks, r);
    if (res.status != CBOR_DECODER_FINISHED || r->type == SL_CT_BAD) {
        r->err = 1;
        return r->type = SL_CT_BAD;
    }
    size_t head = res.read;
    if (r->type == SL_CT_BSTR || r->type == SL_CT_TSTR)
        head -= r->slen;
    if (r->type != SL_CT_BOOL && head != head_size(r->u)) {
        r->err = 1;   /* not the shortest encoding: not deterministic */
        return r->type = SL_CT_BAD;
    }
    r->off += res.read;
    return r->type;
}

#define CR_EXPECT(r, t)                                                   \
    do {                                                                  \
        if (sl__cr_next(r) != (t)) {                                      \
            (r)->err = 1;                                                 \
            return -1;                                                    \
        }                                                                 \
    } while (0)

int sl__cr_uint(sl__cr *r, uint64_t *v)
{
    CR_EXPECT(r, SL_CT_UINT);
    *v = r->u;
    return 0;
}

int sl__cr_int(sl__cr *r, int64_t *v)
{
    enum sl__ct t = sl__cr_next(r);
    if (t == SL_CT_UINT && r->u <= (uint64_t)INT64_MAX) {
        *v = (int64_t)r->u;
        return 0;
    }
    if (t == SL_CT_NEGINT && r->u <= (uint64_t)INT64_MAX) {
        *v = -1 - (int64_t)r->u;
        return 0;
    }
    r->err = 1;
    return -1;
}

int sl__cr_tstr(sl__cr *r, const uint8_t **s, size_t *n)
{
    CR_EXPECT(r, SL_CT_TSTR);
    *s = r->s;
    *n = r->slen;
    return 0;
}

int sl__cr_bstr(sl__cr *r, const uint8_t **s, size_t *n)
{
    CR_EXPECT(r, SL_CT_BSTR);
    *s = r->s;
    *n = r->slen;
    return 0;
}

int sl__cr_array(sl__cr *r, size_t *n)
{
    CR_EXPECT(r, SL_CT_ARRAY);
    *n = (size_t)r->u;
    return 0;
}

int sl__cr_map(sl__cr *r, size_t *n)
{
    CR_EXPECT(r, SL_CT_MAP);
    *n = (size_t)r->u;
    return 0;
}

int sl__cr_bool(sl__cr *r, bool *b)
{
    CR_EXPECT(r, SL_CT_BOOL);
    *b = r->b;
    return 0;
}

int sl__cr_skip(sl__cr *r)
{
    /* iterative: count the items still owed, so hostile nesting cannot
     * exhaust the stack */
    uint64_t owed = 1;
    while (owed > 0) {
        enum sl__ct t = sl__cr_next(r);
        owed--;
        if (t == SL_CT_BAD || t == SL_CT_NONE) {
            r->err = 1;
            return -1;
        }
        if (t == SL_CT_ARRAY || t == SL_CT_MAP) {
            uint64_t add = t == SL_CT_MAP ? r->u * 2 : r->u;
            if (add > r->len - r->off) {   /* each item takes >= 1 byte */
                r->err = 1;
                return -1;
            }
            owed += add;
        }
    }
    return 0;
}

int sl__cr_tstr_copy(sl__cr *r, char *dst, size_t dstsz)
{
    const uint8_t *s;
    size_t n;
    if (sl__cr_tstr(r, &s, &n) != 0)
        return -1;
    if (n >= dstsz || memchr(s, '\0', n) != NULL) {
        r->err = 1;
        return -1;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}
