/*
 * storelink journal list|show|verify, storelink export.
 * Read-only: these commands open the journal with MDB_RDONLY so a
 * technician's look never blocks the recording POS.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "day_json.h"
#include "event.h"
#include "json_event.h"
#include "platform.h"

struct list_ctx {
    int json;
    sl_kind kind;
    uint64_t to;          /* export: last seq (0 = no limit) */
    uint64_t shown;
    uint64_t limit;
};

static void summary(const sl_event *ev, char *out, size_t outsz)
{
    if (ev->kind == SL_KIND_DLQ_DROP) {
        snprintf(out, outsz, "drops dead letter %llu (%s) by %s",
                 (unsigned long long)ev->target_seq, ev->target_txn_id, ev->operator_name);
        return;
    }
    if (ev->kind == SL_KIND_DAY_CLOSE) {
        snprintf(out, outsz, "business day %s, %llu record%s", ev->day.date,
                 (unsigned long long)ev->day.records, ev->day.records == 1 ? "" : "s");
        return;
    }
    if (ev->kind == SL_KIND_ADJUSTMENT) {
        int64_t units = 0;
        for (size_t i = 0; i < ev->n_lines; i++)
            units += ev->lines[i].qty_milli;
        char q[32];
        /* a count states the quantity on hand, not a change: no sign */
        const char *fmt_i = ev->reason == SL_REASON_COUNT ? "%lld" : "%+lld";
        const char *fmt_f = ev->reason == SL_REASON_COUNT ? "%.3f" : "%+.3f";
        if (units % 1000 == 0)
            snprintf(q, sizeof q, fmt_i, (long long)(units / 1000));
        else
            snprintf(q, sizeof q, fmt_f, (double)units / 1000.0);
        snprintf(out, outsz, "%-12s %s units%s%s%s", sl__reason_name(ev->reason), q,
                 ev->reason == SL_REASON_COUNT ? " counted" : "",
                 ev->location[0] ? " @" : "", ev->location);
        return;
    }
    int64_t total = 0;
    char m[48];
    if (sl_event_total(ev, &total) != SL_OK)
        total = 0;
    sl__cli_money(total, ev->currency, m, sizeof m);
    snprintf(out, outsz, "%-16s %zu line%s%s%s", m, ev->n_lines, ev->n_lines == 1 ? "" : "s",
             ev->n_tenders ? ", " : "", ev->n_tenders ? ev->tenders[0].method : "");
}

static int list_one(const sl_record *rec, void *vctx)
{
    struct list_ctx *lc = vctx;
    if (lc->kind != SL_KIND_NONE && rec->ev.kind != lc->kind)
        return 0;
    if (lc->limit && lc->shown >= lc->limit)
        return 1;   /* stop */
    lc->shown++;
    if (lc->json) {
        char *s = sl__json_record(rec);
        if (s == NULL)
            return SL_ERR_NOMEM;
        puts(s);
        free(s);
        return 0;
    }
    char t[40], sum[160];
    sl_plat_format_utc(rec->ev.ts_ms, t, sizeof t);
    summary(&rec->ev, sum, sizeof sum);
    printf("%-8llu %-24s %-10s %-20s %s\n", (unsigned long long)rec->seq, t,
           sl__kind_name(rec->ev.kind), rec->ev.txn_id, sum);
    return 0;
}

static int cmd_list(sl_cli *c, int argc, char **argv)
{
    struct list_ctx lc = {0};
    uint64_t from = 1;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            lc.json = 1;
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
            if (sl__cli_u64("--from", argv[++i], &from) != SL_OK)
                return EX_USAGE_;
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            if (sl__cli_u64("--limit", argv[++i], &lc.limit) != SL_OK)
                return EX_USAGE_;
        } else if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc) {
            if (sl__kind_parse(argv[++i], &lc.kind) != SL_OK) {
                sl__cli_err("--kind: must be sale, return or adjustment");
                return EX_USAGE_;
            }
        } else {
            sl__cli_err("journal list: unknown option '%s' (usage: storelink journal list "
                        "[--from SEQ] [--limit N] [--kind K] [--json])", argv[i]);
            return EX_USAGE_;
        }
    }
    sl_journal *j;
    int rc = sl__cli_open(c, 1, &j);
    if (rc == SL_ERR_NOT_FOUND)
        return EX_OK_;   /* nothing recorded yet: an empty list */
    if (rc != SL_OK)
        return sl__cli_exit(rc);
    if (!lc.json)
        printf("%-8s %-24s %-10s %-20s %s\n", "SEQ", "TIME (UTC)", "KIND", "TXN_ID", "DETAIL");
    rc = sl_journal_foreach(j, from, 0, list_one, &lc);
    sl_journal_close(j);
    if (rc != SL_OK && rc != 1) {
        sl__cli_err("journal list: %s", sl_strerror(rc));
        return sl__cli_exit(rc);
    }
    return EX_OK_;
}

static int cmd_show(sl_cli *c, int argc, char **argv)
{
    int json = 0;
    const char *seqarg = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (seqarg == NULL && argv[i][0] != '-')
            seqarg = argv[i];
        else {
            sl__cli_err("journal show: unexpected '%s' (usage: storelink journal show SEQ [--json])",
                        argv[i]);
            return EX_USAGE_;
        }
    }
    uint64_t seq;
    if (seqarg == NULL) {
        sl__cli_err("journal show: missing SEQ (usage: storelink journal show SEQ [--json])");
        return EX_USAGE_;
    }
    if (sl__cli_u64("SEQ", seqarg, &seq) != SL_OK)
        return EX_USAGE_;
    sl_journal *j;
    int rc = sl__cli_open(c, 1, &j);
    if (rc != SL_OK)
        return sl__cli_exit(rc);
    sl_record *rec = malloc(sizeof *rec);
    rc = rec ? sl_journal_get(j, seq, rec) : SL_ERR_NOMEM;
    sl_journal_close(j);
    if (rc != SL_OK) {
        if (rc == SL_ERR_NOT_FOUND)
            sl__cli_err("journal show: no record with seq %llu", (unsigned long long)seq);
        else
            sl__cli_err("journal show: %s", sl_strerror(rc));
        free(rec);
        return sl__cli_exit(rc);
    }
    const sl_event *ev = &rec->ev;
    if (json) {
        char *s = sl__json_record(rec);
        puts(s ? s : "{}");
        free(s);
        free(rec);
        return EX_OK_;
    }
    char t[40], hx[65], m[48];
    sl_plat_format_utc(ev->ts_ms, t, sizeof t);
    printf("seq        %llu\nkind       %s\ntxn_id     %s\ntime       %s (%lld)\n",
           (unsigned long long)rec->seq, sl__kind_name(ev->kind), ev->txn_id, t,
           (long long)ev->ts_ms);
    if (ev->kind == SL_KIND_DLQ_DROP) {
        printf("target     seq %llu, txn_id %s\nreason     %s\noperator   %s\n",
               (unsigned long long)ev->target_seq, ev->target_txn_id, ev->note,
               ev->operator_name);
        sl_hash_hex(rec->prev_hash, hx);
        printf("prev_hash  %s\n", hx);
        sl_hash_hex(rec->hash, hx);
        printf("hash       %s\n", hx);
        free(rec);
        return EX_OK_;
    }
    if (ev->kind == SL_KIND_DAY_CLOSE) {
        /* the Z-report rows; `report day` also checks them */
        printf("date       %s (%s, day ends %02u:%02u), through seq %llu\n", ev->day.date,
               ev->day.timezone, (ev->day.day_end_min / 60) % 100, ev->day.day_end_min % 60,
               (unsigned long long)ev->day.through_seq);
        sl__day_print(stdout, &ev->day);
    } else if (ev->kind == SL_KIND_ADJUSTMENT) {
        printf("reason     %s\n", sl__reason_name(ev->reason));
        if (ev->location[0])
            printf("location   %s\n", ev->location);
    } else {
        printf("currency   %s%s\n", ev->currency,
               (ev->flags & SL_FLAG_TAX_INCLUDED) ? " (prices include tax)" : "");
        if (ev->kind == SL_KIND_RETURN)
            printf("original   %s\n", ev->original_txn_id);
    }
    if (ev->flags & SL_FLAG_CLOCK_UNSYNC)
        printf("clock      not synchronised when recorded\n");
    if (ev->flags & SL_FLAG_CLOCK_JUMP)
        printf("clock      jumped against the monotonic clock when recorded\n");
    if (ev->kind != SL_KIND_DAY_CLOSE)
        printf("lines\n");
    for (size_t i = 0; i < ev->n_lines; i++) {
        const sl_line *l = &ev->lines[i];
        char q[32];
        /* sign apart: -0.250 has an integer part of 0 */
        uint64_t aq = l->qty_milli < 0 ? (uint64_t)(-l->qty_milli) : (uint64_t)l->qty_milli;
        snprintf(q, sizeof q, "%s%llu.%03llu", l->qty_milli < 0 ? "-" : "",
                 (unsigned long long)(aq / 1000), (unsigned long long)(aq % 1000));
        if (ev->kind == SL_KIND_ADJUSTMENT) {
            printf("  %-20s qty %s", l->sku, q);
            if (l->has_expected)
                printf(" (expected %.3f)", (double)l->expected_milli / 1000.0);
            printf("\n");
            continue;
        }
        int64_t a = 0;
        if (sl_line_amount(ev, l, &a) != SL_OK)
            a = 0;
        sl__cli_money(a, ev->currency, m, sizeof m);
        int incl = (ev->flags & SL_FLAG_TAX_INCLUDED) != 0;
        printf("  %-20s qty %s x %lld - %lld %s %lld%s = %s%s%s\n", l->sku, q,
               (long long)l->unit_price, (long long)l->discount, incl ? "(incl. tax" : "+ tax",
               (long long)l->tax, incl ? ")" : "", m,
               l->disposition ? " " : "",
               l->disposition ? sl__disp_name((sl_disposition)l->disposition) : "");
    }
    if (ev->n_tenders) {
        printf("%s\n", ev->kind == SL_KIND_SALE ? "tenders" : "refunds");
        for (size_t i = 0; i < ev->n_tenders; i++) {
            sl__cli_money(ev->tenders[i].amount, ev->currency, m, sizeof m);
            printf("  %-20s %s\n", ev->tenders[i].method, m);
        }
    }
    if (ev->kind == SL_KIND_SALE || ev->kind == SL_KIND_RETURN) {
        int64_t tot = 0;
        if (sl_event_total(ev, &tot) != SL_OK)
            tot = 0;
        sl__cli_money(tot, ev->currency, m, sizeof m);
        printf("total      %s\n", m);
    }
    sl_hash_hex(rec->prev_hash, hx);
    printf("prev_hash  %s\n", hx);
    sl_hash_hex(rec->hash, hx);
    printf("hash       %s\n", hx);
    free(rec);
    return EX_OK_;
}

static int cmd_verify(sl_cli *c, int argc, char **argv)
{
    int json = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else {
            sl__cli_err("journal verify: unknown option '%s'", argv[i]);
            return EX_USAGE_;
        }
    }
    sl_journal *j;
    int rc = sl__cli_open(c, 1, &j);
    if (rc != SL_OK)
        return sl__cli_exit(rc);
    sl_verify v;
    sl_journal_info info;
    rc = sl_journal_verify(j, &v);
    int irc = sl_journal_info_get(j, &info);
    sl_journal_close(j);
    if (rc != SL_OK && rc != SL_ERR_CORRUPT) {
        sl__cli_err("journal verify: %s", sl_strerror(rc));
        return sl__cli_exit(rc);
    }
    char hx[65];
    sl_hash_hex(info.tail_hash, hx);
    if (json) {
        json_t *o = json_pack("{s:b,s:I,s:I,s:s}", "intact", rc == SL_OK, "checked",
                              (json_int_t)v.checked, "last_seq",
                              (json_int_t)(irc == SL_OK ? info.last_seq : 0), "tail_hash", hx);
        if (rc != SL_OK) {
            json_object_set_new(o, "first_bad_seq", json_integer((json_int_t)v.first_bad_seq));
            json_object_set_new(o, "reason", json_string(v.reason));
        }
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
        json_decref(o);
    } else if (rc == SL_OK) {
        printf("journal intact: %llu records verified, last seq %llu, tail hash %s\n",
               (unsigned long long)v.checked, (unsigned long long)info.last_seq, hx);
    } else {
        /* v.checked may include the bad record itself (an altered record is
         * found at the next link); seqs are contiguous up to the bad one */
        uint64_t before = v.checked;
        if (irc == SL_OK && info.first_seq > 0 && v.first_bad_seq >= info.first_seq &&
            v.first_bad_seq - info.first_seq < before)
            before = v.first_bad_seq - info.first_seq;
        printf("journal BROKEN at seq %llu: %s (%llu records verified before it)\n",
               (unsigned long long)v.first_bad_seq, v.reason, (unsigned long long)before);
    }
    return rc == SL_OK ? EX_OK_ : EX_FAIL_;
}

int sl__cmd_journal(sl_cli *c, int argc, char **argv)
{
    if (argc < 2) {
        sl__cli_err("journal: missing subcommand (list, show, verify)");
        return EX_USAGE_;
    }
    if (strcmp(argv[1], "list") == 0)
        return cmd_list(c, argc, argv);
    if (strcmp(argv[1], "show") == 0)
        return cmd_show(c, argc, argv);
    if (strcmp(argv[1], "verify") == 0)
        return cmd_verify(c, argc, argv);
    sl__cli_err("journal: unknown subcommand '%s' (list, show, verify)", argv[1]);
    return EX_USAGE_;
}

static int export_one(const sl_record *rec, void *vctx)
{
    struct list_ctx *lc = vctx;
    if (lc->to && rec->seq > lc->to)
        return 1;
    char *s = sl__json_record(rec);
    if (s == NULL)
        return SL_ERR_NOMEM;
    int bad = fputs(s, stdout) < 0 || fputc('\n', stdout) == EOF;
    free(s);
    lc->shown++;
    return bad ? SL_ERR_IO : 0;
}

int sl__cmd_export(sl_cli *c, int argc, char **argv)
{
    struct list_ctx lc = {0};
    uint64_t from = 1;
    const char *format = "jsonl";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
            format = argv[++i];
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
            if (sl__cli_u64("--from", argv[++i], &from) != SL_OK)
                return EX_USAGE_;
        } else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
            if (sl__cli_u64("--to", argv[++i], &lc.to) != SL_OK)
                return EX_USAGE_;
        } else {
            sl__cli_err("export: unknown option '%s' (usage: storelink export --format jsonl "
                        "[--from SEQ] [--to SEQ])", argv[i]);
            return EX_USAGE_;
        }
    }
    if (strcmp(format, "jsonl") != 0) {
        sl__cli_err("export: --format: '%s' is not supported (jsonl)", format);
        return EX_USAGE_;
    }
    sl_journal *j;
    int rc = sl__cli_open(c, 1, &j);
    if (rc == SL_ERR_NOT_FOUND)
        return EX_OK_;
    if (rc != SL_OK)
        return sl__cli_exit(rc);
    rc = sl_journal_foreach(j, from, 0, export_one, &lc);
    sl_journal_close(j);
    if (fflush(stdout) != 0)
        rc = SL_ERR_IO;
    if (rc != SL_OK && rc != 1) {
        sl__cli_err("export: %s", sl_strerror(rc));
        return sl__cli_exit(rc);
    }
    return EX_OK_;
}
