/*
 * The hub's batch decoder, called as hub/ingest.c calls it: sl__batch_parse
 * (envelope, zstd body), sl__batch_verify (certificate and signature; only
 * when SL_FUZZ_CA names a CA file, as run.sh arranges), then the record
 * walk sl__batch_records.  The walk normally runs only after the signature
 * verified; here it runs on every parsed batch so the body decoder is
 * reached (tests/fuzz/fuzz_batch_body.c fuzzes uncompressed bodies alone).
 * Properties: parsed fields are terminated, the body stays within
 * SL_BATCH_BODY_MAX, every rebuilt record decodes in the stored form and
 * hashes as the walk says.
 */
#include "batch.h"
#include "codec.h"
#include "crypto.h"
#include "fuzz.h"
#include "hash.h"
#include "storelink.h"

static sl__ca *ca;
static sl_event ev2;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *path = getenv("SL_FUZZ_CA");
    if (path != NULL && path[0] != '\0' && sl__ca_load(&ca, path) != SL_OK) {
        fprintf(stderr, "fuzz_batch: cannot load SL_FUZZ_CA=%s\n", path);
        abort();
    }
    return 0;
}

static int on_record(uint64_t seq, const sl_event *ev, const uint8_t *stored, size_t stored_len,
                     const uint8_t prev[32], const uint8_t hash[32], void *ctx)
{
    uint64_t seq2;
    uint8_t prev2[32], h[32];
    sl_problem p;
    (void)ctx;
    (void)sl_event_validate(ev, &p);   /* what the hub does next */
    FUZZ_CHECK(sl__codec_decode(stored, stored_len, SL_ENC_STORED, NULL, &ev2, &seq2, prev2) ==
                       SL_OK &&
                   seq2 == seq && memcmp(prev2, prev, 32) == 0,
               "a rebuilt record does not decode");
    sl__sha256(stored, stored_len, h);
    FUZZ_CHECK(memcmp(h, hash, 32) == 0, "record hash differs");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl__batch_in b;
    char why[160];
    if (sl__batch_parse(data, size, &b, why, sizeof why) != SL_OK) {
        FUZZ_CHECK(fuzz_terminated(why, sizeof why), "reason not terminated");
        return 0;
    }
    FUZZ_CHECK(fuzz_terminated(b.device, sizeof b.device) &&
                   fuzz_terminated(b.store, sizeof b.store) &&
                   fuzz_terminated(b.currency, sizeof b.currency) &&
                   b.body_len <= SL_BATCH_BODY_MAX && b.first >= 1 && b.last >= b.first,
               "parsed envelope out of bounds");
    if (ca != NULL) {
        why[0] = '\0';
        int rc = sl__batch_verify(&b, ca, why, sizeof why);
        FUZZ_CHECK(rc == SL_OK || (fuzz_terminated(why, sizeof why) && why[0] != '\0'),
                   "refusal without reason");
    }
    (void)sl__batch_records(&b, on_record, NULL);
    sl__batch_in_free(&b);
    return 0;
}
