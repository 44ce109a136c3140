/*
 * plwork - the workload of the simulated power-loss test: records COUNT
 * sales through the public API, one durable commit each, every fourth
 * time a group of three through sl_journal_record_many (one commit for
 * three records), and after each successful commit writes
 * "ok FIRST LAST\n" to stdout.  Under iolog.so those lines land in the I/O
 * log in program order: everything before such a marker was reported
 * durable.
 *
 * usage: plwork STATE_DIR COUNT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storelink.h"

static int make(sl_event *ev, long n)
{
    char txn[32], sku[16];
    snprintf(txn, sizeof txn, "P-%ld", n);
    snprintf(sku, sizeof sku, "SKU-%ld", n % 13);
    sl_event_init(ev, SL_KIND_SALE, txn);
    memcpy(ev->currency, "EUR", 4);
    int rc = sl_event_add_line(ev, sku, 1000 * (1 + n % 3), 100 + n % 7, 0, 0);
    if (rc == SL_OK)
        rc = sl_event_add_tender(ev, "card", (int64_t)(1 + n % 3) * (100 + n % 7));
    return rc;
}

int main(int argc, char **argv)
{
    char *end;
    long count = argc == 3 ? strtol(argv[2], &end, 10) : 0;
    if (argc != 3 || *end || count < 1 || count > 100000) {
        fprintf(stderr, "usage: plwork STATE_DIR COUNT (1..100000)\n");
        return 2;
    }
    sl_journal *j = NULL;
    int rc = sl_journal_open(&j, argv[1], NULL);
    if (rc != SL_OK) {
        fprintf(stderr, "plwork: open: %s\n", sl_strerror(rc));
        return 1;
    }
    sl_event *evs = calloc(3, sizeof *evs);
    if (evs == NULL) {
        sl_journal_close(j);
        return 1;
    }
    int status = 0;
    for (long n = 1; n <= count && status == 0;) {
        long group = (n % 4 == 0 && n + 2 <= count) ? 3 : 1;
        const sl_event *ptr[3];
        for (long i = 0; i < group; i++) {
            if (make(&evs[i], n + i) != SL_OK) {
                status = 1;
                break;
            }
            ptr[i] = &evs[i];
        }
        if (status)
            break;
        uint64_t first = 0, last = 0;
        if (group == 1) {
            sl_status st;
            sl_problem pb;
            rc = sl_journal_record(j, &evs[0], &first, &st, &pb);
            last = first;
        } else {
            sl_result res[3];
            rc = sl_journal_record_many(j, ptr, (size_t)group, res);
            first = res[0].seq;
            last = res[group - 1].seq;
            for (long i = 0; i < group && rc == SL_OK; i++)
                if (res[i].err != SL_OK || res[i].status != SL_STATUS_RECORDED)
                    rc = res[i].err != SL_OK ? res[i].err : SL_ERR_CONFLICT;
        }
        if (rc != SL_OK) {
            fprintf(stderr, "plwork: P-%ld: %s\n", n, sl_strerror(rc));
            status = 1;
            break;
        }
        char line[64];
        int len = snprintf(line, sizeof line, "ok %llu %llu\n", (unsigned long long)first,
                           (unsigned long long)last);
        if (write(1, line, (size_t)len) != len)
            status = 1;
        n += group;
    }
    free(evs);
    sl_journal_close(j);
    return status;
}
