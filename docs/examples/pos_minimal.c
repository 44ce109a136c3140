/*
 * pos_minimal.c - the smallest POS program: record one sale through the
 * storelink daemon's ingest socket and print its sequence number.  Uses
 * only the public header.
 *
 *   cc pos_minimal.c $(pkg-config --cflags --libs storelink) -o pos_minimal
 *   ./pos_minimal /var/lib/storelink T-1001
 *
 * When no daemon is running it records into the journal directly (the
 * daemon picks the record up when it starts).  Exit 0 recorded or
 * duplicate, 1 refused (the reason is printed), 2 usage, 3 other errors.
 */
#include <stdio.h>
#include <stdlib.h>

#include <storelink.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pos_minimal STATE_DIR TXN_ID\n");
        return 2;
    }
    char sock[256];
    snprintf(sock, sizeof sock, "%s/ingest.sock", argv[1]);
    sl_event *ev = malloc(sizeof *ev);   /* ~23 KiB: not on the stack */
    if (ev == NULL)
        return 3;
    sl_event_init(ev, SL_KIND_SALE, argv[2]);
    snprintf(ev->currency, sizeof ev->currency, "EUR");
    int rc = sl_event_add_line(ev, "4006381333931", 2000, 199, 0, 0);   /* 2 x 1.99 */
    if (rc == SL_OK)
        rc = sl_event_add_tender(ev, "cash", 398);
    if (rc != SL_OK) {
        fprintf(stderr, "pos_minimal: %s\n", sl_strerror(rc));
        free(ev);
        return 3;
    }
    uint64_t seq = 0;
    sl_status st = SL_STATUS_RECORDED;
    sl_problem p = {"", ""};
    const char *how = "daemon";
    sl_client *c = NULL;
    rc = sl_client_connect(&c, sock, 2000);
    if (rc == SL_OK) {
        rc = sl_client_record(c, ev, 5000, &seq, &st, &p);
        sl_client_close(c);
    } else if (rc == SL_ERR_NOT_FOUND) {
        /* no daemon: write the journal ourselves */
        sl_journal *j = NULL;
        how = "journal (no daemon)";
        rc = sl_journal_open(&j, argv[1], NULL);
        if (rc == SL_OK)
            rc = sl_journal_record(j, ev, &seq, &st, &p);
        sl_journal_close(j);
    }
    free(ev);
    if (rc != SL_OK) {
        fprintf(stderr, "pos_minimal: %s%s%s%s%s\n", sl_strerror(rc), p.field[0] ? ": " : "",
                p.field, p.field[0] ? ": " : "", p.reason);
        return rc == SL_ERR_INVALID || rc == SL_ERR_CONFLICT || rc == SL_ERR_PERM ? 1 : 3;
    }
    printf("%s seq %llu via %s\n", st == SL_STATUS_DUPLICATE ? "duplicate" : "recorded",
           (unsigned long long)seq, how);
    return 0;
}
