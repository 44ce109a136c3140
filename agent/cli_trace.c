/*
 * storelink trace TXN_ID [--json]: the life of one record, found by the POS
 * transaction id printed on the receipt (docs/CLI.md "trace").
 *
 * Read-only and daemon-independent: the journal holds the record, the
 * acknowledged seq, the dead letters and the sent-batch log (written by
 * the sync engine in its ack transactions); daemon.json says whether the
 * daemon runs and is connected, which is why a record may still wait.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "event.h"
#include "journal_internal.h"
#include "platform.h"

static void amounts(const sl_event *ev, char *out, size_t outsz)
{
    char m[48];
    int64_t total = 0;
    switch (ev->kind) {
    case SL_KIND_SALE:
    case SL_KIND_RETURN:
        if (sl_event_total(ev, &total) != SL_OK)
            total = 0;
        sl__cli_money(total, ev->currency, m, sizeof m);
        snprintf(out, outsz, "%s, %zu line%s%s%s", m, ev->n_lines, ev->n_lines == 1 ? "" : "s",
                 ev->n_tenders ? ", " : "", ev->n_tenders ? ev->tenders[0].method : "");
        return;
    case SL_KIND_ADJUSTMENT:
        snprintf(out, outsz, "%s, %zu line%s", sl__reason_name(ev->reason), ev->n_lines,
                 ev->n_lines == 1 ? "" : "s");
        return;
    case SL_KIND_DLQ_DROP:
        snprintf(out, outsz, "drops dead letter %llu (%s)", (unsigned long long)ev->target_seq,
                 ev->target_txn_id);
        return;
    case SL_KIND_DAY_CLOSE:
        snprintf(out, outsz, "business day %s, %llu record%s", ev->day.date,
                 (unsigned long long)ev->day.records, ev->day.records == 1 ? "" : "s");
        return;
    case SL_KIND_NONE:
        break;
    }
    snprintf(out, outsz, "-");
}

static void when(int64_t ms, char *out, size_t outsz)
{
    if (ms <= 0)
        snprintf(out, outsz, "unknown");
    else
        sl_plat_format_utc(ms, out, outsz);
}

int sl__cmd_trace(sl_cli *c, int argc, char **argv)
{
    static const char usage[] = "usage: storelink trace TXN_ID [--json]";
    const char *txn = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (txn == NULL && argv[i][0] != '-') {
            txn = argv[i];
        } else {
            sl__cli_err("trace: unexpected '%s' (%s)", argv[i], usage);
            return EX_USAGE_;
        }
    }
    if (txn == NULL || txn[0] == '\0') {
        sl__cli_err("trace: missing TXN_ID (%s)", usage);
        return EX_USAGE_;
    }
    sl_journal *j = NULL;
    sl_journal_opts o = {.max_db_mb = c->cfg.max_db_mb, .read_only = 1};
    int rc = sl_journal_open(&j, c->cfg.state_dir, &o);
    uint64_t seq = 0;
    if (rc == SL_OK)
        rc = sl__journal_find_txn(j, txn, &seq);
    if (rc == SL_ERR_NOT_FOUND) {
        sl__cli_err("trace: no record with txn_id '%.64s'", txn);
        sl_journal_close(j);
        return EX_NOINPUT_;
    }
    if (rc != SL_OK) {
        sl__cli_err("trace: cannot read the journal in %s: %s", c->cfg.state_dir,
                    sl_strerror(rc));
        sl_journal_close(j);
        return sl__cli_exit(rc);
    }
    sl_record *rec = malloc(sizeof *rec), *drop = malloc(sizeof *drop);
    uint64_t acked = 0, drop_seq = 0;
    sl__dead_letter d;
    sl__sent sent;
    sl_journal_info info;
    int ex = EX_OK_;
    if (rec == NULL || drop == NULL) {
        ex = sl__cli_exit(SL_ERR_NOMEM);
        goto out;
    }
    if ((rc = sl_journal_get(j, seq, rec)) != SL_OK || (rc = sl__journal_acked(j, &acked)) != SL_OK ||
        (rc = sl_journal_info_get(j, &info)) != SL_OK) {
        sl__cli_err("trace: %s", sl_strerror(rc));
        ex = sl__cli_exit(rc);
        goto out;
    }
    int dead = sl__journal_dlq_get(j, seq, &d) == SL_OK;
    int have_sent = sl__journal_sent_find(j, seq, &sent) == SL_OK;
    char dtxn[SL_TXN_ID_MAX + 1];
    snprintf(dtxn, sizeof dtxn, "storelink:dlq-drop:%llu", (unsigned long long)seq);
    int dropped = sl__journal_find_txn(j, dtxn, &drop_seq) == SL_OK &&
                  sl_journal_get(j, drop_seq, drop) == SL_OK &&
                  drop->ev.kind == SL_KIND_DLQ_DROP && drop->ev.target_seq == seq;

    /* why a record still waits: the daemon's own view, if it runs */
    char path[4200], *txt = NULL;
    size_t tl;
    json_t *dj = NULL;
    snprintf(path, sizeof path, "%s/daemon.json", c->cfg.state_dir);
    if (sl_plat_read_file(path, 1 << 16, &txt, &tl) == SL_OK) {
        dj = json_loadb(txt, tl, 0, NULL);
        free(txt);
    }
    long pid = dj ? (long)json_integer_value(json_object_get(dj, "pid")) : 0;
    int running = dj && json_is_true(json_object_get(dj, "running")) && sl_plat_pid_alive(pid);
    const char *conn = running ? json_string_value(json_object_get(dj, "connection")) : NULL;
    const char *lasterr = running ? json_string_value(json_object_get(dj, "last_error")) : NULL;
    int64_t since = running ? (int64_t)json_integer_value(json_object_get(dj, "since_ms")) : 0;

    const char *state;
    char why[400] = "";
    if (dead)
        state = "rejected";
    else if (dropped)
        state = "dropped";
    else if (seq <= acked)
        state = "acked";
    else
        state = "waiting";
    if (!strcmp(state, "waiting")) {
        uint64_t ahead = seq - acked - 1;
        char t[40];
        if (!running) {
            snprintf(why, sizeof why, "the daemon is not running (start it: storelink run)");
        } else if (conn == NULL || strcmp(conn, "connected") != 0) {
            when(since, t, sizeof t);
            snprintf(why, sizeof why, "%s since %s%s%.200s", conn ? conn : "offline", t,
                     lasterr && lasterr[0] ? ": " : "", lasterr ? lasterr : "");
        } else if (have_sent && sent.acked_ms == 0) {
            snprintf(why, sizeof why, "sent, waiting for the hub's acknowledgement");
        } else {
            snprintf(why, sizeof why, "queued behind %llu unacknowledged record(s)",
                     (unsigned long long)ahead);
        }
    }
    char amt[160], hx[65], rt[40], t1[40], t2[40], t3[40];
    amounts(&rec->ev, amt, sizeof amt);
    sl_hash_hex(rec->hash, hx);
    when(rec->ev.ts_ms, rt, sizeof rt);
    if (json) {
        json_t *out = json_pack("{s:s,s:I,s:s,s:I,s:s,s:s,s:s,s:b}",
            "txn_id", rec->ev.txn_id, "seq", (json_int_t)seq,
            "kind", sl__kind_name(rec->ev.kind), "ts", (json_int_t)rec->ev.ts_ms,
            "amounts", amt, "hash", hx, "state", state, "acked", seq <= acked);
        if (out == NULL) {
            ex = sl__cli_exit(SL_ERR_NOMEM);
            json_decref(dj);
            goto out;
        }
        json_object_set_new(out, "acked_through", json_integer((json_int_t)acked));
        if (have_sent)
            json_object_set_new(out, "batch", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}",
                "first_seq", (json_int_t)sent.first, "last_seq", (json_int_t)sent.last,
                "first_sent_ms", (json_int_t)sent.first_sent_ms,
                "last_sent_ms", (json_int_t)sent.last_sent_ms,
                "sends", (json_int_t)sent.count, "acked_ms", (json_int_t)sent.acked_ms));
        if (dead) {
            json_t *dl = json_pack("{s:I,s:s,s:s,s:I,s:s}", "code", (json_int_t)d.code,
                "code_name", sl__dlq_code_name(d.code), "reason", d.reason,
                "rejected_ms", (json_int_t)d.when_ms, "retry", d.retry_ms ? "pending" : "none");
            json_object_set_new(out, "dead_letter", dl);
        }
        if (dropped)
            json_object_set_new(out, "dropped", json_pack("{s:I,s:I,s:s,s:s}",
                "seq", (json_int_t)drop_seq, "ts", (json_int_t)drop->ev.ts_ms,
                "operator", drop->ev.operator_name, "reason", drop->ev.note));
        if (why[0])
            json_object_set_new(out, "waiting", json_string(why));
        json_object_set_new(out, "daemon", json_string(running ? "running" : "not running"));
        char *s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(s ? s : "{}");
        free(s);
        json_decref(out);
        json_decref(dj);
        goto out;
    }
    printf("txn_id     %s\nseq        %llu\nkind       %s\nrecorded   %s\namounts    %s\n"
           "hash       %s\n", rec->ev.txn_id, (unsigned long long)seq,
           sl__kind_name(rec->ev.kind), rt, amt, hx);
    if (have_sent) {
        when(sent.first_sent_ms, t1, sizeof t1);
        printf("batch      %llu..%llu, first sent %s", (unsigned long long)sent.first,
               (unsigned long long)sent.last, t1);
        if (sent.count > 1) {
            when(sent.last_sent_ms, t2, sizeof t2);
            printf(", sent %u times (last %s)", (unsigned)sent.count, t2);
        }
        printf("\n");
    } else if (seq <= acked) {
        printf("batch      not in the sent log (sent before it was kept, or pruned)\n");
    } else {
        printf("batch      not sent yet\n");
    }
    printf("state      %s\n", state);
    if (seq <= acked) {
        when(have_sent ? sent.acked_ms : 0, t3, sizeof t3);
        printf("acked      %s (the hub acknowledged through seq %llu)\n", t3,
               (unsigned long long)acked);
    }
    if (dead) {
        when(d.when_ms, t1, sizeof t1);
        printf("rejected   code %u (%s) at %s: %s\n", (unsigned)d.code,
               sl__dlq_code_name(d.code), t1, d.reason);
        if (d.retry_ms) {
            when(d.retry_ms, t2, sizeof t2);
            printf("dead letter retry pending since %s\n", t2);
        } else {
            printf("dead letter kept: storelink dlq retry %llu (after fixing the hub's rules) or "
                   "storelink dlq drop %llu --reason TEXT\n", (unsigned long long)seq,
                   (unsigned long long)seq);
        }
    }
    if (dropped) {
        when(drop->ev.ts_ms, t1, sizeof t1);
        printf("dropped    by %s at %s (seq %llu): %s\n", drop->ev.operator_name, t1,
               (unsigned long long)drop_seq, drop->ev.note);
    }
    if (why[0])
        printf("waiting    %s\n", why);
    json_decref(dj);
out:
    free(drop);
    free(rec);
    sl_journal_close(j);
    return ex;
}
