/*
 * test_api - storelink as a POS application sees it: only the public header
 * include/storelink.h and libstorelink.a (no agent/ internals).  Besides
 * cmocka's own prerequisites, only the C library is used, for the temporary
 * state directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <storelink.h>

#define TS 1763893200000LL

struct fx {
    char dir[64];
    sl_journal *j;
    sl_event *ev;
    sl_record *rec;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/sl-test-api.XXXXXX");
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

/* The journal is <dir>/journal/{data,lock}.mdb: remove() is enough. */
static int teardown(void **state)
{
    struct fx *f = *state;
    static const char *const parts[] = {"/journal/data.mdb", "/journal/lock.mdb", "/journal",
                                        ""};
    char path[128];
    sl_journal_close(f->j);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        snprintf(path, sizeof path, "%s%s", f->dir, parts[i]);
        remove(path);
    }
    free(f->ev);
    free(f->rec);
    free(f);
    return 0;
}

static sl_event *sale(sl_event *ev, const char *txn, int64_t price, int64_t ts)
{
    sl_event_init(ev, SL_KIND_SALE, txn);
    ev->ts_ms = ts;
    memcpy(ev->currency, "EUR", 4);
    assert_int_equal(sl_event_add_line(ev, "4006381333931", 2000, price, 0, 0), SL_OK);
    assert_int_equal(sl_event_add_tender(ev, "card", 2 * price), SL_OK);
    return ev;
}

static void test_record_flow(void **state)
{
    struct fx *f = *state;
    uint64_t seq;
    sl_status st;
    sl_problem p;
    sl_journal_info in, in2;
    sl_verify v;

    assert_int_equal(sl_journal_open(&f->j, f->dir, NULL), SL_OK);

    /* three sales: seq 1, 2, 3 */
    for (int i = 1; i <= 3; i++) {
        char txn[16];
        snprintf(txn, sizeof txn, "API-%d", i);
        seq = 0;
        st = SL_STATUS_DUPLICATE;
        assert_int_equal(sl_journal_record(f->j, sale(f->ev, txn, 100 * i, TS + i), &seq, &st,
                                           &p), SL_OK);
        assert_int_equal(seq, (uint64_t)i);
        assert_int_equal(st, SL_STATUS_RECORDED);
    }
    assert_int_equal(sl_journal_info_get(f->j, &in), SL_OK);
    assert_int_equal(in.records, 3);
    assert_int_equal(in.last_seq, 3);

    /* the same sale again, and again with ts left to the journal */
    assert_int_equal(sl_journal_record(f->j, sale(f->ev, "API-2", 200, TS + 2), &seq, &st, &p),
                     SL_OK);
    assert_int_equal(seq, 2);
    assert_int_equal(st, SL_STATUS_DUPLICATE);
    assert_int_equal(sl_journal_record(f->j, sale(f->ev, "API-2", 200, 0), &seq, &st, &p),
                     SL_OK);
    assert_int_equal(seq, 2);
    assert_int_equal(st, SL_STATUS_DUPLICATE);

    /* the same txn_id with other content */
    assert_int_equal(sl_journal_record(f->j, sale(f->ev, "API-2", 201, TS + 2), &seq, &st, &p),
                     SL_ERR_CONFLICT);
    assert_string_equal(p.field, "txn_id");

    /* an invalid event */
    sale(f->ev, "API-4", 100, TS);
    f->ev->tenders[0].amount = 1;
    assert_int_equal(sl_journal_record(f->j, f->ev, &seq, &st, &p), SL_ERR_INVALID);
    assert_string_equal(p.field, "tenders");

    /* none of that wrote anything */
    assert_int_equal(sl_journal_info_get(f->j, &in2), SL_OK);
    assert_int_equal(in2.records, 3);
    assert_int_equal(in2.last_seq, 3);
    assert_memory_equal(in2.tail_hash, in.tail_hash, 32);

    /* read back */
    assert_int_equal(sl_journal_get(f->j, 2, f->rec), SL_OK);
    assert_int_equal(f->rec->seq, 2);
    assert_string_equal(f->rec->ev.txn_id, "API-2");
    assert_int_equal(f->rec->ev.lines[0].unit_price, 200);
    assert_int_equal(f->rec->ev.ts_ms, TS + 2);
    assert_int_equal(sl_journal_get(f->j, 4, f->rec), SL_ERR_NOT_FOUND);

    assert_int_equal(sl_journal_verify(f->j, &v), SL_OK);
    assert_int_equal(v.checked, 3);
    assert_int_equal(v.first_bad_seq, 0);

    /* after a reopen: same state, numbering continues */
    sl_journal_close(f->j);
    f->j = NULL;
    assert_int_equal(sl_journal_open(&f->j, f->dir, NULL), SL_OK);
    assert_int_equal(sl_journal_record(f->j, sale(f->ev, "API-1", 100, TS + 1), &seq, &st, &p),
                     SL_OK);
    assert_int_equal(seq, 1);
    assert_int_equal(st, SL_STATUS_DUPLICATE);
    assert_int_equal(sl_journal_record(f->j, sale(f->ev, "API-5", 500, 0), &seq, &st, &p),
                     SL_OK);
    assert_int_equal(seq, 4);
    assert_int_equal(st, SL_STATUS_RECORDED);
    assert_int_equal(sl_journal_verify(f->j, &v), SL_OK);
    assert_int_equal(v.checked, 4);
}

struct walk {
    uint64_t next;
    uint8_t prev[32];
};

static int walk_fn(const sl_record *rec, void *ctx)
{
    struct walk *w = ctx;
    if (rec->seq != w->next || memcmp(rec->prev_hash, w->prev, 32) != 0)
        return -1;
    memcpy(w->prev, rec->hash, 32);
    w->next++;
    return 0;
}

static void test_group_commit_and_chain(void **state)
{
    struct fx *f = *state;
    assert_int_equal(sl_journal_open(&f->j, f->dir, NULL), SL_OK);
    enum { N = 5 };
    sl_event *evs[N];
    sl_result res[N];
    for (int i = 0; i < N; i++) {
        char txn[16];
        snprintf(txn, sizeof txn, "G-%d", i);
        evs[i] = malloc(sizeof *evs[i]);
        assert_non_null(evs[i]);
        sale(evs[i], txn, 10 + i, TS);
    }
    evs[3]->lines[0].qty_milli = -1;               /* invalid */
    snprintf(evs[4]->txn_id, sizeof evs[4]->txn_id, "G-0");   /* conflicts with G-0 */
    assert_int_equal(sl_journal_record_many(f->j, (const sl_event *const *)evs, N, res), SL_OK);
    assert_int_equal(res[0].err, SL_OK);
    assert_int_equal(res[0].seq, 1);
    assert_int_equal(res[1].seq, 2);
    assert_int_equal(res[2].seq, 3);
    assert_int_equal(res[3].err, SL_ERR_INVALID);
    assert_string_equal(res[3].problem.field, "lines[0].qty");
    assert_int_equal(res[4].err, SL_ERR_CONFLICT);

    struct walk w;
    memset(&w, 0, sizeof w);
    w.next = 1;
    assert_int_equal(sl_journal_foreach(f->j, 1, 0, walk_fn, &w), SL_OK);
    assert_int_equal(w.next, 4);
    sl_journal_info in;
    assert_int_equal(sl_journal_info_get(f->j, &in), SL_OK);
    assert_memory_equal(in.tail_hash, w.prev, 32);
    for (int i = 0; i < N; i++)
        free(evs[i]);
}

static void test_read_only_missing(void **state)
{
    struct fx *f = *state;
    char path[128];
    sl_journal_opts ro = {0, 1};
    snprintf(path, sizeof path, "%s/nowhere", f->dir);
    assert_int_equal(sl_journal_open(&f->j, path, &ro), SL_ERR_NOT_FOUND);
    assert_null(f->j);
    sl_journal_close(NULL);   /* a no-op */
}

static void test_amounts(void **state)
{
    struct fx *f = *state;
    int64_t a, total;
    sl_problem p;
    sl_event_init(f->ev, SL_KIND_SALE, "AM-1");
    memcpy(f->ev->currency, "SEK", 4);
    f->ev->flags = SL_FLAG_TAX_INCLUDED;
    assert_int_equal(sl_event_add_line(f->ev, "COFFEE", 3000, 333, 0, 50), SL_OK);
    assert_int_equal(sl_event_add_line(f->ev, "BUN", 500, 3, 0, 0), SL_OK);
    assert_int_equal(sl_line_amount(f->ev, &f->ev->lines[0], &a), SL_OK);
    assert_int_equal(a, 999);
    assert_int_equal(sl_line_amount(f->ev, &f->ev->lines[1], &a), SL_OK);
    assert_int_equal(a, 2);
    assert_int_equal(sl_event_total(f->ev, &total), SL_OK);
    assert_int_equal(total, 1001);
    assert_int_equal(sl_event_add_tender(f->ev, "cash", 1001), SL_OK);
    assert_int_equal(sl_event_validate(f->ev, &p), SL_OK);
    f->ev->flags = 0;
    assert_int_equal(sl_event_total(f->ev, &total), SL_OK);
    assert_int_equal(total, 1051);
    assert_int_equal(sl_event_validate(f->ev, &p), SL_ERR_INVALID);
    assert_string_equal(p.field, "tenders");
}

static void test_strerror(void **state)
{
    (void)state;
    const char *msg[15];
    for (int e = 0; e <= 14; e++) {
        msg[e] = sl_strerror(e);
        assert_non_null(msg[e]);
        assert_true(msg[e][0] != '\0');
        for (int k = 0; k < e; k++)
            if (strcmp(msg[k], msg[e]) == 0)
                fail_msg("codes %d and %d share the message \"%s\"", k, e, msg[e]);
    }
    assert_int_equal(SL_ERR_CRYPTO, 14);
    /* codes outside the enum still get a message, not NULL */
    assert_non_null(sl_strerror(15));
    assert_non_null(sl_strerror(-1));
    for (int e = 0; e <= 14; e++)
        assert_string_not_equal(sl_strerror(15), msg[e]);
}

static void test_hash_hex(void **state)
{
    (void)state;
    uint8_t h[32];
    char hex[65];
    for (int i = 0; i < 32; i++)
        h[i] = (uint8_t)(i * 8 + 7);
    memset(hex, 'x', sizeof hex);
    sl_hash_hex(h, hex);
    assert_string_equal(hex, "070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_record_flow),
        T(test_group_commit_and_chain),
        T(test_read_only_missing),
        T(test_amounts),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_hash_hex),
    };
#undef T
    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
