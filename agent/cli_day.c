/*
 * storelink close-day and storelink report day (docs/CLI.md), and the
 * daemon's automatic close at day_end.  The rules of what belongs to a day
 * are in dayclose.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "day_json.h"
#include "dayclose.h"
#include "journal_internal.h"
#include "platform.h"

/* Why a close was refused, for the one-line error. */
typedef struct close_out {
    uint64_t seq;            /* the close's seq (new, or the existing one) */
    char why[256];
} close_out;

/*
 * Append the close of `day`.  SL_OK; SL_ERR_CONFLICT when the day (or a
 * later one) is already closed, SL_ERR_INVALID when the day has not begun;
 * storage errors.  d receives the close's content.
 */
static int close_day(sl_journal *j, const sl_config *cfg, int64_t day, int64_t now_ms,
                     sl_day_close *d, close_out *out)
{
    sl__day_state *st = malloc(sizeof *st);
    sl__day_scope *s = malloc(sizeof *s);
    sl_event *ev = malloc(sizeof *ev);
    char date[11], other[11];
    int64_t start, end;
    int rc = (st && s && ev) ? SL_OK : SL_ERR_NOMEM;
    sl__date_format(day, date);
    memset(out, 0, sizeof *out);
    if (rc == SL_OK) {
        memset(s, 0, sizeof *s);
        rc = sl__bizday_init(&s->bd, cfg->timezone, cfg->day_end_min);
    }
    if (rc == SL_OK)
        rc = sl__bizday_bounds(&s->bd, day, &start, &end);
    if (rc == SL_OK && start > now_ms) {
        snprintf(out->why, sizeof out->why, "business day %s has not begun yet", date);
        rc = SL_ERR_INVALID;
    }
    if (rc == SL_OK)
        rc = sl__day_state_get(j, day, st);
    if (rc == SL_OK && st->closed) {
        out->seq = st->close_seq;
        snprintf(out->why, sizeof out->why, "business day %s is already closed (seq %llu)", date,
                 (unsigned long long)st->close_seq);
        rc = SL_ERR_CONFLICT;
    } else if (rc == SL_OK && st->has_last && st->last_day > day) {
        /* closes go in date order, or the membership rule stops being a
         * partition of the journal (dayclose.h) */
        sl__date_format(st->last_day, other);
        snprintf(out->why, sizeof out->why,
                 "business day %s cannot be closed: a later day (%s, seq %llu) is already "
                 "closed and counted its records", date, other,
                 (unsigned long long)st->last_seq);
        rc = SL_ERR_CONFLICT;
    }
    if (rc == SL_OK) {
        s->day = day;
        s->through = st->tail_seq;
        s->has_prev = st->has_prev;
        s->prev_day = st->prev_day;
        s->prev_through = st->prev_through;
        rc = sl__day_compute(j, s, cfg->timezone, cfg->day_end_min, d);
    }
    if (rc == SL_OK) {
        sl_status status;
        sl_problem pb;
        d->through_seq = st->tail_seq;
        char txn[SL_TXN_ID_MAX + 1];
        snprintf(txn, sizeof txn, "day-close:%s", date);
        sl_event_init(ev, SL_KIND_DAY_CLOSE, txn);
        ev->day = *d;
        rc = sl_journal_record(j, ev, &out->seq, &status, &pb);
        /* the txn id makes a second close of the date a duplicate or a
         * conflict in the journal itself, even when two processes race
         * past the check above */
        if (rc == SL_OK && status == SL_STATUS_DUPLICATE)
            rc = SL_ERR_CONFLICT;
        if (rc == SL_ERR_CONFLICT)
            snprintf(out->why, sizeof out->why, "business day %s is already closed (seq %llu)",
                     date, (unsigned long long)out->seq);
        else if (rc == SL_ERR_INVALID)
            snprintf(out->why, sizeof out->why, "close of %s: %.40s %.150s", date, pb.field, pb.reason);
    }
    free(st);
    free(s);
    free(ev);
    return rc;
}

/* the business day `now` falls in */
static int today(const sl_config *cfg, int64_t now_ms, int64_t *day)
{
    sl__bizday bd;
    int rc = sl__bizday_init(&bd, cfg->timezone, cfg->day_end_min);
    return rc == SL_OK ? sl__bizday_of(&bd, now_ms, day) : rc;
}

/* days closed per run at most: a daemon that was down for longer closes
 * the older days one by one and the rest in the last close */
#define AUTO_CLOSE_MAX_DAYS 62

int sl__day_auto_close(sl_journal *j, const sl_config *cfg, int64_t now_ms, uint64_t *wait_ms)
{
    int64_t day, start, end, days[AUTO_CLOSE_MAX_DAYS];
    size_t n = 0;
    int more = 0;
    sl__bizday bd;
    sl__day_state *st = malloc(sizeof *st);
    sl_day_close *d = malloc(sizeof *d);
    *wait_ms = 60000;
    if (!cfg->auto_close) {
        free(st);
        free(d);
        return SL_OK;
    }
    int rc = st && d ? sl__bizday_init(&bd, cfg->timezone, cfg->day_end_min) : SL_ERR_NOMEM;
    if (rc == SL_OK)
        rc = sl__bizday_of(&bd, now_ms, &day);
    if (rc == SL_OK)
        rc = sl__bizday_bounds(&bd, day, &start, &end);
    /* wake at the next day end, but look at least once a minute: the wall
     * clock can be stepped while the monotonic timer runs */
    if (rc == SL_OK && end - now_ms < 60000)
        *wait_ms = (uint64_t)(end - now_ms) + 1;
    /* Once per business day is enough: a record that arrives later for an
     * ended day belongs to the next close anyway (dayclose.h), which is
     * made when the current day ends.  The journal scans below then run
     * once a day, not once a minute. */
    static int64_t checked_day = INT64_MIN;
    if (rc == SL_OK && day == checked_day) {
        free(st);
        free(d);
        return SL_OK;
    }
    /* close every ended day that has records no close counted yet, in
     * date order; a day without business gets no close (close-day can
     * still make one) */
    if (rc == SL_OK)
        rc = sl__day_state_get(j, day, st);
    if (rc == SL_OK)
        rc = sl__day_open_days(j, &bd, st, days, AUTO_CLOSE_MAX_DAYS, &n, &more);
    for (size_t i = 0; rc == SL_OK && i < n && days[i] < day; i++) {
        close_out out;
        rc = close_day(j, cfg, days[i], now_ms, d, &out);
        if (rc == SL_OK)
            sl_plat_log(SL_LOG_NOTICE, "closed business day %s as seq %llu: %llu records",
                        d->date, (unsigned long long)out.seq, (unsigned long long)d->records);
        else if (rc == SL_ERR_CONFLICT)
            rc = SL_OK;   /* closed meanwhile (by hand): nothing to do */
        else if (out.why[0])
            sl_plat_log(SL_LOG_ERR, "automatic day close: %s", out.why);
    }
    if (rc != SL_OK)
        sl_plat_log(SL_LOG_ERR, "automatic day close: %s", sl_strerror(rc));
    if (rc == SL_OK && more)
        *wait_ms = 1000;   /* more ended days to close: soon, not in a minute */
    else if (rc == SL_OK)
        checked_day = day;
    free(st);
    free(d);
    return rc;
}

int sl__day_retention_bound(sl_journal *j, const sl_config *cfg, sl__day_retention *r,
                            uint64_t *max_seq, int64_t *before_ms)
{
    uint64_t cseq;
    *max_seq = UINT64_MAX;
    *before_ms = INT64_MAX;
    int rc = sl__journal_last_close(j, &cseq);
    if (rc == SL_ERR_NOT_FOUND && !r->scanned) {
        /* a journal whose closes predate the meta key: one scan per
         * process (the next close writes the key) */
        sl__day_state *st = malloc(sizeof *st);
        rc = st ? sl__day_state_get(j, 0, st) : SL_ERR_NOMEM;
        if (rc == SL_OK) {
            r->scanned = 1;
            r->scan_seq = st->has_last ? st->last_seq : 0;
        }
        free(st);
        if (rc != SL_OK)
            return rc;
        rc = SL_ERR_NOT_FOUND;
    }
    if (rc == SL_ERR_NOT_FOUND && r->scan_seq != 0) {
        cseq = r->scan_seq;
        rc = SL_OK;
    }
    if (rc == SL_ERR_NOT_FOUND) {
        /* never closed: with automatic closes the first one is at most a
         * day away, so wait for it; without them and no close by hand the
         * device does not use day closes, and retention alone decides
         * (else the journal would only ever grow) */
        *max_seq = cfg->auto_close ? 0 : UINT64_MAX;
        return SL_OK;
    }
    if (rc != SL_OK)
        return rc;
    if (cseq != r->close_seq) {
        /* the closed day's end in the close's own zone and day end: a
         * record at or below through_seq dated later belongs to a day no
         * close has counted yet (dayclose.h) */
        sl_record *rec = malloc(sizeof *rec);
        sl__bizday bd;
        int64_t day, start, end;
        rc = rec ? sl_journal_get(j, cseq, rec) : SL_ERR_NOMEM;
        if (rc == SL_ERR_NOT_FOUND && cseq == r->scan_seq) {
            /* the close the scan found is gone (the journal was replaced
             * by a new epoch): look again next time */
            r->scanned = 0;
            r->scan_seq = 0;
            free(rec);
            *max_seq = cfg->auto_close ? 0 : UINT64_MAX;
            return SL_OK;
        }
        if (rc == SL_OK && rec->ev.kind != SL_KIND_DAY_CLOSE)
            rc = SL_ERR_CORRUPT;
        if (rc == SL_OK && sl__date_parse(rec->ev.day.date, &day) != 0)
            rc = SL_ERR_CORRUPT;
        if (rc == SL_OK)
            rc = sl__bizday_init(&bd, rec->ev.day.timezone, rec->ev.day.day_end_min);
        if (rc == SL_OK)
            rc = sl__bizday_bounds(&bd, day, &start, &end);
        if (rc == SL_OK) {
            r->close_seq = cseq;
            r->through = rec->ev.day.through_seq;
            r->end_ms = end;
        }
        free(rec);
        if (rc != SL_OK)
            return rc;
    }
    *max_seq = r->through;
    *before_ms = r->end_ms;
    return SL_OK;
}

/* The options close-day and report day share, [--date D] [--json], from
 * argv[first] on; EX_USAGE_ after a one-line error, else 0. */
static int parse_day_opts(const char *cmd, int argc, char **argv, int first, int64_t *day,
                          int *have_date, int *json)
{
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--date") == 0) {
            const char *v = i + 1 < argc ? argv[++i] : NULL;
            if (v == NULL || sl__date_parse(v, day) != 0) {
                sl__cli_err("--date: must be a date YYYY-MM-DD (2000-2099)");
                return EX_USAGE_;
            }
            *have_date = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            *json = 1;
        } else {
            sl__cli_err("%s: unknown argument '%s' (usage: %s [--date YYYY-MM-DD] [--json])",
                        cmd, argv[i], cmd);
            return EX_USAGE_;
        }
    }
    return 0;
}

int sl__cmd_close_day(sl_cli *c, int argc, char **argv)
{
    int64_t day = 0;
    int have_date = 0, json = 0;
    int ex = parse_day_opts("close-day", argc, argv, 1, &day, &have_date, &json);
    if (ex != 0)
        return ex;
    int64_t now = sl_plat_now_ms();
    int rc;
    if (!have_date) {
        /* the last business day that has ended */
        if ((rc = today(&c->cfg, now, &day)) != SL_OK) {
            sl__cli_err("timezone %s: %s", c->cfg.timezone, sl_strerror(rc));
            return sl__cli_exit(rc);
        }
        day--;
    }
    sl_journal *j;
    if ((rc = sl__cli_open(c, 0, &j)) != SL_OK)
        return sl__cli_exit(rc);
    sl_day_close *d = malloc(sizeof *d);
    close_out out;
    rc = d ? close_day(j, &c->cfg, day, now, d, &out) : SL_ERR_NOMEM;
    sl_journal_close(j);
    if (rc != SL_OK) {
        sl__cli_err("close-day: %s", out.why[0] ? out.why : sl_strerror(rc));
        free(d);
        return sl__cli_exit(rc);
    }
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "seq", json_integer((json_int_t)out.seq));
        json_object_set_new(o, "day", sl__day_json(d));
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        if (s)
            puts(s);
        free(s);
        json_decref(o);
    } else {
        printf("closed business day %s as seq %llu: %llu records", d->date,
               (unsigned long long)out.seq, (unsigned long long)d->records);
        if (d->records)
            printf(" (seq %llu..%llu)", (unsigned long long)d->first_seq,
                   (unsigned long long)d->last_seq);
        printf("\n");
    }
    free(d);
    return EX_OK_;
}

typedef struct mismatch_ctx {
    json_t *arr;
    int print;
} mismatch_ctx;

static void on_mismatch(const char *what, void *ctx)
{
    mismatch_ctx *m = ctx;
    if (m->arr)
        json_array_append_new(m->arr, json_string(what));
    if (m->print)
        printf("mismatch      %s\n", what);
}

/* storelink report day [--date D] [--json] */
static int report_day(sl_cli *c, int argc, char **argv)
{
    int64_t day = 0, now = sl_plat_now_ms();
    int have_date = 0, json = 0, rc;
    int ex = parse_day_opts("report day", argc, argv, 2, &day, &have_date, &json);
    if (ex != 0)
        return ex;
    if (!have_date && (rc = today(&c->cfg, now, &day)) != SL_OK) {
        sl__cli_err("timezone %s: %s", c->cfg.timezone, sl_strerror(rc));
        return sl__cli_exit(rc);
    }
    sl_journal *j;
    if ((rc = sl__cli_open(c, 1, &j)) != SL_OK)
        return sl__cli_exit(rc);
    sl__day_state *st = malloc(sizeof *st);
    sl__day_scope *s = malloc(sizeof *s);
    sl_day_close *d = malloc(sizeof *d);
    sl_verify v;
    int nmis = 0, chain_ok = 1, exit_code = EX_OK_;
    char date[11], other[11];
    const char *status;
    json_t *mis = json ? json_array() : NULL;
    sl__date_format(day, date);
    rc = (st && s && d) ? sl__day_state_get(j, day, st) : SL_ERR_NOMEM;
    if (rc == SL_OK && st->closed) {
        /* recompute with the close's own rules, not today's config */
        rc = sl__day_scope_of_close(s, &st->close);
        if (rc == SL_OK)
            rc = sl__day_compute(j, s, st->close.timezone, st->close.day_end_min, d);
        if (rc == SL_OK) {
            d->through_seq = st->close.through_seq;
            memset(&v, 0, sizeof v);
            chain_ok = sl_journal_verify(j, &v) == SL_OK;
        }
    } else if (rc == SL_OK) {
        memset(s, 0, sizeof *s);
        rc = sl__bizday_init(&s->bd, c->cfg.timezone, c->cfg.day_end_min);
        s->day = day;
        s->through = UINT64_MAX;
        s->has_prev = st->has_prev;
        s->prev_day = st->prev_day;
        s->prev_through = st->prev_through;
        if (rc == SL_OK)
            rc = sl__day_compute(j, s, c->cfg.timezone, c->cfg.day_end_min, d);
    }
    sl_journal_close(j);
    if (rc != SL_OK) {
        sl__cli_err("report day %s: %s", date, sl_strerror(rc));
        exit_code = sl__cli_exit(rc);
        goto done;
    }
    if (st->closed) {
        mismatch_ctx m = {mis, 0};
        nmis = sl__day_diff(&st->close, "close", d, "journal", on_mismatch, &m);
        status = nmis == 0 && chain_ok ? "closed, journal matches the close"
                                       : "closed, journal does NOT match the close";
        if (nmis || !chain_ok)
            exit_code = EX_FAIL_;
    } else if (st->has_last && st->last_day > day) {
        status = "not closed (a later day is closed and counted its records)";
    } else {
        status = "open";
    }
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "date", json_string(date));
        json_object_set_new(o, "closed", json_boolean(st->closed));
        if (st->closed) {
            json_object_set_new(o, "close_seq", json_integer((json_int_t)st->close_seq));
            json_object_set_new(o, "matches", json_boolean(nmis == 0 && chain_ok));
            json_object_set_new(o, "mismatches", mis);
            mis = NULL;
            json_object_set_new(o, "chain", json_string(chain_ok ? "intact" : v.reason));
            if (!chain_ok)
                json_object_set_new(o, "chain_bad_seq", json_integer((json_int_t)v.first_bad_seq));
            json_object_set_new(o, "close", sl__day_json(&st->close));
        }
        json_object_set_new(o, "journal", sl__day_json(d));
        char *out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        if (out)
            puts(out);
        free(out);
        json_decref(o);
    } else {
        printf("business day  %s (%s, day ends %02u:%02u)\n", date, d->timezone,
               (d->day_end_min / 60) % 100, d->day_end_min % 60);
        if (st->closed)
            printf("status        %s (close seq %llu)\n", status,
                   (unsigned long long)st->close_seq);
        else
            printf("status        %s\n", status);
        if (d->prev_date[0]) {
            printf("previous      %s (through seq %llu)\n", d->prev_date,
                   (unsigned long long)d->prev_seq);
        }
        sl__day_print(stdout, d);
        if (st->closed) {
            mismatch_ctx m = {NULL, 1};
            sl__day_diff(&st->close, "close", d, "journal", on_mismatch, &m);
            if (!chain_ok)
                printf("mismatch      journal chain broken at seq %llu: %s\n",
                       (unsigned long long)v.first_bad_seq, v.reason);
        }
        if (st->has_last && st->last_day > day && !st->closed) {
            sl__date_format(st->last_day, other);
            printf("note          %s is closed; records of %s not closed before it are "
                   "in that close\n", other, date);
        }
    }
done:
    json_decref(mis);
    free(st);
    free(s);
    free(d);
    return exit_code;
}

int sl__cmd_report(sl_cli *c, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "day") != 0) {
        sl__cli_err("report: unknown or missing report (usage: report day [--date "
                    "YYYY-MM-DD] [--json])");
        return EX_USAGE_;
    }
    return report_day(c, argc, argv);
}
