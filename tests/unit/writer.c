/*
 * writer - test helper: record COUNT sales in the journal under STATE_DIR,
 * one sl_journal_record() call (one durable commit) each, with txn_ids
 * PREFIX-1 .. PREFIX-COUNT.  Several writers run at once in test_journal to
 * check that sequence numbers stay gapless across processes.
 *
 * usage: writer STATE_DIR PREFIX COUNT
 * Prints nothing on success.  Exit 0 when every event was newly recorded,
 * 1 when one was not (error, or a txn_id that was already there), 2 on
 * usage errors.  Uses the public API only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <storelink.h>

static int parse_count(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 1000000)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    long count;
    if (argc != 4 || parse_count(argv[3], &count) != 0 ||
        strlen(argv[2]) == 0 || strlen(argv[2]) > SL_TXN_ID_MAX - 8) {
        fprintf(stderr, "usage: writer STATE_DIR PREFIX COUNT (1..1000000)\n");
        return 2;
    }
    const char *prefix = argv[2];
    sl_journal *j = NULL;
    int rc = sl_journal_open(&j, argv[1], NULL);
    if (rc != SL_OK) {
        fprintf(stderr, "writer: open %s: %s\n", argv[1], sl_strerror(rc));
        return 1;
    }
    sl_event *ev = malloc(sizeof *ev);   /* about 23 KiB */
    if (ev == NULL) {
        sl_journal_close(j);
        fprintf(stderr, "writer: %s\n", sl_strerror(SL_ERR_NOMEM));
        return 1;
    }
    int status = 0;
    for (long n = 1; n <= count; n++) {
        char txn[SL_TXN_ID_MAX + 1];
        char sku[16];
        snprintf(txn, sizeof txn, "%s-%ld", prefix, n);
        snprintf(sku, sizeof sku, "SKU-%ld", n % 10);
        sl_event_init(ev, SL_KIND_SALE, txn);
        memcpy(ev->currency, "EUR", 4);
        uint64_t seq = 0;
        sl_status st = SL_STATUS_RECORDED;
        sl_problem problem;
        if ((rc = sl_event_add_line(ev, sku, 1000, 100 + n % 7, 0, 0)) != SL_OK ||
            (rc = sl_event_add_tender(ev, "cash", 200)) != SL_OK ||
            (rc = sl_journal_record(j, ev, &seq, &st, &problem)) != SL_OK) {
            if (rc == SL_ERR_INVALID || rc == SL_ERR_CONFLICT)
                fprintf(stderr, "writer: %s: %s: %s: %s\n", txn, sl_strerror(rc),
                        problem.field, problem.reason);
            else
                fprintf(stderr, "writer: %s: %s\n", txn, sl_strerror(rc));
            status = 1;
            break;
        }
        if (st != SL_STATUS_RECORDED) {
            fprintf(stderr, "writer: %s: already recorded as seq %llu\n", txn,
                    (unsigned long long)seq);
            status = 1;
            break;
        }
    }
    free(ev);
    sl_journal_close(j);
    return status;
}
