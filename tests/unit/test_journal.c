/*
 * test_journal - the LMDB journal (agent/journal.c): gapless sequence
 * numbers, idempotent recording by txn_id, group commit, read back, the
 * hash chain and its verification, the size cap, several processes
 * recording at once, and tamper detection.
 *
 * Every test gets a fresh state directory from mkdtemp() under /tmp, removed
 * by the teardown.
 */
#define _XOPEN_SOURCE 700   /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "storelink.h"

#define TS 1763893200000LL   /* 2025-11-23 10:20 UTC */

struct fx {
    char dir[64];
    sl_journal *j;
    sl_event *ev;
    sl_record *rec;
};

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/sl-test-journal.XXXXXX");
    f->ev = malloc(sizeof *f->ev);
    f->rec = malloc(sizeof *f->rec);
    if (mkdtemp(f->dir) == NULL || f->ev == NULL || f->rec == NULL) {
        free(f->ev);
        free(f->rec);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sl_journal_close(f->j);   /* a failed test may leave it open */
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f->ev);
    free(f->rec);
    free(f);
    return 0;
}

static void open_j(struct fx *f, uint64_t max_mb)
{
    sl_journal_opts o = {max_mb, 0};
    assert_null(f->j);
    assert_int_equal(sl_journal_open(&f->j, f->dir, &o), SL_OK);
    assert_non_null(f->j);
}

static void close_j(struct fx *f)
{
    sl_journal_close(f->j);
    f->j = NULL;
}

/* a valid sale: one line of qty 1 at price, paid in cash */
static sl_event *sale(sl_event *ev, const char *txn, int64_t price, int64_t ts)
{
    sl_event_init(ev, SL_KIND_SALE, txn);
    ev->ts_ms = ts;
    memcpy(ev->currency, "EUR", 4);
    assert_int_equal(sl_event_add_line(ev, "5901234123457", 1000, price, 0, 0), SL_OK);
    assert_int_equal(sl_event_add_tender(ev, "cash", price), SL_OK);
    return ev;
}

static void info(struct fx *f, sl_journal_info *in)
{
    assert_int_equal(sl_journal_info_get(f->j, in), SL_OK);
}

static void record_ok(struct fx *f, const sl_event *ev, uint64_t want_seq, sl_status want)
{
    uint64_t seq = 0;
    sl_status st = (sl_status)-1;
    sl_problem p;
    int rc = sl_journal_record(f->j, ev, &seq, &st, &p);
    if (rc != SL_OK)
        fail_msg("record %s: %s (%s %s)", ev->txn_id, sl_strerror(rc),
                 rc == SL_ERR_INVALID || rc == SL_ERR_CONFLICT ? p.field : "",
                 rc == SL_ERR_INVALID || rc == SL_ERR_CONFLICT ? p.reason : "");
    assert_int_equal(seq, want_seq);
    assert_int_equal(st, want);
}

static void verify_ok(struct fx *f, uint64_t want_checked)
{
    sl_verify v;
    int rc = sl_journal_verify(f->j, &v);
    if (rc != SL_OK)
        fail_msg("verify: %s at seq %llu: %s", sl_strerror(rc),
                 (unsigned long long)v.first_bad_seq, v.reason);
    assert_int_equal(v.checked, want_checked);
    assert_int_equal(v.first_bad_seq, 0);
}

/* ---- recording ------------------------------------------------------ */

static void test_seq_gapless(void **state)
{
    struct fx *f = *state;
    sl_journal_info in;
    open_j(f, 0);
    info(f, &in);
    assert_int_equal(in.records, 0);
    assert_int_equal(in.first_seq, 0);
    assert_int_equal(in.last_seq, 0);
    assert_int_equal(in.format_version, 1);
    static const uint8_t zeros[32];
    assert_memory_equal(in.tail_hash, zeros, 32);

    record_ok(f, sale(f->ev, "T-1", 100, TS), 1, SL_STATUS_RECORDED);
    record_ok(f, sale(f->ev, "T-2", 200, TS), 2, SL_STATUS_RECORDED);
    record_ok(f, sale(f->ev, "T-3", 300, 0), 3, SL_STATUS_RECORDED);
    info(f, &in);
    assert_int_equal(in.records, 3);
    assert_int_equal(in.first_seq, 1);
    assert_int_equal(in.last_seq, 3);
    assert_int_equal(in.max_bytes, 512ull << 20);
    assert_true(in.used_bytes > 0 && in.used_bytes <= in.map_bytes);

    /* numbering continues after a reopen */
    close_j(f);
    open_j(f, 0);
    record_ok(f, sale(f->ev, "T-4", 400, TS), 4, SL_STATUS_RECORDED);
    verify_ok(f, 4);
}

static void test_invalid_writes_nothing(void **state)
{
    struct fx *f = *state;
    sl_journal_info before, after;
    open_j(f, 0);
    record_ok(f, sale(f->ev, "T-1", 100, TS), 1, SL_STATUS_RECORDED);
    info(f, &before);

    sale(f->ev, "T-2", 100, TS);
    f->ev->lines[0].qty_milli = 0;
    uint64_t seq = 99;
    sl_problem p;
    assert_int_equal(sl_journal_record(f->j, f->ev, &seq, NULL, &p), SL_ERR_INVALID);
    assert_string_equal(p.field, "lines[0].qty");
    assert_int_equal(seq, 99);
    info(f, &after);
    assert_int_equal(after.last_seq, before.last_seq);
    assert_int_equal(after.records, before.records);
    assert_memory_equal(after.tail_hash, before.tail_hash, 32);
    /* and the txn_id was not reserved by the failed attempt */
    record_ok(f, sale(f->ev, "T-2", 100, TS), 2, SL_STATUS_RECORDED);
}

static void test_duplicate(void **state)
{
    struct fx *f = *state;
    sl_journal_info before, after;
    open_j(f, 0);
    record_ok(f, sale(f->ev, "T-1", 100, TS), 1, SL_STATUS_RECORDED);
    record_ok(f, sale(f->ev, "T-2", 250, TS), 2, SL_STATUS_RECORDED);
    info(f, &before);

    /* the same event again: the original seq, nothing written */
    record_ok(f, sale(f->ev, "T-1", 100, TS), 1, SL_STATUS_DUPLICATE);
    info(f, &after);
    assert_int_equal(after.last_seq, 2);
    assert_int_equal(after.records, 2);
    assert_memory_equal(after.tail_hash, before.tail_hash, 32);

    /* a retry that leaves ts to the journal ("now") is the same sale */
    record_ok(f, sale(f->ev, "T-2", 250, 0), 2, SL_STATUS_DUPLICATE);
    info(f, &after);
    assert_int_equal(after.last_seq, 2);
    assert_int_equal(after.records, 2);
    assert_memory_equal(after.tail_hash, before.tail_hash, 32);

    /* an event first recorded with ts omitted, retried the same way (the
     * stored ts was stamped by the journal and differs from 0) */
    record_ok(f, sale(f->ev, "T-3", 300, 0), 3, SL_STATUS_RECORDED);
    record_ok(f, sale(f->ev, "T-3", 300, 0), 3, SL_STATUS_DUPLICATE);

    /* the stored record is the first one */
    assert_int_equal(sl_journal_get(f->j, 1, f->rec), SL_OK);
    assert_string_equal(f->rec->ev.txn_id, "T-1");
    assert_int_equal(f->rec->ev.ts_ms, TS);
    info(f, &after);
    assert_int_equal(after.last_seq, 3);
    verify_ok(f, 3);
}

static void test_conflict(void **state)
{
    struct fx *f = *state;
    sl_journal_info before, after;
    open_j(f, 0);
    record_ok(f, sale(f->ev, "T-1", 100, TS), 1, SL_STATUS_RECORDED);
    record_ok(f, sale(f->ev, "T-2", 100, TS), 2, SL_STATUS_RECORDED);
    info(f, &before);

    struct {
        const char *what;
        int64_t price, ts;
        int extra_line;
    } cases[] = {
        {"other price", 101, TS, 0},
        {"other price, ts omitted", 101, 0, 0},
        {"extra line", 100, TS, 1},
        {"same content, other explicit ts", 100, TS + 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sale(f->ev, "T-1", cases[i].price, cases[i].ts);
        if (cases[i].extra_line) {
            assert_int_equal(sl_event_add_line(f->ev, "B", 1000, 1, 0, 0), SL_OK);
            f->ev->tenders[0].amount += 1;
        }
        uint64_t seq = 0;
        sl_problem p;
        memset(&p, 0, sizeof p);
        int rc = sl_journal_record(f->j, f->ev, &seq, NULL, &p);
        if (rc != SL_ERR_CONFLICT)
            fail_msg("%s: %s, want conflict", cases[i].what, sl_strerror(rc));
        assert_string_equal(p.field, "txn_id");
        assert_true(p.reason[0] != '\0');
        info(f, &after);
        assert_int_equal(after.last_seq, before.last_seq);
        assert_int_equal(after.records, before.records);
        assert_memory_equal(after.tail_hash, before.tail_hash, 32);
    }
    /* the original content is untouched */
    assert_int_equal(sl_journal_get(f->j, 1, f->rec), SL_OK);
    assert_int_equal(f->rec->ev.lines[0].unit_price, 100);
    assert_int_equal(f->rec->ev.n_lines, 1);
    record_ok(f, sale(f->ev, "T-1", 100, TS), 1, SL_STATUS_DUPLICATE);
    verify_ok(f, 2);
}

static void test_record_many(void **state)
{
    struct fx *f = *state;
    open_j(f, 0);
    record_ok(f, sale(f->ev, "X-1", 100, TS), 1, SL_STATUS_RECORDED);

    enum { N = 8 };
    sl_event *evs[N];
    for (int i = 0; i < N; i++) {
        evs[i] = malloc(sizeof *evs[i]);
        assert_non_null(evs[i]);
    }
    sale(evs[0], "A-1", 100, TS);             /* new -> 2 */
    sale(evs[1], "BAD-1", 100, TS);           /* invalid: skipped */
    evs[1]->currency[0] = 'e';
    sale(evs[2], "B-1", 200, TS);             /* new -> 3 */
    sale(evs[3], "X-1", 100, TS);             /* duplicate of a stored record */
    sale(evs[4], "A-1", 100, 0);              /* duplicate within the group */
    sale(evs[5], "B-1", 201, TS);             /* conflicts with evs[2] */
    sale(evs[6], "X-1", 999, TS);             /* conflicts with the stored record */
    sale(evs[7], "C-1", 300, 0);              /* new -> 4 */
    sl_result res[N];
    assert_int_equal(sl_journal_record_many(f->j, (const sl_event *const *)evs, N, res), SL_OK);

    assert_int_equal(res[0].err, SL_OK);
    assert_int_equal(res[0].seq, 2);
    assert_int_equal(res[0].status, SL_STATUS_RECORDED);
    assert_int_equal(res[1].err, SL_ERR_INVALID);
    assert_string_equal(res[1].problem.field, "currency");
    assert_int_equal(res[2].err, SL_OK);
    assert_int_equal(res[2].seq, 3);
    assert_int_equal(res[2].status, SL_STATUS_RECORDED);
    assert_int_equal(res[3].err, SL_OK);
    assert_int_equal(res[3].seq, 1);
    assert_int_equal(res[3].status, SL_STATUS_DUPLICATE);
    assert_int_equal(res[4].err, SL_OK);
    assert_int_equal(res[4].seq, 2);
    assert_int_equal(res[4].status, SL_STATUS_DUPLICATE);
    assert_int_equal(res[5].err, SL_ERR_CONFLICT);
    assert_string_equal(res[5].problem.field, "txn_id");
    assert_int_equal(res[6].err, SL_ERR_CONFLICT);
    assert_int_equal(res[7].err, SL_OK);
    assert_int_equal(res[7].seq, 4);
    assert_int_equal(res[7].status, SL_STATUS_RECORDED);

    sl_journal_info in;
    info(f, &in);
    assert_int_equal(in.last_seq, 4);
    assert_int_equal(in.records, 4);
    static const char *const want[] = {"X-1", "A-1", "B-1", "C-1"};
    for (uint64_t s = 1; s <= 4; s++) {
        assert_int_equal(sl_journal_get(f->j, s, f->rec), SL_OK);
        assert_string_equal(f->rec->ev.txn_id, want[s - 1]);
    }
    assert_int_equal(sl_journal_get(f->j, 3, f->rec), SL_OK);
    assert_int_equal(f->rec->ev.lines[0].unit_price, 200);

    /* nothing to do, and nothing valid to do */
    assert_int_equal(sl_journal_record_many(f->j, NULL, 0, NULL), SL_OK);
    assert_int_equal(sl_journal_record_many(f->j, (const sl_event *const *)&evs[1], 1, res),
                     SL_OK);
    assert_int_equal(res[0].err, SL_ERR_INVALID);
    info(f, &in);
    assert_int_equal(in.last_seq, 4);
    verify_ok(f, 4);
    for (int i = 0; i < N; i++)
        free(evs[i]);
}

/* ---- reading back --------------------------------------------------- */

struct collect {
    uint64_t seqs[16];
    uint8_t prev[16][32], hash[16][32];
    char txn[16][SL_TXN_ID_MAX + 1];
    size_t n;
    uint64_t stop_at;     /* return 42 from this seq */
};

static int collect_fn(const sl_record *rec, void *ctx)
{
    struct collect *c = ctx;
    if (c->stop_at && rec->seq == c->stop_at)
        return 42;
    if (c->n < 16) {
        c->seqs[c->n] = rec->seq;
        memcpy(c->prev[c->n], rec->prev_hash, 32);
        memcpy(c->hash[c->n], rec->hash, 32);
        memcpy(c->txn[c->n], rec->ev.txn_id, sizeof c->txn[0]);
    }
    c->n++;
    return 0;
}

static void test_get_and_foreach(void **state)
{
    struct fx *f = *state;
    open_j(f, 0);
    /* five events of every kind */
    record_ok(f, sale(f->ev, "G-1", 150, TS), 1, SL_STATUS_RECORDED);

    sl_event_init(f->ev, SL_KIND_RETURN, "G-2");
    f->ev->ts_ms = TS + 1;
    memcpy(f->ev->currency, "EUR", 4);
    snprintf(f->ev->original_txn_id, sizeof f->ev->original_txn_id, "G-1");
    assert_int_equal(sl_event_add_line(f->ev, "5901234123457", 1000, 150, 0, 0), SL_OK);
    f->ev->lines[0].disposition = SL_DISP_DAMAGED;
    assert_int_equal(sl_event_add_tender(f->ev, "card", 150), SL_OK);
    record_ok(f, f->ev, 2, SL_STATUS_RECORDED);

    sl_event_init(f->ev, SL_KIND_ADJUSTMENT, "G-3");
    f->ev->ts_ms = TS + 2;
    f->ev->reason = SL_REASON_COUNT;
    snprintf(f->ev->location, sizeof f->ev->location, "Back room");
    assert_int_equal(sl_event_add_line(f->ev, "BAN-KG", 1234, 0, 0, 0), SL_OK);
    f->ev->lines[0].has_expected = 1;
    f->ev->lines[0].expected_milli = 2000;
    record_ok(f, f->ev, 3, SL_STATUS_RECORDED);

    sl_event_init(f->ev, SL_KIND_SALE, "G-4");
    f->ev->ts_ms = TS + 3;
    f->ev->flags = SL_FLAG_TAX_INCLUDED;
    memcpy(f->ev->currency, "SEK", 4);
    assert_int_equal(sl_event_add_line(f->ev, "COFFEE", 3000, 333, 0, 50), SL_OK);
    assert_int_equal(sl_event_add_tender(f->ev, "card", 999), SL_OK);
    record_ok(f, f->ev, 4, SL_STATUS_RECORDED);

    int64_t before = (int64_t)time(NULL) * 1000 - 1000;
    record_ok(f, sale(f->ev, "G-5", 500, 0), 5, SL_STATUS_RECORDED);
    int64_t after = (int64_t)time(NULL) * 1000 + 1000;

    /* get: each field comes back */
    assert_int_equal(sl_journal_get(f->j, 2, f->rec), SL_OK);
    assert_int_equal(f->rec->seq, 2);
    assert_int_equal(f->rec->ev.kind, SL_KIND_RETURN);
    assert_string_equal(f->rec->ev.original_txn_id, "G-1");
    assert_int_equal(f->rec->ev.lines[0].disposition, SL_DISP_DAMAGED);
    assert_string_equal(f->rec->ev.tenders[0].method, "card");
    assert_int_equal(f->rec->ev.ts_ms, TS + 1);
    assert_true(f->rec->stored_len > 0);

    assert_int_equal(sl_journal_get(f->j, 3, f->rec), SL_OK);
    assert_int_equal(f->rec->ev.kind, SL_KIND_ADJUSTMENT);
    assert_int_equal(f->rec->ev.reason, SL_REASON_COUNT);
    assert_string_equal(f->rec->ev.location, "Back room");
    assert_int_equal(f->rec->ev.lines[0].qty_milli, 1234);
    assert_int_equal(f->rec->ev.lines[0].has_expected, 1);
    assert_int_equal(f->rec->ev.lines[0].expected_milli, 2000);
    assert_int_equal(f->rec->ev.currency[0], '\0');

    assert_int_equal(sl_journal_get(f->j, 4, f->rec), SL_OK);
    assert_int_equal(f->rec->ev.flags, SL_FLAG_TAX_INCLUDED);
    assert_string_equal(f->rec->ev.currency, "SEK");
    assert_int_equal(f->rec->ev.lines[0].tax, 50);

    /* ts 0 is stamped with the recording time */
    assert_int_equal(sl_journal_get(f->j, 5, f->rec), SL_OK);
    assert_true(f->rec->ev.ts_ms >= before && f->rec->ev.ts_ms <= after);

    assert_int_equal(sl_journal_get(f->j, 0, f->rec), SL_ERR_NOT_FOUND);
    assert_int_equal(sl_journal_get(f->j, 6, f->rec), SL_ERR_NOT_FOUND);

    /* foreach: everything in order, chained */
    struct collect c;
    memset(&c, 0, sizeof c);
    assert_int_equal(sl_journal_foreach(f->j, 1, 0, collect_fn, &c), SL_OK);
    assert_int_equal(c.n, 5);
    static const uint8_t zeros[32];
    for (size_t i = 0; i < 5; i++) {
        char want[8];
        snprintf(want, sizeof want, "G-%zu", i + 1);
        assert_int_equal(c.seqs[i], i + 1);
        assert_string_equal(c.txn[i], want);
        assert_memory_equal(c.prev[i], i == 0 ? zeros : c.hash[i - 1], 32);
        /* get and foreach agree */
        assert_int_equal(sl_journal_get(f->j, i + 1, f->rec), SL_OK);
        assert_memory_equal(f->rec->hash, c.hash[i], 32);
    }
    sl_journal_info in;
    info(f, &in);
    assert_memory_equal(in.tail_hash, c.hash[4], 32);
    char hex[65];
    sl_hash_hex(in.tail_hash, hex);
    assert_int_equal(strlen(hex), 64);

    /* from and limit */
    memset(&c, 0, sizeof c);
    assert_int_equal(sl_journal_foreach(f->j, 3, 2, collect_fn, &c), SL_OK);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.seqs[0], 3);
    assert_int_equal(c.seqs[1], 4);
    memset(&c, 0, sizeof c);
    assert_int_equal(sl_journal_foreach(f->j, 0, 0, collect_fn, &c), SL_OK);
    assert_int_equal(c.n, 5);
    memset(&c, 0, sizeof c);
    assert_int_equal(sl_journal_foreach(f->j, 6, 0, collect_fn, &c), SL_OK);
    assert_int_equal(c.n, 0);
    /* the callback's non-zero value stops the walk and is returned */
    memset(&c, 0, sizeof c);
    c.stop_at = 3;
    assert_int_equal(sl_journal_foreach(f->j, 1, 0, collect_fn, &c), 42);
    assert_int_equal(c.n, 2);

    verify_ok(f, 5);
}

static void test_verify_empty_and_intact(void **state)
{
    struct fx *f = *state;
    open_j(f, 0);
    verify_ok(f, 0);
    for (int i = 1; i <= 20; i++) {
        char txn[16];
        snprintf(txn, sizeof txn, "V-%d", i);
        record_ok(f, sale(f->ev, txn, 100 + i, TS + i), (uint64_t)i, SL_STATUS_RECORDED);
    }
    verify_ok(f, 20);
    close_j(f);
    open_j(f, 0);
    verify_ok(f, 20);
}

static void test_read_only(void **state)
{
    struct fx *f = *state;
    sl_journal_opts ro = {0, 1};
    char path[128];

    /* a state directory that does not exist */
    snprintf(path, sizeof path, "%s/missing", f->dir);
    assert_int_equal(sl_journal_open(&f->j, path, &ro), SL_ERR_NOT_FOUND);
    assert_null(f->j);
    /* one that exists but holds no journal */
    assert_int_equal(sl_journal_open(&f->j, f->dir, &ro), SL_ERR_NOT_FOUND);
    assert_null(f->j);
    /* and the read-only open created nothing */
    snprintf(path, sizeof path, "%s/journal", f->dir);
    assert_int_equal(access(path, F_OK), -1);

    open_j(f, 0);
    record_ok(f, sale(f->ev, "R-1", 100, TS), 1, SL_STATUS_RECORDED);
    close_j(f);
    assert_int_equal(sl_journal_open(&f->j, f->dir, &ro), SL_OK);
    assert_int_equal(sl_journal_get(f->j, 1, f->rec), SL_OK);
    assert_string_equal(f->rec->ev.txn_id, "R-1");
    verify_ok(f, 1);
    uint64_t seq = 0;
    sl_problem p;
    assert_int_equal(sl_journal_record(f->j, sale(f->ev, "R-2", 100, TS), &seq, NULL, &p),
                     SL_ERR_PERM);
    close_j(f);
}

/* ---- the size cap --------------------------------------------------- */

static void big_event(sl_event *ev, int n)
{
    char txn[32];
    snprintf(txn, sizeof txn, "FULL-%06d", n);
    sl_event_init(ev, SL_KIND_SALE, txn);
    ev->ts_ms = TS + n;
    memcpy(ev->currency, "EUR", 4);
    int64_t total = 0;
    for (int i = 0; i < 40; i++) {
        char sku[32];
        snprintf(sku, sizeof sku, "FULL-SKU-%04d-%02d", n % 10000, i);
        assert_int_equal(sl_event_add_line(ev, sku, 1000 + i, 1234 + i, 1, 100), SL_OK);
        int64_t a;
        assert_int_equal(sl_line_amount(ev, &ev->lines[i], &a), SL_OK);
        total += a;
    }
    assert_int_equal(sl_event_add_tender(ev, "card", total), SL_OK);
}

static void test_full(void **state)
{
    struct fx *f = *state;
    open_j(f, 1);
    sl_journal_info in;
    info(f, &in);
    assert_int_equal(in.max_bytes, 1u << 20);

    uint64_t n_ok = 0;
    int full = 0, n;
    for (n = 1; n <= 5000 && !full; n++) {
        uint64_t seq = 0;
        sl_problem p;
        big_event(f->ev, n);
        int rc = sl_journal_record(f->j, f->ev, &seq, NULL, &p);
        if (rc == SL_OK) {
            n_ok++;
            assert_int_equal(seq, n_ok);
        } else if (rc == SL_ERR_FULL) {
            full = 1;
        } else {
            fail_msg("event %d: %s", n, sl_strerror(rc));
        }
    }
    assert_true(full);
    assert_true(n_ok > 100);   /* 1 MiB holds hundreds of ~1 KiB records */
    print_message("# %llu records of 40 lines fit in 1 MiB\n", (unsigned long long)n_ok);
    /* still full, and still consistent, on further attempts */
    for (int k = 0; k < 3; k++) {
        uint64_t seq;
        sl_problem p;
        big_event(f->ev, n + k);
        assert_int_equal(sl_journal_record(f->j, f->ev, &seq, NULL, &p), SL_ERR_FULL);
    }
    info(f, &in);
    assert_int_equal(in.records, n_ok);
    assert_int_equal(in.last_seq, n_ok);
    assert_int_equal(in.first_seq, 1);
    assert_true(in.used_bytes <= in.max_bytes);
    assert_true(in.map_bytes <= in.max_bytes);
    verify_ok(f, n_ok);

    /* reopening at the same cap: the same records, intact, still full */
    close_j(f);
    open_j(f, 1);
    info(f, &in);
    assert_int_equal(in.records, n_ok);
    assert_int_equal(in.last_seq, n_ok);
    verify_ok(f, n_ok);
    uint64_t seq;
    sl_problem p;
    big_event(f->ev, n);
    assert_int_equal(sl_journal_record(f->j, f->ev, &seq, NULL, &p), SL_ERR_FULL);
    /* an event that was recorded before the cap is still a duplicate */
    big_event(f->ev, 1);
    record_ok(f, f->ev, 1, SL_STATUS_DUPLICATE);

    /* raising the cap makes room again, and numbering continues */
    close_j(f);
    open_j(f, 8);
    big_event(f->ev, n);
    record_ok(f, f->ev, n_ok + 1, SL_STATUS_RECORDED);
    verify_ok(f, n_ok + 1);
}

/* ---- several processes --------------------------------------------- */

/* build/tests/writer sits next to this binary (build/asan/tests under
 * SANITIZE=1). */
static void writer_path(char *out, size_t outsz)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            snprintf(out, outsz, "%s/writer", self);
            if (access(out, X_OK) == 0)
                return;
        }
    }
    const char *build = getenv("SL_BUILD");
    snprintf(out, outsz, "%s/tests/writer", build ? build : "build");
}

#define WRITERS 8
#define PER_WRITER 500

static void test_concurrent_writers(void **state)
{
    struct fx *f = *state;
    char writer[PATH_MAX + 16];
    writer_path(writer, sizeof writer);
    if (access(writer, X_OK) != 0)
        fail_msg("writer helper not found at %s (make tests-bin)", writer);

    pid_t pids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "W%d", w);
        fflush(NULL);
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            char count[16];
            snprintf(count, sizeof count, "%d", PER_WRITER);
            execl(writer, "writer", f->dir, prefix, count, (char *)NULL);
            _exit(127);
        }
    }
    int failed = 0;
    for (int w = 0; w < WRITERS; w++) {
        int st;
        assert_int_equal(waitpid(pids[w], &st, 0), pids[w]);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            print_message("# writer %d: status 0x%x\n", w, st);
            failed++;
        }
    }
    assert_int_equal(failed, 0);

    open_j(f, 0);
    sl_journal_info in;
    info(f, &in);
    assert_int_equal(in.records, WRITERS * PER_WRITER);
    assert_int_equal(in.first_seq, 1);
    assert_int_equal(in.last_seq, WRITERS * PER_WRITER);

    /* seqs exactly 1..4000, each txn_id once */
    static uint8_t seen[WRITERS][PER_WRITER + 1];
    memset(seen, 0, sizeof seen);
    uint64_t expect = 1;
    int bad = 0;
    for (uint64_t s = 1; s <= WRITERS * PER_WRITER; s++) {
        if (sl_journal_get(f->j, s, f->rec) != SL_OK || f->rec->seq != expect) {
            bad++;
            continue;
        }
        expect++;
        int w, k;
        if (sscanf(f->rec->ev.txn_id, "W%d-%d", &w, &k) != 2 || w < 0 || w >= WRITERS ||
            k < 1 || k > PER_WRITER || seen[w][k]++) {
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    assert_int_equal(sl_journal_get(f->j, WRITERS * PER_WRITER + 1, f->rec), SL_ERR_NOT_FOUND);
    verify_ok(f, WRITERS * PER_WRITER);
    /* and all in the first epoch: a writer's open-time damage check must
     * not take another writer's growing file for a damaged one (it once
     * did, and the journal was moved aside under the others) */
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    struct dirent *e;
    int moved = 0;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "journal.damaged-", 16) == 0) {
            print_message("# %s/%s\n", f->dir, e->d_name);
            moved++;
        }
    closedir(d);
    assert_int_equal(moved, 0);
}

/* ---- tampering ------------------------------------------------------ */

/* Record TAMPER-0001..0010 (ts distinct per record) and close. */
static void record_ten(struct fx *f)
{
    open_j(f, 0);
    for (int i = 1; i <= 10; i++) {
        char txn[16];
        snprintf(txn, sizeof txn, "TAMPER-%04d", i);
        record_ok(f, sale(f->ev, txn, 100 * i, TS + 1000003LL * i), (uint64_t)i,
                  SL_STATUS_RECORDED);
    }
    verify_ok(f, 10);
}

/* Close the journal, XOR one byte (offset at inside pat) in every copy of
 * pat in data.mdb, and reopen.  Copy-on-write leaves older copies of a leaf
 * page in free pages, so every copy is changed: one of them is the live
 * record. */
static void flip(struct fx *f, const uint8_t *pat, size_t patlen, size_t at, uint8_t xor)
{
    close_j(f);
    char path[128];
    snprintf(path, sizeof path, "%s/journal/data.mdb", f->dir);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long size = ftell(fp);
    assert_true(size > 0);
    rewind(fp);
    uint8_t *data = malloc((size_t)size);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)size, fp), (size_t)size);
    int hits = 0;
    for (long i = 0; i + (long)patlen <= size; i++) {
        if (memcmp(data + i, pat, patlen) != 0)
            continue;
        assert_int_equal(fseek(fp, i + (long)at, SEEK_SET), 0);
        assert_int_equal(fputc(data[i + (long)at] ^ xor, fp), data[i + (long)at] ^ xor);
        hits++;
    }
    assert_int_equal(fclose(fp), 0);
    free(data);
    assert_true(hits >= 1);
    /* read-only, as `journal verify` opens it: an open for writing would
     * find the damage, move the journal aside and start a new epoch
     * (tests/reliability/80-corruption.t) */
    sl_journal_opts o = {0, 1};
    assert_int_equal(sl_journal_open(&f->j, f->dir, &o), SL_OK);
}

/* key 4 and the 8-byte head of record i's ts */
static void ts_pattern(int i, uint8_t pat[10])
{
    uint64_t ts = (uint64_t)(TS + 1000003LL * i);
    pat[0] = 0x04;
    pat[1] = 0x1b;
    for (int b = 0; b < 8; b++)
        pat[2 + b] = (uint8_t)(ts >> (56 - 8 * b));
}

static void expect_corrupt_at(struct fx *f, uint64_t seq)
{
    sl_verify v;
    int rc = sl_journal_verify(f->j, &v);
    if (rc != SL_ERR_CORRUPT || v.first_bad_seq != seq)
        fail_msg("verify: %s, first_bad_seq %llu (%s); want corrupt at %llu", sl_strerror(rc),
                 (unsigned long long)v.first_bad_seq, v.reason, (unsigned long long)seq);
    assert_true(v.reason[0] != '\0');
}

/* The txn_id inside the stored record is key 3 then a text string of 11
 * bytes (0x6b); the txn index holds the same characters as a bare LMDB key,
 * which this pattern does not match. */
static void test_tamper(void **state)
{
    struct fx *f = *state;
    static const uint8_t pat[] = {0x03, 0x6b, 'T', 'A', 'M', 'P', 'E', 'R', '-',
                                  '0', '0', '0', '7'};
    record_ten(f);
    flip(f, pat, sizeof pat, 2, 0x20);   /* "tAMPER-0007" */
    expect_corrupt_at(f, 7);
    /* the altered record still decodes: only the checks give it away */
    assert_int_equal(sl_journal_get(f->j, 7, f->rec), SL_OK);
    assert_string_equal(f->rec->ev.txn_id, "tAMPER-0007");
}

/* Record 7's prev field (key 5, bstr(32), record 6's hash): its content and
 * index entry are intact, only the chain link is broken. */
static void test_tamper_prev(void **state)
{
    struct fx *f = *state;
    uint8_t pat[3 + 32] = {0x05, 0x58, 0x20};
    record_ten(f);
    assert_int_equal(sl_journal_get(f->j, 7, f->rec), SL_OK);
    memcpy(pat + 3, f->rec->prev_hash, 32);
    flip(f, pat, sizeof pat, 3 + 31, 0x01);
    expect_corrupt_at(f, 7);
}

/* The last record has no successor, and ts is not in the index's content
 * hash: only the tail hash catches this. */
static void test_tamper_last_ts(void **state)
{
    struct fx *f = *state;
    uint8_t pat[10];
    ts_pattern(10, pat);
    record_ten(f);
    flip(f, pat, sizeof pat, 9, 0x01);
    expect_corrupt_at(f, 10);
}

/* The txn_id index entry of record 7 (an LMDB leaf node: key size 11 as
 * two little-endian bytes, then the key): records and chain are intact, but
 * a retried TAMPER-0007 would no longer be found and be recorded twice. */
static void test_tamper_index(void **state)
{
    struct fx *f = *state;
    static const uint8_t pat[] = {0x0b, 0x00, 'T', 'A', 'M', 'P', 'E', 'R', '-',
                                  '0', '0', '0', '7'};
    record_ten(f);
    flip(f, pat, sizeof pat, 12, 0x40);  /* "TAMPER-000w" */
    expect_corrupt_at(f, 7);
}

/* The last record's txn_id. */
static void test_tamper_last(void **state)
{
    struct fx *f = *state;
    static const uint8_t pat[] = {0x03, 0x6b, 'T', 'A', 'M', 'P', 'E', 'R', '-',
                                  '0', '0', '1', '0'};
    record_ten(f);
    flip(f, pat, sizeof pat, 12, 0x01);  /* "TAMPER-0011" */
    expect_corrupt_at(f, 10);
}

/* A record whose ts alone was altered is named, not its successor. */
static void test_tamper_ts(void **state)
{
    struct fx *f = *state;
    uint8_t pat[10];
    ts_pattern(7, pat);
    record_ten(f);
    flip(f, pat, sizeof pat, 9, 0x01);
    expect_corrupt_at(f, 7);
}

int main(void)
{
    /* the flags these tests compare must not depend on the host's NTP state */
    setenv("STORELINK_CLOCK_STATE", "synced", 0);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_seq_gapless),
        T(test_invalid_writes_nothing),
        T(test_duplicate),
        T(test_conflict),
        T(test_record_many),
        T(test_get_and_foreach),
        T(test_verify_empty_and_intact),
        T(test_read_only),
        T(test_full),
        T(test_concurrent_writers),
        T(test_tamper),
        T(test_tamper_prev),
        T(test_tamper_index),
        T(test_tamper_last),
        T(test_tamper_last_ts),
        T(test_tamper_ts),
    };
#undef T
    return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
