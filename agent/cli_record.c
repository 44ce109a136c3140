/*
 * storelink record [--file PATH] [--json]
 * One JSON event, or JSON lines, from stdin or a file.  Events are
 * validated one by one (all-or-nothing per event) and recorded in groups
 * sharing one durable commit; the exit code is the worst outcome.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "event.h"
#include "json_event.h"
#include "platform.h"

#define GROUP 256
#define INPUT_MAX ((size_t)256 << 20)

struct item {
    size_t line;          /* 1-based input line of the event */
    int parse_err;        /* SL_OK or the parse/validation error */
    sl_problem problem;
};

/* rank outcomes so the exit code reports the worst one */
static int worse(int a, int b)
{
    int ra = a == 0 ? 0 : a == EX_DATAERR_ ? 1 : a == EX_TEMPFAIL_ ? 2 : 3;
    int rb = b == 0 ? 0 : b == EX_DATAERR_ ? 1 : b == EX_TEMPFAIL_ ? 2 : 3;
    return rb > ra ? b : a;
}

/* Rejected input is echoed only when it cannot be a card number (PCI DSS):
 * a txn_id or a JSON key may be the very value that was refused. */
static const char *no_card(const char *s, const char *instead)
{
    return sl__has_card_data(s, strlen(s)) ? instead : s;
}

static void report(int json, const struct item *it, const sl_event *ev, const sl_result *r)
{
    int err = it->parse_err != SL_OK ? it->parse_err : r->err;
    const sl_problem *p = it->parse_err != SL_OK ? &it->problem : &r->problem;
    const char *txn = ev->txn_id[0] ? ev->txn_id : "";
    if (err == SL_OK) {
        const char *st = r->status == SL_STATUS_DUPLICATE ? "duplicate" : "recorded";
        if (json) {
            json_t *o = json_pack("{s:I,s:s,s:s}", "seq", (json_int_t)r->seq, "txn_id", txn,
                                  "status", st);
            char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
            puts(s);
            free(s);
            json_decref(o);
        } else {
            printf("%s seq %llu %s\n", st, (unsigned long long)r->seq, txn);
        }
        return;
    }
    txn = no_card(txn, "");
    int has_problem = err == SL_ERR_INVALID || err == SL_ERR_CONFLICT;
    const char *field = has_problem ? no_card(p->field, "(unnamed)") : "";
    const char *status = err == SL_ERR_CONFLICT ? "conflict"
                       : err == SL_ERR_INVALID ? "invalid" : "failed";
    if (has_problem)
        sl__cli_err("line %zu: %s: %s", it->line, field, p->reason);
    else
        sl__cli_err("line %zu: %s", it->line, sl_strerror(err));
    if (json) {
        json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s}", "line", (json_int_t)it->line,
                              "txn_id", txn, "status", status,
                              "field", field,
                              "error", has_problem ? p->reason : sl_strerror(err));
        if (r->seq && err == SL_ERR_CONFLICT)
            json_object_set_new(o, "seq", json_integer((json_int_t)r->seq));
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
        json_decref(o);
    }
}

/* Record a group of parsed events; returns the worst exit code. */
static int flush(sl_journal *j, int json, sl_event **evs, struct item *items, size_t n)
{
    const sl_event *ok[GROUP];
    size_t idx[GROUP], m = 0;
    sl_result res[GROUP];
    int ex = EX_OK_;
    for (size_t i = 0; i < n; i++)
        if (items[i].parse_err == SL_OK) {
            idx[m] = i;
            ok[m++] = evs[i];
        }
    sl_result *r = calloc(n, sizeof *r);
    if (r == NULL)
        return EX_SOFTWARE_;
    if (m > 0) {
        int rc = sl_journal_record_many(j, ok, m, res);
        (void)rc;   /* per-event results carry the error too */
        for (size_t k = 0; k < m; k++)
            r[idx[k]] = res[k];
    }
    for (size_t i = 0; i < n; i++) {
        int err = items[i].parse_err != SL_OK ? items[i].parse_err : r[i].err;
        report(json, &items[i], evs[i], &r[i]);
        ex = worse(ex, sl__cli_exit(err));
    }
    free(r);
    return ex;
}

int sl__cmd_record(sl_cli *c, int argc, char **argv)
{
    const char *file = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
            file = argv[++i];
        else {
            sl__cli_err("record: unknown option '%s' (usage: storelink record [--file PATH] [--json])",
                        argv[i]);
            return EX_USAGE_;
        }
    }
    char *buf;
    size_t len;
    int rc = file ? sl_plat_read_file(file, INPUT_MAX, &buf, &len)
                  : sl_plat_read_stream(stdin, INPUT_MAX, &buf, &len);
    if (rc != SL_OK) {
        sl__cli_err("cannot read %s: %s", file ? file : "standard input", sl_strerror(rc));
        return rc == SL_ERR_NOT_FOUND ? EX_NOINPUT_ : sl__cli_exit(rc);
    }
    sl_journal *j;
    if ((rc = sl__cli_open(c, 0, &j)) != SL_OK) {
        free(buf);
        return sl__cli_exit(rc);
    }
    sl_event **evs = calloc(GROUP, sizeof *evs);
    struct item *items = calloc(GROUP, sizeof *items);
    int ex = EX_OK_;
    size_t n = 0, total = 0;
    if (evs == NULL || items == NULL) {
        ex = EX_SOFTWARE_;
        goto out;
    }
    for (size_t i = 0; i < GROUP; i++)
        if ((evs[i] = malloc(sizeof(sl_event))) == NULL) {
            ex = EX_SOFTWARE_;
            goto out;
        }

    /* A whole input that is one JSON value is one (possibly pretty-printed)
     * event; anything else is JSON lines. */
    json_error_t jerr;
    json_t *whole = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    int single = whole != NULL;
    json_decref(whole);

    size_t line = 0;
    char *p = buf, *end = buf + len;
    while (p < end) {
        char *nl = single ? end : memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        line++;
        size_t ll = (size_t)(stop - p);
        size_t lead = strspn(p, " \t\r");
        if (lead < ll) {   /* blank lines are skipped */
            items[n].line = line;
            items[n].parse_err = sl__json_parse_event(p, ll, evs[n], &items[n].problem);
            if (items[n].parse_err == SL_OK)
                items[n].parse_err = sl_event_validate(evs[n], &items[n].problem);
            n++;
            total++;
            if (n == GROUP) {
                ex = worse(ex, flush(j, json, evs, items, n));
                n = 0;
            }
        }
        p = stop + (nl ? 1 : 0);
    }
    if (n > 0)
        ex = worse(ex, flush(j, json, evs, items, n));
    if (total == 0) {
        sl__cli_err("no event on %s", file ? file : "standard input");
        ex = EX_DATAERR_;
    }
out:
    if (evs)
        for (size_t i = 0; i < GROUP; i++)
            free(evs[i]);
    free(evs);
    free(items);
    sl_journal_close(j);
    free(buf);
    return ex;
}
