/*
 * test_hub - the hub's ingestion (hub/ingest.c over hub/store.c) and export
 * (hub/export.c), without MQTT: a real journal and real signed batches
 * (agent/batch.c) from device keys whose certificates a throw-away CA
 * (openssl) issued, fed to hub_ingest(); the database is then checked with
 * plain SQL.  docs/PROTOCOL.md "Hub".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack.h"
#include "batch.h"
#include "crypto.h"
#include "export.h"
#include "ingest.h"
#include "journal_internal.h"
#include "log.h"
#include "store.h"
#include "storelink.h"

#define NOW 1700000000000LL
#define PREFIX "storelink/v1"
#define TOPIC_1 PREFIX "/store-1/dev-1/journal"

/* ---- keys and certificates, made once ------------------------------- */

struct device {
    sl__key *key;
    uint8_t *cert;
    size_t cert_len;
};

static char base[256];
static sl__ca *ca;
static struct device dev1, dev2, rogue;   /* rogue: CN=dev-1 from another CA */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd)
        return -1;
    return system(cmd);
}

static int make_ca(const char *name)
{
    return sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
              "-keyout %s/%s.key -out %s/%s.pem -days 30 -subj /CN=%s >/dev/null 2>&1",
              base, name, base, name, name);
}

/* A device key (sl__key_generate) and a certificate for its CSR
 * (sl__key_csr) signed by ca_name. */
static int make_device(struct device *d, const char *file, const char *cn, const char *ca_name,
                       int serial)
{
    char path[512], pem[4096];
    snprintf(path, sizeof path, "%s/%s.key", base, file);
    if (sl__key_generate(path) != SL_OK || sl__key_load(&d->key, path) != SL_OK)
        return -1;
    char subject[128];
    snprintf(subject, sizeof subject, "CN=%s,O=store-1", cn);
    if (sl__key_csr(d->key, subject, pem, sizeof pem) != SL_OK)
        return -1;
    snprintf(path, sizeof path, "%s/%s.csr", base, file);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    int bad = fputs(pem, f) < 0;
    if (fclose(f) != 0 || bad)
        return -1;
    if (sh("openssl x509 -req -in %s/%s.csr -CA %s/%s.pem -CAkey %s/%s.key -set_serial %d "
           "-days 30 -out %s/%s.pem >/dev/null 2>&1",
           base, file, base, ca_name, base, ca_name, serial, base, file) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/%s.pem", base, file);
    return sl__cert_file_der(path, &d->cert, &d->cert_len) == SL_OK ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/test_hub.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(base) == NULL)
        return -1;
    if (make_ca("ca") != 0 || make_ca("other-ca") != 0)
        return -1;
    if (make_device(&dev1, "dev-1", "dev-1", "ca", 101) != 0 ||
        make_device(&dev2, "dev-2", "dev-2", "ca", 102) != 0 ||
        make_device(&rogue, "rogue", "dev-1", "other-ca", 103) != 0)
        return -1;
    char path[512];
    snprintf(path, sizeof path, "%s/ca.pem", base);
    return sl__ca_load(&ca, path) == SL_OK ? 0 : -1;
}

static void device_free(struct device *d)
{
    sl__key_free(d->key);
    free(d->cert);
}

static int group_teardown(void **state)
{
    (void)state;
    device_free(&dev1);
    device_free(&dev2);
    device_free(&rogue);
    sl__ca_free(ca);
    return sh("rm -rf '%s'", base) == 0 ? 0 : -1;
}

/* ---- per-test fixture: a journal for dev-1 and a fresh hub database -- */

struct fx {
    char dir[512];
    char db[600];
    sl_journal *j;
    hub_store *st;
    hub_policy pol;
    sl__ack ack;
    char ack_topic[HUB_TOPIC_MAX];
};

static int64_t fixed_now(void)
{
    return NOW;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/t.XXXXXX", base);
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->db, sizeof f->db, "%s/hub.db", f->dir);
    if (sl_journal_open(&f->j, f->dir, NULL) != SL_OK ||
        hub_store_open(&f->st, f->db, HUB_STORE_CREATE) != SL_OK)
        return -1;
    f->pol.topic_prefix = PREFIX;
    f->pol.now_ms = fixed_now;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sl_journal_close(f->j);
    hub_store_close(f->st);
    free(f);
    return 0;
}

/* ---- helpers ---------------------------------------------------------- */

static void record(sl_journal *j, const char *txn, const char *currency)
{
    sl_event *ev = calloc(1, sizeof *ev);
    uint64_t seq;
    sl_status status;
    sl_problem p;
    assert_non_null(ev);
    sl_event_init(ev, SL_KIND_SALE, txn);
    ev->ts_ms = NOW;
    memcpy(ev->currency, currency, 4);
    assert_int_equal(sl_event_add_line(ev, "5901234123457", 2000, 199, 0, 0), SL_OK);
    assert_int_equal(sl_event_add_tender(ev, "card", 398), SL_OK);
    assert_int_equal(sl_journal_record(j, ev, &seq, &status, &p), SL_OK);
    assert_int_equal(status, SL_STATUS_RECORDED);
    free(ev);
}

static void record_damage(sl_journal *j, const char *txn)
{
    sl_event *ev = calloc(1, sizeof *ev);
    uint64_t seq;
    sl_status status;
    sl_problem p;
    assert_non_null(ev);
    sl_event_init(ev, SL_KIND_ADJUSTMENT, txn);
    ev->ts_ms = NOW;
    ev->reason = SL_REASON_DAMAGE;
    assert_int_equal(sl_event_add_line(ev, "MILK-1L", -2000, 0, 0, 0), SL_OK);
    assert_int_equal(sl_journal_record(j, ev, &seq, &status, &p), SL_OK);
    free(ev);
}

static void record_n(sl_journal *j, int from, int n)
{
    char txn[32];
    for (int i = from; i < from + n; i++) {
        snprintf(txn, sizeof txn, "T-%04d", i);
        record(j, txn, "EUR");
    }
}

struct batch {
    uint8_t *msg;
    size_t len;
    uint64_t first, last;
};

/* A batch of up to max records from seq from, as `device` signed by signer. */
static struct batch build_as(sl_journal *j, uint64_t from, size_t max, const char *device,
                             const char *store, const struct device *signer, int compress)
{
    struct batch b = {0};
    sl__batch_opts o = {
        .device = device, .store = store, .max_records = max, .max_bytes = 1 << 20,
        .compress = compress, .key = signer->key, .cert_der = signer->cert,
        .cert_len = signer->cert_len, .now_ms = NOW,
    };
    assert_int_equal(sl__batch_build(j, from, &o, &b.msg, &b.len, &b.first, &b.last, NULL),
                     SL_OK);
    return b;
}

static struct batch build(sl_journal *j, uint64_t from, size_t max)
{
    return build_as(j, from, max, "dev-1", "store-1", &dev1, 1);
}

static int ingest_on(struct fx *f, hub_store *st, const char *topic, const struct batch *b)
{
    memset(&f->ack, 0xaa, sizeof f->ack);   /* garbage: every field must be set */
    f->ack_topic[0] = '\0';
    return hub_ingest(st, &f->pol, ca, topic, b->msg, b->len, &f->ack, f->ack_topic,
                      sizeof f->ack_topic);
}

static int ingest(struct fx *f, const struct batch *b)
{
    return ingest_on(f, f->st, TOPIC_1, b);
}

/* One integer from SQL on a separate connection, as a report tool would. */
static long long sql_int(const struct fx *f, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    long long v = -1;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static long long rows(const struct fx *f)
{
    return sql_int(f, "SELECT count(*) FROM records");
}

static void assert_clean_ack(const struct fx *f, uint64_t through)
{
    assert_int_equal(f->ack.acked_through, through);
    assert_string_equal(f->ack.error, "");
    assert_int_equal(f->ack.resend_from, 0);
    assert_int_equal(f->ack.hub_time, NOW);
}

/* ---- tests ------------------------------------------------------------ */

static void test_first_batch_stored_and_acked(void **state)
{
    struct fx *f = *state;
    record_n(f->j, 1, 3);
    struct batch b = build(f->j, 1, 100);
    assert_int_equal(b.first, 1);
    assert_int_equal(b.last, 3);
    assert_int_equal(ingest(f, &b), SL_OK);
    assert_clean_ack(f, 3);
    assert_int_equal(f->ack.n_rejects, 0);
    assert_string_equal(f->ack_topic, PREFIX "/store-1/dev-1/ack");
    assert_int_equal(rows(f), 3);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM records WHERE device = 'dev-1' AND "
                                "store = 'store-1' AND status = 'ok' AND kind = 'sale'"), 3);
    assert_int_equal(sql_int(f, "SELECT last_seq FROM devices WHERE device = 'dev-1'"), 3);
    assert_int_equal(sql_int(f, "SELECT last_seen_ms FROM devices"), NOW);
    /* the stored hash and body are the journal's record, byte for byte */
    sl_record *rec = malloc(sizeof *rec);
    assert_non_null(rec);
    assert_int_equal(sl_journal_get(f->j, 3, rec), SL_OK);
    uint8_t h[32];
    assert_int_equal(hub_store_record_hash(f->st, "dev-1", 3, h), SL_OK);
    assert_memory_equal(h, rec->hash, 32);
    assert_int_equal(sql_int(f, "SELECT length(body) FROM records WHERE seq = 3"),
                     (long long)rec->stored_len);
    free(rec);
    /* the ack encodes and decodes as the device will read it */
    uint8_t buf[8192];
    size_t len;
    sl__ack back;
    assert_int_equal(sl__ack_encode(&f->ack, buf, sizeof buf, &len), SL_OK);
    assert_int_equal(sl__ack_decode(buf, len, &back), SL_OK);
    assert_int_equal(back.acked_through, 3);
    free(b.msg);
}

static void test_resend_is_idempotent(void **state)
{
    struct fx *f = *state;
    uint8_t a1[8192], a2[8192];
    size_t l1, l2;
    record_n(f->j, 1, 3);
    struct batch b = build(f->j, 1, 100);
    assert_int_equal(ingest(f, &b), SL_OK);
    assert_int_equal(sl__ack_encode(&f->ack, a1, sizeof a1, &l1), SL_OK);
    /* the ack got lost: the device sends the same batch again */
    assert_int_equal(ingest(f, &b), SL_OK);
    assert_int_equal(sl__ack_encode(&f->ack, a2, sizeof a2, &l2), SL_OK);
    assert_int_equal(l1, l2);
    assert_memory_equal(a1, a2, l1);
    assert_int_equal(rows(f), 3);
    /* an overlapping batch (1..5) stores only 4 and 5 */
    record_n(f->j, 4, 2);
    struct batch b2 = build(f->j, 1, 100);
    assert_int_equal(ingest(f, &b2), SL_OK);
    assert_clean_ack(f, 5);
    assert_int_equal(rows(f), 5);
    assert_int_equal(sql_int(f, "SELECT count(DISTINCT seq) FROM records"), 5);
    /* an old batch after newer ones: acked through the newest */
    assert_int_equal(ingest(f, &b), SL_OK);
    assert_clean_ack(f, 5);
    assert_int_equal(rows(f), 5);
    free(b.msg);
    free(b2.msg);
}

static void test_gap_refused_with_resend_from(void **state)
{
    struct fx *f = *state;
    record_n(f->j, 1, 5);
    struct batch b1 = build(f->j, 1, 2);
    assert_int_equal(b1.last, 2);
    assert_int_equal(ingest(f, &b1), SL_OK);
    assert_clean_ack(f, 2);
    /* batch 3 was lost: 4..5 arrives */
    struct batch b3 = build(f->j, 4, 100);
    assert_int_equal(ingest(f, &b3), SL_OK);
    assert_int_equal(f->ack.acked_through, 2);
    assert_string_equal(f->ack.error, "gap: expected seq 3");
    assert_int_equal(f->ack.resend_from, 3);
    assert_int_equal(f->ack.n_rejects, 0);
    assert_int_equal(rows(f), 2);
    assert_int_equal(sql_int(f, "SELECT last_seq FROM devices"), 2);
    /* the resend from 3 closes the gap */
    struct batch b2 = build(f->j, 3, 100);
    assert_int_equal(ingest(f, &b2), SL_OK);
    assert_clean_ack(f, 5);
    assert_int_equal(rows(f), 5);
    /* a device the hub has never seen must start at 1 */
    struct batch late = build_as(f->j, 2, 100, "dev-2", "store-1", &dev2, 1);
    assert_int_equal(ingest_on(f, f->st, PREFIX "/store-1/dev-2/journal", &late), SL_OK);
    assert_string_equal(f->ack.error, "gap: expected seq 1");
    assert_int_equal(f->ack.resend_from, 1);
    assert_int_equal(f->ack.acked_through, 0);
    assert_int_equal(rows(f), 5);
    free(b1.msg);
    free(b2.msg);
    free(b3.msg);
    free(late.msg);
}

static const uint8_t *find(const uint8_t *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return hay + i;
    return NULL;
}

static void test_tampered_batch_refused(void **state)
{
    struct fx *f = *state;
    record_n(f->j, 1, 3);
    /* uncompressed, so the txn ids are visible in the envelope */
    struct batch b = build_as(f->j, 1, 100, "dev-1", "store-1", &dev1, 0);
    uint8_t *p = (uint8_t *)find(b.msg, b.len, "T-0002");
    assert_non_null(p);
    p[5] = '9';   /* T-0009: still a valid record, no longer the signed one */
    assert_int_equal(ingest(f, &b), SL_ERR_CRYPTO);
    assert_int_equal(rows(f), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM devices"), 0);
    p[5] = '2';
    /* a flipped bit in the signature */
    b.msg[b.len - 3] ^= 0x01;
    assert_int_equal(ingest(f, &b), SL_ERR_CRYPTO);
    b.msg[b.len - 3] ^= 0x01;
    /* truncated and garbage messages */
    struct batch cut = {b.msg, b.len - 10, 0, 0};
    assert_int_equal(ingest(f, &cut), SL_ERR_CORRUPT);
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    struct batch garbage = {junk, sizeof junk, 0, 0};
    assert_int_equal(ingest(f, &garbage), SL_ERR_CORRUPT);
    struct batch empty = {junk, 0, 0, 0};
    assert_int_equal(ingest(f, &empty), SL_ERR_CORRUPT);
    assert_int_equal(rows(f), 0);
    /* the untouched batch still goes in */
    assert_int_equal(ingest(f, &b), SL_OK);
    assert_clean_ack(f, 3);
    free(b.msg);
}

static void test_other_device_key_refused(void **state)
{
    struct fx *f = *state;
    record_n(f->j, 1, 2);
    /* dev-2's key and certificate, claiming to be dev-1 on dev-1's topic */
    struct batch b = build_as(f->j, 1, 100, "dev-1", "store-1", &dev2, 1);
    assert_int_equal(ingest(f, &b), SL_ERR_CRYPTO);
    /* dev-2's key with dev-1's certificate */
    struct device mixed = {dev2.key, dev1.cert, dev1.cert_len};
    struct batch b2 = build_as(f->j, 1, 100, "dev-1", "store-1", &mixed, 1);
    assert_int_equal(ingest(f, &b2), SL_ERR_CRYPTO);
    /* a "dev-1" certificate from a CA the hub does not trust */
    struct batch b3 = build_as(f->j, 1, 100, "dev-1", "store-1", &rogue, 1);
    assert_int_equal(ingest(f, &b3), SL_ERR_CRYPTO);
    assert_int_equal(rows(f), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM devices"), 0);
    free(b.msg);
    free(b2.msg);
    free(b3.msg);
}

static void test_topic_must_match_envelope(void **state)
{
    struct fx *f = *state;
    record_n(f->j, 1, 2);
    struct batch b = build(f->j, 1, 100);
    /* dev-1's genuine batch, replayed on dev-2's topic or another store's */
    assert_int_equal(ingest_on(f, f->st, PREFIX "/store-1/dev-2/journal", &b), SL_ERR_CRYPTO);
    assert_int_equal(ingest_on(f, f->st, PREFIX "/store-9/dev-1/journal", &b), SL_ERR_CRYPTO);
    /* topics the hub does not take batches on */
    assert_int_equal(ingest_on(f, f->st, PREFIX "/store-1/dev-1/status", &b), SL_ERR_USAGE);
    assert_int_equal(ingest_on(f, f->st, "other/v1/store-1/dev-1/journal", &b), SL_ERR_USAGE);
    assert_int_equal(ingest_on(f, f->st, PREFIX "/store-1/dev-1/x/journal", &b), SL_ERR_USAGE);
    assert_int_equal(rows(f), 0);
    assert_int_equal(ingest(f, &b), SL_OK);
    assert_int_equal(rows(f), 2);
    free(b.msg);
}

static void test_topic_parse(void **state)
{
    (void)state;
    char s[HUB_ID_MAX + 1], d[HUB_ID_MAX + 1], leaf[16];
    assert_int_equal(hub_topic_parse("a/b", "a/b/st-1/dev.1/journal", s, d, leaf, sizeof leaf),
                     SL_OK);
    assert_string_equal(s, "st-1");
    assert_string_equal(d, "dev.1");
    assert_string_equal(leaf, "journal");
    assert_int_equal(hub_topic_parse("a/b", "a/bb/s/d/journal", s, d, leaf, sizeof leaf),
                     SL_ERR_INVALID);
    assert_int_equal(hub_topic_parse("a/b", "a/b/s//journal", s, d, leaf, sizeof leaf),
                     SL_ERR_INVALID);
    assert_int_equal(hub_topic_parse("a/b", "a/b/s/+/journal", s, d, leaf, sizeof leaf),
                     SL_ERR_INVALID);
    assert_int_equal(hub_topic_parse("a/b", "a/b/s/d/", s, d, leaf, sizeof leaf),
                     SL_ERR_INVALID);
    assert_int_equal(hub_topic_parse("a/b", "a/b/s/d/averyveryverylongleaf", s, d, leaf,
                                     sizeof leaf), SL_ERR_INVALID);
}

static void test_currency_rejected_but_stored(void **state)
{
    struct fx *f = *state;
    memcpy(f->pol.currencies[0], "EUR", 4);
    f->pol.n_currencies = 1;
    record(f->j, "T-0001", "EUR");
    record(f->j, "T-0002", "USD");
    record(f->j, "T-0003", "EUR");
    record_damage(f->j, "ADJ-1");    /* no currency: never a currency reject */
    struct batch b = build(f->j, 1, 100);
    assert_int_equal(ingest(f, &b), SL_OK);
    assert_clean_ack(f, 4);
    assert_int_equal(f->ack.n_rejects, 1);
    assert_int_equal(f->ack.rejects[0].seq, 2);
    assert_int_equal(f->ack.rejects[0].code, SL_REJ_CURRENCY);
    assert_string_equal(f->ack.rejects[0].reason, "currency USD not accepted");
    /* stored all the same, so the chain continues past it */
    assert_int_equal(rows(f), 4);
    assert_int_equal(sql_int(f, "SELECT seq FROM records WHERE status = 'rejected'"), 2);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM records WHERE status = 'rejected' AND "
                                "reason = 'currency USD not accepted' AND code = 2"), 1);
    assert_int_equal(sql_int(f, "SELECT rejected_count FROM devices"), 1);
    /* a resend (lost ack) lists the rejection again, counted once */
    assert_int_equal(ingest(f, &b), SL_OK);
    assert_int_equal(f->ack.n_rejects, 1);
    assert_int_equal(f->ack.rejects[0].seq, 2);
    assert_int_equal(sql_int(f, "SELECT rejected_count FROM devices"), 1);
    assert_int_equal(rows(f), 4);
    /* the next batch does not repeat seq 2's rejection */
    record(f->j, "T-0005", "EUR");
    struct batch b2 = build(f->j, 5, 100);
    assert_int_equal(ingest(f, &b2), SL_OK);
    assert_clean_ack(f, 5);
    assert_int_equal(f->ack.n_rejects, 0);
    free(b.msg);
    free(b2.msg);
}

/* A dead-letter retry (docs/PROTOCOL.md "Dead letters"): the hub judges the
 * stored rejected record again by today's rules, never inserts it twice,
 * and answers with the retried range and the records now accepted. */
static struct batch build_retry(sl_journal *j, uint64_t from, size_t max)
{
    struct batch b = {0};
    sl__batch_opts o = {
        .device = "dev-1", .store = "store-1", .max_records = max, .max_bytes = 1 << 20,
        .compress = 1, .key = dev1.key, .cert_der = dev1.cert, .cert_len = dev1.cert_len,
        .now_ms = NOW, .retry = 1,
    };
    assert_int_equal(sl__batch_build(j, from, &o, &b.msg, &b.len, &b.first, &b.last, NULL),
                     SL_OK);
    return b;
}

static void test_retry_reevaluates(void **state)
{
    struct fx *f = *state;
    memcpy(f->pol.currencies[0], "EUR", 4);
    f->pol.n_currencies = 1;
    record(f->j, "T-0001", "EUR");
    record(f->j, "T-0002", "USD");
    record(f->j, "T-0003", "EUR");
    struct batch b = build(f->j, 1, 100);
    assert_int_equal(ingest(f, &b), SL_OK);
    assert_int_equal(f->ack.n_rejects, 1);
    assert_int_equal(f->ack.retried_first, 0);   /* not a retry: no retry keys */
    assert_int_equal(f->ack.n_accepted, 0);
    /* retried while USD is still not accepted: still rejected, nothing added */
    struct batch r = build_retry(f->j, 2, 1);
    assert_int_equal(ingest(f, &r), SL_OK);
    assert_clean_ack(f, 3);
    assert_int_equal(f->ack.retried_first, 2);
    assert_int_equal(f->ack.retried_last, 2);
    assert_int_equal(f->ack.n_accepted, 0);
    assert_int_equal(f->ack.n_rejects, 1);
    assert_int_equal(f->ack.rejects[0].seq, 2);
    assert_string_equal(f->ack.rejects[0].reason, "currency USD not accepted");
    assert_int_equal(rows(f), 3);
    /* the operator adds USD: the same retry now flips the record to ok */
    memcpy(f->pol.currencies[1], "USD", 4);
    f->pol.n_currencies = 2;
    assert_int_equal(ingest(f, &r), SL_OK);
    assert_clean_ack(f, 3);
    assert_int_equal(f->ack.n_rejects, 0);
    assert_int_equal(f->ack.n_accepted, 1);
    assert_int_equal(f->ack.accepted[0], 2);
    assert_int_equal(rows(f), 3);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM records WHERE seq = 2 AND status = 'ok'"
                                " AND code = 0 AND reason IS NULL"), 1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM records WHERE status = 'rejected'"), 0);
    /* the same retry again (its ack was lost): the same answer, still once */
    assert_int_equal(ingest(f, &r), SL_OK);
    assert_int_equal(f->ack.n_accepted, 1);
    assert_int_equal(rows(f), 3);
    /* a plain resend of the range does not re-judge anything */
    memset(f->pol.currencies[1], 0, 4);
    f->pol.n_currencies = 1;
    assert_int_equal(ingest(f, &b), SL_OK);
    assert_int_equal(f->ack.n_rejects, 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM records WHERE status = 'ok'"), 3);
    free(b.msg);
    free(r.msg);
}

static void test_retry_batch_limits(void **state)
{
    struct fx *f = *state;
    record_n(f->j, 1, SL_ACK_MAX_REJECTS + 1);
    struct batch b = build(f->j, 1, 1000);
    assert_int_equal(ingest(f, &b), SL_OK);
    /* larger than an ack can answer for: refused as a whole */
    struct batch r = build_retry(f->j, 1, 1000);
    assert_int_equal(ingest(f, &r), SL_OK);
    assert_string_equal(f->ack.error, "retry batch larger than 64 records");
    assert_int_equal(f->ack.retried_first, 0);
    /* a full-size retry of records the hub holds as ok: all of them accepted */
    free(r.msg);
    r = build_retry(f->j, 1, SL_ACK_MAX_REJECTS);
    assert_int_equal(ingest(f, &r), SL_OK);
    assert_string_equal(f->ack.error, "");
    assert_int_equal(f->ack.n_accepted, SL_ACK_MAX_REJECTS);   /* all held as ok */
    assert_int_equal(rows(f), SL_ACK_MAX_REJECTS + 1);
    free(b.msg);
    free(r.msg);
}

/* The dlq_drop record has no currency: a currency policy never rejects it. */
static void test_dlq_drop_record_accepted(void **state)
{
    struct fx *f = *state;
    int adv;
    uint64_t seq;
    sl_problem p;
    memcpy(f->pol.currencies[0], "EUR", 4);
    f->pol.n_currencies = 1;
    record(f->j, "T-0001", "USD");
    sl__dead_letter d = {.seq = 1, .code = SL_REJ_CURRENCY, .when_ms = NOW, .reason = "x"};
    assert_int_equal(sl__journal_ack(f->j, 1, &d, 1, &adv), SL_OK);
    sl_event *ev = calloc(1, sizeof *ev);
    sl_event_init(ev, SL_KIND_DLQ_DROP, "storelink:dlq-drop:1");
    ev->target_seq = 1;
    memcpy(ev->target_txn_id, "T-0001", 7);
    memcpy(ev->note, "refunded", 9);
    memcpy(ev->operator_name, "alice", 6);
    assert_int_equal(sl__journal_dlq_drop(f->j, ev, &seq, &p), SL_OK);
    assert_int_equal(seq, 2);
    struct batch b = build(f->j, 1, 100);
    assert_int_equal(ingest(f, &b), SL_OK);
    assert_clean_ack(f, 2);
    assert_int_equal(f->ack.n_rejects, 1);   /* seq 1 only */
    assert_int_equal(sql_int(f, "SELECT count(*) FROM records WHERE seq = 2 AND kind = 'dlq_drop'"
                                " AND status = 'ok'"), 1);
    free(ev);
    free(b.msg);
}

/* More rejects than an ack can hold: the ack covers only the records up
 * to the first reject it cannot list, so no rejection is lost. */
static void test_many_rejects_split_over_acks(void **state)
{
    struct fx *f = *state;
    char txn[32];
    memcpy(f->pol.currencies[0], "EUR", 4);
    f->pol.n_currencies = 1;
    for (int i = 1; i <= 100; i++) {
        snprintf(txn, sizeof txn, "G-%03d", i);
        record(f->j, txn, "GBP");
    }
    struct batch b = build(f->j, 1, 100);
    assert_int_equal(ingest(f, &b), SL_OK);
    assert_int_equal(f->ack.n_rejects, SL_ACK_MAX_REJECTS);
    assert_int_equal(f->ack.acked_through, SL_ACK_MAX_REJECTS);
    assert_int_equal(f->ack.rejects[SL_ACK_MAX_REJECTS - 1].seq, SL_ACK_MAX_REJECTS);
    assert_int_equal(rows(f), 100);   /* all stored; only the ack is partial */
    /* the device resends from the ack: the next ack lists the rest */
    struct batch b2 = build(f->j, SL_ACK_MAX_REJECTS + 1, 100);
    assert_int_equal(ingest(f, &b2), SL_OK);
    assert_int_equal(f->ack.acked_through, 100);
    assert_int_equal(f->ack.n_rejects, 100 - SL_ACK_MAX_REJECTS);
    assert_int_equal(f->ack.rejects[0].seq, SL_ACK_MAX_REJECTS + 1);
    assert_int_equal(rows(f), 100);
    free(b.msg);
    free(b2.msg);
}

static void test_chain_mismatch_and_broken_chain(void **state)
{
    struct fx *f = *state;
    char other_dir[600];
    sl_journal *other;
    record_n(f->j, 1, 2);
    struct batch b = build(f->j, 1, 100);
    assert_int_equal(ingest(f, &b), SL_OK);
    assert_clean_ack(f, 2);
    /* a second journal claiming to be dev-1 (restored from another
     * backup, say): same seqs, different records */
    snprintf(other_dir, sizeof other_dir, "%s/other", f->dir);
    assert_int_equal(sl_journal_open(&other, other_dir, NULL), SL_OK);
    record(other, "X-0001", "EUR");
    record(other, "X-0002", "EUR");
    record(other, "X-0003", "EUR");
    struct batch forked = build(other, 1, 100);
    assert_int_equal(ingest(f, &forked), SL_OK);
    assert_string_equal(f->ack.error, "chain mismatch at seq 1");
    assert_int_equal(f->ack.acked_through, 2);
    assert_int_equal(f->ack.resend_from, 0);
    assert_int_equal(rows(f), 2);   /* not even seq 3 */
    /* its seq 3 alone: its prev is not the hash of our seq 2 */
    struct batch next = build(other, 3, 100);
    assert_int_equal(next.first, 3);
    assert_int_equal(ingest(f, &next), SL_OK);
    assert_string_equal(f->ack.error, "broken chain at seq 3");
    assert_int_equal(f->ack.acked_through, 2);
    assert_int_equal(rows(f), 2);
    assert_int_equal(sql_int(f, "SELECT last_seq FROM devices"), 2);
    sl_journal_close(other);
    free(b.msg);
    free(forked.msg);
    free(next.msg);
}

static void test_two_hubs_share_chain_state(void **state)
{
    struct fx *f = *state;
    hub_store *second;
    /* a second hub process on the same database (shared subscription) */
    assert_int_equal(hub_store_open(&second, f->db, HUB_STORE_CREATE), SL_OK);
    record_n(f->j, 1, 6);
    struct batch b1 = build(f->j, 1, 2), b2 = build(f->j, 3, 2), b3 = build(f->j, 5, 2);
    assert_int_equal(ingest_on(f, f->st, TOPIC_1, &b1), SL_OK);
    assert_clean_ack(f, 2);
    assert_int_equal(ingest_on(f, second, TOPIC_1, &b2), SL_OK);
    assert_clean_ack(f, 4);
    assert_int_equal(ingest_on(f, f->st, TOPIC_1, &b3), SL_OK);
    assert_clean_ack(f, 6);
    /* and a resend to the other one is still a duplicate */
    assert_int_equal(ingest_on(f, second, TOPIC_1, &b1), SL_OK);
    assert_clean_ack(f, 6);
    assert_int_equal(rows(f), 6);
    hub_store_close(second);
    free(b1.msg);
    free(b2.msg);
    free(b3.msg);
}

struct collect {
    int n;
    char *json[8];
};

static int collect_row(const hub_row *row, void *vctx)
{
    struct collect *c = vctx;
    if (c->n >= 8)
        return 1;
    return hub_export_json(row, &c->json[c->n++]);
}

static json_t *parse(const char *s)
{
    json_error_t e;
    json_t *o = json_loads(s, 0, &e);
    assert_non_null(o);
    return o;
}

static void test_export_json(void **state)
{
    struct fx *f = *state;
    struct collect c = {0};
    char hex[65];
    memcpy(f->pol.currencies[0], "EUR", 4);
    f->pol.n_currencies = 1;
    record(f->j, "T-0001", "EUR");
    record(f->j, "T-0002", "USD");
    record_damage(f->j, "ADJ-1");
    struct batch b = build(f->j, 1, 100);
    assert_int_equal(ingest(f, &b), SL_OK);
    assert_int_equal(hub_store_foreach(f->st, 0, NULL, 0, collect_row, &c), SL_OK);
    assert_int_equal(c.n, 3);

    sl_record *rec = malloc(sizeof *rec);
    assert_non_null(rec);
    assert_int_equal(sl_journal_get(f->j, 1, rec), SL_OK);
    json_t *o = parse(c.json[0]);
    assert_int_equal(json_integer_value(json_object_get(o, "id")), 1);
    assert_string_equal(json_string_value(json_object_get(o, "device")), "dev-1");
    assert_string_equal(json_string_value(json_object_get(o, "store")), "store-1");
    assert_string_equal(json_string_value(json_object_get(o, "status")), "ok");
    assert_null(json_object_get(o, "reject_reason"));
    assert_int_equal(json_integer_value(json_object_get(o, "seq")), 1);
    assert_string_equal(json_string_value(json_object_get(o, "kind")), "sale");
    assert_string_equal(json_string_value(json_object_get(o, "txn_id")), "T-0001");
    assert_string_equal(json_string_value(json_object_get(o, "currency")), "EUR");
    assert_int_equal(json_integer_value(json_object_get(o, "ts")), NOW);
    assert_int_equal(json_integer_value(json_object_get(o, "total")), 398);
    sl_hash_hex(rec->hash, hex);
    assert_string_equal(json_string_value(json_object_get(o, "hash")), hex);
    sl_hash_hex(rec->prev_hash, hex);
    assert_string_equal(json_string_value(json_object_get(o, "prev_hash")), hex);
    json_decref(o);
    /* the hub's fields come first, then the record as the agent exports it */
    assert_true(strncmp(c.json[0], "{\"id\":1,\"device\":\"dev-1\",\"store\":\"store-1\","
                                   "\"status\":\"ok\",\"seq\":1,", 60) == 0);

    o = parse(c.json[1]);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "rejected");
    assert_int_equal(json_integer_value(json_object_get(o, "reject_code")), SL_REJ_CURRENCY);
    assert_string_equal(json_string_value(json_object_get(o, "reject_reason")),
                        "currency USD not accepted");
    assert_string_equal(json_string_value(json_object_get(o, "currency")), "USD");
    json_decref(o);

    /* an adjustment keeps its own "reason" */
    o = parse(c.json[2]);
    assert_string_equal(json_string_value(json_object_get(o, "kind")), "adjustment");
    assert_string_equal(json_string_value(json_object_get(o, "reason")), "damage");
    assert_string_equal(json_string_value(json_object_get(o, "status")), "ok");
    json_decref(o);

    /* paging: --since 1 gives ids 2 and 3, as lines */
    char out[600];
    snprintf(out, sizeof out, "%s/export.jsonl", f->dir);
    FILE *fp = fopen(out, "w+");
    uint64_t n = 0;
    assert_non_null(fp);
    assert_int_equal(hub_export_jsonl(f->st, 1, "dev-1", fp, &n), SL_OK);
    assert_int_equal(n, 2);
    rewind(fp);
    char line[4096];
    assert_non_null(fgets(line, sizeof line, fp));
    assert_true(strncmp(line, "{\"id\":2,", 8) == 0);
    assert_non_null(fgets(line, sizeof line, fp));
    assert_true(strncmp(line, "{\"id\":3,", 8) == 0);
    assert_null(fgets(line, sizeof line, fp));
    fclose(fp);
    assert_int_equal(hub_store_count(f->st, "dev-2", &n), SL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(hub_store_count(f->st, NULL, &n), SL_OK);
    assert_int_equal(n, 3);

    for (int i = 0; i < c.n; i++)
        free(c.json[i]);
    free(rec);
    free(b.msg);
}

static void test_export_detects_corrupt_body(void **state)
{
    struct fx *f = *state;
    struct collect c = {0};
    sqlite3 *db;
    record_n(f->j, 1, 1);
    struct batch b = build(f->j, 1, 100);
    assert_int_equal(ingest(f, &b), SL_OK);
    /* someone edits the stored record in place: the hash no longer matches */
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE records SET hash = zeroblob(32)", NULL, NULL,
                                  NULL), SQLITE_OK);
    assert_int_equal(hub_store_foreach(f->st, 0, NULL, 0, collect_row, &c), SL_ERR_CORRUPT);
    assert_int_equal(c.n, 1);
    assert_null(c.json[0]);
    /* or the body no longer decodes */
    assert_int_equal(sqlite3_exec(db, "UPDATE records SET body = body || x'00'", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_close(db);
    c.n = 0;
    assert_int_equal(hub_store_foreach(f->st, 0, NULL, 0, collect_row, &c), SL_ERR_CORRUPT);
    for (int i = 0; i < c.n; i++)
        free(c.json[i]);
    free(b.msg);
}

static int count_device(const hub_device_row *d, void *vctx)
{
    int *n = vctx;
    assert_string_equal(d->device, "dev-1");
    assert_string_equal(d->store, "store-1");
    assert_int_equal(d->last_seq, 2);
    assert_int_equal(d->status_len, 5);
    assert_int_equal(d->status_ms, NOW + 1);
    (*n)++;
    return 0;
}

static void test_status_and_devices(void **state)
{
    struct fx *f = *state;
    int n = 0;
    /* a status before any batch creates the device at seq 0 */
    assert_int_equal(hub_store_status_put(f->st, "dev-1", "store-1", "hello", 5, NOW - 5),
                     SL_OK);
    assert_int_equal(sql_int(f, "SELECT last_seq FROM devices"), 0);
    record_n(f->j, 1, 2);
    struct batch b = build(f->j, 1, 100);
    assert_int_equal(ingest(f, &b), SL_OK);
    assert_clean_ack(f, 2);
    assert_int_equal(hub_store_status_put(f->st, "dev-1", "store-1", "world", 5, NOW + 1),
                     SL_OK);
    assert_int_equal(hub_store_devices(f->st, count_device, &n), SL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(hub_store_status_put(f->st, "dev-1", "store-1", "x", HUB_STATUS_MAX + 1,
                                          NOW), SL_ERR_TOO_LARGE);
    free(b.msg);
}

static void test_readonly_open(void **state)
{
    struct fx *f = *state;
    hub_store *ro;
    uint64_t n = 99;
    char path[700];
    sqlite3 *db;
    record_n(f->j, 1, 2);
    struct batch b = build(f->j, 1, 100);
    assert_int_equal(ingest(f, &b), SL_OK);
    /* the report commands read next to a running hub, never writing */
    assert_int_equal(hub_store_open(&ro, f->db, HUB_STORE_READONLY), SL_OK);
    assert_int_equal(hub_store_count(ro, NULL, &n), SL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(hub_store_status_put(ro, "dev-1", "store-1", "x", 1, NOW), SL_ERR_PERM);
    hub_store_close(ro);
    snprintf(path, sizeof path, "%s/none.db", f->dir);
    assert_int_equal(hub_store_open(&ro, path, HUB_STORE_READONLY), SL_ERR_NOT_FOUND);
    assert_int_equal(hub_store_open(&ro, path, HUB_STORE_READONLY | HUB_STORE_CREATE),
                     SL_ERR_USAGE);
    /* some other SQLite file is not taken for a hub database */
    snprintf(path, sizeof path, "%s/other.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(hub_store_open(&ro, path, HUB_STORE_READONLY), SL_ERR_CORRUPT);
    assert_int_equal(hub_store_open(&ro, path, 0), SL_ERR_CORRUPT);
    free(b.msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_batch_stored_and_acked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resend_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_refused_with_resend_from, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_batch_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_device_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topic_must_match_envelope, setup, teardown),
        cmocka_unit_test(test_topic_parse),
        cmocka_unit_test_setup_teardown(test_currency_rejected_but_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_mismatch_and_broken_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_rejects_split_over_acks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_reevaluates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_batch_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dlq_drop_record_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_hubs_share_chain_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_detects_corrupt_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_and_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_open, setup, teardown),
    };
    /* the hub logs every refusal; TEST_VERBOSE=1 shows the lines */
    const char *v = getenv("TEST_VERBOSE");
    hub_log_set_level(v && v[0] == '1' ? SL_LOG_DEBUG : 0);
    return cmocka_run_group_tests_name("hub", tests, group_setup, group_teardown);
}
