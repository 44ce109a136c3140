/*
 * ingest_client - a test and benchmark client of the ingest socket, using
 * only include/storelink.h (tests/cli/83-ingest.t, NOTES-ingest.md).
 *
 *   ingest_client SOCK PREFIX COUNT   record COUNT sales PREFIX-1..COUNT,
 *                                     one line per reply: "TXN SEQ STATUS"
 *   ingest_client SOCK PREFIX invalid one sale with qty 0
 *   ... -l                            (4th argument) adds each request's
 *                                     round-trip time in microseconds
 * An error reply prints "TXN error CODE FIELD: REASON" and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storelink.h"

int main(int argc, char **argv)
{
    int lat = argc == 5 && strcmp(argv[4], "-l") == 0;
    if (argc != 4 && !lat) {
        fprintf(stderr, "usage: ingest_client SOCK PREFIX COUNT|invalid\n");
        return 2;
    }
    int invalid = strcmp(argv[3], "invalid") == 0;
    long count = invalid ? 1 : strtol(argv[3], NULL, 10);
    sl_event *ev = malloc(sizeof *ev);
    sl_client *c = NULL;
    if (ev == NULL)
        return 3;
    int rc = sl_client_connect(&c, argv[1], 5000);
    if (rc != SL_OK) {
        fprintf(stderr, "ingest_client: connect %s: %s\n", argv[1], sl_strerror(rc));
        free(ev);
        return 3;
    }
    int ex = 0;
    for (long i = 1; i <= count && ex == 0; i++) {
        char txn[SL_TXN_ID_MAX + 1];
        snprintf(txn, sizeof txn, "%.40s-%ld", argv[2], i);
        sl_event_init(ev, SL_KIND_SALE, txn);
        memcpy(ev->currency, "EUR", 4);
        if (sl_event_add_line(ev, "SKU-1", invalid ? 0 : 1000, 250, 0, 0) != SL_OK ||
            sl_event_add_tender(ev, "cash", 250) != SL_OK)
            return 3;
        uint64_t seq = 0;
        sl_status st;
        sl_problem p;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = sl_client_record(c, ev, 30000, &seq, &st, &p);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (rc == SL_OK) {
            printf("%s %llu %s", txn, (unsigned long long)seq,
                   st == SL_STATUS_DUPLICATE ? "duplicate" : "recorded");
            if (lat)
                printf(" %lld", (long long)(t1.tv_sec - t0.tv_sec) * 1000000 +
                                    (t1.tv_nsec - t0.tv_nsec) / 1000);
            printf("\n");
        } else {
            printf("%s error %d %s: %s\n", txn, rc, p.field, p.reason[0] ? p.reason : sl_strerror(rc));
            ex = 1;
        }
    }
    sl_client_close(c);
    free(ev);
    return ex;
}
