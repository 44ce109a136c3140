/* The status message (agent/statusmsg.h): round trip, determinism, the
 * old 5-key form and the last will, strict refusal of wrong types and
 * order, tolerance of keys from a newer agent, and the health rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cborio.h"
#include "statusmsg.h"

static void full(sl__status *s)
{
    sl__status_init(s, 1, 1795000000000LL, 40, 45, "0.1.0");
    sl__status_set_u(s, SL_ST_UNACKED, 5);
    sl__status_set_i(s, SL_ST_OLDEST_TS, 1794990000000LL);
    sl__status_set_u(s, SL_ST_DEAD, 2);
    sl__status_set_u(s, SL_ST_INFLIGHT, 1);
    sl__status_set_i(s, SL_ST_LAST_ACK, 1794999990000LL);
    sl__status_set_u(s, SL_ST_PRICES_VER, 7);
    sl__status_set_i(s, SL_ST_PRICES_AT, 1794000000000LL);
    sl__status_set_u(s, SL_ST_STOCK_VER, 3);
    sl__status_set_i(s, SL_ST_STOCK_AT, 1794100000000LL);
    sl__status_set_i(s, SL_ST_STARTED, 1794900000000LL);
    sl__status_set_u(s, SL_ST_HEALTH, SL_HEALTH_DEGRADED);
    sl__status_set_i(s, SL_ST_CERT_NOT_AFTER, 1826000000000LL);
    sl__status_set_u(s, SL_ST_RESENT, 4);
    sl__status_set_u(s, SL_ST_REJECTED, 2);
    sl__status_set_i(s, SL_ST_CONN_SINCE, 1794950000000LL);
    sl__status_set_u(s, SL_ST_JOURNAL_USED, 1u << 20);
    sl__status_set_u(s, SL_ST_JOURNAL_LIMIT, 64u << 20);
    sl__status_set_u(s, SL_ST_CHAIN_PRICES_VER, 9);
    sl__status_set_error(s, "broker refused batch 46..46 (reason 0x95, packet too large)");
}

static void test_round_trip(void **state)
{
    (void)state;
    sl__status a, b;
    uint8_t buf[SL_STATUSMSG_MAX], buf2[SL_STATUSMSG_MAX];
    size_t n, n2;
    char why[128];
    full(&a);
    assert_int_equal(sl__status_encode(&a, buf, sizeof buf, &n), SL_OK);
    assert_true(n < 320);
    assert_int_equal(sl__status_decode(buf, n, &b, why, sizeof why), SL_OK);
    assert_int_equal(b.online, 1);
    assert_int_equal(b.ts_ms, 1795000000000LL);
    assert_int_equal(b.acked_through, 40);
    assert_int_equal(b.last_seq, 45);
    assert_string_equal(b.version, "0.1.0");
    for (int k = SL_ST_UNACKED; k <= SL_ST_LAST_KEY; k++)
        assert_true(sl__status_has(&b, k));
    assert_memory_equal(a.u, b.u, sizeof a.u);
    assert_memory_equal(a.i, b.i, sizeof a.i);
    assert_string_equal(b.last_error, a.last_error);
    /* deterministic: re-encoding what was decoded gives the same bytes */
    assert_int_equal(sl__status_encode(&b, buf2, sizeof buf2, &n2), SL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(buf, buf2, n);
    /* too small a buffer */
    assert_int_equal(sl__status_encode(&a, buf, 20, &n), SL_ERR_TOO_LARGE);
}

/* the first version's message and today's last will: keys 1-5 only */
static void test_old_five_keys(void **state)
{
    (void)state;
    uint8_t buf[128];
    sl__cw w;
    sl__status s;
    sl__cw_init(&w, buf, sizeof buf);
    sl__cw_map(&w, 5);
    sl__cw_uint(&w, 1); sl__cw_cstr(&w, "offline");
    sl__cw_uint(&w, 2); sl__cw_int(&w, 1795000000000LL);
    sl__cw_uint(&w, 3); sl__cw_uint(&w, 10);
    sl__cw_uint(&w, 4); sl__cw_uint(&w, 12);
    sl__cw_uint(&w, 5); sl__cw_cstr(&w, "0.0.9");
    assert_false(w.overflow);
    assert_int_equal(sl__status_decode(buf, w.len, &s, NULL, 0), SL_OK);
    assert_int_equal(s.online, 0);
    assert_int_equal(s.acked_through, 10);
    assert_int_equal(s.last_seq, 12);
    assert_string_equal(s.version, "0.0.9");
    assert_int_equal(s.has, 0);
    for (int k = SL_ST_UNACKED; k <= SL_ST_LAST_KEY; k++)
        assert_false(sl__status_has(&s, k));
    /* the encoder writes the same bytes for the same 5 keys */
    sl__status t;
    uint8_t out[128];
    size_t n;
    sl__status_init(&t, 0, 1795000000000LL, 10, 12, "0.0.9");
    assert_int_equal(sl__status_encode(&t, out, sizeof out, &n), SL_OK);
    assert_int_equal(n, w.len);
    assert_memory_equal(out, buf, n);
}

/* encode a map from a script: key, type ('u' uint, 'n' negative int,
 * 's' text, 'b' bytes, 'f' bool), value */
struct kv {
    uint64_t key;
    char type;
    uint64_t u;
    const char *s;
};

static size_t build(uint8_t *buf, size_t cap, const struct kv *kv, size_t n)
{
    sl__cw w;
    sl__cw_init(&w, buf, cap);
    sl__cw_map(&w, n);
    for (size_t i = 0; i < n; i++) {
        sl__cw_uint(&w, kv[i].key);
        switch (kv[i].type) {
        case 'u': sl__cw_uint(&w, kv[i].u); break;
        case 'n': sl__cw_int(&w, -(int64_t)kv[i].u); break;
        case 's': sl__cw_cstr(&w, kv[i].s); break;
        case 'b': sl__cw_bstr(&w, (const uint8_t *)kv[i].s, strlen(kv[i].s)); break;
        case 'f': sl__cw_bool(&w, kv[i].u != 0); break;
        case 'a': sl__cw_array(&w, 1); sl__cw_uint(&w, kv[i].u); break;
        }
    }
    assert_false(w.overflow);
    return w.len;
}

#define HEAD {1, 's', 0, "online"}, {2, 'u', 1795000000000ULL, NULL}, {3, 'u', 1, NULL}, \
             {4, 'u', 2, NULL}, {5, 's', 0, "0.1.0"}

static void expect_bad(const struct kv *kv, size_t n, const char *needle)
{
    uint8_t buf[512];
    sl__status s;
    char why[160];
    size_t len = build(buf, sizeof buf, kv, n);
    assert_int_equal(sl__status_decode(buf, len, &s, why, sizeof why), SL_ERR_INVALID);
    if (strstr(why, needle) == NULL)
        fail_msg("reason '%s' does not name '%s'", why, needle);
}

static void test_strict_types(void **state)
{
    (void)state;
    struct kv ok[] = {HEAD, {SL_ST_UNACKED, 'u', 3, NULL}};
    uint8_t buf[512];
    sl__status s;
    assert_int_equal(sl__status_decode(buf, build(buf, sizeof buf, ok, 6), &s, NULL, 0), SL_OK);
    assert_int_equal(s.u[SL_ST_UNACKED], 3);

    struct kv t1[] = {HEAD, {SL_ST_UNACKED, 's', 0, "3"}};
    expect_bad(t1, 6, "key 6");
    struct kv t2[] = {HEAD, {SL_ST_OLDEST_TS, 'n', 5, NULL}};
    expect_bad(t2, 6, "key 7");
    struct kv t3[] = {HEAD, {SL_ST_HEALTH, 'u', 3, NULL}};
    expect_bad(t3, 6, "key 16");
    struct kv t4[] = {HEAD, {SL_ST_DEAD, 'f', 1, NULL}};
    expect_bad(t4, 6, "key 8");
    struct kv t5[] = {HEAD, {SL_ST_LAST_ERROR, 'b', 0, "x"}};
    expect_bad(t5, 6, "key 24");
    struct kv t6[] = {HEAD, {SL_ST_LAST_ERROR, 's', 0, "bad \x1b[31m escape"}};
    expect_bad(t6, 6, "key 24");
    struct kv t7[] = {{1, 's', 0, "maybe"}, {2, 'u', 1, NULL}, {3, 'u', 1, NULL},
                      {4, 'u', 2, NULL}, {5, 's', 0, "0.1.0"}};
    expect_bad(t7, 5, "key 1");
    struct kv t8[] = {{1, 's', 0, "online"}, {2, 'n', 1, NULL}, {3, 'u', 1, NULL},
                      {4, 'u', 2, NULL}, {5, 's', 0, "0.1.0"}};
    expect_bad(t8, 5, "key 2");
    struct kv t9[] = {{1, 's', 0, "online"}, {2, 'u', 1, NULL}, {3, 's', 0, "1"},
                      {4, 'u', 2, NULL}, {5, 's', 0, "0.1.0"}};
    expect_bad(t9, 5, "key 3");
    /* order, repetition, a missing required key */
    struct kv o1[] = {HEAD, {SL_ST_DEAD, 'u', 1, NULL}, {SL_ST_UNACKED, 'u', 1, NULL}};
    expect_bad(o1, 7, "out of order");
    struct kv o2[] = {HEAD, {SL_ST_DEAD, 'u', 1, NULL}, {SL_ST_DEAD, 'u', 1, NULL}};
    expect_bad(o2, 7, "out of order");
    struct kv o3[] = {{1, 's', 0, "online"}, {2, 'u', 1, NULL}, {4, 'u', 2, NULL},
                      {5, 's', 0, "0.1.0"}, {6, 'u', 0, NULL}};
    expect_bad(o3, 5, "key 3: missing");
    struct kv o4[] = {{1, 's', 0, "online"}, {2, 'u', 1, NULL}, {3, 'u', 1, NULL},
                      {4, 'u', 2, NULL}};
    expect_bad(o4, 4, "keys 1-5");

    /* not a map, trailing bytes, non-shortest integer */
    uint8_t arr[] = {0x81, 0x01};
    assert_int_equal(sl__status_decode(arr, sizeof arr, &s, NULL, 0), SL_ERR_INVALID);
    size_t n = build(buf, sizeof buf, ok, 6);
    buf[n] = 0x00;
    assert_int_equal(sl__status_decode(buf, n + 1, &s, NULL, 0), SL_ERR_INVALID);
    uint8_t longint[] = {0xa5, 0x18, 0x01, 0x66, 'o', 'n', 'l', 'i', 'n', 'e'};
    assert_int_equal(sl__status_decode(longint, sizeof longint, &s, NULL, 0), SL_ERR_INVALID);
    assert_int_equal(sl__status_decode(buf, 0, &s, NULL, 0), SL_ERR_INVALID);
}

/* a newer agent's keys above the last known one are skipped */
static void test_newer_keys(void **state)
{
    (void)state;
    struct kv kv[] = {HEAD, {SL_ST_UNACKED, 'u', 4, NULL}, {30, 'a', 1, NULL},
                      {31, 's', 0, "future"}};
    uint8_t buf[512];
    sl__status s;
    assert_int_equal(sl__status_decode(buf, build(buf, sizeof buf, kv, 8), &s, NULL, 0), SL_OK);
    assert_int_equal(s.u[SL_ST_UNACKED], 4);
    assert_true(sl__status_has(&s, SL_ST_UNACKED));
    assert_false(sl__status_has(&s, SL_ST_DEAD));
}

static void test_encoder_refuses(void **state)
{
    (void)state;
    sl__status s;
    uint8_t buf[SL_STATUSMSG_MAX];
    size_t n;
    sl__status_init(&s, 1, 1, 0, 0, "0.1.0");
    sl__status_set_u(&s, SL_ST_HEALTH, 3);
    assert_int_equal(sl__status_encode(&s, buf, sizeof buf, &n), SL_ERR_INVALID);
    sl__status_init(&s, 1, 1, 0, 0, "0.1.0");
    sl__status_set_i(&s, SL_ST_LAST_ACK, -5);
    assert_int_equal(sl__status_encode(&s, buf, sizeof buf, &n), SL_ERR_INVALID);
    sl__status_init(&s, 1, -1, 0, 0, "0.1.0");
    assert_int_equal(sl__status_encode(&s, buf, sizeof buf, &n), SL_ERR_INVALID);
    sl__status_init(&s, 1, 1, 0, 0, "has space");
    assert_int_equal(sl__status_encode(&s, buf, sizeof buf, &n), SL_ERR_INVALID);
    /* a type mismatch is ignored by the setters, not encoded */
    sl__status_init(&s, 1, 1, 0, 0, NULL);
    sl__status_set_u(&s, SL_ST_LAST_ACK, 5);
    sl__status_set_i(&s, SL_ST_UNACKED, 5);
    sl__status_set_u(&s, 3, 5);
    assert_int_equal(s.has, 0);
    /* long and control-character error text is cut and cleaned */
    char longtext[400];
    memset(longtext, 'x', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    longtext[3] = '\n';
    sl__status_set_error(&s, longtext);
    assert_int_equal(strlen(s.last_error), SL_STATUS_ERROR_MAX);
    assert_int_equal(s.last_error[3], ' ');
    assert_int_equal(sl__status_encode(&s, buf, sizeof buf, &n), SL_OK);
    /* a cut never splits a UTF-8 character */
    char utf[400] = "";
    for (int i = 0; i < 100; i++)
        strcat(utf, "\xc3\xa9");
    sl__status_set_error(&s, utf);
    assert_int_equal(strlen(s.last_error), SL_STATUS_ERROR_MAX);
    sl__status d;
    assert_int_equal(sl__status_encode(&s, buf, sizeof buf, &n), SL_OK);
    assert_int_equal(sl__status_decode(buf, n, &d, NULL, 0), SL_OK);
}

static void test_health(void **state)
{
    (void)state;
    const int64_t now = 1795000000000LL, day = 86400000LL;
    sl__status s;
    sl__status_init(&s, 1, now, 0, 0, NULL);
    assert_int_equal(sl__status_health(&s, now, 3600000), SL_HEALTH_HEALTHY);
    sl__status_set_i(&s, SL_ST_CERT_NOT_AFTER, now + 365 * day);
    sl__status_set_u(&s, SL_ST_UNACKED, 3);
    sl__status_set_i(&s, SL_ST_OLDEST_TS, now - 60000);
    assert_int_equal(sl__status_health(&s, now, 3600000), SL_HEALTH_HEALTHY);
    sl__status_set_i(&s, SL_ST_OLDEST_TS, now - 2 * 3600000);
    assert_int_equal(sl__status_health(&s, now, 3600000), SL_HEALTH_DEGRADED);
    sl__status_set_i(&s, SL_ST_OLDEST_TS, now);
    sl__status_set_u(&s, SL_ST_DEAD, 1);
    assert_int_equal(sl__status_health(&s, now, 3600000), SL_HEALTH_DEGRADED);
    sl__status_set_u(&s, SL_ST_DEAD, 0);
    sl__status_set_u(&s, SL_ST_JOURNAL_LIMIT, 1000);
    sl__status_set_u(&s, SL_ST_JOURNAL_USED, 950);
    assert_int_equal(sl__status_health(&s, now, 3600000), SL_HEALTH_DEGRADED);
    sl__status_set_u(&s, SL_ST_JOURNAL_USED, 500);
    sl__status_set_i(&s, SL_ST_CERT_NOT_AFTER, now + 10 * day);
    assert_int_equal(sl__status_health(&s, now, 3600000), SL_HEALTH_DEGRADED);
    sl__status_set_i(&s, SL_ST_CERT_NOT_AFTER, now - 1);
    assert_int_equal(sl__status_health(&s, now, 3600000), SL_HEALTH_FAILING);
    assert_string_equal(sl__status_health_name(SL_HEALTH_FAILING), "failing");
    assert_string_equal(sl__status_health_name(-1), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_old_five_keys),
        cmocka_unit_test(test_strict_types),
        cmocka_unit_test(test_newer_keys),
        cmocka_unit_test(test_encoder_refuses),
        cmocka_unit_test(test_health),
    };
    return cmocka_run_group_tests_name("statusmsg", tests, NULL, NULL);
}
