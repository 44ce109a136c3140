/*
 * bench_codec - CPU cost of the record codec, for instruction counting.
 *
 * usage: bench_codec encode|decode N
 *
 * Runs N iterations of sl__codec_encode (SL_ENC_STORED) or sl__codec_decode
 * on a realistic 3-line, 1-tender sale.  Everything outside the loop (event
 * set-up, the one encode that decode needs) is the same for every N, so
 * bench/run.sh runs it under `valgrind --tool=callgrind` with N=1 and
 * N=1001 and takes (Ir(1001) - Ir(1)) / 1000 as instructions per record,
 * which removes start-up cost.  Prints the encoded size; lines starting
 * with "RESULT " are for bench/run.sh.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "storelink.h"

/* A US-style sale: two EAN-13 items and one weighed produce item. */
static int make_sale(sl_event *ev)
{
    sl_event_init(ev, SL_KIND_SALE, "POS07-0001234");
    memcpy(ev->currency, "USD", 4);
    ev->ts_ms = 1763893200123LL;   /* 2025-11-23T10:20:00.123Z */
    int64_t total;
    sl_problem prob;
    if (sl_event_add_line(ev, "5901234123457", 1000, 1299, 0, 107) != SL_OK ||
        sl_event_add_line(ev, "4006381333931", 2000, 349, 70, 52) != SL_OK ||
        sl_event_add_line(ev, "PLU-4011", 1234, 199, 0, 20) != SL_OK ||
        sl_event_total(ev, &total) != SL_OK ||
        sl_event_add_tender(ev, "card", total) != SL_OK)
        return -1;
    if (sl_event_validate(ev, &prob) != SL_OK) {
        fprintf(stderr, "bench_codec: sample sale invalid: %s: %s\n", prob.field, prob.reason);
        return -1;
    }
    return 0;
}

static int same_sale(const sl_event *a, const sl_event *b)
{
    if (a->kind != b->kind || strcmp(a->txn_id, b->txn_id) != 0 || a->ts_ms != b->ts_ms ||
        strcmp(a->currency, b->currency) != 0 || a->n_lines != b->n_lines ||
        a->n_tenders != b->n_tenders)
        return 0;
    for (size_t i = 0; i < a->n_lines; i++) {
        const sl_line *x = &a->lines[i], *y = &b->lines[i];
        if (strcmp(x->sku, y->sku) != 0 || x->qty_milli != y->qty_milli ||
            x->unit_price != y->unit_price || x->discount != y->discount || x->tax != y->tax)
            return 0;
    }
    for (size_t i = 0; i < a->n_tenders; i++)
        if (strcmp(a->tenders[i].method, b->tenders[i].method) != 0 ||
            a->tenders[i].amount != b->tenders[i].amount)
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    static uint8_t buf[SL_RECORD_MAX];
    int encode = argc == 3 && strcmp(argv[1], "encode") == 0;
    int decode = argc == 3 && strcmp(argv[1], "decode") == 0;
    char *end = NULL;
    unsigned long long n = 0;
    if (encode || decode) {
        errno = 0;
        n = strtoull(argv[2], &end, 10);
    }
    if ((!encode && !decode) || errno != 0 || end == argv[2] || *end != '\0' || n < 1 ||
        n > 100000000ull) {
        fprintf(stderr, "usage: bench_codec encode|decode N   (N = 1 .. 10^8)\n");
        return 2;
    }
    sl_event *ev = malloc(sizeof *ev), *out = malloc(sizeof *out);
    int ret = 1;
    if (ev == NULL || out == NULL) {
        fprintf(stderr, "bench_codec: out of memory\n");
        goto done;
    }
    if (make_sale(ev) != 0)
        goto done;
    uint8_t prev[32];
    for (int i = 0; i < 32; i++)
        prev[i] = (uint8_t)(0xa5 ^ (i * 37));

    size_t len = 0;
    uint64_t seq = 0;
    int rc;
    if (encode) {
        for (unsigned long long i = 0; i < n; i++) {
            rc = sl__codec_encode(ev, SL_ENC_STORED, 1000 + i, prev, NULL, buf, sizeof buf, &len);
            if (rc != SL_OK) {
                fprintf(stderr, "bench_codec: encode: %s\n", sl_strerror(rc));
                goto done;
            }
        }
    } else {
        rc = sl__codec_encode(ev, SL_ENC_STORED, 1000, prev, NULL, buf, sizeof buf, &len);
        if (rc != SL_OK) {
            fprintf(stderr, "bench_codec: encode: %s\n", sl_strerror(rc));
            goto done;
        }
        uint8_t prev_out[32];
        for (unsigned long long i = 0; i < n; i++) {
            rc = sl__codec_decode(buf, len, SL_ENC_STORED, NULL, out, &seq, prev_out);
            if (rc != SL_OK) {
                fprintf(stderr, "bench_codec: decode: %s\n", sl_strerror(rc));
                goto done;
            }
        }
        if (seq != 1000 || memcmp(prev, prev_out, 32) != 0 || !same_sale(ev, out)) {
            fprintf(stderr, "bench_codec: decoded record differs from the encoded sale\n");
            goto done;
        }
    }
    printf("bench_codec: %s x %llu of a 3-line, 1-tender sale; stored record %zu bytes\n",
           encode ? "encode" : "decode", n, len);
    printf("RESULT encoded_bytes=%zu\n", len);
    ret = 0;
done:
    free(ev);
    free(out);
    return ret;
}
