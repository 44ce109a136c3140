/*
 * mkseeds - writes the seed corpora of tests/fuzz/corpus/<target>/ from real
 * messages made by the product's own encoders (run by tests/fuzz/mkseeds.sh,
 * which makes the throwaway device key and certificate; the committed seeds
 * hold only public data: no key is written into them).
 *
 * usage: mkseeds OUTDIR SCRATCHDIR DEVICE_KEY DEVICE_CERT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ack.h"
#include "barcode.h"
#include "batch.h"
#include "catmsg.h"
#include "codec.h"
#include "crypto.h"
#include "dayclose.h"
#include "framing.h"
#include "hash.h"
#include "json_event.h"
#include "statusmsg.h"
#include "storelink.h"

static const char *outdir;

static const char *const events[] = {
    "{\"kind\":\"sale\",\"txn_id\":\"T-1001\",\"ts\":1763893200000,\"currency\":\"EUR\",\"lines\":"
    "[{\"sku\":\"4006381333931\",\"qty\":2,\"unit_price\":199,\"discount\":0,\"tax\":38}],"
    "\"tenders\":[{\"method\":\"card\",\"amount\":436}]}",
    "{\"kind\":\"return\",\"txn_id\":\"R-77\",\"ts\":1763893500000,\"original_txn_id\":\"T-1001\","
    "\"currency\":\"EUR\",\"lines\":[{\"sku\":\"4006381333931\",\"qty\":1,\"unit_price\":199,"
    "\"tax\":19,\"disposition\":\"restock\"}],\"refunds\":[{\"method\":\"card\",\"amount\":218}]}",
    "{\"kind\":\"adjustment\",\"txn_id\":\"A-5\",\"ts\":1763893800000,\"reason\":\"damage\","
    "\"location\":\"aisle-4\",\"lines\":[{\"sku\":\"4006381333931\",\"qty\":-3}]}",
    "{\"kind\":\"sale\",\"txn_id\":\"T-1002\",\"ts\":1763894100000,\"currency\":\"EUR\",\"lines\":"
    "[{\"sku\":\"2000000000015\",\"qty\":1.235,\"unit_price\":299,\"tax\":26},{\"sku\":"
    "\"4006381333931\",\"qty\":1,\"unit_price\":199,\"discount\":20,\"tax\":13}],\"tenders\":"
    "[{\"method\":\"cash\",\"amount\":1000}]}",
    "{\"kind\":\"sale\",\"txn_id\":\"U-9\",\"ts\":1763894200000,\"currency\":\"USD\","
    "\"tax_included\":true,\"lines\":[{\"sku\":\"012345678905\",\"qty\":3,\"unit_price\":250}],"
    "\"tenders\":[{\"method\":\"cash\",\"amount\":500},{\"method\":\"card\",\"amount\":250}]}",
    "{\"kind\":\"adjustment\",\"txn_id\":\"C-1\",\"ts\":1763894300000,\"reason\":\"count\","
    "\"lines\":[{\"sku\":\"4006381333931\",\"qty\":17,\"expected\":20}]}",
    "{\"kind\":\"adjustment\",\"txn_id\":\"A-6\",\"ts\":1763894400000,\"reason\":\"receive\","
    "\"lines\":[{\"sku\":\"4006381333931\",\"qty\":12}]}",
};
#define N_EVENTS (sizeof events / sizeof events[0])

static void die(const char *what)
{
    fprintf(stderr, "mkseeds: %s\n", what);
    exit(1);
}

static void put(const char *target, const char *name, const void *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", outdir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        die(path);
    snprintf(path, sizeof path, "%s/%s/%s", outdir, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        die(path);
}

static sl_event ev[N_EVENTS];

static void json_and_codec(void)
{
    uint8_t buf[SL_RECORD_MAX], prev[32] = {0};
    char name[64];
    size_t n;
    for (size_t i = 0; i < N_EVENTS; i++) {
        sl_problem p;
        snprintf(name, sizeof name, "event-%zu.json", i);
        put("json_event", name, events[i], strlen(events[i]));
        if (sl__json_parse_event(events[i], strlen(events[i]), &ev[i], &p) != SL_OK ||
            sl_event_validate(&ev[i], &p) != SL_OK) {
            fprintf(stderr, "event %zu: %s: %s\n", i, p.field, p.reason);
            die("a seed event does not parse");
        }
        if (sl__codec_encode(&ev[i], SL_ENC_STORED, i + 1, prev, NULL, buf, sizeof buf, &n) != SL_OK)
            die("encode");
        snprintf(name, sizeof name, "stored-%zu.cbor", i);
        put("codec", name, buf, n);
        sl__sha256(buf, n, prev);
        if (sl__codec_encode(&ev[i], SL_ENC_CONTENT, 0, NULL, NULL, buf, sizeof buf, &n) != SL_OK)
            die("encode");
        snprintf(name, sizeof name, "content-%zu.cbor", i);
        put("codec", name, buf, n);
        if (sl__codec_encode(&ev[i], SL_ENC_WIRE, 0, NULL, "EUR", buf, sizeof buf, &n) != SL_OK)
            die("encode");
        snprintf(name, sizeof name, "wire-%zu.cbor", i);
        put("codec", name, buf, n);
    }
    /* a pretty-printed event: the one-value form of `storelink record` */
    static const char pretty[] =
        "{\n  \"kind\": \"sale\",\n  \"txn_id\": \"P-1\",\n  \"currency\": \"EUR\",\n"
        "  \"lines\": [\n    {\"sku\": \"4006381333931\", \"qty\": 1, \"unit_price\": 199, "
        "\"tax\": 19}\n  ],\n  \"tenders\": [{\"method\": \"cash\", \"amount\": 218}]\n}\n";
    put("json_event", "pretty.json", pretty, sizeof pretty - 1);
}

static void acks(void)
{
    static sl__ack a;
    uint8_t buf[8192];
    size_t n;
    memset(&a, 0, sizeof a);
    a.acked_through = 500;
    a.hub_time = 1763893200123;
    if (sl__ack_encode(&a, buf, sizeof buf, &n) != SL_OK) die("ack");
    put("ack", "plain.cbor", buf, n);
    a.n_rejects = 2;
    a.rejects[0] = (sl__ack_reject){17, SL_REJ_INVALID, "lines[0].qty: must not be 0"};
    a.rejects[1] = (sl__ack_reject){18, SL_REJ_CURRENCY, "currency GBP not accepted"};
    if (sl__ack_encode(&a, buf, sizeof buf, &n) != SL_OK) die("ack");
    put("ack", "rejects.cbor", buf, n);
    memset(&a, 0, sizeof a);
    a.acked_through = 41;
    a.hub_time = 1763893200999;
    snprintf(a.error, sizeof a.error, "gap: expected seq 42");
    a.resend_from = 42;
    if (sl__ack_encode(&a, buf, sizeof buf, &n) != SL_OK) die("ack");
    put("ack", "gap.cbor", buf, n);
}

static void catalog(const char *scratch)
{
    char kp[1024];
    sl__key *key = NULL;
    uint8_t buf[16384];
    size_t n;
    char why[160];
    snprintf(kp, sizeof kp, "%s/catalog.key", scratch);
    if (sl__key_generate(kp) != SL_OK || sl__key_load(&key, kp) != SL_OK)
        die("catalog key");
    sl__cat_price prices[3] = {
        {"4006381333931", 199, "EUR", 0},
        {"2000000000015", 299, "EUR", 1763899200000},
        {"012345678905", 250, "USD", 0},
    };
    sl__cat_stock stock[2] = {{"4006381333931", 12000}, {"2000000000015", -1500}};
    sl__cat_wm wms[2] = {{"till-1", 40}, {"till-22", 7}};
    sl__catmsg m = {.type = SL_CAT_PRICES, .kind = SL_CAT_SNAPSHOT, .scope = "store-1",
                    .version = 3, .issued_at = 1763893200000, .n_items = 3, .prices = prices};
    if (sl__catmsg_build(&m, key, buf, sizeof buf, &n, why, sizeof why) != SL_OK) die(why);
    put("catmsg", "prices-snapshot.cbor", buf, n);
    m.kind = SL_CAT_DELTA;
    m.version = 4;
    m.base = 3;
    m.has_expires = 1;
    m.expires_at = 1763979600000;
    m.n_items = 1;
    if (sl__catmsg_build(&m, key, buf, sizeof buf, &n, why, sizeof why) != SL_OK) die(why);
    put("catmsg", "prices-delta.cbor", buf, n);
    sl__catmsg s = {.type = SL_CAT_STOCK, .kind = SL_CAT_SNAPSHOT, .scope = "store-1",
                    .version = 9, .issued_at = 1763893200000, .n_items = 2, .stock = stock,
                    .has_watermarks = 1, .n_watermarks = 2, .watermarks = wms};
    if (sl__catmsg_build(&s, key, buf, sizeof buf, &n, why, sizeof why) != SL_OK) die(why);
    put("catmsg", "stock-snapshot.cbor", buf, n);
    s.kind = SL_CAT_DELTA;
    s.version = 10;
    s.base = 9;
    s.n_items = 1;
    s.n_watermarks = 1;
    if (sl__catmsg_build(&s, key, buf, sizeof buf, &n, why, sizeof why) != SL_OK) die(why);
    put("catmsg", "stock-delta.cbor", buf, n);
    sl__catmsg all = {.type = SL_CAT_PRICES, .kind = SL_CAT_SNAPSHOT, .scope = "all",
                      .version = 1, .issued_at = 1763893200000, .n_items = 2, .prices = prices};
    if (sl__catmsg_build(&all, key, buf, sizeof buf, &n, why, sizeof why) != SL_OK) die(why);
    put("catmsg", "prices-all.cbor", buf, n);
    sl__key_free(key);

    sl__catreq q = {SL_CAT_PRICES, "store-1", 3};
    if (sl__catreq_encode(&q, buf, sizeof buf, &n) != SL_OK) die("catreq");
    put("catreq", "prices.cbor", buf, n);
    sl__catreq q2 = {SL_CAT_STOCK, "store-1", 0};
    if (sl__catreq_encode(&q2, buf, sizeof buf, &n) != SL_OK) die("catreq");
    put("catreq", "stock.cbor", buf, n);
    sl__catreq q3 = {SL_CAT_PRICES, "all", 12};
    if (sl__catreq_encode(&q3, buf, sizeof buf, &n) != SL_OK) die("catreq");
    put("catreq", "all.cbor", buf, n);
}

static void batches(const char *scratch, const char *keyfile, const char *certfile)
{
    char dir[1024];
    sl_journal *j = NULL;
    sl__key *key = NULL;
    uint8_t *der = NULL;
    size_t derlen;
    snprintf(dir, sizeof dir, "%s/state", scratch);
    if (sl_journal_open(&j, dir, NULL) != SL_OK) die("journal");
    if (sl__key_load(&key, keyfile) != SL_OK) die("device key");
    if (sl__cert_file_der(certfile, &der, &derlen) != SL_OK) die("device cert");
    /* a few copies of the events under new txn ids, so a batch has enough
     * records for zstd to pay off */
    for (int round = 0; round < 6; round++)
        for (size_t i = 0; i < N_EVENTS; i++) {
            sl_event e = ev[i];
            uint64_t seq;
            sl_status st;
            sl_problem p;
            snprintf(e.txn_id, sizeof e.txn_id, "%s-%d", ev[i].txn_id, round);
            e.ts_ms += round * 60000;
            if (sl_journal_record(j, &e, &seq, &st, &p) != SL_OK) die("record");
        }
    struct { const char *name; uint64_t from; size_t max; int comp; } plan[] = {
        {"one.cbor", 1, 1, 0},
        {"three.cbor", 2, 3, 0},
        {"ten-zstd.cbor", 1, 10, 1},
        {"all-plain.cbor", 1, 500, 0},
        {"all-zstd.cbor", 1, 500, 1},
    };
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
        sl__batch_opts o = {.device = "till-1", .store = "store-1", .max_records = plan[i].max,
                            .max_bytes = 65536, .compress = plan[i].comp, .key = key,
                            .cert_der = der, .cert_len = derlen, .now_ms = 1763893200000};
        uint8_t *msg = NULL;
        size_t len, raw;
        uint64_t first, last;
        if (sl__batch_build(j, plan[i].from, &o, &msg, &len, &first, &last, &raw) != SL_OK)
            die("batch build");
        put("batch", plan[i].name, msg, len);
        /* the body alone for fuzz_batch_body: first byte 1 = batch currency
         * "EUR", first seq 1 (the wire form does not depend on it) */
        sl__batch_in b;
        char why[160];
        if (sl__batch_parse(msg, len, &b, why, sizeof why) != SL_OK) die(why);
        uint8_t *body = malloc(b.body_len + 1);
        if (body == NULL) die("memory");
        body[0] = strcmp(b.currency, "EUR") == 0 ? 1 : 0;
        memcpy(body + 1, b.body, b.body_len);
        put("batch_body", plan[i].name, body, b.body_len + 1);
        free(body);
        sl__batch_in_free(&b);
        free(msg);
    }
    free(der);
    sl__key_free(key);
    sl_journal_close(j);
}

/* day_close records (the codec target): one close with sales, returns,
 * tenders and adjustments after a previous close, and an empty first one */
static void day_closes(void)
{
    static sl_event d;
    uint8_t buf[SL_RECORD_MAX], prev[32] = {0x5a};
    size_t n;
    sl_problem p;
    for (int i = 0; i < 2; i++) {
        sl_event_init(&d, SL_KIND_DAY_CLOSE, "");
        d.ts_ms = 1763942400000LL;
        sl_day_close *c = &d.day;
        if (i == 0) {
            sl__day_init(c, 20415, "Europe/Berlin", 240);   /* 2025-11-23 */
            snprintf(c->prev_date, sizeof c->prev_date, "2025-11-22");
            c->prev_seq = 40;
            c->first_seq = 41;
            c->last_seq = 47;
            memset(c->last_hash, 0xab, sizeof c->last_hash);
            c->records = 7;
            c->clock_untrusted = 1;
            c->n_totals = 2;
            c->totals[0] = (sl_day_total){SL_KIND_SALE, "EUR", 5, 12345, 1970};
            c->totals[1] = (sl_day_total){SL_KIND_RETURN, "EUR", 1, -199, -32};
            c->n_methods = 2;
            c->methods[0] = (sl_day_method){SL_KIND_SALE, "EUR", "card", 3, 10000};
            c->methods[1] = (sl_day_method){SL_KIND_SALE, "EUR", "cash", 2, 2345};
            c->n_units = 1;
            c->units[0] = (sl_day_units){SL_REASON_DAMAGE, 1, -2000};
            c->through_seq = 48;
        } else {
            sl__day_init(c, 20414, "UTC", 0);
        }
        snprintf(d.txn_id, sizeof d.txn_id, "day-close:%s", c->date);
        if (sl_event_validate(&d, &p) != SL_OK) {
            fprintf(stderr, "day close %d: %s: %s\n", i, p.field, p.reason);
            die("a seed day close does not validate");
        }
        char name[64];
        if (sl__codec_encode(&d, SL_ENC_STORED, 48, prev, NULL, buf, sizeof buf, &n) != SL_OK)
            die("encode day close");
        snprintf(name, sizeof name, "day-close-stored-%d.cbor", i);
        put("codec", name, buf, n);
        if (sl__codec_encode(&d, SL_ENC_WIRE, 0, NULL, "EUR", buf, sizeof buf, &n) != SL_OK)
            die("encode day close");
        snprintf(name, sizeof name, "day-close-wire-%d.cbor", i);
        put("codec", name, buf, n);
    }
}

/* status messages (the statusmsg target): the last will (keys 1-5), a
 * healthy full status and a degraded one with an error */
static void statuses(void)
{
    static sl__status s;
    uint8_t buf[SL_STATUSMSG_MAX];
    size_t n;
    sl__status_init(&s, 0, 1763900000000LL, 40, 47, NULL);
    if (sl__status_encode(&s, buf, sizeof buf, &n) != SL_OK)
        die("encode status");
    put("statusmsg", "will.cbor", buf, n);
    sl__status_init(&s, 1, 1763900000000LL, 47, 47, "0.9.0");
    sl__status_set_u(&s, SL_ST_UNACKED, 0);
    sl__status_set_i(&s, SL_ST_OLDEST_TS, 0);
    sl__status_set_u(&s, SL_ST_DEAD, 0);
    sl__status_set_u(&s, SL_ST_INFLIGHT, 0);
    sl__status_set_i(&s, SL_ST_LAST_ACK, 1763899990000LL);
    sl__status_set_u(&s, SL_ST_PRICES_VER, 12);
    sl__status_set_i(&s, SL_ST_PRICES_AT, 1763890000000LL);
    sl__status_set_u(&s, SL_ST_STOCK_VER, 3);
    sl__status_set_i(&s, SL_ST_STOCK_AT, 1763880000000LL);
    sl__status_set_i(&s, SL_ST_STARTED, 1763800000000LL);
    sl__status_set_u(&s, SL_ST_HEALTH, SL_HEALTH_HEALTHY);
    sl__status_set_i(&s, SL_ST_CERT_NOT_AFTER, 1795436000000LL);
    sl__status_set_u(&s, SL_ST_RESENT, 0);
    sl__status_set_u(&s, SL_ST_REJECTED, 0);
    sl__status_set_i(&s, SL_ST_CONN_SINCE, 1763899000000LL);
    sl__status_set_u(&s, SL_ST_JOURNAL_USED, 1 << 20);
    sl__status_set_u(&s, SL_ST_JOURNAL_LIMIT, 512u << 20);
    sl__status_set_u(&s, SL_ST_CHAIN_PRICES_VER, 4);
    sl__status_set_error(&s, "");
    if (sl__status_encode(&s, buf, sizeof buf, &n) != SL_OK)
        die("encode status");
    put("statusmsg", "full.cbor", buf, n);
    sl__status_set_u(&s, SL_ST_UNACKED, 1200);
    sl__status_set_i(&s, SL_ST_OLDEST_TS, 1763890000000LL);
    sl__status_set_u(&s, SL_ST_DEAD, 2);
    sl__status_set_u(&s, SL_ST_HEALTH, SL_HEALTH_DEGRADED);
    sl__status_set_error(&s, "TLS verify failure: certificate expired (d\xc3\xa9j\xc3\xa0)");
    if (sl__status_encode(&s, buf, sizeof buf, &n) != SL_OK)
        die("encode status");
    put("statusmsg", "degraded.cbor", buf, n);
}

/* key events (the framing target: first byte odd, then 8-byte records
 * type, code, value) typing each scan as a US-layout wedge scanner does:
 * shift when needed, press and release, SYN after each, Enter at the end */
static size_t ev_put(uint8_t *o, uint16_t type, uint16_t code, int32_t value)
{
    uint32_t v = (uint32_t)value;
    uint8_t e[8] = {(uint8_t)type, (uint8_t)(type >> 8), (uint8_t)code, (uint8_t)(code >> 8),
                    (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    memcpy(o, e, 8);
    return 8;
}

static void keys(const char *name, const char *scan, uint16_t end)
{
    static uint8_t buf[1 + 64 * 8 * 128];
    size_t n = 0;
    buf[n++] = 1;
    for (const char *c = scan; *c; c++) {
        uint16_t code = 0;
        int shift = 0;
        for (uint16_t k = 1; k < 256 && code == 0; k++)
            for (int sh = 0; sh < 2; sh++)
                if (sl__kbd_char(k, sh) == *c) {
                    code = k;
                    shift = sh;
                    break;
                }
        if (code == 0)
            die("a seed scan has a character the layout cannot type");
        if (shift)
            n += ev_put(buf + n, 1 /* EV_KEY */, 42 /* KEY_LEFTSHIFT */, 1);
        n += ev_put(buf + n, 4 /* EV_MSC */, 4 /* MSC_SCAN */, 0x70000 + code);
        n += ev_put(buf + n, 1, code, 1);
        n += ev_put(buf + n, 0 /* EV_SYN */, 0, 0);
        n += ev_put(buf + n, 1, code, 0);
        if (shift)
            n += ev_put(buf + n, 1, 42, 0);
        n += ev_put(buf + n, 0, 0, 0);
    }
    n += ev_put(buf + n, 1, end, 1);
    n += ev_put(buf + n, 1, end, 0);
    n += ev_put(buf + n, 0, 0, 0);
    put("framing", name, buf, n);
}

static void scans(void)
{
    keys("keys-ean13", "4006381333931", 28 /* KEY_ENTER */);
    keys("keys-qty-then-upc", "QTY12", 15 /* KEY_TAB */);
    keys("keys-gs1-human", "(01)04006381333931(17)271231(10)AB-1", 96 /* KEY_KPENTER */);
    keys("keys-sku", "SKU-Blue_shirt.XL", 28);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: mkseeds OUTDIR SCRATCHDIR DEVICE_KEY DEVICE_CERT\n");
        return 64;
    }
    outdir = argv[1];
    json_and_codec();
    acks();
    catalog(argv[2]);
    batches(argv[2], argv[3], argv[4]);
    day_closes();
    statuses();
    scans();
    return 0;
}
