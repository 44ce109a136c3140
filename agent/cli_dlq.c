/*
 * storelink dlq list|retry|drop: the records the hub stored as rejected
 * (docs/PROTOCOL.md "Dead letters", docs/CLI.md "dlq").
 *
 * Everything here works without the daemon: list reads the journal, retry
 * writes a mark into it (the running daemon's journal watch wakes it, or the
 * next start finds the marks), drop removes the dead letter and appends a
 * dlq_drop record in one transaction, so the audit trail and the dead-letter
 * store can never disagree.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack.h"
#include "cli.h"
#include "event.h"
#include "journal_internal.h"
#include "platform.h"

/* The drop record's txn_id: derived from the dead letter, so `trace` finds
 * the drop through the txn index and a second drop of the same seq could
 * not be recorded twice. */
#define DROP_TXN_FMT "storelink:dlq-drop:%llu"

const char *sl__dlq_code_name(uint32_t code)
{
    switch (code) {
    case SL_REJ_INVALID: return "invalid";
    case SL_REJ_CURRENCY: return "currency";
    case SL_REJ_POLICY: return "policy";
    }
    return "other";
}

/* Dead letters are collected first and their records read afterwards: LMDB
 * allows one read transaction per thread, and the walk holds one. */
struct collect {
    sl__dead_letter *v;
    size_t n, cap;
};

static int collect_one(const sl__dead_letter *d, void *vctx)
{
    struct collect *c = vctx;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? 2 * c->cap : 64;
        sl__dead_letter *p = realloc(c->v, ncap * sizeof *p);
        if (p == NULL)
            return SL_ERR_NOMEM;
        c->v = p;
        c->cap = ncap;
    }
    c->v[c->n++] = *d;
    return 0;
}

static int list_one(sl_journal *j, const sl__dead_letter *d, int json, json_t *arr,
                    sl_record *rec, size_t idx)
{
    int have = sl_journal_get(j, d->seq, rec) == SL_OK;
    const sl_event *ev = &rec->ev;
    const char *kind = have ? sl__kind_name(ev->kind) : "?";
    const char *txn = have ? ev->txn_id : "?";
    if (json) {
        json_t *o = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:s}",
            "seq", (json_int_t)d->seq, "txn_id", txn, "kind", kind,
            "ts", (json_int_t)(have ? ev->ts_ms : 0), "rejected_ms", (json_int_t)d->when_ms,
            "code", (json_int_t)d->code, "code_name", sl__dlq_code_name(d->code),
            "reason", d->reason, "retry", d->retry_ms ? "pending" : "none");
        if (o == NULL)
            return SL_ERR_NOMEM;
        if (d->retry_ms)
            json_object_set_new(o, "retry_requested_ms", json_integer(d->retry_ms));
        json_array_append_new(arr, o);
        return SL_OK;
    }
    char rt[40], wt[40];
    sl_plat_format_utc(have ? ev->ts_ms : 0, rt, sizeof rt);
    sl_plat_format_utc(d->when_ms, wt, sizeof wt);
    if (idx == 0)
        printf("%-8s %-20s %-10s %-24s %-24s %-12s %-8s %s\n", "SEQ", "TXN_ID", "KIND",
               "RECORDED", "REJECTED", "CODE", "RETRY", "REASON");
    char code[24];
    snprintf(code, sizeof code, "%u %s", (unsigned)d->code, sl__dlq_code_name(d->code));
    printf("%-8llu %-20s %-10s %-24s %-24s %-12s %-8s %s\n", (unsigned long long)d->seq, txn,
           kind, rt, wt, code, d->retry_ms ? "pending" : "-", d->reason);
    return SL_OK;
}

static int cmd_list(sl_cli *c, int argc, char **argv)
{
    int json = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            sl__cli_err("dlq list: unknown option '%s' (usage: storelink dlq list [--json])",
                        argv[i]);
            return EX_USAGE_;
        }
    }
    sl_journal *j;
    int rc = sl__cli_open(c, 1, &j);
    if (rc == SL_ERR_NOT_FOUND) {
        /* nothing recorded yet: nothing rejected either */
        puts(json ? "{\"dead_letters\":[]}" : "no dead letters");
        return EX_OK_;
    }
    if (rc != SL_OK)
        return sl__cli_exit(rc);
    struct collect col = {0};
    sl_record *rec = malloc(sizeof *rec);
    json_t *arr = json_array();
    if (rec == NULL || arr == NULL)
        rc = SL_ERR_NOMEM;
    else
        rc = sl__journal_dead_letters(j, collect_one, &col);
    for (size_t i = 0; i < col.n && rc == SL_OK; i++)
        rc = list_one(j, &col.v[i], json, arr, rec, i);
    if (rc != SL_OK) {
        sl__cli_err("dlq list: %s", sl_strerror(rc));
    } else if (json) {
        json_t *o = json_pack("{s:O}", "dead_letters", arr);
        char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        puts(s ? s : "{}");
        free(s);
        json_decref(o);
    } else if (col.n == 0) {
        puts("no dead letters");
    }
    json_decref(arr);
    free(col.v);
    free(rec);
    sl_journal_close(j);
    return sl__cli_exit(rc);
}

static int cmd_retry(sl_cli *c, int argc, char **argv)
{
    static const char usage[] = "usage: storelink dlq retry SEQ|--all";
    uint64_t seq = 0;
    int all = 0, have_seq = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0) {
            all = 1;
        } else if (argv[i][0] != '-' && !have_seq) {
            if (sl__cli_u64("dlq retry: SEQ", argv[i], &seq) != SL_OK)
                return EX_USAGE_;
            have_seq = 1;
        } else {
            sl__cli_err("dlq retry: unexpected '%s' (%s)", argv[i], usage);
            return EX_USAGE_;
        }
    }
    if (all == have_seq || (have_seq && seq == 0)) {
        sl__cli_err("dlq retry: give one SEQ (not 0) or --all (%s)", usage);
        return EX_USAGE_;
    }
    sl_journal *j;
    int rc = sl__cli_open(c, 0, &j);
    if (rc != SL_OK)
        return sl__cli_exit(rc);
    uint64_t marked = 0;
    rc = sl__journal_dlq_retry(j, all ? 0 : seq, sl_plat_now_ms(), &marked);
    sl_journal_close(j);
    if (rc == SL_ERR_NOT_FOUND) {
        sl__cli_err("dlq retry: seq %llu is not a dead letter (see storelink dlq list)",
                    (unsigned long long)seq);
        return EX_DATAERR_;
    }
    if (rc != SL_OK) {
        sl__cli_err("dlq retry: %s", sl_strerror(rc));
        return sl__cli_exit(rc);
    }
    if (marked == 0)
        printf("no dead letters\n");
    else
        printf("%llu dead letter(s) marked for retry: the daemon resends them to the hub, "
               "which judges them again\n", (unsigned long long)marked);
    return EX_OK_;
}

static int cmd_drop(sl_cli *c, int argc, char **argv)
{
    static const char usage[] = "usage: storelink dlq drop SEQ --reason TEXT";
    const char *reason = NULL;
    uint64_t seq = 0;
    int have_seq = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--reason") == 0) {
            if (i + 1 >= argc) {
                sl__cli_err("dlq drop: --reason needs a text (%s)", usage);
                return EX_USAGE_;
            }
            reason = argv[++i];
        } else if (argv[i][0] != '-' && !have_seq) {
            if (sl__cli_u64("dlq drop: SEQ", argv[i], &seq) != SL_OK)
                return EX_USAGE_;
            have_seq = 1;
        } else {
            sl__cli_err("dlq drop: unexpected '%s' (%s)", argv[i], usage);
            return EX_USAGE_;
        }
    }
    if (!have_seq) {
        sl__cli_err("dlq drop: missing SEQ (%s)", usage);
        return EX_USAGE_;
    }
    if (reason == NULL) {
        sl__cli_err("dlq drop: --reason is required: say why this record is given up (%s)",
                    usage);
        return EX_USAGE_;
    }
    sl_event *ev = malloc(sizeof *ev);
    sl_record *rec = malloc(sizeof *rec);
    sl_journal *j = NULL;
    sl_problem pb;
    sl__dead_letter d;
    uint64_t new_seq = 0;
    int rc = ev && rec ? SL_OK : SL_ERR_NOMEM;
    int ex;
    if (rc == SL_OK)
        rc = sl__cli_open(c, 0, &j);
    if (rc != SL_OK) {
        ex = sl__cli_exit(rc);
        goto out;
    }
    if (sl__journal_dlq_get(j, seq, &d) != SL_OK || sl_journal_get(j, seq, rec) != SL_OK) {
        sl__cli_err("dlq drop: seq %llu is not a dead letter (see storelink dlq list)",
                    (unsigned long long)seq);
        ex = EX_DATAERR_;
        goto out;
    }
    char txn[SL_TXN_ID_MAX + 1];
    snprintf(txn, sizeof txn, DROP_TXN_FMT, (unsigned long long)seq);
    sl_event_init(ev, SL_KIND_DLQ_DROP, txn);
    ev->target_seq = seq;
    snprintf(ev->target_txn_id, sizeof ev->target_txn_id, "%s", rec->ev.txn_id);
    if (strlen(reason) >= sizeof ev->note) {
        sl__cli_err("dlq drop: --reason: longer than %d characters", SL_NOTE_MAX);
        ex = EX_DATAERR_;
        goto out;
    }
    memcpy(ev->note, reason, strlen(reason) + 1);
    sl_plat_user_name(ev->operator_name, sizeof ev->operator_name);
    memset(&pb, 0, sizeof pb);
    rc = sl__journal_dlq_drop(j, ev, &new_seq, &pb);
    if (rc == SL_ERR_INVALID) {
        /* the field is named as the user typed it */
        sl__cli_err("dlq drop: %s%s: %s", strcmp(pb.field, "reason") == 0 ? "--" : "",
                    pb.field, pb.reason);
        ex = EX_DATAERR_;
    } else if (rc == SL_ERR_NOT_FOUND) {
        sl__cli_err("dlq drop: seq %llu is not a dead letter (see storelink dlq list)",
                    (unsigned long long)seq);
        ex = EX_DATAERR_;
    } else if (rc != SL_OK) {
        sl__cli_err("dlq drop: %s", sl_strerror(rc));
        ex = sl__cli_exit(rc);
    } else {
        printf("dropped dead letter %llu (%s): recorded as seq %llu (dlq_drop by %s)\n",
               (unsigned long long)seq, ev->target_txn_id, (unsigned long long)new_seq,
               ev->operator_name);
        ex = EX_OK_;
    }
out:
    sl_journal_close(j);
    free(rec);
    free(ev);
    return ex;
}

int sl__cmd_dlq(sl_cli *c, int argc, char **argv)
{
    if (argc < 2) {
        sl__cli_err("dlq: missing subcommand (list, retry, drop)");
        return EX_USAGE_;
    }
    if (strcmp(argv[1], "list") == 0)
        return cmd_list(c, argc, argv);
    if (strcmp(argv[1], "retry") == 0)
        return cmd_retry(c, argc, argv);
    if (strcmp(argv[1], "drop") == 0)
        return cmd_drop(c, argc, argv);
    sl__cli_err("dlq: unknown subcommand '%s' (list, retry, drop)", argv[1]);
    return EX_USAGE_;
}
