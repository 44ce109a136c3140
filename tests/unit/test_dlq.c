/*
 * Dead letters and the sent log in the journal (agent/journal.c), the ack's
 * retry keys (agent/ack.c) and the dlq_drop record (agent/codec.c,
 * agent/event.c): docs/PROTOCOL.md "Dead letters".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ack.h"
#include "codec.h"
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
    snprintf(f->dir, sizeof f->dir, "/tmp/sl-dlq-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(sl_journal_open(&f->j, f->dir, NULL), SL_OK);
    sl_event *ev = malloc(sizeof *ev);
    for (int i = 1; i <= 10; i++) {
        char txn[16];
        uint64_t seq;
        sl_status st;
        snprintf(txn, sizeof txn, "D-%02d", i);
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

static void reject(struct fx *f, uint64_t through, uint64_t seq, const char *reason)
{
    int adv;
    sl__dead_letter d = {.seq = seq, .code = 2, .when_ms = T0};
    snprintf(d.reason, sizeof d.reason, "%s", reason);
    assert_int_equal(sl__journal_ack(f->j, through, &d, 1, &adv), SL_OK);
}

static void test_retry_marks(void **state)
{
    struct fx *f = *state;
    uint64_t marked, first, n;
    sl__dead_letter d;
    reject(f, 10, 3, "currency USD not accepted");
    reject(f, 10, 4, "currency USD not accepted");
    reject(f, 10, 7, "currency GBP not accepted");
    /* nothing marked yet */
    assert_int_equal(sl__journal_dlq_retry_run(f->j, 64, &first, &n), SL_OK);
    assert_int_equal(n, 0);
    /* not a dead letter: refused, nothing marked */
    assert_int_equal(sl__journal_dlq_retry(f->j, 5, T0, &marked), SL_ERR_NOT_FOUND);
    assert_int_equal(marked, 0);
    assert_int_equal(sl__journal_dlq_retry(f->j, 7, T0 + 5, &marked), SL_OK);
    assert_int_equal(marked, 1);
    assert_int_equal(sl__journal_dlq_get(f->j, 7, &d), SL_OK);
    assert_int_equal(d.retry_ms, T0 + 5);
    assert_string_equal(d.reason, "currency GBP not accepted");
    assert_int_equal(sl__journal_dlq_retry(f->j, 0, T0 + 6, &marked), SL_OK);
    assert_int_equal(marked, 3);
    /* runs of consecutive marked seqs, capped */
    assert_int_equal(sl__journal_dlq_retry_run(f->j, 64, &first, &n), SL_OK);
    assert_int_equal(first, 3);
    assert_int_equal(n, 2);
    assert_int_equal(sl__journal_dlq_retry_run(f->j, 1, &first, &n), SL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(sl__journal_dlq_get(f->j, 5, &d), SL_ERR_NOT_FOUND);
}

static void test_retry_ack_settles(void **state)
{
    struct fx *f = *state;
    uint64_t marked, first, n, dead;
    int adv;
    sl__dead_letter d;
    reject(f, 10, 3, "currency USD not accepted");
    reject(f, 10, 4, "currency USD not accepted");
    assert_int_equal(sl__journal_dlq_retry(f->j, 0, T0, &marked), SL_OK);
    /* a plain resend ack re-listing seq 3 keeps the first verdict and the mark */
    sl__dead_letter again = {.seq = 3, .code = 3, .when_ms = T0 + 9, .reason = "other"};
    assert_int_equal(sl__journal_ack(f->j, 10, &again, 1, &adv), SL_OK);
    assert_int_equal(sl__journal_dlq_get(f->j, 3, &d), SL_OK);
    assert_string_equal(d.reason, "currency USD not accepted");
    assert_int_equal(d.retry_ms, T0);
    /* the retry ack for 3..4: 3 accepted now, 4 rejected with a new reason */
    uint64_t acc[] = {3};
    sl__dead_letter still = {.seq = 4, .code = 3, .when_ms = T0 + 20, .reason = "policy says no"};
    sl__ack_apply a = {.acked_through = 10, .rejects = &still, .n_rejects = 1,
                       .retried_first = 3, .retried_last = 4, .accepted = acc,
                       .n_accepted = 1, .now_ms = T0 + 20};
    assert_int_equal(sl__journal_ack_apply(f->j, &a, &adv), SL_OK);
    assert_int_equal(adv, 0);
    assert_int_equal(sl__journal_dlq_get(f->j, 3, &d), SL_ERR_NOT_FOUND);
    assert_int_equal(sl__journal_dlq_get(f->j, 4, &d), SL_OK);
    assert_string_equal(d.reason, "policy says no");
    assert_int_equal(d.code, 3);
    assert_int_equal(d.retry_ms, 0);   /* answered: no longer pending */
    assert_int_equal(sl__journal_dead_count(f->j, &dead), SL_OK);
    assert_int_equal(dead, 1);
    assert_int_equal(sl__journal_dlq_retry_run(f->j, 64, &first, &n), SL_OK);
    assert_int_equal(n, 0);
    /* an "accepted" outside the retried range is not believed */
    uint64_t acc2[] = {4};
    sl__ack_apply b = {.acked_through = 10, .retried_first = 9, .retried_last = 9,
                       .accepted = acc2, .n_accepted = 1, .now_ms = T0};
    assert_int_equal(sl__journal_ack_apply(f->j, &b, &adv), SL_OK);
    assert_int_equal(sl__journal_dlq_get(f->j, 4, &d), SL_OK);
}

static void drop_event(sl_event *ev, uint64_t target, const char *note)
{
    char txn[40];
    snprintf(txn, sizeof txn, "storelink:dlq-drop:%llu", (unsigned long long)target);
    sl_event_init(ev, SL_KIND_DLQ_DROP, txn);
    ev->target_seq = target;
    snprintf(ev->target_txn_id, sizeof ev->target_txn_id, "D-%02llu", (unsigned long long)target);
    snprintf(ev->note, sizeof ev->note, "%s", note);
    snprintf(ev->operator_name, sizeof ev->operator_name, "alice");
}

static void test_drop(void **state)
{
    struct fx *f = *state;
    sl_event *ev = malloc(sizeof *ev);
    sl_record *rec = malloc(sizeof *rec);
    sl_problem p;
    sl_verify v;
    sl_journal_info info;
    uint64_t seq = 0, marked;
    sl__dead_letter d;
    reject(f, 10, 6, "currency USD not accepted");
    assert_int_equal(sl__journal_dlq_retry(f->j, 6, T0, &marked), SL_OK);
    /* not a dead letter: nothing written */
    drop_event(ev, 5, "typo");
    assert_int_equal(sl__journal_dlq_drop(f->j, ev, &seq, &p), SL_ERR_NOT_FOUND);
    /* a card number in the reason: refused, naming the field */
    drop_event(ev, 6, "refunded to 4111 1111 1111 1111");
    assert_int_equal(sl__journal_dlq_drop(f->j, ev, &seq, &p), SL_ERR_INVALID);
    assert_string_equal(p.field, "reason");
    /* 201 characters (2-byte UTF-8 each) is too long, 200 is fine */
    char longr[4 * SL_NOTE_MAX + 1] = "";
    for (int i = 0; i < 201; i++)
        strcat(longr, "\xc3\xa9");
    drop_event(ev, 6, longr);
    assert_int_equal(sl__journal_dlq_drop(f->j, ev, &seq, &p), SL_ERR_INVALID);
    assert_string_equal(p.field, "reason");
    drop_event(ev, 6, "");
    assert_int_equal(sl__journal_dlq_drop(f->j, ev, &seq, &p), SL_ERR_INVALID);
    assert_int_equal(sl_journal_info_get(f->j, &info), SL_OK);
    assert_int_equal(info.last_seq, 10);
    longr[400] = '\0';
    drop_event(ev, 6, longr);
    assert_int_equal(sl__journal_dlq_drop(f->j, ev, &seq, &p), SL_OK);
    assert_int_equal(seq, 11);
    assert_int_equal(sl__journal_dlq_get(f->j, 6, &d), SL_ERR_NOT_FOUND);
    assert_int_equal(sl_journal_get(f->j, 11, rec), SL_OK);
    assert_int_equal(rec->ev.kind, SL_KIND_DLQ_DROP);
    assert_int_equal(rec->ev.target_seq, 6);
    assert_string_equal(rec->ev.target_txn_id, "D-06");
    assert_string_equal(rec->ev.operator_name, "alice");
    assert_string_equal(rec->ev.note, longr);
    assert_int_equal(rec->ev.n_lines, 0);
    assert_int_equal(sl_journal_verify(f->j, &v), SL_OK);
    assert_int_equal(v.checked, 11);
    /* the recording API never writes a drop (it would leave its dead letter) */
    sl_status st;
    assert_int_equal(sl_journal_record(f->j, ev, &seq, &st, &p), SL_ERR_INVALID);
    assert_string_equal(p.field, "kind");
    /* dropped once: a second drop finds no dead letter */
    assert_int_equal(sl__journal_dlq_drop(f->j, ev, &seq, &p), SL_ERR_NOT_FOUND);
    uint64_t found = 0;
    assert_int_equal(sl__journal_find_txn(f->j, "storelink:dlq-drop:6", &found), SL_OK);
    assert_int_equal(found, 11);
    assert_int_equal(sl__journal_find_txn(f->j, "nope", &found), SL_ERR_NOT_FOUND);
    free(rec);
    free(ev);
}

static void test_sent_log(void **state)
{
    struct fx *f = *state;
    sl__sent e;
    int adv;
    size_t pruned;
    assert_int_equal(sl__journal_sent_find(f->j, 1, &e), SL_ERR_NOT_FOUND);
    sl__sent s1[] = {{.first = 1, .last = 4, .first_sent_ms = T0, .last_sent_ms = T0, .count = 1},
                     {.first = 5, .last = 8, .first_sent_ms = T0 + 1, .last_sent_ms = T0 + 1,
                      .count = 1}};
    assert_int_equal(sl__journal_sent_log(f->j, s1, 2), SL_OK);
    /* a resend of 5.. that grew to 10, merged in the ack transaction of 1..4 */
    sl__sent s2 = {.first = 5, .last = 10, .first_sent_ms = T0 + 50, .last_sent_ms = T0 + 50,
                   .count = 1};
    sl__ack_apply a = {.acked_through = 4, .sent = &s2, .n_sent = 1, .now_ms = T0 + 60};
    assert_int_equal(sl__journal_ack_apply(f->j, &a, &adv), SL_OK);
    assert_int_equal(adv, 1);
    assert_int_equal(sl__journal_sent_find(f->j, 3, &e), SL_OK);
    assert_int_equal(e.first, 1);
    assert_int_equal(e.last, 4);
    assert_int_equal(e.acked_ms, T0 + 60);
    assert_int_equal(e.count, 1);
    assert_int_equal(sl__journal_sent_find(f->j, 9, &e), SL_OK);
    assert_int_equal(e.first, 5);
    assert_int_equal(e.last, 10);
    assert_int_equal(e.count, 2);
    assert_int_equal(e.first_sent_ms, T0 + 1);
    assert_int_equal(e.last_sent_ms, T0 + 50);
    assert_int_equal(e.acked_ms, 0);
    assert_int_equal(sl__journal_sent_find(f->j, 11, &e), SL_ERR_NOT_FOUND);
    sl__ack_apply b = {.acked_through = 10, .now_ms = T0 + 70};
    assert_int_equal(sl__journal_ack_apply(f->j, &b, &adv), SL_OK);
    assert_int_equal(sl__journal_sent_find(f->j, 9, &e), SL_OK);
    assert_int_equal(e.acked_ms, T0 + 70);
    assert_int_equal(sl__journal_sent_find(f->j, 2, &e), SL_OK);
    assert_int_equal(e.acked_ms, T0 + 60);   /* stamped once */
    /* retention takes the log entries of the records it removes */
    assert_int_equal(sl__journal_prune(f->j, T0 + 5500, 100, &pruned), SL_OK);
    assert_int_equal(pruned, 5);
    assert_int_equal(sl__journal_sent_find(f->j, 2, &e), SL_ERR_NOT_FOUND);
    assert_int_equal(sl__journal_sent_find(f->j, 9, &e), SL_OK);
}

static void test_sent_log_bounded(void **state)
{
    struct fx *f = *state;
    sl__sent e;
    sl__sent *many = calloc(SL_SENT_LOG_MAX + 10, sizeof *many);
    for (size_t i = 0; i < SL_SENT_LOG_MAX + 10; i++)
        many[i] = (sl__sent){.first = 100 + 2 * i, .last = 101 + 2 * i, .count = 1};
    assert_int_equal(sl__journal_sent_log(f->j, many, SL_SENT_LOG_MAX + 10), SL_OK);
    assert_int_equal(sl__journal_sent_find(f->j, 100, &e), SL_ERR_NOT_FOUND);
    assert_int_equal(sl__journal_sent_find(f->j, 100 + 2 * 10, &e), SL_OK);
    free(many);
}

static void test_ack_retry_keys(void **state)
{
    (void)state;
    sl__ack *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    uint8_t buf[8192];
    size_t len;
    a->acked_through = 10;
    a->hub_time = T0;
    a->retried_first = 3;
    a->retried_last = 4;
    a->n_accepted = 1;
    a->accepted[0] = 3;
    a->n_rejects = 1;
    a->rejects[0].seq = 4;
    a->rejects[0].code = 2;
    snprintf(a->rejects[0].reason, sizeof a->rejects[0].reason, "currency USD not accepted");
    assert_int_equal(sl__ack_encode(a, buf, sizeof buf, &len), SL_OK);
    assert_int_equal(sl__ack_decode(buf, len, b), SL_OK);
    assert_int_equal(b->retried_first, 3);
    assert_int_equal(b->retried_last, 4);
    assert_int_equal(b->n_accepted, 1);
    assert_int_equal(b->accepted[0], 3);
    assert_int_equal(b->rejects[0].seq, 4);
    /* a retried range wider than an ack can describe is malformed */
    a->retried_last = 3 + SL_ACK_MAX_REJECTS;
    assert_int_equal(sl__ack_encode(a, buf, sizeof buf, &len), SL_OK);
    assert_int_equal(sl__ack_decode(buf, len, b), SL_ERR_CORRUPT);
    /* a plain ack has neither key */
    memset(a, 0, sizeof *a);
    a->acked_through = 5;
    assert_int_equal(sl__ack_encode(a, buf, sizeof buf, &len), SL_OK);
    assert_int_equal(sl__ack_decode(buf, len, b), SL_OK);
    assert_int_equal(b->retried_first, 0);
    assert_int_equal(b->n_accepted, 0);
    free(a);
    free(b);
}

static void test_drop_codec_and_rules(void **state)
{
    (void)state;
    sl_event *ev = malloc(sizeof *ev), *back = malloc(sizeof *back);
    uint8_t buf[SL_RECORD_MAX];
    size_t len;
    sl_problem p;
    drop_event(ev, 7, "refunded in cash");
    ev->ts_ms = T0;
    assert_int_equal(sl_event_validate(ev, &p), SL_OK);
    assert_int_equal(sl__codec_encode(ev, SL_ENC_WIRE, 0, NULL, "EUR", buf, sizeof buf, &len),
                     SL_OK);
    /* no currency of its own: the batch's must not be filled in */
    assert_int_equal(sl__codec_decode(buf, len, SL_ENC_WIRE, "EUR", back, NULL, NULL), SL_OK);
    assert_int_equal(back->kind, SL_KIND_DLQ_DROP);
    assert_string_equal(back->currency, "");
    assert_int_equal(back->target_seq, 7);
    assert_string_equal(back->note, "refunded in cash");
    assert_string_equal(back->operator_name, "alice");
    /* the drop fields belong to dlq_drop only, and a drop carries no goods */
    sl_event_init(back, SL_KIND_SALE, "S-1");
    memcpy(back->currency, "EUR", 4);
    assert_int_equal(sl_event_add_line(back, "SKU-1", 1000, 100, 0, 0), SL_OK);
    assert_int_equal(sl_event_add_tender(back, "cash", 100), SL_OK);
    assert_int_equal(sl_event_validate(back, &p), SL_OK);
    back->target_seq = 3;
    assert_int_equal(sl_event_validate(back, &p), SL_ERR_INVALID);
    assert_int_equal(sl_event_add_line(ev, "SKU-1", 1000, 100, 0, 0), SL_OK);
    assert_int_equal(sl_event_validate(ev, &p), SL_ERR_INVALID);
    assert_string_equal(p.field, "lines");
    drop_event(ev, 7, "x");
    ev->operator_name[0] = '\0';
    assert_int_equal(sl_event_validate(ev, &p), SL_ERR_INVALID);
    assert_string_equal(p.field, "operator");
    drop_event(ev, 0, "x");
    assert_int_equal(sl_event_validate(ev, &p), SL_ERR_INVALID);
    assert_string_equal(p.field, "target_seq");
    free(back);
    free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retry_marks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_ack_settles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sent_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sent_log_bounded, setup, teardown),
        cmocka_unit_test(test_ack_retry_keys),
        cmocka_unit_test(test_drop_codec_and_rules),
    };
    return cmocka_run_group_tests_name("dlq", tests, NULL, NULL);
}
