/* Retention: only acknowledged, old-enough records go; dead letters stay;
 * the chain still verifies from the anchor and tampering is still caught. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "journal_internal.h"
#include "storelink.h"

#define T0 1763893200000LL

struct fx {
    char dir[64];
    sl_journal *j;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sl-prune-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(sl_journal_open(&f->j, f->dir, NULL), SL_OK);
    sl_event *ev = malloc(sizeof *ev);
    for (int i = 1; i <= 20; i++) {
        char txn[16];
        uint64_t seq;
        sl_status st;
        snprintf(txn, sizeof txn, "P-%02d", i);
        sl_event_init(ev, SL_KIND_SALE, txn);
        ev->ts_ms = T0 + i * 1000;
        memcpy(ev->currency, "EUR", 4);
        assert_int_equal(sl_event_add_line(ev, "SKU-1", 1000, 100, 0, 0), SL_OK);
        assert_int_equal(sl_event_add_tender(ev, "cash", 100), SL_OK);
        assert_int_equal(sl_journal_record(f->j, ev, &seq, &st, NULL), SL_OK);
    }
    free(ev);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    sl_journal_close(f->j);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void expect_first(sl_journal *j, uint64_t first, uint64_t records)
{
    sl_journal_info info;
    assert_int_equal(sl_journal_info_get(j, &info), SL_OK);
    assert_int_equal(info.first_seq, first);
    assert_int_equal(info.records, records);
    assert_int_equal(info.last_seq, 20);
}

static void test_nothing_unacknowledged_goes(void **state)
{
    struct fx *f = *state;
    size_t n = 99;
    assert_int_equal(sl__journal_prune(f->j, T0 + 1000000, 100, &n), SL_OK);
    assert_int_equal(n, 0);
    expect_first(f->j, 1, 20);
}

static void test_acked_and_old_enough(void **state)
{
    struct fx *f = *state;
    size_t n;
    int adv;
    sl_verify v;
    assert_int_equal(sl__journal_ack(f->j, 15, NULL, 0, &adv), SL_OK);
    /* records 1..9 are older than T0 + 10 s; 10..15 are acked but too new */
    assert_int_equal(sl__journal_prune(f->j, T0 + 10000, 100, &n), SL_OK);
    assert_int_equal(n, 9);
    expect_first(f->j, 10, 11);
    assert_int_equal(sl_journal_verify(f->j, &v), SL_OK);
    /* batches of at most max_records */
    assert_int_equal(sl__journal_prune(f->j, T0 + 1000000, 2, &n), SL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(sl__journal_prune(f->j, T0 + 1000000, 100, &n), SL_OK);
    assert_int_equal(n, 4);           /* up to acked 15, never beyond */
    expect_first(f->j, 16, 5);
    assert_int_equal(sl_journal_verify(f->j, &v), SL_OK);
    assert_int_equal(v.checked, 5);
    /* recording continues the chain after a prune */
    sl_record *rec = malloc(sizeof *rec);
    assert_int_equal(sl_journal_get(f->j, 16, rec), SL_OK);
    assert_int_equal(sl_journal_get(f->j, 15, rec), SL_ERR_NOT_FOUND);
    free(rec);
}

static void test_dead_letter_stops_pruning(void **state)
{
    struct fx *f = *state;
    size_t n;
    int adv;
    sl__dead_letter d = {.seq = 5, .code = 2, .when_ms = T0, .reason = "currency"};
    assert_int_equal(sl__journal_ack(f->j, 20, &d, 1, &adv), SL_OK);
    assert_int_equal(sl__journal_prune(f->j, T0 + 1000000, 100, &n), SL_OK);
    assert_int_equal(n, 4);
    expect_first(f->j, 5, 16);
}

static void test_anchor_catches_tampering(void **state)
{
    struct fx *f = *state;
    size_t n;
    int adv;
    sl_verify v;
    char path[128];
    assert_int_equal(sl__journal_ack(f->j, 20, NULL, 0, &adv), SL_OK);
    assert_int_equal(sl__journal_prune(f->j, T0 + 8500, 100, &n), SL_OK);
    assert_int_equal(n, 8);
    sl_journal_close(f->j);
    /* alter the first remaining record (P-09) in the file */
    snprintf(path, sizeof path, "%s/journal/data.mdb", f->dir);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    unsigned char *buf = malloc((size_t)sz);
    fseek(fp, 0, SEEK_SET);
    assert_int_equal(fread(buf, 1, (size_t)sz, fp), (size_t)sz);
    int flipped = 0;
    for (long i = 0; i + 4 <= sz; i++)
        if (memcmp(buf + i, "P-09", 4) == 0) {
            fseek(fp, i + 3, SEEK_SET);
            fputc('X', fp);
            flipped++;
        }
    fclose(fp);
    free(buf);
    assert_true(flipped > 0);
    /* read-only: an open for writing would move the damaged journal aside */
    sl_journal_opts ro = {0, 1};
    assert_int_equal(sl_journal_open(&f->j, f->dir, &ro), SL_OK);
    assert_int_equal(sl_journal_verify(f->j, &v), SL_ERR_CORRUPT);
    assert_int_equal(v.first_bad_seq, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nothing_unacknowledged_goes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acked_and_old_enough, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter_stops_pruning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anchor_catches_tampering, setup, teardown),
    };
    return cmocka_run_group_tests_name("prune", tests, NULL, NULL);
}
