/*
 * The uplink engine against a fake transport: window, PUBACK handling,
 * ack-driven retirement, ack timeout and hub-requested resend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ack.h"
#include "batch.h"
#include "crypto.h"
#include "journal_internal.h"
#include "storelink.h"
#include "sync.h"

struct sent {
    char topic[128];
    uint64_t first, last;
    int mid;
    int retry;
};

struct fake {
    struct sent msgs[256];
    int n;
    int next_mid;
    int fail;
};

static int fake_publish(void *ctx, const char *topic, const void *payload, size_t len,
                        int retain, int *mid)
{
    struct fake *f = ctx;
    sl__batch_in b;
    char why[128];
    (void)retain;
    if (f->fail)
        return -1;
    assert_true(f->n < 256);
    assert_int_equal(sl__batch_parse(payload, len, &b, why, sizeof why), SL_OK);
    struct sent *s = &f->msgs[f->n++];
    snprintf(s->topic, sizeof s->topic, "%s", topic);
    s->first = b.first;
    s->last = b.last;
    s->retry = b.retry;
    s->mid = *mid = ++f->next_mid;
    sl__batch_in_free(&b);
    return 0;
}

struct env {
    char dir[64];
    sl_journal *j;
    sl__key *key;
    struct fake fake;
    sl__sync *s;
    sl__sync_cfg cfg;
};

static void record_n(sl_journal *j, int from, int n)
{
    sl_event *ev = malloc(sizeof *ev);
    for (int i = from; i < from + n; i++) {
        char txn[32];
        uint64_t seq;
        sl_status st;
        snprintf(txn, sizeof txn, "T-%d", i);
        sl_event_init(ev, SL_KIND_SALE, txn);
        memcpy(ev->currency, "EUR", 4);
        assert_int_equal(sl_event_add_line(ev, "4006381333931", 1000, 199, 0, 0), SL_OK);
        assert_int_equal(sl_event_add_tender(ev, "cash", 199), SL_OK);
        assert_int_equal(sl_journal_record(j, ev, &seq, &st, NULL), SL_OK);
        assert_int_equal(seq, (uint64_t)i);
    }
    free(ev);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    char keyp[128];
    snprintf(e->dir, sizeof e->dir, "/tmp/sl-sync-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    assert_int_equal(sl_journal_open(&e->j, e->dir, NULL), SL_OK);
    snprintf(keyp, sizeof keyp, "%s/device.key", e->dir);
    assert_int_equal(sl__key_generate(keyp), SL_OK);
    assert_int_equal(sl__key_load(&e->key, keyp), SL_OK);
    static const uint8_t fake_cert[] = {0x30, 0x00};
    e->cfg = (sl__sync_cfg){
        .device = "dev-1", .store = "s-1", .prefix = "storelink/v1",
        .batch_max_records = 10, .batch_max_bytes = 65536, .max_inflight = 3,
        .ack_timeout_ms = 1000, .compress = 1, .key = e->key,
        .cert_der = fake_cert, .cert_len = sizeof fake_cert,
    };
    sl__transport tp = {&e->fake, fake_publish};
    record_n(e->j, 1, 45);
    assert_int_equal(sl__sync_new(&e->s, e->j, &e->cfg, &tp), SL_OK);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    char cmd[128];
    sl__sync_free(e->s);
    sl__key_free(e->key);
    sl_journal_close(e->j);
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    assert_int_equal(system(cmd), 0);
    free(e);
    return 0;
}

static void ack(struct env *e, uint64_t through, uint64_t now, const char *error,
                uint64_t resend_from, uint64_t reject_seq)
{
    sl__ack a;
    uint8_t buf[512];
    size_t len;
    memset(&a, 0, sizeof a);
    a.acked_through = through;
    a.hub_time = 1;
    if (error)
        snprintf(a.error, sizeof a.error, "%s", error);
    a.resend_from = resend_from;
    if (reject_seq) {
        a.n_rejects = 1;
        a.rejects[0].seq = reject_seq;
        a.rejects[0].code = SL_REJ_CURRENCY;
        snprintf(a.rejects[0].reason, sizeof a.rejects[0].reason, "currency not accepted");
    }
    assert_int_equal(sl__ack_encode(&a, buf, sizeof buf, &len), SL_OK);
    sl__sync_on_ack(e->s, buf, len, now);
}

static void test_window_and_order(void **state)
{
    struct env *e = *state;
    sl__sync_on_connected(e->s, 65535, 0);
    /* max_inflight 3, 10 records per batch */
    assert_int_equal(e->fake.n, 3);
    assert_string_equal(e->fake.msgs[0].topic, "storelink/v1/s-1/dev-1/journal");
    assert_int_equal(e->fake.msgs[0].first, 1);
    assert_int_equal(e->fake.msgs[0].last, 10);
    assert_int_equal(e->fake.msgs[2].first, 21);
    /* the broker's Receive Maximum caps the window */
    sl__sync_on_disconnected(e->s, "test");
    e->fake.n = 0;
    sl__sync_on_connected(e->s, 1, 0);
    assert_int_equal(e->fake.n, 1);
}

static void test_puback_never_retires(void **state)
{
    struct env *e = *state;
    uint64_t acked;
    sl__sync_on_connected(e->s, 65535, 0);
    sl__sync_on_puback(e->s, e->fake.msgs[0].mid, 0x00, 10);
    sl__sync_on_puback(e->s, e->fake.msgs[1].mid, 0x10, 10);   /* no subscribers: still ok */
    assert_int_equal(sl__journal_acked(e->j, &acked), SL_OK);
    assert_int_equal(acked, 0);
    assert_int_equal(e->fake.n, 3);   /* nothing new without an ack */
}

static void test_ack_retires_and_refills(void **state)
{
    struct env *e = *state;
    uint64_t acked;
    sl__sync_stats st;
    sl__sync_on_connected(e->s, 65535, 0);
    ack(e, 10, 5, NULL, 0, 0);
    assert_int_equal(sl__journal_acked(e->j, &acked), SL_OK);
    assert_int_equal(acked, 10);
    assert_int_equal(e->fake.n, 4);   /* window refilled */
    assert_int_equal(e->fake.msgs[3].first, 31);
    /* an ack beyond what the journal has is clamped */
    ack(e, 1000, 6, NULL, 0, 0);
    assert_int_equal(sl__journal_acked(e->j, &acked), SL_OK);
    assert_int_equal(acked, 45);
    sl__sync_stats_get(e->s, &st);
    assert_int_equal(st.acked_through, 45);
    assert_int_equal(st.inflight, 0);
    /* an old ack never moves it back */
    ack(e, 3, 7, NULL, 0, 0);
    assert_int_equal(sl__journal_acked(e->j, &acked), SL_OK);
    assert_int_equal(acked, 45);
}

static void test_refused_puback_backs_off(void **state)
{
    struct env *e = *state;
    sl__sync_stats st;
    sl__sync_on_connected(e->s, 65535, 0);
    sl__sync_on_puback(e->s, e->fake.msgs[0].mid, 0x87, 100);
    sl__sync_stats_get(e->s, &st);
    assert_non_null(strstr(st.last_error, "not authorized"));
    /* no hot loop: nothing is sent again before the backoff expires */
    sl__sync_tick(e->s, 200);
    assert_int_equal(e->fake.n, 3);
    sl__sync_tick(e->s, 1200);
    assert_int_equal(e->fake.n, 6);
    assert_int_equal(e->fake.msgs[3].first, 1);   /* resent from the start, in order */
}

static void test_ack_timeout_resends(void **state)
{
    struct env *e = *state;
    sl__sync_on_connected(e->s, 65535, 0);
    ack(e, 10, 100, NULL, 0, 0);
    int before = e->fake.n;
    assert_true(sl__sync_tick(e->s, 500) <= 1000);
    assert_int_equal(e->fake.n, before);
    sl__sync_tick(e->s, 1001);   /* batch 11..20, sent at 0, timed out */
    assert_int_equal(e->fake.msgs[before].first, 11);
}

static void test_hub_resend_from_and_dead_letters(void **state)
{
    struct env *e = *state;
    uint64_t n;
    sl__sync_on_connected(e->s, 65535, 0);
    /* nothing of 11..: the hub has only 1..10 and wants 11 next */
    ack(e, 10, 5, "gap: expected seq 11", 11, 4);
    assert_int_equal(sl__journal_dead_count(e->j, &n), SL_OK);
    assert_int_equal(n, 1);
    /* 11..20 is still in flight, so wait for it rather than resend */
    assert_int_equal(e->fake.n, 3);
    ack(e, 20, 6, NULL, 0, 0);
    assert_int_equal(e->fake.msgs[3].first, 21);   /* 21..30 again, in order */
}

/* Shared subscription: batch 21..30 reached a hub instance before 11..20
 * was committed by another.  The agent must not rewind everything on each
 * such refusal (a resend storm that overtakes itself again). */
static void test_gap_refusal_does_not_storm(void **state)
{
    struct env *e = *state;
    sl__sync_on_connected(e->s, 65535, 0);
    ack(e, 10, 5, NULL, 0, 0);            /* 31..40 goes out */
    assert_int_equal(e->fake.n, 4);
    ack(e, 10, 6, "gap: expected seq 11", 11, 0);   /* 21..30 refused */
    ack(e, 10, 7, "gap: expected seq 11", 11, 0);   /* 31..40 refused */
    assert_int_equal(e->fake.n, 4);       /* nothing resent yet */
    ack(e, 20, 8, NULL, 0, 0);            /* 11..20 committed */
    assert_int_equal(e->fake.n, 7);
    assert_int_equal(e->fake.msgs[4].first, 21);
    assert_int_equal(e->fake.msgs[5].first, 31);
    assert_int_equal(e->fake.msgs[6].first, 41);
    /* if the awaited batch is lost, the ack timeout still recovers */
    ack(e, 20, 9, "gap: expected seq 21", 21, 0);
    sl__sync_tick(e->s, 5000);
    assert_int_equal(e->fake.msgs[7].first, 21);
}

static void test_offline_sends_nothing(void **state)
{
    struct env *e = *state;
    sl__sync_kick(e->s, 0);
    assert_int_equal(e->fake.n, 0);
    sl__sync_on_connected(e->s, 65535, 0);
    sl__sync_on_disconnected(e->s, "lost");
    e->fake.n = 0;
    sl__sync_kick(e->s, 1);
    assert_int_equal(e->fake.n, 0);
}

static void retry_ack(struct env *e, uint64_t first, uint64_t last, uint64_t accepted,
                      uint64_t now)
{
    sl__ack a;
    uint8_t buf[512];
    size_t len;
    memset(&a, 0, sizeof a);
    a.acked_through = 45;
    a.hub_time = 1;
    a.retried_first = first;
    a.retried_last = last;
    if (accepted) {
        a.n_accepted = 1;
        a.accepted[0] = accepted;
    }
    assert_int_equal(sl__ack_encode(&a, buf, sizeof buf, &len), SL_OK);
    sl__sync_on_ack(e->s, buf, len, now);
}

/* `dlq retry` marks a dead letter; the engine sends it in a retry batch
 * (one at a time, outside the window), resends it on ack timeout, and the
 * hub's answer settles it. */
static void test_dead_letter_retry(void **state)
{
    struct env *e = *state;
    uint64_t n, marked;
    sl__sync_stats st;
    e->cfg.batch_max_records = 100;
    sl__sync_set_limits(e->s, 100, 65536, 3, 1000);
    sl__sync_on_connected(e->s, 65535, 0);
    ack(e, 45, 5, NULL, 0, 4);
    assert_int_equal(sl__journal_dead_count(e->j, &n), SL_OK);
    assert_int_equal(n, 1);
    int before = e->fake.n;
    sl__sync_kick(e->s, 10);
    assert_int_equal(e->fake.n, before);   /* nothing marked: nothing sent */
    assert_int_equal(sl__journal_dlq_retry(e->j, 4, 1, &marked), SL_OK);
    sl__sync_kick(e->s, 10);
    assert_int_equal(e->fake.n, before + 1);
    assert_int_equal(e->fake.msgs[before].retry, 1);
    assert_int_equal(e->fake.msgs[before].first, 4);
    assert_int_equal(e->fake.msgs[before].last, 4);
    sl__sync_kick(e->s, 20);
    assert_int_equal(e->fake.n, before + 1);   /* one retry in flight at a time */
    assert_true(sl__sync_tick(e->s, 500) <= 1010);
    sl__sync_tick(e->s, 1010);               /* no answer: sent again */
    assert_int_equal(e->fake.n, before + 2);
    assert_int_equal(e->fake.msgs[before + 1].retry, 1);
    /* the hub still rejects it: dead letter stays, mark cleared, no resend */
    retry_ack(e, 4, 4, 0, 1100);
    assert_int_equal(sl__journal_dead_count(e->j, &n), SL_OK);
    assert_int_equal(n, 1);
    sl__sync_kick(e->s, 1200);
    assert_int_equal(e->fake.n, before + 2);
    /* retried again and accepted: gone */
    assert_int_equal(sl__journal_dlq_retry(e->j, 0, 2, &marked), SL_OK);
    sl__sync_kick(e->s, 1300);
    assert_int_equal(e->fake.n, before + 3);
    retry_ack(e, 4, 4, 4, 1400);
    assert_int_equal(sl__journal_dead_count(e->j, &n), SL_OK);
    assert_int_equal(n, 0);
    sl__sync_stats_get(e->s, &st);
    assert_int_equal(st.retries_sent, 3);
    assert_int_equal(st.retries_accepted, 1);
}

/* The sent log is written in the ack's transaction; resends count. */
static void test_sent_log(void **state)
{
    struct env *e = *state;
    sl__sent log;
    sl__sync_on_connected(e->s, 65535, 0);     /* 1..10, 11..20, 21..30 */
    assert_int_equal(sl__journal_sent_find(e->j, 5, &log), SL_ERR_NOT_FOUND);
    ack(e, 10, 5, NULL, 0, 0);                 /* 31..40 goes out */
    assert_int_equal(sl__journal_sent_find(e->j, 5, &log), SL_OK);
    assert_int_equal(log.first, 1);
    assert_int_equal(log.last, 10);
    assert_int_equal(log.count, 1);
    assert_true(log.acked_ms > 0);
    assert_int_equal(sl__journal_sent_find(e->j, 15, &log), SL_OK);
    assert_int_equal(log.acked_ms, 0);
    /* 31..40 is flushed on disconnect (no ack is coming) */
    assert_int_equal(sl__journal_sent_find(e->j, 35, &log), SL_ERR_NOT_FOUND);
    sl__sync_on_disconnected(e->s, "lost");
    assert_int_equal(sl__journal_sent_find(e->j, 35, &log), SL_OK);
    sl__sync_on_connected(e->s, 65535, 100);   /* 11..20 again */
    ack(e, 20, 105, NULL, 0, 0);
    assert_int_equal(sl__journal_sent_find(e->j, 15, &log), SL_OK);
    assert_int_equal(log.count, 2);
    assert_true(log.acked_ms > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_window_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_puback_never_retires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_retires_and_refills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_puback_backs_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_timeout_resends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_resend_from_and_dead_letters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_refusal_does_not_storm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sent_log, setup, teardown),
    };
    return cmocka_run_group_tests_name("sync", tests, NULL, NULL);
}
