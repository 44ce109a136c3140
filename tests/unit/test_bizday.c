/*
 * test_bizday - business days in a store's time zone (agent/bizday.c over
 * platform/posix_tz.c) and the day close (agent/dayclose.c, the day_close
 * record in agent/codec.c, the clock-trust flags the journal sets).
 * Expected instants are written out in UTC from the published zone rules:
 * Europe/Berlin changes at 01:00Z on the last Sunday of March and October,
 * America/New_York at 02:00 local on the second Sunday of March and the
 * first Sunday of November.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bizday.h"
#include "codec.h"
#include "dayclose.h"
#include "journal_internal.h"
#include "platform.h"
#include "storelink.h"

#define H 3600000LL

static int64_t day_of(const char *date)
{
    int64_t d;
    assert_int_equal(sl__date_parse(date, &d), 0);
    return d;
}

static void check_bounds(const char *tz, uint32_t day_end, const char *date, int64_t start,
                         int64_t end)
{
    sl__bizday b;
    int64_t s, e;
    assert_int_equal(sl__bizday_init(&b, tz, day_end), SL_OK);
    assert_int_equal(sl__bizday_bounds(&b, day_of(date), &s, &e), SL_OK);
    if (s != start || e != end)
        fail_msg("%s %s day_end %u: got [%lld, %lld) want [%lld, %lld)", tz, date, day_end,
                 (long long)s, (long long)e, (long long)start, (long long)end);
}

static void test_berlin_dst(void **state)
{
    (void)state;
    /* spring forward: a 23-hour day */
    check_bounds("Europe/Berlin", 0, "2026-03-29", 1774738800000LL, 1774821600000LL);
    /* fall back: a 25-hour day */
    check_bounds("Europe/Berlin", 0, "2026-10-25", 1792879200000LL, 1792969200000LL);
    /* an ordinary winter day is 24 hours, starting at 23:00Z */
    check_bounds("Europe/Berlin", 0, "2026-01-15", 1768431600000LL, 1768431600000LL + 24 * H);
}

static void test_new_york_dst(void **state)
{
    (void)state;
    check_bounds("America/New_York", 0, "2026-03-08", 1772946000000LL, 1773028800000LL);
    check_bounds("America/New_York", 0, "2026-11-01", 1793505600000LL, 1793595600000LL);
}

static void test_day_end_past_midnight(void **state)
{
    (void)state;
    sl__bizday b;
    int64_t d;
    /* day_end 04:00: the 28th runs from 04:00 CET (03:00Z) to 04:00 CEST on
     * the 29th (02:00Z), 23 hours */
    check_bounds("Europe/Berlin", 240, "2026-03-28", 1774666800000LL, 1774749600000LL);
    assert_int_equal(sl__bizday_init(&b, "Europe/Berlin", 240), SL_OK);
    /* 01:30 local on the 29th still belongs to the 28th */
    assert_int_equal(sl__bizday_of(&b, 1774744200000LL, &d), SL_OK);
    assert_int_equal(d, day_of("2026-03-28"));
    /* 04:00 CEST on the 29th is the first instant of the 29th */
    assert_int_equal(sl__bizday_of(&b, 1774749600000LL, &d), SL_OK);
    assert_int_equal(d, day_of("2026-03-29"));
    assert_int_equal(sl__bizday_of(&b, 1774749600000LL - 1, &d), SL_OK);
    assert_int_equal(d, day_of("2026-03-28"));
    /* New York, day_end 02:00 on the spring-forward night: 02:00 does not
     * exist, the day starts at the change itself (07:00Z) */
    check_bounds("America/New_York", 120, "2026-03-08", 1772953200000LL, 1773036000000LL);
}

static void test_day_end_in_gap_and_repeat(void **state)
{
    (void)state;
    /* Berlin 02:30 on 2026-03-29 never happens: the day starts at the
     * change, 01:00Z */
    check_bounds("Europe/Berlin", 150, "2026-03-29", 1774746000000LL, 1774830600000LL);
    /* 02:30 on 2026-10-25 happens twice: the first one (00:30Z) counts */
    check_bounds("Europe/Berlin", 150, "2026-10-24", 1792801800000LL, 1792888200000LL);
}

/* every instant's business day contains it, and days tile the time line */
static void sweep(const char *tz, uint32_t day_end, int64_t from)
{
    sl__bizday b;
    int64_t prev_day = 0, prev_end = 0;
    assert_int_equal(sl__bizday_init(&b, tz, day_end), SL_OK);
    for (int64_t t = from; t < from + 6 * 24 * H; t += 7 * 60000) {
        int64_t d, s, e;
        assert_int_equal(sl__bizday_of(&b, t, &d), SL_OK);
        assert_int_equal(sl__bizday_bounds(&b, d, &s, &e), SL_OK);
        if (!(s <= t && t < e))
            fail_msg("%s: %lld not in its day [%lld, %lld)", tz, (long long)t, (long long)s,
                     (long long)e);
        if (prev_end != 0 && d != prev_day) {
            assert_int_equal(d, prev_day + 1);
            assert_int_equal(s, prev_end);
        }
        prev_day = d;
        prev_end = e;
    }
}

static void test_sweep_across_changes(void **state)
{
    (void)state;
    static const uint32_t ends[] = {0, 150, 240};
    for (size_t i = 0; i < 3; i++) {
        sweep("Europe/Berlin", ends[i], 1774483200000LL);     /* 2026-03-26 */
        sweep("Europe/Berlin", ends[i], 1792713600000LL);     /* 2026-10-23 */
        sweep("America/New_York", ends[i], 1772755200000LL);  /* 2026-03-06 */
        sweep("America/New_York", ends[i], 1793318400000LL);  /* 2026-10-30 */
    }
}

static void test_zone_names(void **state)
{
    (void)state;
    sl__bizday b;
    assert_int_equal(sl_plat_tz_check("UTC"), SL_OK);
    assert_int_equal(sl_plat_tz_check("Europe/Berlin"), SL_OK);
    assert_int_equal(sl_plat_tz_check("Mars/Olympus_Mons"), SL_ERR_NOT_FOUND);
    assert_int_equal(sl_plat_tz_check("Europe"), SL_ERR_NOT_FOUND);   /* a directory */
    assert_int_equal(sl_plat_tz_check("../../etc/passwd"), SL_ERR_INVALID);
    assert_int_equal(sl_plat_tz_check("/etc/localtime"), SL_ERR_INVALID);
    assert_int_equal(sl_plat_tz_check(""), SL_ERR_INVALID);
    assert_int_equal(sl__bizday_init(&b, "UTC", 1440), SL_ERR_USAGE);
    /* the caller's TZ is left as it was */
    setenv("TZ", "Asia/Tokyo", 1);
    int32_t off;
    assert_int_equal(sl_plat_tz_offset("Europe/Berlin", 1774744200000LL, &off), SL_OK);
    assert_int_equal(off, 3600);
    assert_string_equal(getenv("TZ"), "Asia/Tokyo");
    unsetenv("TZ");
}

static void test_dates(void **state)
{
    (void)state;
    int64_t d;
    char out[11];
    uint32_t m;
    assert_int_equal(sl__date_parse("2028-02-29", &d), 0);
    sl__date_format(d, out);
    assert_string_equal(out, "2028-02-29");
    sl__date_format(d + 1, out);
    assert_string_equal(out, "2028-03-01");
    assert_int_equal(sl__date_parse("2026-02-29", &d), -1);
    assert_int_equal(sl__date_parse("2026-13-01", &d), -1);
    assert_int_equal(sl__date_parse("2026-1-01", &d), -1);
    assert_int_equal(sl__date_parse("1999-12-31", &d), -1);
    /* past 2038: integer day numbers, no time_t involved */
    assert_int_equal(sl__date_parse("2099-12-31", &d), 0);
    sl__date_format(d, out);
    assert_string_equal(out, "2099-12-31");
    assert_int_equal(sl__hhmm_parse("04:00", &m), 0);
    assert_int_equal(m, 240);
    assert_int_equal(sl__hhmm_parse("24:00", &m), -1);
    assert_int_equal(sl__hhmm_parse("4:00", &m), -1);
}

static sl_record *rec_new(uint64_t seq, sl_kind kind, int64_t ts)
{
    sl_record *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->seq = seq;
    sl_event_init(&r->ev, kind, "T");
    r->ev.ts_ms = ts;
    return r;
}

/* late records go to the next day, by seq (dayclose.h) */
static void test_membership(void **state)
{
    (void)state;
    sl__day_scope s28, s29;
    int m;
    int64_t d28 = day_of("2026-03-28"), d29 = day_of("2026-03-29");
    memset(&s28, 0, sizeof s28);
    memset(&s29, 0, sizeof s29);
    assert_int_equal(sl__bizday_init(&s28.bd, "Europe/Berlin", 240), SL_OK);
    assert_int_equal(sl__bizday_init(&s29.bd, "Europe/Berlin", 240), SL_OK);
    s28.day = d28;
    s28.through = 4;                 /* the 28th was closed after seq 4 */
    s29.day = d29;
    s29.through = UINT64_MAX;        /* the 29th is open */
    s29.has_prev = 1;
    s29.prev_day = d28;
    s29.prev_through = 4;
    sl_record *early = rec_new(2, SL_KIND_SALE, 1774744200000LL);  /* 01:30 on the 29th: 28th */
    sl_record *late = rec_new(6, SL_KIND_SALE, 1774744200000LL);   /* same time, after close */
    sl_record *next = rec_new(3, SL_KIND_SALE, 1774749600000LL);   /* 29th, before the close */
    assert_int_equal(sl__day_member(&s28, early, &m), SL_OK);
    assert_int_equal(m, 1);
    assert_int_equal(sl__day_member(&s29, early, &m), SL_OK);
    assert_int_equal(m, 0);
    assert_int_equal(sl__day_member(&s28, late, &m), SL_OK);
    assert_int_equal(m, 0);
    assert_int_equal(sl__day_member(&s29, late, &m), SL_OK);
    assert_int_equal(m, 1);
    assert_int_equal(sl__day_member(&s28, next, &m), SL_OK);
    assert_int_equal(m, 0);
    assert_int_equal(sl__day_member(&s29, next, &m), SL_OK);
    assert_int_equal(m, 1);
    free(early);
    free(late);
    free(next);
}

static void test_day_close_codec(void **state)
{
    (void)state;
    sl_event *ev = calloc(1, sizeof *ev), *back = calloc(1, sizeof *back);
    sl_record *r = rec_new(1, SL_KIND_SALE, 1774744200000LL);
    uint8_t *buf = malloc(SL_RECORD_MAX);
    size_t len;
    uint64_t seq;
    uint8_t prev[32];
    assert_non_null(ev);
    assert_non_null(back);
    assert_non_null(buf);
    snprintf(r->ev.currency, sizeof r->ev.currency, "EUR");
    assert_int_equal(sl_event_add_line(&r->ev, "A", 1000, 500, 0, 80), SL_OK);
    assert_int_equal(sl_event_add_tender(&r->ev, "card", 580), SL_OK);
    r->ev.flags = SL_FLAG_CLOCK_UNSYNC;
    sl_event_init(ev, SL_KIND_DAY_CLOSE, "day-close:2026-03-28");
    sl__day_init(&ev->day, day_of("2026-03-28"), "Europe/Berlin", 240);
    assert_int_equal(sl__day_add(&ev->day, r), SL_OK);
    ev->day.through_seq = 1;
    assert_int_equal(ev->day.clock_untrusted, 1);
    assert_int_equal(ev->day.totals[0].amount, 580);
    assert_int_equal(ev->day.totals[0].tax, 80);
    assert_int_equal(sl_event_validate(ev, NULL), SL_OK);
    assert_int_equal(sl__codec_encode(ev, SL_ENC_STORED, 2, NULL, NULL, buf, SL_RECORD_MAX, &len),
                     SL_OK);
    assert_int_equal(sl__codec_decode(buf, len, SL_ENC_STORED, NULL, back, &seq, prev), SL_OK);
    assert_int_equal(back->kind, SL_KIND_DAY_CLOSE);
    assert_int_equal(sl__day_diff(&ev->day, "a", &back->day, "b", NULL, NULL), 0);
    /* wire mode: a day close never takes the batch's currency */
    assert_int_equal(sl__codec_encode(ev, SL_ENC_WIRE, 0, NULL, "EUR", buf, SL_RECORD_MAX, &len),
                     SL_OK);
    assert_int_equal(sl__codec_decode(buf, len, SL_ENC_WIRE, "EUR", back, NULL, NULL), SL_OK);
    assert_string_equal(back->currency, "");
    /* a different total is a difference, named */
    back->day.totals[0].amount = 570;
    assert_int_equal(sl__day_diff(&ev->day, "a", &back->day, "b", NULL, NULL), 1);
    /* day keys on another kind are not a record */
    assert_int_equal(sl__codec_encode(ev, SL_ENC_CONTENT, 0, NULL, NULL, buf, SL_RECORD_MAX, &len),
                     SL_OK);
    buf[2] = SL_KIND_SALE;   /* a1? 01 05: map head, key 1, kind 5 */
    assert_int_equal(sl__codec_decode(buf, len, SL_ENC_CONTENT, NULL, back, NULL, NULL),
                     SL_ERR_CORRUPT);
    /* a close with no records has an all-zero hash (key 26): any other hash
     * would be a second encoding of it (tests/fuzz/regress/codec/) */
    sl_event_init(ev, SL_KIND_DAY_CLOSE, "day-close:2026-03-28");
    sl__day_init(&ev->day, day_of("2026-03-28"), "UTC", 0);
    assert_int_equal(sl__codec_encode(ev, SL_ENC_CONTENT, 0, NULL, NULL, buf, SL_RECORD_MAX, &len),
                     SL_OK);
    assert_int_equal(sl__codec_decode(buf, len, SL_ENC_CONTENT, NULL, back, NULL, NULL), SL_OK);
    static const uint8_t hash_key[] = {0x18, 26, 0x58, 32};
    size_t at = 0;
    while (at + sizeof hash_key <= len && memcmp(buf + at, hash_key, sizeof hash_key) != 0)
        at++;
    assert_true(at + sizeof hash_key + 32 <= len);
    buf[at + sizeof hash_key + 5] = 0x62;
    assert_int_equal(sl__codec_decode(buf, len, SL_ENC_CONTENT, NULL, back, NULL, NULL),
                     SL_ERR_CORRUPT);
    /* the txn id is tied to the date: one close per date */
    snprintf(ev->txn_id, sizeof ev->txn_id, "day-close:2026-03-29");
    assert_int_equal(sl_event_validate(ev, NULL), SL_ERR_INVALID);
    free(ev);
    free(back);
    free(r);
    free(buf);
}

/* the journal sets the clock-trust bits; a retry after the clock's state
 * changed is still the same event, and verify still passes */
static void test_journal_clock_flags(void **state)
{
    (void)state;
    char dir[] = "/tmp/sltest_bizday.XXXXXX";
    assert_non_null(mkdtemp(dir));
    sl_journal *j;
    sl_event *ev = calloc(1, sizeof *ev);
    sl_record *rec = calloc(1, sizeof *rec);
    uint64_t seq;
    sl_status st;
    sl_verify v;
    assert_int_equal(sl_journal_open(&j, dir, NULL), SL_OK);
    sl_event_init(ev, SL_KIND_SALE, "S-1");
    snprintf(ev->currency, sizeof ev->currency, "EUR");
    assert_int_equal(sl_event_add_line(ev, "A", 1000, 500, 0, 0), SL_OK);
    assert_int_equal(sl_event_add_tender(ev, "cash", 500), SL_OK);
    setenv("STORELINK_CLOCK_STATE", "unsynced", 1);
    assert_int_equal(sl_journal_record(j, ev, &seq, &st, NULL), SL_OK);
    assert_int_equal(sl_journal_get(j, seq, rec), SL_OK);
    assert_int_equal(rec->ev.flags, SL_FLAG_CLOCK_UNSYNC);
    setenv("STORELINK_CLOCK_STATE", "synced", 1);
    assert_int_equal(sl_journal_record(j, ev, &seq, &st, NULL), SL_OK);
    assert_int_equal(st, SL_STATUS_DUPLICATE);
    setenv("STORELINK_CLOCK_STATE", "jump", 1);
    sl_event_init(ev, SL_KIND_SALE, "S-2");
    snprintf(ev->currency, sizeof ev->currency, "EUR");
    assert_int_equal(sl_event_add_line(ev, "A", 1000, 500, 0, 0), SL_OK);
    assert_int_equal(sl_event_add_tender(ev, "cash", 500), SL_OK);
    assert_int_equal(sl_journal_record(j, ev, &seq, &st, NULL), SL_OK);
    assert_int_equal(sl_journal_get(j, seq, rec), SL_OK);
    assert_int_equal(rec->ev.flags, SL_FLAG_CLOCK_JUMP);
    /* a different event under the same txn id is still a conflict */
    setenv("STORELINK_CLOCK_STATE", "synced", 1);
    ev->tenders[0].amount = 600;
    assert_int_equal(sl_journal_record(j, ev, &seq, &st, NULL), SL_ERR_CONFLICT);
    assert_int_equal(sl_journal_verify(j, &v), SL_OK);
    sl_journal_close(j);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(ev);
    free(rec);
}

/* the clock baseline: a step against the previous baseline is a jump, a
 * baseline of another boot or none at all is not (platform) */
static void test_clock_baseline(void **state)
{
    (void)state;
    sl_plat_clock_base a, b, c;
    setenv("STORELINK_CLOCK_STATE", "synced", 1);
    setenv("STORELINK_BOOT_ID", "boot-a", 1);
    assert_int_equal(sl_plat_clock_trust(NULL, &a), 0);
    assert_string_equal(a.boot_id, "boot-a");
    assert_int_equal(sl_plat_clock_trust(&a, &b), 0);
    assert_true(b.wall_minus_boot_ms - a.wall_minus_boot_ms < SL_PLAT_CLOCK_JUMP_MS);
    c = a;
    c.wall_minus_boot_ms += 3600000;   /* the clock was an hour ahead then */
    assert_int_equal(sl_plat_clock_trust(&c, &b), SL_PLAT_CLOCK_JUMP);
    c.wall_minus_boot_ms = a.wall_minus_boot_ms - SL_PLAT_CLOCK_JUMP_MS + 500;
    assert_int_equal(sl_plat_clock_trust(&c, &b), 0);
    c.wall_minus_boot_ms = a.wall_minus_boot_ms - 86400000;
    snprintf(c.boot_id, sizeof c.boot_id, "boot-0");   /* another boot */
    assert_int_equal(sl_plat_clock_trust(&c, &b), 0);
    unsetenv("STORELINK_BOOT_ID");
    assert_int_equal(sl_plat_clock_trust(NULL, &b), 0);
    assert_true(b.boot_id[0] != '\0');
}

/* the journal keeps the newest close's seq for retention, and the prune
 * stops at the seq bound */
static void test_journal_close_bound(void **state)
{
    (void)state;
    char dir[] = "/tmp/sltest_bizday.XXXXXX";
    assert_non_null(mkdtemp(dir));
    sl_journal *j;
    sl_event *ev = calloc(1, sizeof *ev);
    uint64_t seq, cseq;
    sl_status st;
    size_t n;
    int adv;
    setenv("STORELINK_CLOCK_STATE", "synced", 1);
    assert_int_equal(sl_journal_open(&j, dir, NULL), SL_OK);
    assert_int_equal(sl__journal_last_close(j, &cseq), SL_ERR_NOT_FOUND);
    for (int i = 1; i <= 4; i++) {
        char txn[16];
        snprintf(txn, sizeof txn, "S-%d", i);
        sl_event_init(ev, SL_KIND_SALE, txn);
        snprintf(ev->currency, sizeof ev->currency, "EUR");
        ev->ts_ms = 1774744200000LL + i;
        assert_int_equal(sl_event_add_line(ev, "A", 1000, 500, 0, 0), SL_OK);
        assert_int_equal(sl_event_add_tender(ev, "cash", 500), SL_OK);
        assert_int_equal(sl_journal_record(j, ev, &seq, &st, NULL), SL_OK);
    }
    sl_event_init(ev, SL_KIND_DAY_CLOSE, "day-close:2026-03-28");
    sl__day_init(&ev->day, day_of("2026-03-28"), "UTC", 0);
    ev->day.through_seq = 4;
    assert_int_equal(sl_journal_record(j, ev, &seq, &st, NULL), SL_OK);
    assert_int_equal(seq, 5);
    assert_int_equal(sl__journal_last_close(j, &cseq), SL_OK);
    assert_int_equal(cseq, 5);
    /* a duplicate of the close moves nothing */
    assert_int_equal(sl_journal_record(j, ev, &seq, &st, NULL), SL_OK);
    assert_int_equal(st, SL_STATUS_DUPLICATE);
    assert_int_equal(sl__journal_last_close(j, &cseq), SL_OK);
    assert_int_equal(cseq, 5);
    assert_int_equal(sl__journal_ack(j, 5, NULL, 0, &adv), SL_OK);
    assert_int_equal(sl__journal_prune_through(j, INT64_MAX, 2, 100, &n), SL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(sl__journal_prune_through(j, INT64_MAX, 4, 100, &n), SL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(sl__journal_prune_through(j, INT64_MAX, 4, 100, &n), SL_OK);
    assert_int_equal(n, 0);
    sl_journal_close(j);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_berlin_dst),
        cmocka_unit_test(test_new_york_dst),
        cmocka_unit_test(test_day_end_past_midnight),
        cmocka_unit_test(test_day_end_in_gap_and_repeat),
        cmocka_unit_test(test_sweep_across_changes),
        cmocka_unit_test(test_zone_names),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_membership),
        cmocka_unit_test(test_day_close_codec),
        cmocka_unit_test(test_journal_clock_flags),
        cmocka_unit_test(test_clock_baseline),
        cmocka_unit_test(test_journal_close_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
