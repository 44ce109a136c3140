/*
 * A batch body on its own: the CBOR array of wire-form records that
 * sl__batch_records rebuilds into stored records once a batch's signature
 * has verified (hub/ingest.c).  Mutating a zstd frame or a signed envelope
 * rarely reaches this code, so the body is fed directly: the first input
 * byte picks the batch currency (bit 0: "EUR", else none) and the first
 * sequence number (the other bits), the rest is the body.  first/last come
 * from the body's own array count, as a well-formed envelope would say.
 */
#include "batch.h"
#include "cborio.h"
#include "codec.h"
#include "fuzz.h"
#include "storelink.h"

static sl_event ev2;

static int on_record(uint64_t seq, const sl_event *ev, const uint8_t *stored, size_t stored_len,
                     const uint8_t prev[32], const uint8_t hash[32], void *ctx)
{
    uint64_t seq2;
    uint8_t prev2[32];
    sl_problem p;
    (void)hash;
    (void)ctx;
    (void)sl_event_validate(ev, &p);
    FUZZ_CHECK(sl__codec_decode(stored, stored_len, SL_ENC_STORED, NULL, &ev2, &seq2, prev2) ==
                       SL_OK &&
                   seq2 == seq && memcmp(prev2, prev, 32) == 0,
               "a rebuilt record does not decode");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl__batch_in b;
    sl__cr r;
    size_t n;
    if (size < 1)
        return 0;
    memset(&b, 0, sizeof b);
    if (data[0] & 1)
        memcpy(b.currency, "EUR", 4);
    b.first = 1 + (data[0] >> 1);
    sl__cr_init(&r, data + 1, size - 1);
    if (sl__cr_array(&r, &n) != 0 || n == 0)
        return 0;
    b.last = b.first + n - 1;
    /* a private copy: libFuzzer's buffer is exactly size bytes, so a read
     * past the body is caught */
    b.body_len = size - 1;
    b.body = malloc(b.body_len ? b.body_len : 1);
    if (b.body == NULL)
        return 0;
    memcpy(b.body, data + 1, b.body_len);
    (void)sl__batch_records(&b, on_record, NULL);
    sl__batch_in_free(&b);
    return 0;
}
