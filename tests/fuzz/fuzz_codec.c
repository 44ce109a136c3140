/*
 * CBOR record decoding (agent/codec.c sl__codec_decode) in each mode: the
 * stored form (journal, hub export), the content form and the wire form in
 * batch bodies (with and without a batch currency).  Property: the codec
 * promises one encoding per event, so whatever decodes must re-encode to
 * exactly the input bytes.
 */
#include "codec.h"
#include "fuzz.h"
#include "storelink.h"

static sl_event ev;
static uint8_t out[SL_RECORD_MAX];

static void one(const uint8_t *data, size_t size, int mode, const char *wire_cur)
{
    uint64_t seq = 0;
    uint8_t prev[32] = {0};
    size_t n;
    if (sl__codec_decode(data, size, mode, wire_cur, &ev, &seq, prev) != SL_OK)
        return;
    FUZZ_CHECK(fuzz_terminated(ev.txn_id, sizeof ev.txn_id) &&
                   fuzz_terminated(ev.currency, sizeof ev.currency) &&
                   ev.n_lines <= SL_MAX_LINES && ev.n_tenders <= SL_MAX_TENDERS,
               "decoded event out of bounds");
    int rc = sl__codec_encode(&ev, mode, seq, prev, wire_cur, out, sizeof out, &n);
    FUZZ_CHECK(rc == SL_OK || (rc == SL_ERR_TOO_LARGE && size > sizeof out),
               "a decoded record does not encode");
    if (rc == SL_OK)
        FUZZ_CHECK(n == size && memcmp(out, data, n) == 0,
                   "decoder accepted a second encoding of an event");
    sl_problem p;
    (void)sl_event_validate(&ev, &p);   /* the hub validates what it decodes */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, SL_ENC_STORED, NULL);
    one(data, size, SL_ENC_CONTENT, NULL);
    one(data, size, SL_ENC_WIRE, NULL);
    one(data, size, SL_ENC_WIRE, "EUR");
    return 0;
}
