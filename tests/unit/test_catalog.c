/*
 * test_catalog - the offline catalog: signed catalog messages (agent/catmsg.c)
 * and the device's copy (agent/catalog.c).  Versions (snapshot, delta,
 * stale, gap), signatures (tampered, wrong key, unsigned, garbage), expiry,
 * scheduled prices, store scope over chain-wide prices, and stock as the
 * hub's figure plus this device's journal records after its watermark.
 *
 * Keys are generated once with sl__key_generate into a mkdtemp() directory;
 * every test gets its own state directory, removed by the teardown.
 */
#define _XOPEN_SOURCE 700   /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog.h"
#include "catmsg.h"
#include "cborio.h"
#include "crypto.h"
#include "platform.h"
#include "storelink.h"

#define NOW 1795435200000LL          /* 2026-11-23T12:00:00Z */
#define MIDNIGHT 1795478400000LL     /* 2026-11-24T00:00:00Z */
#define HOUR 3600000LL
#define STORE "store-1"
#define DEVICE "device-1"
#define SKU_A "4006381333931"
#define SKU_B "2000000000015"
#define SKU_C "5901234123457"
#define BUF_MAX (8u << 20)

static char g_keydir[64];
static sl__key *g_key, *g_wrong;
static sl__pub *g_pub;

struct fx {
    char dir[96];
    sl_catalog *cat;
    sl_journal *j;
    sl_event *ev;
    uint8_t *buf;
    size_t len;
    sl__cat_result res;
    int nrec;
};

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static int group_setup(void **state)
{
    char path[128], pub[128], wrong[128];
    (void)state;
    snprintf(g_keydir, sizeof g_keydir, "/tmp/sl-test-catkeys.XXXXXX");
    if (mkdtemp(g_keydir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/catalog.key", g_keydir);
    snprintf(pub, sizeof pub, "%s/catalog.pub", g_keydir);
    snprintf(wrong, sizeof wrong, "%s/wrong.key", g_keydir);
    if (sl__key_generate(path) != SL_OK || sl__key_load(&g_key, path) != SL_OK ||
        sl__key_write_pub(g_key, pub) != SL_OK || sl__pub_load(&g_pub, pub) != SL_OK ||
        sl__key_generate(wrong) != SL_OK || sl__key_load(&g_wrong, wrong) != SL_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    sl__key_free(g_key);
    sl__key_free(g_wrong);
    sl__pub_free(g_pub);
    nftw(g_keydir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/sl-test-catalog.XXXXXX");
    f->buf = malloc(BUF_MAX);
    f->ev = malloc(sizeof *f->ev);
    if (f->buf == NULL || f->ev == NULL || mkdtemp(f->dir) == NULL ||
        sl__catalog_open_rw(&f->cat, f->dir, STORE, 0) != SL_OK) {
        free(f->buf);
        free(f->ev);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sl_catalog_close(f->cat);
    sl_journal_close(f->j);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f->buf);
    free(f->ev);
    free(f);
    return 0;
}

/* ---- building messages ---------------------------------------------------- */

static sl__cat_price P(const char *sku, uint64_t price, const char *cur, int64_t eff)
{
    sl__cat_price p;
    memset(&p, 0, sizeof p);
    snprintf(p.sku, sizeof p.sku, "%s", sku);
    snprintf(p.currency, sizeof p.currency, "%s", cur);
    p.price = price;
    p.effective_from = eff;
    return p;
}

static sl__cat_stock S(const char *sku, int64_t on_hand)
{
    sl__cat_stock s;
    memset(&s, 0, sizeof s);
    snprintf(s.sku, sizeof s.sku, "%s", sku);
    s.on_hand_milli = on_hand;
    return s;
}

static sl__catmsg hdr(int type, const char *scope, uint64_t version, int kind, int64_t issued)
{
    sl__catmsg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.kind = kind;
    snprintf(m.scope, sizeof m.scope, "%s", scope);
    m.version = version;
    m.base = kind == SL_CAT_DELTA ? version - 1 : 0;
    m.issued_at = issued;
    return m;
}

static void build_m(struct fx *f, const sl__catmsg *m, sl__key *k)
{
    char why[160] = "";
    int rc = sl__catmsg_build(m, k, f->buf, BUF_MAX, &f->len, why, sizeof why);
    if (rc != SL_OK)
        fail_msg("build: %s: %s", sl_strerror(rc), why);
}

static void prices(struct fx *f, const char *scope, uint64_t version, int kind, int64_t issued,
                   const sl__cat_price *items, size_t n)
{
    sl__catmsg m = hdr(SL_CAT_PRICES, scope, version, kind, issued);
    m.prices = items;
    m.n_items = n;
    build_m(f, &m, g_key);
}

static void stock(struct fx *f, uint64_t version, int kind, const sl__cat_stock *items, size_t n,
                  const sl__cat_wm *wm, size_t nwm)
{
    sl__catmsg m = hdr(SL_CAT_STOCK, STORE, version, kind, NOW);
    m.stock = items;
    m.n_items = n;
    m.watermarks = wm;
    m.n_watermarks = nwm;
    m.has_watermarks = wm != NULL;
    build_m(f, &m, g_key);
}

/* Apply f->buf; the call itself must succeed (storage fine). */
static sl__cat_outcome apply_at(struct fx *f, int64_t now)
{
    int rc = sl__catalog_apply(f->cat, g_pub, now, DEVICE, f->buf, f->len, &f->res);
    assert_int_equal(rc, SL_OK);
    return f->res.outcome;
}

static sl__cat_outcome apply(struct fx *f)
{
    return apply_at(f, NOW);
}

static int64_t price_at(struct fx *f, const char *sku, int64_t at, sl_price *out)
{
    sl_price p;
    if (out == NULL)
        out = &p;
    int rc = sl_price_lookup(f->cat, sku, at, out);
    if (rc != SL_OK)
        fail_msg("price of %s at %lld: %s", sku, (long long)at, sl_strerror(rc));
    return out->price;
}

static uint64_t held(struct fx *f, int type, const char *scope)
{
    sl__catalog_held h;
    int rc = sl__catalog_held_get(f->cat, type, scope, &h);
    return rc == SL_OK ? h.version : 0;
}

static sl__catalog_stats stats(struct fx *f)
{
    sl__catalog_stats st;
    assert_int_equal(sl__catalog_stats_get(f->cat, &st), SL_OK);
    return st;
}

/* Sign arbitrary payload bytes with the right key: the parser, not the
 * signature, must refuse what is malformed. */
static void sign_raw(struct fx *f, const uint8_t *payload, size_t plen)
{
    uint8_t sig[SL_SIG_MAX];
    size_t siglen;
    sl__cw w;
    assert_int_equal(sl__key_sign(g_key, payload, plen, sig, sizeof sig, &siglen), SL_OK);
    sl__cw_init(&w, f->buf, BUF_MAX);
    sl__cw_array(&w, 2);
    sl__cw_bstr(&w, payload, plen);
    sl__cw_bstr(&w, sig, siglen);
    assert_false(w.overflow);
    f->len = w.len;
}

/* Look the price up through a read-only handle in another process, as
 * `storelink price` does while the daemon holds the writer (LMDB allows one
 * environment per file per process).  1 when it finds want. */
static int ro_price_is(const char *dir, const char *sku, int64_t want)
{
    pid_t pid = fork();
    if (pid == 0) {
        sl_catalog *ro;
        sl_price p;
        int ok = sl_catalog_open(&ro, dir) == SL_OK && sl_price_lookup(ro, sku, NOW, &p) == SL_OK &&
                 p.price == want;
        sl_catalog_close(ro);
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ---- versions ------------------------------------------------------------- */

static void test_snapshot_applies(void **state)
{
    struct fx *f = *state;
    sl__cat_price items[] = {P(SKU_A, 199, "EUR", 0), P(SKU_B, 299, "EUR", 0)};
    sl_price p;
    prices(f, STORE, 3, SL_CAT_SNAPSHOT, NOW - HOUR, items, 2);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(f->res.type, SL_CAT_PRICES);
    assert_string_equal(f->res.scope, STORE);
    assert_int_equal(f->res.version, 3);
    assert_int_equal(f->res.held_version, 3);
    assert_int_equal(f->res.n_items, 2);
    assert_int_equal(held(f, SL_CAT_PRICES, STORE), 3);

    assert_int_equal(price_at(f, SKU_A, NOW, &p), 199);
    assert_string_equal(p.currency, "EUR");
    assert_string_equal(p.scope, STORE);
    assert_int_equal(p.version, 3);
    assert_int_equal(p.issued_at, NOW - HOUR);
    assert_int_equal(p.received_at, NOW);
    assert_int_equal(p.effective_from, 0);
    assert_int_equal(price_at(f, SKU_B, NOW, NULL), 299);
    assert_int_equal(sl_price_lookup(f->cat, SKU_C, NOW, &p), SL_ERR_NOT_FOUND);
    assert_int_equal(p.version, 3);   /* says which catalog lacked it */

    /* a read-only handle in another process sees the same */
    assert_true(ro_price_is(f->dir, SKU_A, 199));
    assert_false(ro_price_is(f->dir, SKU_A, 198));
    assert_int_equal(stats(f).applied, 1);
}

static void test_no_catalog_yet(void **state)
{
    struct fx *f = *state;
    sl_catalog *ro = NULL;
    sl_price p;
    sl_stock s;
    /* nothing written: no directory, read-only open says not found */
    assert_int_equal(sl_catalog_open(&ro, f->dir), SL_ERR_NOT_FOUND);
    assert_int_equal(sl_price_lookup(f->cat, SKU_A, NOW, &p), SL_ERR_NOT_FOUND);
    assert_int_equal(p.version, 0);
    assert_int_equal(sl_stock_lookup(f->cat, NULL, DEVICE, SKU_A, &s), SL_ERR_NOT_FOUND);
    assert_int_equal(s.version, 0);
    assert_int_equal(sl_price_lookup(f->cat, "", NOW, &p), SL_ERR_USAGE);
}

static void test_delta_applies(void **state)
{
    struct fx *f = *state;
    sl__cat_price snap[] = {P(SKU_A, 199, "EUR", 0), P(SKU_B, 299, "EUR", 0)};
    sl__cat_price d4[] = {P(SKU_A, 149, "EUR", 0), P(SKU_C, 50, "EUR", 0)};
    sl__cat_price d5[] = {P(SKU_B, 279, "EUR", 0)};
    sl_price p;
    prices(f, STORE, 3, SL_CAT_SNAPSHOT, NOW - 2 * HOUR, snap, 2);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    prices(f, STORE, 4, SL_CAT_DELTA, NOW - HOUR, d4, 2);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(f->res.held_version, 4);
    prices(f, STORE, 5, SL_CAT_DELTA, NOW - 1000, d5, 1);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(held(f, SL_CAT_PRICES, STORE), 5);

    assert_int_equal(price_at(f, SKU_A, NOW, &p), 149);   /* changed by v4 */
    assert_int_equal(p.version, 5);
    assert_int_equal(p.issued_at, NOW - 1000);
    assert_int_equal(price_at(f, SKU_B, NOW, NULL), 279);  /* changed by v5 */
    assert_int_equal(price_at(f, SKU_C, NOW, NULL), 50);   /* added by v4 */
    assert_int_equal(stats(f).applied, 3);
}

static void test_stale_ignored_and_counted(void **state)
{
    struct fx *f = *state;
    sl__cat_price v3[] = {P(SKU_A, 199, "EUR", 0)};
    sl__cat_price v2[] = {P(SKU_A, 999, "EUR", 0)};
    prices(f, STORE, 3, SL_CAT_SNAPSHOT, NOW, v3, 1);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    /* the same message again (a retained snapshot after a reconnect) */
    assert_int_equal(apply(f), SL_CAT_STALE);
    assert_int_equal(f->res.held_version, 3);
    /* an older snapshot and an old delta */
    prices(f, STORE, 2, SL_CAT_SNAPSHOT, NOW - HOUR, v2, 1);
    assert_int_equal(apply(f), SL_CAT_STALE);
    prices(f, STORE, 3, SL_CAT_DELTA, NOW - HOUR, v2, 1);
    assert_int_equal(apply(f), SL_CAT_STALE);
    prices(f, STORE, 2, SL_CAT_DELTA, NOW - HOUR, v2, 1);
    assert_int_equal(apply(f), SL_CAT_STALE);

    assert_int_equal(price_at(f, SKU_A, NOW, NULL), 199);
    assert_int_equal(held(f, SL_CAT_PRICES, STORE), 3);
    sl__catalog_stats st = stats(f);
    assert_int_equal(st.stale, 4);
    assert_int_equal(st.applied, 1);
    assert_int_equal(st.rejected, 0);
}

static void test_gap_needs_snapshot(void **state)
{
    struct fx *f = *state;
    sl__cat_price v3[] = {P(SKU_A, 199, "EUR", 0)};
    sl__cat_price d[] = {P(SKU_A, 1, "EUR", 0), P(SKU_C, 2, "EUR", 0)};
    sl_price p;
    /* a delta with nothing held */
    prices(f, STORE, 2, SL_CAT_DELTA, NOW, d, 2);
    assert_int_equal(apply(f), SL_CAT_NEED_SNAPSHOT);
    assert_int_equal(f->res.held_version, 0);
    assert_int_equal(sl_price_lookup(f->cat, SKU_A, NOW, &p), SL_ERR_NOT_FOUND);

    prices(f, STORE, 3, SL_CAT_SNAPSHOT, NOW, v3, 1);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    /* v4 and v5 were dropped by the broker: v6 (base 5) arrives */
    prices(f, STORE, 6, SL_CAT_DELTA, NOW, d, 2);
    assert_int_equal(apply(f), SL_CAT_NEED_SNAPSHOT);
    assert_int_equal(f->res.type, SL_CAT_PRICES);
    assert_string_equal(f->res.scope, STORE);
    assert_int_equal(f->res.held_version, 3);
    assert_int_equal(f->res.version, 6);
    assert_non_null(strstr(f->res.reason, "held v3"));
    /* nothing of it applied */
    assert_int_equal(price_at(f, SKU_A, NOW, NULL), 199);
    assert_int_equal(sl_price_lookup(f->cat, SKU_C, NOW, &p), SL_ERR_NOT_FOUND);
    assert_int_equal(held(f, SL_CAT_PRICES, STORE), 3);
    assert_int_equal(stats(f).gaps, 2);

    /* the request the daemon publishes, and the hub reads back */
    sl__catreq q = {f->res.type, "", f->res.held_version}, back;
    uint8_t b[SL_CATREQ_MAX];
    size_t bl;
    snprintf(q.scope, sizeof q.scope, "%s", f->res.scope);
    assert_int_equal(sl__catreq_encode(&q, b, sizeof b, &bl), SL_OK);
    static const uint8_t want[] = {0xa3, 0x01, 0x01, 0x02, 0x67, 's', 't', 'o', 'r', 'e', '-', '1',
                                   0x03, 0x03};
    assert_int_equal(bl, sizeof want);
    assert_memory_equal(b, want, sizeof want);
    assert_int_equal(sl__catreq_decode(b, bl, &back), SL_OK);
    assert_int_equal(back.type, SL_CAT_PRICES);
    assert_string_equal(back.scope, STORE);
    assert_int_equal(back.have_version, 3);
    b[bl - 1] = 0x18;   /* truncated head */
    assert_int_equal(sl__catreq_decode(b, bl, &back), SL_ERR_INVALID);

    /* the fresh snapshot then applies, and deltas follow it again */
    prices(f, STORE, 6, SL_CAT_SNAPSHOT, NOW, d, 2);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(price_at(f, SKU_C, NOW, NULL), 2);
    prices(f, STORE, 7, SL_CAT_DELTA, NOW, v3, 1);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(price_at(f, SKU_A, NOW, NULL), 199);
}

static void test_snapshot_replaces(void **state)
{
    struct fx *f = *state;
    sl__cat_price v3[] = {P(SKU_A, 199, "EUR", 0), P(SKU_B, 299, "EUR", MIDNIGHT)};
    sl__cat_price v9[] = {P(SKU_C, 5, "EUR", 0)};
    sl_price p;
    prices(f, STORE, 3, SL_CAT_SNAPSHOT, NOW, v3, 2);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    prices(f, STORE, 9, SL_CAT_SNAPSHOT, NOW, v9, 1);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(sl_price_lookup(f->cat, SKU_A, NOW, &p), SL_ERR_NOT_FOUND);
    assert_int_equal(sl_price_lookup(f->cat, SKU_B, MIDNIGHT + 1, &p), SL_ERR_NOT_FOUND);
    assert_int_equal(price_at(f, SKU_C, NOW, NULL), 5);
}

/* ---- signatures and hostile input ------------------------------------------ */

static void assert_untouched(struct fx *f)
{
    sl_price p;
    assert_int_equal(sl_price_lookup(f->cat, SKU_A, NOW, &p), SL_ERR_NOT_FOUND);
    assert_int_equal(held(f, SL_CAT_PRICES, STORE), 0);
}

static void test_tampered_rejected(void **state)
{
    struct fx *f = *state;
    sl__cat_price items[] = {P(SKU_A, 199, "EUR", 0)};
    prices(f, STORE, 3, SL_CAT_SNAPSHOT, NOW, items, 1);
    uint8_t *orig = malloc(f->len);
    size_t len = f->len;
    uint64_t n = 0;
    assert_non_null(orig);
    memcpy(orig, f->buf, len);
    /* every single-byte change, and every truncation */
    static const uint8_t masks[] = {0x01, 0x80};
    for (size_t m = 0; m < sizeof masks; m++)
        for (size_t i = 0; i < len; i++) {
            memcpy(f->buf, orig, len);
            f->buf[i] ^= masks[m];
            f->len = len;
            if (apply(f) != SL_CAT_REJECTED)
                fail_msg("byte %zu ^ 0x%02x was not rejected", i, masks[m]);
            n++;
        }
    for (size_t cut = 0; cut < len; cut++) {
        memcpy(f->buf, orig, len);
        f->len = cut;
        assert_int_equal(apply(f), SL_CAT_REJECTED);
        n++;
    }
    /* a byte appended */
    memcpy(f->buf, orig, len);
    f->buf[len] = 0x00;
    f->len = len + 1;
    assert_int_equal(apply(f), SL_CAT_REJECTED);
    n++;
    assert_untouched(f);
    sl__catalog_stats st = stats(f);
    assert_int_equal(st.rejected, n);
    assert_int_equal(st.applied, 0);
    assert_true(st.last_reject[0] != '\0');
    assert_int_equal(st.last_reject_ms, NOW);
    /* and the untouched message still applies */
    memcpy(f->buf, orig, len);
    f->len = len;
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    free(orig);
}

static void test_wrong_key_rejected(void **state)
{
    struct fx *f = *state;
    sl__cat_price items[] = {P(SKU_A, 199, "EUR", 0)};
    sl__catmsg m = hdr(SL_CAT_PRICES, STORE, 3, SL_CAT_SNAPSHOT, NOW);
    m.prices = items;
    m.n_items = 1;
    build_m(f, &m, g_wrong);
    assert_int_equal(apply(f), SL_CAT_REJECTED);
    assert_non_null(strstr(f->res.reason, "signature"));
    assert_untouched(f);
    /* no public key configured: nothing verifies */
    assert_int_equal(sl__catalog_apply(f->cat, NULL, NOW, DEVICE, f->buf, f->len, &f->res),
                     SL_OK);
    assert_int_equal(f->res.outcome, SL_CAT_REJECTED);
    assert_int_equal(stats(f).rejected, 2);
    assert_string_equal(stats(f).last_reject, f->res.reason);
}

static void test_unsigned_rejected(void **state)
{
    struct fx *f = *state;
    sl__cat_price items[] = {P(SKU_A, 199, "EUR", 0)};
    prices(f, STORE, 3, SL_CAT_SNAPSHOT, NOW, items, 1);
    sl__cr r;
    size_t n, plen;
    const uint8_t *p;
    sl__cr_init(&r, f->buf, f->len);
    assert_int_equal(sl__cr_array(&r, &n), 0);
    assert_int_equal(sl__cr_bstr(&r, &p, &plen), 0);
    uint8_t *payload = malloc(plen);
    assert_non_null(payload);
    memcpy(payload, p, plen);
    /* the payload alone */
    memcpy(f->buf, payload, plen);
    f->len = plen;
    assert_int_equal(apply(f), SL_CAT_REJECTED);
    /* [payload] and [payload, h''] */
    sl__cw w;
    sl__cw_init(&w, f->buf, BUF_MAX);
    sl__cw_array(&w, 1);
    sl__cw_bstr(&w, payload, plen);
    f->len = w.len;
    assert_int_equal(apply(f), SL_CAT_REJECTED);
    sl__cw_init(&w, f->buf, BUF_MAX);
    sl__cw_array(&w, 2);
    sl__cw_bstr(&w, payload, plen);
    sl__cw_bstr(&w, NULL, 0);
    f->len = w.len;
    assert_int_equal(apply(f), SL_CAT_REJECTED);
    /* empty input */
    f->len = 0;
    assert_int_equal(apply(f), SL_CAT_REJECTED);
    assert_int_equal(sl__catalog_apply(f->cat, g_pub, NOW, DEVICE, NULL, 0, &f->res), SL_OK);
    assert_int_equal(f->res.outcome, SL_CAT_REJECTED);
    assert_untouched(f);
    assert_int_equal(stats(f).rejected, 5);
    free(payload);
}

static void test_garbage_rejected(void **state)
{
    struct fx *f = *state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 300; round++) {
        f->len = (size_t)(x % 200);
        for (size_t i = 0; i < f->len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            f->buf[i] = (uint8_t)x;
        }
        /* start some as a 2-array with a bstr so the signature path runs */
        if (round % 2 && f->len > 4) {
            f->buf[0] = 0x82;
            f->buf[1] = (uint8_t)(0x40 | (f->len / 3 % 24));
        }
        assert_int_equal(apply(f), SL_CAT_REJECTED);
    }
    /* deep nesting and huge claimed lengths */
    memset(f->buf, 0x81, 100000);
    f->len = 100000;
    assert_int_equal(apply(f), SL_CAT_REJECTED);
    static const uint8_t huge[] = {0x82, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    memcpy(f->buf, huge, sizeof huge);
    f->len = sizeof huge;
    assert_int_equal(apply(f), SL_CAT_REJECTED);
    assert_untouched(f);
}

/* A payload map writer for signed-but-malformed payloads. */
struct raw {
    uint8_t b[512];
    sl__cw w;
};

static void raw_start(struct raw *r, size_t pairs)
{
    sl__cw_init(&r->w, r->b, sizeof r->b);
    sl__cw_map(&r->w, pairs);
}

static void raw_header(struct raw *r, int type, const char *scope, uint64_t v, int kind)
{
    sl__cw_uint(&r->w, 1);
    sl__cw_uint(&r->w, (uint64_t)type);
    sl__cw_uint(&r->w, 2);
    sl__cw_cstr(&r->w, scope);
    sl__cw_uint(&r->w, 3);
    sl__cw_uint(&r->w, v);
    sl__cw_uint(&r->w, 4);
    sl__cw_uint(&r->w, (uint64_t)kind);
}

static void raw_price(struct raw *r, const char *sku, uint64_t price, const char *cur, int64_t eff)
{
    sl__cw_array(&r->w, 4);
    sl__cw_cstr(&r->w, sku);
    sl__cw_uint(&r->w, price);
    sl__cw_cstr(&r->w, cur);
    sl__cw_int(&r->w, eff);
}

static void expect_rejected(struct fx *f, struct raw *r, const char *what)
{
    assert_false(r->w.overflow);
    sign_raw(f, r->b, r->w.len);
    if (apply(f) != SL_CAT_REJECTED)
        fail_msg("%s: not rejected", what);
}

static void test_malformed_signed_payloads(void **state)
{
    struct fx *f = *state;
    struct raw r;

    /* a well-formed one first, so the helpers are known to be right */
    raw_start(&r, 6);
    raw_header(&r, SL_CAT_PRICES, STORE, 1, SL_CAT_SNAPSHOT);
    sl__cw_uint(&r.w, 6);
    sl__cw_int(&r.w, NOW);
    sl__cw_uint(&r.w, 8);
    sl__cw_array(&r.w, 1);
    raw_price(&r, SKU_B, 5, "EUR", 0);
    sign_raw(f, r.b, r.w.len);
    assert_int_equal(apply(f), SL_CAT_APPLIED);

#define PRICES_MSG(pairs, v, kind, extra_before_items, item_stmt, extra_after)             \
    do {                                                                                   \
        raw_start(&r, pairs);                                                              \
        raw_header(&r, SL_CAT_PRICES, STORE, v, kind);                                     \
        extra_before_items;                                                                \
        sl__cw_uint(&r.w, 8);                                                              \
        sl__cw_array(&r.w, 1);                                                             \
        item_stmt;                                                                         \
        extra_after;                                                                       \
    } while (0)
#define ISSUED (sl__cw_uint(&r.w, 6), sl__cw_int(&r.w, NOW))
#define GOOD_ITEM raw_price(&r, SKU_A, 100, "EUR", 0)

    PRICES_MSG(7, 2, SL_CAT_SNAPSHOT, ISSUED, GOOD_ITEM, (sl__cw_uint(&r.w, 10), sl__cw_uint(&r.w, 1)));
    expect_rejected(f, &r, "unknown key 10");
    PRICES_MSG(6, 2, SL_CAT_DELTA, ISSUED, GOOD_ITEM, (void)0);
    expect_rejected(f, &r, "delta without base");
    PRICES_MSG(7, 2, SL_CAT_SNAPSHOT, (sl__cw_uint(&r.w, 5), sl__cw_uint(&r.w, 1), ISSUED), GOOD_ITEM,
               (void)0);
    expect_rejected(f, &r, "snapshot with base");
    PRICES_MSG(7, 3, SL_CAT_DELTA, (sl__cw_uint(&r.w, 5), sl__cw_uint(&r.w, 1), ISSUED), GOOD_ITEM,
               (void)0);
    expect_rejected(f, &r, "delta base != version - 1");
    PRICES_MSG(7, 2, SL_CAT_SNAPSHOT, ISSUED, GOOD_ITEM, (sl__cw_uint(&r.w, 9), sl__cw_map(&r.w, 0)));
    expect_rejected(f, &r, "watermarks on prices");
    PRICES_MSG(6, 2, SL_CAT_SNAPSHOT, ISSUED, raw_price(&r, SKU_A, 100, "eur", 0), (void)0);
    expect_rejected(f, &r, "lower-case currency");
    PRICES_MSG(6, 2, SL_CAT_SNAPSHOT, ISSUED, raw_price(&r, SKU_A, 100, "EURO", 0), (void)0);
    expect_rejected(f, &r, "4-letter currency");
    PRICES_MSG(6, 2, SL_CAT_SNAPSHOT, ISSUED, raw_price(&r, "4111111111111111", 100, "EUR", 0),
               (void)0);
    expect_rejected(f, &r, "card number as sku");
    PRICES_MSG(6, 2, SL_CAT_SNAPSHOT, ISSUED, raw_price(&r, SKU_A, 100, "EUR", -5), (void)0);
    expect_rejected(f, &r, "negative effective_from");
    PRICES_MSG(6, 2, SL_CAT_SNAPSHOT, ISSUED, raw_price(&r, SKU_A, 100000000001ull, "EUR", 0),
               (void)0);
    expect_rejected(f, &r, "price over SL_MONEY_MAX");
    PRICES_MSG(6, 2, SL_CAT_SNAPSHOT, ISSUED, (sl__cw_array(&r.w, 2), sl__cw_cstr(&r.w, SKU_A),
                                               sl__cw_uint(&r.w, 1)), (void)0);
    expect_rejected(f, &r, "stock-shaped item in prices");
    PRICES_MSG(6, 0, SL_CAT_SNAPSHOT, ISSUED, GOOD_ITEM, (void)0);
    expect_rejected(f, &r, "version 0");
    PRICES_MSG(5, 2, SL_CAT_SNAPSHOT, (void)0, GOOD_ITEM, (void)0);
    expect_rejected(f, &r, "no issued_at");
    PRICES_MSG(6, 2, SL_CAT_SNAPSHOT, ISSUED, GOOD_ITEM, sl__cw_uint(&r.w, 0));
    expect_rejected(f, &r, "trailing byte in payload");

    /* keys out of order: issued (6) after items (8) */
    raw_start(&r, 6);
    raw_header(&r, SL_CAT_PRICES, STORE, 2, SL_CAT_SNAPSHOT);
    sl__cw_uint(&r.w, 8);
    sl__cw_array(&r.w, 1);
    GOOD_ITEM;
    sl__cw_uint(&r.w, 6);
    sl__cw_int(&r.w, NOW);
    expect_rejected(f, &r, "keys out of order");

    /* more items claimed than present */
    raw_start(&r, 6);
    raw_header(&r, SL_CAT_PRICES, STORE, 2, SL_CAT_SNAPSHOT);
    ISSUED;
    sl__cw_uint(&r.w, 8);
    sl__cw_array(&r.w, 1000000);
    GOOD_ITEM;
    expect_rejected(f, &r, "short items array");

    /* an items count of 2^32 + 1: a 32-bit size_t would read 1 */
    raw_start(&r, 6);
    raw_header(&r, SL_CAT_PRICES, STORE, 2, SL_CAT_SNAPSHOT);
    ISSUED;
    sl__cw_uint(&r.w, 8);
    static const uint8_t big_count[] = {0x9b, 0, 0, 0, 1, 0, 0, 0, 1};
    memcpy(r.b + r.w.len, big_count, sizeof big_count);
    r.w.len += sizeof big_count;
    GOOD_ITEM;
    expect_rejected(f, &r, "items count above 2^32");

    /* a non-shortest integer (version 2 as 0x18 0x02) */
    raw_start(&r, 6);
    sl__cw_uint(&r.w, 1);
    sl__cw_uint(&r.w, 1);
    sl__cw_uint(&r.w, 2);
    sl__cw_cstr(&r.w, STORE);
    sl__cw_uint(&r.w, 3);
    r.b[r.w.len++] = 0x18;
    r.b[r.w.len++] = 0x02;
    sl__cw_uint(&r.w, 4);
    sl__cw_uint(&r.w, 1);
    ISSUED;
    sl__cw_uint(&r.w, 8);
    sl__cw_array(&r.w, 1);
    GOOD_ITEM;
    expect_rejected(f, &r, "non-shortest integer");

    /* stock for scope "all"; stock with watermarks out of order */
    raw_start(&r, 6);
    raw_header(&r, SL_CAT_STOCK, "all", 1, SL_CAT_SNAPSHOT);
    ISSUED;
    sl__cw_uint(&r.w, 8);
    sl__cw_array(&r.w, 0);
    expect_rejected(f, &r, "stock for all");
    raw_start(&r, 7);
    raw_header(&r, SL_CAT_STOCK, STORE, 1, SL_CAT_SNAPSHOT);
    ISSUED;
    sl__cw_uint(&r.w, 8);
    sl__cw_array(&r.w, 0);
    sl__cw_uint(&r.w, 9);
    sl__cw_map(&r.w, 2);
    sl__cw_cstr(&r.w, "device-2");
    sl__cw_uint(&r.w, 1);
    sl__cw_cstr(&r.w, "device-1");
    sl__cw_uint(&r.w, 1);
    expect_rejected(f, &r, "watermarks out of order");
#undef PRICES_MSG
#undef ISSUED
#undef GOOD_ITEM

    /* only the well-formed v1 ever applied */
    assert_int_equal(held(f, SL_CAT_PRICES, STORE), 1);
    sl_price p;
    assert_int_equal(sl_price_lookup(f->cat, SKU_A, NOW, &p), SL_ERR_NOT_FOUND);
    assert_int_equal(stats(f).applied, 1);
    assert_int_equal(held(f, SL_CAT_STOCK, STORE), 0);
}

static void test_expired_rejected(void **state)
{
    struct fx *f = *state;
    sl__cat_price items[] = {P(SKU_A, 199, "EUR", 0)};
    sl__catmsg m = hdr(SL_CAT_PRICES, STORE, 3, SL_CAT_SNAPSHOT, NOW - 2 * HOUR);
    m.prices = items;
    m.n_items = 1;
    m.has_expires = 1;
    m.expires_at = NOW - 1;
    build_m(f, &m, g_key);
    assert_int_equal(apply(f), SL_CAT_REJECTED);
    assert_non_null(strstr(f->res.reason, "expired"));
    assert_untouched(f);
    assert_int_equal(stats(f).rejected, 1);
    /* the same message before it expired applies */
    assert_int_equal(apply_at(f, NOW - 1), SL_CAT_APPLIED);
    assert_int_equal(price_at(f, SKU_A, NOW, NULL), 199);
}

static void test_other_store_rejected(void **state)
{
    struct fx *f = *state;
    sl__cat_price items[] = {P(SKU_A, 199, "EUR", 0)};
    sl__cat_stock st[] = {S(SKU_A, 5000)};
    prices(f, "store-2", 3, SL_CAT_SNAPSHOT, NOW, items, 1);
    assert_int_equal(apply(f), SL_CAT_REJECTED);
    assert_non_null(strstr(f->res.reason, "store-2"));
    sl__catmsg m = hdr(SL_CAT_STOCK, "store-2", 1, SL_CAT_SNAPSHOT, NOW);
    m.stock = st;
    m.n_items = 1;
    build_m(f, &m, g_key);
    assert_int_equal(apply(f), SL_CAT_REJECTED);
    assert_untouched(f);
}

static void test_build_refuses_invalid(void **state)
{
    struct fx *f = *state;
    sl__cat_price ok[] = {P(SKU_A, 1, "EUR", 0)};
    sl__cat_price badcur[] = {P(SKU_A, 1, "Eur", 0)};
    sl__cat_wm wm[] = {{"device-1", 1}};
    sl__catmsg m;
    size_t len;
    m = hdr(SL_CAT_PRICES, STORE, 3, SL_CAT_DELTA, NOW);
    m.base = 1;
    m.prices = ok;
    m.n_items = 1;
    assert_int_equal(sl__catmsg_build(&m, g_key, f->buf, BUF_MAX, &len, NULL, 0), SL_ERR_INVALID);
    m = hdr(SL_CAT_PRICES, STORE, 3, SL_CAT_SNAPSHOT, NOW);
    m.prices = badcur;
    m.n_items = 1;
    assert_int_equal(sl__catmsg_build(&m, g_key, f->buf, BUF_MAX, &len, NULL, 0), SL_ERR_INVALID);
    m = hdr(SL_CAT_STOCK, "all", 3, SL_CAT_SNAPSHOT, NOW);
    assert_int_equal(sl__catmsg_build(&m, g_key, f->buf, BUF_MAX, &len, NULL, 0), SL_ERR_INVALID);
    m = hdr(SL_CAT_PRICES, STORE, 3, SL_CAT_SNAPSHOT, NOW);
    m.watermarks = wm;
    m.n_watermarks = 1;
    m.has_watermarks = 1;
    assert_int_equal(sl__catmsg_build(&m, g_key, f->buf, BUF_MAX, &len, NULL, 0), SL_ERR_INVALID);
    m = hdr(SL_CAT_PRICES, "store/1", 3, SL_CAT_SNAPSHOT, NOW);
    assert_int_equal(sl__catmsg_build(&m, g_key, f->buf, BUF_MAX, &len, NULL, 0), SL_ERR_INVALID);
    m = hdr(SL_CAT_PRICES, STORE, 3, SL_CAT_SNAPSHOT, NOW);
    m.prices = ok;
    m.n_items = 1;
    assert_int_equal(sl__catmsg_build(&m, g_key, f->buf, 20, &len, NULL, 0), SL_ERR_TOO_LARGE);

    /* the encoding is deterministic: watermarks sorted, shortest heads */
    sl__cat_wm wms[] = {{"device-10", 7}, {"dev-2", 300}, {"device-1", 5}};
    sl__catmsg pm;
    m = hdr(SL_CAT_STOCK, STORE, 1, SL_CAT_SNAPSHOT, NOW);
    m.watermarks = wms;
    m.n_watermarks = 3;
    m.has_watermarks = 1;
    assert_int_equal(sl__catmsg_build(&m, g_key, f->buf, BUF_MAX, &len, NULL, 0), SL_OK);
    const uint8_t *p;
    size_t plen;
    char why[160];
    assert_int_equal(sl__catmsg_open(f->buf, len, g_pub, &pm, &p, &plen, why, sizeof why), SL_OK);
    assert_int_equal(pm.n_watermarks, 3);
    assert_int_equal(pm.type, SL_CAT_STOCK);
    assert_int_equal(pm.issued_at, NOW);
}

static void test_topics(void **state)
{
    char t[64];
    (void)state;
    assert_int_equal(sl__cat_topic("storelink/v1", STORE, SL_CAT_PRICES, t, sizeof t), SL_OK);
    assert_string_equal(t, "storelink/v1/store-1/prices");
    assert_int_equal(sl__cat_topic("storelink/v1", STORE, SL_CAT_STOCK, t, sizeof t), SL_OK);
    assert_string_equal(t, "storelink/v1/store-1/stock");
    assert_int_equal(sl__cat_topic("storelink/v1", "all", SL_CAT_PRICES, t, sizeof t), SL_OK);
    assert_string_equal(t, "storelink/v1/all/prices");
    assert_int_equal(sl__cat_topic("storelink/v1", "all", SL_CAT_STOCK, t, sizeof t),
                     SL_ERR_INVALID);
    assert_int_equal(sl__cat_topic("storelink/v1", "a/#", SL_CAT_PRICES, t, sizeof t),
                     SL_ERR_INVALID);
    assert_int_equal(sl__cat_topic("storelink/v1", STORE, SL_CAT_PRICES, t, 10),
                     SL_ERR_TOO_LARGE);
}

/* ---- prices over time and scopes ------------------------------------------- */

static void test_scheduled_price(void **state)
{
    struct fx *f = *state;
    sl_price p;
    /* received at noon; the new price starts at midnight, when the store
     * may well be offline: the schedule is in the local copy */
    sl__cat_price items[] = {P(SKU_A, 199, "EUR", 0), P(SKU_A, 249, "EUR", MIDNIGHT)};
    prices(f, STORE, 3, SL_CAT_SNAPSHOT, NOW, items, 2);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(price_at(f, SKU_A, NOW, &p), 199);
    assert_int_equal(p.effective_from, 0);
    assert_int_equal(price_at(f, SKU_A, MIDNIGHT - 1, NULL), 199);
    assert_int_equal(price_at(f, SKU_A, MIDNIGHT, &p), 249);
    assert_int_equal(p.effective_from, MIDNIGHT);
    assert_int_equal(price_at(f, SKU_A, MIDNIGHT + 24 * HOUR, NULL), 249);

    /* a delta moves the scheduled change: a new entry at MIDNIGHT + 1 h,
     * and a correction of the one at MIDNIGHT */
    sl__cat_price d[] = {P(SKU_A, 229, "EUR", MIDNIGHT), P(SKU_A, 239, "EUR", MIDNIGHT + HOUR)};
    prices(f, STORE, 4, SL_CAT_DELTA, NOW + 1000, d, 2);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(price_at(f, SKU_A, NOW, NULL), 199);
    assert_int_equal(price_at(f, SKU_A, MIDNIGHT, NULL), 229);
    assert_int_equal(price_at(f, SKU_A, MIDNIGHT + HOUR - 1, NULL), 229);
    assert_int_equal(price_at(f, SKU_A, MIDNIGHT + HOUR, NULL), 239);
}

static void test_immediate_price_supersedes(void **state)
{
    struct fx *f = *state;
    /* v1 at 08:00 scheduled 10:00 (now past) and tomorrow midnight */
    sl__cat_price v1[] = {P(SKU_A, 199, "EUR", 0), P(SKU_A, 189, "EUR", NOW - 2 * HOUR),
                          P(SKU_A, 249, "EUR", MIDNIGHT)};
    prices(f, STORE, 1, SL_CAT_SNAPSHOT, NOW - 4 * HOUR, v1, 3);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(price_at(f, SKU_A, NOW, NULL), 189);
    /* at noon the hub says "179 immediately": it must win over the 10:00
     * entry that had already taken effect, and leave midnight's in place */
    sl__cat_price d[] = {P(SKU_A, 179, "EUR", 0)};
    prices(f, STORE, 2, SL_CAT_DELTA, NOW, d, 1);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(price_at(f, SKU_A, NOW, NULL), 179);
    assert_int_equal(price_at(f, SKU_A, NOW + HOUR, NULL), 179);
    assert_int_equal(price_at(f, SKU_A, MIDNIGHT, NULL), 249);
}

static void test_store_overrides_all(void **state)
{
    struct fx *f = *state;
    sl_price p;
    sl__cat_price all[] = {P(SKU_A, 200, "EUR", 0), P(SKU_B, 300, "EUR", 0),
                           P(SKU_C, 400, "EUR", MIDNIGHT)};
    sl__cat_price store[] = {P(SKU_A, 180, "EUR", 0), P(SKU_C, 390, "EUR", MIDNIGHT + HOUR)};
    prices(f, "all", 7, SL_CAT_SNAPSHOT, NOW - HOUR, all, 3);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    /* before the store has its own prices: chain-wide */
    assert_int_equal(price_at(f, SKU_A, NOW, &p), 200);
    assert_string_equal(p.scope, "all");
    assert_int_equal(p.version, 7);
    prices(f, STORE, 2, SL_CAT_SNAPSHOT, NOW, store, 2);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(price_at(f, SKU_A, NOW, &p), 180);
    assert_string_equal(p.scope, STORE);
    assert_int_equal(p.version, 2);
    assert_int_equal(price_at(f, SKU_B, NOW, &p), 300);
    assert_string_equal(p.scope, "all");
    assert_int_equal(p.version, 7);
    assert_int_equal(p.issued_at, NOW - HOUR);
    /* SKU C: no store entry yet at midnight -> chain-wide; then the store's */
    assert_int_equal(sl_price_lookup(f->cat, SKU_C, NOW, &p), SL_ERR_NOT_FOUND);
    assert_int_equal(price_at(f, SKU_C, MIDNIGHT, &p), 400);
    assert_string_equal(p.scope, "all");
    assert_int_equal(price_at(f, SKU_C, MIDNIGHT + HOUR, &p), 390);
    assert_string_equal(p.scope, STORE);
    /* versions are per (type, scope) */
    assert_int_equal(held(f, SL_CAT_PRICES, "all"), 7);
    assert_int_equal(held(f, SL_CAT_PRICES, STORE), 2);
}

static void test_store_change_drops_old_store(void **state)
{
    struct fx *f = *state;
    sl__cat_price items[] = {P(SKU_A, 180, "EUR", 0)};
    sl_price p;
    prices(f, STORE, 2, SL_CAT_SNAPSHOT, NOW, items, 1);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    sl_catalog_close(f->cat);
    /* the device is moved to store-2 */
    assert_int_equal(sl__catalog_open_rw(&f->cat, f->dir, "store-2", 0), SL_OK);
    sl__cat_price all[] = {P(SKU_B, 300, "EUR", 0)};
    prices(f, "all", 1, SL_CAT_SNAPSHOT, NOW, all, 1);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(sl_price_lookup(f->cat, SKU_A, NOW, &p), SL_ERR_NOT_FOUND);
    assert_int_equal(held(f, SL_CAT_PRICES, STORE), 0);
    char store[SL_CAT_ID_MAX + 1];
    assert_int_equal(sl__catalog_store(f->cat, store, sizeof store), SL_OK);
    assert_string_equal(store, "store-2");
}

/* ---- stock ------------------------------------------------------------------ */

static uint64_t record(struct fx *f, sl_kind kind, const char *sku, int64_t qty, int disp,
                       sl_reason reason)
{
    char txn[32];
    uint64_t seq = 0;
    sl_status st;
    sl_problem pr;
    if (f->j == NULL)
        assert_int_equal(sl_journal_open(&f->j, f->dir, NULL), SL_OK);
    snprintf(txn, sizeof txn, "T-%d", ++f->nrec);
    sl_event_init(f->ev, kind, txn);
    f->ev->ts_ms = NOW;
    if (kind == SL_KIND_ADJUSTMENT) {
        f->ev->reason = reason;
        assert_int_equal(sl_event_add_line(f->ev, sku, qty, 0, 0, 0), SL_OK);
    } else {
        memcpy(f->ev->currency, "EUR", 4);
        assert_int_equal(sl_event_add_line(f->ev, sku, qty, 100, 0, 0), SL_OK);
        int64_t amount = qty / 10;   /* qty x 1.00 EUR */
        assert_int_equal(sl_event_add_tender(f->ev, "cash", amount), SL_OK);
        if (kind == SL_KIND_RETURN) {
            snprintf(f->ev->original_txn_id, sizeof f->ev->original_txn_id, "T-1");
            f->ev->lines[0].disposition = (uint8_t)disp;
        }
    }
    int rc = sl_journal_record(f->j, f->ev, &seq, &st, &pr);
    if (rc != SL_OK)
        fail_msg("record: %s: %s: %s", sl_strerror(rc), pr.field, pr.reason);
    return seq;
}

static sl_stock on_hand(struct fx *f, const char *sku)
{
    sl_stock s;
    int rc = sl_stock_lookup(f->cat, f->j, DEVICE, sku, &s);
    if (rc != SL_OK)
        fail_msg("stock of %s: %s", sku, sl_strerror(rc));
    return s;
}

static void test_stock_local_records(void **state)
{
    struct fx *f = *state;
    sl_stock s;
    /* seq 1: a sale the hub already knows about */
    assert_int_equal(record(f, SL_KIND_SALE, SKU_A, 2000, 0, 0), 1);
    sl__cat_stock items[] = {S(SKU_A, 40000), S(SKU_B, 5000)};
    sl__cat_wm wm[] = {{"device-1", 1}, {"device-2", 999}};
    stock(f, 1, SL_CAT_SNAPSHOT, items, 2, wm, 2);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(f->res.watermark, 1);

    s = on_hand(f, SKU_A);
    assert_int_equal(s.on_hand_milli, 40000);   /* seq 1 is not counted twice */
    assert_int_equal(s.catalog_milli, 40000);
    assert_int_equal(s.watermark, 1);
    assert_int_equal(s.local_records, 0);
    assert_int_equal(s.version, 1);
    assert_string_equal(s.store, STORE);

    record(f, SL_KIND_SALE, SKU_A, 3000, 0, 0);                      /* seq 2 */
    assert_int_equal(on_hand(f, SKU_A).on_hand_milli, 37000);
    record(f, SL_KIND_RETURN, SKU_A, 1000, SL_DISP_RESTOCK, 0);      /* seq 3 */
    assert_int_equal(on_hand(f, SKU_A).on_hand_milli, 38000);
    record(f, SL_KIND_RETURN, SKU_A, 1000, SL_DISP_DAMAGED, 0);      /* seq 4 */
    assert_int_equal(on_hand(f, SKU_A).on_hand_milli, 38000);
    record(f, SL_KIND_ADJUSTMENT, SKU_A, 10000, 0, SL_REASON_RECEIVE); /* seq 5 */
    assert_int_equal(on_hand(f, SKU_A).on_hand_milli, 48000);
    record(f, SL_KIND_ADJUSTMENT, SKU_A, -2500, 0, SL_REASON_DAMAGE);  /* seq 6 */
    assert_int_equal(on_hand(f, SKU_A).on_hand_milli, 45500);
    record(f, SL_KIND_ADJUSTMENT, SKU_A, 30000, 0, SL_REASON_COUNT);   /* seq 7 */
    s = on_hand(f, SKU_A);
    assert_int_equal(s.on_hand_milli, 30000);   /* a count sets, it does not add */
    assert_true(s.counted);
    record(f, SL_KIND_SALE, SKU_A, 1000, 0, 0);                      /* seq 8 */
    record(f, SL_KIND_SALE, SKU_B, 1000, 0, 0);                      /* seq 9 */
    s = on_hand(f, SKU_A);
    assert_int_equal(s.on_hand_milli, 29000);   /* on top of the count */
    assert_int_equal(s.local_records, 7);       /* seqs 2-8 mention A */
    assert_int_equal(s.last_seq, 9);
    assert_int_equal(s.catalog_milli, 40000);
    s = on_hand(f, SKU_B);
    assert_int_equal(s.on_hand_milli, 4000);
    assert_int_equal(s.local_records, 1);

    /* the hub catches up through seq 5: same answer, fewer local records */
    sl__cat_stock d2[] = {S(SKU_A, 48000)};
    sl__cat_wm wm2[] = {{"device-1", 5}};
    stock(f, 2, SL_CAT_DELTA, d2, 1, wm2, 1);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    s = on_hand(f, SKU_A);
    assert_int_equal(s.on_hand_milli, 29000);
    assert_int_equal(s.watermark, 5);
    assert_int_equal(s.local_records, 3);
    assert_int_equal(s.catalog_milli, 48000);
    assert_int_equal(s.version, 2);
    assert_int_equal(on_hand(f, SKU_B).on_hand_milli, 4000);   /* B untouched by the delta */

    /* and through seq 9 in a snapshot */
    sl__cat_stock d3[] = {S(SKU_A, 29000), S(SKU_B, 4000)};
    sl__cat_wm wm3[] = {{"device-1", 9}};
    stock(f, 3, SL_CAT_SNAPSHOT, d3, 2, wm3, 1);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    s = on_hand(f, SKU_A);
    assert_int_equal(s.on_hand_milli, 29000);
    assert_int_equal(s.local_records, 0);
    assert_false(s.counted);

    /* without a journal handle: the catalog figure alone */
    assert_int_equal(sl_stock_lookup(f->cat, NULL, DEVICE, SKU_A, &s), SL_OK);
    assert_int_equal(s.on_hand_milli, 29000);
}

/* A delta restates only the SKUs it lists: the others keep the watermark of
 * the figure they came with, so local sales are not forgotten. */
static void test_stock_delta_keeps_unlisted_watermarks(void **state)
{
    struct fx *f = *state;
    sl__cat_stock snap[] = {S(SKU_A, 10000), S(SKU_B, 20000)};
    sl__cat_wm wm0[] = {{"device-1", 0}};
    stock(f, 1, SL_CAT_SNAPSHOT, snap, 2, wm0, 1);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    record(f, SL_KIND_SALE, SKU_B, 1000, 0, 0);                       /* seq 1 */
    record(f, SL_KIND_SALE, SKU_B, 1000, 0, 0);                       /* seq 2 */
    record(f, SL_KIND_SALE, SKU_A, 1000, 0, 0);                       /* seq 3 */
    assert_int_equal(on_hand(f, SKU_B).on_hand_milli, 18000);
    assert_int_equal(on_hand(f, SKU_A).on_hand_milli, 9000);
    /* the centre restates A through seq 3; B is not in the delta */
    sl__cat_stock delta[] = {S(SKU_A, 9000)};
    sl__cat_wm wm1[] = {{"device-1", 3}};
    stock(f, 2, SL_CAT_DELTA, delta, 1, wm1, 1);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(on_hand(f, SKU_A).on_hand_milli, 9000);   /* seq 3 not twice */
    assert_int_equal(on_hand(f, SKU_B).on_hand_milli, 18000);  /* seqs 1-2 kept */
    assert_int_equal(on_hand(f, SKU_B).watermark, 0);
}

static void test_stock_snapshot_without_own_watermark(void **state)
{
    struct fx *f = *state;
    /* the hub has none of this device's records: all of them count */
    record(f, SL_KIND_SALE, SKU_A, 2000, 0, 0);
    record(f, SL_KIND_SALE, SKU_A, 1000, 0, 0);
    sl__cat_stock items[] = {S(SKU_A, 10000)};
    sl__cat_wm wm[] = {{"device-2", 50}};
    stock(f, 1, SL_CAT_SNAPSHOT, items, 1, wm, 1);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    sl_stock s = on_hand(f, SKU_A);
    assert_int_equal(s.watermark, 0);
    assert_int_equal(s.on_hand_milli, 7000);
    assert_int_equal(s.local_records, 2);
}

static void test_stock_not_found(void **state)
{
    struct fx *f = *state;
    sl_stock s;
    sl__cat_price pr[] = {P(SKU_A, 1, "EUR", 0)};
    prices(f, STORE, 1, SL_CAT_SNAPSHOT, NOW, pr, 1);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    /* prices held, no stock catalog */
    assert_int_equal(sl_stock_lookup(f->cat, NULL, DEVICE, SKU_A, &s), SL_ERR_NOT_FOUND);
    assert_int_equal(s.version, 0);
    sl__cat_stock items[] = {S(SKU_A, 1000)};
    stock(f, 4, SL_CAT_SNAPSHOT, items, 1, NULL, 0);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(sl_stock_lookup(f->cat, NULL, DEVICE, SKU_B, &s), SL_ERR_NOT_FOUND);
    assert_int_equal(s.version, 4);   /* the catalog is there, the SKU is not */
    /* a stock delta after a gap changes nothing */
    sl__cat_stock d[] = {S(SKU_A, 1)};
    stock(f, 7, SL_CAT_DELTA, d, 1, NULL, 0);
    assert_int_equal(apply(f), SL_CAT_NEED_SNAPSHOT);
    assert_int_equal(f->res.type, SL_CAT_STOCK);
    assert_int_equal(f->res.held_version, 4);
    assert_int_equal(on_hand(f, SKU_A).on_hand_milli, 1000);
}

/* ---- storage ------------------------------------------------------------------ */

static void test_big_snapshot_grows_map(void **state)
{
    struct fx *f = *state;
    /* about 8 MiB of LMDB pages: more than the initial 4 MiB map */
    size_t n = 120000;
    sl__cat_price *items = calloc(n, sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++) {
        snprintf(items[i].sku, sizeof items[i].sku, "SKU-%08zu", i);
        items[i].price = 100 + i;
        memcpy(items[i].currency, "EUR", 4);
    }
    prices(f, STORE, 1, SL_CAT_SNAPSHOT, NOW, items, n);
    free(items);
    assert_int_equal(apply(f), SL_CAT_APPLIED);
    assert_int_equal(price_at(f, "SKU-00000000", NOW, NULL), 100);
    assert_int_equal(price_at(f, "SKU-00119999", NOW, NULL), 100 + 119999);
    /* the file outgrew the initial 4 MiB map, so the map was grown */
    char path[160];
    uint64_t size = 0;
    snprintf(path, sizeof path, "%s/catalog/data.mdb", f->dir);
    assert_int_equal(sl_plat_file_size(path, &size), SL_OK);
    assert_true(size > (4u << 20));
    /* a reader in another process sees it all */
    assert_true(ro_price_is(f->dir, "SKU-00060000", 100 + 60000));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_snapshot_applies),
        T(test_no_catalog_yet),
        T(test_delta_applies),
        T(test_stale_ignored_and_counted),
        T(test_gap_needs_snapshot),
        T(test_snapshot_replaces),
        T(test_tampered_rejected),
        T(test_wrong_key_rejected),
        T(test_unsigned_rejected),
        T(test_garbage_rejected),
        T(test_malformed_signed_payloads),
        T(test_expired_rejected),
        T(test_other_store_rejected),
        T(test_build_refuses_invalid),
        T(test_topics),
        T(test_scheduled_price),
        T(test_immediate_price_supersedes),
        T(test_store_overrides_all),
        T(test_store_change_drops_old_store),
        T(test_stock_local_records),
        T(test_stock_snapshot_without_own_watermark),
        T(test_stock_delta_keeps_unlisted_watermarks),
        T(test_stock_not_found),
        T(test_big_snapshot_grows_map),
    };
#undef T
    return cmocka_run_group_tests_name("catalog", tests, group_setup, group_teardown);
}
