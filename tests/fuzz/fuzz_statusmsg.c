/*
 * The device's retained status message as the hub reads it
 * (agent/statusmsg.c sl__status_decode, called by hub/fleet.c on what a
 * device publishes), then the health rule the fleet view applies to it.
 * Properties: a refusal has a reason; decoded strings end within their
 * buffers and only optional keys are marked present; whatever decodes
 * encodes, and decodes again to the same status (the encoder writes one
 * form per status), and when the input held no key the decoder skipped
 * (a newer agent's), the encoding is the input byte for byte.
 */
#include "fuzz.h"

#include "cborio.h"
#include "statusmsg.h"
#include "storelink.h"

static sl__status s1, s2;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[160];
    uint8_t out[SL_STATUSMSG_MAX], out2[SL_STATUSMSG_MAX];
    size_t n, n2;
    if (sl__status_decode(data, size, &s1, why, sizeof why) != SL_OK) {
        FUZZ_CHECK(why[0] != '\0' && fuzz_terminated(why, sizeof why), "refusal without reason");
        return 0;
    }
    FUZZ_CHECK(fuzz_terminated(s1.version, sizeof s1.version) && s1.version[0] != '\0' &&
                   fuzz_terminated(s1.last_error, sizeof s1.last_error),
               "decoded status out of bounds");
    FUZZ_CHECK((s1.has & ((1u << SL_ST_UNACKED) - 1)) == 0 &&
                   (s1.has >> (SL_ST_LAST_KEY + 1)) == 0,
               "a key outside the optional ones marked present");
    int h = sl__status_health(&s1, 1763900000000, 3600000);
    FUZZ_CHECK(h >= SL_HEALTH_HEALTHY && h <= SL_HEALTH_FAILING, "health out of range");
    (void)sl__status_health_name(h);

    int rc = sl__status_encode(&s1, out, sizeof out, &n);
    FUZZ_CHECK(rc == SL_OK, "a decoded status does not encode");
    FUZZ_CHECK(sl__status_decode(out, n, &s2, why, sizeof why) == SL_OK,
               "an encoded status does not decode");
    FUZZ_CHECK(memcmp(&s1, &s2, sizeof s1) == 0, "status changed through encode and decode");
    FUZZ_CHECK(sl__status_encode(&s2, out2, sizeof out2, &n2) == SL_OK && n2 == n &&
                   memcmp(out, out2, n) == 0,
               "one status, two encodings");

    /* keys in the input: the map's length (the decoder read it already) */
    sl__cr r;
    size_t entries = 0;
    sl__cr_init(&r, data, size);
    FUZZ_CHECK(sl__cr_map(&r, &entries) == 0, "map header unreadable after a decode");
    size_t known = 5;
    for (int k = SL_ST_UNACKED; k <= SL_ST_LAST_KEY; k++)
        known += (s1.has >> k) & 1u;
    if (entries == known)
        FUZZ_CHECK(n == size && memcmp(out, data, n) == 0,
                   "decoder accepted a second encoding of a status");
    return 0;
}
