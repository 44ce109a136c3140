/* Journal epochs (docs/PROTOCOL.md "Journal epochs") through the C API: a
 * damaged journal is moved aside by the next writable open, which succeeds
 * with a new epoch; a handle still open on the moved journal never
 * appends to it (the moved copy is evidence): it follows the switch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ack.h"
#include "journal_internal.h"
#include "storelink.h"

#define T0 1763893200000LL

static void sale(sl_journal *j, const char *txn, int want_rc, uint64_t *seq)
{
    sl_event ev;
    sl_status st;
    sl_event_init(&ev, SL_KIND_SALE, txn);
    ev.ts_ms = T0;
    memcpy(ev.currency, "EUR", 4);
    assert_int_equal(sl_event_add_line(&ev, "SKU-1", 1000, 100, 0, 0), SL_OK);
    assert_int_equal(sl_event_add_tender(&ev, "cash", 100), SL_OK);
    assert_int_equal(sl_journal_record(j, &ev, seq, &st, NULL), want_rc);
}

static long file_bytes(const char *path, uint8_t **data)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    *data = malloc((size_t)n);
    assert_int_equal(fread(*data, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    return n;
}

static void test_epoch_switch(void **state)
{
    (void)state;
    char dir[64], path[128], cmd[160];
    snprintf(dir, sizeof dir, "/tmp/sl-epoch-XXXXXX");
    assert_non_null(mkdtemp(dir));
    sl_journal *old = NULL, *nj = NULL;
    uint64_t seq = 0;
    assert_int_equal(sl_journal_open(&old, dir, NULL), SL_OK);
    for (int i = 1; i <= 10; i++) {
        char txn[16];
        snprintf(txn, sizeof txn, "E-%02d", i);
        sale(old, txn, SL_OK, &seq);
    }
    sl_journal_info info;
    assert_int_equal(sl_journal_info_get(old, &info), SL_OK);
    /* damage record 10's txn_id in every copy, with `old` still open */
    snprintf(path, sizeof path, "%s/journal/data.mdb", dir);
    uint8_t *data;
    long n = file_bytes(path, &data);
    FILE *fp = fopen(path, "r+b");
    int hits = 0;
    for (long i = 0; i + 4 <= n; i++)
        if (memcmp(data + i, "E-10", 4) == 0) {
            fseek(fp, i, SEEK_SET);
            fputc('X', fp);
            hits++;
        }
    fclose(fp);
    free(data);
    assert_true(hits >= 1);
    uint8_t *before;
    long nb = file_bytes(path, &before);

    /* the next writable open finds it, moves it aside and succeeds */
    assert_int_equal(sl_journal_open(&nj, dir, NULL), SL_OK);
    sl__epoch ep;
    assert_int_equal(sl__journal_epoch(nj, &ep), SL_OK);
    assert_int_equal(ep.epoch, 2);
    assert_int_equal(ep.from_seq, 9);   /* record 10 no longer decodes or chains */
    assert_true(strncmp(ep.moved_to, "journal.damaged-", 16) == 0);
    sale(nj, "E-new", SL_OK, &seq);
    assert_int_equal(seq, 10);
    sl_verify v;
    assert_int_equal(sl_journal_verify(nj, &v), SL_OK);

    /* the handle on the moved journal does not write into the evidence: it
     * follows the switch (reopens on the new epoch) and appends there */
    uint64_t nf = 9;
    int adv = 0;
    int64_t fms = -1;
    assert_int_equal(sl__journal_follows(old, &nf, &fms), SL_OK);
    assert_int_equal(nf, 0);
    sale(old, "E-late", SL_OK, &seq);
    assert_int_equal(seq, 11);
    assert_int_equal(sl__journal_follows(old, &nf, &fms), SL_OK);
    assert_int_equal(nf, 1);
    assert_true(fms > 0);
    sale(old, "E-new", SL_OK, &seq);   /* recorded through nj: a duplicate */
    assert_int_equal(seq, 10);
    assert_int_equal(sl__journal_ack(old, 10, NULL, 0, &adv), SL_OK);
    uint64_t acked = 0;
    assert_int_equal(sl__journal_acked(nj, &acked), SL_OK);
    assert_int_equal(acked, 10);
    assert_int_equal(sl__journal_follows(old, &nf, &fms), SL_OK);
    assert_int_equal(nf, 1);
    char moved[300];
    snprintf(moved, sizeof moved, "%s/%s/data.mdb", dir, ep.moved_to);
    uint8_t *after;
    long na = file_bytes(moved, &after);
    assert_int_equal(na, nb);
    assert_memory_equal(after, before, (size_t)nb);
    free(after);
    free(before);

    /* the epoch is named in the new journal only; a read-only open agrees */
    sl_journal *ro = NULL;
    sl_journal_opts o = {0, 1};
    assert_int_equal(sl_journal_open(&ro, dir, &o), SL_OK);
    assert_int_equal(sl__journal_epoch(ro, &ep), SL_OK);
    assert_int_equal(ep.epoch, 2);
    sl_journal_close(ro);
    sl_journal_close(nj);
    sl_journal_close(old);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_intact_stays_epoch_1(void **state)
{
    (void)state;
    char dir[64], cmd[160];
    snprintf(dir, sizeof dir, "/tmp/sl-epoch-XXXXXX");
    assert_non_null(mkdtemp(dir));
    sl_journal *j = NULL;
    uint64_t seq;
    assert_int_equal(sl_journal_open(&j, dir, NULL), SL_OK);
    sale(j, "I-1", SL_OK, &seq);
    sl_journal_close(j);
    j = NULL;
    assert_int_equal(sl_journal_open(&j, dir, NULL), SL_OK);
    sale(j, "I-2", SL_OK, &seq);
    assert_int_equal(seq, 2);
    sl__epoch ep;
    assert_int_equal(sl__journal_epoch(j, &ep), SL_ERR_NOT_FOUND);
    assert_int_equal(ep.epoch, 1);
    sl_journal_close(j);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ack key 8: the device's epoch at the hub; absent for epoch 1 */
static void test_ack_epoch(void **state)
{
    (void)state;
    sl__ack *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    uint8_t buf[256];
    size_t len;
    assert_non_null(a);
    assert_non_null(b);
    a->acked_through = 42;
    a->hub_time = T0;
    a->epoch = 3;
    assert_int_equal(sl__ack_encode(a, buf, sizeof buf, &len), SL_OK);
    assert_int_equal(sl__ack_decode(buf, len, b), SL_OK);
    assert_int_equal(b->epoch, 3);
    assert_int_equal(b->acked_through, 42);
    a->epoch = 1;   /* epoch 1 is written as no key at all */
    assert_int_equal(sl__ack_encode(a, buf, sizeof buf, &len), SL_OK);
    assert_int_equal(sl__ack_decode(buf, len, b), SL_OK);
    assert_int_equal(b->epoch, 0);
    /* {1: 42, 3: 0, 8: 1}: an explicit epoch 1 is malformed */
    const uint8_t one[] = {0xa3, 0x01, 0x18, 0x2a, 0x03, 0x00, 0x08, 0x01};
    assert_int_equal(sl__ack_decode(one, sizeof one, b), SL_ERR_CORRUPT);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_epoch_switch),
        cmocka_unit_test(test_intact_stays_epoch_1),
        cmocka_unit_test(test_ack_epoch),
    };
    return cmocka_run_group_tests_name("epoch", tests, NULL, NULL);
}
