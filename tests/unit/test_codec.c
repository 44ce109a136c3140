/*
 * test_codec - the deterministic CBOR record codec (agent/codec.c over
 * agent/cborio.c).  docs/PROTOCOL.md "Record": integer keys in ascending
 * order, shortest-form heads, fields equal to their default left out, so one
 * event has exactly one encoding and a decoder accepts nothing else.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cborio.h"
#include "codec.h"
#include "storelink.h"

#define TS 1700000000000LL   /* 0x0000018bcfe56800: needs the 8-byte head */

/* memmem() is a GNU extension; the project builds with -std=c11 */
static const uint8_t *find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return hay + i;
    return NULL;
}

/* ---- event builders ------------------------------------------------- */

static sl_event *new_event(sl_kind kind, const char *txn)
{
    sl_event *ev = calloc(1, sizeof *ev);
    assert_non_null(ev);
    sl_event_init(ev, kind, txn);
    return ev;
}

static void add_line(sl_event *ev, const char *sku, int64_t qty, int64_t price,
                     int64_t discount, int64_t tax)
{
    assert_int_equal(sl_event_add_line(ev, sku, qty, price, discount, tax), SL_OK);
}

static void add_tender(sl_event *ev, const char *method, int64_t amount)
{
    assert_int_equal(sl_event_add_tender(ev, method, amount), SL_OK);
}

static sl_event *make_sale(void)
{
    sl_event *ev = new_event(SL_KIND_SALE, "POS1-000123");
    ev->ts_ms = TS;
    memcpy(ev->currency, "EUR", 4);
    add_line(ev, "5901234123457", 2000, 199, 0, 0);
    add_line(ev, "MILK-1L", 1000, 129, 10, 7);
    add_line(ev, "BAN-KG", 1234, 249, 0, 0);   /* weighed: 1.234 kg */
    add_tender(ev, "card", 500);
    add_tender(ev, "cash", 1000);
    return ev;
}

static sl_event *make_return(void)
{
    sl_event *ev = new_event(SL_KIND_RETURN, "POS1-000124");
    ev->ts_ms = TS + 60000;
    memcpy(ev->currency, "EUR", 4);
    snprintf(ev->original_txn_id, sizeof ev->original_txn_id, "POS1-000123");
    add_line(ev, "5901234123457", 1000, 199, 0, 0);
    ev->lines[0].disposition = SL_DISP_RESTOCK;
    add_line(ev, "MILK-1L", 1000, 129, 10, 7);
    ev->lines[1].disposition = SL_DISP_DAMAGED;
    add_tender(ev, "card", 325);
    return ev;
}

static sl_event *make_count(void)
{
    sl_event *ev = new_event(SL_KIND_ADJUSTMENT, "INV-2024-0007");
    ev->ts_ms = TS + 120000;
    ev->reason = SL_REASON_COUNT;
    snprintf(ev->location, sizeof ev->location, "Aisle 3 / shelf B");
    add_line(ev, "BAN-KG", 1234, 0, 0, 0);        /* weighed count 1.234 */
    ev->lines[0].has_expected = 1;
    ev->lines[0].expected_milli = 1500;
    add_line(ev, "MILK-1L", 0, 0, 0, 0);          /* counted none ... */
    ev->lines[1].has_expected = 1;
    ev->lines[1].expected_milli = -2000;          /* ... believed -2 */
    add_line(ev, "SOAP", 5000, 0, 0, 0);          /* count without expected */
    return ev;
}

static sl_event *make_damage(void)
{
    sl_event *ev = new_event(SL_KIND_ADJUSTMENT, "INV-2024-0008");
    ev->ts_ms = TS;
    ev->reason = SL_REASON_DAMAGE;
    add_line(ev, "EGGS-10", -2000, 0, 0, 0);
    return ev;
}

static sl_event *make_tax_included(void)
{
    sl_event *ev = new_event(SL_KIND_SALE, "POS2-9");
    ev->ts_ms = TS;
    ev->flags = SL_FLAG_TAX_INCLUDED | SL_FLAG_CLOCK_UNSYNC;
    memcpy(ev->currency, "SEK", 4);
    add_line(ev, "COFFEE", 3000, 333, 0, 50);
    add_tender(ev, "cash", 999);
    return ev;
}

/* ---- helpers -------------------------------------------------------- */

static void assert_same_event(const sl_event *a, const sl_event *b, int with_ts)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->flags, b->flags);
    assert_string_equal(a->txn_id, b->txn_id);
    if (with_ts)
        assert_int_equal(a->ts_ms, b->ts_ms);
    assert_string_equal(a->currency, b->currency);
    assert_string_equal(a->original_txn_id, b->original_txn_id);
    assert_int_equal(a->reason, b->reason);
    assert_string_equal(a->location, b->location);
    assert_int_equal(a->n_lines, b->n_lines);
    for (size_t i = 0; i < a->n_lines; i++) {
        const sl_line *x = &a->lines[i], *y = &b->lines[i];
        assert_string_equal(x->sku, y->sku);
        assert_int_equal(x->qty_milli, y->qty_milli);
        assert_int_equal(x->unit_price, y->unit_price);
        assert_int_equal(x->discount, y->discount);
        assert_int_equal(x->tax, y->tax);
        assert_int_equal(x->has_expected, y->has_expected);
        if (x->has_expected)
            assert_int_equal(x->expected_milli, y->expected_milli);
        assert_int_equal(x->disposition, y->disposition);
    }
    assert_int_equal(a->n_tenders, b->n_tenders);
    for (size_t i = 0; i < a->n_tenders; i++) {
        assert_string_equal(a->tenders[i].method, b->tenders[i].method);
        assert_int_equal(a->tenders[i].amount, b->tenders[i].amount);
    }
}

static const uint8_t PREV[32] = {
    0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 0xff,
};

/* encode -> decode -> re-encode in one mode; identical bytes and fields */
static void roundtrip(const sl_event *ev, int mode)
{
    uint8_t a[SL_RECORD_MAX], b[SL_RECORD_MAX], prev[32];
    size_t alen, blen;
    uint64_t seq = 0;
    sl_event *back = calloc(1, sizeof *back);
    assert_non_null(back);
    const char *wire = mode == SL_ENC_WIRE ? "EUR" : NULL;

    assert_int_equal(sl__codec_encode(ev, mode, 4242, PREV, wire, a, sizeof a, &alen), SL_OK);
    assert_true(alen > 0);
    memset(prev, 0, sizeof prev);
    assert_int_equal(sl__codec_decode(a, alen, mode, wire, back, &seq, prev), SL_OK);
    if (mode == SL_ENC_STORED) {
        assert_int_equal(seq, 4242);
        assert_memory_equal(prev, PREV, 32);
    }
    assert_same_event(ev, back, mode != SL_ENC_CONTENT);
    assert_int_equal(sl__codec_encode(back, mode, seq, prev, wire, b, sizeof b, &blen), SL_OK);
    assert_int_equal(blen, alen);
    assert_memory_equal(a, b, alen);
    free(back);
}

static void roundtrip_all_modes(sl_event *ev)
{
    roundtrip(ev, SL_ENC_STORED);
    roundtrip(ev, SL_ENC_CONTENT);
    roundtrip(ev, SL_ENC_WIRE);
    free(ev);
}

/* Walk a map with the strict reader: keys must be unsigned and ascending.
 * Returns the number of pairs; keys[] receives them. */
static size_t map_keys(sl__cr *r, uint64_t *keys, size_t max)
{
    size_t n;
    assert_int_equal(sl__cr_map(r, &n), 0);
    assert_true(n <= max);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(sl__cr_uint(r, &keys[i]), 0);
        if (i > 0)
            assert_true(keys[i] > keys[i - 1]);
        assert_int_equal(sl__cr_skip(r), 0);
    }
    return n;
}

static int has_key(const uint64_t *keys, size_t n, uint64_t k)
{
    for (size_t i = 0; i < n; i++)
        if (keys[i] == k)
            return 1;
    return 0;
}

static int decode_content(const uint8_t *buf, size_t len)
{
    sl_event *ev = calloc(1, sizeof *ev);
    assert_non_null(ev);
    int rc = sl__codec_decode(buf, len, SL_ENC_CONTENT, NULL, ev, NULL, NULL);
    free(ev);
    return rc;
}

/* ---- round trips ---------------------------------------------------- */

static void test_roundtrip_sale(void **state)
{
    (void)state;
    roundtrip_all_modes(make_sale());
}

static void test_roundtrip_return(void **state)
{
    (void)state;
    roundtrip_all_modes(make_return());
}

static void test_roundtrip_adjustment_count(void **state)
{
    (void)state;
    roundtrip_all_modes(make_count());
}

static void test_roundtrip_adjustment_damage(void **state)
{
    (void)state;
    roundtrip_all_modes(make_damage());
}

static void test_roundtrip_tax_included(void **state)
{
    (void)state;
    roundtrip_all_modes(make_tax_included());
}

/* The largest event the limits allow must fit SL_RECORD_MAX. */
static void test_roundtrip_max_event(void **state)
{
    (void)state;
    sl_event *ev = new_event(SL_KIND_RETURN, "");
    memset(ev->txn_id, 'T', SL_TXN_ID_MAX);
    ev->txn_id[SL_TXN_ID_MAX] = '\0';
    memcpy(ev->original_txn_id, ev->txn_id, sizeof ev->txn_id);
    ev->ts_ms = INT64_MAX;
    ev->flags = 0xffffffffu;
    memcpy(ev->currency, "EUR", 4);
    char sku[SL_SKU_MAX + 1];
    memset(sku, 'S', SL_SKU_MAX);
    sku[SL_SKU_MAX] = '\0';
    for (int i = 0; i < SL_MAX_LINES; i++) {
        add_line(ev, sku, SL_QTY_MAX, SL_MONEY_MAX, SL_MONEY_MAX, SL_MONEY_MAX);
        ev->lines[i].disposition = SL_DISP_DAMAGED;
    }
    for (int i = 0; i < SL_MAX_TENDERS; i++)
        add_tender(ev, "abcdefghijklmnop", INT64_MIN);
    roundtrip_all_modes(ev);
}

/* ---- exact bytes ---------------------------------------------------- */

static void test_exact_bytes_stored(void **state)
{
    (void)state;
    static const uint8_t want_head[] = {
        0xa8,                                  /* map of 8 */
        0x01, 0x01,                            /* kind: sale */
        0x02, 0x05,                            /* seq 5 */
        0x03, 0x62, 'T', '1',                  /* txn "T1" */
        0x04, 0x1b, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* ts */
        0x05, 0x58, 0x20,                      /* prev: bstr(32), zeros */
    };
    static const uint8_t want_tail[] = {
        0x07, 0x63, 'E', 'U', 'R',             /* currency */
        0x0b, 0x81,                            /* lines: [ */
        0xa3, 0x01, 0x61, 'A',                 /*  {1: "A", */
        0x02, 0x19, 0x07, 0xd0,                /*   2: 2000, */
        0x03, 0x18, 0x96,                      /*   3: 150} ] */
        0x0c, 0x81, 0x82,                      /* tenders: [[ */
        0x64, 'c', 'a', 's', 'h', 0x19, 0x01, 0x2c, /* "cash", 300]] */
    };
    sl_event *ev = new_event(SL_KIND_SALE, "T1");
    ev->ts_ms = TS;
    memcpy(ev->currency, "EUR", 4);
    add_line(ev, "A", 2000, 150, 0, 0);
    add_tender(ev, "cash", 300);
    uint8_t buf[256];
    size_t len;
    assert_int_equal(sl__codec_encode(ev, SL_ENC_STORED, 5, NULL, NULL, buf, sizeof buf, &len),
                     SL_OK);
    assert_int_equal(len, sizeof want_head + 32 + sizeof want_tail);
    assert_memory_equal(buf, want_head, sizeof want_head);
    static const uint8_t zeros[32];
    assert_memory_equal(buf + sizeof want_head, zeros, 32);
    assert_memory_equal(buf + sizeof want_head + 32, want_tail, sizeof want_tail);

    /* a buffer one byte short is reported, never overrun */
    assert_int_equal(sl__codec_encode(ev, SL_ENC_STORED, 5, NULL, NULL, buf, len - 1, &len),
                     SL_ERR_TOO_LARGE);
    free(ev);
}

/* The first byte is a definite map header whose count matches the fields
 * present, and keys ascend at every level. */
static void test_map_header_and_key_order(void **state)
{
    (void)state;
    struct { sl_event *ev; unsigned stored, content; } cases[] = {
        /* kind seq txn ts prev currency lines tenders */
        {make_sale(), 8, 5},
        /* + flags */
        {make_tax_included(), 9, 6},
        /* kind seq txn ts prev currency orig lines refunds */
        {make_return(), 9, 6},
        /* kind seq txn ts prev reason location lines */
        {make_count(), 8, 5},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint8_t buf[4096];
        size_t len;
        uint64_t keys[16];
        assert_int_equal(sl__codec_encode(cases[c].ev, SL_ENC_STORED, 1, PREV, NULL, buf,
                                          sizeof buf, &len), SL_OK);
        assert_int_equal(buf[0], 0xa0 | cases[c].stored);
        sl__cr r;
        sl__cr_init(&r, buf, len);
        assert_int_equal(map_keys(&r, keys, 16), cases[c].stored);
        assert_int_equal(r.off, len);

        assert_int_equal(sl__codec_encode(cases[c].ev, SL_ENC_CONTENT, 1, PREV, NULL, buf,
                                          sizeof buf, &len), SL_OK);
        assert_int_equal(buf[0], 0xa0 | cases[c].content);

        /* each line map: keys ascend, and the header counts the fields */
        assert_int_equal(sl__codec_encode(cases[c].ev, SL_ENC_STORED, 1, PREV, NULL, buf,
                                          sizeof buf, &len), SL_OK);
        sl__cr_init(&r, buf, len);
        size_t n, nl;
        uint64_t k, prev_k = 0;
        assert_int_equal(sl__cr_map(&r, &n), 0);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(sl__cr_uint(&r, &k), 0);
            assert_true(k > prev_k);
            prev_k = k;
            if (k != SL_K_LINES) {
                assert_int_equal(sl__cr_skip(&r), 0);
                continue;
            }
            assert_int_equal(sl__cr_array(&r, &nl), 0);
            assert_int_equal(nl, cases[c].ev->n_lines);
            for (size_t li = 0; li < nl; li++) {
                const sl_line *l = &cases[c].ev->lines[li];
                size_t nk = map_keys(&r, keys, 16);
                size_t want = 2 + (l->unit_price != 0) + (l->discount != 0) + (l->tax != 0) +
                              (l->disposition != 0) + (l->has_expected != 0);
                assert_int_equal(nk, want);
                assert_int_equal(keys[0], SL_KL_SKU);
                assert_int_equal(keys[1], SL_KL_QTY);
            }
        }
        assert_int_equal(r.err, 0);
        free(cases[c].ev);
    }
}

/* Every integer takes its shortest head (RFC 8949 4.2.1). */
static void test_shortest_integers(void **state)
{
    (void)state;
    static const struct {
        int64_t v;
        size_t n;
        uint8_t b[9];
    } cases[] = {
        {0, 1, {0x00}},
        {23, 1, {0x17}},
        {24, 2, {0x18, 0x18}},
        {255, 2, {0x18, 0xff}},
        {256, 3, {0x19, 0x01, 0x00}},
        {65535, 3, {0x19, 0xff, 0xff}},
        {65536, 5, {0x1a, 0x00, 0x01, 0x00, 0x00}},
        {4294967295LL, 5, {0x1a, 0xff, 0xff, 0xff, 0xff}},
        {4294967296LL, 9, {0x1b, 0, 0, 0, 1, 0, 0, 0, 0}},
        {-1, 1, {0x20}},
        {-24, 1, {0x37}},
        {-25, 2, {0x38, 0x18}},
        {-2000, 3, {0x39, 0x07, 0xcf}},
        {INT64_MIN, 9, {0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[16];
        sl__cw w;
        sl__cw_init(&w, buf, sizeof buf);
        sl__cw_int(&w, cases[i].v);
        assert_false(w.overflow);
        assert_int_equal(w.len, cases[i].n);
        assert_memory_equal(buf, cases[i].b, cases[i].n);
        /* and the reader gives the value back */
        sl__cr r;
        int64_t back;
        sl__cr_init(&r, buf, w.len);
        assert_int_equal(sl__cr_int(&r, &back), 0);
        assert_int_equal(back, cases[i].v);
    }

    /* in a record: a weighed qty of 1.234 is 0x19 0x04 0xd2, a damage
     * qty of -2 is 0x39 0x07 0xcf */
    sl_event *ev = make_count();
    uint8_t buf[1024];
    size_t len;
    static const uint8_t qty1234[] = {0x02, 0x19, 0x04, 0xd2, 0x07, 0x19, 0x05, 0xdc};
    assert_int_equal(sl__codec_encode(ev, SL_ENC_CONTENT, 0, NULL, NULL, buf, sizeof buf, &len),
                     SL_OK);
    assert_non_null(find(buf, len, qty1234, sizeof qty1234));
    free(ev);
    ev = make_damage();
    static const uint8_t neg[] = {0x02, 0x39, 0x07, 0xcf};
    assert_int_equal(sl__codec_encode(ev, SL_ENC_CONTENT, 0, NULL, NULL, buf, sizeof buf, &len),
                     SL_OK);
    assert_non_null(find(buf, len, neg, sizeof neg));
    free(ev);
}

/* ---- strict decoding ------------------------------------------------ */

/* content-mode record: {1: 1, 3: "T1", 7: "EUR", 11: [{1: "A", 2: 5, 3: 150}],
 * 12: [["cash", 750]]} */
static const uint8_t BASE[] = {
    0xa5,
    0x01, 0x01,
    0x03, 0x62, 'T', '1',
    0x07, 0x63, 'E', 'U', 'R',
    0x0b, 0x81, 0xa3, 0x01, 0x61, 'A', 0x02, 0x05, 0x03, 0x18, 0x96,
    0x0c, 0x81, 0x82, 0x64, 'c', 'a', 's', 'h', 0x19, 0x02, 0xee,
};

/* BASE with bytes [off, off+cut) replaced by ins */
static size_t patch(uint8_t *out, size_t off, size_t cut, const uint8_t *ins, size_t nins)
{
    memcpy(out, BASE, off);
    memcpy(out + off, ins, nins);
    memcpy(out + off + nins, BASE + off + cut, sizeof BASE - off - cut);
    return sizeof BASE - cut + nins;
}

static void test_base_is_canonical(void **state)
{
    (void)state;
    /* the hand-written bytes are what the encoder produces: the rejection
     * tests below differ from a valid record only by their mutation */
    sl_event *ev = new_event(SL_KIND_SALE, "T1");
    memcpy(ev->currency, "EUR", 4);
    add_line(ev, "A", 5, 150, 0, 0);
    add_tender(ev, "cash", 750);
    uint8_t buf[128];
    size_t len;
    assert_int_equal(sl__codec_encode(ev, SL_ENC_CONTENT, 0, NULL, NULL, buf, sizeof buf, &len),
                     SL_OK);
    assert_int_equal(len, sizeof BASE);
    assert_memory_equal(buf, BASE, sizeof BASE);
    assert_int_equal(decode_content(BASE, sizeof BASE), SL_OK);
    free(ev);
}

static void test_reject_non_shortest(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n;
    /* qty 5 as 0x18 0x05 */
    static const uint8_t q[] = {0x18, 0x05};
    n = patch(buf, 19, 1, q, sizeof q);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* qty 5 as 0x19 0x00 0x05 */
    static const uint8_t q2[] = {0x19, 0x00, 0x05};
    n = patch(buf, 19, 1, q2, sizeof q2);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* price 150 as 0x19 0x00 0x96 */
    static const uint8_t p[] = {0x19, 0x00, 0x96};
    n = patch(buf, 21, 2, p, sizeof p);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* key 1 as 0x18 0x01 */
    static const uint8_t k[] = {0x18, 0x01};
    n = patch(buf, 1, 1, k, sizeof k);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* map header 5 as 0xb8 0x05 */
    static const uint8_t m[] = {0xb8, 0x05};
    n = patch(buf, 0, 1, m, sizeof m);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* text length 2 as 0x78 0x02 */
    static const uint8_t t[] = {0x78, 0x02};
    n = patch(buf, 4, 1, t, sizeof t);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* array length 1 as 0x98 0x01 */
    static const uint8_t a[] = {0x98, 0x01};
    n = patch(buf, 13, 1, a, sizeof a);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
}

static void test_reject_indefinite(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n;
    /* indefinite-length map: 0xbf ... 0xff */
    static const uint8_t bf[] = {0xbf};
    n = patch(buf, 0, 1, bf, 1);
    buf[n++] = 0xff;
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* indefinite-length text: 0x7f 0x62 "T1" 0xff */
    static const uint8_t its[] = {0x7f, 0x62, 'T', '1', 0xff};
    n = patch(buf, 4, 3, its, sizeof its);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* indefinite-length array of lines */
    static const uint8_t ia[] = {0x9f, 0xa3, 0x01, 0x61, 'A', 0x02, 0x05, 0x03, 0x18, 0x96,
                                 0xff};
    n = patch(buf, 13, 10, ia, sizeof ia);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
}

static void test_reject_key_order(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n;
    /* kind and txn swapped: {3: "T1", 1: 1, ...} */
    static const uint8_t sw[] = {0x03, 0x62, 'T', '1', 0x01, 0x01};
    n = patch(buf, 1, 6, sw, sizeof sw);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* duplicate key: currency's key 7 turned into a second 3 */
    memcpy(buf, BASE, sizeof BASE);
    buf[7] = 0x03;
    assert_int_equal(decode_content(buf, sizeof BASE), SL_ERR_CORRUPT);
    /* line keys out of order: {1: "A", 3: 150, 2: 5} */
    static const uint8_t lk[] = {0x01, 0x61, 'A', 0x03, 0x18, 0x96, 0x02, 0x05};
    n = patch(buf, 15, 8, lk, sizeof lk);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* a negative integer as a key */
    memcpy(buf, BASE, sizeof BASE);
    buf[1] = 0x20;
    assert_int_equal(decode_content(buf, sizeof BASE), SL_ERR_CORRUPT);
}

static void test_reject_unknown_key(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n;
    /* top level: key 13 after tenders, map count 6 */
    memcpy(buf, BASE, sizeof BASE);
    buf[0] = 0xa6;
    buf[sizeof BASE] = 0x0d;
    buf[sizeof BASE + 1] = 0x00;
    assert_int_equal(decode_content(buf, sizeof BASE + 2), SL_ERR_CORRUPT);
    /* top level: key 0 first */
    static const uint8_t k0[] = {0xa6, 0x00, 0x00};
    n = patch(buf, 0, 1, k0, sizeof k0);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* line: key 8 after price, line map count 4 */
    static const uint8_t lk[] = {0xa4, 0x01, 0x61, 'A', 0x02, 0x05, 0x03, 0x18, 0x96, 0x08, 0x01};
    n = patch(buf, 14, 9, lk, sizeof lk);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* a seq, ts or prev key is unknown to the content form */
    static const uint8_t ts[] = {0xa6, 0x01, 0x01, 0x03, 0x62, 'T', '1', 0x04, 0x01};
    n = patch(buf, 0, 7, ts, sizeof ts);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
}

static void test_reject_trailing_bytes(void **state)
{
    (void)state;
    uint8_t buf[64];
    memcpy(buf, BASE, sizeof BASE);
    buf[sizeof BASE] = 0x00;
    assert_int_equal(decode_content(buf, sizeof BASE + 1), SL_ERR_CORRUPT);
    /* a second complete record is trailing bytes too */
    uint8_t two[2 * sizeof BASE];
    memcpy(two, BASE, sizeof BASE);
    memcpy(two + sizeof BASE, BASE, sizeof BASE);
    assert_int_equal(decode_content(two, sizeof two), SL_ERR_CORRUPT);
}

static void test_reject_truncated(void **state)
{
    (void)state;
    sl_event *evs[] = {make_sale(), make_return(), make_count(), make_tax_included()};
    sl_event *back = calloc(1, sizeof *back);
    assert_non_null(back);
    for (size_t e = 0; e < sizeof evs / sizeof evs[0]; e++) {
        for (int mode = SL_ENC_STORED; mode <= SL_ENC_WIRE; mode++) {
            uint8_t buf[4096];
            size_t len;
            assert_int_equal(sl__codec_encode(evs[e], mode, 77, PREV, NULL, buf, sizeof buf,
                                              &len), SL_OK);
            assert_int_equal(sl__codec_decode(buf, len, mode, NULL, back, NULL, NULL), SL_OK);
            /* every proper prefix, copied to an exact-size heap block so
             * ASan sees any read past the end */
            for (size_t cut = 0; cut < len; cut++) {
                uint8_t *p = malloc(cut ? cut : 1);
                assert_non_null(p);
                memcpy(p, buf, cut);
                assert_int_equal(sl__codec_decode(p, cut, mode, NULL, back, NULL, NULL),
                                 SL_ERR_CORRUPT);
                free(p);
            }
        }
        free(evs[e]);
    }
    free(back);
}

static void test_reject_float_tag_simple(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n;
    /* qty as half float 1.0 */
    static const uint8_t f16[] = {0xf9, 0x3c, 0x00};
    n = patch(buf, 19, 1, f16, sizeof f16);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* qty as single 5.0 */
    static const uint8_t f32[] = {0xfa, 0x40, 0xa0, 0x00, 0x00};
    n = patch(buf, 19, 1, f32, sizeof f32);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* price as double 150.0 */
    static const uint8_t f64[] = {0xfb, 0x40, 0x62, 0xc0, 0, 0, 0, 0, 0};
    n = patch(buf, 21, 2, f64, sizeof f64);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* tagged qty: 1(5) */
    static const uint8_t tag[] = {0xc1, 0x05};
    n = patch(buf, 19, 1, tag, sizeof tag);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* null, undefined and true where an integer belongs */
    static const uint8_t simple[] = {0xf6, 0xf7, 0xf5};
    for (size_t i = 0; i < sizeof simple; i++) {
        n = patch(buf, 19, 1, &simple[i], 1);
        assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    }
    /* a byte string where text belongs (txn) */
    memcpy(buf, BASE, sizeof BASE);
    buf[4] = 0x42;
    assert_int_equal(decode_content(buf, sizeof BASE), SL_ERR_CORRUPT);
}

/* A field equal to its default is omitted by the encoder, so a record that
 * spells it out is a second encoding of the same event. */
static void test_reject_explicit_defaults(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n;
    /* price 0 */
    n = patch(buf, 21, 2, (const uint8_t[]){0x00}, 1);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* flags 0: {.., 6: 0, 7: "EUR", ..} */
    static const uint8_t fl[] = {0x06, 0x00, 0x07};
    n = patch(buf, 7, 1, fl, sizeof fl);
    buf[0] = 0xa6;
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* currency "" */
    static const uint8_t cur[] = {0x07, 0x60};
    n = patch(buf, 7, 5, cur, sizeof cur);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* original_txn_id "" and location "" (map count 6) */
    static const uint8_t orig[] = {0x07, 0x63, 'E', 'U', 'R', 0x08, 0x60};
    n = patch(buf, 7, 5, orig, sizeof orig);
    buf[0] = 0xa6;
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    static const uint8_t loc[] = {0x07, 0x63, 'E', 'U', 'R', 0x0a, 0x60};
    n = patch(buf, 7, 5, loc, sizeof loc);
    buf[0] = 0xa6;
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* a tender list that is present but empty */
    static const uint8_t nt[] = {0x0c, 0x80};
    n = patch(buf, 23, 11, nt, sizeof nt);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
    /* a line without its mandatory qty: {1: "A", 3: 150} */
    static const uint8_t noqty[] = {0xa2, 0x01, 0x61, 'A', 0x03, 0x18, 0x96};
    n = patch(buf, 14, 9, noqty, sizeof noqty);
    assert_int_equal(decode_content(buf, n), SL_ERR_CORRUPT);
}

/* Whatever a one-byte corruption of a stored record turns into, the
 * decoder either rejects it or accepts exactly the canonical encoding of
 * what it decoded: no byte string other than the encoder's output decodes. */
static void test_single_byte_mutations_are_canonical_or_rejected(void **state)
{
    (void)state;
    sl_event *evs[] = {make_return(), make_count(), make_tax_included()};
    sl_event *back = calloc(1, sizeof *back);
    assert_non_null(back);
    for (size_t e = 0; e < sizeof evs / sizeof evs[0]; e++) {
        uint8_t orig[2048], mut[2048], re[2048], prev[32];
        size_t len, rlen;
        uint64_t seq;
        assert_int_equal(sl__codec_encode(evs[e], SL_ENC_STORED, 300, PREV, NULL, orig,
                                          sizeof orig, &len), SL_OK);
        for (size_t pos = 0; pos < len; pos++) {
            for (unsigned b = 0; b < 256; b++) {
                if (b == orig[pos])
                    continue;
                memcpy(mut, orig, len);
                mut[pos] = (uint8_t)b;
                if (sl__codec_decode(mut, len, SL_ENC_STORED, NULL, back, &seq, prev) != SL_OK)
                    continue;
                assert_int_equal(sl__codec_encode(back, SL_ENC_STORED, seq, prev, NULL, re,
                                                  sizeof re, &rlen), SL_OK);
                if (rlen != len || memcmp(re, mut, len) != 0)
                    fail_msg("event %zu: byte %zu = 0x%02x decodes to a different encoding",
                             e, pos, b);
            }
        }
        free(evs[e]);
    }
    free(back);
}

/* ---- modes ---------------------------------------------------------- */

static void test_wire_currency(void **state)
{
    (void)state;
    sl_event *ev = make_sale();          /* EUR */
    sl_event *back = calloc(1, sizeof *back);
    assert_non_null(back);
    uint8_t buf[1024];
    size_t len, n;
    uint64_t keys[16];
    static const uint8_t eur[] = {0x63, 'E', 'U', 'R'};

    /* batch currency EUR: key 7 left out, restored on decode */
    assert_int_equal(sl__codec_encode(ev, SL_ENC_WIRE, 0, NULL, "EUR", buf, sizeof buf, &len),
                     SL_OK);
    sl__cr r;
    sl__cr_init(&r, buf, len);
    n = map_keys(&r, keys, 16);
    assert_false(has_key(keys, n, SL_K_CURRENCY));
    assert_true(has_key(keys, n, SL_K_TS));
    assert_false(has_key(keys, n, SL_K_SEQ));
    assert_false(has_key(keys, n, SL_K_PREV));
    assert_null(find(buf, len, eur, sizeof eur));
    assert_int_equal(sl__codec_decode(buf, len, SL_ENC_WIRE, "EUR", back, NULL, NULL), SL_OK);
    assert_string_equal(back->currency, "EUR");
    assert_same_event(ev, back, 1);

    /* batch currency USD: an EUR sale keeps its currency */
    assert_int_equal(sl__codec_encode(ev, SL_ENC_WIRE, 0, NULL, "USD", buf, sizeof buf, &len),
                     SL_OK);
    sl__cr_init(&r, buf, len);
    n = map_keys(&r, keys, 16);
    assert_true(has_key(keys, n, SL_K_CURRENCY));
    assert_non_null(find(buf, len, eur, sizeof eur));
    assert_int_equal(sl__codec_decode(buf, len, SL_ENC_WIRE, "USD", back, NULL, NULL), SL_OK);
    assert_string_equal(back->currency, "EUR");

    /* an explicit currency equal to the batch's is a second encoding */
    assert_int_equal(sl__codec_decode(buf, len, SL_ENC_WIRE, "EUR", back, NULL, NULL),
                     SL_ERR_CORRUPT);

    /* an adjustment has no currency and gets none from the batch */
    free(ev);
    ev = make_count();
    assert_int_equal(sl__codec_encode(ev, SL_ENC_WIRE, 0, NULL, "EUR", buf, sizeof buf, &len),
                     SL_OK);
    assert_int_equal(sl__codec_decode(buf, len, SL_ENC_WIRE, "EUR", back, NULL, NULL), SL_OK);
    assert_string_equal(back->currency, "");

    /* the stored form never drops the currency */
    free(ev);
    ev = make_sale();
    assert_int_equal(sl__codec_encode(ev, SL_ENC_STORED, 1, NULL, "EUR", buf, sizeof buf, &len),
                     SL_OK);
    assert_non_null(find(buf, len, eur, sizeof eur));
    free(ev);
    free(back);
}

static void test_content_mode(void **state)
{
    (void)state;
    sl_event *a = make_sale(), *b = make_sale();
    uint8_t ba[1024], bb[1024];
    size_t la, lb, n;
    uint64_t keys[16];
    b->ts_ms = a->ts_ms + 5000;

    assert_int_equal(sl__codec_encode(a, SL_ENC_CONTENT, 17, PREV, NULL, ba, sizeof ba, &la),
                     SL_OK);
    sl__cr r;
    sl__cr_init(&r, ba, la);
    n = map_keys(&r, keys, 16);
    assert_false(has_key(keys, n, SL_K_SEQ));
    assert_false(has_key(keys, n, SL_K_TS));
    assert_false(has_key(keys, n, SL_K_PREV));
    assert_true(has_key(keys, n, SL_K_TXN));
    assert_null(find(ba, la, PREV, sizeof PREV));

    /* the idempotency key does not depend on ts, seq or prev */
    assert_int_equal(sl__codec_encode(b, SL_ENC_CONTENT, 18, NULL, NULL, bb, sizeof bb, &lb),
                     SL_OK);
    assert_int_equal(la, lb);
    assert_memory_equal(ba, bb, la);
    /* ... but does depend on the content */
    b->lines[1].discount++;
    assert_int_equal(sl__codec_encode(b, SL_ENC_CONTENT, 17, PREV, NULL, bb, sizeof bb, &lb),
                     SL_OK);
    assert_true(la != lb || memcmp(ba, bb, la) != 0);

    /* each form decodes only as itself */
    sl_event *back = calloc(1, sizeof *back);
    assert_non_null(back);
    assert_int_equal(sl__codec_decode(ba, la, SL_ENC_STORED, NULL, back, NULL, NULL),
                     SL_ERR_CORRUPT);
    assert_int_equal(sl__codec_decode(ba, la, SL_ENC_WIRE, NULL, back, NULL, NULL),
                     SL_ERR_CORRUPT);
    assert_int_equal(sl__codec_encode(a, SL_ENC_STORED, 17, PREV, NULL, bb, sizeof bb, &lb),
                     SL_OK);
    assert_int_equal(sl__codec_decode(bb, lb, SL_ENC_CONTENT, NULL, back, NULL, NULL),
                     SL_ERR_CORRUPT);
    assert_int_equal(sl__codec_decode(bb, lb, SL_ENC_WIRE, NULL, back, NULL, NULL),
                     SL_ERR_CORRUPT);
    assert_int_equal(sl__codec_encode(a, SL_ENC_WIRE, 17, PREV, NULL, bb, sizeof bb, &lb),
                     SL_OK);
    assert_int_equal(sl__codec_decode(bb, lb, SL_ENC_STORED, NULL, back, NULL, NULL),
                     SL_ERR_CORRUPT);
    assert_int_equal(sl__codec_decode(bb, lb, SL_ENC_CONTENT, NULL, back, NULL, NULL),
                     SL_ERR_CORRUPT);
    free(back);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_sale),
        cmocka_unit_test(test_roundtrip_return),
        cmocka_unit_test(test_roundtrip_adjustment_count),
        cmocka_unit_test(test_roundtrip_adjustment_damage),
        cmocka_unit_test(test_roundtrip_tax_included),
        cmocka_unit_test(test_roundtrip_max_event),
        cmocka_unit_test(test_exact_bytes_stored),
        cmocka_unit_test(test_map_header_and_key_order),
        cmocka_unit_test(test_shortest_integers),
        cmocka_unit_test(test_base_is_canonical),
        cmocka_unit_test(test_reject_non_shortest),
        cmocka_unit_test(test_reject_indefinite),
        cmocka_unit_test(test_reject_key_order),
        cmocka_unit_test(test_reject_unknown_key),
        cmocka_unit_test(test_reject_trailing_bytes),
        cmocka_unit_test(test_reject_truncated),
        cmocka_unit_test(test_reject_float_tag_simple),
        cmocka_unit_test(test_reject_explicit_defaults),
        cmocka_unit_test(test_single_byte_mutations_are_canonical_or_rejected),
        cmocka_unit_test(test_wire_currency),
        cmocka_unit_test(test_content_mode),
    };
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
