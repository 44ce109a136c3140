/* The barcode-scanner drivers without devices: key-event decoding
 * (drivers/framing.c), serial line framing, payload rules
 * (drivers/barcode.c), the mode state machine (drivers/scanmode.c) with a
 * stub journal and catalog and an injected clock, and the pipe reader fed
 * struct input_event bytes in pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/input-event-codes.h>

#include <cmocka.h>

#include "barcode.h"
#include "framing.h"
#include "platform.h"
#include "reader.h"
#include "scanmode.h"
#include "storelink.h"

/* ---- collecting emitted scans ---- */

struct got {
    int n;
    char code[8][SL_SCAN_MAX + 1];
    int err[8];
};

static void collect(void *ctx, const char *code, size_t len, int err)
{
    struct got *g = ctx;
    assert_true(g->n < 8);
    assert_int_equal(strlen(code), len);
    snprintf(g->code[g->n], sizeof g->code[0], "%s", code);
    g->err[g->n++] = err;
}

static void press(sl_kbd *k, uint16_t code, struct got *g)
{
    sl__kbd_feed(k, EV_MSC, 4 /* MSC_SCAN */, 0x70000 + code, collect, g);
    sl__kbd_feed(k, EV_KEY, code, 1, collect, g);
    sl__kbd_feed(k, EV_SYN, 0, 0, collect, g);
    sl__kbd_feed(k, EV_KEY, code, 0, collect, g);
    sl__kbd_feed(k, EV_SYN, 0, 0, collect, g);
}

static void type_digits(sl_kbd *k, const char *s, struct got *g)
{
    static const uint16_t dk[10] = {KEY_0, KEY_1, KEY_2, KEY_3, KEY_4,
                                    KEY_5, KEY_6, KEY_7, KEY_8, KEY_9};
    for (; *s; s++)
        press(k, dk[*s - '0'], g);
}

static void test_kbd_digits_enter(void **state)
{
    (void)state;
    sl_kbd k;
    struct got g = {0};
    sl__kbd_init(&k);
    type_digits(&k, "4006381333931", &g);
    assert_int_equal(g.n, 0);   /* nothing before the terminator */
    press(&k, KEY_ENTER, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.code[0], "4006381333931");
    assert_int_equal(g.err[0], SL_OK);
    /* Tab ends a scan too; keypad digits and keypad Enter */
    type_digits(&k, "123", &g);
    press(&k, KEY_TAB, &g);
    press(&k, KEY_KP9, &g);
    press(&k, KEY_KP0, &g);
    press(&k, KEY_KPENTER, &g);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.code[1], "123");
    assert_string_equal(g.code[2], "90");
    /* an empty scan (Enter alone) emits nothing */
    press(&k, KEY_ENTER, &g);
    assert_int_equal(g.n, 3);
}

static void test_kbd_shift(void **state)
{
    (void)state;
    sl_kbd k;
    struct got g = {0};
    sl__kbd_init(&k);
    /* "Ab-1!_Z" : left shift for A, right shift for ! _ Z */
    sl__kbd_feed(&k, EV_KEY, KEY_LEFTSHIFT, 1, collect, &g);
    press(&k, KEY_A, &g);
    sl__kbd_feed(&k, EV_KEY, KEY_LEFTSHIFT, 0, collect, &g);
    press(&k, KEY_B, &g);
    press(&k, KEY_MINUS, &g);
    press(&k, KEY_1, &g);
    sl__kbd_feed(&k, EV_KEY, KEY_RIGHTSHIFT, 1, collect, &g);
    sl__kbd_feed(&k, EV_KEY, KEY_RIGHTSHIFT, 2, collect, &g);   /* autorepeat holds it */
    press(&k, KEY_1, &g);
    press(&k, KEY_MINUS, &g);
    press(&k, KEY_Z, &g);
    sl__kbd_feed(&k, EV_KEY, KEY_RIGHTSHIFT, 0, collect, &g);
    press(&k, KEY_SLASH, &g);
    press(&k, KEY_DOT, &g);
    press(&k, KEY_SPACE, &g);
    press(&k, KEY_SEMICOLON, &g);
    press(&k, KEY_ENTER, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.code[0], "Ab-1!_Z/. ;");
    assert_int_equal(sl__kbd_char(KEY_2, 1), '@');
    assert_int_equal(sl__kbd_char(KEY_APOSTROPHE, 1), '"');
    assert_int_equal(sl__kbd_char(KEY_F1, 0), 0);
}

static void test_kbd_unknown_and_repeat(void **state)
{
    (void)state;
    sl_kbd k;
    struct got g = {0};
    sl__kbd_init(&k);
    /* an unknown key spoils the whole scan instead of vanishing from it */
    type_digits(&k, "400638", &g);
    press(&k, KEY_F1, &g);
    type_digits(&k, "1333931", &g);
    press(&k, KEY_ENTER, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.code[0], "");
    assert_int_equal(g.err[0], SL_ERR_INVALID);
    /* the next scan is clean again; an autorepeat types nothing; modifiers
     * and Caps Lock do not spoil a scan */
    sl__kbd_feed(&k, EV_KEY, KEY_7, 1, collect, &g);
    sl__kbd_feed(&k, EV_KEY, KEY_7, 2, collect, &g);
    sl__kbd_feed(&k, EV_KEY, KEY_7, 2, collect, &g);
    sl__kbd_feed(&k, EV_KEY, KEY_7, 0, collect, &g);
    press(&k, KEY_CAPSLOCK, &g);
    press(&k, KEY_LEFTCTRL, &g);
    press(&k, KEY_8, &g);
    press(&k, KEY_ENTER, &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.code[1], "78");
    assert_int_equal(g.err[1], SL_OK);
    /* overlong: reported once, then a normal scan */
    for (int i = 0; i < SL_SCAN_MAX + 5; i++)
        press(&k, KEY_5, &g);
    press(&k, KEY_ENTER, &g);
    type_digits(&k, "12", &g);
    press(&k, KEY_ENTER, &g);
    assert_int_equal(g.n, 4);
    assert_int_equal(g.err[2], SL_ERR_TOO_LARGE);
    assert_string_equal(g.code[3], "12");
    /* events lost in the kernel (SYN_DROPPED): that scan is dropped, shift
     * is released, the next scan is clean */
    sl__kbd_feed(&k, EV_KEY, KEY_LEFTSHIFT, 1, collect, &g);
    type_digits(&k, "40063", &g);
    sl__kbd_feed(&k, EV_SYN, SYN_DROPPED, 0, collect, &g);
    type_digits(&k, "931", &g);
    press(&k, KEY_ENTER, &g);
    press(&k, KEY_A, &g);
    press(&k, KEY_ENTER, &g);
    assert_int_equal(g.n, 6);
    assert_int_equal(g.err[4], SL_ERR_INVALID);
    assert_string_equal(g.code[5], "a");
    g.n = 4;
    /* exactly SL_SCAN_MAX characters is fine */
    for (int i = 0; i < SL_SCAN_MAX; i++)
        press(&k, KEY_5, &g);
    press(&k, KEY_ENTER, &g);
    assert_int_equal(g.n, 5);
    assert_int_equal(g.err[4], SL_OK);
    assert_int_equal(strlen(g.code[4]), SL_SCAN_MAX);
}

static void test_line_framing(void **state)
{
    (void)state;
    sl_linebuf lb;
    struct got g = {0};
    sl__line_init(&lb);
    /* split reads; CRLF gives one scan */
    sl__line_feed(&lb, "40063", 5, collect, &g);
    assert_int_equal(g.n, 0);
    sl__line_feed(&lb, "81333931\r", 9, collect, &g);
    assert_int_equal(g.n, 1);
    sl__line_feed(&lb, "\nABC", 4, collect, &g);
    assert_int_equal(g.n, 1);   /* partial line held */
    sl__line_feed(&lb, "\n\n\r\rX1\r", 7, collect, &g);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.code[0], "4006381333931");
    assert_string_equal(g.code[1], "ABC");
    assert_string_equal(g.code[2], "X1");
    /* overlong: dropped whole, once, across reads; the next line is fine */
    char big[SL_SCAN_MAX + 10];
    memset(big, '7', sizeof big);
    sl__line_feed(&lb, big, 100, collect, &g);
    sl__line_feed(&lb, big, sizeof big - 100, collect, &g);
    assert_int_equal(g.n, 3);
    sl__line_feed(&lb, "\r\nOK\n", 5, collect, &g);
    assert_int_equal(g.n, 5);
    assert_int_equal(g.err[3], SL_ERR_TOO_LARGE);
    assert_string_equal(g.code[4], "OK");
    /* a NUL byte spoils the line */
    sl__line_feed(&lb, "AB\0C\n", 5, collect, &g);
    assert_int_equal(g.n, 6);
    assert_int_equal(g.err[5], SL_ERR_INVALID);
}

/* ---- payloads ---- */

static int parse(const char *code, sl_barcode *b, sl_problem *p)
{
    memset(p, 0, sizeof *p);
    return sl__barcode_parse(code, strlen(code), b, p);
}

static void test_barcode_gtins(void **state)
{
    (void)state;
    sl_barcode b;
    sl_problem p;
    assert_int_equal(parse("4006381333931", &b, &p), SL_OK);           /* EAN-13 */
    assert_string_equal(b.sku, "4006381333931");
    assert_int_equal(parse("96385074", &b, &p), SL_OK);                /* EAN-8 */
    assert_int_equal(parse("036000291452", &b, &p), SL_OK);            /* UPC-A */
    assert_int_equal(parse("04006381333931", &b, &p), SL_OK);          /* GTIN-14, indicator 0 */
    assert_string_equal(b.sku, "4006381333931");
    assert_int_equal(parse("14006381333938", &b, &p), SL_OK);          /* indicator 1: a case */
    assert_string_equal(b.sku, "14006381333938");
    /* also Luhn-valid: a product code, not a card number */
    assert_int_equal(parse("5901234123457", &b, &p), SL_OK);
    const char *bad[] = {"4006381333932", "96385075", "036000291453", "04006381333930"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(bad[i], &b, &p), SL_ERR_INVALID);
        assert_string_equal(p.field, "barcode");
        assert_non_null(strstr(p.reason, "check digit"));
        assert_null(strstr(p.reason, bad[i]));
    }
    /* other lengths of digits are plain SKUs; so are letters */
    assert_int_equal(parse("1234567", &b, &p), SL_OK);
    assert_int_equal(parse("SHELF-A12", &b, &p), SL_OK);
    /* a symbology identifier of a non-GS1 code is dropped */
    assert_int_equal(parse("]E04006381333931", &b, &p), SL_OK);
    assert_string_equal(b.sku, "4006381333931");
    assert_int_equal(parse("]E04006381333932", &b, &p), SL_ERR_INVALID);
}

static void test_barcode_rules(void **state)
{
    (void)state;
    sl_barcode b;
    sl_problem p;
    /* a card number is refused by the SKU rules and never echoed */
    assert_int_equal(parse("4111111111111111", &b, &p), SL_ERR_INVALID);
    assert_string_equal(p.field, "sku");
    assert_non_null(strstr(p.reason, "card"));
    assert_null(strstr(p.reason, "4111"));
    assert_int_equal(parse("AB\x01" "C", &b, &p), SL_ERR_INVALID);
    assert_non_null(strstr(p.reason, "control"));
    char longer[80];
    memset(longer, 'A', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(parse(longer, &b, &p), SL_ERR_INVALID);
    assert_string_equal(p.field, "sku");
}

static void test_barcode_gs1(void **state)
{
    (void)state;
    sl_barcode b;
    sl_problem p;
    /* GS1-128 with symbology identifier: (01) (10) GS (17) */
    assert_int_equal(parse("]C10104006381333931" "10LOT42\x1d" "17271231", &b, &p), SL_OK);
    assert_string_equal(b.sku, "4006381333931");
    assert_string_equal(b.batch, "LOT42");
    assert_string_equal(b.expiry, "271231");
    assert_int_equal(b.gs1, 1);
    /* fixed-length fields need no separator; the human-readable form */
    assert_int_equal(parse("]C1010400638133393117280100", &b, &p), SL_OK);
    assert_string_equal(b.expiry, "280100");
    assert_int_equal(parse("(01)04006381333931(17)271231(10)AB-1", &b, &p), SL_OK);
    assert_string_equal(b.batch, "AB-1");
    /* without identifier but with a GS separator */
    assert_int_equal(parse("0104006381333931" "10X\x1d" "21SER", &b, &p), SL_OK);
    /* failures: bad GTIN check digit, bad date, unsupported AI, no GTIN */
    assert_int_equal(parse("]C10104006381333932", &b, &p), SL_ERR_INVALID);
    assert_non_null(strstr(p.reason, "check digit"));
    assert_int_equal(parse("]C1010400638133393117271340", &b, &p), SL_ERR_INVALID);
    assert_non_null(strstr(p.reason, "date"));
    assert_int_equal(parse("]C100340123450000000000", &b, &p), SL_ERR_INVALID);
    assert_non_null(strstr(p.reason, "not supported"));
    assert_int_equal(parse("]C110LOT", &b, &p), SL_ERR_INVALID);
    assert_non_null(strstr(p.reason, "without a GTIN"));
    assert_int_equal(parse("]C1010400638133", &b, &p), SL_ERR_INVALID);
    assert_int_equal(parse("(01)0400638133393", &b, &p), SL_ERR_INVALID);
}

static void test_barcode_qty(void **state)
{
    (void)state;
    int64_t q = 0;
    assert_int_equal(sl__barcode_qty("QTY12", "QTY", &q), 1);
    assert_int_equal(q, 12000);
    assert_int_equal(sl__barcode_qty("QTY1000000", "QTY", &q), 1);
    assert_int_equal(sl__barcode_qty("QTY0", "QTY", &q), -1);
    assert_int_equal(sl__barcode_qty("QTY", "QTY", &q), -1);
    assert_int_equal(sl__barcode_qty("QTY1x", "QTY", &q), -1);
    assert_int_equal(sl__barcode_qty("QTY1000001", "QTY", &q), -1);
    assert_int_equal(sl__barcode_qty("4006381333931", "QTY", &q), 0);
    assert_int_equal(sl__barcode_qty("QTY12", "", &q), 0);
}

/* ---- the state machine with a stub journal and catalog ---- */

struct stub {
    int n;                     /* events recorded */
    sl_event ev[8];
    int fail_with;             /* next record returns this (once) */
    int n_answers;
    char answer[4][300];
    char reports[4096];
};

static int stub_record(void *ctx, const sl_event *ev, uint64_t *seq, sl_status *st, sl_problem *p)
{
    struct stub *s = ctx;
    if (s->fail_with) {
        int rc = s->fail_with;
        s->fail_with = 0;
        return rc;
    }
    int rc = sl_event_validate(ev, p);
    if (rc != SL_OK)
        return rc;
    for (int i = 0; i < s->n; i++)
        assert_string_not_equal(s->ev[i].txn_id, ev->txn_id);
    assert_true(s->n < 8);
    s->ev[s->n++] = *ev;
    *seq = (uint64_t)s->n;
    *st = SL_STATUS_RECORDED;
    return SL_OK;
}

static int stub_price(void *ctx, const char *sku, sl_price *out)
{
    (void)ctx;
    if (strcmp(sku, "4006381333931") != 0)
        return SL_ERR_NOT_FOUND;
    memset(out, 0, sizeof *out);
    out->price = 199;
    memcpy(out->currency, "EUR", 4);
    out->version = 3;
    return SL_OK;
}

static int stub_stock(void *ctx, const char *sku, sl_stock *out)
{
    (void)ctx;
    if (strcmp(sku, "4006381333931") != 0)
        return SL_ERR_NOT_FOUND;
    memset(out, 0, sizeof *out);
    out->on_hand_milli = 10000;
    out->version = 2;
    return SL_OK;
}

static void stub_answer(void *ctx, const char *line)
{
    struct stub *s = ctx;
    assert_true(s->n_answers < 4);
    snprintf(s->answer[s->n_answers++], sizeof s->answer[0], "%s", line);
}

static void stub_report(void *ctx, int prio, const char *line)
{
    struct stub *s = ctx;
    (void)prio;
    size_t n = strlen(s->reports);
    snprintf(s->reports + n, sizeof s->reports - n, "%s\n", line);
}

static sl_scanmode *machine(struct stub *s, sl_scan_mode mode, const char *end_code,
                            uint64_t idle_ms)
{
    sl_scanner_conf c;
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "dock1");
    c.mode = mode;
    snprintf(c.location, sizeof c.location, "dock 1");
    snprintf(c.qty_prefix, sizeof c.qty_prefix, "QTY");
    snprintf(c.end_code, sizeof c.end_code, "%s", end_code);
    c.count_idle_ms = idle_ms;
    sl_scan_sink sink = {s, stub_record, stub_price, stub_stock, stub_answer, stub_report};
    sl_scanmode *m = NULL;
    assert_int_equal(sl__scanmode_new(&m, &c, &sink, 1795438610071LL, 36 * 36 * 36 + 37), SL_OK);
    return m;
}

static void scan(sl_scanmode *m, const char *code, uint64_t now)
{
    assert_int_equal(sl__scanmode_scan(m, code, strlen(code), SL_OK, now), SL_OK);
}

static void test_mode_receive_damage(void **state)
{
    (void)state;
    struct stub *s = calloc(1, sizeof *s);
    sl_scanmode *m = machine(s, SL_SCAN_RECEIVE, "", 0);
    scan(m, "4006381333931", 1000);
    scan(m, "QTY12", 2000);
    scan(m, "5901234123457", 3000);
    scan(m, "4006381333932", 4000);                    /* bad check digit */
    scan(m, "4111111111111111", 5000);                 /* a card number */
    assert_int_equal(sl__scanmode_scan(m, "", 0, SL_ERR_INVALID, 6000), SL_OK);
    assert_int_equal(s->n, 2);
    assert_int_equal(s->ev[0].kind, SL_KIND_ADJUSTMENT);
    assert_int_equal(s->ev[0].reason, SL_REASON_RECEIVE);
    assert_string_equal(s->ev[0].location, "dock 1");
    assert_string_equal(s->ev[0].lines[0].sku, "4006381333931");
    assert_int_equal(s->ev[0].lines[0].qty_milli, 1000);
    assert_int_equal(s->ev[1].lines[0].qty_milli, 12000);
    /* scan-<name>-<start ms base 36><salt mod 36^3, 3 digits>-<n> */
    assert_string_equal(s->ev[0].txn_id, "scan-dock1-mwt9shw7011-1");
    assert_string_equal(s->ev[1].txn_id, "scan-dock1-mwt9shw7011-2");
    sl_scan_stats st;
    sl__scanmode_stats(m, &st);
    assert_int_equal(st.scans, 6);
    assert_int_equal(st.recorded, 2);
    assert_int_equal(st.rejected, 3);
    assert_int_equal(st.bad_check, 1);
    /* nothing rejected is echoed */
    assert_null(strstr(s->reports, "4111"));
    assert_null(strstr(s->reports, "4006381333932"));
    assert_non_null(strstr(s->reports, "bad GS1 check digit"));
    sl__scanmode_free(m);

    memset(s, 0, sizeof *s);
    m = machine(s, SL_SCAN_DAMAGE, "", 0);
    scan(m, "4006381333931", 1000);
    scan(m, "QTY3", 2000);
    scan(m, "96385074", 3000);
    assert_int_equal(s->n, 2);
    assert_int_equal(s->ev[0].reason, SL_REASON_DAMAGE);
    assert_int_equal(s->ev[0].lines[0].qty_milli, -1000);
    assert_int_equal(s->ev[1].lines[0].qty_milli, -3000);
    sl__scanmode_free(m);
    free(s);
}

static void test_mode_qty_expires(void **state)
{
    (void)state;
    struct stub *s = calloc(1, sizeof *s);
    sl_scanmode *m = machine(s, SL_SCAN_RECEIVE, "", 0);
    assert_int_equal(sl__scanmode_deadline(m), UINT64_MAX);
    scan(m, "QTY5", 10000);
    assert_int_equal(sl__scanmode_deadline(m), 10000 + SL_QTY_PENDING_MS);
    sl__scanmode_tick(m, 10000 + SL_QTY_PENDING_MS - 1);
    scan(m, "QTY7", 20000);                 /* a second code replaces the first */
    sl__scanmode_tick(m, 20000 + SL_QTY_PENDING_MS);
    assert_int_equal(sl__scanmode_deadline(m), UINT64_MAX);
    assert_non_null(strstr(s->reports, "quantity code expired"));
    scan(m, "4006381333931", 20000 + SL_QTY_PENDING_MS + 1);
    assert_int_equal(s->ev[0].lines[0].qty_milli, 1000);
    /* a bad quantity code is dropped, not taken as a SKU */
    scan(m, "QTY0", 90000);
    scan(m, "QTYABC", 90001);
    assert_int_equal(s->n, 1);
    sl__scanmode_free(m);
    free(s);
}

static void test_mode_count_end_code(void **state)
{
    (void)state;
    struct stub *s = calloc(1, sizeof *s);
    sl_scanmode *m = machine(s, SL_SCAN_COUNT, "COUNT-END", 60000);
    scan(m, "4006381333931", 1000);
    scan(m, "4006381333931", 2000);
    scan(m, "QTY12", 3000);
    scan(m, "5901234123457", 4000);
    scan(m, "4006381333932", 4500);        /* bad check digit: not counted */
    assert_int_equal(s->n, 0);
    assert_int_equal(sl__scanmode_count_skus(m), 2);
    assert_int_equal(sl__scanmode_deadline(m), 4000 + 60000);
    scan(m, "COUNT-END", 5000);
    assert_int_equal(s->n, 1);
    const sl_event *e = &s->ev[0];
    assert_int_equal(e->reason, SL_REASON_COUNT);
    assert_int_equal(e->n_lines, 2);
    assert_string_equal(e->lines[0].sku, "4006381333931");
    assert_int_equal(e->lines[0].qty_milli, 2000);
    assert_int_equal(e->lines[0].has_expected, 1);     /* what the device believed */
    assert_int_equal(e->lines[0].expected_milli, 10000);
    assert_string_equal(e->lines[1].sku, "5901234123457");
    assert_int_equal(e->lines[1].qty_milli, 12000);
    assert_int_equal(e->lines[1].has_expected, 0);     /* not in the stock catalog */
    assert_int_equal(sl__scanmode_count_skus(m), 0);
    assert_int_equal(sl__scanmode_deadline(m), UINT64_MAX);
    /* the end code with nothing counted records nothing */
    scan(m, "COUNT-END", 6000);
    assert_int_equal(s->n, 1);
    /* shutdown with an open count: discarded */
    scan(m, "4006381333931", 7000);
    assert_int_equal(sl__scanmode_abandon(m), 1);
    assert_int_equal(s->n, 1);
    sl__scanmode_free(m);
    free(s);
}

static void test_mode_count_idle_and_retry(void **state)
{
    (void)state;
    struct stub *s = calloc(1, sizeof *s);
    sl_scanmode *m = machine(s, SL_SCAN_COUNT, "", 30000);
    scan(m, "4006381333931", 1000);
    scan(m, "4006381333931", 20000);        /* the idle window restarts */
    sl__scanmode_tick(m, 31000);
    assert_int_equal(s->n, 0);
    assert_int_equal(sl__scanmode_deadline(m), 50000);
    /* the journal fails: the session and its txn id are kept and retried */
    s->fail_with = SL_ERR_IO;
    sl__scanmode_tick(m, 50000);
    assert_int_equal(s->n, 0);
    assert_int_equal(sl__scanmode_deadline(m), 50000 + SL_COUNT_RETRY_MS);
    scan(m, "96385074", 51000);             /* still counted into the same session */
    sl__scanmode_tick(m, 50000 + SL_COUNT_RETRY_MS);
    assert_int_equal(s->n, 1);
    assert_string_equal(s->ev[0].txn_id, "scan-dock1-mwt9shw7011-1");
    assert_int_equal(s->ev[0].n_lines, 2);
    assert_int_equal(s->ev[0].lines[0].qty_milli, 2000);
    assert_non_null(strstr(s->reports, "count committed (retry)"));
    assert_non_null(strstr(s->reports, "not recorded"));
    sl_scan_stats st;
    sl__scanmode_stats(m, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.recorded, 1);
    /* the next count gets the next id */
    scan(m, "96385074", 60000);
    sl__scanmode_tick(m, 90000);
    assert_int_equal(s->n, 2);
    assert_string_equal(s->ev[1].txn_id, "scan-dock1-mwt9shw7011-2");
    sl__scanmode_free(m);
    free(s);
}

static void test_mode_lookup(void **state)
{
    (void)state;
    struct stub *s = calloc(1, sizeof *s);
    sl_scanmode *m = machine(s, SL_SCAN_LOOKUP, "", 0);
    scan(m, "4006381333931", 1000);
    scan(m, "96385074", 2000);
    scan(m, "96385075", 3000);
    assert_int_equal(s->n, 0);              /* nothing recorded */
    assert_int_equal(s->n_answers, 2);
    assert_string_equal(s->answer[0],
                        "dock1: 4006381333931 price 1.99 EUR (prices v3), on hand 10 (stock v2)");
    assert_string_equal(s->answer[1], "dock1: 96385074 price unknown, on hand unknown");
    sl__scanmode_free(m);
    free(s);
}

/* ---- the pipe reader with struct input_event bytes ---- */

static void test_pipe_reader_events(void **state)
{
    (void)state;
    char dir[] = "/tmp/sl-scan-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    int w = open(path, O_RDWR);             /* keeps a writer so reads do not see EOF */
    assert_true(w >= 0);
    sl_scanner_conf c;
    memset(&c, 0, sizeof c);
    snprintf(c.device, sizeof c.device, "%s", path);
    c.type = SL_SCANNER_PIPE;
    c.format = SL_PIPE_EVENTS;
    const sl_reader_ops *ops = sl__reader_for(SL_SCANNER_PIPE);
    void *rd = NULL;
    assert_int_equal(ops->open(&rd, &c), SL_OK);
    assert_true(ops->fd(rd) >= 0);

    static const uint16_t keys[] = {KEY_9, KEY_6, KEY_3, KEY_8, KEY_5, KEY_0, KEY_7, KEY_4,
                                    KEY_ENTER};
    size_t es = sl_plat_input_event_size();
    unsigned char raw[64 * 18];
    size_t n = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        for (int v = 1; v >= 0; v--) {
            sl_input_ev ev = {EV_KEY, keys[i], v};
            sl_plat_input_event_encode(&ev, raw + n);
            n += es;
        }
    struct got g = {0};
    /* nothing there yet: drained, no scan */
    assert_int_equal(ops->read(rd, collect, &g), SL_OK);
    /* an event split across two reads */
    size_t cut = es * 5 + es / 2;
    assert_int_equal(write(w, raw, cut), (ssize_t)cut);
    assert_int_equal(ops->read(rd, collect, &g), SL_OK);
    assert_int_equal(g.n, 0);
    assert_int_equal(write(w, raw + cut, n - cut), (ssize_t)(n - cut));
    assert_int_equal(ops->read(rd, collect, &g), SL_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.code[0], "96385074");
    /* the writer goes away: the reader says so */
    close(w);
    assert_int_equal(ops->read(rd, collect, &g), SL_ERR_NOT_FOUND);
    ops->close(rd);
    unlink(path);
    rmdir(dir);
    /* absent device */
    assert_int_equal(ops->open(&rd, &c), SL_ERR_NOT_FOUND);
    /* a regular file is refused by the pipe reader (it would be read again
     * at every reopen) and by evdev even without the grab */
    char file[] = "/tmp/sl-scan-file-XXXXXX";
    int ffd = mkstemp(file);
    assert_true(ffd >= 0);
    assert_int_equal(write(ffd, "4006381333931\n", 14), 14);
    close(ffd);
    snprintf(c.device, sizeof c.device, "%s", file);
    assert_int_equal(ops->open(&rd, &c), SL_ERR_USAGE);
    c.grab = 0;
    assert_int_equal(sl__reader_evdev.open(&rd, &c), SL_ERR_USAGE);
    unlink(file);
    /* evdev refuses what is not an input device; serial what is not a tty */
    snprintf(c.device, sizeof c.device, "/dev/null");
    c.grab = 1;
    assert_int_equal(sl__reader_evdev.open(&rd, &c), SL_ERR_USAGE);
    c.baud = 9600;
    assert_int_equal(sl__reader_serial.open(&rd, &c), SL_ERR_USAGE);
    c.baud = 1234;
    assert_int_equal(sl__reader_serial.open(&rd, &c), SL_ERR_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kbd_digits_enter),
        cmocka_unit_test(test_kbd_shift),
        cmocka_unit_test(test_kbd_unknown_and_repeat),
        cmocka_unit_test(test_line_framing),
        cmocka_unit_test(test_barcode_gtins),
        cmocka_unit_test(test_barcode_rules),
        cmocka_unit_test(test_barcode_gs1),
        cmocka_unit_test(test_barcode_qty),
        cmocka_unit_test(test_mode_receive_damage),
        cmocka_unit_test(test_mode_qty_expires),
        cmocka_unit_test(test_mode_count_end_code),
        cmocka_unit_test(test_mode_count_idle_and_retry),
        cmocka_unit_test(test_mode_lookup),
        cmocka_unit_test(test_pipe_reader_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
